"""IEC 61850 over the platform's XMPP Endpoint: a server node hosting a data model, and a client.

`ServerNode` announces the ACSI namespace as a service discovery feature (one item per logical
device, node = its name), answers ACSI requests (IQ set, payload in `acsi.NAMESPACE`) from the JIDs it allows
and sends reports and command terminations to their owner's full JID, in order: by default as IQ
sets, which the Endpoint retries until acknowledged (so they survive a restart of the XMPP server),
or as best-effort `<message>` stanzas (`unsolicited="message"`). Each client has its own queue; a
client that stays unreachable for `delivery_timeout` loses its report control blocks and selections,
as when an association ends -- unless it has called meanwhile from another full JID (it restarted
with another resource), where what waited for it then goes. A malformed payload is answered with
`bad-request` and an ACSI ServiceError; the node goes on serving.

`AcsiClient` calls ACSI services on servers. Besides `call` (any ACSI request), it implements the
common services `RequestReply`, `Reporting` and `Control` of `sgam.platform.services`, with names
that are IEC 61850 object references: `LD/LN.DO.DA`, or `LN.DO.DA` in the server's only logical
device, optionally with the functional constraint appended in brackets (`MMXU1.TotW.mag.f[MX]`);
without it the FC follows from the attribute's name (mag.f is MX, setMag.f SP, stVal ST, ...).
Controls are named by their data object (`DWMX1.ModEna`); `operate` selects first when the
object's ctlModel (read from the server) needs it and, for enhanced security, returns only after
the CommandTermination. Refusals surface as `services.ServiceError` with a protocol-neutral Reason.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sgam.platform.datapoints import DataPoint, Quality, Value
from sgam.platform.iec61850 import acsi
from sgam.platform.iec61850.acsi import AcsiDecodeError, AcsiError, AddCause, DataValue, ServiceErrorKind
from sgam.platform.iec61850.cdc import CDCS, BasicType, CtlModel, Fc
from sgam.platform.iec61850.server import AcsiServer
from sgam.platform.services import Reason, Report, ReportHandler, ServiceError
from sgam.platform.xmpp import Endpoint, RequestFailed, RequestTimeout, StanzaFault, TransportError, current_sender

log = logging.getLogger(__name__)

Unsolicited = Literal["message", "iq"]


def _fault(error: AcsiError) -> StanzaFault:
    return StanzaFault(acsi.CONDITIONS[error.error], error.text, acsi.encode(error.payload))


class ServerNode:
    """An IEC 61850 server on an Endpoint: serves `server` to the bare JIDs in `allow`."""

    def __init__(
        self,
        endpoint: Endpoint,
        server: AcsiServer,
        allow: Iterable[str],
        *,
        unsolicited: Unsolicited = "iq",
        delivery_timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.server = server
        self.unsolicited = unsolicited
        self.delivery_timeout = delivery_timeout  # how long an IQ report is retried before it is dropped
        # One queue and sender per client: in order for each, and a client that is away (its IQs
        # retried until delivery_timeout) holds up no one else.
        self._queues: dict[str, asyncio.Queue[acsi.Unsolicited]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._started = False
        self._addresses: dict[str, str] = {}  # bare JID -> the full JID it last called from
        server.outbox = self._post
        endpoint.serve(acsi.NAMESPACE, self._handle, allow)
        # XEP-0030: a client learns that this JID is an IEC 61850 server, and which logical devices it has.
        ied = server.model.ied
        endpoint.advertise([acsi.NAMESPACE], [(endpoint.jid, f"{ied}{ld.inst}") for ld in server.model.logical_devices])

    async def start(self) -> None:
        """Start sending reports and terminations (the endpoint is started by its owner)."""
        self._started = True
        for client in self._queues:
            self._spawn(client)

    async def close(self) -> None:
        await self.server.close()
        self._started = False
        senders = list(self._senders.values())
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        self._senders.clear()

    def _post(self, client: str, message: acsi.Unsolicited) -> None:
        self._queues.setdefault(client, asyncio.Queue()).put_nowait(message)
        if self._started and client not in self._senders:
            self._spawn(client)

    def _spawn(self, client: str) -> None:
        self._senders[client] = asyncio.create_task(self._send_unsolicited(client, self._queues[client]))

    async def _handle(self, sender: str, payload: ET.Element) -> ET.Element:
        self._addresses[sender] = current_sender.get(sender)
        try:
            request = acsi.decode(payload)
        except AcsiDecodeError as error:
            log.warning("malformed ACSI request from %s: %s", sender, error)
            raise _fault(AcsiError(ServiceErrorKind.PARAMETER_VALUE_INCONSISTENT, str(error))) from None
        if not isinstance(request, acsi.Request):
            raise _fault(AcsiError(ServiceErrorKind.CLASS_NOT_SUPPORTED, f"{type(request).__name__} is not a request"))
        try:
            response = await self.server.handle(sender, request)
        except AcsiError as error:
            log.info("refused %s from %s: %s", type(request).__name__, sender, error)
            raise _fault(error) from None
        return acsi.encode(response)

    async def _send_unsolicited(self, client: str, queue: asyncio.Queue[acsi.Unsolicited]) -> None:
        while True:
            message = await queue.get()
            while not await self._send_one(client, message):  # the client came back at another address
                log.info("%s is back at %s: delivering there", client, self._addresses[client])

    async def _send_one(self, client: str, message: acsi.Unsolicited) -> bool:
        """Send one message to the client's last address; False when it called from another one meanwhile."""
        address = self._addresses.get(client, client)  # an IQ needs the full JID
        try:
            if self.unsolicited == "iq":
                await self.endpoint.request(address, acsi.encode(message), self.delivery_timeout)
            else:
                await self.endpoint.send(address, acsi.encode(message))
        except (RequestFailed, RequestTimeout, TransportError) as error:
            if self.unsolicited == "iq" and self._addresses.get(client, client) != address:
                return False
            log.warning("could not deliver %s to %s: %s", type(message).__name__, address, error)
            if self.unsolicited == "iq":
                # Unreachable for delivery_timeout: like a lost association (IEC 61850-7-2), the client
                # loses its report control blocks and selections, and what waits for it is dropped.
                self.server.release(client)
                queue = self._queues[client]
                while not queue.empty():
                    queue.get_nowait()
        except Exception:  # whatever happens to one delivery, the next ones still go out
            log.exception("delivering %s to %s failed", type(message).__name__, address)
        return True


