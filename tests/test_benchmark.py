"""The benchmark keeps working: its synthetic repositories validate, and it prints the ratio."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_benchmark_runs_on_small_sizes_and_prints_its_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_load.py"), "4", "8", "--repeat", "1"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "sgam/baseline" in result.stdout
    assert "per-file growth from N=4 to N=8" in result.stdout


def test_the_publish_benchmark_runs_on_a_small_size_and_prints_its_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_publish.py"), "2", "--repeat", "1"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "| use cases | diagrams | dot alone (s) | report (s) | report/dot | matrix (s) |" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("| 2 | ")


def test_the_import_benchmark_runs_on_the_corpus_and_prints_its_ratios() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_import.py"), "--repeat", "1"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()[1:4]] == [["xlsx", "25"], ["xml", "12"],
                                                                            ["all", "37"]]
