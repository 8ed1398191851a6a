"""The standards catalog: the shipped data checks clean, names resolve, user folders add and override."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sgam.catalog import Catalog, load_catalog, name_key

# Every standard the seed paper names must be in the shipped catalog (issue 3), by these spellings.
SEED_PAPER = [
    "IEC 61850", "IEC 61850-7-420", "IEC 61850-8-1", "IEC 61850-8-2", "IEC 61850-90-7", "OpenADR 2.0a",
    "OpenADR 2.0b", "IEC 62746-10-1", "IEC 62056", "DLMS/COSEM", "Modbus", "SunSpec", "DNP3", "IEEE 1815",
    "IEEE 1815.1", "XMPP", "IETF RFC 6120", "IETF RFC 6121", "IEEE 2030.5", "SEP2", "IEEE 1547", "UL 1741",
    "IEC 61968", "IEC 61970", "CGMES", "IEC 62325", "IEC TR 62357-1", "NISTIR 7628", "IEC 62559", "IEC 63200",
]
OTHER_FAMILIES = [
    "IEC 60870-5-101", "IEC 60870-5-104", "ICCP", "IEC 61850-9-2", "IEC 61850-90-5", "IEEE C37.118", "IEC 62351",
    "IEC 62351-3", "IEC 62351-5", "IEC 62443", "ISO/IEC 27019", "IEC 61400-25", "IEC 62439", "IEC 61588",
    "ISO 15118", "IEC 61851", "OCPP", "EEBus SPINE", "EEBus SHIP", "EN 50491-12", "KNX", "BACnet", "ECHONET Lite",
    "OPC UA", "EN 13757", "ANSI C12.19", "IEC 62746-4", "Energy Interoperation", "EMIX", "ESPI",
]


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    catalog, problems = load_catalog()
    assert problems == [], "\n".join(p.format() for p in problems)
    return catalog


def catalog_folder(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "mine.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


ENTRY = """\
    sources:
      - {{id: {source}, title: Our interface register, publisher: Example DSO, year: 2026}}
    standards:
      - id: {id}
        title: Our own flexibility interface
        publisher: Example DSO
        family: {family}
        edition: "1.0"
        status: published
        kinds: [application protocol]
        positions: [{{layers: [communication], domains: [Distribution], zones: all, source: {source}}}]
        aliases: [{alias}]
        {extra}
