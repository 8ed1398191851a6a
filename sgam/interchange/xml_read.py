"""Read IEC 62559-3 XML into drafts.

Two dialects are in use:
- the official one (namespace `NAMESPACE`): a UseCaseRepository whose libraries hold actors,
  business objects (information), requirements, areas, business cases and terms, and use cases that
  refer to them by mRID; a step is an Activity, with ChildActivity (or nested Activity) elements;
- a namespace-less one with root <UseCase>, written by a use-case management repository: actors in
  ActorGroupings, Step elements, and SGAM Domain and Zone elements.
Children the reader does not know are kept verbatim (custom information) with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, TypeAlias

from lxml import etree

from sgam.diagnostics import Diagnostic
from sgam.enums import Severity
from sgam.interchange import guard
from sgam.interchange.build import IDS_KEY, split_list
from sgam.interchange.draft import (
    Draft,
    DraftActor,
    DraftCategory,
    DraftCustom,
    DraftDiagram,
    DraftInformation,
    DraftKpi,
    DraftReference,
    DraftRequirement,
    DraftScenario,
    DraftStep,
    DraftVersion,
    Text,
    Where,
)

NAMESPACE = "http://www.SYC.org/IEC62559/part3/UC/V01/Build08082016"
Element: TypeAlias = etree._Element


def _name(element: Element) -> str:
    """The local name: '{namespace}UseCase' -> 'UseCase' (cheaper than etree.QName, which matters here)."""
    return str(element.tag).rpartition("}")[2]


def kids(element: Element, name: str) -> Iterator[Element]:
    return (c for c in element if isinstance(c.tag, str) and _name(c) == name)


def text(element: Element | None, name: str) -> str:
    """Text of the first child called `name` (any namespace), stripped; '' when absent."""
    if element is None:
        return ""
    for child in kids(element, name):
        return "".join(child.itertext()).replace("\r\n", "\n").strip()
    return ""


def refs(element: Element, name: str) -> list[str]:
    """The mRIDs of the `name` reference children."""
    return [text(child, "mRID") for child in kids(element, name) if text(child, "mRID")]


class XmlReader:
    def __init__(self, path: Path, tree: etree._ElementTree) -> None:
        self.file = str(path)
        self.tree = tree
        self.diagnostics: list[Diagnostic] = []

    def where(self, element: Element) -> Where:
        return Where(self.tree.getpath(element), element.sourceline)

    def extra(self, element: Element, known: set[str], draft: Draft, owner: str = "") -> None:
        """Keep children the reader does not map (as custom information about `owner`); say so."""
        for child in element:
            if isinstance(child.tag, str) and _name(child) not in known:
                value = "".join(child.itertext()).strip()
                if value:
                    where = self.where(child)
                    draft.custom.append(DraftCustom(_name(child), value, owner, where))
                    self.diagnostics.append(Diagnostic(
                        Severity.warning, "unknown-element", f"element <{_name(child)}> has no place in sgam's model; "
                        f"kept verbatim in custom information (at {where.place})", self.file, where.line, 1))


class RepositoryReader(XmlReader):
    """The official dialect: libraries plus use cases referring to them by mRID."""

    SCENARIO_KNOWN: ClassVar[set[str]] = {"Activity", "description", "Drawing", "mRID", "name", "number",
                                          "Postcondition", "Precondition", "PrimaryActor", "Requirement",
                                          "TriggeringEvent"}
    ACTIVITY_KNOWN: ClassVar[set[str]] = {"Activity", "BusinessObject", "ChildActivity", "description", "Drawing",
                                          "event", "InformationProducer", "InformationReceiver", "mRID", "name",
                                          "number", "Requirement", "service"}
    USECASE_KNOWN: ClassVar[set[str]] = {"ActorGrouping", "Assumption", "BusinessCase", "classification", "CommonTerm",
                     "CustomInformation", "Drawing", "identifier", "KeyPerformanceIndicator", "keywords",
                     "levelOfDepth", "mRID", "name", "Narrative", "nature", "Prerequisite", "PrimaryActor",
                     "prioritization", "Reference", "RelatedObjective", "RelatedUseCase", "Remark", "Scenario",
                     "scope", "Version"}

    def read(self) -> list[Draft]:
        root = self.tree.getroot()
        self.actors = {text(a, "mRID"): a for lib in kids(root, "ActorLibrary") for a in kids(lib, "Actor")}
        self.objects = {text(b, "mRID"): b for lib in kids(root, "BusinessObjectLibrary")
                        for b in kids(lib, "BusinessObject")}
        self.categories = [c for lib in kids(root, "RequirementLibrary") for c in kids(lib, "RequirementCategory")]
        self.areas = {text(a, "mRID"): a for lib in kids(root, "AreaLibrary") for a in kids(lib, "Area")}
        self.cases = {text(b, "mRID"): b for lib in kids(root, "BusinessCaseLibrary")
                      for b in kids(lib, "BusinessCase")}
        self.terms = {text(t, "mRID"): t for lib in kids(root, "CommonTermLibrary") for t in kids(lib, "CommonTerm")}
        usecases = [u for lib in kids(root, "UseCaseLibrary") for u in kids(lib, "UseCase")]
        self.usecase_ids = {text(u, "mRID"): text(u, "identifier") or text(u, "name") for u in usecases}
        self.single = len(usecases) == 1
        drafts = [self.usecase(u) for u in usecases]
        self._unused(drafts)
        return drafts

    def _unused(self, drafts: list[Draft]) -> None:
        """Library entries that no use case refers to are not imported: say so."""
        used = {a.key for d in drafts for a in d.actors} | {i.key for d in drafts for i in d.information}
        for kind, entries in (("actor", self.actors), ("business object", self.objects)):
            for mrid, element in entries.items():
                if mrid not in used:
                    where = self.where(element)
                    self.diagnostics.append(Diagnostic(
                        Severity.warning, "unused-entry", f"{kind} {text(element, 'name')!r} of the library is used by "
                        f"no use case; not imported (at {where.place})", self.file, where.line, 1,
                        "refer to it from a use case, or remove it from the library"))

    def usecase(self, uc: Element) -> Draft:
        d = Draft(self.file, self.where(uc), Text(text(uc, "identifier"), self.where(uc)),
                  Text(text(uc, "name"), self.where(uc)))
        mrids = {(m.text or "").strip() for m in uc.iter() if isinstance(m.tag, str) and _name(m) == "mRID"}
        mrids |= _exported_ids(uc)
        narrative = next(kids(uc, "Narrative"), None)
        d.scope, d.short, d.complete = text(uc, "scope"), text(narrative, "shortDescription"), text(
            narrative, "completeDescription")
        objectives = {text(o, "mRID"): text(o, "name") for o in kids(uc, "RelatedObjective")}
        d.objectives = [_joined(text(o, "name"), text(o, "description")) for o in kids(uc, "RelatedObjective")]
        d.versions = [DraftVersion(text(v, "number"), text(v, "date"),
                                   ", ".join(text(a, "name") for a in kids(v, "Author")), text(v, "changes"),
                                   text(v, "approvalStatus"), self.where(v)) for v in kids(uc, "Version")]
        d.kpis = [DraftKpi(text(k, "identifier"), text(k, "name"), text(k, "description"),
                           [objectives.get(m, m) for m in refs(k, "Objective")], self.where(k))
                  for k in kids(uc, "KeyPerformanceIndicator")]
        for kind in ("Assumption", "Prerequisite"):
            for c in kids(uc, kind):
                d.custom.append(DraftCustom(f"1.6 {kind}", _joined(text(c, "name"), text(c, "description")),
                                            text(c, "number"), self.where(c)))
        d.relations = [self.usecase_ids.get(m, m) for m in refs(uc, "RelatedUseCase")]
        d.level_of_depth, d.prioritisation, d.nature = (text(uc, "levelOfDepth"), text(uc, "prioritization"),
                                                        text(uc, "nature"))
        d.keywords = split_list(text(uc, "keywords"))
        if text(uc, "classification"):
            d.custom.append(DraftCustom("1.7 classification", text(uc, "classification"), "", self.where(uc)))
        d.remarks = "\n".join(text(r, "description") for r in kids(uc, "Remark") if text(r, "description"))
        for m in refs(uc, "BusinessCase"):
            case = self.cases.get(m)
            if case is None:
                continue
            d.custom.append(DraftCustom("1.3 Related business case", _joined(text(case, "name"),
                                        text(case, "description")), "", self.where(case)))
            d.area.extend(Text(text(self.areas[a], "name"), self.where(self.areas[a]))
                          for a in refs(case, "Area") if a in self.areas)
        d.diagrams = [self.drawing(x) for x in uc.iter() if isinstance(x.tag, str) and _name(x) == "Drawing"]
        d.actors = [self.actor(m, uc) for m in self.actors if m in mrids or self.single]
        d.references = [DraftReference(text(r, "number"), text(r, "name"), text(r, "type"), text(r, "name"),
                                       text(r, "status"), text(r, "impact"), text(r, "originatorOrganization"),
                                       text(r, "link"), self.where(r)) for r in kids(uc, "Reference")]
        d.custom.extend(DraftCustom("3.2 Description", text(r, "description"), text(r, "number") or text(r, "name"),
                                    self.where(r)) for r in kids(uc, "Reference") if text(r, "description"))
        d.custom.extend(DraftCustom("3.1 Group description", text(g, "description"), text(g, "name"), self.where(g))
                        for g in kids(uc, "ActorGrouping") if text(g, "description"))
        requirements = {text(r, "mRID"): r for c in self.categories for r in kids(c, "Requirement")}
        for scenario in kids(uc, "Scenario"):
            d.scenarios.append(self.scenario(scenario))
            for m in refs(scenario, "Requirement"):  # the model keeps requirements per step, not per scenario
                req = requirements.get(m)
                d.custom.append(DraftCustom("4.1 Requirement", text(req, "identifier") or text(req, "name") or m,
                                            text(scenario, "name"), self.where(scenario)))
            d.steps.extend(self.steps(scenario, text(scenario, "mRID") or text(scenario, "name")))
            self.extra(scenario, self.SCENARIO_KNOWN, d, text(scenario, "name"))
            for activity in scenario.iter("Activity", "ChildActivity"):
                self.extra(activity, self.ACTIVITY_KNOWN, d, f"{text(scenario, 'name')} step {text(activity, 'number')}")
        d.information = [DraftInformation(m, text(b, "identifier"), text(b, "name"), text(b, "description"),
                                          refs(b, "Requirement"), self.where(b))
                         for m, b in self.objects.items() if m in mrids or self.single]
        d.requirements = [self.category(c, mrids) for c in self.categories]
        d.requirements = [c for c in d.requirements if c.items or self.single]
        d.terms = [(text(self.terms[m], "name"), text(self.terms[m], "description"))
                   for m in refs(uc, "CommonTerm") if m in self.terms]
        d.custom.extend(DraftCustom(text(c, "key"), text(c, "value"), text(c, "reference"), self.where(c))
                        for c in kids(uc, "CustomInformation"))
        self.extra(uc, self.USECASE_KNOWN, d)
        return d

    def drawing(self, drawing: Element) -> DraftDiagram:
        uri = next(kids(drawing, "URI"), None)
        return DraftDiagram(text(drawing, "name"), text(drawing, "drawingType"),
                            uri.get("type", "") if uri is not None else "", text(drawing, "URI"), self.where(drawing))

    def actor(self, mrid: str, uc: Element) -> DraftActor:
        a = self.actors[mrid]
        grouping, further = "", ""
        for group in kids(uc, "ActorGrouping"):
            for info in kids(group, "FurtherActorInformation"):
                if mrid in refs(info, "Actor"):
                    grouping, further = text(group, "name"), text(info, "description")
        return DraftActor(mrid, text(a, "name"), text(a, "type"), text(a, "description"), further, grouping,
                          self.where(a))

    def scenario(self, s: Element) -> DraftScenario:
        primary = ", ".join(refs(s, "PrimaryActor"))
        return DraftScenario(text(s, "mRID") or text(s, "name"), text(s, "number"), text(s, "name"),
                             text(s, "description"), primary,
                             "\n".join(text(t, "description") for t in kids(s, "TriggeringEvent")),
                             "\n".join(text(c, "description") for c in kids(s, "Precondition")),
                             "\n".join(text(c, "description") for c in kids(s, "Postcondition")), self.where(s))

    def steps(self, parent: Element, scenario: str) -> Iterator[DraftStep]:
        """The Activity (and ChildActivity) elements under `parent`, depth first, as steps."""
        for activity in parent:
            if not isinstance(activity.tag, str) or _name(activity) not in ("Activity", "ChildActivity"):
                continue
            yield DraftStep(scenario, text(activity, "number"), text(activity, "event"), text(activity, "name"),
                            text(activity, "description"), text(activity, "service"),
                            ", ".join(refs(activity, "InformationProducer")),
                            ", ".join(refs(activity, "InformationReceiver")), refs(activity, "BusinessObject"),
                            refs(activity, "Requirement"), self.where(activity))
            yield from self.steps(activity, scenario)

    def category(self, c: Element, mrids: set[str]) -> DraftCategory:
        items = [DraftRequirement(text(r, "mRID"), text(r, "identifier"), text(r, "name"), text(r, "description"))
                 for r in kids(c, "Requirement") if self.single or text(r, "mRID") in mrids]
        return DraftCategory(text(c, "identifier"), text(c, "name"), text(c, "description"), items, self.where(c))


class UseCaseReader(XmlReader):
    """The namespace-less dialect: one <UseCase> with its actors, steps, SGAM domains and zones."""

    SCENARIO_KNOWN: ClassVar[set[str]] = {"id", "name", "number", "description", "postCondition", "preCondition",
                                          "triggeringEvent", "PrimaryActor", "Step"}
    STEP_KNOWN: ClassVar[set[str]] = {"event", "id", "name", "number", "description", "service",
                                      "InformationProducer", "InformationReceiver"}
    ACTOR_KNOWN: ClassVar[set[str]] = {"description", "furtherInformation", "id", "name", "type", "Domain", "Zone"}
    GROUPING_KNOWN: ClassVar[set[str]] = {"Actor", "description", "id", "name"}
    KNOWN: ClassVar[set[str]] = {"ActorGrouping", "id", "keywords", "levelOfDepth", "name", "prioritisation", "scope", "Condition",
             "GeneralRemark", "Narrative", "RelatedObjective", "Domain", "Zone", "Reference", "Scenario",
             "VersionInformation"}

    def read(self) -> list[Draft]:
        uc = self.tree.getroot()
        d = Draft(self.file, self.where(uc), Text(text(uc, "id"), self.where(uc)), Text(text(uc, "name"),
                                                                                       self.where(uc)))
        d.scope, d.level_of_depth, d.prioritisation = text(uc, "scope"), text(uc, "levelOfDepth"), text(
            uc, "prioritisation")
        d.keywords = split_list(text(uc, "keywords"))
        narrative = next(kids(uc, "Narrative"), None)
        d.short, d.complete = text(narrative, "shortDescription"), text(narrative, "completeDescription")
        d.objectives = [text(o, "name") for o in kids(uc, "RelatedObjective")]
        d.remarks = "\n".join(text(r, "content") for r in kids(uc, "GeneralRemark"))
        d.area = self.placement(uc)
        for c in kids(uc, "Condition"):
            pre = "\n".join(text(p, "content") for p in kids(c, "PreCondition"))
            for key, value in (("1.6 Triggering event", text(c, "trigerringEvent") or text(c, "triggeringEvent")),
                               ("1.6 Pre-condition", pre), ("1.6 Scope", text(c, "scope"))):
                d.custom.append(DraftCustom(key, value, "", self.where(c)))
        for v in kids(uc, "VersionInformation"):
            d.versions.append(DraftVersion(text(v, "number"), text(v, "date"), text(v, "authors"), text(v, "changes"),
                                           text(v, "approvalStatus"), self.where(v)))
        for group in kids(uc, "ActorGrouping"):
            if text(group, "description"):
                d.custom.append(DraftCustom("3.1 Group description", text(group, "description"), text(group, "name"),
                                            self.where(group)))
            self.extra(group, self.GROUPING_KNOWN, d, text(group, "name"))
            for a in kids(group, "Actor"):
                placement = self.placement(a)
                d.actors.append(DraftActor(text(a, "id"), text(a, "name"), text(a, "type"), text(a, "description"),
                                           text(a, "furtherInformation"), text(group, "name"), self.where(a),
                                           placement))
                self.extra(a, self.ACTOR_KNOWN, d, text(a, "name"))
        d.references = [DraftReference(text(r, "id"), text(r, "name"), text(r, "type"), text(r, "name"),
                                       text(r, "status"), text(r, "impact"), text(r, "originatorOrganisation"),
                                       text(r, "link"), self.where(r)) for r in kids(uc, "Reference")]
        for s in kids(uc, "Scenario"):
            primary = next(kids(s, "PrimaryActor"), None)
            d.scenarios.append(DraftScenario(text(s, "id"), text(s, "number"), text(s, "name"), text(s, "description"),
                                             text(primary, "id"), text(s, "triggeringEvent"), text(s, "preCondition"),
                                             text(s, "postCondition"), self.where(s)))
            for step in kids(s, "Step"):
                d.steps.append(DraftStep(
                    text(s, "id"), text(step, "number"), text(step, "event"), text(step, "name"),
                    text(step, "description"), text(step, "service"),
                    ", ".join(text(p, "id") for p in kids(step, "InformationProducer")),
                    ", ".join(text(r, "id") for r in kids(step, "InformationReceiver")),
                    [], [], self.where(step)))  # this dialect's steps name no information
                self.extra(step, self.STEP_KNOWN, d, f"{text(s, 'name')} step {text(step, 'number')}")
            self.extra(s, self.SCENARIO_KNOWN, d, text(s, "name"))
        self.extra(uc, self.KNOWN, d)
        return [d]

    def placement(self, element: Element) -> list[Text]:
        """The SGAM Domain and Zone children, as written."""
        return [Text((e.text or "").strip(), self.where(e)) for e in element
                if isinstance(e.tag, str) and _name(e) in ("Domain", "Zone")]


def _exported_ids(uc: Element) -> set[str]:
    """The mRIDs an sgam export lists as this use case's (see xml_write): its information, for one."""
    for custom in kids(uc, "CustomInformation"):
        if text(custom, "key") == IDS_KEY:
            try:
                ids = json.loads(text(custom, "value"))
            except ValueError:
                return set()
            return set(ids) if isinstance(ids, dict) else set()
    return set()


def _joined(name: str, description: str) -> str:
    return f"{name}: {description}" if name and description else name or description


def read_xml(path: Path) -> tuple[list[Draft], list[Diagnostic]]:
    """The use cases of an IEC 62559-3 file (either dialect), and the reader's warnings."""
    tree = guard.parse_xml(path)
    root = tree.getroot()
    reader: XmlReader
    if _name(root) == "UseCaseRepository":
        reader = RepositoryReader(path, tree)
        drafts = reader.read()
    elif _name(root) == "UseCase" and not etree.QName(root).namespace:
        reader = UseCaseReader(path, tree)
        drafts = reader.read()
    else:
        raise guard.refuse(path, "not-iec62559-3", f"the root element <{root.tag}> is neither an IEC 62559-3 "
                           f"UseCaseRepository (namespace {NAMESPACE}) nor a <UseCase>",
                           "give an IEC 62559-3 XML file", root.sourceline)
    if not drafts:
        raise guard.refuse(path, "no-usecase", "the repository holds no use case", "give a file with a UseCase",
                           root.sourceline)
    return drafts, reader.diagnostics
