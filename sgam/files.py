"""Where sgam's own files live, and how it writes files (atomically)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
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


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write the whole file or nothing: a temporary file in the same folder, then a rename.

    `mode`: the file's permissions (by default those the umask gives an ordinary file); a secret
    gets 0o600 before it holds anything, never after.
    """
    write_bytes_atomic(path, text.encode("utf-8"), mode)


def write_all(files: Iterable[tuple[Path, bytes]]) -> list[Path]:
    """Write files that were all made beforehand, each atomically; return their paths.

    Generators make their whole output first and write it only then, so a run that fails part way
    (a `dot` that crashes, say) leaves the output folder as it was.
    """
    written = []
    for path, data in files:
        write_bytes_atomic(path, data)
        written.append(path)
    return written


def write_bytes_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask() if mode is None else mode)  # mkstemp makes 0600
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
