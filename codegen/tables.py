"""The data name conversion tables of the devices that bridge protocols, as JSON, CSV and XLSX.

The JSON is the table the runtime loads (`sgam.platform.conversion.load_table`): the shipped
default table plus the rows a use case adds with `items:`. CSV and XLSX list, for each bridging
device, one row per information item it moves: common name, OpenADR 2.0b element, IEC 61850
reference, unit, scale, direction (producer -> receiver in the steps), use case and information.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

from openpyxl import Workbook
from openpyxl.styles import Font

from codegen.plan import Plan, Row

COLUMNS = ("common_name", "openadr", "iec61850", "fc", "cdc", "control_model", "unit", "scale", "direction",
           "usecase", "information", "origin")
FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip entry time: the same input gives the same bytes


def table_json(plan: Plan) -> str:
    assert plan.table is not None
    return json.dumps(plan.table.model_dump(mode="json", exclude_none=True), indent=1, ensure_ascii=False) + "\n"


def _directions(plan: Plan, row: Row) -> str:
    ends = sorted({f"{p.producer} -> {p.receiver}" for plays in plan.scenarios.values() for p in plays
                   if p.executable and row.information in p.information})
    return "; ".join(ends)


def bridge_rows(plan: Plan, actor: str) -> list[tuple[str, ...]]:
    """The rows of the information `actor` sends or receives, in use-case order."""
    moved = {info for plays in plan.scenarios.values() for p in plays
             if p.executable and actor in (p.producer, p.receiver) for info in p.information}
    return [(r.common, r.openadr, r.iec61850, r.fc, r.cdc, r.control_model, r.unit, f"{r.scale:g}",
             _directions(plan, r), plan.usecase, r.information, r.origin) for r in plan.rows if r.information in moved]


def table_csv(rows: list[tuple[str, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def table_xlsx(rows: list[tuple[str, ...]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "conversion"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    book.properties.title = title
    book.properties.creator = "sgam codegen"
    raw = io.BytesIO()
    book.save(raw)
    return _fixed_times(raw.getvalue())


def _fixed_times(data: bytes) -> bytes:
    """The same workbook with fixed zip and document times, so regeneration is byte-identical."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            text = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = _stamp(text)
            entry = zipfile.ZipInfo(info.filename, FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, text)
    return out.getvalue()


def _stamp(xml: bytes) -> bytes:
    return re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", xml)
