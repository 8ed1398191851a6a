"""The EMS end to end over a real Prosody: VTN -> EMS (VEN + IEC 61850 client, one connection) -> DERs."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openleadr.messaging import parse_message, validate_xml_schema

from sgam.platform.conversion import Converter
from sgam.platform.ems import Der, Ems, EmsState
from sgam.platform.iec61850.datamodel import shipped_model
from sgam.platform.iec61850.node import ServerNode
from sgam.platform.iec61850.server import AcsiServer
from sgam.platform.jsonfile import JsonFileError
from sgam.platform.openadr import VenState, Vtn
from sgam.platform.services import Event, EventReply, EventStatus, Opt, Report
from sgam.platform.xmpp import Endpoint, Handler, Payload
from tests.platform.prosody import Prosody

Run = Callable[[Coroutine[Any, Any, Any]], Any]
CONVERTER = Converter()


class Recorder:
    """The VTN's endpoint, keeping a copy of every OpenADR payload it sends, receives and answers."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.payloads: list[str] = []

    @property
    def jid(self) -> str:
        return self.endpoint.jid

    def _keep(self, payload: Payload | None) -> None:
        if payload is not None:
            self.payloads.append(payload if isinstance(payload, str) else ET.tostring(payload, encoding="unicode"))

    def serve(self, namespace: str, handler: Handler, allow: Iterable[str]) -> None:
        async def recorded(sender: str, payload: ET.Element) -> Payload | None:
            self._keep(payload)
            answer = await handler(sender, payload)
            self._keep(answer)
            return answer

        self.endpoint.serve(namespace, recorded, allow)

    async def request(self, to: str, payload: Payload, timeout: float = 10.0) -> ET.Element | None:
        self._keep(payload)
        answer = await self.endpoint.request(to, payload, timeout)
        self._keep(answer)
        return answer

    def advertise(self, features: Iterable[str], items: Iterable[tuple[str, str]]) -> None:
        self.endpoint.advertise(features, items)

    async def discover(self, jid: str, timeout: float = 10.0) -> tuple[set[str], list[tuple[str, str]]]:
        return await self.endpoint.discover(jid, timeout)


@dataclass
class Field:
    vtn: Vtn
    wire: Recorder
    ems: Ems
    ems_peer: str
    battery: AcsiServer
    pv: AcsiServer
    restart_ems: Callable[..., Awaitable[None]]  # (while_down=None)
    reports: asyncio.Queue[Report] = field(default_factory=asyncio.Queue)


@asynccontextmanager
async def field_site(prosody: Prosody, timeout: float = 10.0, state: Path | None = None,
                     **options: Any) -> AsyncIterator[Field]:
    """A VTN, the EMS and its battery and PV inverter servers, each on its own account; the EMS registered.

    ``options`` go to the EMS (retention, clock)."""
    async with AsyncExitStack() as stack:
        accounts = {name: prosody.account(name) for name in ("vtn", "ems", "battery", "pv")}
        endpoints = {
            name: await stack.enter_async_context(Endpoint(account, prosody.server, name))
            for name, account in accounts.items()
        }
        servers = {}
        for name, model in (("battery", "der_battery"), ("pv", "der_pv")):
            servers[name] = AcsiServer(shipped_model(model))
            node = ServerNode(endpoints[name], servers[name], allow=[accounts["ems"].jid])
            await node.start()
            stack.push_async_callback(node.close)
        wire = Recorder(endpoints["vtn"])
        vtn = Vtn(wire, vtn_id="aggregator", converter=CONVERTER, vens=[accounts["ems"].jid], timeout=timeout)
        vtn.serve()
        ders = [Der("battery", endpoints["battery"].jid, "BATTDER"), Der("pv", endpoints["pv"].jid, "PVDER")]

        async def start_ems(endpoint: Endpoint) -> Ems:
            ems = Ems(endpoint, ven_id="ems-1", vtn=endpoints["vtn"].jid, ders=ders, converter=CONVERTER,
                      state=state, **options)
            await ems.start()
            return ems

        async def restart_ems(while_down: Callable[[], Awaitable[None]] | None = None) -> None:
            """The EMS process ends and starts again: a new connection and new objects, the same state folder."""
            await site.ems.close()
            await endpoints["ems"].stop()
            if while_down is not None:
                await while_down()
            endpoints["ems"] = await stack.enter_async_context(Endpoint(accounts["ems"], prosody.server, "ems"))
            site.ems = await start_ems(endpoints["ems"])

        site = Field(vtn, wire, await start_ems(endpoints["ems"]), endpoints["ems"].jid, servers["battery"],
                     servers["pv"], restart_ems)
        try:
            yield site
        finally:
            await site.ems.close()


