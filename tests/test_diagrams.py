"""Diagrams drawn by the real Graphviz `dot`, read back from the SVG they produce."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgam.enums import Domain, Layer, Zone
from sgam.models import Cell
from sgam.publish import diagrams
from sgam.publish.view import Publication
from tests.conftest import REPO
from tests.publishing import publication

SVG = "{http://www.w3.org/2000/svg}"
SEED = "ems-demand-response"


@pytest.fixture(scope="module")
def pub() -> Publication:
    return publication(REPO / "usecases")


class Drawing:
    """An SVG from `dot`, by the <title> and id of its node and edge groups."""

    def __init__(self, svg: bytes) -> None:
        root = ET.fromstring(svg)
        self.groups = {g.findtext(f"{SVG}title"): g for g in root.iter(f"{SVG}g") if g.get("class") in ("node", "edge")}
        self.by_id = {g.get("id"): g for g in self.groups.values()}

    @staticmethod
    def texts(group: ET.Element) -> list[str]:
        return [t.text or "" for t in group.iter(f"{SVG}text")]

    def centre(self, title: str) -> tuple[float, float]:
        """Middle of a node's outline (`dot` draws HTML tables as polygons)."""
        points = [tuple(map(float, p.split(","))) for p in self.groups[title].find(f"{SVG}polygon").get("points").split()]  # type: ignore[union-attr]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def draw(pub: Publication, layer: Layer, usecase: str | None = SEED) -> Drawing:
    return Drawing(diagrams.render(diagrams.draw_plane(diagrams.plane(pub, layer, usecase))))


