"""IEC 62559-3 export: valid against the published schema, deterministic, and lossless for sgam's own files."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
import yaml
from lxml import etree

from sgam.files import examples_dir
from tests.test_import_corpus import CORPUS

SCHEMA_FILE = CORPUS / "iec62559-3-xml" / "OneNet" / "EACL-SL-01 v2" / "IEC62559-3_UC.xsd"
EXAMPLES = sorted(p for p in examples_dir().glob("*.yaml") if p.name != "library.yaml")


@functools.cache
def schema() -> etree.XMLSchema:
    assert SCHEMA_FILE.is_file(), f"IEC 62559-3 schema missing at {SCHEMA_FILE}"
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


def assert_valid(path: Path) -> None:
    document = etree.parse(str(path))
    assert schema().validate(document), str(schema().error_log)


def test_the_published_corpus_file_is_valid_against_its_schema() -> None:
    """A sanity check of the schema test itself: the real OneNet repository passes it."""
    assert_valid(SCHEMA_FILE.parent / "UseCases.xml")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_exports_valid_xml(sgam, tmp_path: Path, example: Path) -> None:
    target = tmp_path / f"{example.stem}.xml"
    result = sgam("export", example, "-o", target)
    assert result.status == 0, result.err
    assert_valid(target)


def test_sgam_placement_travels_as_custom_information(sgam, tmp_path: Path) -> None:
    target = tmp_path / "uc.xml"
    assert sgam("export", examples_dir() / "dso-volt-var-der.yaml", "-o", target).status == 0
    usecase = etree.parse(str(target)).find(".//UseCase")
    keys = [c.findtext("key") for c in usecase.iterfind("CustomInformation")]
    assert {"sgam:placement", "sgam:ids", "sgam:extra"} <= set(keys)
    placement = next(c for c in usecase.iterfind("CustomInformation") if c.findtext("key") == "sgam:placement")
    assert '"components"' in placement.findtext("value") and '"cells"' in placement.findtext("value")


def test_exports_are_deterministic(sgam, tmp_path: Path) -> None:
    for name in ("first.xml", "second.xml"):
        assert sgam("export", examples_dir(), "-o", tmp_path / name).status == 0
    assert (tmp_path / "first.xml").read_bytes() == (tmp_path / "second.xml").read_bytes()


def test_a_folder_exports_as_one_valid_repository(sgam, tmp_path: Path) -> None:
    target = tmp_path / "all.xml"
    assert sgam("export", examples_dir(), "-o", target).status == 0
    assert_valid(target)
    assert len(etree.parse(str(target)).findall(".//UseCase")) == len(EXAMPLES)


def test_an_invalid_use_case_is_not_exported(sgam, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nname: no scenarios\n")
    result = sgam("export", broken, "-o", tmp_path / "out.xml")
    assert result.status == 2
    assert "not exported" in result.err and not (tmp_path / "out.xml").exists()


def test_an_unknown_export_format_is_bad_input(sgam, tmp_path: Path) -> None:
    result = sgam("export", EXAMPLES[0], "-o", tmp_path / "out.pdf")
    assert result.status == 2 and "error[file-type]" in result.err


@pytest.mark.parametrize("suffix", [".xml", ".xlsx"])
def test_a_control_character_neither_format_holds_is_bad_input_with_its_place(sgam, tmp_path: Path,
                                                                              suffix: str) -> None:
    """YAML holds any character as an escape; XML 1.0 and Excel hold no control character but tab and line ends."""
    folder = tmp_path / "usecases"
    shutil.copytree(examples_dir(), folder)
    source = folder / EXAMPLES[0].name
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["scenarios"][0]["steps"][0]["description"] = "sent\x07 with a bell"
    source.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert sgam("validate", folder).status == 0
    target = tmp_path / f"out{suffix}"
    result = sgam("export", folder, "-o", target)
    assert result.status == 2, result.err
    assert "error[unwritable-character]: scenarios.0.steps.0.description holds the character U+0007" in result.err
    assert f"{source}:" in result.err and "Traceback" not in result.err
    assert not target.exists()
