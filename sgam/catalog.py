"""The standards catalog: where each standard sits on the SGAM, what it is for, and who says so.

The shipped catalog is the YAML in `standards_catalog/` (one file per family or topic, plus
`sources.yaml`); users add folders of the same format with `--catalog DIR`. These models are the
single source of truth for that format (its JSON Schema is generated from them).

Every SGAM position names the public source that places the standard there. A position that no
source confirms says `verified: false`; reports present it as unverified, never as fact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from sgam.diagnostics import BadInput, Diagnostic, did_you_mean
from sgam.enums import (
    DOMAIN_ALIASES,
    ZONE_ALIASES,
    Domain,
    ExchangeKind,
    Layer,
    NetworkType,
    Severity,
    StandardKind,
    StandardStatus,
    Zone,
    accepted_spellings,
)
from sgam.files import PACKAGE
from sgam.loader import BadInputs, Document, discover, parse_mapping, validate
from sgam.models import ID_PATTERN, SgamDomain, SgamZone, Strict
from sgam.source import PathPart, read_source

ERROR, WARNING = Severity.error, Severity.warning

ALL = "all"


def _every(members: type[Domain | Zone]) -> BeforeValidator:
    """Let a position say `all` instead of listing every domain or zone."""
    return BeforeValidator(lambda value: [m.value for m in members] if value == ALL else value)


def _all_or_list(spellings: list[str]) -> WithJsonSchema:
    items = {"type": "string", "enum": spellings}
    return WithJsonSchema({"anyOf": [{"const": ALL}, {"type": "array", "minItems": 1, "items": items}]})


Domains = Annotated[list[SgamDomain], _every(Domain), _all_or_list(accepted_spellings(DOMAIN_ALIASES)), Field(min_length=1)]
Zones = Annotated[list[SgamZone], _every(Zone), _all_or_list(accepted_spellings(ZONE_ALIASES)), Field(min_length=1)]


class Source(Strict):
    """A public document that positions standards on the SGAM or describes them."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: str
    publisher: str
    year: int
    link: str = ""


class Position(Strict):
    """Layers x domains x zones where a standard applies, and the source that says so."""

    layers: list[Layer] = Field(min_length=1)
    domains: Domains
    zones: Zones
    source: str = Field(description="Id of a source in sources.yaml.")
    verified: bool = Field(
        True, description="false when the source was not checked for this position: shown as unverified."
    )
    note: str = ""

    def covers(self, layer: Layer, domain: Domain, zone: Zone) -> bool:
        return layer in self.layers and domain in self.domains and zone in self.zones


class Relations(Strict):
    """Links to other catalog entries, by canonical id."""

    part_of: list[str] = Field(default_factory=list, description="The series or family document it belongs to.")
    supersedes: list[str] = Field(default_factory=list)
    pairs_with: list[str] = Field(
        default_factory=list, description="Standards it is used together with (model with its mapping, profile with its transport)."
    )
    secured_by: list[str] = Field(
        default_factory=list, description="Security standards that protect it; any one of them closes the gap."
    )


class Standard(Strict):
    """One catalog entry."""

    model_config = ConfigDict(title="sgam standards catalog entry")

    id: str = Field(description="Canonical id as the publisher writes it, e.g. 'IEC 61850-7-420', 'IETF RFC 6120'.")
    title: str = Field(description="The title in the catalog's own words.")
    publisher: str = Field(description="Standards body or consortium: IEC, IEEE, ISO, IETF, OpenADR Alliance ...")
    family: str = Field(description="Family it belongs to, e.g. 'IEC 61850', 'CIM', 'OpenADR'.")
    edition: str = Field(description="Edition or year of the version described, e.g. 'Ed. 2.0 (2022)'.")
    status: StandardStatus
    kinds: list[StandardKind] = Field(min_length=1)
    positions: list[Position] = Field(min_length=1)
    exchanges: list[ExchangeKind] = Field(default_factory=list, description="Kinds of exchange it serves.")
    networks: list[NetworkType] = Field(
        default_factory=list,
        description="SG-CG network types (A to M) it is typically used on; ranks suggestions for links that name one.",
    )
    aliases: list[str] = Field(default_factory=list, description="Other names users write, e.g. 'SEP2', 'DNP3'.")
    relations: Relations = Field(default_factory=Relations)
    description: str = ""
    link: str = Field("", description="The standard's own catalogue page.")
    override: bool = Field(False, description="In a user catalog: replace the shipped entry with this id on purpose.")


