"""What every generator reads: the validated use cases, their SGAM graph, and lookups between the two."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sgam.graph import Exchange, SgamModel
from sgam.loader import Repository
from sgam.models import Link, UseCase
from sgam.resolve import Scope, library_index


@dataclass
class Publication:
    repo: Repository
    model: SgamModel
    scopes: dict[str, Scope]

    @classmethod
    def of(cls, repo: Repository) -> Publication:
        """The publication of a repository whose references are checked."""
        library, _ = library_index(repo)
        scopes = {d.model.id: Scope.of(d, library)[0] for d in repo.usecases}
        return cls(repo, SgamModel.build(repo), scopes)

    @property
    def usecases(self) -> list[UseCase]:
        return [d.model for d in self.repo.usecases]

    def usecase(self, usecase_id: str) -> UseCase:
        return next(u for u in self.usecases if u.id == usecase_id)

    def data(self, node: str) -> dict[str, Any]:
        return self.model.graph.nodes[node]  # type: ignore[no-any-return]

    def element(self, usecase: str, id_: str) -> Any:
        """The declared model (actor, component, link ...) an id of a use case stands for."""
        found = self.scopes[usecase].get(id_)
        return None if found is None else found.model

    def links(self, exchange: Exchange) -> list[Link]:
        """The links of the exchange's use case that carry it (producer's component to receiver's)."""
        scope = self.scopes[exchange.usecase]
        return [self.element(exchange.usecase, link) for link in scope.links_between(exchange.producer, exchange.receiver)]

    def standards(self, exchange: Exchange) -> list[str]:
        """The standards an exchange uses: the protocol stacks of the links that carry it."""
        found: dict[str, None] = {}
        for link in self.links(exchange):
            found.update(dict.fromkeys(link.protocols))
        return list(found)

    def exchanges(self, usecase: str | None = None) -> list[Exchange]:
        return [e for e in self.model.exchanges if usecase is None or e.usecase == usecase]
