"""OpenADR 2.0b over the platform's XMPP endpoint: the VTN and VEN roles.

Transport, as in the public OpenADR XMPP reference implementations (EnerNOC oadr2-ven-python and
oadr2-vtn-new): each ``oadrPayload`` travels as the child of an ``<iq type="set">`` and the answer
payload comes back in the matching ``<iq type="result">``. The VTN pushes; nobody polls. A VEN
registers with ``oadrTransportName`` ``xmpp`` and its full JID as ``oadrTransportAddress``; the VTN
answers service discovery (XEP-0030) with the feature ``http://openadr.org/openadr2`` and one item
per service.

Payloads are made, validated against the 2.0b schema and parsed by openleadr's messaging module;
every payload this module sends is validated before it leaves, and every payload it receives is
validated before it is read. A payload that does not validate is answered with an XMPP
``bad-request`` error carrying an ``oadrResponse`` with status 454, and the endpoint keeps serving.
Refusals the application makes (unknown signal, value out of range, unregistered VEN ...) travel
as OpenADR status codes 450-469 inside the normal answer, as over HTTP.

Idempotence: a VEN applies each version of an event -- event id and modification number -- once.
A repeated delivery (the transport's retry after a server restart, or a VTN sending the event
again) gets the first delivery's answer without reaching the application; an older modification
than one already applied is refused with 450 (out of sequence). With a state file the VEN keeps
this record across its own restarts; it writes it after applying, so a crash between the two
applies that one version once more (the settings it makes are idempotent). The record is kept
only while it matters: until the event has ended, plus a retention window (see :class:`Ven`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from xml.sax.saxutils import escape

from lxml.etree import XMLSyntaxError
from openleadr import objects
from openleadr.messaging import create_message, parse_message, validate_xml_schema
from pydantic import AwareDatetime, BaseModel, ConfigDict

from sgam.platform import jsonfile
from sgam.platform.conversion import ConversionError, Converter
from sgam.platform.datapoints import DataPoint, DataStore, Listener
from sgam.platform.services import (
    Clock,
    Event,
    EventHandler,
    EventReply,
    EventStatus,
    Opt,
    Reason,
    Report,
    ReportHandler,
    ServiceError,
    utc_now,
)
from sgam.platform.xmpp import Handler, Payload, StanzaFault, xml_text

log = logging.getLogger(__name__)

OADR_NS = "http://openadr.org/oadr-2.0b/2012/07"
FEATURE = "http://openadr.org/openadr2"
SERVICES = ("EiEvent", "EiReport", "EiOpt", "EiRegisterParty")
NODES = tuple(f"http://openadr.org/OpenADR2/{service}" for service in SERVICES)

# OpenADR status codes (openleadr enums.STATUS_CODES) and the neutral reasons they stand for.
OK = 200
OUT_OF_SEQUENCE, NOT_ALLOWED, INVALID_ID, NOT_RECOGNIZED, INVALID_DATA = 450, 451, 452, 453, 454
SIGNAL_NOT_SUPPORTED, REPORT_NOT_SUPPORTED, TARGET_MISMATCH, NOT_REGISTERED, OTHER = 460, 461, 462, 463, 469
_REASONS = {
    OUT_OF_SEQUENCE: Reason.INVALID,
    NOT_ALLOWED: Reason.NOT_ALLOWED,
    INVALID_ID: Reason.UNKNOWN_NAME,
    NOT_RECOGNIZED: Reason.NOT_SUPPORTED,
    INVALID_DATA: Reason.INVALID,
    SIGNAL_NOT_SUPPORTED: Reason.UNKNOWN_NAME,
    REPORT_NOT_SUPPORTED: Reason.UNKNOWN_NAME,
    TARGET_MISMATCH: Reason.NOT_ALLOWED,
    NOT_REGISTERED: Reason.NOT_ALLOWED,
}
_CODES = {
    Reason.UNKNOWN_NAME: SIGNAL_NOT_SUPPORTED,
    Reason.WRONG_TYPE: INVALID_DATA,
    Reason.OUT_OF_RANGE: INVALID_DATA,
    Reason.INVALID: INVALID_DATA,
    Reason.NOT_ALLOWED: NOT_ALLOWED,
}

_STATUS_OUT = {
    EventStatus.PENDING: "far",
    EventStatus.ACTIVE: "active",
    EventStatus.COMPLETED: "completed",
    EventStatus.CANCELLED: "cancelled",
}
_STATUS_IN = {"none": EventStatus.PENDING, "far": EventStatus.PENDING, "near": EventStatus.PENDING} | {
    text: status for status, text in _STATUS_OUT.items()
}


class OpenAdrError(ServiceError):
    """An OpenADR refusal: ``code`` is the 2.0b status code (450-469)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(_REASONS.get(code, Reason.FAILED), f"OpenADR {code}: {text}")
        self.code = code

    @classmethod
    def of(cls, error: ServiceError) -> OpenAdrError:
        if isinstance(error, OpenAdrError):
            return error
        return cls(_CODES.get(error.reason, OTHER), error.text)


class Transport(Protocol):
    """What the binding needs of the XMPP endpoint (sgam.platform.xmpp.Endpoint)."""

    @property
    def jid(self) -> str: ...

    def serve(self, namespace: str, handler: Handler, allow: Iterable[str]) -> None: ...

    async def request(self, to: str, payload: Payload, timeout: float = 10.0) -> ET.Element | None: ...

    def advertise(self, features: Iterable[str], items: Iterable[tuple[str, str]]) -> None: ...

    async def discover(self, jid: str, timeout: float = 10.0) -> tuple[set[str], list[tuple[str, str]]]: ...