class CatalogFile(Strict):
    """One YAML file of a catalog folder."""

    model_config = ConfigDict(title="sgam standards catalog file")

    sources: list[Source] = Field(default_factory=list)
    standards: list[Standard] = Field(default_factory=list)


# --- Loading and checking a catalog -----------------------------------------------------------

EDITION_SUFFIX = re.compile(r":\s*\d{4}(?:[+/]\w+)*$")  # 'IEC 62746-10-1:2018' names the same standard
DOCUMENT_TYPE = re.compile(r"\b(?:tr|ts|pas|is)\b")  # 'IEC TR 62357-1' and 'IEC 62357-1' alike


def name_key(name: str) -> str:
    """How names are compared: case, spacing, edition year and document type do not matter."""
    text = EDITION_SUFFIX.sub("", name.strip()).casefold()
    return " ".join(DOCUMENT_TYPE.sub(" ", text).split())


@dataclass(frozen=True)
class Origin:
    """Where a catalog entry or source is written, to locate diagnostics about it."""

    document: Document[CatalogFile]
    path: tuple[PathPart, ...]
    shipped: bool

    def diagnostic(self, severity: Severity, code: str, message: str, hint: str = "", *key: PathPart) -> Diagnostic:
        return self.document.diagnostic(severity, code, message, (*self.path, *key), hint)

    @property
    def where(self) -> str:
        line, _ = self.document.source.locate(self.path)
        return f"{self.document.source.name}:{line}"


@dataclass
class Catalog:
    """The standards known to a run: the shipped catalog plus the user's folders."""

    standards: dict[str, Standard] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)  # standard id -> where it is written
    names: dict[str, str] = field(default_factory=dict)  # name_key of id or alias -> id
    overridden: dict[str, Origin] = field(default_factory=dict)  # id -> the shipped entry a user replaced

    def get(self, name: str) -> Standard | None:
        """The entry a canonical id or an alias stands for."""
        found = self.names.get(name_key(name))
        return self.standards[found] if found else None

    def match(self, text: str) -> tuple[Standard, str] | None:
        """The standard a reference such as 'IEC 61850-7-420 DSTO' starts with, and the rest ('DSTO').

        The longest name wins, so 'IEC 61850-7-420' is preferred to an entry named 'IEC 61850'.
        """
        words = text.split()
        for count in range(len(words), 0, -1):
            standard = self.get(" ".join(words[:count]))
            if standard is not None:
                return standard, " ".join(words[count:])
        return None

    def spellings(self) -> list[str]:
        """Every id and alias, for 'did you mean' hints."""
        return [name for s in self.standards.values() for name in (s.id, *s.aliases)]

    def suggestion(self, text: str) -> str:
        """' did you mean ...' for an unknown reference, trying the whole text and its first words."""
        words = text.split()
        for count in range(min(len(words), 4), 0, -1):
            hint = did_you_mean(" ".join(words[:count]), self.spellings())
            if hint:
                return hint
        return ""


def catalog_dir() -> Path:
    """The shipped catalog: the checkout's `standards_catalog/`, or the copy inside the wheel."""
    checkout = PACKAGE.parent / "standards_catalog"
    return checkout if (PACKAGE.parent / "pyproject.toml").is_file() and checkout.is_dir() else PACKAGE / "standards_catalog"


def load_catalog(user_dirs: Sequence[Path] = ()) -> tuple[Catalog, list[Diagnostic]]:
    """The shipped catalog plus each user folder, in order, with every problem found on the way.

    A user entry replaces a shipped one only when it says `override: true`; any other clash of ids
    or aliases is an error, never a silent merge.
    """
    catalog = Catalog()
    problems: list[Diagnostic] = []
    for directory, shipped in [(catalog_dir(), True), *((d, False) for d in user_dirs)]:
        files, found = discover([directory])
        problems += found
        for path in files:
            try:
                source = read_source(path)
                document = Document(source, validate(source, parse_mapping(source, CATALOG_HINT), CatalogFile))
            except BadInput as exc:
                problems.append(exc.diagnostic)
                continue
            except BadInputs as exc:
                problems.extend(exc.diagnostics)
                continue
            problems += _add_file(catalog, document, shipped)
    problems += _check_references(catalog)
    return catalog, problems


CATALOG_HINT = "a catalog file holds 'sources:' and 'standards:' lists; see standards_catalog/ in sgam"


