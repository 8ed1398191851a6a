"""Cross-checks over a loaded repository: ids, references, step order, SGAM consistency.

Each check returns located diagnostics; none stops at the first problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sgam.diagnostics import Diagnostic, did_you_mean
from sgam.enums import Severity
from sgam.loader import Document, Repository
from sgam.models import Library, UseCase
from sgam.resolve import Clash, Element, Scope, library_index
from sgam.source import PathPart

ERROR, WARNING = Severity.error, Severity.warning

# Every reference in a file: (where it is, the id or ids it holds, what it is, kinds it may name).
Ref = tuple[tuple[PathPart, ...], str | list[str] | None, str, tuple[str, ...]]


def check(repo: Repository) -> list[Diagnostic]:
    """All cross-file and in-file checks; the loader's own diagnostics are not repeated."""
    library, clashes = library_index(repo)
    found = [
        again.document.diagnostic(
            ERROR, "duplicate-id",
            f"library id {again.id!r} is already used by the {first.kind} in {first.document.source.name}",
            (*again.path, "id"), "library ids are shared by all use cases; rename one of them",
        )
        for again, first in clashes
    ]
    seen_usecases: dict[str, Document[UseCase]] = {}
    for document in repo.usecases:
        uc_id = document.model.id
        if uc_id in seen_usecases:
            first_file = seen_usecases[uc_id].source.name
            found.append(document.diagnostic(ERROR, "duplicate-id", f"use case id {uc_id!r} is also used by "
                                             f"{first_file}", ("id",), "give each use case its own id"))
        seen_usecases.setdefault(uc_id, document)
        found.extend(check_usecase(document, library))
    for shared in repo.libraries:
        found.extend(_resolve_all(shared, Scope({}, library), list(_library_refs(shared.model))))
    return found


def check_usecase(document: Document[UseCase], library: dict[str, Element]) -> list[Diagnostic]:
    scope, clashes = Scope.of(document, library)
    refs = list(usecase_refs(document.model))
    found = list(_clashes(document, scope, clashes))
    found.extend(_resolve_all(document, scope, refs))
    found.extend(_step_order(document))
    found.extend(_exchange_links(document, scope))
    found.extend(_unused(document, scope, refs))
    return found


def _clashes(document: Document[UseCase], scope: Scope, clashes: list[Clash]) -> Iterator[Diagnostic]:
    for again, first in clashes:
        line, _ = document.source.locate(first.path)
        yield document.diagnostic(
            ERROR, "duplicate-id", f"id {again.id!r} is already used by the {first.kind} at line {line}",
            (*again.path, _id_key(again)), "ids are unique within a file; rename one of them",
        )
    for element in scope.local.values():
        if element.id in scope.library:
            yield document.diagnostic(
                WARNING, "shadows-library",
                f"{element.kind} {element.id!r} hides the library {scope.library[element.id].kind} of the same id",
                (*element.path, "id"), "use the library's element by id alone, or rename this one",
            )


def _id_key(element: Element) -> str:
    return "category" if element.kind == "requirement category" else "id"


# --- references ------------------------------------------------------------------------------


def usecase_refs(model: UseCase) -> Iterator[Ref]:
    """Every reference a use case makes: (where, the id or ids, what it names, the kinds it may name)."""
    actor, component = ("actor",), ("component",)
    for i, condition in enumerate(model.conditions):
        yield ("conditions", i, "actor"), condition.actor, "condition actor", actor
    for i, scenario in enumerate(model.scenarios):
        yield ("scenarios", i, "primary_actor"), scenario.primary_actor, "primary actor", actor
        for j, step in enumerate(scenario.steps):
            at = ("scenarios", i, "steps", j)
            yield (*at, "producer"), step.producer, "producer", actor
            yield (*at, "receiver"), step.receiver, "receiver", actor
            yield (*at, "information"), step.information, "information", ("information",)
            yield (*at, "requirements"), step.requirements, "requirement", ("requirement",)
            yield (*at, "function"), step.function, "function", ("function",)
    for i, info in enumerate(model.information):
        yield ("information", i, "requirements"), info.requirements, "requirement", ("requirement",)
    placement = model.sgam
    for i, role in enumerate(placement.roles):
        yield ("sgam", "roles", i, "played_by"), role.played_by, "role player", actor
    for i, goal in enumerate(placement.goals):
        yield ("sgam", "goals", i, "roles"), goal.roles, "role", ("role",)
    for i, function in enumerate(placement.functions):
        yield ("sgam", "functions", i, "realised_by"), function.realised_by, "realiser", ("actor", "component")
    for i, element in enumerate(placement.components):
        yield ("sgam", "components", i, "hosts"), element.hosts, "hosted actor", actor
    for i, link in enumerate(placement.links):
        yield ("sgam", "links", i, "between"), link.between, "link end", component


def _library_refs(model: Library) -> Iterator[Ref]:
    for i, element in enumerate(model.components):
        yield ("components", i, "hosts"), element.hosts, "hosted actor", ("actor",)


