"""Write use cases as IEC 62559-2 workbooks: the template's sheet and labels, one sheet per use case.

The use-case sheet has exactly the rows and labels of the published empty template, so tools that
expect the template find everything where they look. Two labelled extra sheets hold what the
template has no rows for; importers that do not know them can ignore them:
- `sgam custom information`: section 8 (use case, key, value, reference);
- `sgam data`: JSON under `sgam:ids` (actor names to ids), `sgam:placement` (the SGAM placement:
  roles, goals, functions, components, links) and `sgam:extra` (application areas, conditions,
  requirements, terms and other fields the template lacks).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import Counter
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from sgam.interchange.build import EXTRA_KEY, IDS_KEY, PLACEMENT_KEY
from sgam.interchange.carry import common_extra, shared_actors
from sgam.interchange.template import (
    CELL_LIMIT,
    CUSTOM_SHEET,
    DATA_SHEET,
    LAYOUT,
    SECTION,
    SHEET,
    encode_cell_text,
    row_of,
)
from sgam.models import Actor, UseCase

FIRST_VALUE_COLUMN = 3  # C
WRAP = Alignment(wrap_text=True, vertical="top")
DATA_CHUNK = CELL_LIMIT - 2_767
ZIP_EPOCH = dt.date(1980, 1, 1)  # the earliest time a zip entry holds


def _put(sheet: Worksheet, row: int, column: int, value: Any) -> None:
    if value in ("", None):
        return
    cell = sheet.cell(row=row, column=column)
    cell.value = encode_cell_text(value) if isinstance(value, str) else value
    cell.alignment = WRAP
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula


class SheetWriter:
    def __init__(self, sheet: Worksheet, usecase: UseCase, library: dict[str, Actor]) -> None:
        self.sheet = sheet
        self.uc = usecase
        self.shared = shared_actors(usecase, library)
        self.actors = list(usecase.actors) + self.shared
        # Steps name their actors; where two actors share a name, by id instead (the import resolves both).
        shared_names = Counter(a.name for a in self.actors)
        self.names = {a.id: a.name if shared_names[a.name] == 1 else a.id for a in self.actors}

    def single(self, section: str, name: str, value: Any) -> None:
        _put(self.sheet, row_of(section, name), FIRST_VALUE_COLUMN, value)

    def entries(self, section: str, rows: list[dict[str, Any]]) -> None:
        for i, entry in enumerate(rows):
            for name, value in entry.items():
                _put(self.sheet, row_of(section, name), FIRST_VALUE_COLUMN + i, value)

    def write(self) -> dict[str, Any]:
        """Fill the sheet; return the sgam data for what the template cannot hold."""
        self._labels()
        uc, c = self.uc, self.uc.classification
        self.single("1.1", "id", uc.id)
        self.single("1.1", "area", ", ".join(uc.domains))
        self.single("1.1", "name", uc.name)
        self.entries("1.2", [{"number": v.version, "date": v.date, "author": v.author, "changes": v.changes,
                              "status": v.approval_status} for v in uc.versions])
        self.single("1.3", "scope", uc.scope)
        self.single("1.3", "objectives", "\n".join(uc.objectives))
        self.single("1.4", "short", uc.narrative.short)
        self.single("1.4", "complete", uc.narrative.complete)
        self.entries("1.5", [{"id": k.id, "name": k.name, "description": k.description,
                              "objectives": "\n".join(k.objectives)} for k in uc.kpis])
        self.single("1.7", "relations", ", ".join(r.use_case for r in c.relations))
        for name in ("level_of_depth", "prioritisation", "generic", "nature"):
            self.single("1.7", name, getattr(c, name))
        self.single("1.7", "keywords", ", ".join(c.keywords))
        self.single("1.8", "remarks", uc.remarks)
        self.entries("2", [{"name": d.title, "kind": d.description, "uri_type": "image", "uri": d.file}
                           for d in uc.diagrams])
        self.entries("3.1", [{"name": a.name, "type": a.type.value, "description": a.description,
                              "further": a.further_information} for a in self.actors])
        self.entries("3.2", [{"number": r.id, "type": r.type, "reference": r.reference, "status": r.status,
                              "impact": r.impact, "originator": r.originator, "link": r.link} for r in uc.references])
        self.entries("4.1", [{"number": s.id, "name": s.name, "description": s.description,
                              "primary_actor": self.names.get(s.primary_actor, s.primary_actor),
                              "triggering_event": s.triggering_event, "pre_condition": s.pre_condition,
                              "post_condition": s.post_condition} for s in uc.scenarios])
        self.entries("4.2", [{"scenario": s.name, "number": step.number, "event": step.event,
                              "activity": step.activity, "description": step.description,
                              "service": step.service.value,
                              "producer": self.names.get(step.producer or "", step.producer),
                              "receiver": self.names.get(step.receiver or "", step.receiver),
                              "information": ", ".join(step.information), "scenario_number": s.id}
                             for s in uc.scenarios for step in s.steps])
        self.entries("5", [{"requirements": ", ".join(i.requirements), "id": i.id, "name": i.name,
                            "description": i.description} for i in uc.information])
        return self._data()

    def _labels(self) -> None:
        for r, row in enumerate(LAYOUT, start=1):
            for column, text in ((1, row.a), (2, row.b)):
                if text:
                    cell = self.sheet.cell(row=r, column=column, value=text)
                    cell.font = Font(bold=bool(SECTION.match(text)))
                    cell.alignment = WRAP
        self.sheet.column_dimensions["A"].width = 14
        self.sheet.column_dimensions["B"].width = 45
        for letter in "CDEFGHIJ":
            self.sheet.column_dimensions[letter].width = 40

    def _data(self) -> dict[str, Any]:
        uc = self.uc
        extra = common_extra(uc, self.shared)
        extra["requirements"] = [r.model_dump(mode="json", exclude_defaults=True) for r in uc.requirements]
        extra["terms"] = [t.model_dump(mode="json") for t in uc.terms]
        extra["step_requirements"] = {f"{s.id}/{step.number}": step.requirements
                                      for s in uc.scenarios for step in s.steps if step.requirements}
        if len({a.name for a in self.actors}) < len(self.actors):  # names repeat: sgam:ids cannot tell them apart
            extra["actor_ids"] = [a.id for a in self.actors]
        if any("\n" in o for o in uc.objectives) or any("\n" in o for k in uc.kpis for o in k.objectives):
            extra["objectives"] = uc.objectives
            extra["kpi_objectives"] = {k.id: k.objectives for k in uc.kpis}
        return {
            IDS_KEY: {a.name: a.id for a in self.actors},
            EXTRA_KEY: {k: v for k, v in extra.items() if v},
            PLACEMENT_KEY: uc.sgam.model_dump(mode="json", exclude_defaults=True),
        }


def _title(usecase: UseCase, taken: set[str]) -> str:
    """A sheet title: Excel allows 31 characters and no []:*?/\\."""
    base = "".join(ch for ch in usecase.id if ch not in "[]:*?/\\")[:31]
    title, n = base, 2
    while title in taken:
        title = f"{base[:28]}-{n}"
        n += 1
    taken.add(title)
    return title


def _chunks(text: str, size: int) -> list[str]:
    """Long JSON goes on in the next rows under the same key: a cell holds CELL_LIMIT characters (the
    margin left is for the escapes `_put` may add). No piece starts or ends with a space, which the
    reader strips."""
    pieces, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        while start + 1 < end < len(text) and (text[end - 1].isspace() or text[end].isspace()):
            end -= 1
        pieces.append(text[start:end])
        start = end
    return pieces


def workbook_bytes(usecases: list[UseCase], library: dict[str, Actor]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    custom_rows: list[list[str]] = []
    data_rows: list[list[str]] = []
    taken = {CUSTOM_SHEET, DATA_SHEET}
    for usecase in usecases:
        title = SHEET if len(usecases) == 1 else _title(usecase, taken)
        data = SheetWriter(workbook.create_sheet(title), usecase, library).write()
        custom_rows.extend([usecase.id, c.key, c.value, c.reference] for c in usecase.custom)
        for key, value in data.items():
            if value:
                text = json.dumps(value, ensure_ascii=False, sort_keys=True)
                data_rows.extend([usecase.id, key, chunk] for chunk in _chunks(text, DATA_CHUNK))
    for title, header, rows in ((CUSTOM_SHEET, ["use case", "key", "value", "reference"], custom_rows),
                                (DATA_SHEET, ["use case", "key", "value (JSON, written by sgam)"], data_rows)):
        sheet = workbook.create_sheet(title)
        for column, text in enumerate(header, start=1):
            sheet.cell(row=1, column=column, value=text).font = Font(bold=True)
        for r, row in enumerate(rows, start=2):
            for column, value in enumerate(row, start=1):
                _put(sheet, r, column, value)
    # The same use cases give the same bytes: openpyxl stamps the save time into the document
    # properties and every zip entry, so both are set to the last version's date instead.
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = dt.datetime.combine(max([v.date for u in usecases for v in u.versions] + [ZIP_EPOCH]), dt.time())
    workbook.properties.created = workbook.properties.modified = stamp
    core = tostring(workbook.properties.to_tree())
    with zipfile.ZipFile(buffer) as saved:
        parts = [(item.filename, saved.read(item)) for item in saved.infolist()]
    stable = io.BytesIO()
    with zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in parts:
            archive.writestr(zipfile.ZipInfo(name, stamp.timetuple()[:6]), core if name == ARC_CORE else part,
                             compress_type=zipfile.ZIP_DEFLATED)
    return stable.getvalue()
