"""The conversion engine: common names <-> OpenADR 2.0b elements <-> IEC 61850 references.

Everything protocol-specific about a name lives in a *data name conversion table* (a JSON file;
:class:`ConversionTable` is its format). The shipped table, ``tables/default.json``, is the
project's own design -- no public OpenADR <-> IEC 61850 mapping exists -- and cites the public
source of every name on each side.

A value crossing the engine goes through, in order: the SI scale code (OpenADR only; the common
unit is always the base unit), the protocol-side range, the row's conversion (linear or lookup),
the common point's type and range; and the same steps backwards in the other direction. A value
that fails any step is refused with a :class:`ConversionError`; nothing is rounded or guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from openleadr import enums
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sgam.platform import jsonfile
from sgam.platform.datapoints import DataPoint, PointSpec, Quality, Value
from sgam.platform.jsonfile import JsonFileError
from sgam.platform.services import (
    Control,
    Reason,
    RemoteSubscription,
    Report,
    ReportHandler,
    Reporting,
    RequestReply,
    ServiceError,
)

DEFAULT_TABLE = Path(__file__).resolve().parent / "tables" / "default.json"

# Powers of ten of the OpenADR SI scale codes (oadr_siscale_20b.xsd; openleadr enums.SI_SCALE_CODE).
SI_SCALE = {"p": -12, "n": -9, "micro": -6, "m": -3, "c": -2, "d": -1, "none": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_KINDS: dict[str, type[bool | int | float | str]] = {"bool": bool, "int": int, "float": float, "str": str}


class ConversionError(ServiceError):
    """A name or value that the table cannot convert; ``reason`` says which check failed."""


TableError = JsonFileError  # a conversion table file that cannot be used (file, where, why)


# --- the table file format ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    id: str
    title: str
    url: str = ""
    note: str = ""


class CommonPoint(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    kind: Literal["bool", "int", "float", "str"]
    unit: str = ""
    min: float | None = None
    max: float | None = None
    description: str = ""

    @property
    def spec(self) -> PointSpec:
        return PointSpec(self.name, _KINDS[self.kind], self.unit, self.description)


class Linear(_Strict):
    """common = protocol x factor + offset."""

    kind: Literal["linear"] = "linear"
    factor: float = Field(1.0, allow_inf_nan=False)
    offset: float = Field(0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _invertible(self) -> Linear:
        if self.factor == 0:
            raise ValueError("a factor of 0 cannot be inverted")
        return self


class Lookup(_Strict):
    """An enumeration: each pair is (protocol value, common value); both columns unique."""

    kind: Literal["lookup"] = "lookup"
    pairs: list[tuple[bool | int | float | str, bool | int | float | str]] = Field(min_length=1)

    @model_validator(mode="after")
    def _invertible(self) -> Lookup:
        for column, values in (("protocol", [p for p, _ in self.pairs]), ("common", [c for _, c in self.pairs])):
            if len({_key(v) for v in values}) != len(values):
                raise ValueError(f"the {column} values of a lookup must be unique")
        return self


Conversion = Annotated[Linear | Lookup, Field(discriminator="kind")]


class _Row(_Strict):
    common: str
    min: float | None = None  # range of the protocol-side value, after SI scaling
    max: float | None = None
    conversion: Conversion | None = None  # None: the value passes unchanged
    sources: list[str] = Field(min_length=1)
    note: str = ""


class OpenAdrSignal(_Row):
    signal_name: str
    signal_type: str
    si_scale_code: str = "none"

    @model_validator(mode="after")
    def _known(self) -> OpenAdrSignal:
        _one_of("signal_name", self.signal_name, enums.SIGNAL_NAME.values, extensible=True)
        _one_of("signal_type", self.signal_type, enums.SIGNAL_TYPE.values)
        _one_of("si_scale_code", self.si_scale_code, SI_SCALE)
        return self


class OpenAdrReport(_Row):
    report_name: str
    report_type: str
    reading_type: str
    item_name: str
    item_description: str
    unit: str
    si_scale_code: str = "none"

    @model_validator(mode="after")
    def _known(self) -> OpenAdrReport:
        _one_of("report_name", self.report_name, enums.REPORT_NAME.values, extensible=True)
        _one_of("report_type", self.report_type, enums.REPORT_TYPE.values, extensible=True)
        _one_of("reading_type", self.reading_type, enums.READING_TYPE.values, extensible=True)
        _one_of("si_scale_code", self.si_scale_code, SI_SCALE)
        measurement = next((m for m in enums.MEASUREMENTS.values if m.name == self.item_name), None)
        if measurement is not None and (measurement.description, self.unit) != (
            self.item_description,
            measurement.unit,
        ):
            raise ValueError(
                f"item {self.item_name} is described as {measurement.description!r} in {measurement.unit!r} "
                "by OpenADR 2.0b"
            )
        return self

    @property
    def measurement(self) -> dict[str, object]:
        """The item base as openleadr's report descriptions want it (a dict, see its MEASUREMENTS)."""
        return {
            "name": self.item_name,
            "description": self.item_description,
            "unit": self.unit,
            "scale": self.si_scale_code,
        }