def _resolve_all(document: Document[Any], scope: Scope, refs: list[Ref]) -> Iterator[Diagnostic]:
    for path, value, role, kinds in refs:
        if value is None:
            continue
        ids = [(path, value)] if isinstance(value, str) else [((*path, k), v) for k, v in enumerate(value)]
        for where, id_ in ids:
            target = scope.get(id_)
            if target is not None and target.kind in kinds:
                continue
            wanted = " or ".join(kinds)
            if target is not None:
                message = f"{role} {id_!r} is {_a(target.kind)}, not {_a(wanted)}"
            else:
                message = f"{role} {id_!r} is not a declared {wanted}"
            hint = did_you_mean(id_, scope.candidates(kinds)) + f"declare the {wanted} or fix the id"
            yield document.diagnostic(ERROR, "unknown-ref", message, where, hint)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


# --- steps -----------------------------------------------------------------------------------


def _step_key(number: str) -> tuple[tuple[int, str], ...]:
    """'2.1a' -> ((2, ''), (1, 'a')): numeric parts compare as numbers."""
    parts = []
    for piece in number.split("."):
        digits = piece.rstrip("abcdefghijklmnopqrstuvwxyz")
        parts.append((int(digits), piece[len(digits):]))
    return tuple(parts)


def _step_order(document: Document[UseCase]) -> Iterator[Diagnostic]:
    for i, scenario in enumerate(document.model.scenarios):
        previous: str | None = None
        seen: set[str] = set()
        for j, step in enumerate(scenario.steps):
            at = ("scenarios", i, "steps", j)
            if step.number in seen:
                yield document.diagnostic(ERROR, "step-number", f"step number {step.number!r} repeats in scenario "
                                          f"{scenario.id!r}", (*at, "number"), "number each step of a scenario once")
            elif previous is not None and _step_key(step.number) < _step_key(previous):
                yield document.diagnostic(ERROR, "step-order", f"step {step.number!r} comes after step {previous!r}",
                                          (*at, "number"), "keep the steps in the order of their numbers")
            seen.add(step.number)
            previous = step.number
            if step.information:
                for end, verb in (("producer", "produces"), ("receiver", "receives")):
                    if getattr(step, end) is None:
                        yield document.diagnostic(
                            ERROR, "missing-end", f"step {step.number!r} exchanges information but names no {end}",
                            at, f"add '{end}:' with the id of the actor that {verb} it",
                        )


def _is_actor(scope: Scope, id_: str) -> bool:
    element = scope.get(id_)
    return element is not None and element.kind == "actor"


def _exchange_links(document: Document[UseCase], scope: Scope) -> Iterator[Diagnostic]:
    """Warn where information moves between components that no communication link joins."""
    hosted = scope.hosts
    reported: set[Any] = set()
    for i, scenario in enumerate(document.model.scenarios):
        for j, step in enumerate(scenario.steps):
            producer, receiver = step.producer, step.receiver
            if not step.information or producer is None or receiver is None or producer == receiver:
                continue
            if not all(_is_actor(scope, actor) for actor in (producer, receiver)):
                continue  # a dangling or wrong-kind reference, reported already
            at = ("scenarios", i, "steps", j)
            for actor, end in ((producer, "producer"), (receiver, "receiver")):
                if actor not in hosted and actor not in reported:
                    reported.add(actor)
                    yield document.diagnostic(
                        WARNING, "unplaced-actor", f"{end} {actor!r} exchanges information but no component hosts it",
                        (*at, end), f"list {actor!r} under 'hosts:' of the component it runs on",
                    )
            ends = (set(hosted.get(producer, ())), set(hosted.get(receiver, ())))
            if not all(ends) or ends[0] & ends[1] or frozenset((producer, receiver)) in reported:
                continue
            if not scope.links_between(producer, receiver):
                reported.add(frozenset((producer, receiver)))
                yield document.diagnostic(
                    WARNING, "no-link",
                    f"step {step.number!r}: no communication link joins {producer!r} ({', '.join(sorted(ends[0]))}) "
                    f"and {receiver!r} ({', '.join(sorted(ends[1]))})",
                    at, f"add a link under sgam.links with between: [{min(ends[0])}, {min(ends[1])}]",
                )


# --- unused declarations ---------------------------------------------------------------------


def _unused(document: Document[UseCase], scope: Scope, refs: list[Ref]) -> Iterator[Diagnostic]:
    referenced: set[str] = set()
    for _, value, _, _ in refs:
        if isinstance(value, str):
            referenced.add(value)
        elif value:
            referenced.update(value)
    in_steps = {info for scenario in document.model.scenarios for step in scenario.steps for info in step.information}
    for element in scope.local.values():
        if element.kind == "actor" and element.id not in referenced:
            yield document.diagnostic(WARNING, "unused", f"actor {element.id!r} takes part in nothing",
                                      (*element.path, "id"), "use it in a step, condition or role, or remove it")
        elif element.kind == "information" and element.id not in in_steps:
            yield document.diagnostic(WARNING, "unused", f"information {element.id!r} is exchanged in no step",
                                      (*element.path, "id"), "list it under 'information:' of a step, or remove it")
