"""Reading one YAML file safely, and finding where a value sits in it.

Parsing uses libyaml (CSafeLoader) and keeps no per-node positions: positions are looked up only
when a diagnostic needs one, by composing the kept text again. That keeps the common, valid case
as fast as a plain `yaml.load`.

Hostile input is refused with a located error: files that are too large, binary or not UTF-8,
duplicate keys, alias expansion beyond a budget ("billion laughs"), nesting deeper than libyaml
allows, several documents in one file.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class _Refused(yaml.constructor.ConstructorError):
    """A value the loader itself refuses, with the code and hint of its diagnostic."""

    def __init__(self, code: str, problem: str, hint: str, node: yaml.Node) -> None:
        super().__init__(None, None, problem, node.start_mark)
        self.code, self.hint = code, hint


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
                raise _Refused("alias-bomb", "aliases expand to too many values (alias bomb?)",
                               "write the values out, or use fewer nested aliases", node)
        return super().construct_object(node, deep)

    def _size(self, root: yaml.Node) -> int:
        """Nodes in the subtree once aliases are expanded; refuses a subtree that contains itself."""
        sizes = self.sizes
        if id(root) in sizes:
            return sizes[id(root)]
        open_nodes: set[int] = set()  # on the current path from root: meeting one again is a cycle
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            children = _children(node)
            if children_done:
                open_nodes.discard(id(node))
                sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
                continue
            if id(node) in sizes:
                continue
            open_nodes.add(id(node))
            stack.append((node, True))
            for child in children:
                if id(child) in open_nodes:
                    raise _Refused("recursive-alias", "a value contains itself through an alias (recursive anchor)",
                                   "an alias cannot stand inside the value it names; write the value out", child)
                stack.append((child, False))
        return sizes[id(root)]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        self.flatten_mapping(node)  # YAML merge keys ('<<') come first and may be overridden
        merged = len(node.value) - own
        mapping: dict[Any, Any] = {}
        own_keys: dict[str, yaml.Node] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused("bad-key", "a key must be a plain value, not a list or mapping",
                               "keys are plain words such as 'id' or 'name'", key_node)
            # Keys stay as written: YAML 1.1 would read 'on:' or 'no:' as booleans and '1:' as a number.
            key = key_node.value
            if index >= merged:
                if key in own_keys:
                    earlier = own_keys[key].start_mark
                    raise _Refused("duplicate-key", f"duplicate key {key!r} (first at line {earlier.line + 1})",
                                   "remove or rename one of the two keys", key_node)
                own_keys[key] = key_node
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:  # e.g. month 13: PyYAML raises without a position
            raise _Refused("value", f"{node.value!r} is not a valid date ({exc})",
                           "write a real date as YYYY-MM-DD", node) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


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
        # libyaml's own errors carry no code: tell the common ones apart by their wording.
        if isinstance(exc, _Refused):
            code, hint = exc.code, exc.hint
        elif "nesting depth" in problem:
            code, hint = "too-deep", "flatten the structure: use cases need only a few levels"
        elif "single document" in (exc.context or ""):
            code, hint = "several-documents", "keep one use case per file; remove the '---' separator"
            problem = "a second YAML document starts here; a file holds one use case"
        elif "tab character" in problem:
            code, hint = "yaml-syntax", "indent with spaces: YAML does not allow tabs there"
        else:
            code, hint = "yaml-syntax", "check indentation, quoting and ':' near this position"
        if exc.context and code == "yaml-syntax":
            start = exc.context_mark
            opened = (f" that starts at line {start.line + 1}, column {start.column + 1}"
                      if start and mark and start.line != mark.line else "")
            problem = f"{problem} ({exc.context}{opened})"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return _error(self.name, code, problem, hint, line, column)

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `path`, or of its key when `key` is set.

        A path that leaves the document (a missing key) gives the deepest node that exists.
        """
        key_node, node = self._find(path)
        target = key_node if key and key_node is not None else node
        return target.start_mark.line + 1, target.start_mark.column + 1

    def written(self, path: Sequence[PathPart]) -> str | None:
        """The scalar at `path` exactly as the file spells it (1.10 stays 1.10, NO stays NO)."""
        _, node = self._find(path)
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def _find(self, path: Sequence[PathPart]) -> tuple[yaml.Node | None, yaml.Node]:
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
        return key_node, node


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
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise _error(name, "encoding", "file is UTF-32 encoded", "save it as UTF-8")
    head = data[:64]
    looks_utf16 = len(head) >= 8 and any(not any(head[i::2]) and all(head[1 - i::2]) for i in (0, 1))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_utf16:
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
    """1-based line and column (in characters, as YAML counts them) of a byte offset."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column
