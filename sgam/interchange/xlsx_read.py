"""Read IEC 62559-2 Excel workbooks (.xlsx, .xlsm) into drafts.

The template is one sheet per use case: section headings and field labels in columns A and B,
values from column C rightward, one column per entry where a section repeats (versions, actors,
steps ...). Real workbooks add, drop and mislabel rows, so fields are found by their label
within their section, never by row number. A sheet is a use case when it holds the heading
'1.1 Name of use case'; any other sheet with content is kept verbatim with the first use case.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity
from sgam.interchange import guard
from sgam.interchange.build import split_list
from sgam.interchange.draft import (
    Draft,
    DraftActor,
    DraftCustom,
    DraftDiagram,
    DraftInformation,
    DraftKpi,
    DraftReference,
    DraftScenario,
    DraftStep,
    DraftVersion,
    Text,
    Where,
)
from sgam.interchange.template import CUSTOM_SHEET, DATA_SHEET, SECTION, decode_cell_text, label_key, labels

FIRST_HEADING = label_key("1.1 Name of use case")
LABELS = labels()
IGNORED_SHEETS = {"instructions"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return decode_cell_text(str(value)).replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass
class Grid:
    """A sheet's cell texts (formulas replaced by their cached values) and where formulas were."""

    name: str
    rows: list[list[str]]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column), 1-based

    def where(self, row: int, column: int) -> Where:
        return Where(f"{self.name}!{get_column_letter(column)}{row}")


@dataclass
class Line:
    """A labelled row: its section, field, and values by column (1-based, from C)."""

    row: int
    section: str
    field: str
    label: str
    values: dict[int, str]