class Iec61850Item(_Row):
    reference: str = Field(pattern=r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$", description="LN.DO[.DA]")
    fc: Literal["ST", "MX", "SP", "CF", "CO"]
    cdc: str = Field(pattern=r"^[A-Z]{2,4}$")
    unit: str = ""
    wire_kind: Literal["bool", "int", "float", "str"]
    control_model: (
        Literal[
            "direct-with-normal-security",
            "sbo-with-normal-security",
            "direct-with-enhanced-security",
            "sbo-with-enhanced-security",
        ]
        | None
    ) = None

    status: str | None = Field(None, pattern=r"^[A-Za-z0-9_.]+$", description="a control's state attribute, e.g. stVal")

    @model_validator(mode="after")
    def _control(self) -> Iec61850Item:
        if (self.fc == "CO") != (self.control_model is not None) or (self.fc == "CO") != (self.status is not None):
            raise ValueError("a control (fc CO) needs a control_model and a status attribute; only a control has them")
        return self

    @property
    def readable(self) -> str:
        """The reference to read for this row's value: a control is read at its state attribute."""
        return f"{self.reference}.{self.status}" if self.status else self.reference


class ConversionTable(_Strict):
    format: Literal["sgam-conversion-table/1"]
    about: str
    sources: list[Source]
    points: list[CommonPoint]
    openadr_signals: list[OpenAdrSignal] = []
    openadr_reports: list[OpenAdrReport] = []
    iec61850: list[Iec61850Item] = []

    @model_validator(mode="after")
    def _references(self) -> ConversionTable:
        names = _unique("common point", [p.name for p in self.points])
        source_ids = _unique("source", [s.id for s in self.sources])
        _unique("OpenADR signal", [f"{s.signal_name}/{s.signal_type}" for s in self.openadr_signals])
        _unique("OpenADR report item", [f"{r.report_name}/{r.item_name}" for r in self.openadr_reports])
        _unique("IEC 61850 reference", [i.reference for i in self.iec61850])
        rows: list[_Row] = [*self.openadr_signals, *self.openadr_reports, *self.iec61850]
        for row in rows:
            if row.common not in names:
                raise ValueError(f"row for {row.common!r} names no common point; known: {', '.join(sorted(names))}")
            for source in row.sources:
                if source not in source_ids:
                    raise ValueError(f"row for {row.common!r} cites unknown source {source!r}")
        return self


def _unique(what: str, values: list[str]) -> set[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears twice")
        seen.add(value)
    return seen


def _one_of(field: str, value: str, allowed: Iterable[str], extensible: bool = False) -> None:
    allowed = list(allowed)
    if value not in allowed and not (extensible and value.startswith("x-")):
        extra = " (or an x- extension)" if extensible else ""
        raise ValueError(f"{field} {value!r} is not an OpenADR 2.0b value; use one of {', '.join(allowed)}{extra}")


def load_table(path: Path | None = None) -> ConversionTable:
    """Read and check a conversion table (the shipped default when ``path`` is None)."""
    return jsonfile.read(ConversionTable, path or DEFAULT_TABLE,
                         f"fix the table file; the shipped {DEFAULT_TABLE.name} is the reference")


# --- value conversion -----------------------------------------------------------------------------


def _key(value: Value) -> tuple[str, Value]:
    """Lookup key that keeps True apart from 1 while 1 and 1.0 stay the same number."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return ("str", value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: Value, what: str) -> None:
    """Refuse NaN, infinity and an int beyond what a float holds: no later step can convert them."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise ConversionError(Reason.OUT_OF_RANGE, f"{what}: {value!r} is not a finite number")


def _in_range(value: Value, low: float | None, high: float | None, what: str) -> None:
    if not _is_number(value):
        return
    _finite(value, what)
    number = float(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{'' if low is None else low}..{'' if high is None else high}"
        raise ConversionError(Reason.OUT_OF_RANGE, f"{what}: {value!r} is outside {bounds}")


def _as_kind(value: Value, kind: str, what: str) -> Value:
    target = _KINDS[kind]
    if target is float and _is_number(value):
        return float(value)
    if target is int and _is_number(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, target) and (target is bool or not isinstance(value, bool)):
        return value
    raise ConversionError(Reason.WRONG_TYPE, f"{what}: {value!r} is not a {kind}")


def _convert(conversion: Linear | Lookup | None, value: Value, what: str, *, inverse: bool = False) -> Value:
    """Apply a row's conversion, protocol -> common (or common -> protocol when ``inverse``)."""
    if conversion is None:
        return value
    if isinstance(conversion, Linear):
        if not _is_number(value):
            raise ConversionError(Reason.WRONG_TYPE, f"{what}: {value!r} is not a number")
        if inverse:
            return (float(value) - conversion.offset) / conversion.factor
        return float(value) * conversion.factor + conversion.offset
    pairs = [(common, protocol) for protocol, common in conversion.pairs] if inverse else conversion.pairs
    for source, target in pairs:
        if _key(source) == _key(value):
            return target
    known = ", ".join(repr(source) for source, _ in pairs)
    failure = "cannot be expressed" if inverse else "has no defined meaning"
    raise ConversionError(Reason.OUT_OF_RANGE, f"{what}: {value!r} {failure}; the table knows {known}")


def _scale(code: str, what: str) -> float:
    try:
        return 10.0 ** SI_SCALE[code]
    except KeyError:
        raise ConversionError(Reason.WRONG_TYPE, f"{what}: unknown SI scale code {code!r}") from None


@dataclass(frozen=True)
class SignalValue:
    """A common value expressed as an OpenADR event signal payload."""

    row: OpenAdrSignal
    value: float


class Converter:
    """Converts values between common names and each protocol's elements, as one table says."""

    def __init__(self, table: ConversionTable | None = None) -> None:
        self.table = table or load_table()
        self.points = {p.name: p for p in self.table.points}
        self._signals = {(s.signal_name, s.signal_type): s for s in self.table.openadr_signals}
        self._reports = {(r.report_name, r.item_name): r for r in self.table.openadr_reports}
        self._reports_by_name = {r.common: r for r in self.table.openadr_reports}
        self._iec = {i.readable: i for i in self.table.iec61850}
        self._iec_by_name = {i.common: i for i in self.table.iec61850}

    @property
    def specs(self) -> list[PointSpec]:
        """Declarations for a DataStore holding the table's common names."""
        return [p.spec for p in self.points.values()]

    def point(self, name: str) -> CommonPoint:
        try:
            return self.points[name]
        except KeyError:
            raise ConversionError(Reason.UNKNOWN_NAME, f"no common name {name!r} in the conversion table") from None

    # inbound: protocol -> common

    def _to_common(self, row: _Row, value: object, scale: float, what: str) -> Value:
        if not isinstance(value, bool | int | float | str):
            raise ConversionError(Reason.WRONG_TYPE, f"{what}: {value!r} is not a plain value")
        _finite(value, what)
        if _is_number(value) and scale != 1.0:
            value = float(value) * scale
        _in_range(value, row.min, row.max, what)
        point = self.point(row.common)
        common = _as_kind(_convert(row.conversion, value, what), point.kind, f"{what} as {point.name}")
        _in_range(common, point.min, point.max, f"{what} as {point.name}")
        return common

    def from_signal(self, signal_name: str, signal_type: str, value: object, si_scale_code: str = "none") -> DataPoint:
        """The common point meant by an event signal's payload."""
        what = f"OpenADR signal {signal_name}/{signal_type}"
        row = self._signals.get((signal_name, signal_type))
        if row is None:
            known = ", ".join(f"{n}/{t}" for n, t in self._signals)
            raise ConversionError(Reason.UNKNOWN_NAME, f"{what} is not in the conversion table (known: {known})")
        common = self._to_common(row, value, _scale(si_scale_code, what), what)
        return DataPoint(row.common, common, self.points[row.common].unit)

    def from_report(self, report_name: str, item_name: str, value: object, si_scale_code: str = "none") -> DataPoint:
        """The common point carried by one OpenADR report interval."""
        what = f"OpenADR report item {report_name}/{item_name}"
        row = self._reports.get((report_name, item_name))
        if row is None:
            raise ConversionError(Reason.UNKNOWN_NAME, f"{what} is not in the conversion table")
        common = self._to_common(row, value, _scale(si_scale_code, what), what)
        return DataPoint(row.common, common, self.points[row.common].unit)

    def from_iec61850(self, reference: str, value: object, quality: Quality = Quality.GOOD) -> DataPoint:
        """The common point held by an LN.DO.DA reference (logical device left out)."""
        what = f"IEC 61850 {reference}"
        row = self._iec.get(reference)
        if row is None:
            raise ConversionError(Reason.UNKNOWN_NAME, f"{what} is not in the conversion table")
        common = self._to_common(row, value, 1.0, what)
        return DataPoint(row.common, common, self.points[row.common].unit, quality)

    # outbound: common -> protocol

    def _from_common(self, row: _Row, name: str, value: Value, wire_kind: str, scale: float, what: str) -> Value:
        point = self.point(name)
        _finite(value, name)
        common = _as_kind(value, point.kind, name)
        _in_range(common, point.min, point.max, name)
        wire = _convert(row.conversion, common, f"{name} as {what}", inverse=True)
        _in_range(wire, row.min, row.max, f"{name} as {what}")
        if _is_number(wire) and scale != 1.0:
            wire = float(wire) / scale
            _finite(wire, f"{name} as {what}")  # a small SI unit can take it past what a float holds
        return _as_kind(wire, wire_kind, f"{name} as {what}")

    def to_signal(self, name: str, value: Value, signal_name: str | None = None) -> SignalValue:
        """Express a common value as an event signal (the first row for ``name`` unless one is named)."""
        rows = [s for s in self.table.openadr_signals if s.common == name]
        if signal_name is not None:
            rows = [s for s in rows if s.signal_name == signal_name]
        if not rows:
            raise ConversionError(Reason.UNKNOWN_NAME, f"{name!r} has no OpenADR signal in the conversion table")
        row = rows[0]
        what = f"OpenADR signal {row.signal_name}/{row.signal_type}"
        wire = self._from_common(row, name, value, "float", _scale(row.si_scale_code, what), what)
        return SignalValue(row, float(wire))

    def report_row(self, name: str) -> OpenAdrReport:
        try:
            return self._reports_by_name[name]
        except KeyError:
            raise ConversionError(Reason.UNKNOWN_NAME, f"{name!r} has no OpenADR report item in the table") from None

    def to_report(self, name: str, value: Value) -> tuple[OpenAdrReport, float]:
        """Express a common value as an OpenADR report item value (in the row's SI scale)."""
        row = self.report_row(name)
        what = f"OpenADR report item {row.report_name}/{row.item_name}"
        return row, float(self._from_common(row, name, value, "float", _scale(row.si_scale_code, what), what))

    def iec61850_row(self, name: str) -> Iec61850Item:
        try:
            return self._iec_by_name[name]
        except KeyError:
            raise ConversionError(Reason.UNKNOWN_NAME, f"{name!r} has no IEC 61850 reference in the table") from None

    def to_iec61850(self, name: str, value: Value) -> tuple[Iec61850Item, Value]:
        row = self.iec61850_row(name)
        return row, self._from_common(row, name, value, row.wire_kind, 1.0, f"IEC 61850 {row.reference}")


# --- common names over a binding that speaks IEC 61850 references ---------------------------------


class Iec61850Names:
    """Request/reply, reports and control by common name over a client that speaks references.

    ``client`` is any binding whose names are ``<logical device>/<LN.DO[.DA]>`` object references
    (sgam.platform.iec61850.node.AcsiClient); ``logical_devices`` says which logical device serves
    each peer. The table's control model documents what a control is designed for; the device's own
    ctlModel decides at run time, and the client follows it.
    """

    def __init__(self, client: RequestReply | Control, converter: Converter, logical_devices: Mapping[str, str]):
        self.client = client
        self.converter = converter
        self.logical_devices = dict(logical_devices)

    def _reference(self, peer: str, row: Iec61850Item, read: bool = False) -> str:
        try:
            return f"{self.logical_devices[peer]}/{row.readable if read else row.reference}"
        except KeyError:
            raise ServiceError(Reason.UNAVAILABLE, f"no logical device is configured for {peer!r}") from None

    def _inbound(self, peer: str, point: DataPoint) -> DataPoint:
        ld = self.logical_devices[peer]
        reference = point.name.removeprefix(f"{ld}/")
        common = self.converter.from_iec61850(reference, point.value, point.quality)
        return DataPoint(common.name, common.value, common.unit, point.quality, point.timestamp)

    async def get(self, peer: str, names: Sequence[str]) -> dict[str, DataPoint]:
        if not isinstance(self.client, RequestReply):
            raise ServiceError(Reason.NOT_SUPPORTED, "the client offers no request/reply")
        references = [self._reference(peer, self.converter.iec61850_row(name), read=True) for name in names]
        answer = await self.client.get(peer, references)
        points = [self._inbound(peer, answer[reference]) for reference in references]
        return {point.name: point for point in points}

    async def set(self, peer: str, values: Mapping[str, Value]) -> None:
        if not isinstance(self.client, RequestReply):
            raise ServiceError(Reason.NOT_SUPPORTED, "the client offers no request/reply")
        wire = {}
        for name, value in values.items():
            row, converted = self.converter.to_iec61850(name, value)
            wire[self._reference(peer, row)] = converted
        await self.client.set(peer, wire)

    async def subscribe(self, peer: str, names: Sequence[str], handler: ReportHandler) -> RemoteSubscription:
        if not isinstance(self.client, Reporting):
            raise ServiceError(Reason.NOT_SUPPORTED, "the client offers no reports")
        references = [self._reference(peer, self.converter.iec61850_row(name), read=True) for name in names]

        async def translated(report: Report) -> None:
            points = tuple(self._inbound(peer, point) for point in report.points)
            await handler(Report(report.source, points, report.report_id, report.sequence))

        return await self.client.subscribe(peer, references, translated)

    def _control(self, peer: str, name: str) -> tuple[Control, Iec61850Item, str]:
        if not isinstance(self.client, Control):
            raise ServiceError(Reason.NOT_SUPPORTED, "the client offers no control")
        row = self.converter.iec61850_row(name)
        if row.control_model is None:
            raise ConversionError(Reason.NOT_ALLOWED, f"{name!r} ({row.reference}) is not a control")
        return self.client, row, self._reference(peer, row)

    async def select(self, peer: str, name: str, value: Value | None = None) -> None:
        client, _, reference = self._control(peer, name)
        converted = None if value is None else self.converter.to_iec61850(name, value)[1]
        await client.select(peer, reference, converted)

    async def operate(self, peer: str, name: str, value: Value) -> None:
        """Operate; the client follows the device's own control model (select first where it needs one)."""
        client, _, reference = self._control(peer, name)
        await client.operate(peer, reference, self.converter.to_iec61850(name, value)[1])

    async def cancel(self, peer: str, name: str) -> None:
        client, _, reference = self._control(peer, name)
        await client.cancel(peer, reference)
