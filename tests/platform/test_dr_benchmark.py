"""The DR benchmark keeps working: it runs at a tiny size and prints its table and ratios."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_dr_benchmark_runs_and_reports_rounds_against_raw_round_trips_the_floor_and_the_bound() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_dr.py"), "-n", "20", "--in-flight", "5", "-r", "1"],
        capture_output=True, text=True, check=False, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line.split() for line in lines if not line.startswith("#") and "=" not in line]
    assert rows[0][:3] == ["transport", "in", "flight"]
    figures = {(" ".join(row[:-6]), int(row[-6])): row[-5:] for row in rows[1:]}
    assert set(figures) == {(kind, flight) for kind in ("raw slixmpp", "floor", "dr round") for flight in (1, 5)}
    for rate, _median, p50, p99, _ratio in figures.values():
        assert float(rate) > 0 and 0 < float(p50) <= float(p99)
    ratios = dict(line.split("=") for line in lines if "=" in line and not line.startswith("#"))
    assert set(ratios) == {"ratio", "ratio_in_flight", "floor_ratio", "bound_ratio"}
    assert all(float(value) > 0 for value in ratios.values())
    costs = [line for line in lines if line.startswith("# openleadr create+parse")]
    assert [line.split()[3] for line in costs] == ["oadrDistributeEvent:", "oadrCreatedEvent:"]
    assert any(line.startswith("# bound (sequential):") for line in lines)
    assert "Task was destroyed" not in result.stderr
