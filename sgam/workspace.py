"""Everything one run works from: the use cases, the catalog, their links, the SGAM graph, and the problems.

Each stage takes the previous stage's objects (files -> models -> checks -> catalog links -> graph),
so a command loads once and every output reads the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sgam.catalog import Catalog, load_catalog
from sgam.checks import check
from sgam.diagnostics import Diagnostic, has_errors
from sgam.graph import SgamModel
from sgam.linking import StandardLinks, misfits, resolve_standards
from sgam.loader import Repository, load_repository


@dataclass
class Workspace:
    repo: Repository
    catalog: Catalog
    links: StandardLinks
    diagnostics: list[Diagnostic]
    model: SgamModel | None  # None while errors stop the graph from being built


def load_workspace(
    paths: Iterable[Path], catalog_dirs: Sequence[Path] = (), progress: Callable[[int, int], None] | None = None
) -> Workspace:
    repo = load_repository(paths, progress)
    catalog, catalog_problems = load_catalog(catalog_dirs)
    links, link_problems = resolve_standards(repo, catalog)
    diagnostics = repo.diagnostics + catalog_problems + check(repo) + link_problems
    if has_errors(diagnostics):
        return Workspace(repo, catalog, links, diagnostics, None)
    model = SgamModel.build(repo, links)
    return Workspace(repo, catalog, links, diagnostics + misfits(model, links), model)
