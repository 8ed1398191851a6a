"""Write use cases as one IEC 62559-3 UseCaseRepository (valid against IEC62559-3_UC.xsd).

Each element's children are written in the schema's order (alphabetical, as the schema was
generated from UML). mRIDs are UUIDs derived from the use-case id and the element's id, so the same
use case always exports to the same file. What IEC 62559-3 has no element for travels as
CustomInformation under these keys (JSON values), and `sgam import` reads them back:

- `sgam:ids`: mRID -> sgam id of actors and scenarios (the schema gives them no identifier);
- `sgam:placement`: the SGAM placement (roles, goals, functions, components, links);
- `sgam:extra`: other sgam fields with no IEC 62559-3 element (application areas, conditions,
  classification relations and cluster, actor organisations, step functions, data models ...).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from lxml import etree

from sgam.interchange.build import EXTRA_KEY, IDS_KEY, PLACEMENT_KEY
from sgam.interchange.carry import common_extra, shared_actors
from sgam.interchange.xml_read import NAMESPACE, Element
from sgam.models import Actor, UseCase

DRAWING_TYPES = ("domain overview", "use case overview", "documentation", "scenarios flowchart", "scenario overview",
                 "activities flowchart", "activity overview", "business objects overview", "other", "role model")
MRID_NAMESPACE = uuid.UUID("9d1c2f3e-5b7a-4c1d-8e2f-0a6b3c4d5e6f")  # sgam's own: mRIDs of sgam exports



def mrid(usecase: str, kind: str, element: str) -> str:
    return str(uuid.uuid5(MRID_NAMESPACE, f"{usecase}/{kind}/{element}"))


def _add(parent: Element, tag: str, text: str | None = None, *, always: bool = False) -> Element | None:
    """A child element; optional text-only children are left out when empty."""
    if text is not None and not text and not always:
        return None
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _ref(parent: Element, tag: str, target: str) -> None:
    etree.SubElement(etree.SubElement(parent, tag), "mRID").text = target


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class UseCaseWriter:
    """One use case's elements: its libraries' entries, and the UseCase element."""

    def __init__(self, usecase: UseCase, library_actors: dict[str, Actor]) -> None:
        self.uc = usecase
        self.shared = shared_actors(usecase, library_actors)
        self.actors = list(usecase.actors) + self.shared
        self.ids: dict[str, str] = {}
        self.extra: dict[str, Any] = {}

    def m(self, kind: str, element: str) -> str:
        return mrid(self.uc.id, kind, element)

    # --- library entries -------------------------------------------------------------------

    def library_actors(self, library: Element) -> None:
        for actor in self.actors:
            a = etree.SubElement(library, "Actor")
            _add(a, "description", actor.description)
            _add(a, "mRID", self.m("actor", actor.id))
            _add(a, "name", actor.name, always=True)
            _add(a, "type", actor.type.value)
            self.ids[self.m("actor", actor.id)] = actor.id

    def _entry(self, parent: Element, tag: str, kind: str, id_: str, name: str, description: str) -> Element:
        """An identified library entry: description, identifier, mRID, name (the schema's order)."""
        entry = etree.SubElement(parent, tag)
        _add(entry, "description", description)
        _add(entry, "identifier", id_, always=True)
        _add(entry, "mRID", self.m(kind, id_))
        _add(entry, "name", name, always=True)
        self.ids[self.m(kind, id_)] = id_
        return entry

    def business_objects(self, library: Element) -> None:
        for info in self.uc.information:
            b = self._entry(library, "BusinessObject", "information", info.id, info.name, info.description)
            for req in info.requirements:
                _ref(b, "Requirement", self.m("requirement", req))

    def common_terms(self, library: Element) -> None:
        for term in self.uc.terms:
            t = etree.SubElement(library, "CommonTerm")
            _add(t, "description", term.definition)
            _add(t, "mRID", self.m("term", term.term))
            _add(t, "name", term.term)

    def requirements(self, library: Element) -> None:
        for category in self.uc.requirements:
            c = self._entry(library, "RequirementCategory", "requirement-category", category.category, category.name,
                            category.description)
            for item in category.items:
                self._entry(c, "Requirement", "requirement", item.id, item.name, item.description)

    # --- the use case ----------------------------------------------------------------------

    def usecase(self, library: Element) -> None:
        uc = self.uc
        e = etree.SubElement(library, "UseCase")
        further = [a for a in self.actors if a.further_information]
        if further:
            grouping = etree.SubElement(e, "ActorGrouping")
            for actor in further:
                info = etree.SubElement(grouping, "FurtherActorInformation")
                _ref(info, "Actor", self.m("actor", actor.id))
                _add(info, "description", actor.further_information)
        for term in uc.terms:
            _ref(e, "CommonTerm", self.m("term", term.term))
        self._extras()
        for custom in uc.custom:
            self._custom(e, custom.key, custom.value, custom.reference)
        for i, diagram in enumerate(uc.diagrams):
            self._drawing(e, i, diagram.title, diagram.file, diagram.description)
        _add(e, "identifier", uc.id, always=True)
        for kpi in uc.kpis:
            k = etree.SubElement(e, "KeyPerformanceIndicator")
            _add(k, "description", kpi.description)
            _add(k, "identifier", kpi.id)
            _add(k, "mRID", self.m("kpi", kpi.id))
            _add(k, "name", kpi.name)
            if all(o in uc.objectives for o in kpi.objectives):
                for objective in kpi.objectives:
                    _ref(k, "Objective", self.m("objective", str(uc.objectives.index(objective))))
            else:
                self.extra.setdefault("kpi_objectives", {})[kpi.id] = kpi.objectives
        c = uc.classification
        _add(e, "keywords", ", ".join(c.keywords))
        _add(e, "levelOfDepth", c.level_of_depth)
        _add(e, "mRID", self.m("usecase", uc.id))
        _add(e, "name", uc.name, always=True)
        narrative = etree.SubElement(e, "Narrative")
        _add(narrative, "completeDescription", uc.narrative.complete)
        _add(narrative, "shortDescription", uc.narrative.short, always=True)
        _add(e, "nature", c.nature)
        _add(e, "prioritization", c.prioritisation)
        for ref in uc.references:
            r = etree.SubElement(e, "Reference")
            _add(r, "impact", ref.impact)
            _add(r, "link", ref.link)
            _add(r, "mRID", self.m("reference", ref.id))
            _add(r, "name", ref.reference, always=True)
            _add(r, "number", ref.id)
            _add(r, "originatorOrganization", ref.originator, always=True)
            _add(r, "status", ref.status)
            _add(r, "type", ref.type)
        for i, objective in enumerate(uc.objectives):
            o = etree.SubElement(e, "RelatedObjective")
            _add(o, "mRID", self.m("objective", str(i)))
            _add(o, "name", objective, always=True)
        if uc.remarks:
            remark = etree.SubElement(e, "Remark")
            _add(remark, "description", uc.remarks)
        for scenario in uc.scenarios:
            self._scenario(e, scenario)
        _add(e, "scope", uc.scope)
        for version in uc.versions:
            v = etree.SubElement(e, "Version")
            _add(v, "approvalStatus", version.approval_status)
            if version.author:
                _add(etree.SubElement(v, "Author"), "name", version.author)
            _add(v, "changes", version.changes)
            _add(v, "date", f"{version.date.isoformat()}T00:00:00", always=True)
            _add(v, "number", version.version)
        # The sgam keys go last among the CustomInformation children, which come before Drawing.
        anchor = e.find("Drawing")
        if anchor is None:
            anchor = e.find("identifier")
        for key, value in ((IDS_KEY, self.ids), (EXTRA_KEY, self.extra),
                           (PLACEMENT_KEY, uc.sgam.model_dump(mode="json", exclude_defaults=True))):
            if value:
                custom = etree.Element("CustomInformation")
                _add(custom, "key", key)
                _add(custom, "value", _json(value))
                anchor.addprevious(custom)  # type: ignore[union-attr]

    def _extras(self) -> None:
        self.extra.update(common_extra(self.uc, self.shared))
        if self.uc.classification.generic:
            self.extra["generic"] = self.uc.classification.generic

    def _custom(self, parent: Element, key: str, value: str, reference: str) -> None:
        custom = etree.SubElement(parent, "CustomInformation")
        _add(custom, "key", key)
        _add(custom, "reference", reference)
        _add(custom, "value", value)

    def _drawing(self, parent: Element, index: int, title: str, file: str, description: str) -> None:
        drawing = etree.SubElement(parent, "Drawing")
        kind = description if description in DRAWING_TYPES else "other"
        if description != kind:
            self.extra.setdefault("diagram_descriptions", {})[str(index)] = description
        _add(drawing, "drawingType", kind)
        _add(drawing, "mRID", self.m("diagram", str(index)))
        _add(drawing, "name", title, always=True)
        uri = etree.SubElement(drawing, "URI", type="image")
        uri.text = file

    def _scenario(self, parent: Element, scenario: Any) -> None:
        s = etree.SubElement(parent, "Scenario")
        for step in scenario.steps:
            a = etree.SubElement(s, "Activity")
            for info in step.information:
                _ref(a, "BusinessObject", self.m("information", info))
            _add(a, "description", step.description, always=True)
            _add(a, "event", step.event)
            if step.producer:
                _ref(a, "InformationProducer", self.m("actor", step.producer))
            if step.receiver:
                _ref(a, "InformationReceiver", self.m("actor", step.receiver))
            _add(a, "mRID", self.m("step", f"{scenario.id}/{step.number}"))
            _add(a, "name", step.activity, always=True)
            _add(a, "number", step.number)
            for req in step.requirements:
                _ref(a, "Requirement", self.m("requirement", req))
            _add(a, "service", step.service.value)
        _add(s, "description", scenario.description)
        scenario_mrid = self.m("scenario", scenario.id)
        self.ids[scenario_mrid] = scenario.id
        _add(s, "mRID", scenario_mrid)
        _add(s, "name", scenario.name, always=True)
        for tag, text in (("Postcondition", scenario.post_condition), ("Precondition", scenario.pre_condition)):
            if text:
                _add(etree.SubElement(s, tag), "description", text)
        _ref(s, "PrimaryActor", self.m("actor", scenario.primary_actor))
        if scenario.triggering_event:
            _add(etree.SubElement(s, "TriggeringEvent"), "description", scenario.triggering_event)


def repository_xml(usecases: Iterable[UseCase], library_actors: dict[str, Actor], name: str) -> bytes:
    """The use cases as one UseCaseRepository document (UTF-8, pretty-printed)."""
    writers = [UseCaseWriter(u, library_actors) for u in usecases]
    root = etree.Element(etree.QName(NAMESPACE, "UseCaseRepository"), nsmap={"UC": NAMESPACE})
    sections = (("ActorLibrary", UseCaseWriter.library_actors), ("BusinessObjectLibrary", UseCaseWriter.business_objects),
                ("CommonTermLibrary", UseCaseWriter.common_terms))
    for tag, fill in sections:
        library = etree.SubElement(root, tag)
        for writer in writers:
            fill(writer, library)
    _add(root, "name", name, always=True)
    requirements = etree.SubElement(root, "RequirementLibrary")
    for writer in writers:
        writer.requirements(requirements)
    usecase_library = etree.SubElement(root, "UseCaseLibrary")
    for writer in writers:
        writer.usecase(usecase_library)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