def limit_event(modification: int, status: EventStatus = EventStatus.PENDING) -> Event:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return Event("dr-1", modification, {"der.active_power_limit": 30.0}, start, timedelta(hours=1), status)


async def next_value(queue: asyncio.Queue[Report], name: str) -> float:
    while True:
        report = await asyncio.wait_for(queue.get(), 10)
        for point in report.points:
            if point.name == name:
                return float(point.value)


def test_a_dr_event_limits_both_ders_over_iec61850_reports_flow_up_and_a_cancellation_restores(
    prosody: Prosody, run: Run
) -> None:
    async def scenario() -> None:
        async with field_site(prosody) as f:
            limit, enabled = "DWMX1.WMaxSptPct.setMag.f", "DWMX1.ModEna.stVal"

            async def collect(report: Report) -> None:
                f.reports.put_nowait(report)

            await f.vtn.subscribe(f.ems_peer, ["battery/der.active_power", "pv/der.active_power"], collect)
            assert await next_value(f.reports, "pv/der.active_power") == 4200.0  # the PV's first measurement

            # SIMPLE level 2 -> 30 % limit on both DERs (battery: select before operate; PV: direct)
            reply = await f.vtn.distribute(f.ems_peer, limit_event(0))
            assert reply.opt is Opt.IN
            for server, ld in ((f.battery, "BATTDER"), (f.pv, "PVDER")):
                assert (server.value(f"{ld}/{limit}"), server.value(f"{ld}/{enabled}")) == (30.0, True)

            # the limited PV measures less; the EMS reports it to the VTN (oadrUpdateReport)
            f.pv.update("PVDER/MMXU1.TotW", 1260.0)
            assert await next_value(f.reports, "pv/der.active_power") == 1260.0

            # a repeated delivery is answered without touching the DERs again
            f.pv.update("PVDER/DWMX1.WMaxSptPct", 55.0)
            assert (await f.vtn.distribute(f.ems_peer, limit_event(0))).opt is Opt.IN
            assert f.pv.value(f"PVDER/{limit}") == 55.0

            # the cancellation restores what the DERs had before the event
            cancelled = await f.vtn.distribute(f.ems_peer, limit_event(1, EventStatus.CANCELLED))
            assert cancelled.opt is Opt.IN
            for server, ld in ((f.battery, "BATTDER"), (f.pv, "PVDER")):
                assert (server.value(f"{ld}/{limit}"), server.value(f"{ld}/{enabled}")) == (100.0, False)

            # every OpenADR payload on the wire is schema-valid 2.0b and parses with openleadr
            kinds = set()
            for payload in f.wire.payloads:
                validate_xml_schema(payload)
                kinds.add(parse_message(payload)[0])
            assert {"oadrCreatePartyRegistration", "oadrCreatedPartyRegistration", "oadrRegisterReport",
                    "oadrRegisteredReport", "oadrCreateReport", "oadrCreatedReport", "oadrDistributeEvent",
                    "oadrCreatedEvent", "oadrUpdateReport", "oadrUpdatedReport"} <= kinds

    run(scenario())


def test_an_event_one_der_refuses_is_opted_out_with_its_reason_and_undone_on_the_others(
    prosody: Prosody, run: Run
) -> None:
    async def scenario() -> None:
        async with field_site(prosody) as f:
            f.pv.update("PVDER/LLN0.Beh", 5)  # the PV inverter is switched off: it refuses controls
            reply = await f.vtn.distribute(f.ems_peer, limit_event(0))
            assert reply.opt is Opt.OUT
            assert "LLN0.Beh" in reply.reason
            assert (f.battery.value("BATTDER/DWMX1.WMaxSptPct.setMag.f"),
                    f.battery.value("BATTDER/DWMX1.ModEna.stVal")) == (100.0, False)

    run(scenario())


