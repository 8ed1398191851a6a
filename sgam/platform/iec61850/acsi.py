"""ACSI service messages of IEC 61850-7-2 as XML, the payload of XMPP stanzas (IEC 61850-8-2 style).

IEC 61850-8-2 carries ACSI services as XML over XMPP, with messages derived from the 8-1 (MMS)
requests and responses; its XSD is an IEC code component that is not public. This module therefore
defines the project's own XML, modelled on it, in the namespace `NAMESPACE` (not the IEC one):

* one element per service request, named after the ACSI service (`GetDataValues`, `Operate`, ...),
  the child of an `<iq type="set">`; the answer is `<ServiceName>Response` in the IQ result;
* parameters are attributes named as in 7-2 (`ref` is the ObjectReference, `fc`, `ctlNum`,
  `orCat`, `orIdent`, `rptEna`, `datSet`, `seqNum`, ...); data values are `<value name=".." type="..">`
  elements whose text is the value (booleans `true`/`false`, numbers in decimal, timestamps ISO 8601);
* unsolicited `Report` and `CommandTermination` go from server to client in an IQ set or a
  message (the server's choice);
* a failed service is an XMPP error whose application payload is `<ServiceError error=".."
  addCause="..">` with the 7-2 ServiceError and, for controls, the AddCause.

An operate with enhanced security, as it travels (namespace declarations left out)::

    EMS -> DER  <iq type="set"><Operate ref="BATTDER/DWMX1.ModEna" ctlNum="7" orCat="3"
                    orIdent="ems@example.org/sgam" test="false"><ctlVal type="BOOLEAN">true</ctlVal>
                </Operate></iq>
    DER -> EMS  <iq type="result"><OperateResponse ref="BATTDER/DWMX1.ModEna" ctlNum="7"/></iq>
    DER -> EMS  <iq type="set"><CommandTermination ref="BATTDER/DWMX1.ModEna" ctlNum="7" positive="true"/></iq>

and a refusal: ``<iq type="error"><error type="wait"><unexpected-request .../><ServiceError
error="control-must-be-selected" addCause="object-not-selected" text="..."/></error></iq>``.

The messages are frozen dataclasses; `encode` and `decode` map them to and from ElementTree by
reflection over their fields, so each message's XML shape is its field list and nothing else.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

from sgam.platform.iec61850.cdc import BasicType, Fc, Scalar, format_text, parse_text

NAMESPACE = "urn:sgam:iec61850-8-2:acsi:1"
MAX_ITEMS = 2_000  # per list in one message; more is refused as a malformed request


class ServiceErrorKind(str, Enum):
    """ServiceError of IEC 61850-7-2 (numbering as in libiec61850's iec61850_common.h)."""

    INSTANCE_NOT_AVAILABLE = "instance-not-available"
    INSTANCE_IN_USE = "instance-in-use"
    ACCESS_VIOLATION = "access-violation"
    ACCESS_NOT_ALLOWED_IN_CURRENT_STATE = "access-not-allowed-in-current-state"
    PARAMETER_VALUE_INAPPROPRIATE = "parameter-value-inappropriate"
    PARAMETER_VALUE_INCONSISTENT = "parameter-value-inconsistent"
    CLASS_NOT_SUPPORTED = "class-not-supported"
    INSTANCE_LOCKED_BY_OTHER_CLIENT = "instance-locked-by-other-client"
    CONTROL_MUST_BE_SELECTED = "control-must-be-selected"
    TYPE_CONFLICT = "type-conflict"
    FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT = "failed-due-to-communications-constraint"
    FAILED_DUE_TO_SERVER_CONSTRAINT = "failed-due-to-server-constraint"


class AddCause(str, Enum):
    """AddCause of control responses and CommandTermination (IEC 61850-7-2; libiec61850 numbering)."""

    UNKNOWN = "unknown"
    NOT_SUPPORTED = "not-supported"
    BLOCKED_BY_SWITCHING_HIERARCHY = "blocked-by-switching-hierarchy"
    SELECT_FAILED = "select-failed"
    INVALID_POSITION = "invalid-position"
    POSITION_REACHED = "position-reached"
    PARAMETER_CHANGE_IN_EXECUTION = "parameter-change-in-execution"
    STEP_LIMIT = "step-limit"
    BLOCKED_BY_MODE = "blocked-by-mode"
    BLOCKED_BY_PROCESS = "blocked-by-process"
    BLOCKED_BY_INTERLOCKING = "blocked-by-interlocking"
    BLOCKED_BY_SYNCHROCHECK = "blocked-by-synchrocheck"
    COMMAND_ALREADY_IN_EXECUTION = "command-already-in-execution"
    BLOCKED_BY_HEALTH = "blocked-by-health"
    ONE_OF_N_CONTROL = "1-of-n-control"
    ABORTION_BY_CANCEL = "abortion-by-cancel"
    TIME_LIMIT_OVER = "time-limit-over"
    ABORTION_BY_TRIP = "abortion-by-trip"
    OBJECT_NOT_SELECTED = "object-not-selected"
    OBJECT_ALREADY_SELECTED = "object-already-selected"
    NO_ACCESS_AUTHORITY = "no-access-authority"
    ENDED_WITH_OVERSHOOT = "ended-with-overshoot"
    ABORTION_DUE_TO_DEVIATION = "abortion-due-to-deviation"
    ABORTION_BY_COMMUNICATION_LOSS = "abortion-by-communication-loss"
    ABORTION_BY_COMMAND = "abortion-by-command"
    NONE = "none"
    INCONSISTENT_PARAMETERS = "inconsistent-parameters"
    LOCKED_BY_OTHER_CLIENT = "locked-by-other-client"


class AcsiClass(str, Enum):
    """What GetLogicalNodeDirectory lists."""

    DATA = "DATA"
    DATA_SET = "DATA-SET"
    URCB = "URCB"


class AcsiDecodeError(ValueError):
    """A payload that is not a well-formed ACSI message: where in the XML and why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataValue:
    """One data attribute's value: `name` is its path below the reference asked for ('mag.f')."""

    type: BasicType
    value: Scalar
    name: str = ""


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetServerDirectory:
    pass


@dataclass(frozen=True)
class GetLogicalDeviceDirectory:
    ref: str  # logical device name


@dataclass(frozen=True)
class GetLogicalNodeDirectory:
    ref: str  # LD/LN
    acsi_class: AcsiClass = AcsiClass.DATA


@dataclass(frozen=True)
class GetDataDefinition:
    ref: str  # LD/LN.DO


@dataclass(frozen=True)
class GetDataValues:
    ref: str
    fc: Fc


@dataclass(frozen=True)
class SetDataValues:
    ref: str
    fc: Fc
    values: tuple[DataValue, ...] = field(metadata={"item": "value"})


@dataclass(frozen=True)
class Select:
    ref: str


@dataclass(frozen=True)
class ControlRequest:
    """The parameters SelectWithValue, Operate and Cancel share (IEC 61850-7-2 control model)."""

    ref: str
    ctl_val: DataValue
    ctl_num: int = 0
    or_cat: int = 3  # remote-control
    or_ident: str = ""
    test: bool = False


@dataclass(frozen=True)
class SelectWithValue(ControlRequest):
    pass


@dataclass(frozen=True)
class Operate(ControlRequest):
    pass


@dataclass(frozen=True)
class Cancel(ControlRequest):
    pass


@dataclass(frozen=True)
class GetDataSetDirectory:
    ref: str  # LD/LLN0.name


@dataclass(frozen=True)
class GetURCBValues:
    ref: str  # LD/LLN0.name


@dataclass(frozen=True)
class SetURCBValues:
    ref: str
    rpt_ena: bool | None = None
    gi: bool | None = None
    intg_pd: int | None = None  # milliseconds


# --- responses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetServerDirectoryResponse:
    names: tuple[str, ...] = field(metadata={"item": "name"})


@dataclass(frozen=True)
class GetLogicalDeviceDirectoryResponse:
    ref: str
    names: tuple[str, ...] = field(metadata={"item": "name"})


@dataclass(frozen=True)
class GetLogicalNodeDirectoryResponse:
    ref: str
    acsi_class: AcsiClass
    names: tuple[str, ...] = field(metadata={"item": "name"})


@dataclass(frozen=True)
class AttributeDefinition:
    name: str  # path below the data object
    fc: Fc
    type: BasicType


@dataclass(frozen=True)
class GetDataDefinitionResponse:
    ref: str
    cdc: str
    attributes: tuple[AttributeDefinition, ...] = field(metadata={"item": "attribute"})


@dataclass(frozen=True)
class DataSetMember:
    ref: str  # LD/LN.DO[.DA]
    fc: Fc


@dataclass(frozen=True)
class GetDataSetDirectoryResponse:
    ref: str
    members: tuple[DataSetMember, ...] = field(metadata={"item": "member"})


@dataclass(frozen=True)
class GetDataValuesResponse:
    ref: str
    fc: Fc
    values: tuple[DataValue, ...] = field(metadata={"item": "value"})


@dataclass(frozen=True)
class SetDataValuesResponse:
    ref: str


@dataclass(frozen=True)
class SelectResponse:
    ref: str


@dataclass(frozen=True)
class ControlResponse:
    ref: str
    ctl_num: int


@dataclass(frozen=True)
class SelectWithValueResponse(ControlResponse):
    pass


@dataclass(frozen=True)
class OperateResponse(ControlResponse):
    pass


@dataclass(frozen=True)
class CancelResponse(ControlResponse):
    pass


@dataclass(frozen=True)
class UrcbValues:
    ref: str
    rpt_id: str
    dat_set: str
    rpt_ena: bool
    resv: bool
    trg_ops: str  # space-separated: dchg qchg integrity gi
    intg_pd: int
    sq_num: int


@dataclass(frozen=True)
class GetURCBValuesResponse(UrcbValues):
    pass


@dataclass(frozen=True)
class SetURCBValuesResponse(UrcbValues):
    pass


# --- unsolicited, server to client ------------------------------------------------------------


@dataclass(frozen=True)
class ReportEntry:
    ref: str  # the data set member, LD/LN.DO[.DA]
    fc: Fc
    reason: str  # data-change, quality-change, integrity, general-interrogation
    values: tuple[DataValue, ...] = field(metadata={"item": "value"})


@dataclass(frozen=True)
class Report:
    ref: str  # the report control block
    rpt_id: str
    dat_set: str
    seq_num: int
    time_of_entry: str
    entries: tuple[ReportEntry, ...] = field(metadata={"item": "entry"})


@dataclass(frozen=True)
class CommandTermination:
    ref: str
    ctl_num: int
    positive: bool
    add_cause: AddCause | None = None


@dataclass(frozen=True)
class ServiceError:
    """The application payload of an XMPP error answering a failed service."""

    error: ServiceErrorKind
    add_cause: AddCause | None = None
    text: str = ""


Request = (
    GetServerDirectory
    | GetLogicalDeviceDirectory
    | GetLogicalNodeDirectory
    | GetDataDefinition
    | GetDataValues
    | SetDataValues
    | Select
    | SelectWithValue
    | Operate
    | Cancel
    | GetDataSetDirectory
    | GetURCBValues
    | SetURCBValues
)
Response = (
    GetServerDirectoryResponse
    | GetLogicalDeviceDirectoryResponse
    | GetLogicalNodeDirectoryResponse
    | GetDataDefinitionResponse
    | GetDataValuesResponse
    | SetDataValuesResponse
    | SelectResponse
    | SelectWithValueResponse
    | OperateResponse
    | CancelResponse
    | GetDataSetDirectoryResponse
    | GetURCBValuesResponse
    | SetURCBValuesResponse
)
Unsolicited = Report | CommandTermination
Message = Request | Response | Unsolicited | ServiceError

REQUESTS: tuple[type, ...] = typing.get_args(Request)
RESPONSES: tuple[type, ...] = typing.get_args(Response)
UNSOLICITED: tuple[type, ...] = typing.get_args(Unsolicited)
_TOP = {cls.__name__: cls for cls in (*REQUESTS, *RESPONSES, *UNSOLICITED, ServiceError)}


class AcsiError(Exception):
    """A service failed: answered with an XMPP error carrying the ServiceError."""

    def __init__(self, error: ServiceErrorKind, text: str, add_cause: AddCause | None = None) -> None:
        super().__init__(f"{error.value}: {text}" + (f" ({add_cause.value})" if add_cause else ""))
        self.error, self.text, self.add_cause = error, text, add_cause

    @property
    def payload(self) -> ServiceError:
        return ServiceError(self.error, self.add_cause, self.text)


# XMPP stanza error condition (RFC 6120 8.3.3) that carries each ServiceError.
CONDITIONS: dict[ServiceErrorKind, str] = {
    ServiceErrorKind.INSTANCE_NOT_AVAILABLE: "item-not-found",
    ServiceErrorKind.INSTANCE_IN_USE: "conflict",
    ServiceErrorKind.ACCESS_VIOLATION: "forbidden",
    ServiceErrorKind.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE: "unexpected-request",
    ServiceErrorKind.PARAMETER_VALUE_INAPPROPRIATE: "bad-request",
    ServiceErrorKind.PARAMETER_VALUE_INCONSISTENT: "bad-request",
    ServiceErrorKind.CLASS_NOT_SUPPORTED: "feature-not-implemented",
    ServiceErrorKind.INSTANCE_LOCKED_BY_OTHER_CLIENT: "conflict",
    ServiceErrorKind.CONTROL_MUST_BE_SELECTED: "unexpected-request",
    ServiceErrorKind.TYPE_CONFLICT: "bad-request",
    ServiceErrorKind.FAILED_DUE_TO_COMMUNICATIONS_CONSTRAINT: "undefined-condition",
    ServiceErrorKind.FAILED_DUE_TO_SERVER_CONSTRAINT: "not-acceptable",
}
"""Definite refusals only: none of these is a condition a requester retries (wait-type errors)."""


# --- the reflective codec ---------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _qname(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


@dataclass(frozen=True)
class _Field:
    name: str
    xml: str  # attribute or child element name
    kind: Any  # scalar type, Enum subclass, DataValue or another dataclass
    optional: bool
    item: str | None  # child element name when the field is a tuple of `kind`


@cache
def _fields(cls: type) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    result = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint)
        optional = isinstance(hint, types.UnionType) and type(None) in args
        if optional:
            hint = next(arg for arg in args if arg is not type(None))
        item = f.metadata.get("item")
        kind = typing.get_args(hint)[0] if item else hint
        result.append(_Field(f.name, _camel(f.name), kind, optional, item))
    return tuple(result)


