"""Use cases linked to the catalog: names resolve, positions are checked, suggestions are ranked, gaps reported.

The skeleton use case (`sgam new`) has an operator SCADA (Distribution/Operation) reading a field
IED (Distribution/Field) over one link; the tests add standards of their own in a user catalog so
that the ranking rules are tested on known data.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sgam.standards import gaps, suggest
from sgam.workspace import Workspace, load_workspace

EXAMPLES = Path(__file__).resolve().parent.parent / "usecases"

# Three information models for the skeleton's measurements, differing in one respect each.
RANKING_CATALOG = """\
sources:
  - {id: test-source, title: Test positions, publisher: sgam tests, year: 2026}
standards:
  - id: TEST-IM-BOTH
    title: Model placed at both ends
    publisher: sgam tests
    family: TEST-A
    edition: "1"
    status: published
    kinds: [information model]
    positions: [{layers: [information], domains: [Distribution], zones: [Field, Operation], source: test-source}]
  - id: TEST-IM-FIELD
    title: Model placed at the field end only
    publisher: sgam tests
    family: TEST-B
    edition: "1"
    status: published
    kinds: [information model]
    positions: [{layers: [information], domains: [Distribution], zones: [Field], source: test-source}]
  - id: TEST-IM-DRAFT
    title: Draft model placed at both ends
    publisher: sgam tests
    family: TEST-C
    edition: "0.9"
    status: draft
    kinds: [information model]
    positions: [{layers: [information], domains: [Distribution], zones: [Field, Operation], source: test-source}]
  - id: TEST-IM-OLD
    title: Withdrawn model placed at both ends
    publisher: sgam tests
    family: TEST-D
    edition: "1"
    status: withdrawn
    kinds: [information model]
    positions: [{layers: [information], domains: [Distribution], zones: [Field, Operation], source: test-source}]
  - id: TEST-IM-MEASURE
    title: Model for measurement reports placed at the field end only
    publisher: sgam tests
    family: TEST-E
    edition: "1"
    status: published
    kinds: [information model]
    exchanges: [measurement report]
    positions: [{layers: [information], domains: [Distribution], zones: [Field], source: test-source}]
  - id: TEST-PROTO
    title: Protocol secured by a companion
    publisher: sgam tests
    family: TEST-F
    edition: "1"
    status: published
    kinds: [application protocol]
    positions: [{layers: [communication], domains: [Distribution], zones: [Field, Operation], source: test-source}]
    relations: {secured_by: [TEST-SEC]}
  - id: TEST-PROTO-C
    title: Protocol typically used on field area networks
    publisher: sgam tests
    family: TEST-G
    edition: "1"
    status: published
    kinds: [application protocol]
    networks: [C]
    positions: [{layers: [communication], domains: [Distribution], zones: [Field, Operation], source: test-source}]
  - id: TEST-SEC
    title: Security companion
    publisher: sgam tests
    family: TEST-F
    edition: "1"
    status: published
    kinds: [security]
    positions: [{layers: [communication], domains: all, zones: all, source: test-source}]