# --- payloads ---------------------------------------------------------------------------------------


def encode(message_type: str, **payload: Any) -> str:
    """An ``oadrPayload`` written by openleadr and checked against the 2.0b schema: the text that goes on the wire.

    The check keeps the XMPP stream whole (the text is sent as it is) and catches bugs in this module.
    """
    xml = create_message(message_type, disable_signature=True, **_escaped(payload))
    validate_xml_schema(xml)
    declaration, _, element = xml.partition("?>")  # an XML declaration may not appear inside a stanza
    return element.lstrip() if declaration.startswith("<?xml") else xml


def decode(received: Payload | None) -> tuple[str, dict[str, Any]]:
    """(message type, payload) of a received ``oadrPayload``; schema-invalid input raises 454."""
    if received is None:
        raise OpenAdrError(INVALID_DATA, "the answer carried no oadrPayload")
    data = received if isinstance(received, str) else xml_text(received)
    try:
        validate_xml_schema(data)
        message_type, payload = parse_message(data)
    except XMLSyntaxError as error:
        raise OpenAdrError(INVALID_DATA, f"payload does not validate against the OpenADR 2.0b schema: {error}") from None
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as error:  # odd but schema-valid input
        raise OpenAdrError(INVALID_DATA, f"payload cannot be read: {error}") from None
    return message_type, payload


def _escaped(value: Any) -> Any:
    """Every text of a payload escaped for XML, openleadr's objects as the dicts openleadr makes of them.

    openleadr's templates write values as they are: an id or a description with & or < would make
    the message malformed (and a received id comes back unescaped by the parser).
    """
    if isinstance(value, str):
        return escape(value)
    if is_dataclass(value) and not isinstance(value, type):
        return _escaped(asdict(value))
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    return value


def _response(code: int, text: str, request_id: str | None) -> dict[str, Any]:
    return {"response_code": code, "response_description": text, "request_id": request_id}


async def _exchange(
    transport: Transport, to: str, message_type: str, expected: str, payload: Mapping[str, Any], timeout: float
) -> dict[str, Any]:
    """Send one payload and return the answer's, raising the peer's refusal (its eiResponse code)."""
    answer_type, answer = decode(await transport.request(to, encode(message_type, **payload), timeout))
    response = answer.get("response") or {}
    code = int(response.get("response_code", OK))
    if code != OK:
        raise OpenAdrError(code, f"{message_type} refused: {response.get('response_description', '')}")
    if answer_type != expected:
        raise OpenAdrError(INVALID_DATA, f"{message_type} was answered with {answer_type}, not {expected}")
    return answer


def _new_id() -> str:
    return uuid.uuid4().hex


def _bare(jid: str) -> str:
    return jid.partition("/")[0]


def _canceled_registration(payload: Mapping[str, Any], registration_id: str | None, ven_id: str) -> tuple[bool, str]:
    """Whether an oadrCancelPartyRegistration names `registration_id`, and the answer to it (452 if not)."""
    matches = payload.get("registration_id") == registration_id
    code, text = (OK, "OK") if matches else (INVALID_ID, "not this party's registration id")
    answer = encode(
        "oadrCanceledPartyRegistration",
        response=_response(code, text, payload.get("request_id")),
        registration_id=payload.get("registration_id"),
        ven_id=ven_id,
    )
    return matches, answer


PayloadHandler = Callable[[str, dict[str, Any]], Awaitable[str]]
"""Serves one received message type: (sender's bare JID, openleadr payload dict) -> the answer payload."""


def _served(handlers: Mapping[str, PayloadHandler], ven_id: str | None) -> Handler:
    """One IQ handler for all message types: dispatch, turn refusals into answers, bad input into 454."""

    async def serve(sender: str, element: ET.Element) -> str | None:
        try:
            message_type, payload = decode(element)
        except OpenAdrError as error:
            log.warning("refused a payload from %s: %s", sender, error)
            answer = encode("oadrResponse", response=_response(error.code, error.text, None), ven_id=ven_id or "")
            raise StanzaFault("bad-request", error.text, answer) from None
        handler = handlers.get(message_type)
        if handler is None:
            code, text = NOT_RECOGNIZED, f"{message_type} is not served here"
        elif ven_id is not None and payload.get("ven_id") not in (None, ven_id):  # a VEN: meant for another one
            code, text = INVALID_ID, f"{message_type} names VEN {payload['ven_id']}, not {ven_id}"
        else:
            return await handler(sender, payload)
        return encode("oadrResponse", response=_response(code, text, payload.get("request_id")),
                      ven_id=payload.get("ven_id") or ven_id or "")

    return serve


# --- events -----------------------------------------------------------------------------------------


