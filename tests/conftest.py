"""Shared fixtures: a valid use case to start from, and the CLI run in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from sgam.cli import main
from sgam.files import PACKAGE

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def sgam(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `sgam ARGS...` in this process and capture what it prints."""

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


def skeleton_text(usecase_id: str = "uc-demo") -> str:
    template = Template((PACKAGE / "skeleton.yaml").read_text(encoding="utf-8"))
    return template.substitute(id=usecase_id, today=dt.date(2026, 11, 27).isoformat(), schema="schema.json")


@pytest.fixture
def usecase(tmp_path: Path) -> Path:
    """A folder holding one complete, valid use case (the `sgam new` skeleton)."""
    folder = tmp_path / "usecases"
    folder.mkdir()
    (folder / "uc-demo.yaml").write_text(skeleton_text(), encoding="utf-8")
    return folder
