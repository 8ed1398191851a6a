"""What every generator reads: the validated use cases, their SGAM graph, the standards catalog, and
the analyses over them (gaps, suggestions), computed once before the generators run (side by side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sgam.catalog import Catalog
from sgam.graph import Exchange, SgamModel
from sgam.loader import Repository
from sgam.models import UseCase
from sgam.resolve import Scope, library_index
from sgam.standards import Gap, Suggestion, gaps, suggest
from sgam.workspace import Workspace


@dataclass
class Publication:
    repo: Repository
    model: SgamModel
    catalog: Catalog
    scopes: dict[str, Scope]
    gaps: list[Gap]
    suggestions: list[Suggestion]

    @classmethod
    def of(cls, workspace: Workspace, model: SgamModel) -> Publication:
        """The publication of a workspace without errors, whose SGAM graph is `model`."""
        library, _ = library_index(workspace.repo)
        scopes = {d.model.id: Scope.of(d, library)[0] for d in workspace.repo.usecases}
        catalog = workspace.catalog
        return cls(workspace.repo, model, catalog, scopes, gaps(model, catalog), suggest(model, catalog))

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

    def exchanges(self, usecase: str | None = None) -> list[Exchange]:
        return [e for e in self.model.exchanges if usecase is None or e.usecase == usecase]
