"""The conversion engine and the shipped data name conversion table."""

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sgam.platform.conversion import DEFAULT_TABLE, ConversionError, Converter, Iec61850Names, TableError, load_table
from sgam.platform.datapoints import DataPoint, DataStore, Quality, Value
from sgam.platform.iec61850.cdc import CDCS, BasicType, CtlModel
from sgam.platform.iec61850.datamodel import shipped_model
from sgam.platform.services import Reason, ServiceError


@pytest.fixture(scope="module")
def converter() -> Converter:
    return Converter()


def test_simple_levels_become_stepped_active_power_limits_and_back(converter: Converter) -> None:
    limits = [converter.from_signal("SIMPLE", "level", level).value for level in (0, 1.0, 2, 3)]
    assert limits == [100.0, 60.0, 30.0, 0.0]
    back = converter.to_signal("der.active_power_limit", 30.0, "SIMPLE")
    assert (back.row.signal_name, back.row.signal_type, back.value) == ("SIMPLE", "level", 2.0)


def test_a_limit_between_simple_levels_is_refused_not_rounded(converter: Converter) -> None:
    with pytest.raises(ConversionError, match="cannot be expressed; the table knows 100.0, 60.0, 30.0, 0.0") as err:
        converter.to_signal("der.active_power_limit", 45.0, "SIMPLE")
    assert err.value.reason is Reason.OUT_OF_RANGE
    with pytest.raises(ConversionError, match="1.5 has no defined meaning"):
        converter.from_signal("SIMPLE", "level", 1.5)
    with pytest.raises(ConversionError, match="outside 0.0..3.0"):
        converter.from_signal("SIMPLE", "level", 4)


def test_load_control_capacity_is_a_fraction_that_becomes_percent(converter: Converter) -> None:
    assert converter.from_signal("LOAD_CONTROL", "x-loadControlCapacity", 0.45).value == pytest.approx(45.0)
    assert converter.to_signal("der.active_power_limit", 45.0, "LOAD_CONTROL").value == pytest.approx(0.45)
    with pytest.raises(ConversionError, match="outside 0.0..1.0"):
        converter.from_signal("LOAD_CONTROL", "x-loadControlCapacity", 1.2)


def test_the_si_scale_code_on_the_wire_turns_kilowatts_into_watts(converter: Converter) -> None:
    point = converter.from_report("TELEMETRY_USAGE", "powerReal", 1.5, si_scale_code="k")
    assert (point.name, point.value, point.unit) == ("der.active_power", 1500.0, "W")
    assert converter.from_report("TELEMETRY_USAGE", "powerReal", 1500, si_scale_code="none").value == 1500.0
    with pytest.raises(ConversionError, match="unknown SI scale code 'kilo'"):
        converter.from_report("TELEMETRY_USAGE", "powerReal", 1.5, si_scale_code="kilo")


def test_telemetry_power_comes_from_mmxu_totw_and_goes_out_as_power_real(converter: Converter) -> None:
    point = converter.from_iec61850("MMXU1.TotW.mag.f", 2500.0, Quality.QUESTIONABLE)
    assert (point.name, point.value, point.quality) == ("der.active_power", 2500.0, Quality.QUESTIONABLE)
    row, value = converter.to_report(point.name, point.value)
    assert (row.report_name, row.item_name, row.item_description, row.unit, value) == (
        "TELEMETRY_USAGE",
        "powerReal",
        "RealPower",
        "W",
        2500.0,
    )


def test_iec61850_types_and_enumerations_are_respected(converter: Converter) -> None:
    assert converter.to_iec61850("der.behaviour", "off")[1] == 5
    assert converter.from_iec61850("LLN0.Beh.stVal", 3).value == "test"
    with pytest.raises(ConversionError, match="'standby' cannot be expressed"):
        converter.to_iec61850("der.behaviour", "standby")
    row, value = converter.to_iec61850("der.energy", 1200.0)
    assert (row.reference, row.fc, row.cdc, value) == ("MMTR1.TotWh.actVal", "ST", "BCR", 1200)
    with pytest.raises(ConversionError, match="1200.5 is not a int") as err:
        converter.to_iec61850("der.energy", 1200.5)
    assert err.value.reason is Reason.WRONG_TYPE
    row, enabled = converter.to_iec61850("der.active_power_limit_enabled", True)
    assert (row.reference, row.fc, row.control_model, enabled) == (
        "DWMX1.ModEna",
        "CO",
        "sbo-with-enhanced-security",
        True,
    )
    with pytest.raises(ConversionError, match="is not a bool"):
        converter.to_iec61850("der.active_power_limit_enabled", 1)