class SheetReader:
    """Turns a template sheet into a draft; unknown rows and formulas become warnings."""

    def __init__(self, file: str, grid: Grid) -> None:
        self.file = file
        self.grid = grid
        self.diagnostics: list[Diagnostic] = []
        self.custom: list[DraftCustom] = []
        self.lines: list[Line] = []

    def warn(self, code: str, message: str, where: Where, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(Severity.warning, code, message, f"{self.file} [{where.place}]",
                                           hint=hint))

    def read(self) -> Draft:
        self._lines()
        self._formulas()
        g = self.grid
        draft = Draft(self.file, Where(g.name), self._single("1.1", "id"), self._single("1.1", "name"))
        area = self._single("1.1", "area")
        draft.area = [area] if area.value else []
        draft.versions = [DraftVersion(e.get("number", ""), e.get("date", ""), e.get("author", ""),
                                       e.get("changes", ""), e.get("status", ""), where)
                          for e, where in self._entries("1.2")]
        draft.scope = self._single("1.3", "scope").value
        draft.objectives = _lines(self._single("1.3", "objectives").value)
        self._keep("1.3", "business_cases", "1.3 Related business case(s)")
        draft.short = self._single("1.4", "short").value
        draft.complete = self._single("1.4", "complete").value
        draft.kpis = [DraftKpi(e.get("id", ""), e.get("name", ""), e.get("description", ""),
                               _lines(e.get("objectives", "")), where) for e, where in self._entries("1.5")]
        self._keep("1.6", "assumptions", "1.6 Assumptions")
        self._keep("1.6", "prerequisites", "1.6 Prerequisites")
        draft.relations = split_list(self._single("1.7", "relations").value)
        draft.level_of_depth = self._single("1.7", "level_of_depth").value
        draft.prioritisation = self._single("1.7", "prioritisation").value
        draft.generic = self._single("1.7", "generic").value
        draft.nature = self._single("1.7", "nature").value
        draft.keywords = split_list(self._single("1.7", "keywords").value)
        draft.remarks = self._single("1.8", "remarks").value
        draft.diagrams = [DraftDiagram(e.get("name", ""), e.get("kind", ""), e.get("uri_type", ""), e.get("uri", ""),
                                       where) for e, where in self._entries("2")]
        draft.actors = [self._actor(e, where) for e, where in self._entries("3.1")]
        draft.references = [DraftReference(e.get("number", ""), e.get("name", ""), e.get("type", ""),
                                           e.get("reference", ""), e.get("status", ""), e.get("impact", ""),
                                           e.get("originator", ""), e.get("link", ""), where)
                            for e, where in self._entries("3.2")]
        draft.scenarios = [DraftScenario(e.get("number", "") or e.get("name", ""), e.get("number", ""),
                                         e.get("name", ""), e.get("description", ""), e.get("primary_actor", ""),
                                         e.get("triggering_event", ""), e.get("pre_condition", ""),
                                         e.get("post_condition", ""), where) for e, where in self._entries("4.1")]
        draft.steps = [DraftStep(e.get("scenario", ""), e.get("number", ""),
                                 e.get("event", ""), e.get("activity", ""), e.get("description", ""),
                                 e.get("service", ""), e.get("producer", ""), e.get("receiver", ""),
                                 split_list(e.get("information", "")), [], where, e.get("scenario_number", ""))
                       for e, where in self._entries("4.2")]
        draft.information = [DraftInformation(e.get("id", ""), e.get("id", ""), e.get("name", ""),
                                              e.get("description", ""), split_list(e.get("requirements", "")), where)
                             for e, where in self._entries("5")]
        draft.custom = self.custom
        return draft

    # --- rows --------------------------------------------------------------------------------

    def _lines(self) -> None:
        section = ""
        for r, cells in enumerate(self.grid.rows, start=1):
            a, b = (cells + ["", ""])[:2]
            values = {c: v for c, v in enumerate(cells[2:], start=3) if v}
            label, a_heading = b, False
            for heading in (a, b):
                match = SECTION.match(heading)
                if match and match.group(1) in LABELS:
                    section = match.group(1)
                    if heading == b:
                        label = ""
                    else:
                        a_heading = True
            if a and not a_heading and (label or not values):  # a note in column A (else it labels the values)
                self._stray(r, 1, section, a)
            if not label:
                if values:
                    self._unknown(r, section, a or "(no label)", values)
                continue
            name = LABELS.get(section, {}).get(label_key(label))
            if name is None or (not name and values):  # a sub-heading row holds no field
                self._unknown(r, section, label, values)
            elif name:
                self.lines.append(Line(r, section, name, label, values))

    def _unknown(self, row: int, section: str, label: str, values: dict[int, str]) -> None:
        where = self.grid.where(row, 2)
        text = "\n".join(values.values()) if values else ""
        key = f"{section or '(above the first heading)'} {label}"
        if values:
            self.custom.append(DraftCustom(key, text, "", where))
            self.warn("unknown-row", f"row label {label!r} is no field of section {section or '(none)'} of the template; its "
                      "values are kept verbatim in custom information", where,
                      "use the template's label if the row holds one of its fields")
        elif label:
            self._stray(row, 2, section, label)

    def _stray(self, row: int, column: int, section: str, text: str) -> None:
        where = self.grid.where(row, column)
        letter = get_column_letter(column)
        self.custom.append(DraftCustom(f"{section or '(above the first heading)'} (text in column {letter})", text, "",
                                       where))
        self.warn("unknown-row", f"text {text[:40]!r} in column {letter} is not a heading or label of the template; "
                  "kept verbatim in custom information", where)

    def _formulas(self) -> None:
        for (row, column), formula in sorted(self.grid.formulas.items()):
            where = self.grid.where(row, column)
            cells = self.grid.rows[row - 1] if row <= len(self.grid.rows) else []
            cached = cells[column - 1] if column <= len(cells) else ""
            if cached:
                self.warn("formula", f"cell holds the formula {formula!r}; its value as last saved by Excel, "
                          f"{cached[:40]!r}, is used (sgam never evaluates formulas)", where)
            else:
                self.custom.append(DraftCustom("formula", formula, where.place, where))
                self.warn("formula", f"cell holds the formula {formula!r} and no saved value; sgam never evaluates "
                          "formulas, so it is kept verbatim in custom information", where,
                          "open and save the workbook in Excel so that it stores the value, or type the value")

    def _single(self, section: str, name: str) -> Text:
        lines = [line for line in self.lines if line.section == section and line.field == name]
        parts = [v for line in lines for _, v in sorted(line.values.items())]
        where = self.grid.where(lines[0].row, 3) if lines else Where(f"{self.grid.name}!section {section}")
        return Text("\n".join(parts), where)

    def _keep(self, section: str, name: str, key: str) -> None:
        text = self._single(section, name)
        if text.value:
            self.custom.append(DraftCustom(key, text.value, "", text.where))

    def _entries(self, section: str) -> list[tuple[dict[str, str], Where]]:
        """One entry per (block, column): a field label seen again starts a new block of entries."""
        entries: dict[tuple[int, int], dict[str, str]] = {}
        places: dict[tuple[int, int], Where] = {}
        block, seen = 0, set[str]()
        for line in self.lines:
            if line.section != section:
                continue
            if line.field in seen:
                block, seen = block + 1, set()
            seen.add(line.field)
            for column, value in line.values.items():
                entry = entries.setdefault((block, column), {})
                entry[line.field] = f"{entry[line.field]}\n{value}" if line.field in entry else value
                places.setdefault((block, column), self.grid.where(line.row, column))
        return [(entries[k], places[k]) for k in sorted(entries)]

    def _actor(self, e: dict[str, str], where: Where) -> DraftActor:
        name = e.get("name", "")
        if e.get("group_description"):
            self.custom.append(DraftCustom("3.1 Group description", e["group_description"], name, where))
        return DraftActor(name, name, e.get("type", ""), e.get("description", ""), e.get("further", ""),
                          e.get("grouping", ""), where)


def _lines(text: str) -> list[str]:
    """A list written one entry per line in a cell."""
    return [line.strip() for line in text.split("\n") if line.strip()]


