"""Where sgam's own files live, and how it writes files (atomically)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SCHEMAS = PACKAGE / "schemas"


def examples_dir() -> Path:
    """The shipped example use cases: the checkout's `usecases/`, or the copy inside the wheel."""
    checkout = PACKAGE.parent / "usecases"
    return checkout if (PACKAGE.parent / "pyproject.toml").is_file() and checkout.is_dir() else PACKAGE / "examples"


def default_paths() -> list[Path]:
    """`usecases/` of the current folder if there is one, else the shipped examples."""
    here = Path("usecases")
    return [here if here.is_dir() else examples_dir()]


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file in the same folder, then a rename."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; the result is an ordinary file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