def test_unknown_names_on_any_side_are_refused_with_their_reason(converter: Converter) -> None:
    cases = [
        lambda: converter.from_signal("ELECTRICITY_PRICE", "price", 0.3),
        lambda: converter.from_report("TELEMETRY_USAGE", "voltage", 230.0),
        lambda: converter.from_iec61850("MMXU1.PhV.phsA.cVal.mag.f", 230.0),
        lambda: converter.to_iec61850("der.nothing", 1.0),
    ]
    for case in cases:
        with pytest.raises(ConversionError) as err:
            case()
        assert err.value.reason is Reason.UNKNOWN_NAME
    with pytest.raises(ConversionError, match="outside 0.0..100.0"):
        converter.to_iec61850("der.active_power_limit", 101.0)


def test_the_shipped_table_cites_a_source_for_every_row_and_declares_the_store(converter: Converter) -> None:
    table = converter.table
    assert "own design" in table.about
    cited = {source for rows in (table.openadr_signals, table.openadr_reports, table.iec61850) for r in rows
             for source in r.sources}
    assert cited <= {s.id for s in table.sources}
    store = DataStore(converter.specs)
    assert store.spec("der.active_power").unit == "W"
    assert store.spec("der.active_power_limit_enabled").kind is bool


def _broken_table(tmp_path: Path, change: dict[str, object]) -> Path:
    data = json.loads(DEFAULT_TABLE.read_text())
    data.update(change)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(data))
    return path


def test_a_bad_table_file_is_refused_with_where_and_why(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"format": "sgam-conversion-table/1",\n "about": }')
    with pytest.raises(TableError, match=r"bad.json: line 2, column 11: not JSON"):
        load_table(bad_json)
    data = json.loads(DEFAULT_TABLE.read_text())
    signal = dict(data["openadr_signals"][0], signal_type="level-ish")
    with pytest.raises(TableError, match=r"/openadr_signals/0: .*signal_type 'level-ish' is not an OpenADR 2.0b value"):
        load_table(_broken_table(tmp_path, {"openadr_signals": [signal]}))
    report = dict(data["openadr_reports"][0], unit="kW")
    with pytest.raises(TableError, match="described as 'RealPower' in 'W'"):
        load_table(_broken_table(tmp_path, {"openadr_reports": [report]}))
    lookup = dict(data["openadr_signals"][0], conversion={"kind": "lookup", "pairs": [[0, 100.0], [1, 100.0]]})
    with pytest.raises(TableError, match="common values of a lookup must be unique"):
        load_table(_broken_table(tmp_path, {"openadr_signals": [lookup]}))
    orphan = dict(data["iec61850"][0], common="der.unknown")
    with pytest.raises(TableError, match="row for 'der.unknown' names no common point"):
        load_table(_broken_table(tmp_path, {"iec61850": [orphan]}))
    uncited = dict(data["iec61850"][0], sources=["nowhere"])
    with pytest.raises(TableError, match="cites unknown source 'nowhere'"):
        load_table(_broken_table(tmp_path, {"iec61850": [uncited]}))
    control = dict(data["iec61850"][0], fc="CO")
    with pytest.raises(TableError, match="needs a control_model and a status attribute"):
        load_table(_broken_table(tmp_path, {"iec61850": [control]}))


class ReferenceClient:
    """An in-process stand-in for an IEC 61850 client: names are object references."""

    def __init__(self, values: dict[str, Value]) -> None:
        self.values = values
        self.calls: list[tuple[str, str, object]] = []

    async def get(self, peer: str, names: Sequence[str]) -> dict[str, DataPoint]:
        return {name: DataPoint(name, self.values[name]) for name in names}

    async def set(self, peer: str, values: Mapping[str, Value]) -> None:
        self.calls += [("set", name, value) for name, value in values.items()]

    async def select(self, peer: str, name: str, value: Value | None = None) -> None:
        self.calls.append(("select", name, value))

    async def operate(self, peer: str, name: str, value: Value) -> None:
        self.calls.append(("operate", name, value))

    async def cancel(self, peer: str, name: str) -> None:
        self.calls.append(("cancel", name, None))


