"""The SGAM planes as terminal tables and as JSON: what `sgam map` shows."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sgam.enums import Domain, Layer, Zone
from sgam.graph import Exchange, SgamModel, cell_order


def hosted(model: SgamModel, node: str, usecase: str | None) -> list[str]:
    """Ids of the actors a component hosts (only those of `usecase`, when given)."""
    scope = set(model.nodes(kind="actor", usecase=usecase)) if usecase else None
    return [
        model.graph.nodes[actor]["id"] for _, actor, edge in model.graph.out_edges(node, data=True)
        if edge["relation"] == "hosts" and (scope is None or actor in scope)
    ]


def _element(model: SgamModel, node: str, usecase: str | None) -> dict[str, Any]:
    data = model.graph.nodes[node]
    element = {"node": node, "kind": data["kind"], "id": data["id"], "name": data["name"], "owner": data["owner"]}
    if data["kind"] == "component":
        element["hosts"] = hosted(model, node, usecase)
    return element


def _exchange(exchange: Exchange) -> dict[str, Any]:
    return {
        "usecase": exchange.usecase,
        "scenario": exchange.scenario,
        "step": exchange.step,
        "producer": exchange.producer,
        "receiver": exchange.receiver,
        "information": list(exchange.information),
        "crosses": exchange.crosses,
        "from_organisation": exchange.from_organisation,
        "to_organisation": exchange.to_organisation,
    }


def plane_json(model: SgamModel, usecase: str | None = None) -> dict[str, Any]:
    layers = {}
    for layer in Layer:
        grid = model.cells(layer, usecase)
        layers[layer.value] = [
            {"domain": cell.domain.value, "zone": cell.zone.value,
             "elements": [_element(model, node, usecase) for node in grid[cell]]}
            for cell in sorted(grid, key=cell_order)
        ]
    return {
        "layers": layers,
        "crossings": [_exchange(e) for e in model.crossings(usecase)],
        "unplaced": [_element(model, node, usecase) for node in model.unplaced(usecase)],
    }


def print_planes(console: Console, model: SgamModel, usecase: str | None = None) -> None:
    several = len(model.nodes(kind="usecase")) > 1 and usecase is None
    for layer in Layer:
        grid = model.cells(layer, usecase)
        table = Table(title=f"{layer.value.capitalize()} layer", show_lines=True, title_justify="left")
        table.add_column("zone", style="bold")
        for domain in Domain:
            table.add_column(domain.value, overflow="fold")
        for zone in reversed(Zone):  # Market on top, as on the SGAM plane
            row = []
            for domain in Domain:
                names = []
                for node in next((grid[c] for c in grid if c.domain is domain and c.zone is zone), []):
                    data = model.graph.nodes[node]
                    name = f"{data['id']} [dim]({data['owner']})[/]" if several else data["id"]
                    if data["kind"] == "component" and (actors := hosted(model, node, usecase)):
                        name += f" [cyan]⟵ {', '.join(actors)}[/]"
                    names.append(name)
                row.append("\n".join(names))
            table.add_row(zone.value, *row)
        console.print(table)
    crossings = model.crossings(usecase)
    table = Table(title=f"Exchanges crossing a boundary: {len(crossings)}", title_justify="left")
    for column in ("use case", "scenario", "step", "from", "to", "information", "crosses"):
        table.add_column(column)
    for e in crossings:
        table.add_row(e.usecase, e.scenario, e.step, e.producer, e.receiver, ", ".join(e.information),
                      ", ".join(e.crosses))
    console.print(table)
    unplaced = model.unplaced(usecase)
    if unplaced:
        console.print(f"[yellow]Without SGAM placement ({len(unplaced)}):[/] " + ", ".join(unplaced))
