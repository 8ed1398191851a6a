"""The ACSI XML codec: every message survives encode -> bytes -> decode, and a payload that is not
an ACSI message is refused with the XML path of the fault."""

import xml.etree.ElementTree as ET

import pytest

from sgam.platform.iec61850 import acsi
from sgam.platform.iec61850.acsi import NAMESPACE, AcsiDecodeError, DataValue, decode, encode
from sgam.platform.iec61850.cdc import BasicType, Fc

F = BasicType.FLOAT32
MESSAGES = [
    acsi.GetServerDirectory(),
    acsi.GetLogicalNodeDirectory("BATTDER/LLN0", acsi.AcsiClass.URCB),
    acsi.GetDataValues("BATTDER/MMXU1.TotW", Fc.MX),
    acsi.SetDataValues("BATTDER/DWMX1.WMaxSptPct", Fc.SP, (DataValue(F, 42.5, "setMag.f"),)),
    acsi.SelectWithValue("BATTDER/DWMX1.ModEna", DataValue(BasicType.BOOLEAN, True), 7, 3, "ems", False),
    acsi.Operate("PVDER/DWMX1.ModEna", DataValue(BasicType.BOOLEAN, False), 255, or_ident="ems@example.org"),
    acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", rpt_ena=True, gi=True),
    acsi.GetServerDirectoryResponse(("BATTDER",)),
    acsi.GetDataDefinitionResponse("BATTDER/ZBAT1.Soc", "MV", (acsi.AttributeDefinition("mag.f", Fc.MX, F),)),
    acsi.GetDataValuesResponse(
        "BATTDER/MMXU1.TotW",
        Fc.MX,
        (
            DataValue(F, -2500.0, "mag.f"),
            DataValue(BasicType.QUALITY, "good", "q"),
            DataValue(BasicType.TIMESTAMP, "", "t"),
        ),
    ),
    acsi.GetDataSetDirectoryResponse("BATTDER/LLN0.Meas", (acsi.DataSetMember("BATTDER/MMXU1.TotW", Fc.MX),)),
    acsi.GetURCBValuesResponse("BATTDER/LLN0.urcbMeas", "Meas", "BATTDER/LLN0.Meas", True, True, "dchg gi", 0, 4),
    acsi.Report(
        "BATTDER/LLN0.urcbMeas",
        "Meas",
        "BATTDER/LLN0.Meas",
        3,
        "2026-11-27T05:00:00.000+00:00",
        (acsi.ReportEntry("BATTDER/ZBAT1.Soc", Fc.MX, "data-change", (DataValue(F, 55.5, "mag.f"),)),),
    ),
    acsi.CommandTermination("BATTDER/DWMX1.ModEna", 7, False, acsi.AddCause.BLOCKED_BY_PROCESS),
    acsi.ServiceError(
        acsi.ServiceErrorKind.CONTROL_MUST_BE_SELECTED, acsi.AddCause.OBJECT_NOT_SELECTED, "select first"
    ),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip_through_bytes(message: acsi.Message) -> None:
    wire = ET.tostring(encode(message))
    assert decode(ET.fromstring(wire)) == message


def test_wire_shape_mirrors_the_acsi_parameters() -> None:
    element = encode(MESSAGES[4])
    assert element.tag == f"{{{NAMESPACE}}}SelectWithValue"
    assert element.attrib == {
        "ref": "BATTDER/DWMX1.ModEna",
        "ctlNum": "7",
        "orCat": "3",
        "orIdent": "ems",
        "test": "false",
    }
    [ctl_val] = element
    assert (ctl_val.tag, ctl_val.get("type"), ctl_val.text) == (f"{{{NAMESPACE}}}ctlVal", "BOOLEAN", "true")


def request(xml: str) -> ET.Element:
    return ET.fromstring(xml.replace("NS", NAMESPACE))


@pytest.mark.parametrize(
    ("xml", "path", "why"),
    [
        ('<GetDataValues xmlns="urn:other" ref="x" fc="MX"/>', "/GetDataValues", "expected an element in namespace"),
        ('<Hello xmlns="NS"/>', "/Hello", "unknown ACSI message"),
        ('<GetDataValues xmlns="NS" ref="x"/>', "/GetDataValues/@fc", "missing attribute"),
        ('<GetDataValues xmlns="NS" ref="x" fc="ZZ"/>', "/GetDataValues/@fc", "'ZZ' is not a valid Fc"),
        ('<GetDataValues xmlns="NS" ref="x" fc="MX" extra="1"/>', "/GetDataValues/@extra", "unexpected attribute"),
        ('<Operate xmlns="NS" ref="x" ctlNum="1"/>', "/Operate/ctlVal", "expected exactly one element, found 0"),
        (
            '<Operate xmlns="NS" ref="x" ctlNum="one"><ctlVal type="BOOLEAN">true</ctlVal></Operate>',
            "/Operate/@ctlNum",
            "'one' is not a valid int",
        ),
        (
            '<Operate xmlns="NS" ref="x"><ctlVal type="BOOLEAN">yes</ctlVal></Operate>',
            "/Operate/ctlVal",
            "true or false",
        ),
        ('<Operate xmlns="NS" ref="x"><ctlVal type="FLOAT32">nan</ctlVal></Operate>', "/Operate/ctlVal", "finite"),
        (
            '<Operate xmlns="NS" ref="x"><ctlVal type="REAL">1</ctlVal></Operate>',
            "/Operate/ctlVal/@type",
            "not a valid",
        ),
        (
            '<SetDataValues xmlns="NS" ref="x" fc="SP"><value type="INT32">9999999999</value></SetDataValues>',
            "/SetDataValues/value[1]",
            "outside the INT32 range",
        ),
        (
            '<SetDataValues xmlns="NS" ref="x" fc="SP"><junk/></SetDataValues>',
            "/SetDataValues/{NS}junk",
            "unexpected element",
        ),
    ],
)
def test_malformed_payloads_are_refused_with_their_path(xml: str, path: str, why: str) -> None:
    with pytest.raises(AcsiDecodeError) as caught:
        decode(request(xml))
    assert caught.value.path == path.replace("NS", NAMESPACE)
    assert why in str(caught.value)


def test_an_oversized_list_is_refused() -> None:
    values = "".join('<value name="x" type="INT32">1</value>' for _ in range(acsi.MAX_ITEMS + 1))
    with pytest.raises(AcsiDecodeError, match="more than"):
        decode(request(f'<SetDataValues xmlns="NS" ref="x" fc="SP">{values}</SetDataValues>'))


@pytest.mark.parametrize(("kind", "text"), [("INT32", "1_000"), ("INT32", " 5"), ("INT32", "١٢"), ("FLOAT32", "1_0.5"),
                                            ("FLOAT32", "４２"), ("FLOAT32", "5 "), ("INT32", "0x10")])  # fmt: skip
def test_numbers_are_plain_decimals_nothing_python_also_reads(kind: str, text: str) -> None:
    # int() and float() take digit separators, padding and other scripts' digits: no peer means those.
    xml = f'<SetDataValues xmlns="NS" ref="x" fc="SP"><value type="{kind}">{text}</value></SetDataValues>'
    with pytest.raises(AcsiDecodeError, match="expected a(n integer| finite decimal number)"):
        decode(request(xml))


def test_decimal_numbers_in_every_form_a_float_is_written_in_are_read() -> None:
    for text, number in [("-1", -1.0), ("+2.5", 2.5), ("1e-05", 1e-05), ("1E+20", 1e20), (".5", 0.5), ("3.", 3.0)]:
        xml = f'<SetDataValues xmlns="NS" ref="x" fc="SP"><value type="FLOAT32">{text}</value></SetDataValues>'
        message = decode(request(xml))
        assert isinstance(message, acsi.SetDataValues) and message.values[0].value == number
