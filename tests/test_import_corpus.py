"""Every real published use case in the shared corpus imports, validates, and keeps its counts.

The counts of actors, scenarios, steps and information objects are taken here straight from the
source files (openpyxl cells, lxml elements), independently of the importer, and compared with the
summary `sgam import --json` prints. The corpus lives outside the repository, at a path that CI
machines share; set SGAM_CORPUS to use another copy. A missing corpus fails, it never skips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from sgam.enums import Severity
from sgam.interchange.imports import import_files
from sgam.workspace import load_workspace

CORPUS = Path(os.environ.get("SGAM_CORPUS", "/work/shared/corpus"))
TEMPLATE = CORPUS / "iec62559-2-xlsx" / "IEC62559-2_TEMPLATE.xlsx"


def corpus_files() -> list[Path]:
    workbooks = [p for p in (CORPUS / "iec62559-2-xlsx").rglob("*.xls*") if p != TEMPLATE]
    return sorted(workbooks) + sorted((CORPUS / "iec62559-3-xml").rglob("*.xml"))


def test_the_corpus_is_there() -> None:
    assert CORPUS.is_dir(), f"corpus missing at {CORPUS}: set SGAM_CORPUS to a copy of the shared corpus"
    files = corpus_files()
    assert sum(p.suffix == ".xml" for p in files) == 12
    assert sum(p.suffix in (".xlsx", ".xlsm") for p in files) == 25
    assert TEMPLATE.is_file()


# --- counts taken from the sources ------------------------------------------------------------


def _columns(rows: list[tuple[object, ...]]) -> int:
    """Entries of a template section: columns from C with any value (not just blanks) in the section's rows."""
    return len({i for row in rows for i, value in enumerate(row[2:]) if value is not None and str(value).strip()})


def _heading(row: tuple[object, ...], prefix: str) -> bool:
    return any(isinstance(c, str) and c.strip().startswith(prefix) for c in row[:2])


def _section(rows: list[tuple[object, ...]], start: str, end: str | None) -> list[tuple[object, ...]]:
    first = next(i for i, row in enumerate(rows) if _heading(row, start))
    last = next((i for i, row in enumerate(rows) if i > first and end and _heading(row, end)), len(rows))
    # The heading row of section 5 also holds its first field in column B (and values) in most files.
    return rows[first + (0 if start == "5 " else 1):last]


def workbook_counts(path: Path) -> list[tuple[int, int, int, int]]:
    counts = []
    for sheet in openpyxl.load_workbook(path, data_only=True).worksheets:
        rows = [tuple(r) + (None, None) for r in sheet.iter_rows(values_only=True)]
        if not any(_heading(row, "1.1 Name of use case") for row in rows):
            continue
        counts.append((
            _columns(_section(rows, "3.1 Actors", "3.2 References")),
            _columns(_section(rows, "4.1 Overview of scenarios", "4.2 Steps")),
            _columns(_section(rows, "4.2 Steps", "5 ")),
            _columns(_section(rows, "5 ", None)) if any(_heading(row, "5 ") for row in rows) else 0,
        ))
    return counts


def _local(element: etree._Element, name: str) -> list[etree._Element]:
    return element.xpath(f".//*[local-name()='{name}']")


def xml_counts(path: Path) -> list[tuple[int, int, int, int]]:
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    if etree.QName(root).localname == "UseCase":
        return [(len(_local(root, "Actor")), len(_local(root, "Scenario")), len(_local(root, "Step")), 0)]
    libraries = {name: {m.text for m in root.xpath(f"./*[local-name()='{name}Library']/*/*[local-name()='mRID']")}
                 for name in ("Actor", "BusinessObject")}
    usecases = _local(root, "UseCase")
    counts = []
    for uc in usecases:
        mentioned = {m.text for m in _local(uc, "mRID")}
        actors, objects = (libraries[name] if len(usecases) == 1 else libraries[name] & mentioned
                           for name in ("Actor", "BusinessObject"))
        steps = len(_local(uc, "Activity")) + len(_local(uc, "ChildActivity"))
        counts.append((len(actors), len(_local(uc, "Scenario")), steps, len(objects)))
    return counts


# --- the test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_a_corpus_file_imports_validates_and_keeps_its_counts(sgam, tmp_path: Path, source: Path) -> None:
    result = sgam("import", source, "-o", tmp_path, "--json")
    assert result.status == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["errors"] == 0 and "Traceback" not in result.err

    expected = workbook_counts(source) if source.suffix != ".xml" else xml_counts(source)
    found = [(s["actors"], s["scenarios"], s["steps"], s["information"]) for s in report["summaries"]]
    assert found == expected

    workspace = load_workspace([tmp_path])  # what `sgam validate` checks, standards included
    repo = workspace.repo
    assert [d.format() for d in workspace.diagnostics if d.severity is Severity.error] == []
    assert len(repo.usecases) == len(expected)
    by_id = {d.model.id: d.model for d in repo.usecases}
    assert by_id == {i.model.id: i.model for i in import_files([source]).imported}  # the YAML says it all
    for summary in report["summaries"]:
        model = by_id[summary["usecase"]]
        added = summary["added"]
        assert len(model.actors) == summary["actors"] + added["actors"]
        assert len(model.information) == summary["information"] + added["information"]
        assert len(model.scenarios) == summary["scenarios"] + added["scenarios"]
        assert sum(len(s.steps) for s in model.scenarios) == summary["steps"] + added["steps"]
