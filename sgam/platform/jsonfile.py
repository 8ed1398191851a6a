"""JSON files whose format is a pydantic model: read with located errors, written atomically.

The platform keeps its conversion tables and the state a device must not forget across a restart
in such files. An unreadable file is refused with where (line and column, or the JSON path of the
first wrong value) and why, never half-read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from sgam.files import write_atomic

M = TypeVar("M", bound=BaseModel)


class JsonFileError(ValueError):
    """A file that cannot be used: ``file``, ``where`` in it, ``message``, and a hint what to do."""

    def __init__(self, file: Path | str, where: str, message: str, hint: str) -> None:
        super().__init__(f"{file}: {where}: {message}\n    hint: {hint}")
        self.file, self.where, self.message = file, where, message


def read(model: type[M], path: Path, hint: str) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise JsonFileError(path, "file", f"cannot read it ({error})", hint) from None
    return parse(model, text, path, hint)


def parse(model: type[M], text: str, file: Path | str, hint: str) -> M:
    """``text`` as ``model``; errors name ``file`` though nothing is read from it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise JsonFileError(file, f"line {error.lineno}, column {error.colno}", f"not JSON: {error.msg}", hint) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"/{part}" for part in first["loc"]) or "top level"  # a JSON Pointer (RFC 6901)
        raise JsonFileError(file, where, first["msg"], hint) from None


def read_state(model: type[M], path: Path) -> M:
    """A device's state: a fresh one while there is no file yet."""
    if not path.exists():
        return model()
    return read(model, path, f"this is not a {model.__name__} file; move it away to start afresh")


def write(path: Path, value: BaseModel) -> None:
    write_atomic(path, value.model_dump_json(indent=1))
