"""The command line: exit status, outputs, and the promise of no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgam.schema import SCHEMA_FILES, schema_text
from tests.conftest import REPO


def test_validate_accepts_a_valid_use_case(sgam, usecase: Path) -> None:
    result = sgam("validate", "--strict", usecase)
    assert result.status == 0
    assert result.out == ""
    assert "1 use case(s), 0 library file(s): 0 error(s), 0 warning(s)" in result.err


def test_validate_defaults_to_the_usecases_folder_of_the_current_directory(sgam, usecase: Path, monkeypatch) -> None:
    monkeypatch.chdir(usecase.parent)
    assert "1 use case(s)" in sgam("validate").err


def test_validate_json_lists_every_diagnostic_with_its_position(sgam, usecase: Path) -> None:
    text = (usecase / "uc-demo.yaml").read_text()
    (usecase / "uc-demo.yaml").write_text(text.replace("producer: device", "producer: devise"))
    result = sgam("validate", "--json", usecase)
    assert result.status == 2
    report = json.loads(result.out)
    assert report["errors"] == 1
    [diagnostic] = report["diagnostics"]
    assert diagnostic["code"] == "unknown-ref"
    assert diagnostic["file"].endswith("uc-demo.yaml")
    assert diagnostic["line"] > 1 and diagnostic["column"] > 1
    assert "did you mean 'device'?" in diagnostic["hint"]


def test_strict_turns_warnings_into_errors(sgam, usecase: Path) -> None:
    text = (usecase / "uc-demo.yaml").read_text()
    extra = "  - id: idle\n    name: Idle actor\n    type: system\n    description: Unused.\n    organisation: x.example\n"
    (usecase / "uc-demo.yaml").write_text(text.replace("references:\n", extra + "references:\n", 1))
    relaxed = sgam("validate", usecase)
    assert relaxed.status == 0 and "warning[unused]: actor 'idle' takes part in nothing" in relaxed.out
    strict = sgam("validate", "--strict", usecase)
    assert strict.status == 2 and "error[unused]: actor 'idle' takes part in nothing" in strict.out


def test_a_bad_file_does_not_hide_the_others(sgam, usecase: Path) -> None:
    (usecase / "broken.yaml").write_text("id: [\n")
    result = sgam("validate", usecase)
    assert result.status == 2
    assert "broken.yaml:2:1: error[yaml-syntax]" in result.out
    assert "1 use case(s)" in result.err


def test_a_missing_path_is_bad_input(sgam, tmp_path: Path) -> None:
    result = sgam("validate", tmp_path / "nowhere")
    assert result.status == 2
    assert "error[no-such-path]: no such file or folder" in result.out


def test_an_unknown_option_is_bad_input(sgam) -> None:
    assert sgam("validate", "--no-such-option").status == 2


def test_internal_errors_exit_1_with_a_hint_and_no_traceback(sgam, usecase: Path, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("sgam.workspace.check", explode)
    result = sgam("validate", usecase)
    assert result.status == 1
    assert "internal error: RuntimeError: boom" in result.err
    assert "--debug" in result.err and "Traceback" not in result.err
    with pytest.raises(RuntimeError):
        sgam("--debug", "validate", usecase)


def test_map_shows_every_layer_and_the_crossings(sgam, usecase: Path) -> None:
    result = sgam("map", usecase)
    assert result.status == 0
    for title in ("Business layer", "Function layer", "Information layer", "Communication layer", "Component layer"):
        assert title in result.out
    assert "operator-scada" in result.out
    assert "Exchanges crossing a boundary: 2" in result.out


def test_map_json_places_components_in_their_cells(sgam, usecase: Path) -> None:
    plane = json.loads(sgam("map", "--json", usecase).out)
    component = {(c["domain"], c["zone"]): [e["id"] for e in c["elements"]] for c in plane["layers"]["component"]}
    assert component == {("Distribution", "Field"): ["device-ied"], ("Distribution", "Operation"): ["operator-scada"]}
    hosts = {e["id"]: e["hosts"] for c in plane["layers"]["component"] for e in c["elements"]}
    assert hosts == {"device-ied": ["device"], "operator-scada": ["operator"]}
    assert {(x["step"], tuple(x["crosses"])) for x in plane["crossings"]} == {("1", ("zone",)), ("2", ("zone",))}
    assert plane["unplaced"] == []


def test_map_refuses_a_repository_with_errors(sgam, usecase: Path) -> None:
    (usecase / "uc-demo.yaml").write_text((usecase / "uc-demo.yaml").read_text().replace("service: GET", "service: GOT"))
    result = sgam("map", usecase)
    assert result.status == 2
    assert "'GOT' is not a valid service" in result.err
    assert "stopped: fix the errors" in result.err and result.out == ""


def test_map_of_an_unknown_use_case_suggests_the_near_one(sgam, usecase: Path) -> None:
    result = sgam("map", "--usecase", "uc-dem0", usecase)
    assert result.status == 2 and "did you mean 'uc-demo'?" in result.err


def test_schema_prints_the_generated_schema(sgam) -> None:
    result = sgam("schema")
    assert json.loads(result.out)["title"] == "sgam use case (IEC 62559-2)"
    assert json.loads(sgam("schema", "--library").out)["title"] == "sgam shared library"


@pytest.mark.parametrize("kind", ["usecase", "library", "catalog"])
def test_committed_schemas_match_the_models(kind: str) -> None:
    assert SCHEMA_FILES[kind].read_text(encoding="utf-8") == schema_text(kind), (
        f"run: sgam schema {'' if kind == 'usecase' else '--' + kind + ' '}-o {SCHEMA_FILES[kind].relative_to(REPO)}"
    )


def test_new_writes_a_skeleton_that_validates_strictly(sgam, tmp_path: Path) -> None:
    target = tmp_path / "uc-new.yaml"
    result = sgam("new", "uc-new", "-o", target)
    assert result.status == 0 and target.exists()
    first_line = target.read_text().splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    schema_path = (target.parent / first_line.split("$schema=", 1)[1]).resolve()
    assert schema_path == SCHEMA_FILES["usecase"].resolve()
    assert "id: uc-new" in target.read_text()
    assert sgam("validate", "--strict", target).status == 0


def test_new_writes_into_the_usecases_folder_when_there_is_one(sgam, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "usecases").mkdir()
    monkeypatch.chdir(tmp_path)
    assert sgam("new", "uc-here").status == 0
    assert (tmp_path / "usecases" / "uc-here.yaml").exists()


def test_new_never_overwrites_without_force(sgam, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("precious")
    result = sgam("new", "uc-x", "-o", target)
    assert result.status == 2 and "exists" in result.err
    assert target.read_text() == "precious"
    assert sgam("new", "uc-x", "-o", target, "--force").status == 0


def test_new_rejects_an_invalid_id(sgam, tmp_path: Path) -> None:
    result = sgam("new", "9 lives", "-o", tmp_path / "x.yaml")
    assert result.status == 2 and "not a valid id" in result.err
    assert not (tmp_path / "x.yaml").exists()


def test_a_folder_without_use_cases_is_bad_input(sgam, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a use case")
    result = sgam("validate", tmp_path)
    assert result.status == 2
    assert f"{tmp_path}: error[no-files]: the folder holds no .yaml or .yml file" in result.out


def test_a_use_case_named_alone_sees_the_library_beside_it(sgam) -> None:
    seed = REPO / "usecases" / "ems-demand-response.yaml"
    result = sgam("validate", "--strict", seed)
    assert result.status == 0, result.out
    assert "1 use case(s), 1 library file(s)" in result.err


def test_a_file_named_twice_is_read_once(sgam, usecase: Path) -> None:
    result = sgam("validate", "--strict", usecase, usecase / "uc-demo.yaml")
    assert result.status == 0 and "1 use case(s)" in result.err
