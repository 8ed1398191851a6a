"""How fast `sgam import` reads the real corpus, against a plain parse of the same files.

    python benchmarks/bench_import.py [--repeat R] [--corpus DIR]

The corpus (25 IEC 62559-2 workbooks, 12 IEC 62559-3 XML files; default /work/shared/corpus or
SGAM_CORPUS) is timed R times (default 5), alternating:

  baseline  `openpyxl.load_workbook(data_only=True)` of every workbook, `lxml.etree.parse` of every
            XML file, keeping nothing: the least any importer must do;
  sgam      `import_files`: the hostile-file checks, reading, building and validating the models
            (what `sgam import` does before writing YAML).

The best of the R runs is reported, with the median, per format and in total, and the ratio
sgam/baseline. Exit status 0 when the measurements ran (a report, not a pass/fail test), 1 when
the corpus is missing or does not import cleanly.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl
from lxml import etree

from sgam.diagnostics import has_errors
from sgam.interchange.imports import import_files


def corpus(folder: Path) -> dict[str, list[Path]]:
    workbooks = sorted(p for p in (folder / "iec62559-2-xlsx").rglob("*.xls*") if p.name != "IEC62559-2_TEMPLATE.xlsx")
    return {"xlsx": workbooks, "xml": sorted((folder / "iec62559-3-xml").rglob("*.xml"))}


def baseline(files: list[Path]) -> None:
    for path in files:
        if path.suffix == ".xml":
            etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        else:
            openpyxl.load_workbook(path, data_only=True)


def sgam(files: list[Path]) -> None:
    import_files(files)


def timed(work: Callable[[list[Path]], None], files: list[Path], times: list[float]) -> None:
    """Run the work once and append its seconds to times."""
    start = time.perf_counter()
    work(files)
    times.append(time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", "-r", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("SGAM_CORPUS", "/work/shared/corpus")))
    args = parser.parse_args()
    groups = corpus(args.corpus)
    every = [p for files in groups.values() for p in files]
    if not every:
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 1
    run = import_files(every)
    if has_errors(run.diagnostics):
        print("the corpus does not import cleanly; timings would mean nothing", file=sys.stderr)
        return 1
    print(f"{'files':<8}{'n':>4}{'baseline best':>15}{'sgam best':>11}{'ratio':>7}{'baseline med':>14}"
          f"{'sgam med':>10}")
    for label, files in (*groups.items(), ("all", every)):
        times: dict[str, list[float]] = {"baseline": [], "sgam": []}
        for _ in range(args.repeat):
            timed(baseline, files, times["baseline"])
            timed(sgam, files, times["sgam"])
        base, ours = min(times["baseline"]), min(times["sgam"])
        print(f"{label:<8}{len(files):>4}{base:>14.3f}s{ours:>10.3f}s{ours / base:>7.2f}"
              f"{statistics.median(times['baseline']):>13.3f}s{statistics.median(times['sgam']):>9.3f}s")
    print("sgam/baseline: ratio of the best runs; see benchmarks/README.md for recorded figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
