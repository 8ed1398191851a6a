"""The transport benchmark keeps working: it runs at a tiny size and prints its table."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_transport_benchmark_runs_and_reports_raw_and_endpoint_rates() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_xmpp.py"), "-n", "20", "--in-flight", "5", "-r", "1"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if not line.startswith("#")]
    assert rows[0][:3] == ["transport", "in", "flight"]
    figures = {(" ".join(row[:-6]), int(row[-6])): row[-5:] for row in rows[1:]}
    assert set(figures) == {("raw slixmpp", 1), ("endpoint", 1), ("raw slixmpp", 5), ("endpoint", 5)}
    for rate, _median, p50, p99, _ratio in figures.values():
        assert float(rate) > 0 and 0 < float(p50) <= float(p99)
    assert "Task was destroyed" not in result.stderr
