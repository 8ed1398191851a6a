"""Generator jobs run side by side, yet results keep the jobs' order and failures are not lost."""

from __future__ import annotations

import time

import pytest

from sgam.publish.work import in_parallel


def test_results_come_back_in_the_order_of_the_jobs_and_progress_counts_each() -> None:
    seen: list[tuple[int, int]] = []
    jobs = [lambda n=n: (time.sleep(0.01 * (5 - n)), n)[1] for n in range(5)]  # the last finishes first
    assert in_parallel(jobs, lambda done, total: seen.append((done, total))) == [0, 1, 2, 3, 4]
    assert seen == [(n, 5) for n in range(1, 6)]


def test_a_failing_job_fails_the_run() -> None:
    def broken() -> int:
        raise ValueError("dot failed")

    with pytest.raises(ValueError, match="dot failed"):
        in_parallel([lambda: 1, broken, lambda: 3])
