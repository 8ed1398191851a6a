"""State files a device keeps across its restarts: a pydantic model is the format, writes are atomic."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from sgam.files import write_atomic

M = TypeVar("M", bound=BaseModel)


def load(model: type[M], path: Path) -> M:
    """The state in ``path``, or a fresh one when there is no file yet; a broken file says where and why."""
    if not path.exists():
        return model()
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read this state file ({error})") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = "/".join(str(part) for part in first["loc"]) or "top level"
        raise ValueError(
            f"{path}: {where}: {first['msg']}; not a {model.__name__} file: move it away to start afresh"
        ) from None


def save(path: Path, state: BaseModel) -> None:
    write_atomic(path, state.model_dump_json(indent=1))
