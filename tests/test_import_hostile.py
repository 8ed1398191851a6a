"""Hostile and broken files: refused with a located message and exit status 2, nothing written.

XML with a DTD (external entities, entity bombs) is refused before any entity is expanded; a zip
bomb is refused from the sizes the archive declares, before anything is inflated; formulas are
never evaluated.
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from sgam.files import examples_dir
from tests.test_import_corpus import TEMPLATE

SECRET = "sgam-secret-marker-0f9c"


def _assert_refused(result, output: Path, code: str) -> None:
    assert result.status == 2, result.out + result.err
    assert f"error[{code}]" in result.err
    assert "Traceback" not in result.err
    assert not output.exists() or not any(output.iterdir())


def test_an_external_entity_is_refused_and_never_read(sgam, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    hostile = tmp_path / "xxe.xml"
    hostile.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE UseCase [<!ENTITY s SYSTEM "file://{secret}">]>\n'
                       "<UseCase><id>x</id><name>&s;</name></UseCase>\n")
    result = sgam("import", hostile, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "xml-doctype")
    assert SECRET not in result.out + result.err
    assert f"{hostile}:2:1" in result.err


def test_a_doctype_in_utf16_is_refused_too(sgam, tmp_path: Path) -> None:
    """The byte search for '<!DOCTYPE' cannot see one in UTF-16; the parsed document still shows it."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    hostile = tmp_path / "xxe16.xml"
    hostile.write_text(f'<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE UseCase [<!ENTITY s SYSTEM '
                       f'"file://{secret}">]>\n<UseCase><id>x</id><name>&s;</name></UseCase>\n', encoding="utf-16")
    result = sgam("import", hostile, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "xml-doctype")
    assert SECRET not in result.out + result.err


def test_an_entity_expansion_bomb_is_refused_at_once(sgam, tmp_path: Path) -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    hostile = tmp_path / "bomb.xml"
    hostile.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE UseCase [{entities}]>\n<UseCase><name>&a9;</name></UseCase>')
    started = time.monotonic()
    result = sgam("import", hostile, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "xml-doctype")
    assert time.monotonic() - started < 5  # a billion 'lol's would take far longer and far more memory