# --- the client ---------------------------------------------------------------------------------

# FC implied by an attribute's name, derived from the CDC catalogue; names under several FCs (q, t)
# must carry the FC explicitly.
_FCS: dict[str, set[Fc]] = {}
for _cdc in CDCS.values():
    for _attribute in _cdc.attributes:
        _FCS.setdefault(_attribute.path, set()).add(_attribute.fc)
_NAME = re.compile(
    r"^(?:(?P<ld>[A-Za-z0-9_]+)/)?(?P<ln>[A-Za-z0-9_]+)\.(?P<do>[A-Za-z0-9_]+)(?:\.(?P<da>[A-Za-z0-9_.]+))?"
    r"(?:\[(?P<fc>[A-Z]{2})\])?$"
)

REASONS: dict[ServiceErrorKind, Reason] = {
    ServiceErrorKind.INSTANCE_NOT_AVAILABLE: Reason.UNKNOWN_NAME,
    ServiceErrorKind.INSTANCE_IN_USE: Reason.NOT_ALLOWED,
    ServiceErrorKind.ACCESS_VIOLATION: Reason.NOT_ALLOWED,
    ServiceErrorKind.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE: Reason.NOT_ALLOWED,
    ServiceErrorKind.PARAMETER_VALUE_INAPPROPRIATE: Reason.OUT_OF_RANGE,
    ServiceErrorKind.PARAMETER_VALUE_INCONSISTENT: Reason.INVALID,
    ServiceErrorKind.CLASS_NOT_SUPPORTED: Reason.NOT_SUPPORTED,
    ServiceErrorKind.INSTANCE_LOCKED_BY_OTHER_CLIENT: Reason.NOT_ALLOWED,
    ServiceErrorKind.CONTROL_MUST_BE_SELECTED: Reason.NOT_SELECTED,
    ServiceErrorKind.TYPE_CONFLICT: Reason.WRONG_TYPE,
    ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT: Reason.UNAVAILABLE,
    ServiceErrorKind.FAILED_DUE_TO_SERVER_CONSTRAINT: Reason.FAILED,
}


