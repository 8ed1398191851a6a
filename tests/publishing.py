"""The publication of a folder of use cases, as the publish commands build it."""

from __future__ import annotations

from pathlib import Path

from sgam.publish.view import Publication
from sgam.workspace import load_workspace


def publication(folder: Path) -> Publication:
    workspace = load_workspace([folder])
    assert workspace.model is not None, [d.format() for d in workspace.diagnostics]
    return Publication.of(workspace, workspace.model)
