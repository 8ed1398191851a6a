"""Review workbooks (openpyxl): which standard carries which exchange, and SGAM coverage per layer."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sgam.enums import Domain, Layer, Zone
from sgam.files import write_bytes_atomic
from sgam.models import Cell
from sgam.publish.view import Publication

MATRIX = "Exchanges x standards"
GAPS = "Gaps"
GAP_FILL = PatternFill("solid", fgColor="F4B6B6")  # an exchange no standard carries
USED_FILL = PatternFill("solid", fgColor="C6E0B4")
HEADER_FONT = Font(bold=True)
EXCHANGE_COLUMNS = ("use case", "scenario", "step", "producer", "receiver", "information", "crosses", "gap")
USED = "x"


def coverage_title(layer: Layer) -> str:
    return f"Coverage {layer.value}"


def workbook(pub: Publication) -> Workbook:
    book = Workbook()
    matrix = book.active
    assert matrix is not None  # a new workbook has one sheet
    matrix.title = MATRIX
    _exchange_matrix(matrix, pub)
    _gaps(book.create_sheet(GAPS), pub)
    for layer in Layer:
        _coverage(book.create_sheet(coverage_title(layer)), pub, layer)
    return book


def _exchange_matrix(sheet: Worksheet, pub: Publication) -> None:
    """One row per exchange, one column per standard; rows that no standard carries are the gaps."""
    exchanges = pub.exchanges()
    standards = sorted({s for e in exchanges for s in e.standards}, key=str.lower)
    _header(sheet, [*EXCHANGE_COLUMNS, *standards])
    first = len(EXCHANGE_COLUMNS) + 1
    for row, exchange in enumerate(exchanges, 2):
        names = exchange.standards
        gap = "" if names else "no standard carries it"
        values = (exchange.usecase, exchange.scenario, exchange.step, exchange.producer, exchange.receiver,
                  ", ".join(exchange.information), ", ".join(exchange.crosses), gap)
        for column, value in enumerate(values, 1):
            sheet.cell(row, column, value)
        for column, standard in enumerate(standards, first):
            cell = sheet.cell(row, column, USED if standard in names else None)
            cell.alignment = Alignment(horizontal="center")
            if standard in names:
                cell.fill = USED_FILL
        if gap:
            for column in range(1, first + len(standards)):
                sheet.cell(row, column).fill = GAP_FILL
    for column in range(first, first + len(standards)):
        sheet.cell(1, column).alignment = Alignment(text_rotation=90, horizontal="center")
    _finish(sheet, [12, 16, 6, 14, 14, 28, 14, 22] + [5] * len(standards))
    sheet.row_dimensions[1].height = 12 + 6 * max((len(s) for s in standards), default=0)


def _gaps(sheet: Worksheet, pub: Publication) -> None:
    """The standards analysis' gaps: what each use case still lacks, one row each."""
    _header(sheet, ["use case", "kind", "where", "what"])
    for row, gap in enumerate(pub.gaps, 2):
        for column, value in enumerate((gap.usecase, gap.kind, gap.subject, gap.message), 1):
            sheet.cell(row, column, value).fill = GAP_FILL
    _finish(sheet, [24, 26, 40, 90])


def _coverage(sheet: Worksheet, pub: Publication, layer: Layer) -> None:
    """Zones down (market on top), domains across: how many elements of the layer sit in each cell."""
    grid = pub.model.cells(layer)
    _header(sheet, ["zone", *(d.value for d in Domain)])
    for row, zone in enumerate(reversed(Zone), 2):
        sheet.cell(row, 1, zone.value).font = HEADER_FONT
        for column, domain in enumerate(Domain, 2):
            sheet.cell(row, column, len(grid.get(Cell(domain=domain, zone=zone), ())))
    area = f"B2:{get_column_letter(len(Domain) + 1)}{len(Zone) + 1}"
    sheet.conditional_formatting.add(area, ColorScaleRule(start_type="num", start_value=0, start_color="FFFFFF",
                                                          end_type="max", end_color="E34A33"))
    _finish(sheet, [14] + [20] * len(Domain))


def _header(sheet: Worksheet, names: Sequence[str]) -> None:
    for column, name in enumerate(names, 1):
        sheet.cell(1, column, name).font = HEADER_FONT


def _finish(sheet: Worksheet, widths: Sequence[int]) -> None:
    """Frozen header row, a filter over the table, and column widths."""
    sheet.freeze_panes = "B2" if sheet.title.startswith("Coverage") else "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def write_workbook(pub: Publication, path: Path) -> None:
    buffer = io.BytesIO()
    workbook(pub).save(buffer)
    write_bytes_atomic(path, buffer.getvalue())