def test_a_restarted_ems_neither_applies_an_event_twice_nor_forgets_what_to_restore(
    prosody: Prosody, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: Counter[str] = Counter()
    applied: list[tuple[str, int]] = []
    limit, enabled = "DWMX1.WMaxSptPct.setMag.f", "DWMX1.ModEna.stVal"
    apply = Ems.apply

    async def counted(ems: Ems, event: Event) -> EventReply:
        applied.append(event.key)
        return await apply(ems, event)

    monkeypatch.setattr(Ems, "apply", counted)

    async def scenario() -> None:
        async with field_site(prosody, state=tmp_path) as f:
            for server in (f.battery, f.pv):
                server.on_write(lambda ref, value: written.update([ref]))
            assert (await f.vtn.distribute(f.ems_peer, limit_event(0))).opt is Opt.IN
            await f.restart_ems()
            assert (await f.vtn.distribute(f.ems_peer, limit_event(0))).opt is Opt.IN  # delivered again
            assert written == {f"{ld}/{ref}": 1 for ld in ("BATTDER", "PVDER") for ref in (limit, enabled)}
            assert (await f.vtn.distribute(f.ems_peer, limit_event(1, EventStatus.CANCELLED))).opt is Opt.IN
            for server, ld in ((f.battery, "BATTDER"), (f.pv, "PVDER")):
                assert (server.value(f"{ld}/{limit}"), server.value(f"{ld}/{enabled}")) == (100.0, False)

    run(scenario())
    assert applied == [("dr-1", 0), ("dr-1", 1)]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["restore.json", "ven.json"]


EVENTS, RESTARTS = 1000, 3


def test_every_event_is_applied_exactly_once_while_the_server_restarts_three_times(own_prosody: Prosody,
                                                                                   run: Run) -> None:
    applied: Counter[tuple[str, int]] = Counter()
    written: Counter[str] = Counter()  # writes each DER received, by reference
    replies: dict[str, Opt] = {}

    async def scenario() -> tuple[int, int]:
        async with field_site(own_prosody, timeout=60) as f:
            apply = f.ems.ven.on_event

            async def counted(event: Event) -> EventReply:
                applied[event.key] += 1
                return await apply(event)

            f.ems.ven.on_event = counted
            for server in (f.battery, f.pv):
                server.on_write(lambda ref, value: written.update([ref]))

            async def restarts() -> None:
                for restart in range(1, RESTARTS + 1):
                    while len(replies) < restart * EVENTS // (RESTARTS + 1):
                        await asyncio.sleep(0.01)
                    await asyncio.to_thread(own_prosody.restart)

            async def events() -> None:
                for number in range(EVENTS):
                    # alternate limits (SIMPLE levels 2 and 1), so that every event writes to both DERs
                    signals = {"der.active_power_limit": (30.0, 60.0)[number % 2]}
                    event = replace(limit_event(0), event_id=f"dr-{number}", signals=signals)
                    replies[event.event_id] = (await f.vtn.distribute(f.ems_peer, event)).opt

            await asyncio.gather(restarts(), events())
            last = (30.0, 60.0)[(EVENTS - 1) % 2]
            assert f.battery.value("BATTDER/DWMX1.WMaxSptPct.setMag.f") == last
            assert f.pv.value("PVDER/DWMX1.WMaxSptPct.setMag.f") == last
            return f.wire.endpoint.reconnections, f.ems.ven.transport.reconnections  # type: ignore[attr-defined]

    vtn_reconnections, ems_reconnections = run(scenario())
    assert (vtn_reconnections, ems_reconnections) == (RESTARTS, RESTARTS)
    assert replies == {f"dr-{number}": Opt.IN for number in range(EVENTS)}
    assert sorted(applied) == sorted((f"dr-{number}", 0) for number in range(EVENTS))
    assert set(applied.values()) == {1}, {key: times for key, times in applied.items() if times != 1}
    # each event changed each DER's limit exactly once; the function was switched on once
    assert written == {"BATTDER/DWMX1.WMaxSptPct.setMag.f": EVENTS, "PVDER/DWMX1.WMaxSptPct.setMag.f": EVENTS,
                       "BATTDER/DWMX1.ModEna.stVal": 1, "PVDER/DWMX1.ModEna.stVal": 1}


# --- the EMS ends what it applies -------------------------------------------------------------------

LIMIT, ENABLED = "DWMX1.WMaxSptPct.setMag.f", "DWMX1.ModEna.stVal"
BEFORE = (100.0, False)  # what the shipped DER models have before any event: no limit, function off
EARLY = timedelta(milliseconds=50)  # how much earlier than asked an asyncio timer may fire (clock resolution)


def short_event(event_id: str, seconds: int, limit: float = 30.0, modification: int = 0) -> Event:
    """An event that starts now and lasts `seconds` (0: no end; OpenADR durations here are whole seconds)."""
    return Event(event_id, modification, {"der.active_power_limit": limit}, datetime.now(UTC),
                 timedelta(seconds=seconds))


def settings(f: Field) -> list[tuple[object, object]]:
    """The battery's and the PV's limit and whether it is on, as the DER servers have them."""
    return [(server.value(f"{ld}/{LIMIT}"), server.value(f"{ld}/{ENABLED}"))
            for server, ld in ((f.battery, "BATTDER"), (f.pv, "PVDER"))]


async def until_settled(f: Field, expected: tuple[float, bool]) -> None:
    """Wait (10 s at most) until both DER servers have `expected` and the EMS has finished ending events
    (a DER has its value before the EMS has its answer and cleans up after it)."""
    for _ in range(500):
        if settings(f) == [expected] * 2 and not f.ems._endings:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the DERs have {settings(f)}, not {expected}")


def timed_writes(server: AcsiServer) -> list[tuple[datetime, str, object]]:
    """Every write the DER server receives from now on, with when it arrived."""
    writes: list[tuple[datetime, str, object]] = []
    server.on_write(lambda ref, value: writes.append((datetime.now(UTC), ref, value)))
    return writes


def test_an_event_ends_at_its_end_without_a_word_from_the_vtn_and_a_modification_moves_the_end(
    prosody: Prosody, run: Run
) -> None:
    async def scenario() -> None:
        async with field_site(prosody) as f:
            writes = timed_writes(f.pv)
            # 2 s: time enough for both versions to arrive before the first end, however busy the machine
            event = short_event("short", 2)
            assert (await f.vtn.distribute(f.ems_peer, event)).opt is Opt.IN
            assert settings(f) == 2 * [(30.0, True)]  # applied on arrival
            longer = replace(event, modification=1, duration=timedelta(seconds=3))
            assert (await f.vtn.distribute(f.ems_peer, longer)).opt is Opt.IN
            await until_settled(f, BEFORE)
            restored = [when for when, ref, value in writes if ref == f"PVDER/{LIMIT}" and value == 100.0]
            assert len(restored) == 1 and restored[0] >= event.start + timedelta(seconds=3) - EARLY
            assert (f.ems._events, f.ems._baseline, f.ems._timers) == ({}, {}, {})

    run(scenario())


def test_a_cancellation_restores_at_once_and_the_cancelled_events_end_then_passes_without_effect(
    prosody: Prosody, run: Run
) -> None:
    async def scenario() -> None:
        async with field_site(prosody) as f:
            event = short_event("cancelled", 1)
            assert (await f.vtn.distribute(f.ems_peer, event)).opt is Opt.IN
            cancel = replace(event, modification=1, status=EventStatus.CANCELLED)
            assert (await f.vtn.distribute(f.ems_peer, cancel)).opt is Opt.IN
            assert settings(f) == 2 * [BEFORE]
            # an event without an end holds until cancelled: the cancelled event's end must not undo it
            open_ended = short_event("open-ended", 0, limit=60.0)
            assert (await f.vtn.distribute(f.ems_peer, open_ended)).opt is Opt.IN
            await asyncio.sleep((event.start + event.duration - datetime.now(UTC)).total_seconds() + 0.5)
            assert settings(f) == 2 * [(60.0, True)]
            assert list(f.ems._events) == ["open-ended"] and f.ems._timers == {}
            cancel = replace(open_ended, modification=1, status=EventStatus.CANCELLED)
            assert (await f.vtn.distribute(f.ems_peer, cancel)).opt is Opt.IN
            assert settings(f) == 2 * [BEFORE]

    run(scenario())


def test_a_restarted_ems_ends_an_event_at_its_end_or_at_start_when_the_end_passed_while_it_was_down(
    prosody: Prosody, run: Run, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with field_site(prosody, state=tmp_path) as f:
            writes = timed_writes(f.pv)
            event = short_event("across-a-restart", 3)  # time enough for a restart on a busy machine
            assert (await f.vtn.distribute(f.ems_peer, event)).opt is Opt.IN
            await f.restart_ems()
            assert settings(f) == 2 * [(30.0, True)]  # the end is still to come
            await until_settled(f, BEFORE)
            restored = [when for when, ref, value in writes if ref == f"PVDER/{LIMIT}" and value == 100.0]
            assert restored[0] >= event.start + event.duration - EARLY

            event = short_event("ended-while-down", 1)
            assert (await f.vtn.distribute(f.ems_peer, event)).opt is Opt.IN

            async def past_the_end() -> None:
                await asyncio.sleep((event.start + event.duration - datetime.now(UTC)).total_seconds() + 0.3)
                assert settings(f) == 2 * [(30.0, True)]  # nobody ended it meanwhile

            await f.restart_ems(past_the_end)
            assert settings(f) == 2 * [BEFORE]  # start() ended it
            saved = EmsState.model_validate_json((tmp_path / "restore.json").read_text())
            assert (saved.events, saved.baseline) == ({}, {})

    run(scenario())


def test_after_many_ended_events_the_ems_and_its_ven_keep_only_the_live_ones_and_the_ders_are_as_before(
    prosody: Prosody, run: Run, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with field_site(prosody, state=tmp_path, retention=timedelta(0)) as f:
            # overlapping events alternating between two limits, ending in the order they started
            for number in range(20):
                event = short_event(f"burst-{number}", 1, limit=(30.0, 60.0)[number % 2])
                assert (await f.vtn.distribute(f.ems_peer, event)).opt is Opt.IN
            await until_settled(f, BEFORE)
            live = replace(short_event("live", 3600), start=datetime.now(UTC) + timedelta(minutes=5))
            assert (await f.vtn.distribute(f.ems_peer, live)).opt is Opt.IN
            assert settings(f) == 2 * [(30.0, True)]
            assert list(f.ems._events) == list(f.ems.ven._applied) == ["live"]
            saved = EmsState.model_validate_json((tmp_path / "restore.json").read_text())
            assert list(saved.events) == ["live"]
            assert list(VenState.model_validate_json((tmp_path / "ven.json").read_text()).events) == ["live"]

            # an ended event delivered again after the VEN forgot it sets nothing
            writes = timed_writes(f.pv)
            again = short_event("burst-1", 1)
            again = replace(again, start=again.start - timedelta(seconds=5))
            assert (await f.vtn.distribute(f.ems_peer, again)).opt is Opt.IN
            assert writes == [] and settings(f) == 2 * [(30.0, True)]

    run(scenario())


def test_an_event_whose_period_is_over_when_it_arrives_never_limits_a_der(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        # the EMS's clock is two hours ahead of the VTN's: for it, the VTN's active hour-long event is over
        async with field_site(prosody, clock=lambda: datetime.now(UTC) + timedelta(hours=2)) as f:
            writes = timed_writes(f.pv)
            assert (await f.vtn.distribute(f.ems_peer, short_event("late", 3600))).opt is Opt.IN
            assert writes == [] and settings(f) == 2 * [BEFORE]
            assert f.ems._events == {}

    run(scenario())


def test_an_ems_state_file_of_another_format_is_refused_with_a_clear_error(prosody: Prosody, tmp_path: Path) -> None:
    (tmp_path / "restore.json").write_text('{"format": "sgam-ems-state/1", "before": {}}', encoding="utf-8")
    endpoint = Endpoint(prosody.account("ems"), prosody.server, "ems")  # never connected: the file stops it first
    with pytest.raises(JsonFileError, match=r"restore.json: /format: .*sgam-ems-state/2.*\n.*not a EmsState file"):
        Ems(endpoint, ven_id="ems-1", vtn="vtn@localhost/vtn", ders=[], state=tmp_path)