def common_error(error: AcsiError) -> ServiceError:
    """The protocol-neutral form of an ACSI refusal."""
    reason = REASONS[error.error]
    if error.add_cause is AddCause.NOT_SUPPORTED:
        reason = Reason.NOT_SUPPORTED
    cause = f" ({error.add_cause.value})" if error.add_cause else ""
    return ServiceError(reason, f"IEC 61850 {error.error.value}{cause}: {error.text}")


def _wire_type(value: Value) -> BasicType:
    if isinstance(value, bool):
        return BasicType.BOOLEAN
    if isinstance(value, int):
        return BasicType.INT64 if not -(2**31) <= value < 2**31 else BasicType.INT32
    if isinstance(value, float):
        return BasicType.FLOAT32
    return BasicType.VISSTRING


_ControlKind = type[acsi.SelectWithValue] | type[acsi.Operate] | type[acsi.Cancel]


@dataclass(frozen=True)
class _Address:
    do_ref: str  # LD/LN.DO
    da: str  # attribute path below the data object ('' for the data object itself)
    fc: Fc | None

    @property
    def ref(self) -> str:
        return f"{self.do_ref}.{self.da}" if self.da else self.do_ref


@dataclass
class _Selection:
    ctl_num: int
    value: DataValue


@dataclass
class _Subscription:
    client: AcsiClient
    peer: str
    rcbs: list[str]
    wanted: dict[tuple[str, Fc], str]  # (attribute ref, FC) -> the name the application asked for
    handler: ReportHandler
    active: bool = True

    async def cancel(self) -> None:
        """Stop this subscription; a report control block is disabled when no subscription needs it."""
        if not self.active:
            return
        self.active = False
        for rcb in self.rcbs:
            sharing = self.client._subscriptions.get((_bare(self.peer), rcb), [])
            if self in sharing:
                sharing.remove(self)
            if not sharing:
                self.client._subscriptions.pop((_bare(self.peer), rcb), None)
                await self.client._common(acsi.SetURCBValues(rcb, rpt_ena=False), self.peer)


