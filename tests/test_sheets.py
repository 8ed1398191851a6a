"""The review workbook, written by `sgam matrix` and read back with openpyxl."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sgam.enums import Domain, Layer, Zone
from sgam.models import Cell
from sgam.publish import sheets
from sgam.publish.view import Publication
from tests.conftest import REPO
from tests.publishing import publication


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("matrix") / "matrix.xlsx"
    sheets.write_workbook(publication(REPO / "usecases"), path)
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def pub() -> Publication:
    return publication(REPO / "usecases")


def rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[dict[str, object]]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_the_matrix_has_one_row_per_exchange_and_marks_the_standards_that_carry_it(book, pub: Publication) -> None:
    sheet = book[sheets.MATRIX]
    table = rows(sheet)
    assert len(table) == len(pub.model.exchanges)
    by_step = {(r["use case"], r["scenario"], r["step"]): r for r in table}
    dr_event = by_step["ems-demand-response", "sc-dr-event", "1"]
    assert (dr_event["producer"], dr_event["receiver"]) == ("vtn", "ems")
    assert dr_event["IEC 62746-10-1"] == sheets.USED  # OpenADR 2.0b, by its catalog id
    assert dr_event["IEC 61850-8-2"] is None
    to_battery = next(r for r in table if r["use case"] == "ems-demand-response" and r["receiver"] == "battery-der")
    assert to_battery["IEC 61850-8-2"] == sheets.USED
    assert to_battery["IEC 62746-10-1"] is None
    assert all(r["gap"] is None for r in table)  # every example exchange names a standard


def test_the_matrix_is_ready_for_review(book) -> None:
    sheet = book[sheets.MATRIX]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert sheet.column_dimensions["F"].width >= 20


def test_an_exchange_that_names_no_standard_is_a_highlighted_gap(tmp_path: Path, usecase: Path) -> None:
    text = (usecase / "uc-demo.yaml").read_text()
    text = text[: text.index("  links:")].replace("    data_models: [IEC 61850-7-4 MMXU]\n", "")
    (usecase / "uc-demo.yaml").write_text(text)
    out = tmp_path / "gaps.xlsx"
    sheets.write_workbook(publication(usecase), out)
    sheet = openpyxl.load_workbook(out)[sheets.MATRIX]
    table = rows(sheet)
    assert table and all(r["gap"] == "no standard carries it" for r in table)
    assert all(c.fill.fgColor.rgb.endswith(sheets.GAP_FILL.fgColor.rgb[-6:]) for c in sheet[2])


@pytest.mark.parametrize("layer", list(Layer))
def test_coverage_counts_the_elements_per_cell_under_a_colour_scale(book, pub: Publication, layer: Layer) -> None:
    sheet = book[sheets.coverage_title(layer)]
    assert [c.value for c in sheet[1]] == ["zone", *(d.value for d in Domain)]
    assert [sheet.cell(r, 1).value for r in range(2, 8)] == [z.value for z in reversed(Zone)]
    grid = pub.model.cells(layer)
    for r, zone in enumerate(reversed(Zone), 2):
        for c, domain in enumerate(Domain, 2):
            assert sheet.cell(r, c).value == len(grid.get(Cell(domain=domain, zone=zone), ()))
    [scale] = [rule for rules in sheet.conditional_formatting for rule in rules.rules]
    assert scale.type == "colorScale"
    assert sheet.freeze_panes == "B2"


def test_sgam_matrix_writes_the_workbook_and_refuses_odd_targets(sgam, usecase: Path, tmp_path: Path) -> None:
    result = sgam("matrix", usecase, "-o", tmp_path / "m.xlsx")
    assert result.status == 0, result.err
    assert openpyxl.load_workbook(tmp_path / "m.xlsx").sheetnames[0] == sheets.MATRIX
    assert sgam("matrix", usecase, "-o", tmp_path).status == 2
    odd = sgam("matrix", usecase, "-o", tmp_path / "m.csv")
    assert odd.status == 2 and "does not end in .xlsx" in odd.err
    assert not (tmp_path / "m.csv").exists()


def test_the_gaps_sheet_lists_what_the_standards_analysis_found(book, pub: Publication) -> None:
    table = rows(book[sheets.GAPS])
    assert [(r["use case"], r["kind"], r["what"]) for r in table] == [(g.usecase, g.kind, g.message) for g in pub.gaps]
    assert any(r["kind"] == "missing security" for r in table)
