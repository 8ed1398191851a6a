"""The shipped example use cases and catalog: complete, valid under --strict, and true to the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from sgam.graph import SgamModel
from sgam.loader import load_repository
from sgam.models import UseCase
from sgam.schema import SCHEMA_FILES
from sgam.workspace import load_workspace
from tests.conftest import REPO

EXAMPLES = REPO / "usecases"
CATALOG = REPO / "standards_catalog"
FILES = sorted(EXAMPLES.glob("*.yaml")) + sorted(CATALOG.glob("*.yaml"))


@pytest.fixture(scope="module")
def repo():
    return load_repository([EXAMPLES])


def test_the_examples_validate_with_no_diagnostic_at_all() -> None:
    workspace = load_workspace([EXAMPLES])
    assert [d.format() for d in workspace.diagnostics] == []
    assert workspace.model is not None


def test_there_are_at_least_five_use_cases_and_a_shared_library(repo) -> None:
    assert len(repo.usecases) >= 5
    assert len(repo.libraries) == 1


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_file_names_its_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / first.split("=", 1)[1]).resolve() in {p.resolve() for p in SCHEMA_FILES.values()}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_file_satisfies_the_json_schema_editors_use(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    schema_file = (path.parent / text.splitlines()[0].split("=", 1)[1]).resolve()
    # Editors see YAML 1.2 scalars: dates stay text, as a JSON round trip gives them.
    data = json.loads(json.dumps(yaml.safe_load(text), default=str))
    jsonschema.validate(data, json.loads(schema_file.read_text(encoding="utf-8")))


def test_each_use_case_is_complete(repo) -> None:
    for document in repo.usecases:
        uc: UseCase = document.model
        assert len(uc.scenarios) >= 2, uc.id
        assert uc.classification.cluster is not None, uc.id
        placement = uc.sgam
        for part in ("roles", "goals", "functions", "links"):
            assert getattr(placement, part), f"{uc.id} has no {part}"
        assert uc.information and uc.requirements and uc.references and uc.kpis, uc.id


def test_the_examples_are_placed_on_every_layer_with_nothing_unplaced(repo) -> None:
    model = SgamModel.build(repo)
    for document in repo.usecases:
        uc = document.model.id
        assert model.unplaced(uc) == [], uc
        assert model.crossings(uc), f"{uc} crosses no boundary"


def test_the_seed_case_crosses_organisations_over_openadr_and_iec_61850(repo) -> None:
    model = SgamModel.build(repo)
    seed = next(d.model for d in repo.usecases if "OpenADR" in " ".join(link.protocols[0] for link in d.model.sgam.links))
    protocols = " ".join(p for link in seed.sgam.links for p in link.protocols)
    assert "IEC 61850-8-2" in protocols and "XMPP" in protocols
    assert any("organisation" in x.crosses for x in model.crossings(seed.id))
