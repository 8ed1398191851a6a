"""`sgam export`: validated use cases (with their libraries) to IEC 62559-3 XML or the Excel template."""

from __future__ import annotations

from pathlib import Path

from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity
from sgam.files import write_bytes_atomic
from sgam.interchange.xlsx_write import workbook_bytes
from sgam.interchange.xml_write import repository_xml
from sgam.loader import Repository
from sgam.models import Actor

FORMATS = (".xml", ".xlsx")


def library_actors(repo: Repository) -> dict[str, Actor]:
    return {a.id: a for shared in repo.libraries for a in shared.model.actors}


def export(repo: Repository, output: Path) -> None:
    suffix = output.suffix.casefold()
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
