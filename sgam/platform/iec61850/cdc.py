"""The common data classes (CDC) of IEC 61850-7-3 that the DER models use, reduced to what the
ACSI services here touch: each CDC's data attributes with their functional constraint and type.

Attribute names follow IEC 61850-7-3 as they appear in public code: libiec61850's
`src/iec61850/server/model/cdc.c` (CDC_MV_create: mag, q, t; CDC_ASG_create: setMag, minVal,
maxVal; CDC_SPC_create: stVal, q, t, ctlModel, sboTimeout; CDC_APC_create: mxVal; CDC_BCR_create:
actVal). Enumerations ServiceError, AddCause and ctlModel follow the numbering in libiec61850's
`iec61850_common.h` (IEC 61850-7-2 / 7-3). Units, substitution, deadbands and the MMS-only
Oper/SBO/Cancel structures are left out: control services address the data object itself.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from enum import Enum


class Fc(str, Enum):
    """Functional constraints (IEC 61850-7-2) used by the attributes below."""

    ST = "ST"  # status
    MX = "MX"  # measurand
    SP = "SP"  # setting
    CF = "CF"  # configuration
    DC = "DC"  # description


class BasicType(str, Enum):
    BOOLEAN = "BOOLEAN"
    INT32 = "INT32"
    INT32U = "INT32U"
    INT64 = "INT64"
    FLOAT32 = "FLOAT32"
    ENUM = "Enum"
    VISSTRING = "VisString255"
    TIMESTAMP = "Timestamp"  # ISO 8601 UTC text on the wire
    QUALITY = "Quality"  # validity only: good, invalid, questionable


class CtlModel(str, Enum):
    """Control models of IEC 61850-7-2; the numbers are the ctlModel attribute values."""

    STATUS_ONLY = "status-only"
    DIRECT_NORMAL = "direct-with-normal-security"
    SBO_NORMAL = "sbo-with-normal-security"
    DIRECT_ENHANCED = "direct-with-enhanced-security"
    SBO_ENHANCED = "sbo-with-enhanced-security"

    @property
    def code(self) -> int:
        return list(CtlModel).index(self)

    @property
    def needs_select(self) -> bool:
        return self in (CtlModel.SBO_NORMAL, CtlModel.SBO_ENHANCED)

    @property
    def enhanced(self) -> bool:
        return self in (CtlModel.DIRECT_ENHANCED, CtlModel.SBO_ENHANCED)


Scalar = bool | int | float | str


class BadValue(ValueError):
    """A value that is not of the basic type asked for (a ValueError so pydantic reports it)."""


QUALITY_VALUES = ("good", "invalid", "questionable")

INTEGER_RANGES = {
    BasicType.INT32: (-(2**31), 2**31 - 1),
    BasicType.INT32U: (0, 2**32 - 1),
    BasicType.INT64: (-(2**63), 2**63 - 1),
    BasicType.ENUM: (-(2**31), 2**31 - 1),
}


def default_value(kind: BasicType) -> Scalar:
    if kind is BasicType.BOOLEAN:
        return False
    if kind is BasicType.FLOAT32:
        return 0.0
    if kind is BasicType.QUALITY:
        return "good"
    if kind in (BasicType.VISSTRING, BasicType.TIMESTAMP):
        return ""
    return 0


def coerce(kind: BasicType, value: object) -> Scalar:
    """The value as a `kind`, or ValueError saying why not (no silent truncation)."""
    if kind is BasicType.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise BadValue(f"expected a boolean, got {value!r}")
    if kind is BasicType.FLOAT32:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue(f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise BadValue(f"expected a finite number, got {value!r}")
        return float(value)
    if kind in INTEGER_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue(f"expected an integer, got {value!r}")
        low, high = INTEGER_RANGES[kind]
        if not low <= value <= high:
            raise BadValue(f"{value} is outside the {kind.value} range {low}..{high}")
        return value
    if not isinstance(value, str):
        raise BadValue(f"expected text, got {value!r}")
    if kind is BasicType.QUALITY and value not in QUALITY_VALUES:
        raise BadValue(f"quality must be one of {', '.join(QUALITY_VALUES)}, got {value!r}")
    if kind is BasicType.VISSTRING and len(value) > 255:
        raise BadValue("VisString255 holds at most 255 characters")
    return value


# Plain ASCII decimals: int() and float() would also take '1_000', padding and other scripts' digits.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_text(kind: BasicType, text: str) -> Scalar:
    """The value of `kind` written as `text` on the wire; ValueError if it is not one."""
    if kind is BasicType.BOOLEAN:
        if text not in ("true", "false"):
            raise BadValue(f"expected true or false, got {text!r}")
        return text == "true"
    if kind is BasicType.FLOAT32:
        if not _DECIMAL.fullmatch(text):
            raise BadValue(f"expected a finite decimal number, got {text!r}")
        return coerce(kind, float(text))
    if kind in INTEGER_RANGES:
        if not _INTEGER.fullmatch(text):
            raise BadValue(f"expected an integer, got {text!r}")
        try:
            number = int(text)
        except ValueError:  # more digits than Python converts
            raise BadValue(f"expected an integer of at most {sys.get_int_max_str_digits()} digits") from None
        return coerce(kind, number)
    return coerce(kind, text)


def format_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Attribute:
    path: str  # below the data object, e.g. "mag.f"
    fc: Fc
    kind: BasicType


@dataclass(frozen=True)
class Cdc:
    """One common data class: its primary attribute (what the model file's `value` sets),
    the attributes it carries, and for controllable classes the type of ctlVal."""

    name: str
    primary: Attribute
    others: tuple[Attribute, ...] = ()
    control: BasicType | None = None
    ranged: bool = False  # minVal/maxVal or a control range applies to the primary value

    @property
    def attributes(self) -> tuple[Attribute, ...]:
        return (self.primary, *self.others)


def _status(fc: Fc) -> tuple[Attribute, ...]:
    return (Attribute("q", fc, BasicType.QUALITY), Attribute("t", fc, BasicType.TIMESTAMP))


_CONTROL = (Attribute("ctlModel", Fc.CF, BasicType.ENUM), Attribute("sboTimeout", Fc.CF, BasicType.INT32U))

CDCS: dict[str, Cdc] = {
    cdc.name: cdc
    for cdc in (
        Cdc("SPS", Attribute("stVal", Fc.ST, BasicType.BOOLEAN), _status(Fc.ST)),
        Cdc("INS", Attribute("stVal", Fc.ST, BasicType.INT32), _status(Fc.ST)),
        Cdc("ENS", Attribute("stVal", Fc.ST, BasicType.ENUM), _status(Fc.ST)),
        Cdc("MV", Attribute("mag.f", Fc.MX, BasicType.FLOAT32), _status(Fc.MX)),
        Cdc("BCR", Attribute("actVal", Fc.ST, BasicType.INT64), _status(Fc.ST)),
        Cdc(
            "ASG",
            Attribute("setMag.f", Fc.SP, BasicType.FLOAT32),
            (Attribute("minVal.f", Fc.CF, BasicType.FLOAT32), Attribute("maxVal.f", Fc.CF, BasicType.FLOAT32)),
            ranged=True,
        ),
        Cdc(
            "ING",
            Attribute("setVal", Fc.SP, BasicType.INT32),
            (Attribute("minVal", Fc.CF, BasicType.INT32), Attribute("maxVal", Fc.CF, BasicType.INT32)),
            ranged=True,
        ),
        Cdc("SPG", Attribute("setVal", Fc.SP, BasicType.BOOLEAN)),
        Cdc("SPC", Attribute("stVal", Fc.ST, BasicType.BOOLEAN), _status(Fc.ST) + _CONTROL, BasicType.BOOLEAN),
        Cdc("INC", Attribute("stVal", Fc.ST, BasicType.INT32), _status(Fc.ST) + _CONTROL, BasicType.INT32, True),
        Cdc("ENC", Attribute("stVal", Fc.ST, BasicType.ENUM), _status(Fc.ST) + _CONTROL, BasicType.ENUM),
        Cdc("APC", Attribute("mxVal.f", Fc.MX, BasicType.FLOAT32), _status(Fc.MX) + _CONTROL, BasicType.FLOAT32, True),
    )
}