"""


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "test.yaml").write_text(RANKING_CATALOG, encoding="utf-8")
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "uc-demo.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def load(usecase: Path, catalog_dir: Path) -> Workspace:
    workspace = load_workspace([usecase], [catalog_dir])
    assert workspace.model is not None, "\n".join(d.format() for d in workspace.diagnostics)
    return workspace


def test_an_unknown_standard_is_a_located_error_with_the_nearest_name(usecase: Path, sgam) -> None:
    edit(usecase, "protocols: [IEC 61850-8-1 MMS, TCP/IP]", "protocols: [IEC 61850-8-11, TCP/IP]")
    result = sgam("validate", usecase)
    assert result.status == 2
    assert "uc-demo.yaml:131:19: error[unknown-standard]: 'IEC 61850-8-11' names no standard" in result.out
    assert "did you mean 'IEC 61850-8-1'" in result.out


def test_a_standard_used_outside_its_position_is_a_warning_that_says_where_it_applies(
    usecase: Path, catalog_dir: Path, sgam
) -> None:
    edit(usecase, "data_models: [IEC 61850-7-4 MMXU]", "data_models: [TEST-IM-FIELD MMXU]")
    result = sgam("validate", usecase, "--catalog", catalog_dir)
    assert result.status == 0
    assert ("uc-demo.yaml:92:19: warning[standard-position]: TEST-IM-FIELD is not positioned at "
            "Distribution/Operation for a information; the catalog places it on the information layer: "
            "Distribution x Field") in result.out


def test_named_standards_become_graph_edges_and_exchange_standards(usecase: Path, catalog_dir: Path) -> None:
    edit(usecase, "protocols: [IEC 61850-8-1 MMS, TCP/IP]", "protocols: [TEST-PROTO, TEST-SEC]")
    model = load(usecase, catalog_dir).model
    assert model is not None
    assert model.standards("uc-demo/link/scada-ied") == ["TEST-PROTO", "TEST-SEC"]
    assert model.graph.nodes["standard/TEST-PROTO"]["standard"].title == "Protocol secured by a companion"
    request, report = model.exchanges
    assert request.standards == ("TEST-PROTO", "TEST-SEC")
    assert report.standards == ("IEC 61850-7-4", "TEST-PROTO", "TEST-SEC")


def test_suggestions_rank_by_cells_covered_exchange_kind_and_status_and_say_why(
    usecase: Path, catalog_dir: Path
) -> None:
    edit(usecase, "    data_models: [IEC 61850-7-4 MMXU]\n", "    exchange: measurement report\n")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    [suggestion] = [s for s in suggest(workspace.model, workspace.catalog, limit=50)
                    if s.need.label == "information measurements"]
    ranked = [c.standard for c in suggestion.candidates]
    # Points: MEASURE 2 (one cell of two) + 3 (kind of exchange) + 1 (published) = 6; BOTH 4 + 1 = 5;
    # DRAFT 4; FIELD 2 + 1 = 3. Serving the declared kind of exchange outweighs covering the second cell.
    assert ranked.index("TEST-IM-MEASURE") < ranked.index("TEST-IM-BOTH") < ranked.index("TEST-IM-DRAFT")
    assert ranked.index("TEST-IM-BOTH") < ranked.index("TEST-IM-FIELD")
    assert "TEST-IM-OLD" not in ranked  # withdrawn standards are never suggested
    best = suggestion.candidates[ranked.index("TEST-IM-MEASURE")]
    assert best.reasons == (
        "positioned on the information layer at 1 of 2 cell(s) (Distribution/Field)",
        "serves measurement report exchanges",
        "published",
    )
    assert suggest(workspace.model, workspace.catalog, limit=50) == suggest(workspace.model, workspace.catalog, 50)


def test_the_links_network_type_counts_for_a_protocol(usecase: Path, catalog_dir: Path) -> None:
    edit(usecase, "protocols: [IEC 61850-8-1 MMS, TCP/IP]", "protocols: [TCP/IP]")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    [suggestion] = [s for s in suggest(workspace.model, workspace.catalog, limit=50) if s.need.need == "protocol"]
    ranked = [c.standard for c in suggestion.candidates]
    assert ranked.index("TEST-PROTO-C") < ranked.index("TEST-PROTO")
    chosen = suggestion.candidates[ranked.index("TEST-PROTO-C")]
    assert "used on SG-CG network type C, as this link declares" in chosen.reasons


def test_a_family_already_used_in_the_use_case_counts_for_a_candidate(usecase: Path, catalog_dir: Path) -> None:
    edit(usecase, "    data_models: [IEC 61850-7-4 MMXU]\n", "")
    edit(usecase, "    description: Which measurements the operator wants.\n",
         "    description: Which measurements the operator wants.\n    data_models: [TEST-IM-FIELD request]\n")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    [suggestion] = [s for s in suggest(workspace.model, workspace.catalog, limit=50)
                    if s.need.label == "information measurements"]
    field = next(c for c in suggestion.candidates if c.standard == "TEST-IM-FIELD")
    assert "family TEST-B is already used in this use case" in field.reasons


def test_a_link_crossing_zones_without_security_is_one_gap_and_its_protocols_companion_ranks_first(
    usecase: Path, catalog_dir: Path
) -> None:
    edit(usecase, "protocols: [IEC 61850-8-1 MMS, TCP/IP]", "protocols: [TEST-PROTO]")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    found = [(g.kind, g.message) for g in gaps(workspace.model, workspace.catalog) if g.kind == "missing security"]
    message = "link scada-ied crosses a zone boundary; uses TEST-PROTO, which is secured by TEST-SEC; and names no security standard"
    assert found == [("missing security", message)]
    [need] = [s for s in suggest(workspace.model, workspace.catalog) if s.need.need == "security"]
    assert need.candidates[0].standard == "TEST-SEC"
    assert "the catalog lists it as securing a protocol this link uses" in need.candidates[0].reasons
    assert len(need.candidates) > 1  # crossing a boundary: any security standard placed there may do

    edit(usecase, "protocols: [TEST-PROTO]", "protocols: [TEST-PROTO, TEST-SEC]")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    assert not [g for g in gaps(workspace.model, workspace.catalog) if g.kind == "missing security"]


def test_a_protocol_without_its_companion_needs_exactly_the_companion(usecase: Path, catalog_dir: Path) -> None:
    # Both ends in the same zone: no boundary is crossed, only the companion rule applies.
    edit(usecase, "cells: [{domain: Distribution, zone: Field}]", "cells: [{domain: Distribution, zone: Operation}]")
    edit(usecase, "protocols: [IEC 61850-8-1 MMS, TCP/IP]", "protocols: [TEST-PROTO]")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    [need] = [s for s in suggest(workspace.model, workspace.catalog) if s.need.need == "security"]
    assert need.need.why == "uses TEST-PROTO, which is secured by TEST-SEC; and names no security standard"
    assert [c.standard for c in need.candidates] == ["TEST-SEC"]


def test_drafts_in_use_and_cells_without_any_standard_are_gaps(usecase: Path, catalog_dir: Path) -> None:
    edit(usecase, "data_models: [IEC 61850-7-4 MMXU]", "data_models: [TEST-IM-DRAFT MMXU]")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    found = {(g.kind, g.message) for g in gaps(workspace.model, workspace.catalog)}
    assert ("status", "TEST-IM-DRAFT is draft") in found

    edit(usecase, "data_models: [TEST-IM-DRAFT MMXU]", "data_models: []")
    edit(usecase, "protocols: [IEC 61850-8-1 MMS, TCP/IP]", "protocols: []")
    workspace = load(usecase, catalog_dir)
    assert workspace.model is not None
    kinds = [g.kind for g in gaps(workspace.model, workspace.catalog)]
    assert kinds.count("cell") == 2 and "missing protocol" in kinds


def test_gaps_exit_zero_unless_asked_to_fail_and_speak_json(usecase: Path, sgam) -> None:
    result = sgam("standards", "gaps", usecase, "--json")
    assert result.status == 0
    report = json.loads(result.out)
    assert report["repository"]["missing security"] >= 1
    assert {g["usecase"] for g in report["usecases"]["uc-demo"]} == {"uc-demo"}
    assert sgam("standards", "gaps", usecase, "--fail-on-gaps").status == 3


def test_the_seed_case_links_openadr_and_iec_61850_8_2_over_xmpp_with_tls_and_sasl(sgam) -> None:
    workspace = load_workspace([EXAMPLES])
    assert workspace.model is not None
    model = workspace.model
    upward = set(model.standards("ems-demand-response/link/link-vtn-ems"))
    assert {"IEC 62746-10-1", "IETF RFC 6120", "IETF RFC 4422"} <= upward
    assert "IEC 61850-8-2" in model.standards("ems-demand-response/link/link-ems-battery")
    assert not [g for g in gaps(model, workspace.catalog) if g.usecase == "ems-demand-response"]
    result = sgam("standards", "suggest", "--json")
    assert result.status == 0 and json.loads(result.out)


def test_an_organisation_crossing_link_without_security_is_flagged_with_companions(tmp_path: Path) -> None:
    """The seed case with TLS and SASL taken off the aggregator's link."""
    folder = tmp_path / "usecases"
    folder.mkdir()
    for path in EXAMPLES.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    seed = folder / "ems-demand-response.yaml"
    text = seed.read_text(encoding="utf-8")
    assert "protocols: [OpenADR 2.0b, XMPP, SASL, TLS 1.2+, TCP/IP]" in text
    seed.write_text(text.replace("protocols: [OpenADR 2.0b, XMPP, SASL, TLS 1.2+, TCP/IP]",
                                 "protocols: [OpenADR 2.0b, XMPP, TCP/IP]"), encoding="utf-8")
    workspace = load_workspace([folder])
    assert workspace.model is not None
    found = [g.message for g in gaps(workspace.model, workspace.catalog) if g.usecase == "ems-demand-response"]
    [message] = [m for m in found if m.startswith("link link-vtn-ems")]
    assert message.startswith("link link-vtn-ems crosses the organisation boundary aggregator.example | "
                              "customer.example and a zone boundary; uses IEC 62746-10-1, which is secured by ")
    [need] = [s for s in suggest(workspace.model, workspace.catalog)
              if s.need.usecase == "ems-demand-response" and s.need.need == "security"]
    best = need.candidates[0]
    assert best.standard in need.need.companions and "securing a protocol this link uses" in " ".join(best.reasons)


