"""Round trips: sgam YAML -> IEC 62559-2 workbook or IEC 62559-3 XML -> YAML gives the same models.

For the shipped examples (with their shared library) and for every use case imported from the
real corpus; the XML on the way validates against the published schema.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import yaml
from lxml import etree

from sgam.files import examples_dir
from sgam.interchange.imports import import_files
from sgam.loader import load_repository
from sgam.models import UseCase
from tests.test_import_corpus import CORPUS, corpus_files
from tests.test_xml_export import EXAMPLES, assert_valid


@pytest.mark.parametrize("suffix", [".xlsx", ".xml"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_round_trips_unchanged(sgam, tmp_path: Path, example: Path, suffix: str) -> None:
    target = tmp_path / f"{example.stem}{suffix}"
    result = sgam("export", example, "-o", target)
    assert result.status == 0, result.err
    run = import_files([target])
    assert [d.format() for d in run.diagnostics] == []
    assert [i.model for i in run.imported] == [load_repository([example]).usecases[0].model]


@pytest.mark.parametrize("suffix", [".xlsx", ".xml"])
def test_a_folder_round_trips_through_one_file(sgam, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"all{suffix}"
    assert sgam("export", examples_dir(), "-o", target).status == 0
    originals = {d.model.id: d.model for d in load_repository([examples_dir()]).usecases}
    assert {i.model.id: i.model for i in import_files([target]).imported} == originals


@pytest.mark.parametrize("source", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_a_corpus_use_case_round_trips_through_both_formats(sgam, tmp_path: Path, source: Path) -> None:
    assert sgam("import", source, "-o", tmp_path / "yaml", "-q").status == 0
    before = {d.model.id: d.model for d in load_repository([tmp_path / "yaml"]).usecases}
    for suffix in (".xml", ".xlsx"):
        target = tmp_path / f"again{suffix}"
        result = sgam("export", tmp_path / "yaml", "-o", target, "-q")
        assert result.status == 0, result.err
        if suffix == ".xml":
            assert_valid(target)
        assert {i.model.id: i.model for i in import_files([target]).imported} == before, suffix


def _round_trip(sgam, tmp_path: Path, suffix: str, change: Callable[[dict], object]) -> tuple[UseCase, UseCase]:
    """The volt/var example, changed, exported and imported again: (imported, original)."""
    data = yaml.safe_load((examples_dir() / "dso-volt-var-der.yaml").read_text())
    change(data)
    source = tmp_path / "uc.yaml"
    source.write_text(yaml.safe_dump(data))
    shutil.copy(examples_dir() / "library.yaml", tmp_path)
    target = tmp_path / f"uc{suffix}"
    result = sgam("export", source, "-o", target)
    assert result.status == 0, result.err
    [imported] = import_files([target]).imported
    return imported.model, load_repository([source]).usecases[0].model


@pytest.mark.parametrize("suffix", [".xlsx", ".xml"])
def test_step_standards_and_exchange_kinds_round_trip(sgam, tmp_path: Path, suffix: str) -> None:
    """Fields the examples do not use yet travel too: a step's standards, an information's exchange kind."""
    def change(data: dict) -> None:
        data["scenarios"][0]["steps"][0]["standards"] = ["IEC 61850-7-420 DVVR"]
        data["information"][0]["exchange"] = "DER setpoint/schedule"

    imported, original = _round_trip(sgam, tmp_path, suffix, change)
    assert imported == original
    assert imported.scenarios[0].steps[0].standards == ["IEC 61850-7-420 DVVR"]


@pytest.mark.parametrize("suffix", [".xlsx", ".xml"])
def test_actors_that_share_a_name_keep_their_ids_and_steps(sgam, tmp_path: Path, suffix: str) -> None:
    """The workbook's steps name actors by name: two actors of one name must not merge or swap."""
    def change(data: dict) -> None:
        data["actors"][1]["name"] = data["actors"][0]["name"]

    imported, original = _round_trip(sgam, tmp_path, suffix, change)
    assert imported.actors[0].name == imported.actors[1].name
    assert imported == original


@pytest.mark.parametrize("suffix", [".xlsx", ".xml"])
def test_every_library_actor_the_use_case_names_travels_with_it(sgam, tmp_path: Path, suffix: str) -> None:
    """The DSO only plays a role in the volt/var case (no step names it): the exported file still declares it."""
    target = tmp_path / f"uc{suffix}"
    assert sgam("export", examples_dir() / "dso-volt-var-der.yaml", "-o", target).status == 0
    if suffix == ".xml":
        names = {actor.findtext("name") for actor in etree.parse(str(target)).getroot().find("ActorLibrary")}
    else:
        names = {cell.value for row in openpyxl.load_workbook(target).active.iter_rows() for cell in row}
    assert "Distribution system operator" in names
    [imported] = import_files([target]).imported  # and it goes back to being the library's, not the file's
    assert imported.model == load_repository([examples_dir() / "dso-volt-var-der.yaml"]).usecases[0].model
