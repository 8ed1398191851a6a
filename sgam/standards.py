"""Analyses over the linked SGAM model: what each exchange and link still needs, ranked suggestions, gaps.

A *need* is a standard of some kind that an element lacks where it sits on the SGAM:
- an information object that is exchanged needs an information model (information layer);
- a communication link needs an application protocol (communication layer);
- a link that crosses an organisation or zone boundary needs a security standard, and so does a
  link whose protocol has known security companions (catalog `secured_by`) of which none is named
  (one need per link, with every reason).

Suggestions rank catalog entries for each need by explained, deterministic points (see `_score`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sgam.catalog import Catalog, Standard
from sgam.enums import ExchangeKind, Layer, NetworkType, StandardKind, StandardStatus
from sgam.graph import Exchange, SgamModel
from sgam.linking import cell_names
from sgam.models import Cell

# Which catalog kinds satisfy a need.
SATISFIES = {
    "information model": {StandardKind.information_model, StandardKind.message_profile},
    "protocol": {StandardKind.application_protocol, StandardKind.message_profile},
    "security": {StandardKind.security},
}
LAYER_OF_NEED = {"information model": Layer.information, "protocol": Layer.communication,
                 "security": Layer.communication}
RETIRED = {StandardStatus.withdrawn, StandardStatus.superseded}

# Points behind the ranking; each one that applies is given as a reason.
POINTS = {
    "cells": 4.0,  # times the share of the element's cells the standard covers on the layer
    "companion": 5.0,  # a security companion of a protocol the link uses
    "exchange": 3.0,  # serves the kind of exchange the information object declares
    "network": 1.5,  # typically used on the SG-CG network type the link declares
    "pairs": 2.0,  # pairs with a standard the element or its exchanges already use
    "family": 2.0,  # same family as a standard the use case already uses
    "published": 1.0,
}


@dataclass(frozen=True)
class Need:
    """One element that lacks a standard of one kind."""

    usecase: str
    subject: str  # graph node id of the link or information object
    label: str  # 'link link-vtn-ems'
    need: str  # a key of SATISFIES
    cells: frozenset[Cell]
    why: str
    companions: tuple[str, ...] = ()  # security companions of the protocols in use (catalog secured_by)
    only_companions: bool = False  # no boundary is crossed: only a companion closes the gap
    exchanges: frozenset[ExchangeKind] = frozenset()
    network: NetworkType | None = None  # of a link
    nearby: frozenset[str] = frozenset()  # standards the element or its exchanges already use

    @property
    def layer(self) -> Layer:
        return LAYER_OF_NEED[self.need]


@dataclass(frozen=True)
class Candidate:
    standard: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    need: Need
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class Gap:
    usecase: str
    kind: str  # 'missing information model' | 'missing protocol' | 'missing security' | 'cell' | 'status'
    subject: str
    message: str


def needs(model: SgamModel, catalog: Catalog) -> list[Need]:
    """What every link and exchanged information object still lacks, in graph order."""
    found: list[Need] = []
    exchanged: dict[tuple[str, str], list[Exchange]] = defaultdict(list)  # (use case, information) -> steps
    for exchange in model.exchanges:
        for info in exchange.information:
            exchanged[exchange.usecase, info].append(exchange)
    for node, data in model.graph.nodes(data=True):
        if data["kind"] == "information" and (data["owner"], data["id"]) in exchanged:
            found += _information_needs(model, catalog, node, exchanged[data["owner"], data["id"]])
        elif data["kind"] == "link":
            found += _link_needs(model, catalog, node)
    return found


def _named(model: SgamModel, catalog: Catalog, node: str) -> list[Standard]:
    return [catalog.standards[s] for s in model.standards(node)]


def _has(standards: Iterable[Standard], need: str) -> bool:
    return any(set(s.kinds) & SATISFIES[need] for s in standards)


def _information_needs(model: SgamModel, catalog: Catalog, node: str, steps: list[Exchange]) -> Iterator[Need]:
    data = model.graph.nodes[node]
    if not _has(_named(model, catalog, node), "information model"):
        exchange = data["exchange"]
        nearby = {s for e in steps for s in e.standards}
        yield Need(data["owner"], node, f"information {data['id']}", "information model", frozenset(data["cells"]),
                   "exchanged, but names no information model", exchanges=frozenset([exchange] if exchange else []),
                   nearby=frozenset(nearby))


def _link_needs(model: SgamModel, catalog: Catalog, node: str) -> Iterator[Need]:
    data = model.graph.nodes[node]
    usecase, label, cells, network = data["owner"], f"link {data['id']}", frozenset(data["cells"]), data["network"]
    named = _named(model, catalog, node)
    carried = [u for u, _, d in model.graph.in_edges(node, data=True) if d["relation"] == "carried_by"]
    nearby = frozenset({s.id for s in named} | {s for info in carried for s in model.standards(info)})
    if not _has(named, "protocol"):
        yield Need(usecase, node, label, "protocol", cells, "names no application protocol", network=network,
                   nearby=nearby)
    if _has(named, "security"):
        return
    crossing = boundaries(model, node)
    protected = [s for s in named if s.relations.secured_by]
    reasons = [f"crosses {crossing}"] if crossing else []
    reasons += [f"uses {s.id}, which is secured by {' or '.join(s.relations.secured_by)}" for s in protected]
    if reasons:
        companions = tuple(dict.fromkeys(c for s in protected for c in s.relations.secured_by))
        yield Need(usecase, node, label, "security", cells, "; ".join(reasons) + "; and names no security standard",
                   companions=companions, only_companions=not crossing, network=network, nearby=nearby)


def boundaries(model: SgamModel, link: str) -> str:
    """'the organisation boundary a.example | b.example' and/or 'a zone boundary', or ''."""
    ends = [v for _, v, d in model.graph.out_edges(link, data=True) if d["relation"] == "connects"]
    if len(ends) != 2:
        return ""
    organisations = [
        {model.graph.nodes[a]["organisation"] for _, a, d in model.graph.out_edges(end, data=True)
         if d["relation"] == "hosts"}
        for end in ends
    ]
    zones = [{c.zone for c in model.graph.nodes[end]["cells"]} for end in ends]
    found = []
    if all(organisations) and not organisations[0] & organisations[1]:
        found.append(f"the organisation boundary {' | '.join(sorted(organisations[0] | organisations[1]))}")
    if all(zones) and not zones[0] & zones[1]:
        found.append("a zone boundary")
    return " and ".join(found)


def suggest(model: SgamModel, catalog: Catalog, limit: int = 5) -> list[Suggestion]:
    """Ranked candidates for every need; ties are broken by catalog id, so the order is stable."""
    families = _families_by_usecase(model, catalog)
    return [
        Suggestion(need, tuple(sorted(_candidates(catalog, need, families[need.usecase]),
                                      key=lambda c: (-c.score, c.standard))[:limit]))
        for need in needs(model, catalog)
    ]


def _families_by_usecase(model: SgamModel, catalog: Catalog) -> dict[str, set[str]]:
    """The standards families each use case already names, for the 'already used' reason."""
    families: dict[str, set[str]] = defaultdict(set)
    for node, data in model.graph.nodes(data=True):
        if data["kind"] == "standard":
            for usecase, _, edge in model.graph.in_edges(node, data=True):
                if edge["relation"] == "contains":
                    families[model.graph.nodes[usecase]["id"]].add(catalog.standards[data["id"]].family)
    return families


def _candidates(catalog: Catalog, need: Need, families: set[str]) -> Iterator[Candidate]:
    pool = need.companions if need.only_companions else tuple(catalog.standards)
    for standard_id in pool:
        standard = catalog.get(standard_id)
        if standard is None or standard.status in RETIRED or not set(standard.kinds) & SATISFIES[need.need]:
            continue
        scored = _score(standard, need, families)
        if scored is not None:
            yield scored


def _score(standard: Standard, need: Need, families: set[str]) -> Candidate | None:
    """Points and reasons; None when the standard has no position on the need's layer at the element's cells."""
    covered = {cell for cell in need.cells
               if any(p.covers(need.layer, cell.domain, cell.zone) for p in standard.positions)}
    companion = standard.id in need.companions
    if need.cells and not covered and not companion:
        return None
    reasons, score = [], 0.0
    if need.cells:
        share = len(covered) / len(need.cells)
        score += POINTS["cells"] * share
        reasons.append(f"positioned on the {need.layer.value} layer at {len(covered)} of {len(need.cells)} cell(s)"
                       + (f" ({cell_names(covered)})" if covered else ""))
    if companion:
        score += POINTS["companion"]
        reasons.append("the catalog lists it as securing a protocol this link uses")
    served = set(standard.exchanges) & need.exchanges
    if served:
        score += POINTS["exchange"]
        reasons.append(f"serves {', '.join(sorted(e.value for e in served))} exchanges")
    if need.network is not None and need.network in standard.networks:
        score += POINTS["network"]
        reasons.append(f"used on SG-CG network type {need.network.value}, as this link declares")
    pairs = sorted(set(standard.relations.pairs_with) & need.nearby)
    if pairs:
        score += POINTS["pairs"]
        reasons.append(f"pairs with {', '.join(pairs)}, used with this {need.label.split()[0]}")
    if standard.family in families:
        score += POINTS["family"]
        reasons.append(f"family {standard.family} is already used in this use case")
    if standard.status is StandardStatus.published:
        score += POINTS["published"]
        reasons.append("published")
    else:
        reasons.append(f"status {standard.status.value}")
    return Candidate(standard.id, round(score, 2), tuple(reasons))


def gaps(model: SgamModel, catalog: Catalog) -> list[Gap]:
    """Missing standards per element, SGAM cells whose exchanges name no standard, and retired or draft ones in use."""
    found = [Gap(n.usecase, f"missing {n.need}", n.subject, f"{n.label} {n.why}") for n in needs(model, catalog)]
    found += _bare_cells(model)
    found += _status_gaps(model, catalog)
    return found


def _bare_cells(model: SgamModel) -> Iterator[Gap]:
    carried: dict[tuple[str, Cell], bool] = {}
    for exchange in model.exchanges:
        for cell in exchange.from_cells | exchange.to_cells:
            key = (exchange.usecase, cell)
            carried[key] = carried.get(key, False) or bool(exchange.standards)
    for (usecase, cell), has_standard in carried.items():
        if not has_standard:
            where = cell_names({cell})
            yield Gap(usecase, "cell", where, f"cell {where} carries exchanges, none of which names a standard")


def _status_gaps(model: SgamModel, catalog: Catalog) -> Iterator[Gap]:
    for node, data in model.graph.nodes(data=True):
        if data["kind"] != "standard":
            continue
        standard = catalog.standards[data["id"]]
        if standard.status is StandardStatus.published:
            continue
        users = sorted({model.graph.nodes[u]["id"] for u, _, d in model.graph.in_edges(node, data=True)
                        if d["relation"] == "contains"})
        newer = [s.id for s in catalog.standards.values() if standard.id in s.relations.supersedes]
        hint = f"; superseded by {', '.join(newer)}" if newer else ""
        for usecase in users:
            yield Gap(usecase, "status", standard.id, f"{standard.id} is {standard.status.value}{hint}")
