"""The common services facade: calls by peer and name, routed to whichever binding reaches the peer."""

import asyncio
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from sgam.platform.datapoints import DataPoint, DataStore, PointSpec, Value
from sgam.platform.services import (
    CommonServices,
    Event,
    EventReply,
    Opt,
    Reason,
    ServiceError,
)


class StoreBinding:
    """An in-process binding serving a DataStore: request/reply and control, but no events."""

    def __init__(self, store: DataStore) -> None:
        self.store = store
        self.selected: set[str] = set()

    async def get(self, peer: str, names: Sequence[str]) -> dict[str, DataPoint]:
        return self.store.snapshot(names)

    async def set(self, peer: str, values: Mapping[str, Value]) -> None:
        for name, value in values.items():
            self.store.set(name, value)

    async def select(self, peer: str, name: str, value: Value | None = None) -> None:
        self.selected.add(name)

    async def operate(self, peer: str, name: str, value: Value) -> None:
        if name not in self.selected:
            raise ServiceError(Reason.NOT_SELECTED, f"{name} was not selected")
        self.store.set(name, value)

    async def cancel(self, peer: str, name: str) -> None:
        self.selected.discard(name)


class EventOnlyBinding:
    async def distribute(self, peer: str, event: Event) -> EventReply:
        return EventReply(event.event_id, event.modification, Opt.IN)


def test_services_reach_each_peer_through_its_own_binding_and_refuse_what_it_lacks() -> None:
    store = DataStore([PointSpec("der.limit", float, "%"), PointSpec("der.power", float, "W")])
    services = CommonServices()
    services.connect("der@example.org", StoreBinding(store))
    services.connect("vtn@example.org", EventOnlyBinding())
    event = Event("e1", 0, {"dr.simple_level": 1}, datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1))

    async def scenario() -> None:
        await services.set("der@example.org", {"der.power": 100.0})
        assert (await services.get("der@example.org", ["der.power"]))["der.power"].value == 100.0
        with pytest.raises(ServiceError) as refused:
            await services.operate("der@example.org", "der.limit", 50.0)
        assert refused.value.reason is Reason.NOT_SELECTED
        await services.select("der@example.org", "der.limit")
        await services.operate("der@example.org", "der.limit", 50.0)
        assert store.value("der.limit") == 50.0
        assert (await services.distribute("vtn@example.org", event)).opt is Opt.IN
        with pytest.raises(ServiceError) as unsupported:
            await services.distribute("der@example.org", event)
        assert unsupported.value.reason is Reason.NOT_SUPPORTED
        with pytest.raises(ServiceError) as unknown:
            await services.get("nobody@example.org", ["der.power"])
        assert unknown.value.reason is Reason.UNAVAILABLE

    asyncio.run(scenario())
    assert services.peers == ["der@example.org", "vtn@example.org"]


def test_an_event_version_is_identified_by_its_id_and_modification_number() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = Event("e1", 0, {"dr.simple_level": 1}, start, timedelta(hours=1))
    again = Event("e1", 0, {"dr.simple_level": 1}, start, timedelta(hours=1), source="vtn@example.org")
    modified = Event("e1", 1, {"dr.simple_level": 2}, start, timedelta(hours=1))
    assert first.key == again.key != modified.key


def test_the_platform_runs_without_the_modelling_side_of_sgam() -> None:
    # A device installs the platform alone: importing its top (the EMS) must not pull in models, graph, cli ...
    code = (
        "import sys, sgam.platform.ems, sgam.platform.openadr, sgam.platform.conversion\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('sgam'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    assert loaded - {"sgam", "sgam.files"} == {m for m in loaded if m.startswith("sgam.platform")}
