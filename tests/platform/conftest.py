"""Fixtures for the platform: real Prosody servers (see prosody.py) and a way to run async scenarios."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from tests.platform.prosody import Prosody

T = TypeVar("T")


def running(server: Prosody) -> Iterator[Prosody]:
    """Start `server` for a fixture's lifetime, then stop it and remove its files."""
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def prosody() -> Iterator[Prosody]:
    """One Prosody for the whole session; tests keep apart by making their own accounts (`prosody.account`)."""
    yield from running(Prosody())


@pytest.fixture
def own_prosody() -> Iterator[Prosody]:
    """A Prosody of the test's own, for tests that stop or restart the server."""
    yield from running(Prosody())


@pytest.fixture
def run() -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run one async scenario to its end (each test gets a fresh event loop)."""

    def run_scenario(scenario: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(asyncio.wait_for(scenario, timeout=120))

    return run_scenario