FORMULA = re.compile(rb"<f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any sheet part has a formula element (sizes were checked by guard.check_zip)."""
    with zipfile.ZipFile(path) as archive:
        return any(FORMULA.search(archive.read(name)) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _grid(path: Path, values: Any, formulas: Any) -> Grid:
    """The sheet's texts, read row by row, so a sheet beyond the limits is refused before it fills memory.

    The dimension a sheet declares is ignored: it may be wrong, and a hostile one pads every row.
    """
    values.reset_dimensions()
    rows: list[list[str]] = []
    cells = 0
    for r, row in enumerate(values.iter_rows(values_only=True), start=1):
        texts = [_text(v) for v in row]
        cells += sum(1 for text in texts if text)
        beyond = (f"goes on past row {guard.MAX_ROWS}" if r > guard.MAX_ROWS else
                  f"goes on past column {guard.MAX_COLUMNS} in row {r}" if len(texts) > guard.MAX_COLUMNS else
                  f"has more than {guard.MAX_CELLS} filled cells by row {r}" if cells > guard.MAX_CELLS else "")
        if beyond:
            raise guard.refuse(path, "too-large", f"sheet {values.title!r} {beyond}: more than a use case needs, "
                               "so it is not read", "delete the empty rows and columns, or split the workbook")
        rows.append(texts)
    found: dict[tuple[int, int], str] = {}
    if formulas is not None:
        formulas.reset_dimensions()
        for row in formulas.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    text = getattr(cell.value, "text", None) or str(cell.value)
                    found[(cell.row, cell.column)] = text
    return Grid(values.title, rows, found)


def _grids(path: Path) -> list[Grid]:
    # openpyxl gives either the cached values or the formulas, never both: a second read, only for
    # the (rare) workbooks that hold formulas at all. Read-only mode parses a sheet as it is read.
    values = openpyxl.load_workbook(path, data_only=True, read_only=True)
    formulas = openpyxl.load_workbook(path, data_only=False, read_only=True) if _has_formulas(path) else None
    try:
        return [_grid(path, sheet, formulas[sheet.title] if formulas else None) for sheet in values.worksheets]
    finally:
        values.close()
        if formulas is not None:
            formulas.close()


def _sgam_sheet(grid: Grid, drafts: list[Draft]) -> None:
    """Rows of an sgam sheet (use case, key, value[, reference]) go to that use case's custom information.

    The data sheet's keys (sgam:ids, sgam:extra, sgam:placement) are what the builder reads back.
    """
    by_id = {d.identifier.value: d for d in drafts}
    previous: tuple[str, str] | None = None
    for r, row in enumerate(grid.rows[1:], start=2):  # row 1 holds the column titles
        usecase, key, value, reference = (row + ["", "", "", ""])[:4]
        draft = by_id.get(usecase, drafts[0])
        if key and grid.name == DATA_SHEET and previous == (usecase, key):
            draft.custom[-1].value += value  # JSON too long for one cell goes on in the next row
        elif key:
            draft.custom.append(DraftCustom(key, value, reference, grid.where(r, 2)))
        previous = (usecase, key)


def is_usecase_sheet(grid: Grid) -> bool:
    """A sheet with the template's first heading; sgam's own extra sheets never are."""
    if grid.name in (CUSTOM_SHEET, DATA_SHEET):
        return False
    return any(label_key(c) == FIRST_HEADING for row in grid.rows for c in row[:2])


def read_workbook(path: Path) -> tuple[list[Draft], list[Diagnostic]]:
    """Every use-case sheet of the workbook as a draft, and the reader's warnings."""
    guard.check_zip(path)
    try:
        grids = _grids(path)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on broken or hostile parts
        raise guard.refuse(path, "not-a-workbook", f"cannot read the workbook: {type(exc).__name__}: {exc}",
                           "save it again from Excel as .xlsx; entity declarations inside the workbook's XML "
                           "are refused") from None
    drafts: list[Draft] = []
    diagnostics: list[Diagnostic] = []
    others = []
    for grid in grids:
        if is_usecase_sheet(grid):
            reader = SheetReader(str(path), grid)
            drafts.append(reader.read())
            diagnostics.extend(reader.diagnostics)
        elif grid.name.casefold() not in IGNORED_SHEETS and any(any(row) for row in grid.rows):
            others.append(grid)
    if not drafts:
        raise guard.refuse(path, "no-usecase", "no sheet holds an IEC 62559-2 use case (the heading '1.1 Name of "
                           "use case' in column A or B)", "give a workbook made from the IEC 62559-2 template")
    for grid in [g for g in others if g.name in (CUSTOM_SHEET, DATA_SHEET)]:
        others.remove(grid)
        _sgam_sheet(grid, drafts)
    for grid in others:
        text = "\n".join("\t".join(row).rstrip("\t") for row in grid.rows if any(row))
        where = Where(f"{grid.name}!A1")
        drafts[0].custom.append(DraftCustom(f"sheet {grid.name}", text, "", where))
        diagnostics.append(Diagnostic(Severity.warning, "other-sheet", f"sheet {grid.name!r} is not in the template "
                                      "layout; its cells are kept verbatim in custom information",
                                      f"{path} [{where.place}]"))
    return drafts, diagnostics
