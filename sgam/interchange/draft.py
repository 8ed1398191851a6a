"""What a reader found in a source file, as text and where it stands; nothing interpreted yet.

Both readers (Excel template, IEC 62559-3 XML) produce these plain objects; `build` turns them
into a `UseCase`. Each entry carries `where` (sheet!cell or an XML path and line) so that every
warning about it can say where to look.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Where:
    """A place in the source: 'Sheet!C5', or an XML path with its line."""

    place: str
    line: int | None = None


@dataclass
class Text:
    """A value as written, and where."""

    value: str
    where: Where


@dataclass
class DraftVersion:
    number: str
    date: str
    author: str
    changes: str
    status: str
    where: Where


@dataclass
class DraftKpi:
    identifier: str
    name: str
    description: str
    objectives: list[str]
    where: Where


@dataclass
class DraftDiagram:
    name: str
    kind: str
    uri_type: str
    uri: str
    where: Where


@dataclass
class DraftActor:
    key: str  # how steps refer to it: an mRID or id in XML; the name in Excel
    name: str
    type: str
    description: str
    further: str
    grouping: str  # Excel "Grouping", XML ActorGrouping name: sometimes an SGAM zone or domain
    where: Where
    placement: list[Text] = field(default_factory=list)  # SGAM domains/zones given for this actor


@dataclass
class DraftReference:
    number: str
    name: str
    type: str
    reference: str
    status: str
    impact: str
    originator: str
    link: str
    where: Where


@dataclass
class DraftScenario:
    key: str
    number: str
    name: str
    description: str
    primary_actor: str
    triggering_event: str
    pre_condition: str
    post_condition: str
    where: Where


@dataclass
class DraftStep:
    scenario: str  # the scenario's key, number or name, as the source refers to it
    number: str
    event: str
    activity: str
    description: str
    service: str
    producer: str
    receiver: str
    information: list[str]
    requirements: list[str]
    where: Where
    scenario_number: str = ""  # Excel's 'Reference to Scenario number', tried before the name


@dataclass
class DraftInformation:
    key: str
    identifier: str
    name: str
    description: str
    requirements: list[str]
    where: Where


@dataclass
class DraftRequirement:
    key: str
    identifier: str
    name: str
    description: str


@dataclass
class DraftCategory:
    identifier: str
    name: str
    description: str
    items: list[DraftRequirement]
    where: Where


@dataclass
class DraftCustom:
    """Source data with no field of its own in the model: kept verbatim as section 8 custom information."""

    key: str
    value: str
    reference: str
    where: Where


@dataclass
class Draft:
    """One use case as found in a source file."""

    file: str
    where: Where
    identifier: Text
    name: Text
    area: list[Text] = field(default_factory=list)  # application areas, SGAM domains and zones, all as written
    versions: list[DraftVersion] = field(default_factory=list)
    scope: str = ""
    objectives: list[str] = field(default_factory=list)
    short: str = ""
    complete: str = ""
    kpis: list[DraftKpi] = field(default_factory=list)
    relations: list[str] = field(default_factory=list)
    level_of_depth: str = ""
    prioritisation: str = ""
    generic: str = ""
    nature: str = ""
    keywords: list[str] = field(default_factory=list)
    remarks: str = ""
    diagrams: list[DraftDiagram] = field(default_factory=list)
    actors: list[DraftActor] = field(default_factory=list)
    references: list[DraftReference] = field(default_factory=list)
    scenarios: list[DraftScenario] = field(default_factory=list)
    steps: list[DraftStep] = field(default_factory=list)
    information: list[DraftInformation] = field(default_factory=list)
    requirements: list[DraftCategory] = field(default_factory=list)
    terms: list[tuple[str, str]] = field(default_factory=list)
    custom: list[DraftCustom] = field(default_factory=list)
