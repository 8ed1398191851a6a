"""The file format: SGAM names and their aliases, step numbers, and the generated schema."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sgam.enums import Domain, Zone
from sgam.models import Cell, Step
from sgam.schema import json_schema


@pytest.mark.parametrize(
    ("domain", "zone", "expected"),
    [
        ("DER", "Operation", (Domain.der, Zone.operation)),
        ("Distributed Energy Resources", "operations", (Domain.der, Zone.operation)),
        ("customer premises", "Field", (Domain.customer_premises, Zone.field)),
        ("Customer-Premises", "process", (Domain.customer_premises, Zone.process)),
        ("Bulk Generation", "Markets", (Domain.generation, Zone.market)),
    ],
)
def test_cells_accept_sgam_names_and_common_aliases(domain: str, zone: str, expected: tuple[Domain, Zone]) -> None:
    cell = Cell.model_validate({"domain": domain, "zone": zone})
    assert (cell.domain, cell.zone) == expected


def test_an_unknown_domain_lists_the_legal_names() -> None:
    with pytest.raises(ValidationError, match="unknown SGAM domain 'Hungary'; legal domains: Generation, "
                                              "Transmission, Distribution, DER, Customer Premises"):
        Cell.model_validate({"domain": "Hungary", "zone": "Field"})


@pytest.mark.parametrize("number", [1, "2", "2.1", "3a", "10.2.1"])
def test_step_numbers_are_whole_or_dotted(number: int | str) -> None:
    step = Step.model_validate({"number": number, "activity": "a", "service": "GET"})
    assert step.number == str(number)


@pytest.mark.parametrize("number", [1.5, "two", "", "1..2", True])
def test_other_step_numbers_are_refused(number: object) -> None:
    with pytest.raises(ValidationError):
        Step.model_validate({"number": number, "activity": "a", "service": "GET"})


def test_the_schema_offers_editors_every_accepted_spelling() -> None:
    cell = json_schema("usecase")["$defs"]["Cell"]["properties"]
    assert {"DER", "Distributed Energy Resources", "Customer Premises"} <= set(cell["domain"]["enum"])
    assert {"Operation", "Operations", "Market"} <= set(cell["zone"]["enum"])
