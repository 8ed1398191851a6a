"""The common services: the protocol-neutral API that applications use.

The services follow the three groups into which the platform maps both OpenADR 2.0b and the
IEC 61850 ACSI (the paper's "common services"):

* request/reply -- read and write data points of a peer (:class:`RequestReply`);
* report/event -- subscribe to a peer's reports, publish reports, distribute and receive
  demand-response events (:class:`Reporting`, :class:`Events`);
* control/abort -- select, operate and cancel a control (:class:`Control`).

A protocol binding implements the client-side protocols for its peers and calls the application
through the handler types below when it serves. Publishing is writing: a serving binding reports
the points of its :class:`~sgam.platform.datapoints.DataStore` to its subscribers whenever they
change, so an application publishes a measurement by setting it in the store. The values crossing this API are
:class:`~sgam.platform.datapoints.DataPoint` s addressed by name. Names are the binding's own
addresses (an IEC 61850 object reference, an OpenADR signal or report item) until the conversion
engine translates them into the platform's common names; an application then holds a
:class:`CommonServices` whose peers are reached by common name only, and never learns which
protocol a peer speaks.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from sgam.platform.datapoints import DataPoint, Value


class Reason(enum.Enum):
    """Why a service was refused; each binding maps these onto its protocol's own error codes."""

    UNKNOWN_NAME = "unknown-name"  # no such data point / reference / signal
    WRONG_TYPE = "wrong-type"  # value of the wrong type or unit
    OUT_OF_RANGE = "out-of-range"  # value outside what the target accepts
    NOT_ALLOWED = "not-allowed"  # the sender may not use this service on this name
    NOT_SELECTED = "not-selected"  # operate without the select the control model needs
    NOT_SUPPORTED = "not-supported"  # the peer's protocol has no such service
    INVALID = "invalid"  # malformed request
    UNAVAILABLE = "unavailable"  # peer unreachable or the request timed out
    FAILED = "failed"  # accepted but could not be carried out


class ServiceError(Exception):
    """A common service was refused or failed; ``reason`` says why in protocol-neutral terms."""

    def __init__(self, reason: Reason, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.text}"


# --- report/event ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """Data points a peer sends on its own initiative (an IEC 61850 report, an oadrUpdateReport)."""

    source: str  # the sending peer: an IEC 61850 server by the full JID it was subscribed at, an OpenADR party by bare JID
    points: tuple[DataPoint, ...]
    report_id: str = ""
    sequence: int = 0


class EventStatus(enum.Enum):
    """Life cycle of an event (the OpenADR eventStatus values, without protocol spelling)."""

    PENDING = "pending"  # OpenADR far/near
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Event:
    """A demand-response event: what each named signal should be, for a period.

    ``event_id`` and ``modification`` together identify one version of the event; receivers use
    them to recognise a repeated delivery and apply each version once.
    """

    event_id: str
    modification: int
    signals: Mapping[str, Value]
    start: datetime
    duration: timedelta
    status: EventStatus = EventStatus.PENDING
    source: str = ""
    targets: tuple[str, ...] = ()  # names of the resources the event is meant for; empty = all

    @property
    def key(self) -> tuple[str, int]:
        return (self.event_id, self.modification)

    @property
    def end(self) -> datetime | None:
        """When the event's period is over; None when it has no duration (open-ended: until cancelled).

        OpenADR 2.0b reads a zero duration of the active period as "no end" (openleadr does too)."""
        return self.start + self.duration if self.duration > timedelta(0) else None


Clock = Callable[[], datetime]
"""The time as a device sees it (timezone-aware); injectable so that tests need not wait for hours."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Opt(enum.Enum):
    IN = "optIn"
    OUT = "optOut"


@dataclass(frozen=True)
class EventReply:
    """The receiver's answer to an event: taking part or not, and why."""

    event_id: str
    modification: int
    opt: Opt
    reason: str = ""


# --- the client-side services that bindings implement ---------------------------------------------


