"""The DER data-model file: what an IEC 61850 server hosts (this pydantic model is the format).

A file names the IED, its logical devices, their logical nodes and data objects (each with its
common data class from `cdc.CDCS`, initial value, range and control model) and the report
control blocks of each logical device. The file lists the public sources its names are spelt
after; every logical node and data object cites them by id and says whether a public source
confirms its name (`verified`); see `sgam/platform/models/*.json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sgam.platform import jsonfile
from sgam.platform.iec61850.cdc import CDCS, CtlModel, Fc, Scalar, coerce

FORMAT = "sgam-iec61850-model/1"
SHIPPED = Path(__file__).resolve().parent.parent / "models"

_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


ModelFileError = jsonfile.JsonFileError  # a data-model file that cannot be used: where (JSON path or line, column) and why


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A public source that names are spelt after."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    url: str = ""
    note: str = ""


class Cited(_Strict):
    description: str = ""
    sources: list[str] = Field(min_length=1, description="ids of the sources the name is spelt after")
    verified: bool = Field(True, description="false when no public source confirms the name")


class DataObjectSpec(Cited):
    name: str = Field(pattern=_NAME)
    cdc: str
    value: Scalar | None = Field(None, description="initial value of the CDC's primary attribute")
    unit: str = ""
    min: float | None = None
    max: float | None = None
    ctl_model: CtlModel = CtlModel.STATUS_ONLY
    sbo_timeout_ms: int = Field(30_000, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> DataObjectSpec:
        cdc = CDCS.get(self.cdc)
        if cdc is None:
            raise ValueError(f"unknown CDC {self.cdc!r}; known: {', '.join(sorted(CDCS))}")
        if self.value is not None:
            coerce(cdc.primary.kind, self.value)
        if self.ctl_model is not CtlModel.STATUS_ONLY and cdc.control is None:
            raise ValueError(f"ctl_model {self.ctl_model.value!r} needs a controllable CDC, {self.cdc} is not")
        if (self.min is not None or self.max is not None) and not cdc.ranged:
            raise ValueError(f"min/max apply to ranged CDCs only, {self.cdc} is not")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        value = self.value  # within the range, or a client could not even write it back
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and ((self.min is not None and value < self.min) or (self.max is not None and value > self.max))
        ):
            low, high = ("" if bound is None else bound for bound in (self.min, self.max))
            raise ValueError(f"initial value {value} is outside {low}..{high}")
        return self


class LogicalNodeSpec(Cited):
    prefix: str = Field("", pattern=r"^[A-Za-z0-9_]{0,11}$")
    ln_class: str = Field(pattern=r"^[A-Z][A-Z0-9]{3}$")
    inst: str = Field("", pattern=r"^[0-9]{0,12}$")
    data_objects: list[DataObjectSpec] = []

    @property
    def name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.inst}"

    @model_validator(mode="after")
    def _unique(self) -> LogicalNodeSpec:
        _no_duplicates(f"data object in {self.name}", [d.name for d in self.data_objects])
        return self


class DataSetMember(_Strict):
    ref: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$", description="LN.DO[.DA] in this logical device")
    fc: Fc


class ReportControlSpec(_Strict):
    """An unbuffered report control block in LLN0 (buffering is not modelled)."""

    name: str = Field(pattern=_NAME)
    rpt_id: str = ""
    dataset: str = Field(pattern=_NAME)
    members: list[DataSetMember] = Field(min_length=1)
    triggers: list[Literal["dchg", "qchg", "integrity", "gi"]] = ["dchg", "gi"]
    integrity_period_ms: int = Field(0, ge=0)


class LogicalDeviceSpec(_Strict):
    inst: str = Field(pattern=_NAME)
    description: str = ""
    logical_nodes: list[LogicalNodeSpec] = Field(min_length=1)
    reports: list[ReportControlSpec] = []

    @model_validator(mode="after")
    def _lln0_and_members(self) -> LogicalDeviceSpec:
        names = [ln.name for ln in self.logical_nodes]
        _no_duplicates(f"logical node in {self.inst}", names)
        if "LLN0" not in names:
            raise ValueError(f"logical device {self.inst} has no LLN0")
        _no_duplicates(f"report control block in {self.inst}", [r.name for r in self.reports])
        datasets: dict[str, list[DataSetMember]] = {}
        for report in self.reports:  # blocks may share a data set, but not under two definitions
            if datasets.setdefault(report.dataset, report.members) != report.members:
                raise ValueError(f"data set {report.dataset} in {self.inst} is defined twice with different members")
        attributes = {
            f"{ln.name}.{do.name}": CDCS[do.cdc].attributes for ln in self.logical_nodes for do in ln.data_objects
        }
        for report in self.reports:
            for member in report.members:
                # each report reads every member: it must name at least one attribute under its FC
                ln, do, *path = member.ref.split(".")
                da = ".".join(path)
                if not any(
                    a.fc is member.fc and (not da or a.path == da or a.path.startswith(f"{da}."))
                    for a in attributes.get(f"{ln}.{do}", ())
                ):
                    raise ValueError(
                        f"report {report.name}: member {member.ref} [{member.fc.value}] is not in logical device "
                        f"{self.inst}"
                    )
        return self


class DataModelFile(_Strict):
    format: Literal["sgam-iec61850-model/1"] = "sgam-iec61850-model/1"
    ied: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
    description: str = ""
    sources: list[Source] = Field(min_length=1)
    logical_devices: list[LogicalDeviceSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_cited(self) -> DataModelFile:
        _no_duplicates("logical device", [ld.inst for ld in self.logical_devices])
        _no_duplicates("source", [source.id for source in self.sources])
        known = {source.id for source in self.sources}
        for ld in self.logical_devices:
            for ln in ld.logical_nodes:
                for name, cited in [(ln.name, ln), *((f"{ln.name}.{do.name}", do) for do in ln.data_objects)]:
                    for source in cited.sources:
                        if source not in known:
                            raise ValueError(f"{name} cites source {source!r}, which the file's sources do not list")
        return self


def _no_duplicates(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} is declared twice")
        seen.add(name)


_HINT = "the format is described by sgam.platform.iec61850.datamodel.DataModelFile"


def load_model(path: Path | str) -> DataModelFile:
    """Read and validate a data-model file; ModelFileError says where and what is wrong."""
    return jsonfile.read(DataModelFile, Path(path), _HINT)


def parse_model(text: str, file: str = "<model>") -> DataModelFile:
    return jsonfile.parse(DataModelFile, text, file, _HINT)


def shipped_model(name: str) -> DataModelFile:
    """One of the data models shipped in sgam/platform/models (e.g. 'der_battery')."""
    return load_model(SHIPPED / f"{name}.json")
