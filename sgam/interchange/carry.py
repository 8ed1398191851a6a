"""What neither IEC 62559-2 workbooks nor IEC 62559-3 XML can hold, carried as sgam data.

Both writers put these fields, as JSON under the key `sgam:extra`, where `sgam import` finds them
again (XML: CustomInformation; Excel: the `sgam data` sheet); each writer adds what its own
format lacks besides.
"""

from __future__ import annotations

from typing import Any

from sgam.checks import usecase_refs
from sgam.models import Actor, UseCase


def actor_refs(usecase: UseCase) -> set[str]:
    """Every id the use case names where an actor may stand: steps, conditions, role players, realisers, hosted actors."""
    found: set[str] = set()
    for _where, value, _role, kinds in usecase_refs(usecase):
        if "actor" in kinds and value:
            found.update([value] if isinstance(value, str) else value)
    return found


def shared_actors(usecase: UseCase, library: dict[str, Actor]) -> list[Actor]:
    """The library actors the use case names without declaring them: written out with it."""
    local = {a.id for a in usecase.actors}
    return [library[i] for i in sorted(actor_refs(usecase) - local) if i in library]


def is_ambiguous_list(items: list[str]) -> bool:
    """Entries that a reader splitting 'A, B' text would cut apart."""
    return any("," in i or ";" in i or "\n" in i or " / " in i for i in items)


def common_extra(usecase: UseCase, shared: list[Actor]) -> dict[str, Any]:
    c = usecase.classification
    actors = list(usecase.actors) + shared
    found: dict[str, Any] = {
        "domains": usecase.domains,
        "conditions": [x.model_dump(mode="json", exclude_defaults=True) for x in usecase.conditions],
        "relations": [r.model_dump(mode="json") for r in c.relations],
        "cluster": c.cluster.value if c.cluster else None,
        "keywords": c.keywords if is_ambiguous_list(c.keywords) else None,
        "organisations": {a.id: a.organisation for a in actors if a.organisation},
        "library_actors": [a.id for a in shared],
        "functions": {f"{s.id}/{step.number}": step.function for s in usecase.scenarios for step in s.steps
                      if step.function},
        "data_models": {i.id: i.data_models for i in usecase.information if i.data_models},
        "exchanges": {i.id: i.exchange.value for i in usecase.information if i.exchange},
        "items": {i.id: [item.model_dump(mode="json", exclude_defaults=True) for item in i.items]
                  for i in usecase.information if i.items},
        "step_standards": {f"{s.id}/{step.number}": step.standards for s in usecase.scenarios for step in s.steps
                           if step.standards},
    }
    return {key: value for key, value in found.items() if value}
