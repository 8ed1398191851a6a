"""From a draft (the source's text) to a validated `UseCase`, with a summary of what happened.

Real use cases name actors by free text, number steps loosely and leave required fields blank.
The builder resolves names to ids, numbers steps so that they validate, and fills what the model
requires but the source lacks with a visible placeholder. Nothing is dropped: source text with no
field of its own goes to the custom information (section 8), and each such decision is a located
warning. SGAM domains and zones found in the source travel as custom information under the keys
`sgam:domain` and `sgam:zone` (reference: empty for the use case, else the actor's id), the same
keys the XML export writes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgam.checks import _step_key as step_key
from sgam.diagnostics import Diagnostic
from sgam.enums import ActorType, Service, Severity, parse_domain, parse_zone
from sgam.interchange.draft import (
    Draft,
    DraftActor,
    DraftCustom,
    DraftDiagram,
    DraftReference,
    DraftStep,
    Text,
    Where,
)
from sgam.models import ID_PATTERN, STEP_PATTERN, UseCase

DOMAIN_KEY, ZONE_KEY = "sgam:domain", "sgam:zone"
IDS_KEY, PLACEMENT_KEY, EXTRA_KEY = "sgam:ids", "sgam:placement", "sgam:extra"  # written by xml_write
PLACEHOLDER = "(not given in the source)"
DEFAULT_SERVICE = Service.EXECUTE

# IEC 62559-2 actor types as written in practice -> the model's types.
ACTOR_TYPES: dict[str, ActorType] = {
    "person": ActorType.person, "human": ActorType.person,
    "organisation": ActorType.organisation, "organization": ActorType.organisation, "company": ActorType.organisation,
    "role": ActorType.role, "business": ActorType.role, "business actor": ActorType.role,
    "market role": ActorType.role, "legal entity": ActorType.role,
    "system": ActorType.system, "system actor": ActorType.system, "it system": ActorType.system,
    "device": ActorType.device, "equipment": ActorType.device,
    "application": ActorType.application, "software": ActorType.application,
}
LIST_SEPARATORS = re.compile(r"\s*(?:[,;\n]|\s+/\s+)\s*")
AREA_SEPARATORS = re.compile(r"\s*[,;/\n]\s*|\s+and\s+|\s+-\s+")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%y", "%d.%m.%y")


def split_list(text: str) -> list[str]:
    """'Actor A, Actor B' -> ['Actor A', 'Actor B'] (commas, semicolons, line breaks)."""
    return [part for part in LIST_SEPARATORS.split(text.strip()) if part]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.]+", "-", text.casefold()).strip("-.")[:60].strip("-.")


@dataclass
class Summary:
    """Per file and use case: what was imported, kept verbatim, added, or missing."""

    file: str
    usecase: str
    actors: int = 0
    scenarios: int = 0
    steps: int = 0
    information: int = 0
    added: dict[str, int] = field(default_factory=lambda: {"actors": 0, "scenarios": 0, "steps": 0,
                                                            "information": 0})
    verbatim: int = 0
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "usecase": self.usecase, "actors": self.actors, "scenarios": self.scenarios,
                "steps": self.steps, "information": self.information, "added": self.added,
                "kept_verbatim": self.verbatim, "missing": self.missing}


@dataclass
class Imported:
    model: UseCase
    summary: Summary
    diagnostics: list[Diagnostic]


def parse_date(text: str) -> dt.date | None:
    text = text.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    for form in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


class Builder:
    """Builds one use case; ids are unique within it, use-case ids unique across the run (`taken`)."""

    def __init__(self, draft: Draft, taken: set[str]) -> None:
        self.draft = draft
        self.taken = taken
        self.ids: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.custom: list[dict[str, str]] = []
        self.actors: list[dict[str, Any]] = []
        self.actor_keys: dict[str, str] = {}
        self.info: list[dict[str, Any]] = []
        self.info_keys: dict[str, str] = {}
        self.requirement_keys: dict[str, str] = {}
        self.scenario_keys: dict[str, str] = {}
        self.summary = Summary(draft.file, "")
        # What an sgam export carries for itself (see xml_write): ids by mRID, extra fields, placement.
        carried = {c.key: c for c in draft.custom if c.key in (IDS_KEY, EXTRA_KEY, PLACEMENT_KEY)}
        draft.custom = [c for c in draft.custom if c.key not in carried]
        self.given_ids: dict[str, str] = _json_value(carried.get(IDS_KEY))
        self.extra: dict[str, Any] = _json_value(carried.get(EXTRA_KEY))
        self.placement: dict[str, Any] = _json_value(carried.get(PLACEMENT_KEY))

    # --- helpers ---------------------------------------------------------------------------

    def warn(self, code: str, message: str, where: Where, hint: str = "") -> None:
        if where.line is None:
            self.diagnostics.append(Diagnostic(Severity.warning, code, message, f"{self.draft.file} [{where.place}]",
                                               hint=hint))
        else:
            self.diagnostics.append(Diagnostic(Severity.warning, code, f"{message} (at {where.place})",
                                               self.draft.file, where.line, 1, hint))

    def keep(self, key: str, value: str, reference: str = "") -> None:
        """Keep source text verbatim as custom information."""
        if value.strip():
            self.custom.append({"key": key, "value": value, "reference": reference})
            self.summary.verbatim += 1

    def new_id(self, text: str, prefix: str, where: Where, key: str = "", given: Any = None) -> str:
        """The id an export gave the element, the source's id if valid, else one made from its text.

        Ids are unique within the use case: a second entry with the same id or name (or a name that
        makes the same id) gets `-2`, `-3` ... and a warning, since references by that id or name
        mean the first.
        """
        given = given or self.given_ids.get(key)
        if isinstance(given, str) and re.match(ID_PATTERN, given) and given not in self.ids:
            self.ids.add(given)
            return given
        base = text if re.match(ID_PATTERN, text) else slug(text)
        if not base or not base[0].isalpha():
            base = f"{prefix}-{base}" if base else prefix
        made = _claim(base, self.ids)
        if made != base:
            what = repr(text) if text.strip() else "an entry with no id or name"
            self.warn("duplicate-id", f"{what} gives the id {base!r}, which an earlier entry of this use case "
                      f"already has; imported as {made!r}", where, "ids are unique across actors, scenarios, "
                      "information, requirements, KPIs and references; where two entries of one kind share a "
                      "name, what names it means the first")
        return made

    def missing(self, what: str) -> None:
        if what not in self.summary.missing:
            self.summary.missing.append(what)

    # --- the use case ----------------------------------------------------------------------

    def build(self) -> Imported:
        d = self.draft
        uc_id = self._usecase_id()
        self.summary.usecase = uc_id
        self.summary.actors, self.summary.scenarios = len(d.actors), len(d.scenarios)
        self.summary.steps, self.summary.information = len(d.steps), len(d.information)
        domains = self.extra["domains"] if "domains" in self.extra else self._area(d.area)
        by_column = self.extra.get("actor_ids")  # from an sgam workbook whose actor names repeat
        by_column = by_column if isinstance(by_column, list) and len(by_column) == len(d.actors) else []
        for i, actor in enumerate(d.actors):
            self._actor(actor, given=by_column[i] if by_column else None)
        requirements = self._requirements()
        for info in d.information:
            self._information(info.key, info.identifier, info.name, info.description, info.requirements,
                              info.where)
        scenarios = self._scenarios()
        data: dict[str, Any] = {
            "id": uc_id,
            "name": d.name.value or d.identifier.value or uc_id,
            "domains": domains,
            "versions": self._versions(),
            "scope": d.scope,
            "objectives": d.objectives or [self._placeholder("1.3 objectives")],
            "narrative": {"short": d.short, "complete": d.complete},
            "kpis": [{"id": self.new_id(k.identifier or k.name, "kpi", k.where), "name": k.name or k.identifier,
                      "description": k.description, "objectives": k.objectives} for k in d.kpis],
            "classification": {
                "relations": [{"use_case": r, "kind": "related"} for r in d.relations],
                "level_of_depth": d.level_of_depth, "prioritisation": d.prioritisation, "generic": d.generic,
                "nature": d.nature, "keywords": d.keywords,
            },
            "remarks": d.remarks,
            "diagrams": [self._diagram(i, diagram) for i, diagram in enumerate(d.diagrams)],
            "actors": self.actors,
            "references": [self._reference(r) for r in d.references],
            "scenarios": scenarios,
            "information": self.info,
            "requirements": requirements,
            "terms": [{"term": term, "definition": definition} for term, definition in d.terms],
        }
        for extra in d.custom:
            self.keep(extra.key, extra.value, extra.reference)
        data["custom"] = self.custom
        self._restore(data)
        return Imported(UseCase.model_validate(data), self.summary, self.diagnostics)

    def _restore(self, data: dict[str, Any]) -> None:
        """Put back what an sgam export carried in its `sgam:` custom information."""
        extra = self.extra
        if not extra and not self.placement:
            return
        if self.placement:
            data["sgam"] = self.placement
        data["conditions"] = extra.get("conditions", [])
        classification = data["classification"]
        classification["relations"] = extra.get("relations", classification["relations"])
        classification["keywords"] = extra.get("keywords", classification["keywords"])
        for key in ("generic", "cluster"):
            if key in extra:
                classification[key] = extra[key]
        library = set(extra.get("library_actors", []))
        organisations = extra.get("organisations", {})
        data["actors"] = [{**a, "organisation": organisations.get(a["id"], "")} for a in data["actors"]
                          if a["id"] not in library]
        for scenario in data["scenarios"]:
            for step in scenario["steps"]:
                at = f"{scenario['id']}/{step['number']}"
                step["function"] = extra.get("functions", {}).get(at)
                step["standards"] = extra.get("step_standards", {}).get(at, [])
        if "objectives" in extra:
            data["objectives"] = extra["objectives"]
        if "terms" in extra:
            data["terms"] = extra["terms"]
        if "step_requirements" in extra:
            for scenario in data["scenarios"]:
                for step in scenario["steps"]:
                    step["requirements"] = extra["step_requirements"].get(f"{scenario['id']}/{step['number']}", [])
        for info in data["information"]:
            info["data_models"] = extra.get("data_models", {}).get(info["id"], [])
            info["exchange"] = extra.get("exchanges", {}).get(info["id"])
            info["items"] = extra.get("items", {}).get(info["id"], [])
        for index, description in extra.get("diagram_descriptions", {}).items():
            data["diagrams"][int(index)]["description"] = description
        for kpi in data["kpis"]:
            kpi["objectives"] = extra.get("kpi_objectives", {}).get(kpi["id"], kpi["objectives"])

    def _placeholder(self, what: str) -> str:
        self.missing(what)
        return PLACEHOLDER

    def _usecase_id(self) -> str:
        d = self.draft
        written = d.identifier.value.strip()
        base = written if re.match(ID_PATTERN, written) else slug(written) or slug(d.name.value)
        if not base or not base[0].isalpha():
            base = f"uc-{base}" if base else "usecase"
        if not written:
            self.missing("1.1 ID")
        elif base != written:
            self.warn("id-changed", f"use-case id {written!r} is not a valid id; imported as {base!r}",
                      d.identifier.where, "ids start with a letter and hold letters, digits, '_', '.' and '-'")
            self.keep("1.1 ID", written)
        made = _claim(base, self.taken)
        if made != base:
            self.warn("duplicate-id", f"use-case id {base!r} is already taken by another use case of this import; "
                      f"imported as {made!r}", d.identifier.where, "give each use case its own id (1.1 ID)")
        return made

    def _area(self, texts: list[Text]) -> list[str]:
        """SGAM domains and zones to `sgam:` keys; other areas become the use case's application areas."""
        areas: list[str] = []
        for text in texts:
            others = self._placement(text, "")
            if others:
                areas.extend(others)
                self.keep("1.1 Area/Domain(s)/Zone(s)", text.value)
                self.warn("sgam-area", f"{', '.join(map(repr, others))}: not an SGAM domain or zone; kept as "
                          "application area and verbatim in custom information", text.where,
                          "SGAM domains: Generation, Transmission, Distribution, DER, Customer Premises; zones: "
                          "Process, Field, Station, Operation, Enterprise, Market")
        if areas:
            return list(dict.fromkeys(areas))
        sgam = [c["value"] for c in self.custom if c["key"] == DOMAIN_KEY and not c["reference"]]
        return sgam or [self._placeholder("1.1 area/domain")]

    def _placement(self, text: Text, reference: str) -> list[str]:
        """Record the SGAM domains and zones in the text; return the pieces that are neither."""
        others = []
        for piece in AREA_SEPARATORS.split(text.value.strip()):
            if not piece:
                continue
            domain, zone = parse_domain(piece), parse_zone(piece)
            if domain is not None:
                self.custom.append({"key": DOMAIN_KEY, "value": domain.value, "reference": reference})
            elif zone is not None:
                self.custom.append({"key": ZONE_KEY, "value": zone.value, "reference": reference})
            else:
                others.append(piece)
        return others

    def _versions(self) -> list[dict[str, Any]]:
        versions = []
        for v in self.draft.versions:
            date = parse_date(v.date)
            if date is None:
                date = self._file_date()
                if v.date.strip():
                    self.keep("1.2 Date", v.date, f"version {v.number}")
                    self.warn("date", f"version date {v.date!r} is not a date; the file's date is used",
                              v.where, "write dates as YYYY-MM-DD")
                else:
                    self.missing("1.2 version date")
            versions.append({"version": v.number, "date": date, "author": v.author, "changes": v.changes,
                             "approval_status": v.status or "draft"})
        if not versions:
            self.missing("1.2 version")
            versions.append({"version": "", "date": self._file_date(), "author": "", "changes": PLACEHOLDER})
        return versions

    def _file_date(self) -> dt.date:
        try:
            return dt.date.fromtimestamp(Path(self.draft.file).stat().st_mtime)
        except OSError:
            return dt.date.today()

    def _diagram(self, index: int, diagram: DraftDiagram) -> dict[str, str]:
        title = diagram.name or diagram.uri or f"diagram {index + 1}"
        if not diagram.uri_type.casefold().endswith("image"):  # an image is what a diagram file is by default
            self.keep("2 Diagram URI type", diagram.uri_type, title)
        return {"title": title, "file": diagram.uri, "description": diagram.kind}

    def _reference(self, ref: DraftReference) -> dict[str, str]:
        ref_id = self.new_id(ref.number or ref.name or ref.reference, "ref", ref.where)
        if ref.name and ref.reference and ref.name != ref.reference:
            self.keep("3.2 Name", ref.name, ref_id)
        return {"id": ref_id, "type": ref.type, "reference": ref.reference or ref.name, "status": ref.status,
                "impact": ref.impact, "originator": ref.originator, "link": ref.link}

    # --- actors ----------------------------------------------------------------------------

    def _actor(self, actor: DraftActor, added: bool = False, given: Any = None) -> str:
        actor_id = self.new_id(actor.name or actor.key, "actor", actor.where, actor.key, given)
        kind = ACTOR_TYPES.get(_norm(actor.type))
        if kind is None:
            if actor.type.strip():
                self.keep("3.1 Actor type", actor.type, actor_id)
                self.warn("actor-type", f"actor type {actor.type!r} of {actor.name!r} is not one sgam knows; "
                          "imported as 'role'", actor.where, f"sgam's actor types: {', '.join(t.value for t in ActorType)}")
            elif not added:
                self.missing("3.1 actor type")
            kind = ActorType.role
        if actor.grouping.strip():
            others = self._placement(Text(actor.grouping, actor.where), actor_id)
            if others:
                self.keep("3.1 Grouping", actor.grouping, actor_id)
        for text in actor.placement:
            others = self._placement(text, actor_id)
            if others:
                self.keep("3.1 Area/Domain(s)/Zone(s)", text.value, actor_id)
                self.warn("sgam-area", f"{', '.join(map(repr, others))} of actor {actor.name!r}: not an SGAM "
                          "domain or zone; kept verbatim in custom information", text.where)
        self.actors.append({"id": actor_id, "name": actor.name or actor.key, "type": kind,
                            "description": actor.description, "organisation": "",
                            "further_information": actor.further})
        for key in (actor.key, actor.name, actor_id):
            if key:
                self.actor_keys.setdefault(_norm(key), actor_id)
        return actor_id

    def actor(self, text: str, where: Where, what: str) -> str | None:
        """The id of the actor a text names: by key or name, else each listed name, else a new actor."""
        if not text.strip():
            return None
        found = self.actor_keys.get(_norm(text))
        if found:
            return found
        parts = [self.actor_keys.get(_norm(p)) for p in re.split(r"\s*[,;/&\n]\s*|\s+and\s+", text) if p.strip()]
        if len(parts) > 1 and all(parts):
            self.keep(f"4 {what} (several actors)", text, str(parts[0]))
            self.warn("several-actors", f"{what} {text!r} names several actors; the first, {parts[0]!r}, is used "
                      "and the text kept in custom information", where, "name one actor per step")
            return parts[0]
        self.summary.added["actors"] += 1
        self.warn("unknown-actor", f"{what} {text!r} is not in the actor list (3.1); added as an actor", where,
                  "add the actor to section 3.1, or use the name written there")
        return self._actor(DraftActor(text, text, "", "", "", "", where), added=True)

    # --- requirements and information ------------------------------------------------------

    def _requirements(self) -> list[dict[str, Any]]:
        if "requirements" in self.extra:  # from an sgam workbook: the template has no section 6
            for category in self.extra["requirements"]:
                for item in category["items"]:
                    self.ids.add(item["id"])
                    self.requirement_keys[_norm(item["id"])] = item["id"]
            return list(self.extra["requirements"])
        categories = []
        for category in self.draft.requirements:
            if not category.items:
                self.keep("6 Requirement category", f"{category.identifier} {category.name}: {category.description}")
                continue
            cat_id = self.new_id(category.identifier or category.name, "requirements", category.where)
            items = []
            for item in category.items:
                req_id = self.new_id(item.identifier or item.name, "req", category.where, item.key)
                for key in (item.key, item.identifier, item.name, req_id):
                    if key:
                        self.requirement_keys.setdefault(_norm(key), req_id)
                items.append({"id": req_id, "name": item.name or item.identifier, "description": item.description})
            categories.append({"category": cat_id, "name": category.name or category.identifier,
                               "description": category.description, "items": items})
        return categories

    def _requirement_ids(self, texts: list[str], owner: str, label: str) -> list[str]:
        found = []
        for text in texts:
            req = self.requirement_keys.get(_norm(text))
            if req:
                found.append(req)
            else:
                self.keep(label, text, owner)
        return list(dict.fromkeys(found))

    def _information(self, key: str, identifier: str, name: str, description: str,
                     requirements: list[str], where: Where) -> str:
        info_id = self.new_id(identifier or name or key, "info", where, key)
        self.info.append({"id": info_id, "name": name or identifier or info_id, "description": description,
                          "requirements": self._requirement_ids(requirements, info_id, "5 Requirement R-IDs")})
        for k in (key, identifier, name, info_id):
            if k:
                self.info_keys.setdefault(_norm(k), info_id)
        return info_id

    def information(self, text: str, where: Where) -> str:
        if any(info["id"] == text for info in self.info):  # an exact id first: 'DAT02' and 'dat02' may both exist
            return text
        found = self.info_keys.get(_norm(text))
        if found:
            return found
        self.summary.added["information"] += 1
        self.warn("unknown-information", f"information {text!r} is not in section 5; added as information", where,
                  "list every information exchanged in section 5 with its ID")
        return self._information(text, text, text, "", [], where)

    # --- scenarios and steps ---------------------------------------------------------------

    def _scenarios(self) -> list[dict[str, Any]]:
        scenarios: dict[str, dict[str, Any]] = {}
        for s in self.draft.scenarios:
            # An Excel 'No.' that is a valid id is the id (sgam writes scenario ids there); '1' is not.
            named = s.number if re.match(ID_PATTERN, s.number) else s.name or s.number or s.key
            scenario_id = self.new_id(named, "scenario", s.where, s.key)
            primary = self.actor(s.primary_actor, s.where, "primary actor")
            scenarios[scenario_id] = {
                "id": scenario_id, "name": s.name or s.number or scenario_id, "description": s.description,
                "primary_actor": primary, "triggering_event": s.triggering_event,
                "pre_condition": s.pre_condition, "post_condition": s.post_condition, "steps": [],
            }
            for key in (s.key, s.number, s.name, scenario_id):
                if key:
                    self.scenario_keys.setdefault(_norm(key), scenario_id)
        previous: str | None = None
        raw: dict[str, list[DraftStep]] = {}
        for step in self.draft.steps:
            target = self._scenario_of(step, scenarios, previous)
            raw.setdefault(target, []).append(step)
            previous = target
        for scenario_id, steps in raw.items():
            scenarios[scenario_id]["steps"] = self._steps(scenario_id, steps)
        if not scenarios:
            self.missing("4.1 scenario")
            scenario_id = self.new_id("scenario", "scenario", self.draft.where)
            scenarios[scenario_id] = {"id": scenario_id, "name": PLACEHOLDER, "primary_actor": None,
                                      "triggering_event": "", "steps": []}
            self.summary.added["scenarios"] += 1
        for scenario in scenarios.values():
            if not scenario["steps"]:
                self.missing("4.2 steps of a scenario")
                self.summary.added["steps"] += 1
                scenario["steps"] = [{"number": "1", "activity": PLACEHOLDER, "service": DEFAULT_SERVICE}]
            if scenario["primary_actor"] is None:
                scenario["primary_actor"] = self._fallback_primary(scenario)
        return list(scenarios.values())

    def _fallback_primary(self, scenario: dict[str, Any]) -> str:
        self.missing("4.1 primary actor")
        producers = [s["producer"] for s in scenario["steps"] if s.get("producer")]
        if producers:
            return str(producers[0])
        if self.actors:
            return str(self.actors[0]["id"])
        self.summary.added["actors"] += 1
        return self._actor(DraftActor("", "unspecified actor", "", PLACEHOLDER, "", "", self.draft.where), added=True)

    def _scenario_of(self, step: DraftStep, scenarios: dict[str, dict[str, Any]], previous: str | None) -> str:
        for ref in (step.scenario_number, step.scenario):
            found = self.scenario_keys.get(_norm(ref)) if ref.strip() else None
            if found:
                return found
        if step.scenario.strip():
            self.warn("unknown-scenario", f"step {step.number!r} names scenario {step.scenario!r}, which is not in "
                      "the scenario overview (4.1); added as a scenario", step.where,
                      "use the scenario's name or number from section 4.1")
        elif previous is not None:
            return previous
        elif len(scenarios) >= 1:
            return next(iter(scenarios))
        scenario_id = self.new_id(step.scenario or "scenario", "scenario", step.where)
        self.summary.added["scenarios"] += 1
        scenarios[scenario_id] = {"id": scenario_id, "name": step.scenario or PLACEHOLDER, "primary_actor": None,
                                  "triggering_event": "", "steps": []}
        if step.scenario.strip():
            self.scenario_keys[_norm(step.scenario)] = scenario_id
        return scenario_id

    def _steps(self, scenario_id: str, steps: list[DraftStep]) -> list[dict[str, Any]]:
        numbers = [s.number.strip() for s in steps]
        if not _well_numbered(numbers):
            if any(numbers):
                self.warn("step-numbers", f"step numbers of scenario {scenario_id!r} ({', '.join(numbers)}) are "
                          "missing, repeated, out of order or not numbers; renumbered 1, 2, ...; the numbers as "
                          "written are kept in custom information", steps[0].where)
            for i, number in enumerate(numbers):
                self.keep("4.2 Step No.", number, f"{scenario_id} step {i + 1}")
            numbers = [str(i + 1) for i in range(len(steps))]
        return [self._step(scenario_id, number, step) for number, step in zip(numbers, steps, strict=True)]

    def _step(self, scenario_id: str, number: str, step: DraftStep) -> dict[str, Any]:
        owner = f"{scenario_id} step {number}"
        reference = step.scenario_number.strip()
        if reference and self.scenario_keys.get(_norm(reference)) != scenario_id:
            self.keep("4.2 Reference to Scenario number", step.scenario_number, owner)
            self.warn("scenario-reference", f"step {owner}: 'Reference to Scenario number' {reference[:40]!r} names no "
                      "scenario of the overview (4.1); kept verbatim in custom information", step.where,
                      "write the scenario's No. from section 4.1 there")
        service = step.service.strip().upper()
        if service not in Service.__members__:
            if service:
                self.keep("4.2 Service", step.service, owner)
                self.warn("service", f"service {step.service!r} of step {owner} is not an IEC 62559-2 service; "
                          f"imported as {DEFAULT_SERVICE.value}", step.where,
                          f"services: {', '.join(s.value for s in Service)}")
            else:
                self.missing("4.2 service")
            service = DEFAULT_SERVICE.value
        producer = self.actor(step.producer, step.where, "information producer")
        receiver = self.actor(step.receiver, step.where, "information receiver")
        information = list(dict.fromkeys(self.information(text, step.where) for text in step.information))
        if information and (producer is None or receiver is None):
            self.keep("4.2 Information exchanged (IDs)", ", ".join(step.information), owner)
            self.warn("one-ended", f"step {owner} exchanges information but names no "
                      f"{'producer' if producer is None else 'receiver'}; its information is kept in custom "
                      "information", step.where, "name both the producer and the receiver of the information")
            information = []
        return {
            "number": number, "event": step.event, "activity": step.activity, "description": step.description,
            "service": service, "producer": producer, "receiver": receiver, "information": information,
            "requirements": self._requirement_ids(step.requirements, owner, "4.2 Requirement R-IDs"),
        }


def _claim(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3` ... whichever is free first; it is taken from then on."""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _well_numbered(numbers: list[str]) -> bool:
    """Numbers the step-order check accepts: valid, unique, ascending."""
    if not all(re.match(STEP_PATTERN, n) for n in numbers) or len(set(numbers)) != len(numbers):
        return False
    keys = [step_key(n) for n in numbers]
    return keys == sorted(keys)


def _json_value(custom: DraftCustom | None) -> dict[str, Any]:
    if custom is None:
        return {}
    try:
        value = json.loads(custom.value)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {}


def build(draft: Draft, taken: set[str]) -> Imported:
    return Builder(draft, taken).build()
