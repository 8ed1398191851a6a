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
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr

from sgam.platform import jsonfile
from sgam.platform.conversion import Converter, Iec61850Names
from sgam.platform.datapoints import DataStore, Value
from sgam.platform.iec61850.node import AcsiClient
from sgam.platform.openadr import Ven
from sgam.platform.services import (
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
)
from sgam.platform.xmpp import Endpoint

log = logging.getLogger(__name__)

# A limit only binds while its DER function is enabled (7-420 DWMX: WMaxSptPct acts while ModEna is on).
ENABLES = {"der.active_power_limit": "der.active_power_limit_enabled"}


class EmsState(BaseModel):
    """The EMS's restore file: per event, the settings each DER had before it (common names)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["sgam-ems-state/1"] = "sgam-ems-state/1"
    before: dict[str, dict[str, dict[str, StrictBool | StrictInt | StrictFloat | StrictStr]]] = {}


@dataclass(frozen=True)
class Der:
    """One DER behind the EMS: its resource name towards the VTN, its server's JID and logical device."""

    resource: str
    jid: str  # full JID of the DER's IEC 61850 server
    logical_device: str


class Ems:
    """The EMS: registers with the VTN, applies its events to the DERs, reports the DERs' measurements.

    An event version sets each of its signals on every targeted DER (all DERs when it names none,
    the DERs in parallel) and enables the function the signal needs; the settings a DER had before
    the event are kept and put back when the event is cancelled or completed. The EMS opts in when
    every DER accepted; when one refused, it undoes the others and opts out with the refusal as the
    reason. Overlapping events: the latest version applied wins, and cancelling an event puts back
    what was there before that event. An event is applied when it arrives, not at its start time,
    and ends with its cancellation or completion from the VTN (the EMS keeps no timers).

    ``state`` is a folder where the EMS keeps what it must not forget across a restart: the event
    versions it applied (the VEN's ``ven.json``) and the settings to restore (``restore.json``).
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
    ) -> None:
        self.state = state
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
                       on_event=self.apply, state=state / "ven.json" if state else None)
        # event id -> resource -> the settings it had before the event
        self._before = jsonfile.read_state(EmsState, state / "restore.json").before if state else {}
        self._subscriptions: list[RemoteSubscription] = []

    async def start(self) -> None:
        """Read the managed settings and follow the measurements of each DER, then register with the VTN."""
        self.ven.serve()
        managed = [*ENABLES, *ENABLES.values()]
        for der in self.ders.values():
            store = self.stores[der.resource]
            for point in (await self.services.get(der.jid, managed)).values():
                store.put(point)
            self._subscriptions.append(
                await self.services.subscribe(der.jid, self.measurements, self._receiver(der.resource))
            )
        await self.ven.register()

    async def close(self) -> None:
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
        try:
            if event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
                failures = await self._restore(event.event_id)
                if failures:
                    raise ServiceError(Reason.FAILED, "; ".join(failures))
            else:
                unknown = [name for name in event.signals if name not in ENABLES]
                if unknown:
                    raise ServiceError(Reason.UNKNOWN_NAME, f"the EMS cannot apply {', '.join(unknown)} to its DERs")
                outcomes = await asyncio.gather(*(self._limit(event, der) for der in targets), return_exceptions=True)
                refusals = [o for o in outcomes if isinstance(o, BaseException)]
                for refusal in refusals:
                    if not isinstance(refusal, ServiceError):
                        raise refusal
                if refusals:
                    raise ServiceError(Reason.FAILED, "; ".join(str(r) for r in refusals))
        except ServiceError as error:
            log.warning("event %s/%s not applied: %s", event.event_id, event.modification, error)
            await self._restore(event.event_id)  # all DERs or none: undo the ones that did accept
            return EventReply(event.event_id, event.modification, Opt.OUT, str(error))
        return EventReply(event.event_id, event.modification, Opt.IN)

    async def _limit(self, event: Event, der: Der) -> None:
        store = self.stores[der.resource]
        wanted: dict[str, Value] = {**event.signals, **{ENABLES[name]: True for name in event.signals}}
        saved = self._before.setdefault(event.event_id, {})
        if der.resource not in saved:  # the first version of an event remembers what to go back to
            saved[der.resource] = {name: store.value(name) for name in wanted}
            self._save()
        await self._put(der, wanted)

    def _save(self) -> None:
        if self.state is not None:
            jsonfile.write(self.state / "restore.json", EmsState(before=self._before))

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

    async def _restore(self, event_id: str) -> list[str]:
        """Put back each DER's settings from before the event; a DER that refuses does not stop the others.

        Returns what could not be restored (also logged)."""
        failures = []
        before = self._before.pop(event_id, {})
        for resource, settings in before.items():
            try:
                await self._put(self.ders[resource], settings)
            except ServiceError as error:
                log.error("could not restore %s after event %s: %s", resource, event_id, error)
                failures.append(f"{resource}: {error}")
        if before:
            self._save()
        return failures