def name_of(pub: Publication, node: str) -> str:
    return pub.data(node)["name"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("which", ["use case", "repository"])
def test_the_grid_has_domains_left_to_right_and_zones_bottom_to_top(pub: Publication, which: str) -> None:
    shown = diagrams.plane(pub, Layer.component, SEED) if which == "use case" else diagrams.repository_plane(pub)
    drawing = Drawing(diagrams.render(diagrams.draw_plane(shown)))
    centres = {(d, z): drawing.centre(diagrams.cell_name(Cell(domain=d, zone=z))) for d in Domain for z in Zone}
    for zone in Zone:
        xs = [centres[d, zone][0] for d in Domain]
        assert xs == sorted(xs) and len(set(xs)) == len(xs)
    for domain in Domain:
        ys = [centres[domain, z][1] for z in Zone]  # SVG y grows downwards: market on top has the least
        assert ys == sorted(ys, reverse=True) and len(set(ys)) == len(ys)
        column = {round(centres[domain, z][0]) for z in Zone}
        assert max(column) - min(column) <= 1, f"{domain.value} cells are not in one column"


@pytest.mark.parametrize("layer", list(Layer))
def test_every_element_of_every_use_case_is_drawn_in_each_of_its_cells(pub: Publication, layer: Layer) -> None:
    for usecase in pub.usecases:
        drawing = draw(pub, layer, usecase.id)
        grid = pub.model.cells(Layer.component if layer is Layer.communication else layer, usecase.id)
        assert grid, f"{usecase.id} has nothing on the {layer.value} layer"
        for cell, nodes in grid.items():
            texts = Drawing.texts(drawing.groups[diagrams.cell_name(cell)])
            for node in nodes:
                assert name_of(pub, node) in texts, f"{node} missing from {cell} of {usecase.id}"


def test_the_seed_communication_plane_links_aggregator_ems_and_ders_with_their_protocols(pub: Publication) -> None:
    drawing = draw(pub, Layer.communication)
    der, customer = Domain.der, Domain.customer_premises
    expected = {
        "Aggregator flexibility platform": {(der, Zone.operation), (customer, Zone.operation)},
        "Site EMS controller": {(der, Zone.station), (customer, Zone.station)},
        "Battery inverter with IEC 61850-8-2 server": {(der, Zone.field)},
        "PV inverter with IEC 61850-8-2 server": {(der, Zone.field)},
    }
    for name, cells in expected.items():
        found = {(d, z) for d in Domain for z in Zone
                 if name in Drawing.texts(drawing.groups[diagrams.cell_name(Cell(domain=d, zone=z))])}
        assert found == cells, name
    vtn_ems = drawing.by_id[f"{SEED}/link/link-vtn-ems"]
    assert Drawing.texts(vtn_ems) == ["OpenADR 2.0b", "(IEC 62746-10-1)"]  # with its catalog id
    assert vtn_ems.findtext(f"{SVG}title").startswith("der.operation:")  # type: ignore[union-attr]
    assert vtn_ems.findtext(f"{SVG}title").split("->")[1].startswith("der.station:")  # type: ignore[union-attr]
    for link in ("link-ems-battery", "link-ems-pv"):
        edge = drawing.by_id[f"{SEED}/link/{link}"]
        assert Drawing.texts(edge) == ["IEC 61850-8-2 ACSI over XMPP"]
        assert edge.findtext(f"{SVG}title").split("->")[1].startswith("der.field:")  # type: ignore[union-attr]
    # the hosted actors are written under their components
    texts = Drawing.texts(drawing.groups["der.station"]) + Drawing.texts(drawing.groups["der.operation"])
    assert "ems" in texts and "vtn" in texts


def test_function_and_information_planes_draw_every_exchange_between_its_actors(pub: Publication) -> None:
    for layer in (Layer.function, Layer.information):
        drawing = draw(pub, layer)
        pairs = {(e.producer, e.receiver) for e in pub.exchanges(SEED)}
        for producer, receiver in pairs:
            edge = drawing.by_id[_edge_id(pub, producer, receiver)]
            assert Drawing.texts(edge), f"{producer}->{receiver} has no label"
    labels = " ".join(Drawing.texts(draw(pub, Layer.information).by_id[_edge_id(pub, "vtn", "ems")]))
    assert "Demand-response event" in labels


def _edge_id(pub: Publication, producer: str, receiver: str) -> str:
    nodes = {pub.data(n)["id"]: n for n in pub.model.nodes("actor", SEED)}
    return f"{nodes[producer]}->{nodes[receiver]}"


def test_the_repository_plane_counts_the_elements_per_cell(pub: Publication) -> None:
    drawing = Drawing(diagrams.render(diagrams.draw_plane(diagrams.repository_plane(pub))))
    for domain in Domain:
        for zone in Zone:
            cell = Cell(domain=domain, zone=zone)
            total = sum(len(pub.model.cells(layer).get(cell, ())) for layer in Layer)
            assert Drawing.texts(drawing.groups[diagrams.cell_name(cell)])[0] == str(total)


def test_the_use_case_diagram_shows_every_actor(pub: Publication) -> None:
    usecase = pub.usecase(SEED)
    drawing = Drawing(diagrams.render(diagrams.usecase_diagram(pub, usecase)))
    actors = [pub.data(n)["id"] for n in pub.model.nodes("actor", SEED)]
    assert {"aggregator", "vtn", "ems", "battery-der", "pv-der"} <= set(actors)
    for actor in actors:
        assert f"actor-{actor}" in drawing.by_id
    assert len(drawing.groups) == 1 + 2 * len(actors)  # the use case, the actors, one edge each


def test_a_sequence_diagram_has_a_lifeline_per_actor_and_every_step_numbered(pub: Publication) -> None:
    usecase = pub.usecase(SEED)
    for scenario in usecase.scenarios:
        drawing = Drawing(diagrams.render(diagrams.sequence_diagram(pub, usecase, scenario)))
        actors = {scenario.primary_actor} | {a for s in scenario.steps for a in (s.producer, s.receiver) if a}
        assert {i.removeprefix("lifeline-") for i in drawing.by_id if i and i.startswith("lifeline-")} == actors
        for step in scenario.steps:
            label = " ".join(Drawing.texts(drawing.by_id[f"step-{step.number}"]))
            assert label.startswith(f"{step.number}. {step.service.value}: ")
            if step.producer and step.receiver and step.producer != step.receiver:  # an arrow between lifelines
                title = drawing.by_id[f"step-{step.number}"].findtext(f"{SVG}title")
                assert title == f"s{step.number}.{step.producer}->s{step.number}.{step.receiver}"


def test_sgam_diagram_writes_svg_for_every_use_case_and_scenario(sgam, tmp_path: Path, pub: Publication) -> None:
    result = sgam("diagram", REPO / "usecases", "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    written = {Path(p).relative_to(tmp_path / "out").as_posix() for p in json.loads(result.out)["written"]}
    expected = {"repository-plane.svg"}
    for usecase in pub.usecases:
        expected |= {f"{usecase.id}/plane-{layer.value}.svg" for layer in Layer} | {f"{usecase.id}/usecase.svg"}
        expected |= {f"{usecase.id}/sequence-{s.id}.svg" for s in usecase.scenarios}
    assert written == expected
    assert all(ET.parse(tmp_path / "out" / name).getroot().tag == f"{SVG}svg" for name in expected)


def test_sgam_diagram_draws_png_and_only_the_layers_asked_for(sgam, usecase: Path, tmp_path: Path) -> None:
    out = tmp_path / "png"
    result = sgam("diagram", usecase, "-o", out, "--format", "png", "--layer", "communication", "-q")
    assert result.status == 0 and result.err == ""
    assert sorted(p.name for p in (out / "uc-demo").iterdir()) == [
        "plane-communication.png", "sequence-normal.png", "usecase.png"]
    data = (out / "uc-demo" / "plane-communication.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") > 500


def test_diagram_refuses_a_file_as_output_folder_and_invalid_use_cases(sgam, usecase: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    result = sgam("diagram", usecase, "-o", target)
    assert result.status == 2 and "is a file, not a folder" in result.err
    (usecase / "uc-demo.yaml").write_text((usecase / "uc-demo.yaml").read_text().replace("producer: device", "producer: devise"))
    result = sgam("diagram", usecase, "-o", tmp_path / "out")
    assert result.status == 2 and "error[unknown-ref]" in result.err and "stopped: fix the errors" in result.err
    assert not (tmp_path / "out").exists()


def test_without_dot_the_diagram_command_says_what_to_install(sgam, usecase: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    result = sgam("diagram", usecase, "-o", tmp_path / "out")
    assert result.status == 1 and "Graphviz `dot` is not installed" in result.err and "Traceback" not in result.err


def test_an_actor_without_a_cell_is_left_off_the_plane_not_a_crash(sgam, tmp_path: Path) -> None:
    folder = tmp_path / "uc"
    folder.mkdir()
    (folder / "uc.yaml").write_text((REPO / "tests" / "bad" / "warn-unplaced-actor.yaml").read_text())
    result = sgam("diagram", folder, "-o", tmp_path / "out", "--layer", "function", "--json")
    assert result.status == 0, result.err
    assert "warning[unplaced-actor]" in result.err
    drawing = Drawing((tmp_path / "out" / "UC-DER-curtail" / "plane-function.svg").read_bytes())
    assert not any("inverter" in (title or "") for title in drawing.groups)
    assert "PV inverter controller" not in " ".join(t for g in drawing.groups.values() for t in Drawing.texts(g))
