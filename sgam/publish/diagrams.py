"""Diagrams drawn by Graphviz `dot`: SGAM planes, use-case diagrams and sequence diagrams.

Each diagram is first a plain object (`Plane`, or the use case's own scenarios), then a
`graphviz.Digraph`, then SVG or PNG from the real `dot`.

The plane follows the figures of the SG-CG reports: domains left to right, zones bottom to top
(CEN-CENELEC-ETSI SG-CG, "Smart Grid Reference Architecture", 2012, figure 10). `dot` has no grid
layout, so every cell is one node (an HTML-like table listing its elements, each a port); cells of
one zone share a rank, and heavy invisible edges stack the cells of one domain into a column.
Exchanges are drawn port to port and do not move the grid (`constraint=false`).
"""

from __future__ import annotations

import html
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import graphviz

from sgam.enums import Domain, Layer, Zone
from sgam.files import write_all
from sgam.graph import BUSINESS_ACTORS, Exchange
from sgam.models import Cell, Scenario, Step, UseCase
from sgam.plane import hosted
from sgam.publish.view import Publication
from sgam.publish.work import in_parallel

FONT = "Helvetica"
FORMATS = ("svg", "png")
# Pale fills per zone, darker towards the market, as the SG-CG figures shade the zones.
ZONE_FILL = {
    Zone.process: "#f3f7fb", Zone.field: "#e9f1f8", Zone.station: "#dfeaf5",
    Zone.operation: "#d5e4f2", Zone.enterprise: "#cbddef", Zone.market: "#c1d7ec",
}
PALETTE = ("#1f5fa8", "#2e8540", "#b35c00", "#7b3294", "#a50f15", "#00798c", "#5c5c5c")
HEAT = ("#ffffff", "#fee8c8", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
CHAR_PX, LINE_PX = 6.2, 15  # Helvetica 10 pt, close enough to size cells before `dot` measures them


def cell_name(cell: Cell) -> str:
    """The `dot` node of a cell, e.g. 'der.field' (also its <title> in the SVG)."""
    return f"{cell.domain.name}.{cell.zone.name}"


@dataclass(frozen=True)
class Box:
    """One element drawn in a cell."""

    node: str
    title: str
    detail: str = ""


@dataclass(frozen=True)
class Arrow:
    source: str  # graph node of the element it leaves
    target: str
    label: str
    id: str  # id of the edge in the SVG


@dataclass
class Plane:
    """What one SGAM plane shows: boxes per cell, arrows between boxes, or counts per cell."""

    title: str
    boxes: dict[Cell, list[Box]] = field(default_factory=dict)
    arrows: list[Arrow] = field(default_factory=list)
    counts: dict[Cell, dict[Layer, int]] = field(default_factory=dict)


# --- what each plane holds ------------------------------------------------------------------


def plane(pub: Publication, layer: Layer, usecase: str | None = None) -> Plane:
    """The plane of one layer: the layer's elements in their cells and the layer's arrows.

    Function and information layers also show the system actors, because the exchanges run
    between them; the communication and component layers draw links between components.
    """
    model = pub.model
    links = layer in (Layer.communication, Layer.component)  # links are the arrows between components
    grid = model.cells(Layer.component if links else layer, usecase)
    if layer in (Layer.function, Layer.information):
        for node in model.nodes("actor", usecase):
            if pub.data(node)["actor_type"] not in BUSINESS_ACTORS:
                for cell in pub.data(node)["cells"]:
                    grid.setdefault(cell, []).insert(0, node)
    title = f"{layer.value.capitalize()} layer" + (f": {usecase}" if usecase else "")
    shown = Plane(title, {cell: [_box(pub, node, usecase) for node in nodes] for cell, nodes in grid.items()})
    if layer is Layer.business:
        shown.arrows = [Arrow(u, v, "pursues", f"{u}->{v}") for u, v, _ in model.edges("pursues")
                        if usecase is None or pub.data(u)["owner"] == usecase]
    elif links:
        shown.arrows = _link_arrows(pub, usecase, protocols=layer is Layer.communication)
    else:
        shown.arrows = _exchange_arrows(pub, pub.exchanges(usecase))
    return shown


def repository_plane(pub: Publication) -> Plane:
    """One plane for all use cases: how many elements of each layer sit in each cell."""
    counts: dict[Cell, dict[Layer, int]] = defaultdict(dict)
    for layer in Layer:
        for cell, nodes in pub.model.cells(layer).items():
            counts[cell][layer] = len(nodes)
    title = "All use cases: elements per cell (" + " · ".join(layer.value for layer in Layer) + ")"
    return Plane(title, counts=dict(counts))


def _box(pub: Publication, node: str, usecase: str | None) -> Box:
    data = pub.data(node)
    owner = "" if usecase or data["owner"].startswith("library:") else f" ({data['owner']})"
    detail = ""
    if data["kind"] == "component":
        detail = ", ".join(hosted(pub.model, node, usecase))
    elif data["kind"] == "actor":
        detail = "actor"
    return Box(node, f"{data['name']}{owner}", detail)


def _actor_node(pub: Publication, usecase: str, actor: str) -> str:
    return next(n for n in pub.model.nodes("actor", usecase) if pub.data(n)["id"] == actor)


def _exchange_arrows(pub: Publication, exchanges: Iterable[Exchange]) -> list[Arrow]:
    """One arrow per producer and receiver, labelled with the information they exchange."""
    grouped: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for exchange in exchanges:
        ends = (_actor_node(pub, exchange.usecase, exchange.producer),
                _actor_node(pub, exchange.usecase, exchange.receiver))
        for info in exchange.information:
            element = pub.element(exchange.usecase, info)
            grouped[ends][element.name if element else info] = None
    return [Arrow(u, v, "\n".join(names), f"{u}->{v}") for (u, v), names in grouped.items()]


def _link_arrows(pub: Publication, usecase: str | None, protocols: bool) -> list[Arrow]:
    arrows = []
    for link in pub.model.nodes("link", usecase):
        data = pub.data(link)
        declared = pub.element(data["owner"], data["id"])
        ends = [v for _, v, edge in pub.model.graph.out_edges(link, data=True) if edge["relation"] == "connects"]
        if protocols:
            label = _protocol_label(declared.protocols[0], pub.model.standards(link))
        else:
            label = f"network {declared.network.value}" if declared.network else ""
        arrows.append(Arrow(ends[0], ends[1], label, link))
    return arrows


def _protocol_label(written: str, standards: list[str]) -> str:
    """The application protocol as the use case writes it, with its catalog id when the name hides it
    ('OpenADR 2.0b' is IEC 62746-10-1)."""
    if standards and standards[0].lower() not in written.lower():
        return f"{written}\n({standards[0]})"
    return written


# --- drawing --------------------------------------------------------------------------------


def _text(value: str) -> str:
    return html.escape(value).replace("\n", "<BR/>")


def draw_plane(shown: Plane) -> graphviz.Digraph:
    dot = graphviz.Digraph("plane", graph_attr={
        "label": shown.title, "labelloc": "t", "fontname": FONT, "fontsize": "14", "newrank": "true",
        "nodesep": "0.12", "ranksep": "0.12", "splines": "true", "bgcolor": "white",
    }, node_attr={"shape": "plain", "fontname": FONT, "fontsize": "10"}, edge_attr={"fontname": FONT, "fontsize": "9"})
    # One width per domain, so that its cells line up in a column and empty domains stay narrow.
    longest = {d: len(d.value) for d in Domain}
    for cell, boxes in shown.boxes.items():
        longest[cell.domain] = max([longest[cell.domain], *(len(b.title) for b in boxes)])
    widths = {d: max(100, int(CHAR_PX * n) + 24) for d, n in longest.items()}
    ports: dict[str, str] = {}
    top = max((sum(c.values()) for c in shown.counts.values()), default=0)
    with dot.subgraph() as row:
        row.attr(rank="same")
        row.node("corner", label="")
        for domain in Domain:
            row.node(f"domain.{domain.name}", label=f'<<TABLE BORDER="0" WIDTH="{widths[domain]}"><TR><TD><B>'
                     f"{_text(domain.value)}</B></TD></TR></TABLE>>")
    for zone in reversed(Zone):  # market on top
        lines = max([len(shown.boxes.get(Cell(domain=d, zone=zone), ())) for d in Domain] + [1])
        lines = max(lines * 2, 3 if shown.counts else 2)
        with dot.subgraph() as row:
            row.attr(rank="same")
            row.node(f"zone.{zone.name}", label=f"<<B>{_text(zone.value)}</B>>")
            for domain in Domain:
                cell = Cell(domain=domain, zone=zone)
                fill = _heat(sum(shown.counts.get(cell, {}).values()), top) if shown.counts else ZONE_FILL[zone]
                content = _count_rows(shown.counts.get(cell, {}), fill) if shown.counts else _box_rows(
                    shown.boxes.get(cell, []), cell, ports)
                row.node(cell_name(cell), id=f"cell-{cell_name(cell)}", label=(
                    f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="4" BGCOLOR="{fill}" WIDTH="{widths[domain]}" '
                    f'HEIGHT="{lines * LINE_PX + 8}">{content}</TABLE>>'))
    rows = [["corner", *(f"domain.{d.name}" for d in Domain)]] + [
        [f"zone.{z.name}", *(cell_name(Cell(domain=d, zone=z)) for d in Domain)] for z in reversed(Zone)]
    _grid_edges(dot, rows)
    colours: dict[str, str] = {}
    for arrow in shown.arrows:
        if arrow.source not in ports or arrow.target not in ports:
            continue  # an end without a cell is not on the plane (the report lists it as unplaced)
        colour = colours.setdefault(arrow.label.split(" ")[0], PALETTE[len(colours) % len(PALETTE)])
        dot.edge(ports[arrow.source], ports[arrow.target], label=arrow.label, id=arrow.id, color=colour,
                 fontcolor=colour, constraint="false", penwidth="1.4")
    return dot


def _grid_edges(dot: graphviz.Digraph, rows: list[list[str]], **column_style: str) -> None:
    """Hold nodes in a grid: heavy edges down each column, invisible edges along each row (kept in order)."""
    for column in zip(*rows):
        for upper, lower in itertools.pairwise(column):
            dot.edge(upper, lower, weight="100", **(column_style or {"style": "invis"}))
    for row in rows:
        for left, right in itertools.pairwise(row):
            dot.edge(left, right, style="invis")


def _box_rows(boxes: list[Box], cell: Cell, ports: dict[str, str]) -> str:
    rows = []
    for index, box in enumerate(boxes):
        ports.setdefault(box.node, f"{cell_name(cell)}:p{index}")
        detail = f'<BR/><FONT POINT-SIZE="8" COLOR="#555555">{_text(box.detail)}</FONT>' if box.detail else ""
        rows.append(f'<TR><TD BORDER="1" BGCOLOR="white" PORT="p{index}">{_text(box.title)}{detail}</TD></TR>')
    return "".join(rows) or "<TR><TD> </TD></TR>"


def _count_rows(counts: dict[Layer, int], fill: str) -> str:
    if not counts:
        return '<TR><TD><FONT COLOR="#999999">0</FONT></TD></TR>'
    parts = " · ".join(str(counts.get(layer, 0)) for layer in Layer)
    ink = "white" if fill in HEAT[-2:] else "black"  # readable on the darkest fills
    return (f'<TR><TD><FONT COLOR="{ink}"><B>{sum(counts.values())}</B></FONT></TD></TR>'
            f'<TR><TD><FONT POINT-SIZE="8" COLOR="{ink}">{_text(parts)}</FONT></TD></TR>')


def _heat(value: int, top: int) -> str:
    if value == 0 or top == 0:
        return HEAT[0]
    return HEAT[1 + min(len(HEAT) - 2, (value - 1) * (len(HEAT) - 1) // top)]


def usecase_diagram(pub: Publication, usecase: UseCase) -> graphviz.Digraph:
    """The use case in the middle, the actors that start scenarios on its left, the others on its right."""
    dot = graphviz.Digraph("usecase", graph_attr={"rankdir": "LR", "fontname": FONT, "label": usecase.name,
                                                  "labelloc": "t", "nodesep": "0.2"},
                           node_attr={"fontname": FONT, "fontsize": "10"}, edge_attr={"dir": "none"})
    dot.node("usecase", label=_wrap(usecase.name, 30), shape="ellipse", style="filled", fillcolor="#cbddef",
             id=f"usecase-{usecase.id}")
    primary = {s.primary_actor for s in usecase.scenarios}
    for node in pub.model.nodes("actor", usecase.id):
        data = pub.data(node)
        label = f"{data['name']}\n«{data['actor_type'].value}»"
        name = f"actor.{data['id']}"  # graph node ids hold ':', which `dot` would read as a port
        dot.node(name, label=_wrap(label, 28), shape="box", style="rounded", id=f"actor-{data['id']}")
        dot.edges([(name, "usecase") if data["id"] in primary else ("usecase", name)])
    return dot


def sequence_diagram(pub: Publication, usecase: UseCase, scenario: Scenario) -> graphviz.Digraph:
    """Lifelines per actor, left to right in order of appearance; one row per numbered step."""
    actors: dict[str, None] = {scenario.primary_actor: None}
    for step in scenario.steps:
        actors.update(dict.fromkeys(a for a in (step.producer, step.receiver) if a))
    names = {a: getattr(pub.element(usecase.id, a), "name", a) for a in actors}
    dot = graphviz.Digraph("sequence", graph_attr={"fontname": FONT, "label": scenario.name, "labelloc": "t",
                                                   "nodesep": "1.2", "ranksep": "0.4", "newrank": "true",
                                                   "splines": "false"},
                           node_attr={"fontname": FONT, "fontsize": "10"}, edge_attr={"fontname": FONT, "fontsize": "9"})
    rows = [[f"head.{a}" for a in actors]]
    with dot.subgraph() as row:
        row.attr(rank="same")
        for actor in actors:
            row.node(f"head.{actor}", label=_wrap(names[actor], 20), shape="box", style="filled", fillcolor="#cbddef",
                     id=f"lifeline-{actor}")
    for step in scenario.steps:
        rows.append([f"s{step.number}.{a}" for a in actors])
        with dot.subgraph() as row:
            row.attr(rank="same")
            for actor in actors:
                row.node(f"s{step.number}.{actor}", label="", shape="point", width="0.04")
    _grid_edges(dot, rows, style="dashed", arrowhead="none", color="#888888")  # the lifelines
    for step in scenario.steps:
        label = _step_label(pub, usecase, step)
        producer = step.producer or scenario.primary_actor
        if step.receiver and step.receiver != producer:
            dot.edge(f"s{step.number}.{producer}", f"s{step.number}.{step.receiver}", label=label, constraint="false",
                     id=f"step-{step.number}", color="#1f5fa8")
        else:
            dot.node(f"s{step.number}.{producer}", xlabel=label, id=f"step-{step.number}")
    return dot


def _step_label(pub: Publication, usecase: UseCase, step: Step) -> str:
    info = [getattr(pub.element(usecase.id, i), "name", i) for i in step.information]
    text = f"{step.number}. {step.service.value}: {step.activity}"
    return _wrap(text + (f" [{', '.join(info)}]" if info else ""), 42)


def _wrap(text: str, width: int) -> str:
    lines: list[str] = []
    for part in text.split("\n"):
        line = ""
        for word in part.split():
            if line and len(line) + len(word) >= width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return "\n".join(lines)


def render(dot: graphviz.Digraph, fmt: str = "svg") -> bytes:
    """The diagram drawn by `dot` in SVG or PNG."""
    return dot.pipe(format=fmt, engine="dot", quiet=True)  # type: ignore[no-any-return]


# --- the files of `sgam diagram` ------------------------------------------------------------


def diagrams(pub: Publication, layers: Iterable[Layer] = tuple(Layer)) -> dict[str, graphviz.Digraph]:
    """Every diagram of the repository by file stem: planes per use case and layer, the repository
    plane, the use-case diagrams and a sequence diagram per scenario."""
    found = {"repository-plane": draw_plane(repository_plane(pub))}
    for usecase in pub.usecases:
        for layer in layers:
            found[f"{usecase.id}/plane-{layer.value}"] = draw_plane(plane(pub, layer, usecase.id))
        found[f"{usecase.id}/usecase"] = usecase_diagram(pub, usecase)
        for scenario in usecase.scenarios:
            found[f"{usecase.id}/sequence-{scenario.id}"] = sequence_diagram(pub, usecase, scenario)
    return found


def write_diagrams(pub: Publication, out: Path, fmt: str, layers: Iterable[Layer],
                   progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Render every diagram, then write them into `out` (one folder per use case); return the files written."""

    def job(stem: str, dot: graphviz.Digraph) -> tuple[Path, bytes]:
        return out / f"{stem}.{fmt}", render(dot, fmt)

    return write_all(in_parallel([partial(job, stem, dot) for stem, dot in diagrams(pub, layers).items()], progress))