def _add_file(catalog: Catalog, document: Document[CatalogFile], shipped: bool) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for index, source in enumerate(document.model.sources):
        origin = Origin(document, ("sources", index), shipped)
        if source.id in catalog.sources:
            problems.append(origin.diagnostic(
                ERROR, "duplicate-id", f"source {source.id!r} is already defined", "give it another id", "id"))
        else:
            catalog.sources[source.id] = source
    for index, standard in enumerate(document.model.standards):
        problems += _add_standard(catalog, standard, Origin(document, ("standards", index), shipped))
    return problems


def _add_standard(catalog: Catalog, standard: Standard, origin: Origin) -> list[Diagnostic]:
    key = name_key(standard.id)
    existing_id = catalog.names.get(key)
    if existing_id is not None:
        first = catalog.origins[existing_id]
        replaces = existing_id == standard.id or name_key(existing_id) == key
        if not (standard.override and replaces and first.shipped and not origin.shipped):
            what = "id" if replaces else f"alias of {existing_id!r}"
            hint = ("set 'override: true' to replace the shipped entry on purpose, or choose another id"
                    if first.shipped and not origin.shipped and replaces else "choose another id")
            return [origin.diagnostic(ERROR, "catalog-conflict",
                                      f"{standard.id!r} is already the {what} at {first.where}", hint, "id")]
        _remove(catalog, existing_id)
        catalog.overridden[standard.id] = first
    elif standard.override:
        return [origin.diagnostic(WARNING, "override-nothing",
                                  f"{standard.id!r} says override: true but replaces no shipped entry",
                                  "remove 'override: true', or spell the shipped id exactly", "override")]
    problems = []
    catalog.standards[standard.id] = standard
    catalog.origins[standard.id] = origin
    catalog.names[key] = standard.id
    for index, alias in enumerate(standard.aliases):
        taken = catalog.names.get(name_key(alias))
        if taken is not None and taken != standard.id:
            problems.append(origin.diagnostic(
                ERROR, "catalog-conflict", f"alias {alias!r} already names {taken!r} ({catalog.origins[taken].where})",
                "an alias must stand for one standard only; drop or change one of them", "aliases", index))
        else:
            catalog.names[name_key(alias)] = standard.id
    return problems


def _remove(catalog: Catalog, standard_id: str) -> None:
    del catalog.standards[standard_id]
    del catalog.origins[standard_id]
    catalog.names = {key: value for key, value in catalog.names.items() if value != standard_id}


def _check_references(catalog: Catalog) -> list[Diagnostic]:
    """Relations name existing entries by their canonical id; positions name known sources."""
    problems = []
    for standard in catalog.standards.values():
        origin = catalog.origins[standard.id]
        for relation, targets in standard.relations:
            for index, target in enumerate(targets):
                problems += _check_relation(catalog, standard, origin, relation, index, target)
        for index, position in enumerate(standard.positions):
            if position.source not in catalog.sources:
                problems.append(origin.diagnostic(
                    ERROR, "unknown-source", f"position source {position.source!r} is not in any sources list",
                    did_you_mean(position.source, catalog.sources) + "add it to sources.yaml",
                    "positions", index, "source"))
    return problems


def _check_relation(
    catalog: Catalog, standard: Standard, origin: Origin, relation: str, index: int, target: str
) -> list[Diagnostic]:
    where = ("relations", relation, index)
    found = catalog.get(target)
    if found is None:
        return [origin.diagnostic(ERROR, "unknown-standard", f"{relation} names {target!r}, which is not in the catalog",
                                  catalog.suggestion(target) + "use a catalog id", *where)]
    if found.id == standard.id:
        return [origin.diagnostic(ERROR, "self-relation", f"{standard.id!r} {relation} itself", "remove it", *where)]
    if found.id != target:
        return [origin.diagnostic(WARNING, "alias-in-relation", f"{relation} names {found.id!r} by its alias {target!r}",
                                  f"write the canonical id {found.id!r}", *where)]
    if relation == "supersedes" and found.status is not StandardStatus.superseded:
        return [origin.diagnostic(WARNING, "status", f"{standard.id!r} supersedes {found.id!r}, whose status is "
                                  f"{found.status.value}", "mark the older entry 'status: superseded'", *where)]
    if relation == "secured_by" and StandardKind.security not in found.kinds:
        return [origin.diagnostic(WARNING, "kind", f"secured_by names {found.id!r}, which is not of kind security",
                                  "add 'security' to its kinds, or use pairs_with", *where)]
    return []
