"""`sgam import`: read Excel or XML use cases, build models, write one YAML file per use case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity
from sgam.files import write_atomic
from sgam.interchange.build import Imported, build
from sgam.interchange.draft import Draft
from sgam.interchange.xlsx_read import read_workbook
from sgam.interchange.xml_read import read_xml
from sgam.models import UseCase
from sgam.source import MAX_BYTES

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
XML_SUFFIXES = (".xml",)


@dataclass
class ImportRun:
    """What one `sgam import` produced: use cases by file, and every diagnostic."""

    imported: list[Imported] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # the YAML to write, by use-case id


def read_drafts(path: Path) -> tuple[list[Draft], list[Diagnostic]]:
    suffix = path.suffix.casefold()
    if not path.is_file():
        raise BadInput(Diagnostic(Severity.error, "no-such-file", "no such file", str(path),
                                  hint="give .xlsx/.xlsm workbooks or .xml files"))
    if suffix in EXCEL_SUFFIXES:
        return read_workbook(path)
    if suffix in XML_SUFFIXES:
        return read_xml(path)
    raise BadInput(Diagnostic(Severity.error, "file-type", f"cannot import {suffix or 'a file without suffix'!r}",
                              str(path), hint="sgam imports IEC 62559-2 workbooks (.xlsx, .xlsm) and "
                              "IEC 62559-3 XML (.xml)"))


def import_files(paths: list[Path], progress: Callable[[int, int], None] | None = None) -> ImportRun:
    """Read every file; a bad file is reported and skipped, the others still import.

    Use-case ids are unique across the run. `progress(done, total)` is called before each file.
    """
    run = ImportRun()
    taken: set[str] = set()
    for done, path in enumerate(paths):
        if progress:
            progress(done, len(paths))
        try:
            drafts, diagnostics = read_drafts(path)
        except BadInput as exc:
            run.diagnostics.append(exc.diagnostic)
            continue
        run.diagnostics.extend(diagnostics)
        for draft in drafts:
            try:
                imported = build(draft, taken)
            except ValidationError as exc:
                # Only the sgam: data (written by sgam, but perhaps edited since) can make a model invalid.
                error = exc.errors()[0]
                where = ".".join(str(part) for part in error["loc"])
                run.diagnostics.append(Diagnostic(
                    Severity.error, "sgam-data", f"the sgam data carried in the file does not fit the model at "
                    f"{where}: {error['msg']}", str(path), hint="fix or remove the sgam:placement / sgam:extra entry"))
                continue
            text = usecase_yaml(imported.model, path.name)
            size = len(text.encode("utf-8"))
            if size > MAX_BYTES:  # what sgam could not read back
                run.diagnostics.append(Diagnostic(
                    Severity.error, "too-large", f"use case {imported.model.id!r} would be {size:,} bytes of YAML, "
                    f"over the {MAX_BYTES:,} bytes sgam reads; not written", str(path),
                    hint="shorten its longest texts in the source, or split it into several use cases"))
                continue
            run.imported.append(imported)
            run.texts[imported.model.id] = text
            run.diagnostics.extend(imported.diagnostics)
    return run


class _Dumper(yaml.CSafeDumper):
    """Multi-line text as literal blocks, which people can read and edit (PyYAML falls back to
    quotes where a block cannot hold the text exactly). libyaml's emitter: five times PyYAML's."""


def _text(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def usecase_yaml(model: UseCase, source: str = "") -> str:
    """The use case as YAML, defaults left out, keys in the model's order."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_defaults=True)
    header = f"# Imported by `sgam import` from {source}\n" if source else ""
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def write_usecases(run: ImportRun, folder: Path) -> list[Path]:
    written = []
    for imported in run.imported:
        target = folder / f"{imported.model.id}.yaml"
        write_atomic(target, run.texts[imported.model.id])
        written.append(target)
    return written
