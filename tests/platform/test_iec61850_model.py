"""The DER data-model files: the shipped battery and PV inverter models load, and a broken file is
refused with the place and the reason."""

import json

import pytest

from sgam.platform.iec61850.cdc import CDCS, CtlModel
from sgam.platform.iec61850.datamodel import SHIPPED, ModelFileError, load_model, parse_model, shipped_model


def minimal(**node_overrides: object) -> dict[str, object]:
    node = {"ln_class": "DWMX", "inst": "1", "sources": ["s"], "data_objects": []}
    node.update(node_overrides)
    return {
        "ied": "T",
        "sources": [{"id": "s", "title": "a test source"}],
        "logical_devices": [
            {"inst": "DER", "logical_nodes": [{"ln_class": "LLN0", "sources": ["s"]}, node]},
        ],
    }


@pytest.mark.parametrize("name", ["der_battery", "der_pv"])
def test_shipped_models_load_and_cite_every_name(name: str) -> None:
    model = shipped_model(name)
    nodes = {node.name: node for node in model.logical_devices[0].logical_nodes}
    assert {"LLN0", "MMXU1", "MMTR1", "DWMX1", "DVAR1", "DFPF1", "DVVR1", "DVWC1", "FSCC1", "FSCH1"} <= set(nodes)
    assert nodes["DWMX1"].data_objects[1].name == "WMaxSptPct"
    cited = {source.id: source for source in model.sources}
    for node in nodes.values():
        for obj in node.data_objects:
            assert obj.cdc in CDCS
            assert all(cited[source].url or cited[source].note for source in obj.sources)
    unverified = {f"{node.name}.{obj.name}" for node in nodes.values() for obj in node.data_objects if not obj.verified}
    assert {"FSCH1.SchdSt", "DVAR1.ModEna"} <= unverified  # names no public source confirms are marked
    assert "DWMX1.ModEna" not in unverified


def test_battery_has_storage_and_select_before_operate() -> None:
    model = shipped_model("der_battery")
    nodes = {node.name: node for node in model.logical_devices[0].logical_nodes}
    assert nodes["ZBAT1"].data_objects[0].name == "Soc"
    assert nodes["DWMX1"].data_objects[0].ctl_model is CtlModel.SBO_ENHANCED


def test_every_shipped_file_is_a_model() -> None:
    assert sorted(path.stem for path in SHIPPED.glob("*.json")) == ["der_battery", "der_pv"]


def test_not_json_is_located_by_line_and_column(tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "ied": "T",\n  oops\n}\n')
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    assert caught.value.where == "line 3, column 3"
    assert "broken.json" in str(caught.value)


def test_unknown_cdc_is_located_by_json_path() -> None:
    data = minimal(data_objects=[{"name": "WMaxSptPct", "cdc": "XYZ", "sources": ["s"]}])
    with pytest.raises(ModelFileError) as caught:
        parse_model(json.dumps(data), "m.json")
    assert caught.value.where.startswith("/logical_devices/0/logical_nodes/1/data_objects/0")
    assert "unknown CDC 'XYZ'" in caught.value.message


@pytest.mark.parametrize(
    ("data_object", "message"),
    [
        ({"cdc": "MV", "ctl_model": "direct-with-normal-security"}, "needs a controllable CDC"),
        ({"cdc": "ASG", "min": 10, "max": 0}, "min 10.0 is above max 0.0"),
        ({"cdc": "SPS", "value": 1.5}, "expected a boolean"),
        ({"cdc": "MV", "min": 0}, "ranged CDCs only"),
        ({"cdc": "ASG", "colour": "red"}, "Extra inputs are not permitted"),
        ({"cdc": "ASG", "value": 150.0, "min": 0, "max": 100}, "initial value 150.0 is outside 0.0..100.0"),
        ({"cdc": "ING", "value": -1, "min": 0}, "initial value -1 is outside 0.0.."),
    ],
)
def test_inconsistent_data_objects_are_refused(data_object: dict[str, object], message: str) -> None:
    data = minimal(data_objects=[{"name": "X", "sources": ["s"], **data_object}])
    with pytest.raises(ModelFileError, match=message):
        parse_model(json.dumps(data))


def test_logical_device_needs_lln0_and_unique_names() -> None:
    data = minimal()
    data["logical_devices"][0]["logical_nodes"].pop(0)  # type: ignore[index]
    with pytest.raises(ModelFileError, match="has no LLN0"):
        parse_model(json.dumps(data))
    twice = minimal(data_objects=[{"name": "X", "cdc": "SPS", "sources": ["s"]}] * 2)
    with pytest.raises(ModelFileError, match="declared twice"):
        parse_model(json.dumps(twice))


def test_report_members_must_exist_with_their_fc() -> None:
    data = minimal(data_objects=[{"name": "TotW", "cdc": "MV", "sources": ["s"]}])
    data["logical_devices"][0]["reports"] = [  # type: ignore[index]
        {"name": "urcb", "dataset": "Meas", "members": [{"ref": "DWMX1.TotW", "fc": "ST"}]}
    ]
    with pytest.raises(ModelFileError, match=r"member DWMX1.TotW \[ST\] is not in logical device DER"):
        parse_model(json.dumps(data))


def test_every_cited_source_must_be_listed() -> None:
    data = minimal(data_objects=[{"name": "ModEna", "cdc": "SPC", "sources": ["s", "nowhere"]}])
    with pytest.raises(ModelFileError, match="DWMX1.ModEna cites source 'nowhere'"):
        parse_model(json.dumps(data))


def test_report_blocks_may_share_a_data_set_but_not_redefine_it() -> None:
    data = minimal(data_objects=[{"name": "TotW", "cdc": "MV", "sources": ["s"]}])
    member = {"ref": "DWMX1.TotW", "fc": "MX"}
    reports = [
        {"name": "a", "dataset": "Meas", "members": [member]},
        {"name": "b", "dataset": "Meas", "members": [member]},
    ]
    data["logical_devices"][0]["reports"] = reports  # type: ignore[index]
    parse_model(json.dumps(data))
    reports[1]["members"] = [{"ref": "DWMX1.TotW.q", "fc": "MX"}]
    with pytest.raises(ModelFileError, match="data set Meas in DER is defined twice"):
        parse_model(json.dumps(data))


@pytest.mark.parametrize(
    ("ref", "fc", "message"),
    [
        ("DWMX1.TotW.mag.x", "MX", r"member DWMX1.TotW.mag.x \[MX\] is not in logical device DER"),  # no such attribute
        ("DWMX1.TotW.mag.f", "ST", r"member DWMX1.TotW.mag.f \[ST\] is not in logical device DER"),  # it is MX
        ("DWMX1.TotW.", "MX", "should match pattern"),  # an empty name is no reference
    ],
)
def test_report_members_must_name_an_attribute_that_exists_with_their_fc(ref: str, fc: str, message: str) -> None:
    # Every report of the block reads its members: one that names nothing would fail each report.
    data = minimal(data_objects=[{"name": "TotW", "cdc": "MV", "sources": ["s"]}])
    member = {"ref": ref, "fc": fc}
    data["logical_devices"][0]["reports"] = [{"name": "urcb", "dataset": "Meas", "members": [member]}]  # type: ignore[index]
    with pytest.raises(ModelFileError, match=message):
        parse_model(json.dumps(data))
