"""Loading use-case and library files into validated models, with located diagnostics."""

from __future__ import annotations

import datetime as dt
import gc
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sgam.diagnostics import BadInput, Diagnostic, did_you_mean
from sgam.enums import Severity
from sgam.models import Library, UseCase
from sgam.source import MAX_BYTES, PathPart, SourceFile, read_source

M = TypeVar("M", bound=BaseModel)

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Document(Generic[M]):
    """A validated model and the file it came from (to locate later diagnostics)."""

    source: SourceFile
    model: M

    def diagnostic(
        self, severity: Severity, code: str, message: str, path: Sequence[PathPart], hint: str = "",
        *, key: bool = False,
    ) -> Diagnostic:
        line, column = self.source.locate(path, key=key)
        return Diagnostic(severity, code, message, self.source.name, line, column, hint)


@dataclass
class Repository:
    """Everything loaded from a set of paths: use cases, shared libraries, and what went wrong."""

    usecases: list[Document[UseCase]] = field(default_factory=list)
    libraries: list[Document[Library]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The YAML files under the given files and folders, in a stable order."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            files.extend(_files_at(path))
        except BadInput as exc:
            problems.append(exc.diagnostic)
        except OSError as exc:
            problems.append(Diagnostic(Severity.error, "unreadable", f"cannot read: {exc.strerror}", str(path),
                                       hint="check the path and its permissions"))
    seen: set[Path] = set()
    unique = []  # a file named twice (or found twice) is read once
    for path in files:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique, problems


def _files_at(path: Path) -> list[Path]:
    """A file (with the libraries beside it), or the YAML files under a folder (not hidden ones)."""
    if path.is_dir():
        found = sorted(
            p for p in path.rglob("*")
            if p.suffix in YAML_SUFFIXES and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise BadInput(Diagnostic(Severity.error, "no-files", "the folder holds no .yaml or .yml file", str(path),
                                      hint="give the folder of your use-case files"))
        return found
    if path.is_file():
        return [path, *_libraries_beside(path)]
    raise BadInput(Diagnostic(Severity.error, "no-such-path", "no such file or folder", str(path),
                              hint="give the path of a use-case file or of a folder of them"))


LIBRARY_KEY = re.compile(rb"^library\s*:", re.MULTILINE)
ID_KEY = re.compile(rb"^id\s*:", re.MULTILINE)


def _libraries_beside(path: Path) -> list[Path]:
    """The library files in the folder of a file named alone: its references may point into them."""
    return sorted(
        p for p in path.parent.iterdir()
        if p.suffix in YAML_SUFFIXES and p.is_file() and p != path
        and p.stat().st_size <= MAX_BYTES and _is_library(p.read_bytes())
    )


def _is_library(data: bytes) -> bool:
    """A first look, before parsing: the loader reads a file as a library on the same terms."""
    return bool(LIBRARY_KEY.search(data)) and not ID_KEY.search(data)


def load_file(path: Path) -> Document[UseCase] | Document[Library]:
    """Read, parse and validate one use-case or library file; raises BadInput(s) with located diagnostics."""
    source = read_source(path)
    data = parse_mapping(source, "a use case starts with 'id:', 'name:', ...; see `sgam new ID`")
    # A stray 'library:' in a use case is an unknown key, not a reason to read it as a library.
    if "library" in data and "id" not in data:
        return Document(source, validate(source, data, Library))
    return Document(source, validate(source, data, UseCase))


def parse_mapping(source: SourceFile, hint: str) -> dict[str, Any]:
    """The file's YAML, which must be a mapping of keys; `hint` says how such a file starts."""
    data = source.parse()
    if data is None:
        raise BadInput(Diagnostic(Severity.error, "empty", "the file is empty", source.name, 1, 1, hint))
    if not isinstance(data, dict):
        line, column = source.locate(())
        raise BadInput(Diagnostic(
            Severity.error, "not-a-mapping", f"the file holds {_describe(data)}, not a mapping of keys",
            source.name, line, column, hint,
        ))
    return data


def validate(source: SourceFile, data: dict[str, Any], model_class: type[M]) -> M:
    """The data as a `model_class`; every pydantic error becomes a located diagnostic."""
    try:
        return model_class.model_validate(data)
    except ValidationError as exc:
        errors = _without_echoes(exc.errors())
        raise BadInputs([_from_pydantic(source, model_class, error) for error in errors]) from None


class BadInputs(Exception):
    """Several located problems in one file (pydantic reports them all at once)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while building many long-lived objects.

    Each full collection walks every live object, so with thousands of use cases in memory the
    collector made loading grow faster than linearly (benchmarks/). What is built here is kept,
    not garbage; the collector runs again as usual afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_repository(paths: Iterable[Path], progress: Callable[[int, int], None] | None = None) -> Repository:
    """Load every file; a bad file is reported and skipped, the others still load.

    `progress(done, total)` is called before each file.
    """
    files, problems = discover(paths)
    repo = Repository(diagnostics=problems)
    with paused_gc():
        _load_files(files, repo, progress)
    return repo


def _load_files(files: list[Path], repo: Repository, progress: Callable[[int, int], None] | None) -> None:
    for done, path in enumerate(files):
        if progress:
            progress(done, len(files))
        try:
            document = load_file(path)
        except BadInput as exc:
            repo.diagnostics.append(exc.diagnostic)
            continue
        except BadInputs as exc:
            repo.diagnostics.extend(exc.diagnostics)
            continue
        if isinstance(document.model, Library):
            repo.libraries.append(document)  # type: ignore[arg-type]
        else:
            repo.usecases.append(document)  # type: ignore[arg-type]


# --- pydantic errors, in the user's words ---------------------------------------------------


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop 'missing key x' where the same mapping has a misspelt 'x': the unknown key says it all."""
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        if error["type"] == "extra_forbidden":
            unknown.setdefault(tuple(error["loc"][:-1]), []).append(str(error["loc"][-1]))
    return [
        error for error in errors
        if not (error["type"] == "missing"
                and did_you_mean(str(error["loc"][-1]), unknown.get(tuple(error["loc"][:-1]), [])))
    ]


def _from_pydantic(source: SourceFile, model_class: type[BaseModel], error: ErrorDetails) -> Diagnostic:
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    key = loc[-1] if loc else ""
    at_key = False
    code = "type"
    hint = ""
    if kind == "missing":
        code, message = "missing", f"missing required key {key!r}"
        hint = f"add '{key}:' here; `sgam new ID` writes a complete example"
        loc = loc[:-1]
    elif kind == "extra_forbidden":
        code, message, at_key = "unknown-key", f"unknown key {key!r}", True
        allowed = _fields(model_class, loc[:-1])
        hint = did_you_mean(str(key), allowed) + f"allowed keys here: {', '.join(allowed)}"
    elif kind == "sgam_name":  # an SGAM domain or zone that is neither a name nor an alias
        code, message = "value", error["msg"]
        hint = did_you_mean(value, error["ctx"]["legal"]).strip() or "use one of the legal names"
    elif kind == "enum":
        expected = [e.strip(" '") for e in error["ctx"]["expected"].replace(" or ", ", ").split(",")]
        code, message = "value", f"{value!r} is not a valid {key}"
        hint = did_you_mean(str(value), expected) + f"use one of: {', '.join(expected)}"
    elif kind == "string_pattern_mismatch":
        code = "value"
        if "pattern" in error.get("ctx", {}) and r"\d" in error["ctx"]["pattern"]:
            message, hint = f"{value!r} is not a step number", 'write 1, 2, "2.1" (quoted) or 3a'
        else:
            message = f"{value!r} is not a valid id"
            hint = "an id starts with a letter and holds letters, digits, '_', '.' and '-'"
    elif kind == "too_short":
        code = "too-short"
        message = f"{key!r} needs at least {error['ctx']['min_length']} entr{'y' if error['ctx']['min_length'] == 1 else 'ies'}"
    elif kind == "too_long":
        code = "too-long"
        message = f"{key!r} takes at most {error['ctx']['max_length']} entries"
    else:
        wanted = _EXPECTED.get(kind.split("_")[0], error["msg"].removeprefix("Input should be ").lower())
        written = source.written(loc)
        message = f"expected {wanted} for {_label(loc)}, found {_describe(value, written)}"
        if kind.startswith("string") and _is_plain(value) and value is not None:
            quoted = f'"{written or value}"'
            hint = f"quote it: {key}: {quoted}" if isinstance(key, str) else f"quote it: {quoted}"
        elif wanted == "a list":
            hint = "write a list, one '- item' per line"
        elif wanted.startswith("a mapping"):
            hint = "write 'key: value' pairs indented under it"
    line, column = source.locate(loc, key=at_key)
    return Diagnostic(Severity.error, code, message, source.name, line, column, hint)


_EXPECTED = {
    "string": "text",
    "list": "a list",
    "model": "a mapping of keys",
    "dict": "a mapping of keys",
    "date": "a date (YYYY-MM-DD)",
    "int": "a whole number",
    "bool": "true or false",
}


def _label(loc: tuple[Any, ...]) -> str:
    names = [str(part) for part in loc if isinstance(part, str)]
    return repr(names[-1]) if names else "the file"


def _describe(value: Any, written: str | None = None) -> str:
    """What YAML made of a value, shown as the file spells it."""
    match value:
        case None:
            return "nothing (null)"
        case bool():
            return f"the boolean {written or str(value).lower()}"
        case int() | float():
            return f"the number {written or value}"
        case dt.date():
            return f"the date {written or value.isoformat()}"
        case str():
            return f"the text {value!r}" if len(value) < 40 else "text"
        case list():
            return "a list"
        case dict():
            return "a mapping"
    return type(value).__name__


def _is_plain(value: Any) -> bool:
    """A scalar that YAML read as something other than text."""
    return isinstance(value, int | float | bool | dt.date)


def _fields(model_class: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `loc` inside `model_class`."""
    annotation: Any = model_class
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else annotation
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and part in annotation.model_fields:
            annotation = annotation.model_fields[part].annotation
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and `X | None` down to X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
