"""Synthetic repositories of use cases, for benchmarks.

`python benchmarks/synthetic.py N OUTDIR [--seed S]` writes

    OUTDIR/library.yaml                       one shared library (actors and components)
    OUTDIR/usecases/NNN/UC-xxxxx.yaml         N use cases, 1,000 per folder

Each use case is shaped like a real IEC 62559-2 one: every section of the template filled in,
10 actors of its own (2 business actors, 8 system actors) plus 2 of the library's, 3 scenarios of
9, 10 and 11 steps, 12 information objects, 9 requirements in 3 categories, and an SGAM
placement with roles, goals, functions, 6 components whose cells host the actors, and the
communication links that every information exchange needs. The files validate with no error and
no warning under `sgam validate`.

Output is deterministic: use case number i depends only on the seed and on i, not on N, so a
repository of 1,000 is the first 1,000 files of one of 10,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

DEFAULT_SEED = 62559
PER_FOLDER = 1000
LIBRARY_NAME = "grid-common"

DOMAINS = ["Generation", "Transmission", "Distribution", "DER", "Customer Premises"]
ZONES = ["Process", "Field", "Station", "Operation", "Enterprise", "Market"]
SERVICES = ["CREATE", "GET", "CHANGE", "DELETE", "CANCEL", "CLOSE", "EXECUTE", "REPORT", "TIMER", "REPEAT"]
CLUSTERS = [
    "generation-management", "grid-monitoring", "substation-automation", "wampac", "distribution-automation",
    "outage-management", "der-operation", "flexibility-management", "smart-metering", "home-building-ems",
    "e-mobility", "micro-grids", "market", "asset-management", "weather-forecast", "administration",
]
NETWORKS = list("ABCDEFGHIJKLM")
APPLICATION_AREAS = [
    "Flexibility management", "Distribution automation", "Smart metering", "E-mobility", "DER operation",
    "Micro grids", "Market operation", "Outage management", "Asset management", "Home and building energy management",
]
ORGANISATIONS = [
    "dso.example", "tso.example", "aggregator.example", "retailer.example", "customer.example",
    "cpo.example", "metering.example", "market.example", "vpp.example", "weather.example",
]

# (id, name, type) of the actors a use case picks from; business actors first.
BUSINESS_ACTORS = [
    ("prosumer", "Prosumer", "person"), ("ev-driver", "EV driver", "person"),
    ("field-crew", "Field crew", "person"), ("control-room-operator", "Control room operator", "person"),
    ("grid-operator", "Distribution system operator", "organisation"),
    ("balance-responsible", "Balance responsible party", "organisation"),
    ("market-operator", "Market operator", "organisation"), ("regulator", "Regulator", "organisation"),
    ("flex-provider", "Flexibility service provider", "role"), ("energy-supplier", "Energy supplier", "role"),
]
SYSTEM_ACTORS = [
    ("dms", "Distribution management system", "system"), ("adms", "Advanced DMS", "system"),
    ("flex-platform", "Flexibility platform", "system"), ("vpp-controller", "Virtual power plant controller", "system"),
    ("mdms", "Meter data management system", "system"), ("hes", "Head-end system", "system"),
    ("cpms", "Charge point management system", "system"), ("forecast-service", "Forecast service", "application"),
    ("settlement-engine", "Settlement engine", "application"), ("billing", "Billing application", "application"),
    ("outage-app", "Outage management application", "application"), ("gis", "Geographic information system", "system"),
    ("hems", "Home energy management system", "system"), ("bems", "Building energy management system", "system"),
    ("smart-meter", "Smart meter", "device"), ("pv-inverter", "PV inverter", "device"),
    ("battery-inverter", "Battery inverter", "device"), ("charge-point", "Charge point", "device"),
    ("heat-pump", "Heat pump controller", "device"), ("rtu", "Remote terminal unit", "device"),
    ("protection-ied", "Protection IED", "device"), ("feeder-ied", "Feeder automation IED", "device"),
    ("pmu", "Phasor measurement unit", "device"), ("der-gateway", "DER gateway", "device"),
]
COMPONENT_TYPES = [
    "SCADA server", "EMS", "DERMS", "Head-end system", "MDM server", "Cloud platform", "Gateway", "IED", "RTU",
    "Inverter", "Smart meter", "Charge point", "Data concentrator", "Application server", "Controller",
]
PROTOCOLS = [
    ["IEC 61850-8-1 MMS", "TCP/IP"], ["IEC 60870-5-104", "TCP/IP"], ["OpenADR 2.0b", "HTTPS"],
    ["IEEE 2030.5", "HTTPS"], ["DLMS/COSEM", "TCP/IP"], ["OCPP 2.0.1", "WebSocket", "TLS"],
    ["IEC 61968-100", "TLS", "TCP/IP"], ["Modbus TCP", "TCP/IP"], ["MQTT 5", "TLS", "TCP/IP"], ["XMPP", "TLS", "TCP/IP"],
    ["SunSpec Modbus", "TCP/IP"], ["IEC 62746-10-1", "HTTPS"],
]
TRANSPORTS = ["TLS over TCP/IP", "IPsec VPN", "LTE-M private APN", "fibre", "PLC G3", "RF mesh", "Ethernet LAN"]
DATA_MODELS = [
    "IEC 61850-7-420 DSTO", "IEC 61850-7-4 MMXU", "IEC 61968-9 MeterReadings", "IEC 62325-451-2 Schedule",
    "OpenADR 2.0b oadrEvent", "OpenADR 2.0b oadrReport", "IEC 61970-301 CIM", "IEEE 2030.5 DERControl",
    "OCPP 2.0.1 SetChargingProfile", "DLMS/COSEM Profile Generic", "IEC 62746-4 flexibility offer",
    "SunSpec 701 DER AC measurement",
]
INFORMATION_NAMES = [
    "Flexibility request", "Flexibility offer", "Activation signal", "Activation acknowledgement", "Meter reading",
    "Load profile", "Generation forecast", "Load forecast", "Grid topology", "Congestion forecast",
    "Set point", "Operating schedule", "Status report", "Alarm", "Event log", "Settlement report",
    "Tariff signal", "Price signal", "Charging profile", "Session report", "Measurement request", "Measurements",
    "Switching order", "Outage notification", "Asset register extract", "Baseline", "Bid", "Market result",
]
REQUIREMENT_CATEGORIES = [
    ("security", "Security", ["Mutual authentication", "Encrypted transport", "Role-based access control",
                              "Audit trail", "Key rotation"]),
    ("performance", "Performance", ["Latency below 2 s", "Throughput of 1,000 messages per second",
                                    "Availability 99.9 %", "Data freshness below 15 min"]),
    ("quality", "Data quality", ["Validated measurements", "Time-stamped to 1 s", "Gap filling rules",
                                 "Traceable origin"]),
    ("privacy", "Privacy", ["Consent recorded", "Personal data minimised", "Retention limited to 13 months"]),
    ("interop", "Interoperability", ["Canonical data model", "Conformance tested", "Versioned interface"]),
]
STANDARDS = [
    ("standard", "IEC 62559-2:2015 Use case methodology - Part 2: Definition of the templates", "IEC"),
    ("standard", "IEC 61850-7-420:2021 DER logical nodes", "IEC"),
    ("standard", "IEC 62746-10-1:2018 OpenADR 2.0b profile", "IEC"),
    ("standard", "IEC 61968-9:2013 Interfaces for meter reading and control", "IEC"),
    ("regulation", "Regulation (EU) 2019/943 on the internal market for electricity", "EU"),
    ("regulation", "Directive (EU) 2019/944 common rules for the internal market for electricity", "EU"),
    ("report", "SG-CG/M490/G Smart Grid Set of Standards v3.1", "CEN-CENELEC-ETSI"),
    ("contract", "Flexibility services framework agreement", "DSO"),
]
WORDS = [
    "the", "operator", "grid", "flexibility", "forecast", "schedule", "meter", "aggregator", "request", "response",
    "device", "platform", "signal", "measurement", "congestion", "feeder", "voltage", "capacity", "market",
    "settlement", "customer", "consent", "controller", "activation", "baseline", "report", "interval", "window",
    "portfolio", "asset", "setpoint", "constraint", "limit", "notification", "system", "data", "quality", "latency",
    "availability", "exchange", "confirms", "validates", "publishes", "computes", "receives", "sends",
]


def _sentence(rng: random.Random, low: int = 5, high: int = 12) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _cells(rng: random.Random, count: int) -> list[dict[str, str]]:
    chosen = rng.sample([(d, z) for d in DOMAINS for z in ZONES], count)
    return [{"domain": d, "zone": z} for d, z in chosen]


# --- the shared library ----------------------------------------------------------------------

LIBRARY_ACTORS = [
    ("lib.tso-ems", "TSO energy management system", "system", "tso.example"),
    ("lib.dso-scada", "DSO SCADA", "system", "dso.example"),
    ("lib.market-platform", "Market platform", "system", "market.example"),
    ("lib.weather-api", "Weather data service", "application", "weather.example"),
    ("lib.datahub", "Metering data hub", "system", "metering.example"),
    ("lib.registry", "Flexibility resource registry", "application", "dso.example"),
    ("lib.pki", "Public key infrastructure", "system", "dso.example"),
    ("lib.ev-roaming", "EV roaming hub", "system", "cpo.example"),
    ("lib.customer-portal", "Customer portal", "application", "retailer.example"),
    ("lib.bsp-gateway", "Balancing service provider gateway", "system", "aggregator.example"),
    ("lib.grid-model", "Common grid model service", "application", "tso.example"),
    ("lib.alarm-hub", "Alarm and event hub", "system", "dso.example"),
]
LIBRARY_COMPONENTS = [  # id, name, type, hosted actors
    ("lib.tso-cc", "TSO control centre", "EMS", ["lib.tso-ems", "lib.grid-model"]),
    ("lib.dso-cc", "DSO control centre", "SCADA server", ["lib.dso-scada", "lib.alarm-hub"]),
    ("lib.market-dc", "Market operator data centre", "Application server", ["lib.market-platform"]),
    ("lib.cloud-weather", "Weather cloud", "Cloud platform", ["lib.weather-api"]),
    ("lib.datahub-dc", "Data hub data centre", "Application server", ["lib.datahub"]),
    ("lib.dso-it", "DSO enterprise IT", "Application server", ["lib.registry", "lib.pki"]),
    ("lib.roaming-cloud", "Roaming hub cloud", "Cloud platform", ["lib.ev-roaming"]),
    ("lib.retail-it", "Retailer IT", "Application server", ["lib.customer-portal"]),
    ("lib.bsp-dc", "BSP data centre", "Gateway", ["lib.bsp-gateway"]),
]


def library(seed: int = DEFAULT_SEED) -> dict[str, Any]:
    rng = random.Random(f"{seed}:library")
    return {
        "library": LIBRARY_NAME,
        "description": "Actors and components that many use cases share.",
        "actors": [
            {"id": id_, "name": name, "type": type_, "description": _text(rng, 1), "organisation": org}
            for id_, name, type_, org in LIBRARY_ACTORS
        ],
        "components": [
            {"id": id_, "name": name, "type": type_, "description": _text(rng, 1),
             "cells": _cells(rng, rng.randint(1, 2)), "hosts": hosts}
            for id_, name, type_, hosts in LIBRARY_COMPONENTS
        ],
    }


_LIBRARY_HOST = {actor: component for component, _, _, hosts in LIBRARY_COMPONENTS for actor in hosts}


# --- one use case ----------------------------------------------------------------------------


def usecase(index: int, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Use case number `index` (from 1), as plain data ready to dump to YAML."""
    rng = random.Random(f"{seed}:{index}")
    uc_id = f"UC-{index:05d}"
    area = rng.choice(APPLICATION_AREAS)

    business = rng.sample(BUSINESS_ACTORS, 2)
    systems = rng.sample(SYSTEM_ACTORS, 8)
    borrowed = rng.sample([a[0] for a in LIBRARY_ACTORS], 2)  # library actors the use case talks to
    actors = [
        {"id": id_, "name": name, "type": type_, "description": _text(rng, 2),
         "organisation": rng.choice(ORGANISATIONS),
         **({"further_information": _sentence(rng)} if rng.random() < 0.3 else {})}
        for id_, name, type_ in (*business, *systems)
    ]
    business_ids = [a[0] for a in business]
    system_ids = [a[0] for a in systems]

    # Components: 6 of the use case's own host the 8 system actors (one each, two share).
    component_ids = [f"{a}-node" for a in system_ids[:6]]
    hosts: dict[str, list[str]] = {c: [a] for c, a in zip(component_ids, system_ids[:6])}
    for actor in system_ids[6:]:
        hosts[rng.choice(component_ids)].append(actor)
    host_of = {a: c for c, actors_ in hosts.items() for a in actors_} | {a: _LIBRARY_HOST[a] for a in borrowed}
    system_names = {id_: name for id_, name, _ in systems}
    components = [
        {"id": c, "name": f"{system_names[hosts[c][0]]} host",
         "type": rng.choice(COMPONENT_TYPES), "description": _sentence(rng),
         "cells": _cells(rng, rng.choice((1, 1, 2))), "hosts": hosts[c]}
        for c in component_ids
    ]

    # Who talks to whom: a spanning tree over the 10 exchanging actors plus 3 more pairs.
    talkers = system_ids + borrowed
    rng.shuffle(talkers)
    pairs = [(talkers[k], rng.choice(talkers[:k])) for k in range(1, len(talkers))]
    while len(pairs) < len(talkers) + 2:
        a, b = rng.sample(talkers, 2)
        if (a, b) not in pairs and (b, a) not in pairs:
            pairs.append((a, b))

    info_ids = [f"info-{k + 1:02d}" for k in range(12)]
    info_names = rng.sample(INFORMATION_NAMES, 12)
    categories = rng.sample(REQUIREMENT_CATEGORIES, 3)
    requirement_ids = [f"{cat}-{k + 1}" for cat, _, _ in categories for k in range(3)]
    function_ids = [f"fn-{k + 1}" for k in range(4)]
    role_ids = [f"role-{k + 1}" for k in range(3)]

    # Scenarios: every pair and every information object is used at least once.
    scenarios: list[dict[str, Any]] = []
    step_total = 0
    links_needed: dict[frozenset[str], tuple[str, str]] = {}
    for s, count in enumerate((9, 10, 11)):
        steps = []
        for n in range(1, count + 1):
            producer, receiver = pairs[step_total % len(pairs)] if step_total < len(pairs) else rng.choice(pairs)
            if rng.random() < 0.5:
                producer, receiver = receiver, producer
            information = [info_ids[step_total % 12]] if step_total < 12 else rng.sample(info_ids, rng.randint(1, 2))
            step_total += 1
            ends = host_of[producer], host_of[receiver]
            if ends[0] != ends[1]:
                links_needed.setdefault(frozenset(ends), ends)
            steps.append({
                "number": n if rng.random() < 0.9 else f"{n}",
                "event": _sentence(rng, 3, 6),
                "activity": rng.choice(("Send", "Request", "Report", "Confirm", "Compute", "Publish")) + " "
                + info_names[info_ids.index(information[0])].lower(),
                "description": _text(rng, rng.randint(1, 2)),
                "service": rng.choice(SERVICES),
                "producer": producer,
                "receiver": receiver,
                "information": information,
                "requirements": rng.sample(requirement_ids, rng.randint(0, 2)),
                "function": rng.choice(function_ids),
            })
        scenarios.append({
            "id": ("normal", "degraded", "recovery")[s],
            "name": ("Normal operation", "Degraded operation", "Recovery")[s],
            "description": _text(rng, 2),
            "primary_actor": rng.choice(business_ids + system_ids),
            "triggering_event": _sentence(rng, 4, 8),
            "pre_condition": _sentence(rng),
            "post_condition": _sentence(rng),
            "steps": steps,
        })

    links = [
        {"id": f"link-{k + 1}", "between": list(ends), "protocols": rng.choice(PROTOCOLS),
         "transport": rng.choice(TRANSPORTS), "network": rng.choice(NETWORKS), "description": _sentence(rng, 4, 8)}
        for k, ends in enumerate(links_needed.values())
    ]
    references = rng.sample(STANDARDS, 3)
    objectives = [_sentence(rng, 5, 10) for _ in range(3)]
    today = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 600))
    return {
        "id": uc_id,
        "name": f"{area}: {rng.choice(INFORMATION_NAMES).lower()} exchange {index}",
        "domains": [area],
        "versions": [
            {"version": "0.1", "date": today, "author": "Synthetic author", "changes": "First draft",
             "approval_status": "draft"},
            {"version": "1.0", "date": today + dt.timedelta(days=30), "author": "Synthetic reviewer",
             "changes": _sentence(rng), "approval_status": "final"},
        ],
        "scope": _text(rng, 3),
        "objectives": objectives,
        "narrative": {"short": _text(rng, 2), "complete": _text(rng, 5)},
        "kpis": [
            {"id": f"kpi-{k + 1}", "name": _sentence(rng, 2, 4), "description": _sentence(rng),
             "objectives": [objectives[k]]}
            for k in range(2)
        ],
        "conditions": [
            {"actor": actor, "triggering_event": _sentence(rng, 4, 8), "pre_condition": _sentence(rng),
             "assumption": _sentence(rng)}
            for actor in business_ids
        ],
        "classification": {
            "relations": [{"use_case": f"UC-{rng.randint(1, 99999):05d}", "kind": rng.choice(("includes", "related"))}],
            "level_of_depth": rng.choice(("high-level", "primary", "secondary", "detailed")),
            "prioritisation": rng.choice(("high", "medium", "low")),
            "generic": rng.choice(("generic", "regional", "national")),
            "nature": rng.choice(("technical", "business")),
            "keywords": rng.sample(WORDS, 4),
            "cluster": rng.choice(CLUSTERS),
        },
        "remarks": _sentence(rng),
        "diagrams": [{"title": "Sequence diagram", "file": f"diagrams/{uc_id}.svg", "description": _sentence(rng)}],
        "actors": actors,
        "references": [
            {"id": f"ref-{k + 1}", "type": type_, "reference": text, "status": "published", "impact": _sentence(rng),
             "originator": originator}
            for k, (type_, text, originator) in enumerate(references)
        ],
        "scenarios": scenarios,
        "information": [
            {"id": id_, "name": name, "description": _sentence(rng),
             "requirements": rng.sample(requirement_ids, rng.randint(0, 2)),
             "data_models": rng.sample(DATA_MODELS, rng.randint(0, 2))}
            for id_, name in zip(info_ids, info_names)
        ],
        "requirements": [
            {"category": cat, "name": name, "description": _sentence(rng),
             "items": [{"id": f"{cat}-{k + 1}", "name": items[k], "description": _sentence(rng)} for k in range(3)]}
            for cat, name, items in categories
        ],
        "terms": [{"term": rng.choice(INFORMATION_NAMES), "definition": _sentence(rng)} for _ in range(3)],
        "custom": [{"key": "owner", "value": rng.choice(ORGANISATIONS)},
                   {"key": "maturity", "value": rng.choice(("pilot", "field test", "production"))}],
        "sgam": {
            "roles": [
                {"id": role_ids[0], "name": "Requesting party", "played_by": [business_ids[0], system_ids[0]]},
                {"id": role_ids[1], "name": "Providing party", "played_by": [business_ids[1], system_ids[1]]},
                {"id": role_ids[2], "name": "Facilitator", "description": _sentence(rng),
                 "played_by": [system_ids[2]], "cells": _cells(rng, 1)},
            ],
            "goals": [
                {"id": "goal-1", "description": _sentence(rng), "roles": role_ids[:2]},
                {"id": "goal-2", "description": _sentence(rng), "roles": [role_ids[2]]},
            ],
            "functions": [
                {"id": f, "name": f"Function {k + 1}", "description": _sentence(rng),
                 "realised_by": rng.sample(component_ids, 1) + rng.sample(system_ids, rng.randint(0, 1)),
                 **({"cells": _cells(rng, 1)} if k == 0 else {})}
                for k, f in enumerate(function_ids)
            ],
            "components": components,
            "links": links,
        },
    }


