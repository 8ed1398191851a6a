"""How fast `sgam report` and `sgam matrix` publish a repository, against Graphviz alone.

    python benchmarks/bench_publish.py [SIZES...] [--repeat R] [--seed S]

SIZES default to 10 40 use cases. For each size a synthetic repository (synthetic.py) is loaded
once, then timed R times, alternating:

  baseline  `dot -Tsvg` run on the DOT source of every diagram the site embeds, one after the
            other: the Graphviz work no report can avoid;
  report    `build_site` into a fresh folder (diagrams built, rendered by dot, pages templated and
            written; jobs side by side on all cores);
  matrix    `write_workbook` (no Graphviz; reported in seconds only).

The best of the R runs is reported with the ratio report/baseline. Above 1 is sgam's own cost on
top of Graphviz; below 1 is the gain of rendering side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # the generator beside this file

from sgam.publish import diagrams
from sgam.publish.report import build_site
from sgam.publish.sheets import write_workbook
from sgam.publish.view import Publication
from sgam.workspace import load_workspace

DEFAULT_SIZES = (10, 40)


def sources(pub: Publication) -> list[str]:
    """The DOT text of every diagram the site embeds: those of `sgam diagram`, every layer."""
    return [graph.source for graph in diagrams.diagrams(pub).values()]


def dot_alone(dots: list[str]) -> None:
    for source in dots:
        subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(workdir: Path, size: int, repeat: int, seed: int) -> tuple[int, float, float, float]:
    root = workdir / f"repo-{size}"
    synthetic.write_repository(root, size, seed)
    workspace = load_workspace([root])
    assert workspace.model is not None, "the synthetic repository does not load cleanly"
    pub = Publication.of(workspace, workspace.model)
    dots = sources(pub)
    best = [float("inf")] * 3
    for run in range(repeat):
        times = (
            timed(partial(dot_alone, dots)),
            timed(partial(build_site, pub, workdir / f"site-{size}-{run}")),
            timed(partial(write_workbook, pub, workdir / f"matrix-{size}-{run}.xlsx")),
        )
        best = [min(b, t) for b, t in zip(best, times, strict=True)]
        print(f"N={size} run {run + 1}/{repeat}: dot alone {times[0]:.2f} s, report {times[1]:.2f} s, "
              f"matrix {times[2]:.2f} s", file=sys.stderr)
    return len(dots), best[0], best[1], best[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", "-r", type=int, default=3)
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(s < 1 for s in args.sizes):
        parser.error("sizes and --repeat must be 1 or more")
    lines = [f"cores: {os.cpu_count()}, best of {args.repeat}",
             "| use cases | diagrams | dot alone (s) | report (s) | report/dot | matrix (s) |",
             "|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="sgam-bench-publish-") as temporary:
        for size in args.sizes:
            count, dot_alone, report, matrix = measure(Path(temporary), size, args.repeat, args.seed)
            lines.append(f"| {size} | {count} | {dot_alone:.2f} | {report:.2f} | {report / dot_alone:.2f} | {matrix:.2f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