@dataclass
class AcsiClient:
    """Calls IEC 61850 servers over `endpoint`, each by its full JID; takes reports and command
    terminations from the bare JIDs in `servers` only."""

    endpoint: Endpoint
    servers: Iterable[str]
    timeout: float = 10.0
    termination_timeout: float = 30.0
    _ctl_nums: itertools.cycle[int] = field(default_factory=lambda: itertools.cycle(range(256)), init=False)
    _devices: dict[str, list[str]] = field(default_factory=dict, init=False)
    _ctl_models: dict[tuple[str, str], CtlModel] = field(default_factory=dict, init=False)
    _selections: dict[tuple[str, str], _Selection] = field(default_factory=dict, init=False)
    _terminations: dict[tuple[str, str, int], asyncio.Future[acsi.CommandTermination]] = field(
        default_factory=dict, init=False
    )
    # by (server's bare JID, report control block)
    _subscriptions: dict[tuple[str, str], list[_Subscription]] = field(default_factory=dict, init=False)
    _operating: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.servers = frozenset(self.servers)
        self.endpoint.on_message(acsi.NAMESPACE, self._on_message, self.servers)
        self.endpoint.serve(acsi.NAMESPACE, self._on_request, self.servers)

    # --- ACSI ---------------------------------------------------------------------------------

    async def call(self, peer: str, request: acsi.Request) -> acsi.Response:
        """One ACSI service on `peer`; AcsiError if it refuses or cannot be reached."""
        try:
            answer = await self.endpoint.request(peer, acsi.encode(request), self.timeout)
        except RequestFailed as failure:
            if failure.payload is not None:
                try:
                    error = acsi.decode(failure.payload)
                except AcsiDecodeError:
                    error = None
                if isinstance(error, acsi.ServiceError):
                    raise AcsiError(error.error, error.text, error.add_cause) from None
            kind = (
                ServiceErrorKind.ACCESS_VIOLATION
                if failure.condition in ("forbidden", "not-authorized")
                else ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT
            )
            raise AcsiError(kind, f"{peer} answered {failure}") from None
        except (RequestTimeout, TransportError) as failure:
            raise AcsiError(ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT, f"{peer}: {failure}") from None
        except ValueError as wrong:  # e.g. a bare JID, which the XMPP server would answer for the account
            raise AcsiError(ServiceErrorKind.PARAMETER_VALUE_INCONSISTENT, str(wrong)) from None
        if answer is None:
            raise AcsiError(ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT, f"{peer} sent an empty result")
        try:
            response = acsi.decode(answer)
        except AcsiDecodeError as error:
            raise AcsiError(ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT, f"{peer}: {error}") from None
        expected = f"{type(request).__name__}Response"
        if not isinstance(response, acsi.Response) or type(response).__name__ != expected:
            raise AcsiError(
                ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT,
                f"{peer} answered {type(request).__name__} with {type(response).__name__}, not {expected}",
            )
        return response

    async def _common(self, request: acsi.Request, peer: str) -> acsi.Response:
        try:
            return await self.call(peer, request)
        except AcsiError as error:
            raise common_error(error) from None

    # --- unsolicited from servers -----------------------------------------------------------------

    async def _on_message(self, sender: str, payload: ET.Element) -> None:
        try:
            message = acsi.decode(payload)
        except AcsiDecodeError as error:
            log.warning("dropped a malformed ACSI message from %s: %s", sender, error)
            return
        await self._take(sender, message)

    async def _on_request(self, sender: str, payload: ET.Element) -> None:
        try:
            message = acsi.decode(payload)
        except AcsiDecodeError as error:
            raise StanzaFault("bad-request", str(error)) from None
        if not await self._take(sender, message):
            raise StanzaFault("feature-not-implemented", "this client takes reports and command terminations only")

    async def _take(self, sender: str, message: acsi.Message) -> bool:
        if isinstance(message, acsi.CommandTermination):
            waiter = self._terminations.get((sender, message.ref, message.ctl_num))
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            return True
        if isinstance(message, acsi.Report):
            for subscription in list(self._subscriptions.get((sender, message.ref), ())):
                await self._deliver(subscription, message)
            return True
        log.warning("ignored %s from %s", type(message).__name__, sender)
        return False

    async def _deliver(self, subscription: _Subscription, report: acsi.Report) -> None:
        points = []
        for entry in report.entries:
            values = {v.name: v for v in entry.values}
            quality = values.get("q")
            stamp = values.get("t")
            for (ref, fc), name in subscription.wanted.items():
                if fc is not entry.fc or not _within(ref, entry.ref):
                    continue
                value = values.get(ref[len(entry.ref) + 1 :])  # '' when the member is the attribute itself
                if value is not None:
                    points.append(_point(name, value, quality, stamp))
        if points:
            try:
                await subscription.handler(Report(subscription.peer, tuple(points), report.rpt_id, report.seq_num))
            except Exception:
                log.exception("report handler failed on %s from %s", report.ref, subscription.peer)

    # --- names ------------------------------------------------------------------------------------

    async def _address(self, peer: str, name: str, *, attribute: bool = True) -> _Address:
        match = _NAME.match(name)
        if match is None:
            raise ServiceError(Reason.INVALID, f"{name!r} is not an object reference like LD/LN.DO.DA[FC]")
        ld = match["ld"] or await self._only_device(peer)
        da = match["da"] or ""
        if attribute and not da:
            raise ServiceError(
                Reason.INVALID, f"{name!r} names a data object; name one of its attributes (e.g. .mag.f)"
            )
        if not attribute and da:
            raise ServiceError(Reason.INVALID, f"{name!r}: name the controllable data object, without an attribute")
        fc = Fc(match["fc"]) if match["fc"] in Fc.__members__ else None
        if match["fc"] and fc is None:
            raise ServiceError(Reason.INVALID, f"{name!r}: unknown functional constraint {match['fc']}")
        if attribute and fc is None:
            fcs = _FCS.get(da, set())
            if len(fcs) != 1:
                raise ServiceError(Reason.INVALID, f"{name!r}: say which functional constraint, e.g. {name}[MX]")
            [fc] = fcs
        return _Address(f"{ld}/{match['ln']}.{match['do']}", da, fc)

    async def _only_device(self, peer: str) -> str:
        if peer not in self._devices:
            directory = await self._common(acsi.GetServerDirectory(), peer)
            assert isinstance(directory, acsi.GetServerDirectoryResponse)
            self._devices[peer] = list(directory.names)
        devices = self._devices[peer]
        if len(devices) != 1:
            raise ServiceError(Reason.INVALID, f"{peer} has logical devices {devices}: name one (LD/LN.DO.DA)")
        return devices[0]

    # --- request/reply ------------------------------------------------------------------------------

    async def get(self, peer: str, names: Sequence[str]) -> dict[str, DataPoint]:
        points = await asyncio.gather(*(self._get_one(peer, name) for name in names))
        return dict(zip(names, points, strict=True))

    async def _get_one(self, peer: str, name: str) -> DataPoint:
        address = await self._address(peer, name)
        assert address.fc is not None
        answer = await self._common(acsi.GetDataValues(address.do_ref, address.fc), peer)
        assert isinstance(answer, acsi.GetDataValuesResponse)
        values = {v.name: v for v in answer.values}
        if address.da not in values:
            raise ServiceError(Reason.UNKNOWN_NAME, f"{peer} has no {address.ref} [{address.fc.value}]")
        return _point(name, values[address.da], values.get("q"), values.get("t"))

    async def set(self, peer: str, values: Mapping[str, Value]) -> None:
        """Write settings, one SetDataValues per data object (each all or nothing)."""
        by_object: dict[tuple[str, Fc], list[DataValue]] = {}
        for name, value in values.items():
            address = await self._address(peer, name)
            assert address.fc is not None
            by_object.setdefault((address.do_ref, address.fc), []).append(
                DataValue(_wire_type(value), value, address.da)
            )
        for (ref, fc), written in by_object.items():
            await self._common(acsi.SetDataValues(ref, fc, tuple(written)), peer)

    # --- report/event -------------------------------------------------------------------------------

    async def subscribe(self, peer: str, names: Sequence[str], handler: ReportHandler) -> _Subscription:
        """Enable the report control blocks whose data sets hold `names` (with a general interrogation).

        The handler gets the points of `names` only; several subscriptions may share one block."""
        wanted: dict[tuple[str, Fc], str] = {}
        for name in names:
            address = await self._address(peer, name)
            assert address.fc is not None
            wanted[(address.ref, address.fc)] = name
        covering: dict[str, set[tuple[str, Fc]]] = {}
        for ld in {key[0].split("/")[0] for key in wanted}:
            for rcb, members in (await self._report_blocks(peer, ld)).items():
                hits = {key for key in wanted for m in members if m.fc is key[1] and _within(key[0], m.ref)}
                if hits:
                    covering[rcb] = hits
        missing = set(wanted) - set().union(*covering.values())
        if missing:
            listed = ", ".join(sorted(wanted[key] for key in missing))
            raise ServiceError(Reason.UNKNOWN_NAME, f"no report control block of {peer} reports {listed}")
        subscription = _Subscription(self, peer, list(covering), wanted, handler)
        for rcb in covering:  # subscriptions share a block: the first enables it, each asks for a GI
            sharing = self._subscriptions.setdefault((_bare(peer), rcb), [])
            sharing.append(subscription)
            try:
                await self._common(acsi.SetURCBValues(rcb, rpt_ena=True if len(sharing) == 1 else None, gi=True), peer)
            except ServiceError:
                await subscription.cancel()
                raise
        return subscription

    async def _report_blocks(self, peer: str, ld: str) -> dict[str, tuple[acsi.DataSetMember, ...]]:
        directory = await self._common(acsi.GetLogicalNodeDirectory(f"{ld}/LLN0", acsi.AcsiClass.URCB), peer)
        assert isinstance(directory, acsi.GetLogicalNodeDirectoryResponse)
        blocks = {}
        for name in directory.names:
            values = await self._common(acsi.GetURCBValues(f"{ld}/LLN0.{name}"), peer)
            assert isinstance(values, acsi.GetURCBValuesResponse)
            data_set = await self._common(acsi.GetDataSetDirectory(values.dat_set), peer)
            assert isinstance(data_set, acsi.GetDataSetDirectoryResponse)
            blocks[values.ref] = data_set.members
        return blocks

    # --- control/abort ------------------------------------------------------------------------------

    async def _ctl_model(self, peer: str, ref: str) -> CtlModel:
        key = (peer, ref)
        if key not in self._ctl_models:
            answer = await self._common(acsi.GetDataValues(f"{ref}.ctlModel", Fc.CF), peer)
            assert isinstance(answer, acsi.GetDataValuesResponse)
            code = answer.values[0].value if answer.values else None
            models = list(CtlModel)
            if not isinstance(code, int) or not 0 <= code < len(models):
                raise ServiceError(Reason.INVALID, f"{peer}: {ref}.ctlModel is {code!r}, not a control model")
            self._ctl_models[key] = models[code]
        return self._ctl_models[key]

    def _control(
        self, kind: _ControlKind, ref: str, selection: _Selection
    ) -> acsi.SelectWithValue | acsi.Operate | acsi.Cancel:
        return kind(ref, selection.value, selection.ctl_num, or_ident=self.endpoint.jid)

    async def select(self, peer: str, name: str, value: Value | None = None) -> None:
        ref = (await self._address(peer, name, attribute=False)).do_ref
        model = await self._ctl_model(peer, ref)
        if not model.needs_select:
            return  # direct control: nothing to reserve
        if model is CtlModel.SBO_ENHANCED and value is None:
            raise ServiceError(Reason.INVALID, f"{name} ({model.value}) is selected with the value to operate")
        given = False if value is None else value  # Select carries no value; Cancel repeats this one
        selection = _Selection(next(self._ctl_nums), DataValue(_wire_type(given), given))
        if model is CtlModel.SBO_NORMAL:
            await self._common(acsi.Select(ref), peer)
        else:
            await self._common(self._control(acsi.SelectWithValue, ref, selection), peer)
        self._selections[(peer, ref)] = selection

    async def operate(self, peer: str, name: str, value: Value) -> None:
        ref = (await self._address(peer, name, attribute=False)).do_ref
        # A control object carries out one command at a time (IEC 61850-7-2): this client's own
        # operates on one object wait for each other instead of being refused by the server.
        lock = self._operating.setdefault((_bare(peer), ref), asyncio.Lock())
        async with lock:
            await self._operate(peer, name, ref, value)

    async def _operate(self, peer: str, name: str, ref: str, value: Value) -> None:
        model = await self._ctl_model(peer, ref)
        selection = self._selections.get((peer, ref))
        if model.needs_select and (selection is None or (model.enhanced and selection.value.value != value)):
            await self.select(peer, name, value)
        selection = self._selections.pop((peer, ref), None)
        ctl_num = selection.ctl_num if selection is not None else next(self._ctl_nums)
        operate = self._control(acsi.Operate, ref, _Selection(ctl_num, DataValue(_wire_type(value), value)))
        key = (_bare(peer), ref, ctl_num)  # terminations come from the bare JID
        if model.enhanced:  # the termination may overtake the response: wait for it from the start
            self._terminations[key] = asyncio.get_running_loop().create_future()
        try:
            await self._common(operate, peer)
            if model.enhanced:
                await self._terminated(peer, name, self._terminations[key])
        finally:
            self._terminations.pop(key, None)

    async def _terminated(self, peer: str, name: str, waiter: asyncio.Future[acsi.CommandTermination]) -> None:
        try:
            termination = await asyncio.wait_for(waiter, self.termination_timeout)
        except TimeoutError:
            raise ServiceError(Reason.UNAVAILABLE, f"{peer} sent no command termination for {name}") from None
        if not termination.positive:
            cause = termination.add_cause.value if termination.add_cause else "no cause given"
            raise ServiceError(Reason.FAILED, f"{peer} ended the control of {name} negatively ({cause})")

    async def cancel(self, peer: str, name: str) -> None:
        ref = (await self._address(peer, name, attribute=False)).do_ref
        selection = self._selections.pop((peer, ref), None)
        if selection is None:
            raise ServiceError(Reason.NOT_SELECTED, f"{name} on {peer} is not selected by this client")
        await self._common(self._control(acsi.Cancel, ref, selection), peer)


def _bare(jid: str) -> str:
    return jid.partition("/")[0]


def _within(ref: str, member: str) -> bool:
    return ref == member or ref.startswith(f"{member}.")


def _point(name: str, value: DataValue, quality: DataValue | None, stamp: DataValue | None) -> DataPoint:
    when = datetime.now(UTC)
    if stamp is not None and isinstance(stamp.value, str) and stamp.value:
        try:
            when = datetime.fromisoformat(stamp.value)
        except ValueError:
            log.warning("ignored an unreadable timestamp %r for %s", stamp.value, name)
    validity = (
        Quality(quality.value) if quality is not None and quality.value in {q.value for q in Quality} else Quality.GOOD
    )
    return DataPoint(name, value.value, quality=validity, timestamp=when)