# --- writing ---------------------------------------------------------------------------------


class _Style(_Dumper):  # type: ignore[misc, valid-type]
    """Mappings in block style; short lists of plain values in flow style, like `[a, b]`."""


def _represent_list(dumper: _Style, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in data) and sum(len(str(i)) for i in data) < 60
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


def _represent_dict(dumper: _Style, data: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)


_Style.add_representer(list, _represent_list)
_Style.add_representer(dict, _represent_dict)


def dump(data: dict[str, Any]) -> str:
    """YAML as people write it: block mappings, short lists of plain values in flow style."""
    return yaml.dump(data, Dumper=_Style, sort_keys=False, allow_unicode=True, width=100)


def usecase_path(root: Path, index: int) -> Path:
    return root / "usecases" / f"{(index - 1) // PER_FOLDER:03d}" / f"UC-{index:05d}.yaml"


def write_repository(root: Path, count: int, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the library and `count` use cases under `root`; the paths written, library first."""
    root.mkdir(parents=True, exist_ok=True)
    written = [root / "library.yaml"]
    written[0].write_text(dump(library(seed)), encoding="utf-8")
    for index in range(1, count + 1):
        path = usecase_path(root, index)
        if index % PER_FOLDER == 1 or index == 1:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(usecase(index, seed)), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="number of use cases")
    parser.add_argument("outdir", type=Path, help="folder to write into (created if need be)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("count must be 0 or more")
    paths = write_repository(args.outdir, args.count, args.seed)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths) - 1} use case(s) and 1 library to {args.outdir} ({size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
