"""`sgam export`: validated use cases (with their libraries) to IEC 62559-3 XML or the Excel template."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity
from sgam.files import write_bytes_atomic
from sgam.interchange.template import CELL_LIMIT
from sgam.interchange.xlsx_write import workbook_bytes
from sgam.interchange.xml_write import repository_xml
from sgam.loader import Document, Repository
from sgam.models import Actor
from sgam.source import PathPart

FORMATS = (".xml", ".xlsx")
# XML 1.0 (and so Excel's parts) holds no control character but tab, line feed and carriage return,
# no surrogate, and neither U+FFFE nor U+FFFF; YAML can hold them all, escaped.
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def library_actors(repo: Repository) -> dict[str, Actor]:
    return {a.id: a for shared in repo.libraries for a in shared.model.actors}


def _strings(value: Any, path: tuple[PathPart, ...] = ()) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def check_writable(documents: list[Document[Any]], cell_limit: int | None = None) -> None:
    """Refuse, with the place in the YAML, text that neither format can hold (lxml and openpyxl raise on it),
    and text longer than an Excel cell holds (Excel would cut it when it opens the file)."""
    for document in documents:
        model: BaseModel = document.model
        for path, value in _strings(model.model_dump(mode="json")):
            where = ".".join(str(part) for part in path)
            found = UNWRITABLE.search(value)
            if found:
                raise BadInput(document.diagnostic(
                    Severity.error, "unwritable-character", f"{where} holds the character U+{ord(found.group()):04X}, "
                    "which IEC 62559-3 XML and Excel workbooks cannot hold", path,
                    "remove the control character (in YAML it is written as an escape such as \\x07)"))
            if cell_limit is not None and len(value) > cell_limit:
                raise BadInput(document.diagnostic(
                    Severity.error, "too-long-for-excel", f"{where} holds {len(value):,} characters; an Excel cell "
                    f"holds at most {cell_limit:,}", path, "shorten it, or export to .xml, which has no such limit"))


def export(repo: Repository, output: Path) -> None:
    suffix = output.suffix.casefold()
    if suffix in FORMATS:
        check_writable([*repo.usecases, *repo.libraries], CELL_LIMIT if suffix == ".xlsx" else None)
    usecases = [d.model for d in repo.usecases]
    if suffix == ".xml":
        name = usecases[0].name if len(usecases) == 1 else f"sgam use cases: {', '.join(u.id for u in usecases)}"
        write_bytes_atomic(output, repository_xml(usecases, library_actors(repo), name))
    elif suffix == ".xlsx":
        write_bytes_atomic(output, workbook_bytes(usecases, library_actors(repo)))
    else:
        raise BadInput(Diagnostic(Severity.error, "file-type", f"cannot export to {suffix or 'a file without suffix'!r}",
                                  str(output), hint="write IEC 62559-3 XML (.xml) or the IEC 62559-2 template "
                                  "(.xlsx)"))
