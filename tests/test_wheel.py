"""An installed wheel works outside the checkout: schemas, skeleton, examples and catalog travel with it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, unpacked into a folder of its own."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, REPO], check=True)
    [wheel] = dist.glob("sgam-*.whl")
    target = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(target)
    return target


def run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The wheel's folder goes first on the path, ahead of the editable install of the checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "sgam", *args], cwd=cwd, env=env, text=True, capture_output=True,
                          check=False)


def test_the_wheel_carries_schemas_skeleton_and_examples(installed: Path) -> None:
    package = installed / "sgam"
    assert (package / "schemas" / "usecase.schema.json").is_file()
    assert (package / "skeleton.yaml").is_file()
    shipped = sorted(p.name for p in (package / "examples").glob("*.yaml"))
    assert shipped == sorted(p.name for p in (REPO / "usecases").glob("*.yaml"))
    catalog = sorted(p.name for p in (package / "standards_catalog").glob("*.yaml"))
    assert catalog == sorted(p.name for p in (REPO / "standards_catalog").glob("*.yaml"))


def test_the_installed_tool_finds_its_catalog(installed: Path, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "standards", "check", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert run(installed, tmp_path, "standards", "show", "OpenADR 2.0b").returncode == 0


def test_the_installed_tool_validates_its_examples_from_anywhere(installed: Path, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "validate", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    where = run(installed, tmp_path, "--version")
    assert where.returncode == 0
    module = subprocess.run([sys.executable, "-c", "import sgam; print(sgam.__file__)"], cwd=tmp_path, text=True, check=False,
                            capture_output=True, env={**os.environ, "PYTHONPATH": str(installed)})
    assert module.stdout.strip().startswith(str(installed))


def test_the_installed_tool_writes_a_skeleton_that_validates(installed: Path, tmp_path: Path) -> None:
    assert run(installed, tmp_path, "new", "uc-fresh").returncode == 0
    result = run(installed, tmp_path, "validate", "--strict", "uc-fresh.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_tool_publishes_its_examples_with_the_templates_it_carries(installed: Path, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "report", "-o", "site", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "usecases" / "ems-demand-response.html").is_file()
    assert (installed / "sgam" / "publish" / "templates" / "usecase.html").is_file()


def test_the_installed_tool_generates_a_platform_from_its_templates(installed: Path, tmp_path: Path) -> None:
    assert (installed / "codegen" / "templates" / "adapter.py.tmpl").is_file()
    result = run(installed, tmp_path, "codegen", "-q", "-o", "out")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "ems-demand-response" / "adapters" / "ems.py").is_file()
