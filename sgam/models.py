"""The use-case file format: pydantic models for the IEC 62559-2 template plus SGAM placement.

These models are the single source of truth for the YAML files: the loader validates against
them and `sgam schema` generates the JSON Schema from them. Section numbers refer to the
IEC 62559-2:2015 template.

Ids are local to a file. A reference (a step's producer, a component's hosted actors, ...) names
an id of the same file, or of a shared library file (`Library`) in the same repository.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from sgam.enums import (
    DOMAIN_ALIASES,
    ZONE_ALIASES,
    ActorType,
    Cluster,
    Domain,
    ExchangeKind,
    NetworkType,
    Service,
    Zone,
    accepted_spellings,
    parse_domain,
    parse_zone,
)

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]*$"
Id = Annotated[
    str,
    Field(pattern=ID_PATTERN, description="Identifier: a letter, then letters, digits, '_', '.' or '-'."),
]


def _normalise(parse: Any, kind: str, legal: list[str]) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # let pydantic report the type error
        member = parse(value)
        if member is None:
            raise PydanticCustomError(
                "sgam_name", "unknown SGAM {kind} {quoted}; legal {kind}s: {names}",
                {"kind": kind, "quoted": repr(value), "legal": legal, "names": ", ".join(legal)},
            )
        return member

    return BeforeValidator(check)


SgamDomain = Annotated[
    Domain,
    _normalise(parse_domain, "domain", [d.value for d in Domain]),
    WithJsonSchema({"type": "string", "enum": accepted_spellings(DOMAIN_ALIASES)}),
]
SgamZone = Annotated[
    Zone,
    _normalise(parse_zone, "zone", [z.value for z in Zone]),
    WithJsonSchema({"type": "string", "enum": accepted_spellings(ZONE_ALIASES)}),
]


def _number_as_text(value: Any) -> Any:
    # Step numbers are written bare in YAML (1, 2) or dotted ("2.1"); keep them all as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


STEP_PATTERN = r"^\d+(\.\d+)*[a-z]?$"
StepNumber = Annotated[
    str,
    BeforeValidator(_number_as_text),
    Field(pattern=STEP_PATTERN),
    WithJsonSchema({
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": STEP_PATTERN}],
        "description": "Step number: 1, 2, 2.1, 3a ...",
    }),
]


StandardRef = Annotated[
    str,
    Field(
        min_length=1,
        description="A standard from the catalog (id or alias), optionally followed by a detail: "
        "'IEC 61850-7-420 DSTO'. `sgam standards list` shows the names.",
    ),
]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key would otherwise lose data silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Cell(Strict):
    """One cell of the SGAM plane."""

    domain: SgamDomain
    zone: SgamZone


Cells = Annotated[list[Cell], Field(description="SGAM (domain, zone) cells the element sits in.")]


# --- Section 1: description of the use case -------------------------------------------------


class Version(Strict):
    """Section 1.2: one entry of the version history."""

    version: str
    date: dt.date
    author: str
    changes: str = ""
    approval_status: str = Field("draft", description="draft, for comments, for voting, final ...")


class Kpi(Strict):
    """Section 1.5: key performance indicator."""

    id: Id
    name: str
    description: str
    objectives: list[str] = Field(default_factory=list, description="Objectives this KPI measures.")


class Condition(Strict):
    """Section 1.6: use-case conditions, assumptions and prerequisites."""

    actor: Id = Field(description="Actor the condition concerns.")
    triggering_event: str = ""
    pre_condition: str = ""
    assumption: str = ""


class Relation(Strict):
    """Section 1.7: relation to another use case."""

    use_case: str = Field(description="Id of the related use case (may live outside this repository).")
    kind: str = Field("related", description="includes, extends, specialises, related ...")


class Classification(Strict):
    """Section 1.7: classification information."""

    relations: list[Relation] = Field(default_factory=list)
    level_of_depth: str = Field("", description="high-level, primary, secondary, detailed ...")
    prioritisation: str = ""
    generic: str = Field("", description="Generic, regional or national relation.")
    nature: str = Field("", description="Nature of the use case: technical, business, ...")
    keywords: list[str] = Field(default_factory=list)
    cluster: Cluster | None = Field(None, description="SG-CG generic use-case cluster.")


class Narrative(Strict):
    """Section 1.4."""

    short: str
    complete: str


class Diagram(Strict):
    """Section 2: a diagram of the use case (a file, or a description of one)."""

    title: str
    file: str = ""
    description: str = ""


# --- Section 3: actors and references --------------------------------------------------------


class Actor(Strict):
    """Section 3.1: a business or system actor."""

    id: Id
    name: str
    type: ActorType
    description: str
    organisation: str = Field(
        description="Party the actor belongs to (a DNS-like name); it becomes the actor's XMPP domain."
    )
    further_information: str = ""


class Reference(Strict):
    """Section 3.2: a standard, regulation or document the use case relies on."""

    id: Id
    type: str = Field(description="standard, regulation, report, contract ...")
    reference: str = Field(description="Document code and title, e.g. 'IEC 62746-10-1:2018'.")
    status: str = ""
    impact: str = ""
    originator: str = ""
    link: str = ""


# --- Section 4: step by step analysis --------------------------------------------------------


class Step(Strict):
    """Section 4.2: one step of a scenario."""

    number: StepNumber
    event: str = ""
    activity: str = Field(description="Name of the process or activity.")
    description: str = ""
    service: Service
    producer: Id | None = Field(None, description="Actor that produces the information.")
    receiver: Id | None = Field(None, description="Actor that receives the information.")
    information: list[Id] = Field(default_factory=list, description="Ids of the information exchanged.")
    requirements: list[Id] = Field(default_factory=list, description="Ids of requirements (section 6).")
    function: Id | None = Field(None, description="Function (SGAM function layer) the step belongs to.")
    standards: list[StandardRef] = Field(
        default_factory=list, description="Standards this step uses beyond those of its information and links."
    )


class Scenario(Strict):
    """Section 4.1: a scenario and its steps."""

    id: Id
    name: str
    description: str = ""
    primary_actor: Id
    triggering_event: str
    pre_condition: str = ""
    post_condition: str = ""
    steps: list[Step] = Field(min_length=1)


# --- Sections 5 to 8 -------------------------------------------------------------------------


class InformationItem(Strict):
    """One data item of an information object, as the platform's data name conversion table names it.

    Optional: `sgam codegen` finds an information object's items from its `data_models` details in
    the shipped conversion table; an item written here picks or adds a row by hand.
    """

    common: str = Field(
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", description="Common name on the platform, e.g. 'der.active_power'."
    )
    openadr: str | None = Field(
        None, description="OpenADR 2.0b element of the shipped conversion table: 'SIGNAL_NAME/signalType' for an "
        "event signal, 'REPORT_NAME/itemName' for a report item (e.g. 'TELEMETRY_USAGE/powerReal').",
    )
    iec61850: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$",
        description="IEC 61850 reference LN.DO[.DA] in the logical device, e.g. 'FSCH1.EnaReq'.",
    )
    fc: Literal["ST", "MX", "SP", "CF", "CO"] | None = Field(
        None, description="Functional constraint of an IEC 61850 row the shipped table lacks."
    )
    cdc: str | None = Field(None, pattern=r"^[A-Z]{2,4}$", description="Common data class of a new IEC 61850 row "
                            "(MV, ASG, SPC ...).")
    control_model: Literal["direct-with-normal-security", "sbo-with-normal-security", "direct-with-enhanced-security",
                           "sbo-with-enhanced-security"] | None = Field(
        None, description="ctlModel of a new control row (fc CO)."
    )
    kind: Literal["bool", "int", "float", "str"] = Field("float", description="Value type on the platform.")
    unit: str = Field("", description="Unit of the common value (SI base unit, e.g. W).")
    scale: float = Field(1.0, description="common value = protocol value x scale.")
    description: str = ""


class Information(Strict):
    """Section 5: an information object exchanged; its data models place it on the information layer."""

    id: Id
    name: str
    description: str
    requirements: list[Id] = Field(default_factory=list)
    data_models: list[StandardRef] = Field(
        default_factory=list,
        description="Information models that describe it: a catalog standard, then the object in it, "
        "e.g. 'IEC 61850-7-420 DSTO', 'OpenADR 2.0b oadrDistributeEvent'.",
    )
    exchange: ExchangeKind | None = Field(None, description="Kind of exchange, used to rank standard suggestions.")
    items: list[InformationItem] = Field(
        default_factory=list,
        description="Data items for the platform's conversion table; overrides what `data_models` finds.",
    )


class Requirement(Strict):
    id: Id
    name: str
    description: str = ""


class RequirementCategory(Strict):
    """Section 6: requirements grouped by category."""

    category: Id
    name: str
    description: str = ""
    items: list[Requirement] = Field(min_length=1)


class Term(Strict):
    """Section 7: a common term and its definition."""

    term: str
    definition: str


class CustomInformation(Strict):
    """Section 8: custom information as key, value and reference."""

    key: str
    value: str
    reference: str = ""


# --- SGAM placement --------------------------------------------------------------------------


class Role(Strict):
    """Business layer: a business role, and the actors that play it."""

    id: Id
    name: str
    description: str = ""
    played_by: list[Id] = Field(default_factory=list)
    cells: Cells = Field(default_factory=list)


class Goal(Strict):
    """Business layer: a business goal and the roles that pursue it."""

    id: Id
    description: str
    roles: list[Id] = Field(min_length=1)


class Function(Strict):
    """Function layer: a function and the actors or components that realise it."""

    id: Id
    name: str
    description: str = ""
    realised_by: list[Id] = Field(min_length=1)
    cells: Cells = Field(
        default_factory=list, description="Leave empty to place it where its realising components are."
    )


class Component(Strict):
    """Component layer: a device or system, its cells and the actors it hosts."""

    id: Id
    name: str
    type: str = Field(description="EMS, IED, inverter, smart meter, head-end system, ...")
    description: str = ""
    cells: Cells = Field(min_length=1)
    hosts: list[Id] = Field(default_factory=list, description="Actors that run on this component.")


class Link(Strict):
    """Communication layer: a link between two components, with its protocols."""

    id: Id
    between: list[Id] = Field(min_length=2, max_length=2, description="The two components it connects.")
    protocols: list[StandardRef] = Field(
        default_factory=list,
        description="Protocol stack from the catalog, application layer first, security included, e.g. "
        "'IEC 61850-8-2', 'TLS 1.2 mutual authentication'. A link that names none shows up as a gap.",
    )
    transport: str = ""
    network: NetworkType | None = Field(None, description="SG-CG network type A to M.")
    description: str = ""


class Placement(Strict):
    """Where the use case sits on the five SGAM layers."""

    roles: list[Role] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    functions: list[Function] = Field(default_factory=list)
    components: list[Component] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


# --- Files -----------------------------------------------------------------------------------


class UseCase(Strict):
    """One use case in the IEC 62559-2 template, with its SGAM placement."""

    model_config = ConfigDict(title="sgam use case (IEC 62559-2)")

    id: Id = Field(description="Section 1.1: use-case identifier.")
    name: str = Field(description="Section 1.1: name of the use case.")
    domains: list[str] = Field(
        min_length=1, description="Section 1.1: application area(s), e.g. 'Flexibility management'."
    )
    versions: list[Version] = Field(min_length=1)
    scope: str
    objectives: list[str] = Field(min_length=1)
    narrative: Narrative
    kpis: list[Kpi] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    classification: Classification = Field(default_factory=Classification)
    remarks: str = Field("", description="Section 1.8: general remarks.")
    diagrams: list[Diagram] = Field(default_factory=list)
    actors: list[Actor] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(min_length=1)
    information: list[Information] = Field(default_factory=list)
    requirements: list[RequirementCategory] = Field(default_factory=list)
    terms: list[Term] = Field(default_factory=list)
    custom: list[CustomInformation] = Field(default_factory=list)
    sgam: Placement = Field(default_factory=Placement)


class Library(Strict):
    """Actors and components shared by several use cases, referenced from them by id."""

    model_config = ConfigDict(title="sgam shared library")

    library: Id = Field(description="Name of the library.")
    description: str = ""
    actors: list[Actor] = Field(default_factory=list)
    components: list[Component] = Field(default_factory=list)
