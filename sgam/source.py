"""Reading one YAML file safely, and finding where a value sits in it.

Parsing uses libyaml (CSafeLoader) and keeps no per-node positions: positions are looked up only
when a diagnostic needs one, by composing the kept text again. That keeps the common, valid case
as fast as a plain `yaml.load`.

Hostile input is refused with a located error: files that are too large, binary or not UTF-8,
duplicate keys, alias expansion beyond a budget ("billion laughs"), nesting deeper than libyaml
allows, several documents in one file.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity

try:  # libyaml is much faster; PyYAML's pure-Python loader is the fallback
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_BYTES = 8 * 1024 * 1024  # far above any real use case; guards memory
MAX_EXPANDED_NODES = 200_000  # nodes that aliases may add by repetition

PathPart = str | int


def _error(file: str, code: str, message: str, hint: str, line: int | None = 1, column: int | None = 1) -> BadInput:
    return BadInput(Diagnostic(Severity.error, code, message, file, line, column, hint))


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """CSafeLoader that refuses duplicate keys and alias bombs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.expanded = 0
        self.sizes: dict[int, int] = {}

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:  # an alias: the subtree is used once more
            self.expanded += self._size(node)
            if self.expanded > MAX_EXPANDED_NODES:
                raise yaml.constructor.ConstructorError(
                    None, None, "aliases expand to too many values (alias bomb?)", node.start_mark
                )
        return super().construct_object(node, deep)

    def _size(self, root: yaml.Node) -> int:
        if id(root) in self.sizes:
            return self.sizes[id(root)]
        total, stack = 0, [root]
        while stack:
            node = stack.pop()
            total += 1
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack.extend((key, value))
        self.sizes[id(root)] = total
        return total

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        self.flatten_mapping(node)  # YAML merge keys ('<<') come first and may be overridden
        merged = len(node.value) - own
        mapping: dict[Any, Any] = {}
        own_keys: dict[Any, yaml.Node] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
                )
            if index >= merged:
                if key in own_keys:
                    earlier = own_keys[key].start_mark
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {earlier.line + 1})", key_node.start_mark
                    )
                own_keys[key] = key_node
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


@dataclass
class SourceFile:
    """A file's name and text, kept so that diagnostics can be located after parsing."""

    path: Path
    text: str
    _root: yaml.Node | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.path)

    def parse(self) -> Any:
        """The file's single YAML document as plain Python data."""
        loader = _Loader(self.text)
        try:
            return loader.get_single_data()
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from None
        except yaml.YAMLError as exc:  # errors without a position
            raise _error(self.name, "yaml", str(exc), "fix the YAML syntax") from None
        except RecursionError:
            raise _error(self.name, "too-deep", "nesting is too deep", "flatten the structure") from None
        finally:
            loader.dispose()

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> BadInput:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "alias" in problem and "expand" in problem:
            code, hint = "alias-bomb", "write the values out, or use fewer nested aliases"
        elif problem.startswith("duplicate key"):
            code, hint = "duplicate-key", "remove or rename one of the two keys"
        elif problem.startswith("a key must"):
            code, hint = "bad-key", "keys are plain words such as 'id' or 'name'"
        elif "nesting depth" in problem:
            code, hint = "too-deep", "flatten the structure: use cases need only a few levels"
        elif "single document" in (exc.context or ""):
            code, hint = "several-documents", "keep one use case per file; remove the '---' separator"
            problem = "a second YAML document starts here; a file holds one use case"
        else:
            code, hint = "yaml-syntax", "check indentation, quoting and ':' near this position"
        if exc.context and code == "yaml-syntax":
            problem = f"{problem} ({exc.context})"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return _error(self.name, code, problem, hint, line, column)

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `path`, or of its key when `key` is set.

        A path that leaves the document (a missing key) gives the deepest node that exists.
        """
        if self._root is None:
            self._root = yaml.compose(self.text, Loader=_BaseLoader)
        node = self._root
        assert node is not None
        key_node: yaml.Node | None = None
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
        target = key_node if key and key_node is not None else node
        return target.start_mark.line + 1, target.start_mark.column + 1


def _child(node: yaml.Node, part: PathPart) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                return key_node, value_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None


def read_source(path: Path) -> SourceFile:
    """Read a file as UTF-8 text, refusing what is not a text file of sane size."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(
                name, "too-large", f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                "split it: one use case per file", None, None,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise _error(name, "unreadable", f"cannot read the file: {exc.strerror}", "check the path and permissions",
                     None, None) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _error(name, "encoding", "file is UTF-16 encoded", "save it as UTF-8")
    if b"\x00" in data:
        offset = data.index(b"\x00")
        line, column = _position(data, offset)
        raise _error(name, "binary", "file is binary, not YAML text (NUL byte)",
                     "give sgam the .yaml use-case files only", line, column)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise _error(name, "encoding", f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                     "save the file as UTF-8", line, column) from None
    return SourceFile(path, text)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column
