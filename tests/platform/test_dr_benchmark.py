"""The DR benchmark keeps working: it runs at a tiny size and prints its table and ratios."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_dr_benchmark_runs_and_reports_rounds_against_raw_round_trips() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_dr.py"), "-n", "20", "--in-flight", "5", "-r", "1"],
        capture_output=True, text=True, check=False, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line.split() for line in lines if not line.startswith(("#", "ratio"))]
    assert rows[0][:3] == ["transport", "in", "flight"]
    figures = {(" ".join(row[:-6]), int(row[-6])): row[-5:] for row in rows[1:]}
    assert set(figures) == {("raw slixmpp", 1), ("dr round", 1), ("raw slixmpp", 5), ("dr round", 5)}
    for rate, _median, p50, p99, _ratio in figures.values():
        assert float(rate) > 0 and 0 < float(p50) <= float(p99)
    ratios = dict(line.split("=") for line in lines if line.startswith("ratio"))
    assert set(ratios) == {"ratio", "ratio_in_flight"}
    assert 0 < float(ratios["ratio"]) < 1 and 0 < float(ratios["ratio_in_flight"]) < 1
    costs = [line for line in lines if line.startswith("# openleadr create+parse")]
    assert [line.split()[3] for line in costs] == ["oadrDistributeEvent:", "oadrCreatedEvent:"]
    assert "Task was destroyed" not in result.stderr
