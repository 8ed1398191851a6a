"""How the importers read what people really write: labels found in moved rows, lists as text,
free-text SGAM areas normalised or kept with their location, nothing dropped without a word."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import yaml

from tests.test_import_corpus import CORPUS, TEMPLATE


@pytest.fixture
def workbook() -> openpyxl.Workbook:
    """The empty template with a small use case: two actors, one scenario, two steps, one information."""
    book = openpyxl.load_workbook(TEMPLATE)
    sheet = book["IEC62559-2"]
    values = {
        "C4": "UC-T", "C6": "Tolerant reading", "C8": "1.0", "C9": "03.02.2024", "C10": "A. Author",
        "C15": "Keep the grid within limits\nPay flexibility fairly",
        "C18": "Short story.", "C46": "Operator", "D46": "Aggregator", "C47": "Role", "D47": "Organisation",
        "C63": "Dispatch", "C65": "Operator",
        "C70": "Dispatch", "D70": "Dispatch", "C71": "1", "D71": "2", "C73": "Ask", "D73": "Answer",
        "C75": "REPORT", "D75": "Create", "C76": "Operator", "D76": "Aggregator", "C77": "Aggregator",
        "D77": "Operator", "C78": "I1", "D78": "I1", "C82": "I1", "C83": "Request",
    }
    for cell, value in values.items():
        sheet[cell] = value
    return book


def _import(sgam, tmp_path: Path, book: openpyxl.Workbook) -> tuple[dict, dict]:
    source = tmp_path / "uc.xlsx"
    book.save(source)
    result = sgam("import", source, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    report = json.loads(result.out)
    written = yaml.safe_load(Path(report["written"][0]).read_text())
    return written, report


def _custom(usecase: dict) -> list[tuple[str, str, str]]:
    return [(c["key"], c["value"], c.get("reference", "")) for c in usecase.get("custom", [])]


def test_a_filled_template_imports_field_by_field(sgam, tmp_path: Path, workbook) -> None:
    usecase, report = _import(sgam, tmp_path, workbook)
    assert report["diagnostics"] == []
    assert usecase["id"] == "UC-T" and usecase["versions"][0]["date"] == "2024-02-03"
    assert usecase["objectives"] == ["Keep the grid within limits", "Pay flexibility fairly"]
    assert [a["name"] for a in usecase["actors"]] == ["Operator", "Aggregator"]
    steps = usecase["scenarios"][0]["steps"]
    assert [(s["number"], s["service"], s["producer"], s["receiver"]) for s in steps] == [
        ("1", "REPORT", "Operator", "Aggregator"), ("2", "CREATE", "Aggregator", "Operator")]
    assert steps[0]["information"] == ["I1"]
    assert report["summaries"][0] | {"file": ""} == {
        "file": "", "usecase": "UC-T", "actors": 2, "scenarios": 1, "steps": 2, "information": 1,
        "added": {"actors": 0, "scenarios": 0, "steps": 0, "information": 0}, "kept_verbatim": 0,
        "missing": ["1.1 area/domain"]}


def test_the_sgam_area_is_normalised_and_the_rest_kept_with_its_cell(sgam, tmp_path: Path, workbook) -> None:
    workbook["IEC62559-2"]["C5"] = "DER, Customer Premises / Operation; Hungary"
    usecase, report = _import(sgam, tmp_path, workbook)
    custom = _custom(usecase)
    assert ("sgam:domain", "DER", "") in custom and ("sgam:domain", "Customer Premises", "") in custom
    assert ("sgam:zone", "Operation", "") in custom
    assert ("1.1 Area/Domain(s)/Zone(s)", "DER, Customer Premises / Operation; Hungary", "") in custom
    assert usecase["domains"] == ["Hungary"]
    [warning] = report["diagnostics"]
    assert warning["code"] == "sgam-area" and "'Hungary'" in warning["message"]
    assert warning["file"].endswith("uc.xlsx [IEC62559-2!C5]")


def test_fields_are_found_by_label_when_rows_move(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    sheet.insert_rows(20, 2)  # two rows more above the KPIs: every later field moves down
    sheet["B20"], sheet["C20"] = "Budget", "EUR 2 million"
    sheet.delete_rows(29)  # 'Prerequisites' (row 27 before the insert) is gone
    usecase, report = _import(sgam, tmp_path, workbook)
    assert [a["name"] for a in usecase["actors"]] == ["Operator", "Aggregator"]
    assert usecase["information"][0]["name"] == "Request"
    assert ("1.4 Budget", "EUR 2 million", "") in _custom(usecase)
    assert [(d["code"], d["file"].rsplit(" ", 1)[1]) for d in report["diagnostics"]] == [
        ("unknown-row", "[IEC62559-2!B20]")]


def test_a_list_written_as_text_names_several_actors(sgam, tmp_path: Path, workbook) -> None:
    workbook["IEC62559-2"]["C76"] = "Operator, Aggregator"
    usecase, report = _import(sgam, tmp_path, workbook)
    assert usecase["scenarios"][0]["steps"][0]["producer"] == "Operator"
    assert [d["code"] for d in report["diagnostics"]] == ["several-actors"]
    assert ("4 information producer (several actors)", "Operator, Aggregator", "Operator") in _custom(usecase)


def test_names_that_match_nothing_are_added_and_reported(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    sheet["D77"], sheet["D78"], sheet["D75"] = "Market operator", "I9", "notify"
    usecase, report = _import(sgam, tmp_path, workbook)
    assert [d["code"] for d in report["diagnostics"]] == ["service", "unknown-actor", "unknown-information"]
    assert report["summaries"][0]["added"] == {"actors": 1, "scenarios": 0, "steps": 0, "information": 1}
    step = usecase["scenarios"][0]["steps"][1]
    assert (step["service"], step["receiver"], step["information"]) == ("EXECUTE", "market-operator", ["I9"])
    assert ("4.2 Service", "notify", "Dispatch step 2") in _custom(usecase)


def test_merged_cells_read_once(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    sheet.merge_cells("C18:F18")
    usecase, _ = _import(sgam, tmp_path, workbook)
    assert usecase["narrative"]["short"] == "Short story."


def test_sgam_domains_and_zones_of_the_xml_dialect_become_placement(sgam, tmp_path: Path) -> None:
    source = CORPUS / "iec62559-3-xml" / "BRIDGE" / "offis-1" / "test.xml"
    result = sgam("import", source, "-o", tmp_path, "--json")
    assert result.status == 0
    usecase = yaml.safe_load(Path(json.loads(result.out)["written"][0]).read_text())
    custom = _custom(usecase)
    assert ("sgam:domain", "Distribution", "") in custom and ("sgam:zone", "Enterprise", "") in custom
    statistics = next(a["id"] for a in usecase["actors"] if a["name"] == "Network Operation Statistics and Reporting")
    assert ("sgam:zone", "Operation", statistics) in custom  # from the actor's grouping


def test_the_summary_says_what_was_imported(sgam, tmp_path: Path, workbook) -> None:
    source = tmp_path / "uc.xlsx"
    workbook.save(source)
    result = sgam("import", source, "-o", tmp_path / "out")
    assert result.status == 0
    assert ("out/UC-T.yaml: from " in result.out and "2 actor(s), 1 scenario(s), 2 step(s), 1 information object(s)"
            in result.out and "missing: 1.1 area/domain" in result.out)
    assert "1 use case(s) from 1 file(s): 0 error(s), 0 warning(s)" in result.err


def test_text_above_the_template_is_kept(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    sheet.insert_rows(1)
    sheet["B1"], sheet["C1"] = "Project", "OneNet"
    usecase, report = _import(sgam, tmp_path, workbook)
    assert ("(above the first heading) Project", "OneNet", "") in _custom(usecase)
    assert [d["code"] for d in report["diagnostics"]] == ["unknown-row"]


def _import_xml(sgam, tmp_path: Path, text: str) -> tuple[dict, dict]:
    source = tmp_path / "uc.xml"
    source.write_text(text)
    result = sgam("import", source, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    report = json.loads(result.out)
    return yaml.safe_load(Path(report["written"][0]).read_text()), report


def test_xml_elements_without_a_place_are_kept_where_they_were(sgam, tmp_path: Path) -> None:
    usecase, report = _import_xml(
        sgam, tmp_path,
        "<UseCase><id>UC-X</id><name>Unknown elements</name>\n"
        "  <ActorGrouping><name>Field</name><description>Sensors</description><note>wired</note>"
        "<Actor><id>a1</id><name>Sensor</name><colour>blue</colour></Actor></ActorGrouping>\n"
        "  <Scenario><id>s1</id><name>Measure</name><PrimaryActor><id>a1</id></PrimaryActor>\n"
        "    <Step><number>1</number><name>Sample</name><service>REPORT</service><latency>10 ms</latency></Step>\n"
        "  </Scenario>\n</UseCase>\n")
    assert ("colour", "blue", "Sensor") in _custom(usecase)
    assert ("latency", "10 ms", "Measure step 1") in _custom(usecase)
    assert ("sgam:zone", "Field", "Sensor") in _custom(usecase)
    assert ("3.1 Group description", "Sensors", "Field") in _custom(usecase)
    assert ("note", "wired", "Field") in _custom(usecase)
    lines = sorted(d["line"] for d in report["diagnostics"] if d["code"] == "unknown-element")
    assert lines == [2, 2, 4]


def test_two_entries_with_one_name_get_two_ids_and_a_warning(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    sheet["E46"], sheet["E48"] = "Operator", "A second actor of the same name"
    sheet["D82"], sheet["D83"] = "I1", "Response"
    usecase, report = _import(sgam, tmp_path, workbook)
    assert [a["id"] for a in usecase["actors"]] == ["Operator", "Aggregator", "Operator-2"]
    assert [i["id"] for i in usecase["information"]] == ["I1", "I1-2"]
    duplicates = [d for d in report["diagnostics"] if d["code"] == "duplicate-id"]
    assert [d["file"].rpartition("[")[2] for d in duplicates] == ["IEC62559-2!E46]", "IEC62559-2!D82]"]
    assert "'Operator' gives the id 'Operator', which an earlier entry" in duplicates[0]["message"]
    assert "imported as 'Operator-2'" in duplicates[0]["message"]


def test_a_use_case_id_taken_by_an_earlier_file_is_renamed_with_a_warning(sgam, tmp_path: Path, workbook) -> None:
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    workbook.save(first)
    workbook.save(second)
    result = sgam("import", first, second, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert [Path(p).name for p in report["written"]] == ["UC-T.yaml", "UC-T-2.yaml"]
    (duplicate,) = report["diagnostics"]
    assert duplicate["code"] == "duplicate-id" and duplicate["file"] == f"{second} [IEC62559-2!C4]"
    assert "imported as 'UC-T-2'" in duplicate["message"]


def test_excel_escapes_in_cell_text_are_decoded(sgam, tmp_path: Path, workbook) -> None:
    """Excel writes a carriage return as _x000D_ and a literal '_x' escape with its underscore as _x005F_."""
    sheet = workbook["IEC62559-2"]
    sheet["C18"] = "First line_x000D_\nsecond line"
    sheet["C19"] = "The register _x005F_x0041_ as written"
    usecase, _ = _import(sgam, tmp_path, workbook)
    assert usecase["narrative"] == {"short": "First line\nsecond line", "complete": "The register _x0041_ as written"}


def test_a_scenario_reference_that_names_no_scenario_is_kept_not_dropped(sgam, tmp_path: Path, workbook) -> None:
    """Some workbooks use the row 'Reference to Scenario number' for other text (ACCEPT UC-11: requirements)."""
    sheet = workbook["IEC62559-2"]
    sheet["C79"], sheet["D79"] = "Needs a working meter", "Dispatch"
    usecase, report = _import(sgam, tmp_path, workbook)
    assert [s["number"] for s in usecase["scenarios"][0]["steps"]] == ["1", "2"]
    assert ("4.2 Reference to Scenario number", "Needs a working meter", "Dispatch step 1") in _custom(usecase)
    (warning,) = report["diagnostics"]
    assert warning["code"] == "scenario-reference" and warning["file"].endswith("[IEC62559-2!C70]")


def test_values_beside_a_sub_heading_are_kept(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    assert sheet["B3"].value == "Use case identification"  # a sub-heading of 1.1, no field
    sheet["C3"] = "OneNet demo"
    usecase, report = _import(sgam, tmp_path, workbook)
    assert ("1.1 Use case identification", "OneNet demo", "") in _custom(usecase)
    assert [(d["code"], d["file"].rpartition("[")[2]) for d in report["diagnostics"]] == [("unknown-row",
                                                                                         "IEC62559-2!B3]")]


def test_a_note_in_column_a_is_kept(sgam, tmp_path: Path, workbook) -> None:
    sheet = workbook["IEC62559-2"]
    sheet["A14"] = "to be agreed"  # beside the label 'Scope'
    sheet["A84"] = "reviewed by the DSO"  # alone, below the last row
    usecase, report = _import(sgam, tmp_path, workbook)
    assert ("1.3 (text in column A)", "to be agreed", "") in _custom(usecase)
    assert ("5 (text in column A)", "reviewed by the DSO", "") in _custom(usecase)
    assert [d["file"].rpartition("[")[2] for d in report["diagnostics"]] == ["IEC62559-2!A14]", "IEC62559-2!A84]"]