def oadr_event(event: Event, converter: Converter, market_context: str, ven_id: str) -> objects.Event:
    """The openleadr event object for a common event (one interval per signal, the event's period)."""
    if event.duration % timedelta(seconds=1):  # openleadr writes whole seconds: 0.5 s would read as "no end"
        raise OpenAdrError(INVALID_DATA, f"event {event.event_id}: a duration of {event.duration} is not whole seconds")
    signals = []
    for number, (name, value) in enumerate(event.signals.items()):
        signal = converter.to_signal(name, value)
        signals.append(
            objects.EventSignal(
                intervals=[objects.Interval(event.start, event.duration, signal.value, uid=0)],
                signal_name=signal.row.signal_name,
                signal_type=signal.row.signal_type,
                signal_id=f"{event.event_id}-{number}",
                current_value=signal.value if event.status is EventStatus.ACTIVE else 0.0,
            )
        )
    targets = [objects.Target(ven_id=ven_id)] + [objects.Target(resource_id=r) for r in event.targets]
    oadr = objects.Event(
        event_descriptor=objects.EventDescriptor(
            event_id=event.event_id,
            modification_number=event.modification,
            market_context=market_context,
            event_status=_STATUS_OUT[event.status],  # replaced by openleadr, see below
            created_date_time=datetime.now(UTC),
        ),
        active_period=objects.ActivePeriod(event.start, event.duration),
        event_signals=signals,
        targets=targets,
        response_required="always",
    )
    # openleadr derives the status from the clock (far/near/active/completed); only a cancellation is ours to say.
    if event.status is EventStatus.CANCELLED:
        oadr.event_descriptor.event_status = _STATUS_OUT[EventStatus.CANCELLED]
    return oadr


def common_event(payload: Mapping[str, Any], converter: Converter, source: str) -> Event:
    """The common event for one received eiEvent; signals that do not convert raise (460/454)."""
    descriptor = payload["event_descriptor"]
    signals: dict[str, Any] = {}
    for signal in payload.get("event_signals", []):
        intervals = signal.get("intervals", [])
        if len(intervals) != 1:
            raise OpenAdrError(INVALID_DATA, f"signal {signal['signal_name']}: only one interval per signal is served")
        scale = (signal.get("measurement") or {}).get("scale") or "none"
        try:
            point = converter.from_signal(
                signal["signal_name"], signal["signal_type"], intervals[0]["signal_payload"], scale
            )
        except ConversionError as error:
            raise OpenAdrError.of(error) from None
        signals[point.name] = point.value
    period = payload.get("active_period") or {}
    start = period.get("dtstart") or datetime.now(UTC)
    if not isinstance(start, datetime):  # openleadr leaves a time it cannot read as text
        raise OpenAdrError(INVALID_DATA, f"dtstart {start!r}: only UTC times (ending in Z) are read")
    duration = period.get("duration") or timedelta(0)
    # A negative duration would read as "no end" (Event.end); one ending past year 9999 breaks wherever the end is used.
    if duration < timedelta(0) or duration > datetime.max.replace(tzinfo=UTC) - start:
        raise OpenAdrError(INVALID_DATA, f"event {descriptor['event_id']}: duration {duration} is out of range")
    resources = payload.get("targets_by_type", {}).get("resource_id", [])
    return Event(
        event_id=descriptor["event_id"],
        modification=int(descriptor["modification_number"]),
        signals=signals,
        start=start,
        duration=duration,
        status=_STATUS_IN.get(descriptor.get("event_status", "far"), EventStatus.PENDING),
        source=source,
        targets=tuple(resources),
    )


# --- the VEN ----------------------------------------------------------------------------------------


@dataclass
class _Applied:
    modification: int
    # (status code, answer): a future shared by repeated deliveries while it is being applied
    reply: asyncio.Future[tuple[int, EventReply]] | tuple[int, EventReply]
    kept_until: datetime | None = None  # None while it is being applied, or for an event without an end


class AppliedVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    modification: int
    code: int
    opt: Opt
    reason: str = ""
    kept_until: AwareDatetime | None  # forgotten after this; None: the event has no end, kept until cancelled


