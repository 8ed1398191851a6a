"""The fixed vocabularies of the SGAM and of the IEC 62559-2 template.

Sources:
- SGAM axes and layers: CEN-CENELEC-ETSI Smart Grid Coordination Group, "Smart Grid Reference
  Architecture" (Nov 2012), section 7, and the "SGAM User Manual" (SGCG/M490/K, 2014).
- Step services: IEC 62559-2:2015, template section 4.2 ("Service" column).
- Generic use-case clusters: SG-CG "Sustainable Processes" (Nov 2012) and "Smart Grid Set of
  Standards" (SGCG/M490/G v3.1, 2014), list of smart-grid systems and their use cases.
- Communication network types: SG-CG Reference Architecture (2012), section on the
  communication layer (networks A to M).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


class Layer(str, Enum):
    """The five SGAM interoperability layers, top to bottom."""

    business = "business"
    function = "function"
    information = "information"
    communication = "communication"
    component = "component"


class Domain(str, Enum):
    """SGAM domains: the energy conversion chain, left to right on the plane."""

    generation = "Generation"
    transmission = "Transmission"
    distribution = "Distribution"
    der = "DER"
    customer_premises = "Customer Premises"


class Zone(str, Enum):
    """SGAM zones: the power system management hierarchy, bottom to top on the plane."""

    process = "Process"
    field = "Field"
    station = "Station"
    operation = "Operation"
    enterprise = "Enterprise"
    market = "Market"


# Spellings found in SG-CG documents and in published use cases, besides the enum values.
DOMAIN_ALIASES: dict[Domain, tuple[str, ...]] = {
    Domain.generation: ("Bulk Generation", "Centralised Generation", "Centralized Generation", "G"),
    Domain.transmission: ("T",),
    Domain.distribution: ("D",),
    Domain.der: ("Distributed Energy Resources", "Distributed Energy Resource", "Distributed Generation"),
    Domain.customer_premises: ("Customer", "Customer Premise", "Customer Premisses", "CP"),
}

ZONE_ALIASES: dict[Zone, tuple[str, ...]] = {
    Zone.process: ("Pr",),
    Zone.field: ("Fi",),
    Zone.station: ("St",),
    Zone.operation: ("Operations", "Op"),
    Zone.enterprise: ("En",),
    Zone.market: ("Markets", "Mk"),
}


def _key(text: str) -> str:
    """Compare names ignoring case, spaces, hyphens and underscores."""
    return re.sub(r"[\s_\-]+", "", text).casefold()


def _spellings(aliases: dict[E, tuple[str, ...]]) -> dict[str, E]:
    table: dict[str, E] = {}
    for member, others in aliases.items():
        for spelling in (member.value, *others):
            table[_key(spelling)] = member
    return table


_DOMAINS = _spellings(DOMAIN_ALIASES)
_ZONES = _spellings(ZONE_ALIASES)


def parse_domain(text: str) -> Domain | None:
    """The SGAM domain a name or alias stands for, or None."""
    return _DOMAINS.get(_key(text))


def parse_zone(text: str) -> Zone | None:
    """The SGAM zone a name or alias stands for, or None."""
    return _ZONES.get(_key(text))


def accepted_spellings(aliases: dict[E, tuple[str, ...]]) -> list[str]:
    """Every name the loader accepts, canonical names first (for the JSON Schema)."""
    canonical = [member.value for member in aliases]
    return canonical + [alias for others in aliases.values() for alias in others]


class Service(str, Enum):
    """What a step does with the information it exchanges (IEC 62559-2, section 4.2)."""

    CREATE = "CREATE"
    GET = "GET"
    CHANGE = "CHANGE"
    DELETE = "DELETE"
    CANCEL = "CANCEL"
    CLOSE = "CLOSE"
    EXECUTE = "EXECUTE"
    REPORT = "REPORT"
    TIMER = "TIMER"
    REPEAT = "REPEAT"


class ActorType(str, Enum):
    """IEC 62559-2 distinguishes business actors (people, organisations, roles) from system actors."""

    person = "person"
    organisation = "organisation"
    role = "role"
    system = "system"
    device = "device"
    application = "application"


class Cluster(str, Enum):
    """SG-CG generic use-case clusters (smart-grid systems of SGCG/M490/G)."""

    generation_management = "generation-management"
    grid_monitoring = "grid-monitoring"
    substation_automation = "substation-automation"
    wampac = "wampac"
    distribution_automation = "distribution-automation"
    outage_management = "outage-management"
    der_operation = "der-operation"
    flexibility_management = "flexibility-management"
    smart_metering = "smart-metering"
    home_building_ems = "home-building-ems"
    e_mobility = "e-mobility"
    micro_grids = "micro-grids"
    market = "market"
    asset_management = "asset-management"
    weather_forecast = "weather-forecast"
    administration = "administration"


class NetworkType(str, Enum):
    """SG-CG communication network types, tagged on communication links."""

    A = "A"  # subscriber access network
    B = "B"  # neighbourhood network
    C = "C"  # field area network
    D = "D"  # low-end intra-substation network
    E = "E"  # intra-substation network
    F = "F"  # inter-substation network
    G = "G"  # intra-control-centre / intra-data-centre network
    H = "H"  # enterprise network
    I = "I"  # balancing network
    J = "J"  # interchange network
    K = "K"  # trans-regional / trans-national network
    L = "L"  # wide and metropolitan area network
    M = "M"  # industrial fieldbus area network


class Severity(str, Enum):
    error = "error"
    warning = "warning"


class StandardKind(str, Enum):
    """What part of the interoperability problem a standard solves (the SG-CG layers' concerns)."""

    information_model = "information model"
    message_profile = "message profile"
    application_protocol = "application protocol"
    transport = "network/transport"
    security = "security"
    requirement = "requirement/certification"
    method = "method/architecture"


class StandardStatus(str, Enum):
    published = "published"
    draft = "draft"
    withdrawn = "withdrawn"
    superseded = "superseded"


class ExchangeKind(str, Enum):
    """Kinds of information exchange a standard serves; information objects may say which they are."""

    telecontrol = "telecontrol"
    der_control = "DER setpoint/schedule"
    measurement = "measurement report"
    meter_reading = "meter reading"
    dr_event = "DR event"
    market = "market document"
    grid_model = "grid-model exchange"
    ev_charging = "EV charging session"
    protection = "protection"
    phasor = "synchrophasor"
    time_sync = "time synchronisation"
    configuration = "device configuration"
    building_automation = "building automation"
    asset_management = "asset management"
    security_management = "security management"
    customer_data = "customer energy data"
