"""Run the independent jobs of a generator side by side: most of their time is Graphviz `dot`, a
separate process, so threads keep every core busy."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")


def in_parallel(jobs: Sequence[Callable[[], T]], progress: Callable[[int, int], None] | None = None) -> list[T]:
    """Each job's result, in the jobs' order; the first failure stops the jobs not yet started."""
    results: dict[int, T] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {pool.submit(job): index for index, job in enumerate(jobs)}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                results[futures[future]] = future.result()
                if progress:
                    progress(done, len(jobs))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return [results[index] for index in range(len(jobs))]
