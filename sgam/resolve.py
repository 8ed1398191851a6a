"""Name resolution: which declared element an id in a use case stands for.

Ids are local to a file and share one namespace there; ids that a file does not declare are
looked up in the repository's shared libraries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sgam.loader import Document, Repository
from sgam.models import Library, UseCase
from sgam.source import PathPart


@dataclass(frozen=True)
class Element:
    """One element with an id, where it is declared and what it is."""

    kind: str  # actor, component, function, information, requirement, ...
    id: str
    model: Any
    path: tuple[PathPart, ...]
    document: Document[Any]

    @property
    def owner(self) -> str:
        """The use case that declares the element, or 'library:NAME'."""
        model = self.document.model
        return f"library:{model.library}" if isinstance(model, Library) else model.id


def elements(document: Document[UseCase] | Document[Library]) -> Iterator[Element]:
    """Every element that carries an id, in file order."""
    model = document.model

    def each(kind: str, items: list[Any], *path: PathPart, key: str = "id") -> Iterator[Element]:
        for index, item in enumerate(items):
            yield Element(kind, getattr(item, key), item, (*path, index), document)

    if isinstance(model, Library):
        yield from each("actor", model.actors, "actors")
        yield from each("component", model.components, "components")
        return
    yield from each("kpi", model.kpis, "kpis")
    yield from each("actor", model.actors, "actors")
    yield from each("reference", model.references, "references")
    yield from each("scenario", model.scenarios, "scenarios")
    yield from each("information", model.information, "information")
    for index, category in enumerate(model.requirements):
        yield Element("requirement category", category.category, category, ("requirements", index), document)
        yield from each("requirement", category.items, "requirements", index, "items")
    placement = model.sgam
    yield from each("role", placement.roles, "sgam", "roles")
    yield from each("goal", placement.goals, "sgam", "goals")
    yield from each("function", placement.functions, "sgam", "functions")
    yield from each("component", placement.components, "sgam", "components")
    yield from each("link", placement.links, "sgam", "links")


Clash = tuple[Element, Element]  # a second declaration of an id, and the first one


def index(declared: Iterable[Element]) -> tuple[dict[str, Element], list[Clash]]:
    """Elements by id (the first declaration wins), and the later declarations that clash."""
    found: dict[str, Element] = {}
    clashes: list[Clash] = []
    for element in declared:
        if element.id in found:
            clashes.append((element, found[element.id]))
        else:
            found[element.id] = element
    return found, clashes


def library_index(repo: Repository) -> tuple[dict[str, Element], list[Clash]]:
    """The ids all use cases share: those of every library file."""
    return index(element for document in repo.libraries for element in elements(document))


@dataclass
class Scope:
    """The ids visible in one file: its own first, then the libraries'."""

    local: dict[str, Element]
    library: dict[str, Element]

    @classmethod
    def of(cls, document: Document[UseCase], library: dict[str, Element]) -> tuple[Scope, list[Clash]]:
        local, clashes = index(elements(document))
        return cls(local, library), clashes

    @cached_property
    def hosts(self) -> dict[str, list[str]]:
        """Actor id -> ids of the components that host it (this file's and the libraries')."""
        hosted: dict[str, list[str]] = {}
        for element in (*self.library.values(), *self.local.values()):
            if element.kind == "component":
                for actor in element.model.hosts:
                    hosted.setdefault(actor, []).append(element.id)
        return hosted

    @cached_property
    def _links(self) -> list[tuple[str, set[str]]]:
        return [(e.id, set(e.model.between)) for e in self.local.values() if e.kind == "link"]

    def links_between(self, producer: str, receiver: str) -> list[str]:
        """Ids of this file's links that join a component of one actor to a component of the other."""
        ends = set(self.hosts.get(producer, ())), set(self.hosts.get(receiver, ()))
        return [link for link, between in self._links if between & ends[0] and between & ends[1]]

    def get(self, id_: str) -> Element | None:
        return self.local.get(id_) or self.library.get(id_)

    def candidates(self, kinds: tuple[str, ...]) -> list[str]:
        """Ids of the given kinds, for 'did you mean' hints."""
        return [e.id for e in (*self.local.values(), *self.library.values()) if e.kind in kinds]
