"""How fast sgam loads, checks and maps a large repository, against a plain YAML parse.

    python benchmarks/bench_load.py [SIZES...] [--repeat R] [--seed S] [--workdir DIR] [--profile FILE]

SIZES default to 1000 10000 use cases (or the comma-separated list in SGAM_BENCH_SIZES); R defaults
to 3 (or SGAM_BENCH_REPEAT). For each size, a synthetic repository (see synthetic.py) is written to
a temporary folder, checked to validate with no diagnostic but standards placed outside their
catalog positions (the generator places at random), then timed R times, alternating:

  baseline  read every file and `yaml.load(text, Loader=yaml.CSafeLoader)` it, keeping nothing;
  sgam      load + check (with the catalog loaded and every standard mention resolved) + build the
            SGAM graph and check standards' positions: what `sgam map` does before printing.

The best of the R runs is reported (the median too), with the ratio sgam/baseline, the time per
file, and how the time per file grows from the smallest size to the largest (1.00 = linear).
The goal (issue: large repositories) is a ratio of at most 3 and linear growth.

Exit status: 0 when the measurements ran (they are a report, not a pass/fail test), 1 when the
synthetic repository does not validate cleanly (then the timings would not mean anything).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import platform
import pstats
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Self

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # the generator beside this file

from sgam.catalog import load_catalog
from sgam.checks import check
from sgam.graph import SgamModel
from sgam.linking import misfits, resolve_standards
from sgam.loader import discover, load_repository
from sgam.workspace import load_workspace

DEFAULT_SIZES = (1000, 10000)


class GcClock:
    """Seconds spent in the cyclic garbage collector while it is installed (via gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> Self:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


@dataclass
class Result:
    size: int
    files: int
    megabytes: float
    baseline: list[float] = field(default_factory=list)
    sgam: list[float] = field(default_factory=list)
    phases: list[tuple[float, float, float]] = field(default_factory=list)  # load, check, build
    gc_seconds: list[tuple[float, float]] = field(default_factory=list)  # in baseline, in sgam

    def best(self, which: str) -> float:
        return min(getattr(self, which))

    def median(self, which: str) -> float:
        return statistics.median(getattr(self, which))

    def per_file_us(self, which: str) -> float:
        return self.best(which) / self.files * 1e6


def baseline(files: list[Path]) -> float:
    """Read and parse every file with libyaml, as a plain script would."""
    start = time.perf_counter()
    for path in files:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return time.perf_counter() - start


def sgam_run(root: Path) -> tuple[float, float, float]:
    """The stages of `load_workspace`, timed: load; check and link to the catalog; graph and fit checks."""
    start = time.perf_counter()
    repo = load_repository([root])
    loaded = time.perf_counter()
    check(repo)
    links, _ = resolve_standards(repo, load_catalog()[0])
    checked = time.perf_counter()
    misfits(SgamModel.build(repo, links), links)
    built = time.perf_counter()
    return loaded - start, checked - loaded, built - checked


def validate(root: Path, size: int) -> list[str]:
    """What is wrong with the synthetic repository; nothing, if it is fit to time."""
    workspace = load_workspace([root])
    repo = workspace.repo
    # Random placements put standards where the catalog does not position them; those warnings are
    # part of the work timed, not a sign of a broken generator.
    problems = [d.format() for d in workspace.diagnostics if d.code != "standard-position"]
    if len(repo.usecases) != size or len(repo.libraries) != 1:
        problems.append(f"loaded {len(repo.usecases)} use case(s) and {len(repo.libraries)} library file(s), "
                        f"expected {size} and 1")
    return problems


def measure(workdir: Path, size: int, repeat: int, seed: int) -> Result | None:
    root = workdir / f"repo-{size}"
    started = time.perf_counter()
    paths = synthetic.write_repository(root, size, seed)
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    print(f"N={size}: wrote {len(paths)} files, {megabytes:.0f} MB, in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    problems = validate(root, size)
    if problems:
        print(f"N={size}: the synthetic repository does not validate cleanly ({len(problems)} problem(s)):",
              file=sys.stderr)
        for problem in problems[:20]:
            print(problem, file=sys.stderr)
        return None
    files, _ = discover([root])  # the same files, in the same order, as sgam reads
    result = Result(size, len(files), megabytes)
    for run in range(repeat):
        gc.collect()  # the previous run's garbage (networkx graphs hold reference cycles), not timed
        with GcClock() as in_baseline:
            result.baseline.append(baseline(files))
        gc.collect()
        with GcClock() as in_sgam:
            phases = sgam_run(root)
        result.phases.append(phases)
        result.sgam.append(sum(phases))
        result.gc_seconds.append((in_baseline.seconds, in_sgam.seconds))
        print(f"N={size} run {run + 1}/{repeat}: baseline {result.baseline[-1]:.2f} s (gc {in_baseline.seconds:.2f}), "
              f"sgam {result.sgam[-1]:.2f} s (gc {in_sgam.seconds:.2f}; load {phases[0]:.2f}, check {phases[1]:.2f}, "
              f"build {phases[2]:.2f})", file=sys.stderr)
    return result


def report(results: list[Result], repeat: int) -> str:
    lines = [
        f"sgam load benchmark, {dt.date.today().isoformat()}, best of {repeat} run(s)",
        (f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s); "
         f"PyYAML {version('PyYAML')} (libyaml {yaml.__with_libyaml__}), pydantic {version('pydantic')}, "
         f"networkx {version('networkx')}"),
        "",
        ("|      N | files |  MB | baseline s | sgam s | sgam/baseline | baseline us/file | sgam us/file |"
         " sgam: load / check / build s | sgam: of which gc s |"),
        ("|-------:|------:|----:|-----------:|-------:|--------------:|-----------------:|-------------:|"
         ":----------------------------|--------------------:|"),
    ]
    for r in results:
        best_run = r.sgam.index(r.best("sgam"))
        phases, gc_seconds = r.phases[best_run], r.gc_seconds[best_run][1]
        lines.append(
            f"| {r.size:>6,} | {r.files:>5,} | {r.megabytes:>3.0f} | {r.best('baseline'):>10.2f} | {r.best('sgam'):>6.2f} "
            f"| {r.best('sgam') / r.best('baseline'):>12.2f}x | {r.per_file_us('baseline'):>16,.0f} "
            f"| {r.per_file_us('sgam'):>12,.0f} | {f'{phases[0]:.2f} / {phases[1]:.2f} / {phases[2]:.2f}':<28} "
            f"| {gc_seconds:>19.2f} |"
        )
    if repeat > 1:
        lines.append("")
        lines.append("medians: " + "; ".join(
            f"N={r.size:,}: baseline {r.median('baseline'):.2f} s, sgam {r.median('sgam'):.2f} s "
            f"({r.median('sgam') / r.median('baseline'):.2f}x)" for r in results))
    if len(results) > 1:
        small, large = results[0], results[-1]
        lines.append("")
        lines.append(
            f"per-file growth from N={small.size:,} to N={large.size:,} (1.00 = linear): "
            f"baseline {large.per_file_us('baseline') / small.per_file_us('baseline'):.2f}, "
            f"sgam {large.per_file_us('sgam') / small.per_file_us('sgam'):.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"peak memory of the process: {peak:,.0f} MB")
    return "\n".join(lines)


def profile(workdir: Path, size: int, seed: int, output: Path) -> None:
    """cProfile one sgam run at `size` (after a warm-up run); stats to `output`, a summary to stderr."""
    root = workdir / f"repo-{size}"
    if not root.exists():
        synthetic.write_repository(root, size, seed)
    sgam_run(root)  # warm the page cache and the imports
    gc.collect()
    profiler = cProfile.Profile()
    profiler.runcall(sgam_run, root)
    profiler.dump_stats(output)
    stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs().sort_stats("cumulative")
    stats.print_stats(40)
    print(f"profile of N={size} written to {output} (open with `python -m pstats {output}`)", file=sys.stderr)


def _sizes(values: list[str]) -> list[int]:
    raw = values or [s for s in os.environ.get("SGAM_BENCH_SIZES", "").replace(",", " ").split() if s]
    return sorted({int(s.replace("_", "")) for s in raw}) if raw else list(DEFAULT_SIZES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", help="numbers of use cases (default: 1000 10000, or $SGAM_BENCH_SIZES)")
    parser.add_argument("--repeat", "-r", type=int, default=int(os.environ.get("SGAM_BENCH_REPEAT", "3")),
                        help="runs per size; the best is reported (default 3, or $SGAM_BENCH_REPEAT)")
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, help="keep the repositories here instead of a temporary folder")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="also cProfile one sgam run at the smallest size and write the stats to FILE")
    args = parser.parse_args(argv)
    sizes = _sizes(args.sizes)
    if args.repeat < 1 or any(s < 1 for s in sizes):
        parser.error("sizes and --repeat must be 1 or more")

    with tempfile.TemporaryDirectory(prefix="sgam-bench-") as temporary:
        workdir = args.workdir or Path(temporary)
        results = []
        for size in sizes:
            result = measure(workdir, size, args.repeat, args.seed)
            if result is None:
                return 1
            results.append(result)
        print(report(results, args.repeat))
        if args.profile:
            profile(workdir, sizes[0], args.seed, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
