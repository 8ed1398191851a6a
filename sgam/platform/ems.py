"""The two roles in one device: an EMS that is an OpenADR VEN upward and an IEC 61850 client downward.

Both roles share one XMPP endpoint (one connection, one JID). Between them sit only the common
services and the conversion table: the VEN hands the EMS a protocol-neutral :class:`Event` in
common names, the EMS applies it to its DERs through :class:`CommonServices`, whose peers happen
to be reached over IEC 61850; the DERs' reports land in one DataStore per DER, which the VEN
reports upward. Neither side's protocol leaks into the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr

from sgam.platform import jsonfile
from sgam.platform.conversion import Converter, Iec61850Names
from sgam.platform.datapoints import DataStore, Value
from sgam.platform.iec61850.node import AcsiClient
from sgam.platform.openadr import Ven
from sgam.platform.services import (
    Clock,
    CommonServices,
    Event,
    EventReply,
    EventStatus,
    Opt,
    Reason,
    RemoteSubscription,
    Report,
    ReportHandler,
    ServiceError,
    utc_now,
)
from sgam.platform.xmpp import Endpoint

log = logging.getLogger(__name__)

# A limit only binds while its DER function is enabled (7-420 DWMX: WMaxSptPct acts while ModEna is on).
ENABLES = {"der.active_power_limit": "der.active_power_limit_enabled"}

Setting = StrictBool | StrictInt | StrictFloat | StrictStr


class HeldEvent(BaseModel):
    """An event the EMS has applied and not yet ended: what it sets on which DER, and until when."""

    model_config = ConfigDict(extra="forbid")

    end: AwareDatetime | None  # None: the event has no end; it holds until cancelled
    settings: dict[str, dict[str, Setting]]  # resource -> common name -> value


class EmsState(BaseModel):
    """The EMS's restore file: the events it holds and each DER's settings from before them (common names)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["sgam-ems-state/2"] = "sgam-ems-state/2"
    events: dict[str, HeldEvent] = {}  # in the order applied: where two set the same name, the later wins
    baseline: dict[str, dict[str, Setting]] = {}  # resource -> common name -> value before any held event


@dataclass(frozen=True)
class Der:
    """One DER behind the EMS: its resource name towards the VTN, its server's JID and logical device."""

    resource: str
    jid: str  # full JID of the DER's IEC 61850 server
    logical_device: str