def test_malformed_xml_names_its_line(sgam, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<UseCase>\n  <id>x</id>\n  <name>unclosed\n</UseCase>\n")
    result = sgam("import", broken, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "xml-syntax")
    assert f"{broken}:4:1" in result.err


def test_xml_of_another_kind_is_refused(sgam, tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    _assert_refused(sgam("import", other, "-o", tmp_path / "out"), tmp_path / "out", "not-iec62559-3")


def test_a_zip_bomb_is_refused_before_it_is_inflated(sgam, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
        chunk = b"\0" * 1_000_000
        for _ in range(50):
            part.write(chunk)
    assert bomb.stat().st_size < 1_000_000
    _assert_refused(sgam("import", bomb, "-o", tmp_path / "out"), tmp_path / "out", "zip-bomb")


def test_a_file_that_is_not_a_workbook_is_refused(sgam, tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("id,name\n1,two\n")
    _assert_refused(sgam("import", fake, "-o", tmp_path / "out"), tmp_path / "out", "not-a-workbook")


def _rewrite_part(source: Path, target: Path, part: str, change: Callable[[bytes], bytes]) -> None:
    """Copy a workbook, changing one of its XML parts on the way."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, change(data) if item.filename == part else data)


def test_an_entity_inside_a_workbook_part_is_refused(sgam, tmp_path: Path) -> None:
    hostile = tmp_path / "entity.xlsx"
    _rewrite_part(TEMPLATE, hostile, "xl/sharedStrings.xml",
                  lambda data: data.replace(b"?>", b'?><!DOCTYPE sst [<!ENTITY e "boom">]>', 1))
    _assert_refused(sgam("import", hostile, "-o", tmp_path / "out"), tmp_path / "out", "not-a-workbook")


def test_an_oversized_sheet_is_refused(sgam, tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(TEMPLATE)
    workbook["IEC62559-2"]["C9000"] = "far below"
    big = tmp_path / "big.xlsx"
    workbook.save(big)
    result = sgam("import", big, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "too-large")
    assert "sheet 'IEC62559-2' goes on past row 5000" in result.err


def test_a_sheet_with_too_many_filled_cells_is_refused_as_it_is_read(sgam, tmp_path: Path) -> None:
    """A few megabytes of workbook can hold millions of cells (a gigabyte in memory): reading stops at the limit."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("IEC62559-2")
    sheet.append(["", "1.1 Name of use case"])
    for _ in range(200):
        sheet.append([1] * 260)
    big = tmp_path / "cells.xlsx"
    workbook.save(big)
    result = sgam("import", big, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "too-large")
    assert "sheet 'IEC62559-2' has more than 50000 filled cells by row 194" in result.err


def test_the_size_a_sheet_declares_is_not_trusted(sgam, tmp_path: Path, filled: openpyxl.Workbook) -> None:
    source, declared = tmp_path / "filled.xlsx", tmp_path / "declared.xlsx"
    filled.save(source)
    _rewrite_part(source, declared, "xl/worksheets/sheet1.xml",
                  lambda data: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data))
    result = sgam("import", declared, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    assert [Path(p).name for p in json.loads(result.out)["written"]] == ["UC-F.yaml"]


@pytest.fixture
def filled(tmp_path: Path) -> openpyxl.Workbook:
    """The empty template with a name, an id and one actor."""
    workbook = openpyxl.load_workbook(TEMPLATE)
    sheet = workbook["IEC62559-2"]
    sheet["C4"], sheet["C6"], sheet["C46"], sheet["C47"] = "UC-F", "Formulas", "Operator", "Role"
    return workbook


def test_formulas_are_never_evaluated(sgam, tmp_path: Path, filled: openpyxl.Workbook) -> None:
    filled["IEC62559-2"]["C14"] = '=WEBSERVICE("http://example.invalid/")'
    filled["IEC62559-2"]["C18"] = "=1+1"
    source = tmp_path / "formulas.xlsx"
    filled.save(source)  # openpyxl stores formulas without a cached value
    result = sgam("import", source, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    report = json.loads(result.out)
    warnings = [d for d in report["diagnostics"] if d["code"] == "formula"]
    assert {w["file"] for w in warnings} == {f"{source} [IEC62559-2!C14]", f"{source} [IEC62559-2!C18]"}
    text = (tmp_path / "out" / "UC-F.yaml").read_text()
    assert "=1+1" in text and "WEBSERVICE" in text  # kept verbatim, as written
    assert "short: '2'" not in text


def test_a_formula_with_a_saved_value_reads_as_that_value(sgam, tmp_path: Path, filled: openpyxl.Workbook) -> None:
    source = tmp_path / "saved.xlsx"
    filled["IEC62559-2"]["C18"] = "=1+1"
    filled.save(source)
    _store_cached_value(source, "C18", "2")
    result = sgam("import", source, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    assert "short: '2'" in (tmp_path / "out" / "UC-F.yaml").read_text()
    assert any(d["code"] == "formula" and "'2'" in d["message"] for d in json.loads(result.out)["diagnostics"])


def _store_cached_value(path: Path, cell: str, value: str) -> None:
    """Write the value Excel would have cached next to the formula (openpyxl never does)."""

    def cache(data: bytes) -> bytes:
        for empty in (b"<f>1+1</f><v></v>", b"<f>1+1</f><v/>", b"<f>1+1</f>"):
            if empty in data:
                return data.replace(empty, f"<f>1+1</f><v>{value}</v>".encode(), 1)
        raise AssertionError("no formula 1+1 in the sheet")

    rewritten = path.with_suffix(".tmp")
    _rewrite_part(path, rewritten, "xl/worksheets/sheet1.xml", cache)
    rewritten.replace(path)


def test_edited_sgam_data_that_does_not_fit_the_model_is_bad_input(sgam, tmp_path: Path) -> None:
    exported = tmp_path / "uc.xml"
    assert sgam("export", examples_dir() / "smart-meter-reading.yaml", "-o", exported).status == 0
    text = exported.read_text()
    start = text.index("<key>sgam:placement</key>")
    value_start = text.index("<value>", start) + len("<value>")
    value_end = text.index("</value>", value_start)
    exported.write_text(text[:value_start] + '{"components":[{"id":"x"}]}' + text[value_end:])
    result = sgam("import", exported, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "sgam-data")
    assert "sgam.components.0" in result.err


def test_a_use_case_too_large_for_sgam_to_read_back_is_not_written(sgam, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Sources may be larger than the YAML sgam reads (sgam.source.MAX_BYTES, lowered here to keep the test fast)."""
    monkeypatch.setattr("sgam.interchange.imports.MAX_BYTES", 50_000)
    source = tmp_path / "long.xml"
    source.write_text(f"<UseCase><id>UC-L</id><name>Long</name><scope>{'grid ' * 12_000}</scope></UseCase>")
    result = sgam("import", source, "-o", tmp_path / "out")
    _assert_refused(result, tmp_path / "out", "too-large")
    assert "use case 'UC-L' would be" in result.err and "over the 50,000 bytes sgam reads; not written" in result.err