class VenState(BaseModel):
    """The VEN's state file: the event versions it applied and its answers, kept across restarts."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["sgam-ven-state/2"] = "sgam-ven-state/2"
    events: dict[str, AppliedVersion] = {}


@dataclass
class _ReportRequest:
    request_id: str
    r_ids: tuple[str, ...]
    subscriptions: list[Any] = field(default_factory=list)


class Ven:
    """The VEN role: registers with one VTN, receives its events, reports, opts in and out.

    ``resources`` are the VEN's resources (the DERs behind it), each with the DataStore that holds
    its common-named points; every point the conversion table can report becomes a report item
    with rID ``<resource>/<common name>``. ``on_event`` decides and applies each new event version.

    The VEN remembers each event's applied version and its answer until the event has ended plus
    ``retention`` (default one hour): a VTN that sends an event again within that window gets the
    first answer. A cancelled or completed event counts as ended when that version was answered (or
    at its scheduled end, if later); an event that could not be read, when it was refused; an event
    without an end (zero duration) is kept until it is cancelled. Ended records are dropped whenever
    a new version is answered, so memory and the state file hold only live and recent events. A
    version delivered again after it was forgotten reaches ``on_event`` once more, as a new one; the
    EMS does not set anything for an event whose period is over (see sgam.platform.ems). ``clock``
    gives the time these windows are measured in.
    """

    REPORT_SPECIFIER = "sgam-telemetry"

    def __init__(
        self,
        transport: Transport,
        *,
        ven_id: str,
        vtn: str,
        converter: Converter,
        resources: Mapping[str, DataStore],
        on_event: EventHandler,
        ven_name: str = "",
        grid: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
        state: Path | None = None,
        retention: timedelta = timedelta(hours=1),
        clock: Clock = utc_now,
    ) -> None:
        self.transport = transport
        self.ven_id = ven_id
        self.ven_name = ven_name or ven_id
        self.vtn = vtn  # full JID of the VTN
        self.converter = converter
        self.resources = dict(resources)
        self.on_event = on_event
        self.timeout = timeout  # per request, however often the transport sends it again meanwhile
        # The power attributes OpenADR attaches to power items (oadr_power_20b.xsd PowerAttributesType).
        self.grid = dict(grid or {"hertz": 50, "voltage": 230, "ac": True})
        self.registration_id: str | None = None
        self.state = state
        self.retention = retention
        self.clock = clock
        self._applied: dict[str, _Applied] = {
            event_id: _Applied(v.modification, (v.code, EventReply(event_id, v.modification, v.opt, v.reason)),
                               v.kept_until)
            for event_id, v in (jsonfile.read_state(VenState, state).events.items() if state else ())
        }
        # (kept until, event id, modification), earliest first: what to forget next, without a scan
        self._expiries = [(known.kept_until, event_id, known.modification)
                          for event_id, known in self._applied.items() if known.kept_until is not None]
        heapq.heapify(self._expiries)
        self._forget_ended()  # what ended while the VEN was down
        self._reports: dict[str, _ReportRequest] = {}
        self._pending: dict[str, DataPoint] = {}  # rID -> latest changed point not yet reported
        self._flush: asyncio.Task[None] | None = None
        self.reregistration: asyncio.Task[str] | None = None  # running after the VTN asked for it
        self._sequence = itertools.count(1)

    def serve(self) -> None:
        """Answer the VTN's pushes (events, report requests, re-registration) on the transport."""
        handlers = {
            "oadrDistributeEvent": self._on_distribute_event,
            "oadrCreateReport": self._on_create_report,
            "oadrCancelReport": self._on_cancel_report,
            "oadrRegisterReport": self._on_register_report,
            "oadrRequestReregistration": self._on_reregistration,
            "oadrCancelPartyRegistration": self._on_cancel_registration,
        }
        self.transport.serve(OADR_NS, _served(handlers, self.ven_id), allow=[_bare(self.vtn)])

    async def _call(self, message_type: str, expected: str, **payload: Any) -> dict[str, Any]:
        return await _exchange(self.transport, self.vtn, message_type, expected, payload, self.timeout)

    async def register(self) -> str:
        """Discover the VTN, register over XMPP and register the telemetry report; returns the registration id."""
        features, items = await self.transport.discover(self.vtn)
        if FEATURE not in features or not set(NODES) <= {node for _, node in items}:
            raise OpenAdrError(NOT_RECOGNIZED, f"{self.vtn} does not offer the OpenADR 2.0b services over XMPP")
        answer = await self._call(
            "oadrCreatePartyRegistration",
            "oadrCreatedPartyRegistration",
            request_id=_new_id(),
            ven_id=self.ven_id,
            ven_name=self.ven_name,
            profile_name="2.0b",
            transport_name="xmpp",
            transport_address=self.transport.jid,
            report_only=False,
            xml_signature=False,
            http_pull_model=False,
        )
        self.registration_id = answer["registration_id"]
        await self._call(
            "oadrRegisterReport",
            "oadrRegisteredReport",
            request_id=_new_id(),
            ven_id=self.ven_id,
            reports=[self._telemetry_metadata()],
        )
        return str(self.registration_id)

    def _items(self) -> dict[str, tuple[str, str]]:
        """rID -> (resource, common name) for every reportable point of every resource."""
        return {
            f"{resource}/{row.common}": (resource, row.common)
            for resource, store in self.resources.items()
            for row in self.converter.table.openadr_reports
            if row.common in store
        }

    def _telemetry_metadata(self) -> dict[str, Any]:
        descriptions = []
        for r_id, (resource, name) in self._items().items():
            row = self.converter.report_row(name)
            measurement = row.measurement
            if row.item_name.startswith("power"):
                measurement["power_attributes"] = self.grid
            descriptions.append(
                {
                    "r_id": r_id,
                    "report_data_source": {"resource_id": resource},
                    "report_type": row.report_type,
                    "reading_type": row.reading_type,
                    "measurement": measurement,
                    "sampling_rate": {"min_period": timedelta(seconds=1), "max_period": timedelta(hours=1),
                                      "on_change": True},
                }
            )
        return {
            "report_specifier_id": self.REPORT_SPECIFIER,
            "report_name": "METADATA_TELEMETRY_USAGE",
            "report_descriptions": descriptions,
            "created_date_time": datetime.now(UTC),
            "duration": timedelta(hours=1),
        }

    # events

    async def _on_distribute_event(self, sender: str, payload: dict[str, Any]) -> str:
        responses = []
        for raw in payload.get("events", []):
            descriptor = raw["event_descriptor"]
            event_id, modification = descriptor["event_id"], int(descriptor["modification_number"])
            code, reply = await self._apply_once(sender, raw, event_id, modification)
            responses.append(
                {
                    "response_code": code,
                    "response_description": reply.reason or "OK",
                    "request_id": payload["request_id"],
                    "event_id": event_id,
                    "modification_number": modification,
                    "opt_type": reply.opt.value,
                }
            )
        return encode(
            "oadrCreatedEvent",
            response=_response(OK, "OK", payload["request_id"]),
            ven_id=self.ven_id,
            event_responses=responses,
        )

    async def _apply_once(
        self, sender: str, raw: dict[str, Any], event_id: str, modification: int
    ) -> tuple[int, EventReply]:
        known = self._applied.get(event_id)
        if known is not None and known.modification == modification:  # a repeated delivery: the first answer
            return known.reply if isinstance(known.reply, tuple) else await asyncio.shield(known.reply)
        if known is not None and known.modification > modification:
            text = f"modification {modification} is older than {known.modification}, already applied"
            return OUT_OF_SEQUENCE, EventReply(event_id, modification, Opt.OUT, text)
        answer: asyncio.Future[tuple[int, EventReply]] = asyncio.get_running_loop().create_future()
        self._applied[event_id] = _Applied(modification, answer)
        event: Event | None = None
        try:
            event = common_event(raw, self.converter, sender)
            self._check_targets(raw, event)
            answer.set_result((OK, await self.on_event(event)))
        except ServiceError as error:
            refusal = OpenAdrError.of(error)
            log.warning("event %s/%s refused: %s", event_id, modification, refusal)
            answer.set_result((refusal.code, EventReply(event_id, modification, Opt.OUT, refusal.text)))
        except BaseException as error:
            answer.set_exception(error)
            del self._applied[event_id]  # not applied: a repeated delivery may try again
            raise
        kept_until = self._kept_until(event)
        self._applied[event_id] = _Applied(modification, answer.result(), kept_until)
        if kept_until is not None:
            heapq.heappush(self._expiries, (kept_until, event_id, modification))
        self._forget_ended()
        self._save()
        return answer.result()

    def _kept_until(self, event: Event | None) -> datetime | None:
        """Until when a version's answer is remembered: see the class docstring."""
        now = self.clock()
        end = event.end if event is not None else now
        if event is not None and event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
            end = max(end or now, now)
        if end is None:
            return None
        return min(end, datetime.max.replace(tzinfo=UTC) - self.retention) + self.retention  # no date past 9999

    def _forget_ended(self) -> None:
        now = self.clock()
        while self._expiries and self._expiries[0][0] <= now:
            kept_until, event_id, modification = heapq.heappop(self._expiries)
            known = self._applied.get(event_id)
            # a later version of the event has its own entry in the heap; this one is stale
            if known is not None and (known.modification, known.kept_until) == (modification, kept_until):
                del self._applied[event_id]

    def _save(self) -> None:
        """Keep the answered versions in the state file (after applying: a crash in between re-applies once)."""
        if self.state is None:
            return
        events = {
            event_id: AppliedVersion(modification=known.modification, code=known.reply[0], opt=known.reply[1].opt,
                                     reason=known.reply[1].reason, kept_until=known.kept_until)
            for event_id, known in self._applied.items()
            if isinstance(known.reply, tuple)
        }
        jsonfile.write(self.state, VenState(events=events))

    def _check_targets(self, raw: Mapping[str, Any], event: Event) -> None:
        """An event for another VEN, or for resources this VEN does not have, is refused (462), never guessed."""
        ven_ids = raw.get("targets_by_type", {}).get("ven_id", [])
        if ven_ids and self.ven_id not in ven_ids:
            raise OpenAdrError(TARGET_MISMATCH, f"the event targets VENs {', '.join(ven_ids)}, not {self.ven_id}")
        unknown = [resource for resource in event.targets if resource not in self.resources]
        if unknown:
            raise OpenAdrError(TARGET_MISMATCH, f"this VEN has no resources {', '.join(unknown)}")

    async def opt(self, event_id: str, modification: int, opt: Opt, reason: str = "participating") -> str:
        """Tell the VTN (EiOpt) that the VEN takes part in an event or not; returns the opt id."""
        opt_id = _new_id()
        answer = await self._call(
            "oadrCreateOpt",
            "oadrCreatedOpt",
            request_id=_new_id(),
            opt_id=opt_id,
            opt_type=opt.value,
            opt_reason=reason,
            ven_id=self.ven_id,
            created_date_time=datetime.now(UTC),
            event_id=event_id,
            modification_number=modification,
        )
        return str(answer["opt_id"])

    async def cancel_opt(self, opt_id: str) -> None:
        await self._call("oadrCancelOpt", "oadrCanceledOpt", request_id=_new_id(), opt_id=opt_id, ven_id=self.ven_id)

    # reports

    async def _on_create_report(self, sender: str, payload: dict[str, Any]) -> str:
        items = self._items()
        requested = []
        for request in payload.get("report_requests", []):  # all checked before any is taken on
            specifier = request["report_specifier"]
            r_ids = tuple(p["r_id"] for p in specifier.get("specifier_payloads", []))
            unknown = [r_id for r_id in r_ids if r_id not in items]
            if specifier["report_specifier_id"] != self.REPORT_SPECIFIER or unknown:
                text = f"unknown report {specifier['report_specifier_id']} or items {', '.join(unknown)}"
                return encode(
                    "oadrCreatedReport",
                    response=_response(REPORT_NOT_SUPPORTED, text, payload["request_id"]),
                    ven_id=self.ven_id,
                    pending_reports=[],
                )
            requested.append(_ReportRequest(request["report_request_id"], r_ids))
        accepted = []
        for report in requested:
            for r_id in report.r_ids:
                resource, name = items[r_id]
                report.subscriptions.append(
                    self.resources[resource].subscribe(self._listener(r_id), [name])
                )
                current = self.resources[resource].get(name)
                if current is not None:
                    self._changed(r_id, current)
            self._cancel(report.request_id)
            self._reports[report.request_id] = report
            accepted.append({"report_request_id": report.request_id})
        return encode(
            "oadrCreatedReport",
            response=_response(OK, "OK", payload["request_id"]),
            ven_id=self.ven_id,
            pending_reports=accepted,
        )

    def _cancel(self, request_id: str) -> bool:
        report = self._reports.pop(request_id, None)
        for subscription in report.subscriptions if report else ():
            subscription.cancel()
        return report is not None

    async def _on_cancel_report(self, sender: str, payload: dict[str, Any]) -> str:
        request_ids = payload["report_request_id"]
        cancelled = [self._cancel(r) for r in (request_ids if isinstance(request_ids, list) else [request_ids])]
        code = OK if all(cancelled) else INVALID_ID
        return encode(
            "oadrCanceledReport",
            response=_response(code, "OK" if code == OK else "unknown report request", payload["request_id"]),
            ven_id=self.ven_id,
            pending_reports=[],
        )

    async def _on_register_report(self, sender: str, payload: dict[str, Any]) -> str:
        # The VTN may describe its own reports; this VEN requests none of them.
        return encode(
            "oadrRegisteredReport", response=_response(OK, "OK", payload["request_id"]), ven_id=self.ven_id
        )

    def _listener(self, r_id: str) -> Listener:
        return lambda point: self._changed(r_id, point)

    def _changed(self, r_id: str, point: DataPoint) -> None:
        """Queue a changed point; one oadrUpdateReport carries everything that changed meanwhile."""
        self._pending[r_id] = point
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._send_updates())

    async def _send_updates(self) -> None:
        await asyncio.sleep(0)  # let the other changes of the same step join this report
        while self._pending:
            points, self._pending = self._pending, {}
            for request in list(self._reports.values()):
                intervals = []
                for r_id in request.r_ids:
                    if r_id in points:
                        _, value = self.converter.to_report(points[r_id].name, points[r_id].value)
                        intervals.append(
                            {"dtstart": points[r_id].timestamp, "report_payload": {"r_id": r_id, "value": value}}
                        )
                if intervals:
                    await self._update_report(request.request_id, intervals)

    async def _update_report(self, request_id: str, intervals: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        report = {
            "report_id": f"{self.ven_id}-{next(self._sequence)}",
            "report_request_id": request_id,
            "report_specifier_id": self.REPORT_SPECIFIER,
            "report_name": "TELEMETRY_USAGE",
            "created_date_time": now,
            "dtstart": min(i["dtstart"] for i in intervals),
            "duration": timedelta(0),
            "intervals": intervals,
        }
        try:
            await self._call("oadrUpdateReport", "oadrUpdatedReport", request_id=_new_id(), ven_id=self.ven_id,
                             reports=[report])
        except Exception:  # reporting must not stop on one lost update; the next change reports again
            log.exception("oadrUpdateReport for request %s failed", request_id)

    # registration

    async def _on_reregistration(self, sender: str, payload: dict[str, Any]) -> str:
        # Answer first; the new registration is a request of the VEN's own, once this exchange is over.
        self.reregistration = asyncio.get_running_loop().create_task(self.register())
        return encode("oadrResponse", response=_response(OK, "OK", payload.get("request_id")), ven_id=self.ven_id)

    async def _on_cancel_registration(self, sender: str, payload: dict[str, Any]) -> str:
        matches, answer = _canceled_registration(payload, self.registration_id, self.ven_id)
        if matches:
            self.registration_id = None
            for request_id in list(self._reports):
                self._cancel(request_id)
        return answer


# --- the VTN ----------------------------------------------------------------------------------------


@dataclass
class Registration:
    """A VEN registered with the VTN."""

    ven_id: str
    registration_id: str
    address: str  # the VEN's full JID, where the VTN pushes
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # rID -> report description
    opts: dict[str, dict[str, Any]] = field(default_factory=dict)  # opt id -> oadrCreateOpt payload


class _VtnSubscription:
    def __init__(self, vtn: Vtn, peer: str, request_id: str) -> None:
        self._vtn, self._peer, self.request_id = vtn, peer, request_id

    async def cancel(self) -> None:
        await self._vtn._cancel_report(self._peer, self.request_id)


class Vtn:
    """The VTN role: registers VENs, pushes events to them, asks for and receives their reports.

    Implements the common services :class:`~sgam.platform.services.Events` (``distribute``) and
    :class:`~sgam.platform.services.Reporting` (``subscribe``) with each VEN's bare JID as peer.
    Report points are named ``<resource>/<common name>``.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        vtn_id: str,
        converter: Converter,
        vens: Iterable[str],
        market_context: str = "http://sgam.example/market/dr",
        timeout: float = 10.0,
    ) -> None:
        self.transport = transport
        self.vtn_id = vtn_id
        self.converter = converter
        self.allowed = [_bare(v) for v in vens]
        self.market_context = market_context
        self.timeout = timeout
        self.registrations: dict[str, Registration] = {}  # by the VEN's bare JID
        self._subscriptions: dict[str, tuple[str, ReportHandler]] = {}  # report request id -> (peer, handler)

    def serve(self) -> None:
        handlers = {
            "oadrQueryRegistration": self._on_query_registration,
            "oadrCreatePartyRegistration": self._on_create_registration,
            "oadrCancelPartyRegistration": self._on_cancel_registration,
            "oadrRegisterReport": self._on_register_report,
            "oadrUpdateReport": self._on_update_report,
            "oadrCreateOpt": self._on_create_opt,
            "oadrCancelOpt": self._on_cancel_opt,
        }
        self.transport.serve(OADR_NS, _served(handlers, None), allow=self.allowed)
        self.transport.advertise([FEATURE], [(self.transport.jid, node) for node in NODES])

    def _registered(self, sender: str, payload: Mapping[str, Any]) -> Registration | None:
        registration = self.registrations.get(sender)
        if registration is None or payload.get("ven_id") not in (None, registration.ven_id):
            return None
        return registration

    def _refusal(self, message_type: str, payload: Mapping[str, Any], **extra: Any) -> str:
        return encode(
            message_type,
            response=_response(NOT_REGISTERED, "the VEN is not registered", payload.get("request_id")),
            ven_id=payload.get("ven_id"),
            **extra,
        )

    def _registration_answer(self, code: int, text: str, request_id: str | None, reg: Registration | None) -> str:
        return encode(
            "oadrCreatedPartyRegistration",
            response=_response(code, text, request_id),
            registration_id=reg.registration_id if reg else None,
            ven_id=reg.ven_id if reg else None,
            vtn_id=self.vtn_id,
            profiles=[{"profile_name": "2.0b", "transports": [{"transport_name": "xmpp"}]}],
        )

    async def _on_query_registration(self, sender: str, payload: dict[str, Any]) -> str:
        return self._registration_answer(OK, "OK", payload.get("request_id"), self.registrations.get(sender))

    async def _on_create_registration(self, sender: str, payload: dict[str, Any]) -> str:
        request_id = payload.get("request_id")
        address = payload.get("transport_address") or ""
        if payload.get("transport_name") != "xmpp" or _bare(address) != sender:
            text = f"register with transport xmpp and your own JID as address, not {address!r}"
            return self._registration_answer(NOT_ALLOWED, text, request_id, None)
        known = self.registrations.get(sender)
        claimed = payload.get("registration_id")  # given when a VEN registers again
        if claimed is not None and (known is None or claimed != known.registration_id):
            return self._registration_answer(INVALID_ID, f"unknown registration id {claimed!r}", request_id, None)
        registration = Registration(
            ven_id=payload.get("ven_id") or sender,
            registration_id=known.registration_id if known else _new_id(),
            address=address,
            items=known.items if known else {},
        )
        self.registrations[sender] = registration
        return self._registration_answer(OK, "OK", request_id, registration)

    async def _on_cancel_registration(self, sender: str, payload: dict[str, Any]) -> str:
        registration = self._registered(sender, payload)
        if registration is None:
            return self._refusal("oadrCanceledPartyRegistration", payload)
        matches, answer = _canceled_registration(payload, registration.registration_id, registration.ven_id)
        if matches:
            self._forget(sender)
        return answer

    async def _on_register_report(self, sender: str, payload: dict[str, Any]) -> str:
        registration = self._registered(sender, payload)
        if registration is None:
            return self._refusal("oadrRegisteredReport", payload)
        for report in payload.get("reports", []):
            for description in report.get("report_descriptions", []):
                registration.items[description["r_id"]] = dict(description, report_name=report["report_name"])
        return encode(
            "oadrRegisteredReport", response=_response(OK, "OK", payload["request_id"]), ven_id=registration.ven_id
        )

    async def _on_update_report(self, sender: str, payload: dict[str, Any]) -> str:
        registration = self._registered(sender, payload)
        if registration is None:
            return self._refusal("oadrUpdatedReport", payload)
        try:
            reports = [self._common_report(sender, registration, report) for report in payload.get("reports", [])]
        except OpenAdrError as error:
            return encode(
                "oadrUpdatedReport",
                response=_response(error.code, error.text, payload["request_id"]),
                ven_id=registration.ven_id,
            )
        for handler, report in reports:
            await handler(report)
        return encode(
            "oadrUpdatedReport", response=_response(OK, "OK", payload["request_id"]), ven_id=registration.ven_id
        )

    def _common_report(self, sender: str, registration: Registration,
                       report: dict[str, Any]) -> tuple[ReportHandler, Report]:
        """The subscriber and the common report for one received report; one this VEN was never asked for is 452."""
        request_id = str(report.get("report_request_id", ""))
        subscription = self._subscriptions.get(request_id)
        if subscription is None or subscription[0] != sender:  # never requested, cancelled, or another VEN's
            raise OpenAdrError(INVALID_ID, f"report request {request_id!r} is not one this VTN made of {sender}")
        points = []
        for interval in report.get("intervals", []):
            r_id = interval["report_payload"]["r_id"]
            description = registration.items.get(r_id)
            if description is None:
                raise OpenAdrError(INVALID_ID, f"rID {r_id!r} was never registered")
            measurement = description.get("measurement") or {}
            try:
                point = self.converter.from_report(
                    report["report_name"],
                    measurement.get("name", ""),
                    interval["report_payload"]["value"],
                    measurement.get("scale") or "none",
                )
            except ConversionError as error:
                raise OpenAdrError(REPORT_NOT_SUPPORTED, error.text) from None
            resource = description.get("report_data_source", {}).get("resource_id", "")
            points.append(DataPoint(f"{resource}/{point.name}", point.value, point.unit,
                                    timestamp=interval.get("dtstart") or datetime.now(UTC)))
        return subscription[1], Report(sender, tuple(points), str(report.get("report_id", "")))

    async def _on_create_opt(self, sender: str, payload: dict[str, Any]) -> str:
        registration = self._registered(sender, payload)
        if registration is None:
            return self._refusal("oadrCreatedOpt", payload, opt_id=payload.get("opt_id"))
        registration.opts[payload["opt_id"]] = payload
        return encode("oadrCreatedOpt", response=_response(OK, "OK", payload["request_id"]),
                      opt_id=payload["opt_id"])

    async def _on_cancel_opt(self, sender: str, payload: dict[str, Any]) -> str:
        registration = self._registered(sender, payload)
        if registration is None:
            return self._refusal("oadrCanceledOpt", payload, opt_id=payload.get("opt_id"))
        code = OK if registration.opts.pop(payload["opt_id"], None) is not None else INVALID_ID
        return encode(
            "oadrCanceledOpt",
            response=_response(code, "OK" if code == OK else "unknown opt", payload["request_id"]),
            opt_id=payload["opt_id"],
        )

    def _registration(self, peer: str) -> Registration:
        try:
            return self.registrations[_bare(peer)]
        except KeyError:
            raise OpenAdrError(NOT_REGISTERED, f"{peer} is not registered with this VTN") from None

    async def _call(self, peer: str, message_type: str, expected: str, **payload: Any) -> dict[str, Any]:
        address = self._registration(peer).address
        return await _exchange(self.transport, address, message_type, expected, payload, self.timeout)

    async def request_reregistration(self, peer: str) -> None:
        """Ask a VEN to register again (it answers, then sends oadrCreatePartyRegistration)."""
        await self._call(peer, "oadrRequestReregistration", "oadrResponse", ven_id=self._registration(peer).ven_id)

    async def cancel_registration(self, peer: str) -> None:
        """End a VEN's registration; the VTN forgets it once the VEN confirmed."""
        registration = self._registration(peer)
        await self._call(
            peer,
            "oadrCancelPartyRegistration",
            "oadrCanceledPartyRegistration",
            request_id=_new_id(),
            registration_id=registration.registration_id,
            ven_id=registration.ven_id,
        )
        self._forget(_bare(peer))

    def _forget(self, peer: str) -> None:
        """End a VEN's registration, and with it the reports asked of it (the VEN drops them too)."""
        del self.registrations[peer]
        for request_id in [r for r, (subscriber, _) in self._subscriptions.items() if subscriber == peer]:
            del self._subscriptions[request_id]

    async def distribute(self, peer: str, event: Event) -> EventReply:
        """Push one event (a new one, a modification or a cancellation) and return the VEN's answer."""
        registration = self._registration(peer)
        request_id = _new_id()
        try:
            oadr = oadr_event(event, self.converter, self.market_context, registration.ven_id)
        except ConversionError as error:
            raise OpenAdrError.of(error) from None
        answer = await self._call(
            peer, "oadrDistributeEvent", "oadrCreatedEvent", request_id=request_id, vtn_id=self.vtn_id, events=[oadr]
        )
        for response in answer.get("event_responses", []):
            if (response["event_id"], int(response["modification_number"])) == event.key:
                code = int(response["response_code"])
                if code != OK:
                    raise OpenAdrError(code, str(response.get("response_description", "")))
                reason = str(response.get("response_description") or "")
                return EventReply(event.event_id, event.modification, Opt(response["opt_type"]), reason)
        raise OpenAdrError(INVALID_DATA, f"{peer} answered without a response to event {event.event_id}")

    async def subscribe(self, peer: str, names: Sequence[str], handler: ReportHandler) -> _VtnSubscription:
        """Ask the VEN (oadrCreateReport) to report the items named ``<resource>/<common name>``."""
        registration = self._registration(peer)
        unknown = [name for name in names if name not in registration.items]
        if unknown:
            raise OpenAdrError(REPORT_NOT_SUPPORTED, f"{peer} registered no report items {', '.join(unknown)}")
        request_id = _new_id()
        self._subscriptions[request_id] = (_bare(peer), handler)
        specifier = {
            "report_specifier_id": Ven.REPORT_SPECIFIER,
            "granularity": timedelta(0),
            "report_back_duration": timedelta(0),
            "specifier_payloads": [
                {"r_id": name, "reading_type": registration.items[name]["reading_type"]} for name in names
            ],
        }
        try:
            await self._call(
                peer,
                "oadrCreateReport",
                "oadrCreatedReport",
                request_id=_new_id(),
                ven_id=registration.ven_id,
                report_requests=[{"report_request_id": request_id, "report_specifier": specifier}],
            )
        except BaseException:
            del self._subscriptions[request_id]
            raise
        return _VtnSubscription(self, peer, request_id)

    async def _cancel_report(self, peer: str, request_id: str) -> None:
        registration = self._registration(peer)
        self._subscriptions.pop(request_id, None)
        await self._call(
            peer,
            "oadrCancelReport",
            "oadrCanceledReport",
            request_id=_new_id(),
            report_request_id=request_id,
            report_to_follow=False,
            ven_id=registration.ven_id,
        )