@runtime_checkable
class RequestReply(Protocol):
    async def get(self, peer: str, names: Sequence[str]) -> dict[str, DataPoint]:
        """Read the current points of ``names`` from ``peer``."""
        ...

    async def set(self, peer: str, values: Mapping[str, Value]) -> None:
        """Write settings (not controls) on ``peer``; all or nothing as far as the protocol allows."""
        ...


class RemoteSubscription(Protocol):
    async def cancel(self) -> None:
        """Stop the peer's reports for this subscription."""
        ...


ReportHandler = Callable[[Report], Awaitable[None]]


@runtime_checkable
class Reporting(Protocol):
    async def subscribe(self, peer: str, names: Sequence[str], handler: ReportHandler) -> RemoteSubscription:
        """Ask ``peer`` to report changes of ``names``; each report is passed to ``handler``."""
        ...


@runtime_checkable
class Events(Protocol):
    async def distribute(self, peer: str, event: Event) -> EventReply:
        """Send an event (or a new modification or cancellation of it) to ``peer``; return its answer."""
        ...


@runtime_checkable
class Control(Protocol):
    async def select(self, peer: str, name: str, value: Value | None = None) -> None:
        """Reserve the control ``name`` on ``peer`` (select-before-operate; with a value: SelectWithValue)."""
        ...

    async def operate(self, peer: str, name: str, value: Value) -> None:
        """Carry out the control; returns once the peer confirmed it (command termination where defined)."""
        ...

    async def cancel(self, peer: str, name: str) -> None:
        """Abort a selected or pending control."""
        ...


# --- what a serving binding calls in the application ----------------------------------------------

EventHandler = Callable[[Event], Awaitable[EventReply]]
"""Receives an event; its reply (opt in or out) goes back to the sender. Raise ServiceError to refuse."""


# --- the facade applications hold -----------------------------------------------------------------

Binding = RequestReply | Reporting | Events | Control


class CommonServices:
    """Routes each common service to the binding that reaches the peer.

    The application registers once which binding serves which peer (normally done by the device's
    configuration) and from then on calls services by peer and name only.
    """

    def __init__(self) -> None:
        self._bindings: dict[str, Binding] = {}

    def connect(self, peer: str, binding: Binding) -> None:
        self._bindings[peer] = binding

    @property
    def peers(self) -> list[str]:
        return list(self._bindings)

    def _binding(self, peer: str) -> Binding:
        try:
            return self._bindings[peer]
        except KeyError:
            raise ServiceError(Reason.UNAVAILABLE, f"no binding reaches peer {peer!r}") from None

    @staticmethod
    def _unsupported(peer: str, what: str) -> ServiceError:
        return ServiceError(Reason.NOT_SUPPORTED, f"peer {peer!r} does not offer {what}")

    async def get(self, peer: str, names: Sequence[str]) -> dict[str, DataPoint]:
        binding = self._binding(peer)
        if isinstance(binding, RequestReply):
            return await binding.get(peer, names)
        raise self._unsupported(peer, "request/reply")

    async def set(self, peer: str, values: Mapping[str, Value]) -> None:
        binding = self._binding(peer)
        if not isinstance(binding, RequestReply):
            raise self._unsupported(peer, "request/reply")
        await binding.set(peer, values)

    async def subscribe(self, peer: str, names: Sequence[str], handler: ReportHandler) -> RemoteSubscription:
        binding = self._binding(peer)
        if isinstance(binding, Reporting):
            return await binding.subscribe(peer, names, handler)
        raise self._unsupported(peer, "reports")

    async def distribute(self, peer: str, event: Event) -> EventReply:
        binding = self._binding(peer)
        if isinstance(binding, Events):
            return await binding.distribute(peer, event)
        raise self._unsupported(peer, "events")

    async def select(self, peer: str, name: str, value: Value | None = None) -> None:
        await self._control(peer).select(peer, name, value)

    async def operate(self, peer: str, name: str, value: Value) -> None:
        await self._control(peer).operate(peer, name, value)

    async def cancel(self, peer: str, name: str) -> None:
        await self._control(peer).cancel(peer, name)

    def _control(self, peer: str) -> Control:
        binding = self._binding(peer)
        if isinstance(binding, Control):
            return binding
        raise self._unsupported(peer, "control")