def test_common_names_reach_an_iec61850_client_as_references_of_each_peers_logical_device(
    converter: Converter,
) -> None:
    client = ReferenceClient({"PVDER/MMXU1.TotW.mag.f": 812.5, "PVDER/DWMX1.ModEna.stVal": True})
    names = Iec61850Names(client, converter, {"bat@x": "BATTDER", "pv@x": "PVDER"})

    async def scenario() -> None:
        await names.set("bat@x", {"der.active_power_limit": 60.0})
        await names.operate("bat@x", "der.active_power_limit_enabled", True)
        await names.select("pv@x", "der.active_power_limit_enabled", True)
        await names.cancel("pv@x", "der.active_power_limit_enabled")
        read = await names.get("pv@x", ["der.active_power", "der.active_power_limit_enabled"])
        assert {name: point.value for name, point in read.items()} == {
            "der.active_power": 812.5,
            "der.active_power_limit_enabled": True,  # a control is read at its state attribute
        }
        with pytest.raises(ConversionError, match="is not a control"):
            await names.operate("pv@x", "der.active_power_limit", 50.0)
        with pytest.raises(ConversionError, match="outside 0.0..100.0"):
            await names.set("pv@x", {"der.active_power_limit": 150.0})
        with pytest.raises(ServiceError, match="no logical device is configured for 'meter@x'"):
            await names.get("meter@x", ["der.active_power"])

    asyncio.run(scenario())
    assert client.calls == [
        ("set", "BATTDER/DWMX1.WMaxSptPct.setMag.f", 60.0),
        ("operate", "BATTDER/DWMX1.ModEna", True),
        ("select", "PVDER/DWMX1.ModEna", True),
        ("cancel", "PVDER/DWMX1.ModEna", None),
    ]


def test_a_number_too_large_for_any_unit_is_refused_not_a_crash(converter: Converter, tmp_path: Path) -> None:
    huge = 10**400  # a Python int no float can hold
    cases = [
        lambda: converter.from_signal("SIMPLE", "level", huge),
        lambda: converter.from_report("TELEMETRY_USAGE", "powerReal", huge),
        lambda: converter.from_iec61850("MMTR1.TotWh.actVal", huge),
        lambda: converter.to_iec61850("der.active_power_limit", huge),
        lambda: converter.to_report("der.active_power", huge),
    ]
    for case in cases:
        with pytest.raises(ConversionError, match="not a finite number") as err:
            case()
        assert err.value.reason is Reason.OUT_OF_RANGE
    # Scaling into a small SI unit can leave the range of numbers too: refused, not sent as inf.
    data = json.loads(DEFAULT_TABLE.read_text())
    picowatts = dict(data["openadr_reports"][0], si_scale_code="p")
    scaled = Converter(load_table(_broken_table(tmp_path, {"openadr_reports": [picowatts]})))
    assert scaled.to_report("der.active_power", 1.0)[1] == pytest.approx(1e12)
    with pytest.raises(ConversionError, match="not a finite number"):
        scaled.to_report("der.active_power", 1e300)


KINDS = {"bool": {BasicType.BOOLEAN}, "float": {BasicType.FLOAT32}, "str": {BasicType.VISSTRING}, "int": {
    BasicType.INT32, BasicType.INT32U, BasicType.INT64, BasicType.ENUM}}


@pytest.mark.parametrize(("model", "absent"), [("der_battery", set()), ("der_pv", {"ZBAT1.Soc.mag.f"})])
def test_every_reference_of_the_shipped_table_exists_in_the_shipped_models(
    converter: Converter, model: str, absent: set[str]
) -> None:
    # The EMS uses one table for all its DERs: what a DER hosts must read and write as the table says.
    objects = {
        f"{ln.name}.{do.name}": do for ld in shipped_model(model).logical_devices for ln in ld.logical_nodes
        for do in ln.data_objects
    }
    missing = set()
    for row in converter.table.iec61850:
        ln, do, *path = row.readable.split(".")
        spec = objects.get(f"{ln}.{do}")
        if spec is None:
            missing.add(row.readable)
            continue
        assert (spec.cdc, spec.unit) == (row.cdc, row.unit), row.reference
        [attribute] = [a for a in CDCS[spec.cdc].attributes if a.path == ".".join(path)]
        assert attribute.kind in KINDS[row.wire_kind], row.reference
        if row.control_model is None:
            assert attribute.fc.value == row.fc, row.reference
        else:  # a control: the device's own ctlModel decides how it is operated
            assert spec.ctl_model is not CtlModel.STATUS_ONLY, row.reference
    assert missing == absent  # a PV inverter has no battery
