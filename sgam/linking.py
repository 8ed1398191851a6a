"""Use cases linked to the standards catalog: which entry each mention names, and whether it fits there.

A mention is a catalog id or alias, optionally followed by a detail ('IEC 61850-7-420 DSTO').
Links name the standards they carry (checked on the communication layer), information objects
their information models (information layer), steps any further standard (either layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sgam.catalog import Catalog, Standard
from sgam.diagnostics import Diagnostic
from sgam.enums import Domain, Layer, Severity, Zone
from sgam.graph import SgamModel
from sgam.loader import Document, Repository, paused_gc
from sgam.models import Cell, UseCase
from sgam.source import PathPart

# The layers on which a mention is checked, by the kind of element that makes it.
LAYERS_OF_KIND = {
    "link": (Layer.communication,),
    "information": (Layer.information,),
    "step": (Layer.information, Layer.communication),
}


@dataclass(frozen=True)
class Mention:
    """One place where a use case names a standard."""

    standard: str  # catalog id
    detail: str  # what follows the name, e.g. the object in an information model
    text: str  # as written
    path: tuple[PathPart, ...]


Subject = tuple[str, str, str]  # (use case, element kind, element id); a step's id is 'scenario#number'


@dataclass
class StandardLinks:
    """Every resolved mention, by the element that makes it, and the catalog it resolved against."""

    catalog: Catalog
    mentions: dict[Subject, list[Mention]] = field(default_factory=dict)
    documents: dict[str, Document[UseCase]] = field(default_factory=dict)  # use case id -> its file

    def of(self, usecase: str, kind: str, id_: str) -> list[str]:
        """Catalog ids named by one element, in the order written, each once."""
        return list(dict.fromkeys(m.standard for m in self.mentions.get((usecase, kind, id_), ())))


def _mentions(document: Document[UseCase]) -> Iterator[tuple[str, str, str, tuple[PathPart, ...]]]:
    """(kind, id, text, path) of every standard mention in a use case, in file order."""
    model = document.model
    for index, link in enumerate(model.sgam.links):
        for number, text in enumerate(link.protocols):
            yield "link", link.id, text, ("sgam", "links", index, "protocols", number)
    for index, info in enumerate(model.information):
        for number, text in enumerate(info.data_models):
            yield "information", info.id, text, ("information", index, "data_models", number)
    for s_index, scenario in enumerate(model.scenarios):
        for index, step in enumerate(scenario.steps):
            for number, text in enumerate(step.standards):
                path = ("scenarios", s_index, "steps", index, "standards", number)
                yield "step", f"{scenario.id}#{step.number}", text, path


def resolve_standards(repo: Repository, catalog: Catalog) -> tuple[StandardLinks, list[Diagnostic]]:
    """Each mention's catalog entry; an unknown name is an error with the nearest spelling."""
    links = StandardLinks(catalog)
    problems = []
    for document in repo.usecases:
        uc = document.model.id
        links.documents.setdefault(uc, document)
        for kind, id_, text, path in _mentions(document):
            found = catalog.match(text)
            if found is None:
                problems.append(document.diagnostic(
                    Severity.error, "unknown-standard", f"{text!r} names no standard in the catalog", path,
                    catalog.suggestion(text) + "write a catalog id or alias first (`sgam standards list`); "
                    "for a standard the catalog lacks, add it in a folder given with --catalog",
                ))
                continue
            standard, detail = found
            links.mentions.setdefault((uc, kind, id_), []).append(Mention(standard.id, detail, text, path))
    return links, problems


def fits(standard: Standard, layers: tuple[Layer, ...], cells: set[Cell]) -> set[Cell]:
    """The cells where the standard has no position on any of the layers (empty when it fits)."""
    return {
        cell for cell in cells
        if not any(p.covers(layer, cell.domain, cell.zone) for p in standard.positions for layer in layers)
    }


def where_it_applies(standard: Standard, layers: tuple[Layer, ...]) -> str:
    """Its positions on these layers, in words: 'on the communication layer: DER x Field-Enterprise'."""
    parts = []
    for position in standard.positions:
        for layer in position.layers:
            if layer in layers:
                domains = ", ".join(d.value for d in Domain if d in position.domains)
                parts.append(f"{layer.value} layer: {domains} x {_zone_range(position.zones)}"
                             + ("" if position.verified else " (unverified)"))
    if not parts:
        return f"nowhere on the {' or '.join(layer.value for layer in layers)} layer"
    return "on the " + "; ".join(dict.fromkeys(parts))


def _zone_range(zones: list[Zone]) -> str:
    """Zones as runs in plane order: 'Field-Station, Market'."""
    order = list(Zone)
    runs: list[list[Zone]] = []
    for zone in sorted(set(zones), key=order.index):
        if runs and order.index(zone) == order.index(runs[-1][-1]) + 1:
            runs[-1].append(zone)
        else:
            runs.append([zone])
    return ", ".join(run[0].value if len(run) == 1 else f"{run[0].value}-{run[-1].value}" for run in runs)


def cell_names(cells: set[Cell]) -> str:
    order = (list(Domain), list(Zone))
    ordered = sorted(cells, key=lambda c: (order[0].index(c.domain), order[1].index(c.zone)))
    return ", ".join(f"{c.domain.value}/{c.zone.value}" for c in ordered)


def misfits(model: SgamModel, links: StandardLinks) -> list[Diagnostic]:
    """Warnings for standards named where the catalog does not position them, saying where they apply."""
    with paused_gc():  # locating warnings composes YAML node trees: many long-lived objects, no garbage
        return list(_misfits(model, links))


def _misfits(model: SgamModel, links: StandardLinks) -> Iterator[Diagnostic]:
    steps = {(e.usecase, f"{e.scenario}#{e.step}"): e.from_cells | e.to_cells for e in model.exchanges}
    for (usecase, kind, id_), mentions in links.mentions.items():
        cells = _cells_of(model, usecase, kind, id_, steps)
        layers = LAYERS_OF_KIND[kind]
        for mention in mentions:
            standard = links.catalog.standards[mention.standard]
            outside = fits(standard, layers, cells)
            if outside:
                yield links.documents[usecase].diagnostic(
                    Severity.warning, "standard-position",
                    f"{standard.id} is not positioned at {cell_names(outside)} for a {kind}; "
                    f"the catalog places it {where_it_applies(standard, layers)}",
                    mention.path, "check the element's cells, or the standard: is another one meant here?",
                )


def _cells_of(
    model: SgamModel, usecase: str, kind: str, id_: str, steps: dict[tuple[str, str], frozenset[Cell]]
) -> set[Cell]:
    """The SGAM cells of an element; a step sits where its producer and receiver sit."""
    if kind == "step":
        return set(steps.get((usecase, id_), ()))
    node = f"{usecase}/{kind}/{id_}"
    return set(model.graph.nodes[node]["cells"]) if node in model.graph else set()