class Ems:
    """The EMS: registers with the VTN, applies its events to the DERs, reports the DERs' measurements.

    An event version sets each of its signals on every targeted DER (all DERs when it names none,
    the DERs in parallel) and enables the function the signal needs. The limit is applied when the
    event arrives, not at its start time (the VTN's answer then says the DERs are set), and removed
    at the event's end (start + duration), by a timer of the EMS, or earlier when the VTN cancels or
    completes the event. A modification moves the end. An event without an end (zero duration)
    holds until the VTN cancels it. An event version whose period is already over when it arrives
    (late, or delivered again after the VEN forgot it) is handled like its completion: it sets
    nothing, not even for a moment, and ends what the event still held.

    The EMS opts in when every DER accepted; when one refused, it ends the event on the others and
    opts out with the refusal as the reason. Overlapping events: what a DER had before any of them
    (its baseline) is kept; while events hold a setting, the most recently applied one wins; when
    an event ends, each setting it held goes to what the remaining events say, or back to the
    baseline when none holds it any more -- whatever the order in which the events end.

    ``state`` is a folder where the EMS keeps what it must not forget across a restart: the event
    versions it applied (the VEN's ``ven.json``) and the events it holds, with their ends and the
    baseline (``restore.json``). On :meth:`start` an event whose end passed while the EMS was down is
    ended at once, the others' ends are scheduled again. ``retention`` is the VEN's (see
    :class:`~sgam.platform.openadr.Ven`); ``clock`` gives the time the ends are measured in.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        ven_id: str,
        vtn: str,
        ders: Sequence[Der],
        converter: Converter | None = None,
        measurements: Iterable[str] = ("der.active_power",),
        state: Path | None = None,
        retention: timedelta = timedelta(hours=1),
        clock: Clock = utc_now,
    ) -> None:
        self.state = state
        self.clock = clock
        self.converter = converter or Converter()
        self.ders = {der.resource: der for der in ders}
        self.measurements = tuple(measurements)
        self.stores = {der.resource: DataStore(self.converter.specs) for der in ders}
        self.client = AcsiClient(endpoint, servers=[der.jid.partition("/")[0] for der in ders])
        names = Iec61850Names(self.client, self.converter, {der.jid: der.logical_device for der in ders})
        self.services = CommonServices()
        for der in ders:
            self.services.connect(der.jid, names)
        self.ven = Ven(endpoint, ven_id=ven_id, vtn=vtn, converter=self.converter, resources=self.stores,
                       on_event=self.apply, state=state / "ven.json" if state else None, retention=retention,
                       clock=clock)
        saved = jsonfile.read_state(EmsState, state / "restore.json") if state else EmsState()
        self._events = saved.events
        self._baseline = saved.baseline
        self._locks = {der.resource: asyncio.Lock() for der in ders}
        self._timers: dict[str, asyncio.TimerHandle] = {}  # event id -> its end
        self._endings: dict[str, asyncio.Task[list[str]]] = {}  # event id -> its end, being carried out
        self._subscriptions: list[RemoteSubscription] = []

    async def start(self) -> None:
        """Read the managed settings and follow the measurements of each DER, end the events that ended
        meanwhile and schedule the others' ends, then register with the VTN."""
        self.ven.serve()
        managed = [*ENABLES, *ENABLES.values()]
        for der in self.ders.values():
            store = self.stores[der.resource]
            for point in (await self.services.get(der.jid, managed)).values():
                store.put(point)
            self._subscriptions.append(
                await self.services.subscribe(der.jid, self.measurements, self._receiver(der.resource))
            )
        now = self.clock()
        # a baseline no event holds: the EMS stopped while it was putting that baseline back
        keys = {(resource, name) for resource, names in self._baseline.items() for name in names
                if self._holder(resource, name) is None}
        for event_id in [e for e, held in self._events.items() if held.end is not None and held.end <= now]:
            keys |= _keys(self._events.pop(event_id))
        await self._settle(keys, changed=bool(keys))
        for event_id in self._events:
            self._schedule(event_id)
        await self.ven.register()

    async def close(self) -> None:
        """Stop following the DERs and cancel the timers; what the EMS holds stays in ``state`` for the next start."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._endings:
            await asyncio.wait(list(self._endings.values()))
        for subscription in self._subscriptions:
            await subscription.cancel()
        self._subscriptions.clear()

    def _receiver(self, resource: str) -> ReportHandler:
        store = self.stores[resource]

        async def receive(report: Report) -> None:
            for point in report.points:
                store.put(point)

        return receive

    async def apply(self, event: Event) -> EventReply:
        """Apply one new event version to the targeted DERs, all at once (the VEN calls this once per version)."""
        targets = [self.ders[r] for r in event.targets] or list(self.ders.values())  # the VEN checked the targets
        await self._quiet(event.event_id)
        over = event.end is not None and event.end <= self.clock()
        try:
            if over or event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
                failures = await self._end(event.event_id)
            else:
                unknown = [name for name in event.signals if name not in ENABLES]
                if unknown:
                    raise ServiceError(Reason.UNKNOWN_NAME, f"the EMS cannot apply {', '.join(unknown)} to its DERs")
                failures = await self._settle(self._hold(event, targets))
            if failures:
                raise ServiceError(Reason.FAILED, "; ".join(failures))
        except ServiceError as error:
            log.warning("event %s/%s not applied: %s", event.event_id, event.modification, error)
            await self._end(event.event_id)  # all DERs or none: undo the ones that did accept
            return EventReply(event.event_id, event.modification, Opt.OUT, str(error))
        finally:
            self._schedule(event.event_id)
        return EventReply(event.event_id, event.modification, Opt.IN)

    def _hold(self, event: Event, targets: Sequence[Der]) -> set[tuple[str, str]]:
        """Record what the event version sets (and the baseline it covers); returns the settings it touches."""
        wanted: dict[str, Setting] = {**event.signals, **{ENABLES[name]: True for name in event.signals}}
        before = self._events.pop(event.event_id, None)  # a new version: it becomes the latest applied
        for der in targets:
            baseline = self._baseline.setdefault(der.resource, {})
            for name in wanted:
                if name not in baseline:  # no held event covers it: what the DER has now is what to go back to
                    baseline[name] = self.stores[der.resource].value(name)
        held = self._events[event.event_id] = HeldEvent(end=event.end,
                                                        settings={der.resource: dict(wanted) for der in targets})
        self._save()  # before the DERs change: a crash in between still knows what to put back
        return _keys(held) | (_keys(before) if before else set())

    async def _end(self, event_id: str) -> list[str]:
        """End an event: what it held goes to what the other events say, or back to the baseline."""
        held = self._events.pop(event_id, None)
        return await self._settle(_keys(held), changed=True) if held else []

    async def _settle(self, keys: Iterable[tuple[str, str]], changed: bool = False) -> list[str]:
        """Bring each (resource, name) to the value of the latest held event that sets it, or to its baseline.

        The DERs in parallel; a DER that refuses does not stop the others. Saves the state when
        ``changed`` or when a baseline is done with. Returns what could not be set (also logged)."""
        names: dict[str, set[str]] = {}
        for resource, name in keys:
            names.setdefault(resource, set()).add(name)
        outcomes = await asyncio.gather(*(self._settle_der(r, n) for r, n in names.items()), return_exceptions=True)
        failures = []
        for resource, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, ServiceError):
                log.error("could not settle %s of %s: %s", ", ".join(sorted(names[resource])), resource, outcome)
                failures.append(f"{resource}: {outcome}")
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                changed |= outcome
        if changed:
            self._save()
        return failures

    async def _settle_der(self, resource: str, names: set[str]) -> bool:
        """Settle ``names`` on one DER; returns whether a baseline was done with (kept when the DER refused,
        so a later end or the next start tries again)."""
        # One change at a time per DER: the values are read from the held events when they are sent,
        # so that the last write always says what the events now want, and the mirror stays true.
        async with self._locks[resource]:
            values = {}
            for name in names:
                holder = self._holder(resource, name) or self._baseline.get(resource, {})
                if name in holder:  # else neither held nor kept: an earlier settle already put it back
                    values[name] = holder[name]
            await self._put(self.ders[resource], values)
            baseline = self._baseline.get(resource, {})
            done = [name for name in values if name in baseline and self._holder(resource, name) is None]
            for name in done:
                del baseline[name]
            if resource in self._baseline and not baseline:
                del self._baseline[resource]
            return bool(done)

    def _holder(self, resource: str, name: str) -> dict[str, Setting] | None:
        """The settings of the latest applied event that holds ``name`` on ``resource``, if any does."""
        for held in reversed(self._events.values()):
            settings = held.settings.get(resource)
            if settings is not None and name in settings:
                return settings
        return None

    def _schedule(self, event_id: str) -> None:
        """(Re)arm the timer that ends a held event at its end."""
        timer = self._timers.pop(event_id, None)
        if timer is not None:
            timer.cancel()
        held = self._events.get(event_id)
        if held is None or held.end is None:
            return
        delay = max((held.end - self.clock()).total_seconds(), 0.0)
        self._timers[event_id] = asyncio.get_running_loop().call_later(delay, self._ended, event_id)

    def _ended(self, event_id: str) -> None:
        del self._timers[event_id]
        ending = self._endings[event_id] = asyncio.get_running_loop().create_task(self._end(event_id))

        def done(task: asyncio.Task[list[str]]) -> None:
            if self._endings.get(event_id) is task:
                del self._endings[event_id]
            if not task.cancelled() and task.exception() is not None:
                log.error("ending event %s failed", event_id, exc_info=task.exception())

        ending.add_done_callback(done)

    async def _quiet(self, event_id: str) -> None:
        """Stop the event's timer and let an end already under way finish before a new version is applied."""
        timer = self._timers.pop(event_id, None)
        if timer is not None:
            timer.cancel()
        ending = self._endings.get(event_id)
        if ending is not None:
            await asyncio.wait([ending])

    def _save(self) -> None:
        if self.state is not None:
            jsonfile.write(self.state / "restore.json", EmsState(events=self._events, baseline=self._baseline))

    async def _put(self, der: Der, wanted: Mapping[str, Value]) -> None:
        """Bring the DER's managed settings to ``wanted``: write settings, then operate controls.

        Only what differs from the EMS's mirror is sent. The mirror is read at start and kept by the
        EMS's own writes: the EMS assumes it is the only one managing these settings.
        """
        store = self.stores[der.resource]
        changed = {name: value for name, value in wanted.items() if store.value(name) != value}
        controls = {name for name in changed if self.converter.iec61850_row(name).control_model is not None}
        settings = {name: value for name, value in changed.items() if name not in controls}
        if settings:
            await self.services.set(der.jid, settings)
            for name, value in settings.items():
                store.set(name, value)
        for name in controls:
            await self.services.operate(der.jid, name, changed[name])
            store.set(name, changed[name])


def _keys(held: HeldEvent) -> set[tuple[str, str]]:
    return {(resource, name) for resource, settings in held.settings.items() for name in settings}
