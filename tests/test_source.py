"""Reading YAML safely, and locating values for diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgam.diagnostics import BadInput
from sgam.source import SourceFile, read_source


def parse(text: str):
    return SourceFile(Path("f.yaml"), text).parse()


def test_values_are_located_by_their_path() -> None:
    source = SourceFile(Path("f.yaml"), "id: x\nscenarios:\n  - id: s1\n    steps:\n      - number: 1\n")
    assert source.locate(("scenarios", 0, "steps", 0, "number")) == (5, 17)
    assert source.locate(("scenarios", 0, "steps", 0, "number"), key=True) == (5, 9)
    # a path into a missing key stops at the deepest existing node
    assert source.locate(("scenarios", 0, "name")) == (3, 5)


def test_anchors_and_merge_keys_work_within_the_alias_budget() -> None:
    data = parse("base: &b {zone: Field, domain: DER}\ncell:\n  <<: *b\n  zone: Station\nsame: *b\n")
    assert data["cell"] == {"zone": "Station", "domain": "DER"}
    assert data["same"] == {"zone": "Field", "domain": "DER"}


def test_a_key_repeated_inside_one_mapping_is_refused_with_both_lines() -> None:
    with pytest.raises(BadInput) as caught:
        parse("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert caught.value.diagnostic.format().startswith("f.yaml:4:3: error[duplicate-key]: duplicate key 'b' "
                                                       "(first at line 2)")


def test_a_mapping_used_as_a_key_is_refused() -> None:
    with pytest.raises(BadInput, match=r"f.yaml:1:3: error\[bad-key\]: a key must be a plain value"):
        parse("? [a, b]\n: 1\n")


def test_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffname: Überschuss\n".encode())
    assert read_source(path).parse() == {"name": "Überschuss"}