def encode(message: Message) -> ET.Element:
    """The message as an element in NAMESPACE, ready to be the child of an IQ or message."""
    return _encode(message, type(message).__name__)


def _encode(obj: Any, tag: str) -> ET.Element:
    element = ET.Element(_qname(tag))
    if isinstance(obj, DataValue):
        if obj.name:
            element.set("name", obj.name)
        element.set("type", obj.type.value)
        element.text = format_text(obj.value)
        return element
    cls: type = type(obj)
    for f in _fields(cls):
        value = getattr(obj, f.name)
        if value is None:
            continue
        if f.item:
            for each in value:
                if _is_scalar(f.kind):
                    ET.SubElement(element, _qname(f.item)).text = each
                else:
                    element.append(_encode(each, f.item))
        elif _is_scalar(f.kind):
            element.set(f.xml, value.value if isinstance(value, Enum) else format_text(value))
        else:
            element.append(_encode(value, f.xml))
    return element


def _is_scalar(kind: Any) -> bool:
    return kind in (str, int, float, bool) or (isinstance(kind, type) and issubclass(kind, Enum))


def decode(element: ET.Element) -> Message:
    """The message an element holds; AcsiDecodeError (with the XML path) when it is not one."""
    namespace, _, tag = element.tag[1:].partition("}") if element.tag.startswith("{") else ("", "", element.tag)
    if namespace != NAMESPACE:
        raise AcsiDecodeError(f"/{tag}", f"expected an element in namespace {NAMESPACE}, got {namespace or 'none'}")
    cls = _TOP.get(tag)
    if cls is None:
        raise AcsiDecodeError(f"/{tag}", f"unknown ACSI message; known: {', '.join(sorted(_TOP))}")
    message: Message = _decode(element, cls, f"/{tag}")
    return message


