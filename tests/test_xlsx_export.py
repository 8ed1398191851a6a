"""IEC 62559-2 workbook export: the template's sheet and labels, sgam-only data in labelled extra sheets."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import yaml

from sgam.files import examples_dir
from tests.test_import_corpus import TEMPLATE

EXAMPLE = examples_dir() / "dso-volt-var-der.yaml"


def _labels(sheet) -> list[tuple[object, object]]:
    return [(row[0].value, row[1].value) for row in sheet.iter_rows(max_col=2)]


def test_the_use_case_sheet_has_the_templates_name_and_labels(sgam, tmp_path: Path) -> None:
    target = tmp_path / "uc.xlsx"
    assert sgam("export", EXAMPLE, "-o", target).status == 0
    workbook = openpyxl.load_workbook(target)
    assert workbook.sheetnames == ["IEC62559-2", "sgam custom information", "sgam data"]
    assert _labels(workbook["IEC62559-2"]) == _labels(openpyxl.load_workbook(TEMPLATE)["IEC62559-2"])


def test_entries_continue_to_the_right_as_in_the_template(sgam, tmp_path: Path) -> None:
    target = tmp_path / "uc.xlsx"
    assert sgam("export", EXAMPLE, "-o", target).status == 0
    sheet = openpyxl.load_workbook(target)["IEC62559-2"]
    assert sheet["C4"].value == "dso-volt-var-der"
    actor_names = [c.value for c in sheet[46][2:] if c.value]  # row 46: 'Actor name'
    assert len(actor_names) >= 3 and sheet["B46"].value == "Actor name"
    assert sheet["B71"].value == "Step No." and sheet["C71"].value == "1"


def test_sgam_data_goes_to_labelled_extra_sheets(sgam, tmp_path: Path) -> None:
    target = tmp_path / "uc.xlsx"
    assert sgam("export", EXAMPLE, "-o", target).status == 0
    data = openpyxl.load_workbook(target)["sgam data"]
    assert [c.value for c in data[1]][:2] == ["use case", "key"]
    keys = {row[1] for row in data.iter_rows(min_row=2, values_only=True)}
    assert {"sgam:placement", "sgam:extra", "sgam:ids"} <= keys


def _changed_example(tmp_path: Path, change: Callable[[dict], object]) -> Path:
    """The example, changed, as tmp_path/uc.yaml beside the library."""
    data = yaml.safe_load(EXAMPLE.read_text())
    change(data)
    (tmp_path / "uc.yaml").write_text(yaml.safe_dump(data))
    shutil.copy(examples_dir() / "library.yaml", tmp_path)
    return tmp_path / "uc.yaml"


def _export_with_scope(sgam, tmp_path: Path, scope: str) -> Path:
    """The example with another scope, exported; the scope is in cell C14 (row 14: 'Scope')."""
    source = _changed_example(tmp_path, lambda data: data.update(scope=scope))
    target = tmp_path / "uc.xlsx"
    result = sgam("export", source, "-o", target)
    assert result.status == 0, result.err
    return target


def test_text_that_looks_like_a_formula_stays_text(sgam, tmp_path: Path) -> None:
    scope = '=HYPERLINK("http://example.invalid")'
    cell = openpyxl.load_workbook(_export_with_scope(sgam, tmp_path, scope))["IEC62559-2"]["C14"]
    assert cell.data_type == "s" and cell.value == scope


def test_text_that_looks_like_an_excel_escape_is_written_escaped_and_reads_back_as_itself(sgam, tmp_path: Path) -> None:
    """Excel reads '_x0041_' in a cell as 'A' unless its underscore is written '_x005F_' (ECMA-376 ST_Xstring)."""
    scope = "register _x0041_ and _x000D_ stay as written"
    target = _export_with_scope(sgam, tmp_path, scope)
    cell = openpyxl.load_workbook(target)["IEC62559-2"]["C14"]
    assert cell.value == "register _x005F_x0041_ and _x005F_x000D_ stay as written"
    result = sgam("import", target, "-o", tmp_path / "back", "--json")
    assert result.status == 0, result.err
    assert yaml.safe_load(Path(json.loads(result.out)["written"][0]).read_text())["scope"] == scope


def test_sgam_data_longer_than_an_excel_cell_goes_on_in_the_next_rows(sgam, tmp_path: Path) -> None:
    """Excel cuts a cell at 32,767 characters; the terms (carried as sgam data) here need about 60,000."""
    terms = [{"term": f"term {i}", "definition": f"definition {i}: " + "grid " * 200} for i in range(60)]
    source = _changed_example(tmp_path, lambda data: data.update(terms=terms))
    target = tmp_path / "uc.xlsx"
    assert sgam("export", source, "-o", target).status == 0
    workbook = openpyxl.load_workbook(target)
    lengths = [len(str(c.value)) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value]
    assert max(lengths) <= 32_767
    keys = [row[1] for row in workbook["sgam data"].iter_rows(min_row=2, values_only=True)]
    assert keys.count("sgam:extra") >= 2
    result = sgam("import", target, "-o", tmp_path / "back", "--json")
    assert result.status == 0, result.err
    assert yaml.safe_load(Path(json.loads(result.out)["written"][0]).read_text())["terms"] == terms


def test_a_text_longer_than_an_excel_cell_is_bad_input_for_a_workbook_only(sgam, tmp_path: Path) -> None:
    source = _changed_example(tmp_path, lambda data: data["narrative"].update(complete="grid " * 7_000))
    result = sgam("export", source, "-o", tmp_path / "uc.xlsx")
    assert result.status == 2 and not (tmp_path / "uc.xlsx").exists()
    assert "error[too-long-for-excel]: narrative.complete holds 35,000 characters" in result.err
    assert sgam("export", source, "-o", tmp_path / "uc.xml").status == 0


def test_the_workbook_is_the_same_bytes_whenever_it_is_exported(sgam, tmp_path: Path) -> None:
    """No save time inside: the document properties and every zip entry carry the latest version's date."""
    source = _changed_example(tmp_path, lambda data: data.update(versions=[
        {"version": "1", "date": "1999-12-31", "author": "A", "changes": "first"}]))
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    assert sgam("export", source, "-o", first).status == 0
    assert sgam("export", source, "-o", second).status == 0
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {item.date_time for item in archive.infolist()} == {(1999, 12, 31, 0, 0, 0)}
    properties = openpyxl.load_workbook(first).properties
    assert properties.created == properties.modified == dt.datetime(1999, 12, 31)