"""


def entry(id_: str = "DSO-IF 1", alias: str = "DSOIF", source: str = "dso-register", family: str = "DSO",
          extra: str = "") -> str:
    return ENTRY.format(id=id_, alias=alias, source=source, family=family, extra=extra)


def test_the_shipped_catalog_checks_clean_and_is_large_enough(shipped: Catalog) -> None:
    assert len(shipped.standards) >= 80


@pytest.mark.parametrize("name", SEED_PAPER + OTHER_FAMILIES)
def test_the_shipped_catalog_holds_the_standards_the_field_uses(shipped: Catalog, name: str) -> None:
    assert shipped.get(name) is not None, f"{name} is missing from standards_catalog/"


def test_every_position_names_a_source_and_every_entry_a_title_of_its_own(shipped: Catalog) -> None:
    for standard in shipped.standards.values():
        assert standard.title and standard.title != standard.id
        for position in standard.positions:
            assert position.source in shipped.sources


def test_aliases_resolve_in_both_directions_of_an_adoption(shipped: Catalog) -> None:
    assert shipped.get("OpenADR 2.0b") is shipped.get("IEC 62746-10-1")
    assert shipped.get("SEP2") is shipped.get("IEEE 2030.5")
    assert shipped.get("DNP3") is shipped.get("IEEE 1815")


@pytest.mark.parametrize("written, canonical", [
    ("iec 62746-10-1:2018", "IEC 62746-10-1"),
    ("IEC  61850-7-420", "IEC 61850-7-420"),
    ("IEC 62357-1", "IEC TR 62357-1"),
])
def test_names_match_whatever_the_case_spacing_year_or_document_type(written: str, canonical: str) -> None:
    assert name_key(written) == name_key(canonical)


def test_a_reference_is_the_longest_catalog_name_it_starts_with_then_a_detail(shipped: Catalog) -> None:
    found = shipped.match("IEC 61850-7-420 DSTO (DEROpSt)")
    assert found is not None
    standard, detail = found
    assert standard.id == "IEC 61850-7-420" and detail == "DSTO (DEROpSt)"
    assert shipped.match("Our proprietary bus") is None


def test_a_user_folder_adds_entries(tmp_path: Path) -> None:
    catalog, problems = load_catalog([catalog_folder(tmp_path, "ours", entry())])
    assert problems == []
    assert catalog.get("dsoif") is catalog.standards["DSO-IF 1"]


def test_a_user_entry_with_a_shipped_id_is_a_conflict_unless_it_overrides(tmp_path: Path, shipped: Catalog) -> None:
    clash = catalog_folder(tmp_path, "clash", entry(id_="IEC 61850-7-420"))
    _, problems = load_catalog([clash])
    [problem] = problems
    assert problem.code == "catalog-conflict" and problem.file.endswith("mine.yaml") and problem.line == 4
    assert "standards_catalog" in problem.message and "override: true" in problem.hint

    replace = catalog_folder(tmp_path, "replace", entry(id_="IEC 61850-7-420", extra="override: true"))
    catalog, problems = load_catalog([replace])
    assert problems == []
    assert catalog.standards["IEC 61850-7-420"].title == "Our own flexibility interface"
    assert "IEC 61850-7-420" in catalog.overridden
    # The shipped entry's aliases went with it; nothing of the old entry is merged in.
    assert set(catalog.standards["IEC 61850-7-420"].aliases) == {"DSOIF"}


def test_an_override_that_replaces_nothing_is_reported(tmp_path: Path) -> None:
    _, problems = load_catalog([catalog_folder(tmp_path, "ours", entry(extra="override: true"))])
    assert [p.code for p in problems] == ["override-nothing"]


def test_an_alias_taken_by_another_standard_is_a_conflict(tmp_path: Path) -> None:
    _, problems = load_catalog([catalog_folder(tmp_path, "ours", entry(alias="DNP3"))])
    [problem] = problems
    assert problem.code == "catalog-conflict" and "already names 'IEEE 1815'" in problem.message


def test_two_user_folders_may_not_define_the_same_entry(tmp_path: Path) -> None:
    first = catalog_folder(tmp_path, "first", entry())
    second = catalog_folder(tmp_path, "second", entry(source="other-register", extra="override: true"))
    _, problems = load_catalog([first, second])
    assert [p.code for p in problems] == ["catalog-conflict"]
    assert "first" in problems[0].message


def test_relations_and_sources_must_resolve(tmp_path: Path) -> None:
    broken = entry(extra="relations: {pairs_with: [IEC 61850-7-42]}").replace("source: dso-register}", "source: dso-registr}")
    _, problems = load_catalog([catalog_folder(tmp_path, "ours", broken)])
    by_code = {p.code: p for p in problems}
    assert set(by_code) == {"unknown-standard", "unknown-source"}
    assert "did you mean 'IEC 61850-7-420'" in by_code["unknown-standard"].hint
    assert "did you mean 'dso-register'" in by_code["unknown-source"].hint


def test_standards_check_reports_bad_catalog_files_with_their_location(tmp_path: Path, sgam) -> None:
    folder = catalog_folder(tmp_path, "ours", entry().replace('edition: "1.0"', "edition: [1]"))
    result = sgam("standards", "check", "--catalog", folder)
    assert result.status == 2
    assert "mine.yaml:8:14: error[type]: expected text for 'edition', found a list" in result.out
    assert sgam("standards", "check").status == 0


def test_standards_list_filters_by_position_kind_and_family(sgam) -> None:
    result = sgam("standards", "list", "--layer", "communication", "--domain", "DER", "--kind", "application protocol")
    assert result.status == 0
    assert "IEC 61850-8-2" in result.out and "IEC 61850-7-420" not in result.out
    assert "SGAM domain" in sgam("standards", "list", "--domain", "Moon").err


def test_standards_show_gives_positions_with_their_sources(sgam) -> None:
    result = sgam("standards", "show", "SEP2")
    assert result.status == 0 and result.out.startswith("IEEE 2030.5: ")
    assert "source: " in result.out
    missing = sgam("standards", "show", "IEC 61850-7-42")
    assert missing.status == 2 and "did you mean 'IEC 61850-7-420'" in missing.err


@pytest.mark.parametrize("extra, code, words", [
    ("relations: {pairs_with: [DSO-IF 1]}", "self-relation", "pairs_with itself"),
    ("relations: {pairs_with: [MMS]}", "alias-in-relation", "write the canonical id 'IEC 61850-8-1'"),
    ("relations: {supersedes: [IEC 61850-8-1]}", "status", "mark the older entry 'status: superseded'"),
    ("relations: {secured_by: [IEC 61850-8-1]}", "kind", "not of kind security"),
])
def test_relations_are_checked_for_sense(tmp_path: Path, extra: str, code: str, words: str) -> None:
    _, problems = load_catalog([catalog_folder(tmp_path, "ours", entry(extra=extra))])
    [problem] = problems
    assert problem.code == code
    assert words in problem.message + problem.hint


def test_a_source_id_is_defined_once(tmp_path: Path, shipped: Catalog) -> None:
    taken = next(iter(shipped.sources))
    _, problems = load_catalog([catalog_folder(tmp_path, "ours", entry(source=taken))])
    assert [p.code for p in problems] == ["duplicate-id"]