def _decode(element: ET.Element, cls: Any, path: str) -> Any:
    if cls is DataValue:
        return _decode_value(element, path)
    known = {f.xml for f in _fields(cls) if _is_scalar(f.kind) and not f.item}
    for attribute in element.attrib:
        if attribute not in known:
            raise AcsiDecodeError(f"{path}/@{attribute}", f"unexpected attribute; allowed: {', '.join(sorted(known))}")
    children: dict[str, list[ET.Element]] = {}
    for child in element:
        children.setdefault(child.tag, []).append(child)
    expected = {_qname(f.item or f.xml) for f in _fields(cls) if f.item or not _is_scalar(f.kind)}
    for tag in children:
        if tag not in expected:
            raise AcsiDecodeError(f"{path}/{tag}", "unexpected element")
    values: dict[str, Any] = {}
    for f in _fields(cls):
        if f.item:
            items = children.get(_qname(f.item), [])
            if len(items) > MAX_ITEMS:
                raise AcsiDecodeError(f"{path}/{f.item}", f"more than {MAX_ITEMS} items")
            values[f.name] = tuple(
                (child.text or "") if f.kind is str else _decode(child, f.kind, f"{path}/{f.item}[{n}]")
                for n, child in enumerate(items, 1)
            )
        elif _is_scalar(f.kind):
            text = element.get(f.xml)
            if text is None:
                if not f.optional and not _has_default(cls, f.name):
                    raise AcsiDecodeError(f"{path}/@{f.xml}", "missing attribute")
                continue
            values[f.name] = _decode_scalar(f.kind, text, f"{path}/@{f.xml}")
        else:
            found = children.get(_qname(f.xml), [])
            if len(found) != 1:
                raise AcsiDecodeError(f"{path}/{f.xml}", f"expected exactly one element, found {len(found)}")
            values[f.name] = _decode(found[0], f.kind, f"{path}/{f.xml}")
    return cls(**values)


def _has_default(cls: type, name: str) -> bool:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _decode_scalar(kind: Any, text: str, path: str) -> Any:
    try:
        if kind is str:
            return text
        if issubclass(kind, Enum):
            return kind(text)
        return parse_text(
            BasicType.BOOLEAN if kind is bool else BasicType.INT64 if kind is int else BasicType.FLOAT32, text
        )
    except ValueError:
        allowed = (
            f"; one of {', '.join(m.value for m in kind)}" if isinstance(kind, type) and issubclass(kind, Enum) else ""
        )
        raise AcsiDecodeError(path, f"{text!r} is not a valid {kind.__name__}{allowed}") from None


def _decode_value(element: ET.Element, path: str) -> DataValue:
    kind = _decode_scalar(BasicType, element.get("type", ""), f"{path}/@type")
    if len(element):
        raise AcsiDecodeError(f"{path}/{element[0].tag}", "a value holds text only")
    try:
        value = parse_text(kind, element.text or "")
    except ValueError as error:
        raise AcsiDecodeError(path, str(error)) from None
    return DataValue(kind, value, element.get("name", ""))