def test_every_example_names_only_catalog_standards_that_fit(sgam) -> None:
    result = sgam("validate", "--strict")
    assert result.status == 0, result.out


@pytest.mark.parametrize("field, text", [
    ("link", "protocols: [IEC 61850-8-1 MMS, TCP/IP]"),
    ("information", "data_models: [IEC 61850-7-4 MMXU]"),
])
def test_mentions_are_checked_in_every_place_a_use_case_names_standards(
    usecase: Path, sgam, field: str, text: str
) -> None:
    edit(usecase, text, text.replace("IEC 61850", "IEC 6185O"))
    assert "error[unknown-standard]" in sgam("validate", usecase).out


def test_steps_may_name_standards_too(usecase: Path, sgam) -> None:
    edit(usecase, "        function: monitoring\n      - number: 2",
         textwrap.indent("function: monitoring\nstandards: [IEC 61850-7-2 GetDataValues, ACME-1]\n", " " * 8)
         + "      - number: 2")
    result = sgam("validate", usecase)
    assert result.status == 2 and "'ACME-1' names no standard" in result.out


def test_a_step_is_checked_where_its_producer_and_receiver_sit(usecase: Path, catalog_dir: Path, sgam) -> None:
    edit(usecase, "        function: monitoring\n      - number: 2",
         textwrap.indent("function: monitoring\nstandards: [TEST-IM-FIELD request]\n", " " * 8) + "      - number: 2")
    result = sgam("validate", usecase, "--catalog", catalog_dir)
    assert result.status == 0
    assert "warning[standard-position]: TEST-IM-FIELD is not positioned at Distribution/Operation for a step" in result.out
