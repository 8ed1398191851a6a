"""The SGAM model: nodes per element, derived cells, crossings and gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgam.checks import check
from sgam.enums import Domain, Layer, Zone
from sgam.graph import SgamModel
from sgam.loader import load_repository
from sgam.models import Cell
from tests.conftest import skeleton_text

LIBRARY = """\
library: shared
actors:
  - {id: dso-dms, name: DSO DMS, type: system, description: Distribution management., organisation: dso.example}
  - {id: spare, name: Spare, type: system, description: Used by nobody., organisation: dso.example}
components:
  - id: dms-server
    name: DMS server
    type: DMS
    cells: [{domain: Distribution, zone: Operation}]
    hosts: [dso-dms]
  - id: spare-box
    name: Spare box
    type: gateway
    cells: [{domain: Distribution, zone: Station}]
    hosts: [spare]
"""


def build(folder: Path) -> SgamModel:
    repo = load_repository([folder])
    assert repo.diagnostics + check(repo) == []
    return SgamModel.build(repo)


def cell(domain: Domain, zone: Zone) -> Cell:
    return Cell(domain=domain, zone=zone)


D_OP, D_FI = cell(Domain.distribution, Zone.operation), cell(Domain.distribution, Zone.field)


@pytest.fixture
def model(usecase: Path) -> SgamModel:
    return build(usecase)


def test_every_element_is_a_node_with_its_layer(model: SgamModel) -> None:
    kinds = {model.graph.nodes[n]["kind"] for n in model.nodes(usecase="uc-demo")}
    assert kinds == {"actor", "role", "goal", "function", "information", "component", "link"}
    assert model.graph.nodes["uc-demo/component/device-ied"]["layer"] is Layer.component
    assert model.graph.nodes["uc-demo/link/scada-ied"]["layer"] is Layer.communication


def test_cells_are_derived_where_the_file_leaves_them_out(model: SgamModel) -> None:
    nodes = model.graph.nodes
    assert nodes["uc-demo/actor/device"]["cells"] == {D_FI}  # from its hosting component
    assert nodes["uc-demo/function/monitoring"]["cells"] == {D_OP}  # from its realiser
    assert nodes["uc-demo/role/system-operator"]["cells"] == {D_OP}  # from the actor playing it
    assert nodes["uc-demo/goal/observe-grid"]["cells"] == {D_OP}  # from its role
    assert nodes["uc-demo/information/measurements"]["cells"] == {D_OP, D_FI}  # producer and receiver
    assert nodes["uc-demo/link/scada-ied"]["cells"] == {D_OP, D_FI}  # both ends


def test_cells_per_layer(model: SgamModel) -> None:
    assert model.cells(Layer.component) == {D_OP: ["uc-demo/component/operator-scada"],
                                            D_FI: ["uc-demo/component/device-ied"]}
    assert model.cells(Layer.function) == {D_OP: ["uc-demo/function/monitoring"]}


def test_information_is_carried_by_the_link_between_the_two_components(model: SgamModel) -> None:
    carried = {(u, v) for u, v, _ in model.edges("carried_by")}
    assert carried == {("uc-demo/information/measurement-request", "uc-demo/link/scada-ied"),
                       ("uc-demo/information/measurements", "uc-demo/link/scada-ied")}


def test_exchanges_between_zones_are_crossings(model: SgamModel) -> None:
    assert [(x.step, x.producer, x.receiver, x.crosses) for x in model.crossings()] == [
        ("1", "operator", "device", ["zone"]),
        ("2", "device", "operator", ["zone"]),
    ]


def test_an_exchange_between_organisations_is_a_crossing(usecase: Path) -> None:
    path = usecase / "uc-demo.yaml"
    text = path.read_text().replace("organisation: operator.example\nreferences", "organisation: vendor.example\nreferences")
    path.write_text(text)
    crossing = build(usecase).crossings()[0]
    assert crossing.crosses == ["zone", "organisation"]
    assert (crossing.from_organisation, crossing.to_organisation) == ("operator.example", "vendor.example")


def test_an_actor_that_no_component_hosts_is_unplaced(usecase: Path) -> None:
    path = usecase / "uc-demo.yaml"
    path.write_text(path.read_text().replace("hosts: [device]", "hosts: []"))
    repo = load_repository([usecase])
    model = SgamModel.build(repo)
    assert model.unplaced() == ["uc-demo/actor/device"]


def test_library_elements_are_shared_and_pulled_in_only_where_used(usecase: Path) -> None:
    (usecase / "library.yaml").write_text(LIBRARY)
    for name in ("uc-a", "uc-b"):
        text = skeleton_text(name).replace("played_by: [operator]", "played_by: [operator, dso-dms]")
        (usecase / f"{name}.yaml").write_text(text)
    model = build(usecase)
    shared = "library:shared/actor/dso-dms"
    users = {u for u, _, d in model.graph.in_edges(shared, data=True) if d["relation"] == "contains"}
    assert users == {"uc-a/usecase/uc-a", "uc-b/usecase/uc-b"}
    assert model.graph.nodes[shared]["cells"] == {D_OP}  # from the library's DMS server
    assert "library:shared/component/dms-server" in model.nodes(usecase="uc-a")
    assert "library:shared/component/spare-box" not in model.graph  # nobody uses it


def test_crossings_can_be_asked_for_one_boundary(usecase: Path) -> None:
    path = usecase / "uc-demo.yaml"
    text = path.read_text().replace("organisation: operator.example\nreferences", "organisation: vendor.example\nreferences")
    path.write_text(text.replace("zone: Field}", "zone: Operation}"))
    model = build(usecase)
    assert model.crossings(boundary="zone") == []
    assert [x.step for x in model.crossings(boundary="organisation")] == ["1", "2"]
