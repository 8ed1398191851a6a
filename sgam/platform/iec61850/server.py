"""The ACSI server's service logic over a hosted data model, without any network.

`AcsiServer.handle(client, request)` answers one request from a client (its bare JID) or raises
`AcsiError`; what the server sends on its own (reports, command terminations) goes to the
`outbox` callable as (client, message), in order. The XMPP binding (`node.py`) wires both to an
Endpoint; tests drive this class directly.

Control models follow IEC 61850-7-2: status-only refuses; direct operates at once; SBO needs a
Select (normal) or SelectWithValue (enhanced) by the same client within sboTimeout, and Operate
must repeat the selected value and ctlNum; enhanced security answers the Operate first and then
sends a CommandTermination once the device reports the action done. Reports are unbuffered
(URCB): a client reserves a control block by enabling it and receives a report for each data
change of a data set member, a general interrogation on request and, if configured, integrity
reports.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sgam.platform.iec61850 import acsi
from sgam.platform.iec61850.acsi import AcsiError, AddCause, DataValue
from sgam.platform.iec61850.acsi import ServiceErrorKind as E
from sgam.platform.iec61850.cdc import CDCS, BasicType, Cdc, CtlModel, Fc, Scalar, coerce, default_value
from sgam.platform.iec61850.datamodel import DataModelFile, DataObjectSpec, ReportControlSpec

log = logging.getLogger(__name__)

Outbox = Callable[[str, acsi.Unsolicited], None]
Actuator = Callable[[str, Scalar], Awaitable[AddCause | None]]
"""Carries out a control on the device: (data object reference, ctlVal) -> None when done, or the
AddCause why not. The default actuator writes the value into the data object's status; a device's
own actuator reports the new status with `AcsiServer.update`."""

WriteListener = Callable[[str, Scalar], None]
"""Told (attribute reference 'LD/LN.DO.DA', new value) after a client changed a value."""

BEH_OFF = 5  # LLN0.Beh stVal 'off' (IEC 61850-7-4 Beh enumeration)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class _Attribute:
    path: str
    fc: Fc
    kind: BasicType
    value: Scalar


@dataclass
class _DataObject:
    ref: str  # LD/LN.DO
    spec: DataObjectSpec
    cdc: Cdc
    attributes: dict[str, _Attribute]
    selected_by: str | None = None
    selected_until: float = 0.0
    selected_with: tuple[Scalar, int] | None = None  # SelectWithValue's (ctlVal, ctlNum)
    executing: bool = False

    @property
    def primary(self) -> _Attribute:
        return self.attributes[self.cdc.primary.path]


@dataclass
class _ReportControl:
    ref: str  # LD/LLN0.name
    spec: ReportControlSpec
    dataset_ref: str  # LD/LLN0.dataset
    members: list[acsi.DataSetMember]
    owner: str | None = None
    enabled: bool = False
    intg_pd: int = 0
    sq_num: int = 0
    integrity: asyncio.Task[None] | None = field(default=None, repr=False)


class AcsiServer:
    """Hosts one IED's data model and serves the ACSI requests of its clients."""

    def __init__(
        self,
        model: DataModelFile,
        outbox: Outbox | None = None,
        *,
        actuator: Actuator | None = None,
        operators: frozenset[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.outbox: Outbox = outbox or (lambda client, message: None)
        self.actuator = actuator or self._write_status
        self.operators = operators  # who may write and control; None: every client the transport lets in
        self.clock = clock
        self._devices: dict[str, list[str]] = {}  # LD name -> LN names
        self._nodes: dict[str, list[str]] = {}  # LD/LN -> DO names
        self._objects: dict[str, _DataObject] = {}  # LD/LN.DO
        self._reports: dict[str, _ReportControl] = {}  # LD/LLN0.name
        self._tasks: set[asyncio.Task[None]] = set()
        self._listeners: list[WriteListener] = []
        self._build()

    # --- the hosted model ---------------------------------------------------------------------

    def _build(self) -> None:
        for device in self.model.logical_devices:
            ld = f"{self.model.ied}{device.inst}"
            self._devices[ld] = [node.name for node in device.logical_nodes]
            for node in device.logical_nodes:
                self._nodes[f"{ld}/{node.name}"] = [spec.name for spec in node.data_objects]
                for spec in node.data_objects:
                    ref = f"{ld}/{node.name}.{spec.name}"
                    self._objects[ref] = _DataObject(ref, spec, CDCS[spec.cdc], self._attributes(spec))
            for report in device.reports:
                members = [acsi.DataSetMember(f"{ld}/{m.ref}", m.fc) for m in report.members]
                ref = f"{ld}/LLN0.{report.name}"
                dataset = f"{ld}/LLN0.{report.dataset}"
                self._reports[ref] = _ReportControl(ref, report, dataset, members, intg_pd=report.integrity_period_ms)

    @staticmethod
    def _attributes(spec: DataObjectSpec) -> dict[str, _Attribute]:
        cdc = CDCS[spec.cdc]
        initial: dict[str, Scalar] = {
            "t": now_text(),
            "ctlModel": spec.ctl_model.code,
            "sboTimeout": spec.sbo_timeout_ms,
        }
        if spec.value is not None:
            initial[cdc.primary.path] = coerce(cdc.primary.kind, spec.value)
        for bound, name in ((spec.min, "minVal"), (spec.max, "maxVal")):
            if bound is not None:
                initial[name] = int(bound)
                initial[f"{name}.f"] = float(bound)
        return {
            a.path: _Attribute(a.path, a.fc, a.kind, initial.get(a.path, default_value(a.kind))) for a in cdc.attributes
        }

    def value(self, ref: str) -> Scalar:
        """The current value of one data attribute, 'LD/LN.DO.DA' (for the device and for tests)."""
        obj, path = self._split(ref)
        attribute = obj.attributes.get(path)
        if attribute is None:
            raise KeyError(ref)
        return attribute.value

    def update(self, ref: str, value: Scalar, quality: str = "good") -> None:
        """The device measured or changed a value: store it, stamp it, and report it.

        `ref` names the data object (its primary attribute is set) or one data attribute.
        """
        obj, path = self._split(ref)
        attribute = obj.attributes[path or obj.cdc.primary.path]
        validity = coerce(BasicType.QUALITY, quality)  # checked before anything is stored: clients must read it
        changed = self._assign(obj, attribute, coerce(attribute.kind, value))
        if "q" in obj.attributes and obj.attributes["q"].value != validity:
            obj.attributes["q"].value = validity
            changed.add(("q", obj.attributes["q"].fc))
        self._changed(obj, changed)

    def _split(self, ref: str) -> tuple[_DataObject, str]:
        """The data object 'LD/LN.DO' of `ref` and the attribute path after it; KeyError if there is none."""
        parts = ref.split(".")
        obj = self._objects.get(".".join(parts[:2]))
        if obj is None or "" in parts:  # 'LD/LN.DO.' and 'LD/LN.DO..DA' name nothing
            raise KeyError(ref)
        return obj, ".".join(parts[2:])

    def _assign(self, obj: _DataObject, attribute: _Attribute, value: Scalar) -> set[tuple[str, Fc]]:
        if attribute.value == value:
            return set()
        attribute.value = value
        changed = {(attribute.path, attribute.fc)}
        t = obj.attributes.get("t")
        if t is not None and t.fc is attribute.fc:
            t.value = now_text()
        return changed

    async def _write_status(self, ref: str, value: Scalar) -> AddCause | None:
        obj = self._objects[ref]
        self._written(obj, self._assign(obj, obj.primary, coerce(obj.primary.kind, value)))
        return None

    def on_write(self, listener: WriteListener) -> None:
        """Tell `listener` about every value a client changed (settings written, controls carried out),
        so that the device behind the model can act on it."""
        self._listeners.append(listener)

    def _written(self, obj: _DataObject, changed: set[tuple[str, Fc]]) -> None:
        for path, _ in changed:
            for listener in self._listeners:
                try:
                    listener(f"{obj.ref}.{path}", obj.attributes[path].value)
                except Exception:  # the device's listener must not break the service
                    log.exception("write listener failed on %s.%s", obj.ref, path)
        self._changed(obj, changed)

    # --- dispatch -----------------------------------------------------------------------------

    async def handle(self, client: str, request: acsi.Request) -> acsi.Response:
        """Answer one request of `client` (bare JID); AcsiError when the service fails."""
        match request:
            case acsi.GetServerDirectory():
                return acsi.GetServerDirectoryResponse(tuple(self._devices))
            case acsi.GetLogicalDeviceDirectory(ref):
                if ref not in self._devices:
                    raise self._missing(ref, self._devices)
                return acsi.GetLogicalDeviceDirectoryResponse(ref, tuple(self._devices[ref]))
            case acsi.GetLogicalNodeDirectory(ref, acsi_class):
                return self._node_directory(ref, acsi_class)
            case acsi.GetDataSetDirectory(ref):
                rcb = next((r for r in self._reports.values() if r.dataset_ref == ref), None)
                if rcb is None:
                    raise self._missing(ref, [r.dataset_ref for r in self._reports.values()])
                return acsi.GetDataSetDirectoryResponse(ref, tuple(rcb.members))
            case acsi.GetDataDefinition(ref):
                obj = self._objects.get(ref)
                if obj is None:
                    raise self._missing(ref, self._objects)
                attributes = tuple(acsi.AttributeDefinition(a.path, a.fc, a.kind) for a in obj.attributes.values())
                return acsi.GetDataDefinitionResponse(ref, obj.cdc.name, attributes)
            case acsi.GetDataValues(ref, fc):
                return acsi.GetDataValuesResponse(ref, fc, tuple(self._read(ref, fc)))
            case acsi.SetDataValues(ref, fc, values):
                self._authorise(client)
                self._write(ref, fc, values)
                return acsi.SetDataValuesResponse(ref)
            case acsi.Select(ref):
                self._select(client, self._control(client, ref), None)
                return acsi.SelectResponse(ref)
            case acsi.SelectWithValue():
                self._select(client, self._control(client, request.ref), request)
                return acsi.SelectWithValueResponse(request.ref, request.ctl_num)
            case acsi.Operate():
                await self._operate(client, self._control(client, request.ref), request)
                return acsi.OperateResponse(request.ref, request.ctl_num)
            case acsi.Cancel():
                self._cancel(client, self._control(client, request.ref))
                return acsi.CancelResponse(request.ref, request.ctl_num)
            case acsi.GetURCBValues(ref):
                return acsi.GetURCBValuesResponse(**vars(self._urcb_values(self._rcb(ref))))
            case acsi.SetURCBValues():
                return acsi.SetURCBValuesResponse(**vars(self._set_urcb(client, request)))
        raise AcsiError(E.CLASS_NOT_SUPPORTED, f"service {type(request).__name__} is not supported")

    @staticmethod
    def _missing(ref: str, known: Iterable[str]) -> AcsiError:
        close = difflib.get_close_matches(ref, list(known), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else ""
        return AcsiError(E.INSTANCE_NOT_AVAILABLE, f"{ref} does not exist{hint}")

    def _authorise(self, client: str) -> None:
        if self.operators is not None and client not in self.operators:
            raise AcsiError(
                E.ACCESS_VIOLATION, f"{client} may read but not write or control", AddCause.NO_ACCESS_AUTHORITY
            )

    # --- directories and data ---------------------------------------------------------------------

    def _node_directory(self, ref: str, acsi_class: acsi.AcsiClass) -> acsi.GetLogicalNodeDirectoryResponse:
        if ref not in self._nodes:
            raise self._missing(ref, self._nodes)
        if acsi_class is acsi.AcsiClass.DATA:
            names = self._nodes[ref]
        else:
            rcbs = [r for r in self._reports.values() if r.ref.startswith(f"{ref}.")]
            take = (lambda r: r.spec.name) if acsi_class is acsi.AcsiClass.URCB else (lambda r: r.spec.dataset)
            names = list(dict.fromkeys(take(r) for r in rcbs))  # blocks may share a data set
        return acsi.GetLogicalNodeDirectoryResponse(ref, acsi_class, tuple(names))

    def _resolve(self, ref: str) -> list[tuple[_DataObject, str]]:
        """The data objects under `ref` with the attribute path prefix inside each ('' = all)."""
        if ref in self._nodes:
            return [(self._objects[f"{ref}.{do}"], "") for do in self._nodes[ref]]
        try:
            return [self._split(ref)]
        except KeyError:
            raise self._missing(ref, list(self._objects)) from None

    def _read(self, ref: str, fc: Fc) -> list[DataValue]:
        found = []
        fcs: set[str] = set()
        node_level = ref in self._nodes
        for obj, prefix in self._resolve(ref):
            for attribute in obj.attributes.values():
                if not _under(attribute.path, prefix):
                    continue
                fcs.add(attribute.fc.value)
                if attribute.fc is fc:
                    name = attribute.path[len(prefix) + 1 :] if prefix else attribute.path
                    if node_level:
                        name = f"{obj.spec.name}.{name}"
                    found.append(DataValue(attribute.kind, attribute.value, name))
        if not found:
            there = f"; the functional constraints there are {', '.join(sorted(fcs))}" if fcs else ""
            raise AcsiError(E.INSTANCE_NOT_AVAILABLE, f"{ref} has no data attribute with FC {fc.value}{there}")
        return found

    def _write(self, ref: str, fc: Fc, values: tuple[DataValue, ...]) -> None:
        if fc is not Fc.SP:
            raise AcsiError(E.ACCESS_VIOLATION, f"FC {fc.value} is read-only here; settings (SP) are writable")
        if not values:
            raise AcsiError(E.PARAMETER_VALUE_INCONSISTENT, "SetDataValues carries no value")
        if ref in self._nodes:
            raise AcsiError(E.PARAMETER_VALUE_INCONSISTENT, f"write one data object at a time, not the node {ref}")
        [(obj, prefix)] = self._resolve(ref)
        planned: list[tuple[_Attribute, Scalar]] = []
        for given in values:
            path = ".".join(p for p in (prefix, given.name) if p)
            attribute = obj.attributes.get(path)
            if attribute is None or attribute.fc is not fc:
                raise AcsiError(E.INSTANCE_NOT_AVAILABLE, f"{obj.ref}.{path} [{fc.value}] does not exist")
            value = self._typed(f"{obj.ref}.{path}", attribute.kind, given)
            self._in_range(obj, value)
            planned.append((attribute, value))
        changed: set[tuple[str, Fc]] = set()
        for attribute, value in planned:  # all checked first: a refused write changes nothing
            changed |= self._assign(obj, attribute, value)
        self._written(obj, changed)

    @staticmethod
    def _typed(ref: str, kind: BasicType, given: DataValue) -> Scalar:
        try:
            return coerce(kind, given.value)
        except ValueError as error:
            raise AcsiError(E.TYPE_CONFLICT, f"{ref} is {kind.value}, got {given.type.value}: {error}") from None

    @staticmethod
    def _in_range(obj: _DataObject, value: Scalar) -> None:
        low, high = obj.spec.min, obj.spec.max
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if (low is not None and value < low) or (high is not None and value > high):
            raise AcsiError(
                E.PARAMETER_VALUE_INAPPROPRIATE,
                f"{obj.ref}: {value} is outside {low if low is not None else '-inf'}..{high if high is not None else 'inf'}",
                AddCause.INCONSISTENT_PARAMETERS,
            )

    # --- control ----------------------------------------------------------------------------------

    def _control(self, client: str, ref: str) -> _DataObject:
        self._authorise(client)
        obj = self._objects.get(ref)
        if obj is None:
            raise self._missing(ref, [r for r, o in self._objects.items() if o.cdc.control])
        if obj.cdc.control is None or obj.spec.ctl_model is CtlModel.STATUS_ONLY:
            raise AcsiError(E.ACCESS_VIOLATION, f"{ref} is not controllable (status-only)", AddCause.NOT_SUPPORTED)
        if obj.selected_by is not None and self.clock() > obj.selected_until:
            obj.selected_by, obj.selected_with = None, None  # sboTimeout passed
        return obj

    def _ctl_value(self, obj: _DataObject, request: acsi.ControlRequest) -> Scalar:
        assert obj.cdc.control is not None
        value = self._typed(f"{obj.ref}.ctlVal", obj.cdc.control, request.ctl_val)
        if not 0 <= request.ctl_num <= 255:
            raise AcsiError(E.PARAMETER_VALUE_INAPPROPRIATE, f"ctlNum {request.ctl_num} is outside 0..255")
        self._in_range(obj, value)
        return value

    def _select(self, client: str, obj: _DataObject, request: acsi.SelectWithValue | None) -> None:
        model = obj.spec.ctl_model
        wanted = CtlModel.SBO_ENHANCED if request else CtlModel.SBO_NORMAL
        if model is not wanted:
            service = "SelectWithValue" if request else "Select"
            raise AcsiError(
                E.ACCESS_VIOLATION, f"{obj.ref} is {model.value}: {service} does not apply", AddCause.NOT_SUPPORTED
            )
        if obj.selected_by not in (None, client):
            raise AcsiError(
                E.INSTANCE_LOCKED_BY_OTHER_CLIENT,
                f"{obj.ref} is selected by another client",
                AddCause.LOCKED_BY_OTHER_CLIENT,
            )
        self._idle(obj)
        selected_with = (self._ctl_value(obj, request), request.ctl_num) if request else None
        self._blocked(obj)
        obj.selected_by, obj.selected_with = client, selected_with
        obj.selected_until = self.clock() + obj.spec.sbo_timeout_ms / 1000

    @staticmethod
    def _idle(obj: _DataObject) -> None:
        if obj.executing:
            raise AcsiError(
                E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE, f"{obj.ref} is executing", AddCause.COMMAND_ALREADY_IN_EXECUTION
            )

    def _blocked(self, obj: _DataObject) -> None:
        beh = self._objects.get(obj.ref.split(".")[0].rsplit("/", 1)[0] + "/LLN0.Beh")
        if beh is not None and beh.primary.value == BEH_OFF:
            raise AcsiError(
                E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE, "the logical device is off (LLN0.Beh)", AddCause.BLOCKED_BY_MODE
            )

    async def _operate(self, client: str, obj: _DataObject, request: acsi.Operate) -> None:
        model = obj.spec.ctl_model
        self._idle(obj)
        if model.needs_select and obj.selected_by != client:
            raise AcsiError(
                E.CONTROL_MUST_BE_SELECTED, f"{obj.ref} is {model.value}: select it first", AddCause.OBJECT_NOT_SELECTED
            )
        value = self._ctl_value(obj, request)
        if obj.selected_with is not None and obj.selected_with != (value, request.ctl_num):
            raise AcsiError(
                E.PARAMETER_VALUE_INCONSISTENT,
                f"{obj.ref}: Operate must repeat the selected ctlVal and ctlNum {obj.selected_with}",
                AddCause.INCONSISTENT_PARAMETERS,
            )
        self._blocked(obj)
        obj.selected_by, obj.selected_with = None, None
        obj.executing = True  # until the device is done: further operates are refused meanwhile
        if not model.enhanced:
            cause = await self._actuate(obj, value, request.test)
            if cause is not None:
                raise AcsiError(E.FAILED_DUE_TO_SERVER_CONSTRAINT, f"{obj.ref}: the device refused", cause)
            return
        task = asyncio.create_task(self._terminate(client, obj, value, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _actuate(self, obj: _DataObject, value: Scalar, test: bool) -> AddCause | None:
        try:
            if test:  # a test command is checked, never carried out; it ends like any other
                return None
            return await self.actuator(obj.ref, value)
        except Exception:
            log.exception("actuator failed on %s", obj.ref)
            return AddCause.UNKNOWN
        finally:
            obj.executing = False

    async def _terminate(self, client: str, obj: _DataObject, value: Scalar, request: acsi.Operate) -> None:
        cause = await self._actuate(obj, value, request.test)
        self.outbox(client, acsi.CommandTermination(obj.ref, request.ctl_num, cause is None, cause))

    def _cancel(self, client: str, obj: _DataObject) -> None:
        if obj.selected_by != client:
            raise AcsiError(
                E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE,
                f"{obj.ref} is not selected by {client}",
                AddCause.OBJECT_NOT_SELECTED,
            )
        obj.selected_by, obj.selected_with = None, None

    # --- reports ----------------------------------------------------------------------------------

    def _rcb(self, ref: str) -> _ReportControl:
        rcb = self._reports.get(ref)
        if rcb is None:
            raise self._missing(ref, self._reports)
        return rcb

    @staticmethod
    def _urcb_values(rcb: _ReportControl) -> acsi.UrcbValues:
        return acsi.UrcbValues(
            rcb.ref,
            rcb.spec.rpt_id or rcb.ref,
            rcb.dataset_ref,
            rcb.enabled,
            rcb.owner is not None,
            " ".join(rcb.spec.triggers),
            rcb.intg_pd,
            rcb.sq_num,
        )

    def _set_urcb(self, client: str, request: acsi.SetURCBValues) -> acsi.UrcbValues:
        rcb = self._rcb(request.ref)
        if rcb.owner not in (None, client):
            raise AcsiError(E.INSTANCE_LOCKED_BY_OTHER_CLIENT, f"{rcb.ref} is reserved by another client")
        # Everything is checked before anything changes: a refused request leaves the block as it was.
        if request.intg_pd is not None:
            if rcb.enabled:
                raise AcsiError(E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE, f"disable {rcb.ref} before changing IntgPd")
            try:
                coerce(BasicType.INT32U, request.intg_pd)  # IntgPd is an INT32U of ms (IEC 61850-7-2 URCB)
            except ValueError as error:
                raise AcsiError(E.PARAMETER_VALUE_INAPPROPRIATE, f"IntgPd: {error}") from None
        enabled = rcb.enabled if request.rpt_ena is None else request.rpt_ena
        if request.gi and (not enabled or "gi" not in rcb.spec.triggers):
            raise AcsiError(
                E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE, f"{rcb.ref}: GI needs an enabled block with the gi trigger"
            )
        if request.intg_pd is not None:
            rcb.intg_pd = request.intg_pd
        if request.rpt_ena is True and not rcb.enabled:
            rcb.owner, rcb.enabled = client, True
            if "integrity" in rcb.spec.triggers and rcb.intg_pd > 0:
                rcb.integrity = asyncio.create_task(self._integrity(rcb))
        elif request.rpt_ena is False:
            self._disable(rcb)
        if request.gi:
            self._send(rcb, rcb.members, "general-interrogation")
        return self._urcb_values(rcb)

    def _disable(self, rcb: _ReportControl) -> None:
        rcb.owner, rcb.enabled = None, False
        if rcb.integrity is not None:
            rcb.integrity.cancel()
            rcb.integrity = None

    def release(self, client: str) -> None:
        """Forget a client that went away: its selections and report reservations."""
        for obj in self._objects.values():
            if obj.selected_by == client:
                obj.selected_by, obj.selected_with = None, None
        for rcb in self._reports.values():
            if rcb.owner == client:
                self._disable(rcb)

    async def close(self) -> None:
        for rcb in self._reports.values():
            self._disable(rcb)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _integrity(self, rcb: _ReportControl) -> None:
        while True:
            await asyncio.sleep(rcb.intg_pd / 1000)
            self._send(rcb, rcb.members, "integrity")

    def _changed(self, obj: _DataObject, changed: set[tuple[str, Fc]]) -> None:
        if not changed:
            return
        for rcb in self._reports.values():
            if not rcb.enabled:
                continue
            hit = []
            reasons = set()
            for member in rcb.members:
                prefix = member.ref[len(obj.ref) + 1 :] if member.ref.startswith(f"{obj.ref}.") else ""
                if member.ref != obj.ref and not prefix:
                    continue
                for path, fc in changed:
                    if fc is member.fc and _under(path, prefix):
                        hit.append(member)
                        reasons.add("quality-change" if path == "q" else "data-change")
                        break
            wanted = {"data-change": "dchg", "quality-change": "qchg"}
            reasons = {r for r in reasons if wanted[r] in rcb.spec.triggers}
            if hit and reasons:
                self._send(rcb, hit, "data-change" if "data-change" in reasons else "quality-change")

    def _send(self, rcb: _ReportControl, members: list[acsi.DataSetMember], reason: str) -> None:
        assert rcb.owner is not None
        entries = tuple(acsi.ReportEntry(m.ref, m.fc, reason, tuple(self._read(m.ref, m.fc))) for m in members)
        report = acsi.Report(rcb.ref, rcb.spec.rpt_id or rcb.ref, rcb.dataset_ref, rcb.sq_num, now_text(), entries)
        rcb.sq_num = (rcb.sq_num + 1) % 65536
        self.outbox(rcb.owner, report)


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(f"{prefix}.")
