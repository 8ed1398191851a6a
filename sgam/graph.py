"""The SGAM model: one networkx graph for a repository of use cases, and questions about it.

Nodes are the elements of all use cases (and the library elements they use), each with its SGAM
layer and its (domain, zone) cells. Cells that a file does not declare are derived: an actor sits
where the components hosting it sit, a function where its realisers sit, a role where the actors
playing it sit, a goal where its roles sit, an information object where its producers and
receivers sit, a link where its two components sit.

Edges (key = relation):
  component -hosts-> actor            actor -plays-> role          role -pursues-> goal
  actor|component -realises-> function                              link -connects-> component
  actor -exchanges-> actor   (one edge per step that moves information; key 'scenario#step')
  information -carried_by-> link      use case -contains-> element
  link|information -standard-> standard   (the catalog entries the element names; key 'standard:ID')

Standards are nodes 'standard/ID' (attribute `standard`: the catalog entry); steps keep theirs on
the 'exchanges' edge and in `Exchange.standards`, which also holds their information's and links'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx

from sgam.enums import ActorType, Domain, Layer, Zone
from sgam.loader import Repository, paused_gc
from sgam.models import Cell
from sgam.resolve import Element, Scope, library_index

if TYPE_CHECKING:
    from sgam.linking import StandardLinks

LAYER_OF_KIND = {
    "role": Layer.business,
    "goal": Layer.business,
    "function": Layer.function,
    "information": Layer.information,
    "link": Layer.communication,
    "component": Layer.component,
}
PLACED_KINDS = ("actor", *LAYER_OF_KIND)
BUSINESS_ACTORS = {ActorType.person, ActorType.organisation, ActorType.role}


def node_id(element: Element) -> str:
    return f"{element.owner}/{element.kind}/{element.id}"


@dataclass(frozen=True)
class Exchange:
    """Information moved in one step, from the producer's cells to the receiver's."""

    usecase: str
    scenario: str
    step: str
    producer: str
    receiver: str
    information: tuple[str, ...]
    from_cells: frozenset[Cell]
    to_cells: frozenset[Cell]
    from_organisation: str
    to_organisation: str
    standards: tuple[str, ...] = ()  # catalog ids: the step's own, its information's, its links'

    @property
    def crosses(self) -> list[str]:
        """Which SGAM boundaries the exchange crosses: 'zone', 'domain', 'organisation'."""
        found = []
        if self.from_cells and self.to_cells:
            if not {c.zone for c in self.from_cells} & {c.zone for c in self.to_cells}:
                found.append("zone")
            if not {c.domain for c in self.from_cells} & {c.domain for c in self.to_cells}:
                found.append("domain")
        if self.from_organisation != self.to_organisation:
            found.append("organisation")
        return found


@dataclass
class SgamModel:
    graph: nx.MultiDiGraph = field(default_factory=nx.MultiDiGraph)
    exchanges: list[Exchange] = field(default_factory=list)

    @classmethod
    def build(cls, repo: Repository, links: StandardLinks | None = None) -> SgamModel:
        """The graph of all use cases in the repository (references assumed checked), with the
        standards they name when `links` is given."""
        with paused_gc():
            return cls._build(repo, links)

    @classmethod
    def _build(cls, repo: Repository, links: StandardLinks | None) -> SgamModel:
        model = cls()
        library, _ = library_index(repo)  # clashes are the checks' business
        steps: list[_Step] = []  # information-moving steps, in file order
        for document in repo.usecases:
            scope, _ = Scope.of(document, library)
            _Builder(model, scope, document.model.id, steps, links).add()
        _derive_cells(model.graph, steps)
        model.exchanges = [_exchange(model.graph, *step) for step in steps]
        return model

    def edges(self, relation: str) -> Iterable[tuple[str, str, dict[str, Any]]]:
        return ((u, v, d) for u, v, k, d in self.graph.edges(keys=True, data=True) if d["relation"] == relation)

    def nodes(self, kind: str | None = None, usecase: str | None = None) -> list[str]:
        """Node ids, optionally only one kind and only those one use case contains."""
        pool = self.graph.successors(f"{usecase}/usecase/{usecase}") if usecase else self.graph.nodes
        return [n for n in pool if kind is None or self.graph.nodes[n]["kind"] == kind]

    def standards(self, node: str) -> list[str]:
        """Catalog ids an element (link or information object) names."""
        return [self.graph.nodes[v]["id"] for _, v, d in self.graph.out_edges(node, data=True)
                if d["relation"] == "standard"]

    def cells(self, layer: Layer, usecase: str | None = None) -> dict[Cell, list[str]]:
        """What sits in each (domain, zone) cell of one layer."""
        grid: dict[Cell, list[str]] = defaultdict(list)
        for node in self.nodes(usecase=usecase):
            data = self.graph.nodes[node]
            if data.get("layer") is layer:
                for cell in sorted(data["cells"], key=cell_order):
                    grid[cell].append(node)
        return dict(grid)

    def crossings(self, usecase: str | None = None, boundary: str | None = None) -> list[Exchange]:
        """Exchanges that cross a zone, a domain or an organisation boundary (or only `boundary`)."""
        return [
            e for e in self.exchanges
            if (e.crosses if boundary is None else boundary in e.crosses) and (usecase is None or e.usecase == usecase)
        ]

    def unplaced(self, usecase: str | None = None) -> list[str]:
        """Elements that should sit on the SGAM plane but have no cell, declared or derived."""
        found = []
        for node in self.nodes(usecase=usecase):
            data = self.graph.nodes[node]
            if data["kind"] not in PLACED_KINDS or data["cells"]:
                continue
            if data["kind"] == "actor" and data["actor_type"] in BUSINESS_ACTORS:
                continue  # people and organisations need no component
            found.append(node)
        return found


def cell_order(cell: Cell) -> tuple[int, int]:
    return list(Domain).index(cell.domain), list(Zone).index(cell.zone)


_Step = tuple[str, str, dict[str, Any]]  # producer node, receiver node, the exchange's data


@dataclass
class _Builder:
    model: SgamModel
    scope: Scope
    usecase: str
    steps: list[_Step]
    links: StandardLinks | None
    used: dict[str, str] = field(default_factory=dict)  # id -> node, for the ids this use case uses

    def node(self, id_: str) -> str | None:
        """The graph node of an id this use case uses, added (with its 'contains' edge) on first use."""
        if id_ in self.used:
            return self.used[id_]
        element = self.scope.get(id_)
        if element is None:
            return None
        key = node_id(element)
        graph = self.model.graph
        if key not in graph:
            data = element.model
            cells = set(getattr(data, "cells", ()))
            graph.add_node(
                key, kind=element.kind, id=element.id, owner=element.owner,
                name=getattr(data, "name", element.id), layer=LAYER_OF_KIND.get(element.kind),
                cells=cells, declared=bool(cells),
            )
            if element.kind == "actor":
                graph.nodes[key].update(organisation=data.organisation, actor_type=data.type)
            elif element.kind == "information":
                graph.nodes[key]["exchange"] = data.exchange
            elif element.kind == "link":
                graph.nodes[key]["network"] = data.network
        graph.add_edge(self.root, key, key="contains", relation="contains")
        self.used[id_] = key
        return key

    def edge(self, source: str | None, target: str | None, relation: str, key: str | None = None, **data: Any) -> None:
        if source is not None and target is not None:
            self.model.graph.add_edge(source, target, key=key or relation, relation=relation, **data)

    def add(self) -> None:
        self.root = f"{self.usecase}/usecase/{self.usecase}"
        self.model.graph.add_node(self.root, kind="usecase", id=self.usecase, owner=self.usecase, layer=None,
                                  cells=set(), declared=False)
        local = self.scope.local.values()
        for element in local:
            if element.kind in PLACED_KINDS:
                self.node(element.id)
        for element in local:
            data = element.model
            if element.kind == "role":
                for actor in data.played_by:
                    self.edge(self.node(actor), self.node(data.id), "plays")
            elif element.kind == "goal":
                for role in data.roles:
                    self.edge(self.node(role), self.node(data.id), "pursues")
            elif element.kind == "function":
                for realiser in data.realised_by:
                    self.edge(self.node(realiser), self.node(data.id), "realises")
            elif element.kind == "link":
                for component in data.between:
                    self.edge(self.node(data.id), self.node(component), "connects")
            elif element.kind == "scenario":
                self.add_steps(data)
            if element.kind in ("link", "information"):
                for standard in self.standards_of(element.kind, element.id):
                    self.edge(self.node(element.id), self.standard(standard), "standard", key=f"standard:{standard}")
        # Library components join the use case only through the actors it uses.
        for actor in self.model.nodes(kind="actor", usecase=self.usecase):
            for component in self.scope.hosts.get(self.model.graph.nodes[actor]["id"], ()):
                self.edge(self.node(component), actor, "hosts")

    def add_steps(self, scenario: Any) -> None:
        for step in scenario.steps:
            if not step.information or step.producer is None or step.receiver is None:
                continue
            producer, receiver = self.node(step.producer), self.node(step.receiver)
            if producer is None or receiver is None:
                continue
            carriers = self.scope.links_between(step.producer, step.receiver)
            named = [
                *self.standards_of("step", f"{scenario.id}#{step.number}"),
                *(s for info in step.information for s in self.standards_of("information", info)),
                *(s for link in carriers for s in self.standards_of("link", link)),
            ]
            data = {"usecase": self.usecase, "scenario": scenario.id, "step": step.number,
                    "service": step.service.value, "information": tuple(step.information),
                    "standards": tuple(dict.fromkeys(named))}
            self.edge(producer, receiver, "exchanges", key=f"{scenario.id}#{step.number}", **data)
            self.steps.append((producer, receiver, data))
            for link in carriers:
                for info in step.information:
                    self.edge(self.node(info), self.node(link), "carried_by", key=f"carried_by:{link}")

    def standards_of(self, kind: str, id_: str) -> list[str]:
        return self.links.of(self.usecase, kind, id_) if self.links else []

    def standard(self, standard_id: str) -> str:
        """The node of a catalog entry, added on first use; the use case contains the standards it names."""
        key = f"standard/{standard_id}"
        if key not in self.model.graph:
            assert self.links is not None
            entry = self.links.catalog.standards[standard_id]
            self.model.graph.add_node(key, kind="standard", id=standard_id, owner="catalog", name=entry.title,
                                      layer=None, cells=set(), declared=False, standard=entry)
        self.model.graph.add_edge(self.root, key, key="contains", relation="contains")
        return key


def _derive_cells(graph: nx.MultiDiGraph, steps: list[_Step]) -> None:
    """Fill in cells that files leave implicit, in dependency order."""

    def inherit(kind: str, relation: str, upstream: bool) -> None:
        for node, data in graph.nodes(data=True):
            if data["kind"] != kind or data["declared"]:
                continue
            edges = graph.in_edges(node, data=True) if upstream else graph.out_edges(node, data=True)
            for u, v, edge in edges:
                if edge["relation"] == relation:
                    data["cells"] |= graph.nodes[u if upstream else v]["cells"]

    inherit("actor", "hosts", upstream=True)
    inherit("function", "realises", upstream=True)
    inherit("role", "plays", upstream=True)
    inherit("goal", "pursues", upstream=True)
    inherit("link", "connects", upstream=False)
    for producer, receiver, step in steps:
        for info in step["information"]:
            info_node = f"{step['usecase']}/information/{info}"
            if info_node in graph:
                graph.nodes[info_node]["cells"] |= graph.nodes[producer]["cells"] | graph.nodes[receiver]["cells"]


def _exchange(graph: nx.MultiDiGraph, producer: str, receiver: str, edge: dict[str, Any]) -> Exchange:
    source, target = graph.nodes[producer], graph.nodes[receiver]
    return Exchange(
        usecase=edge["usecase"], scenario=edge["scenario"], step=edge["step"],
        producer=source["id"], receiver=target["id"], information=edge["information"],
        from_cells=frozenset(source["cells"]), to_cells=frozenset(target["cells"]),
        from_organisation=source["organisation"], to_organisation=target["organisation"],
        standards=edge["standards"],
    )
