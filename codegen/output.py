"""Writing a generated platform: every file atomically, hooks the user changed kept, a manifest of it all.

Generated files depend only on the plan, so the same use case gives the same bytes. The manifest
records the hash of each hooks file as generated; a hooks file whose content no longer matches
that hash was edited by its user and is kept (and reported), never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from codegen import adapters, config, tables
from codegen.plan import Plan, module_name
from sgam.files import write_all, write_atomic

MANIFEST = "manifest.json"


@dataclass
class Written:
    folder: Path
    files: list[str] = field(default_factory=list)
    kept_hooks: list[str] = field(default_factory=list)  # changed by their user: not overwritten
    removed: list[str] = field(default_factory=list)  # an earlier generation's files this one no longer makes
    left: list[str] = field(default_factory=list)  # such files changed by hand since: kept, no longer used
    replaced: list[str] = field(default_factory=list)  # generated files changed by hand since: written anew


class Recorded(BaseModel):
    """What the manifest of an earlier generation says it wrote: path -> hash (the rest is for readers)."""

    files: dict[str, str] = {}
    hooks: dict[str, str] = {}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render(plan: Plan) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(generated files, hooks files) by path relative to the use case's folder."""
    files: dict[str, bytes] = {"tables/conversion.json": tables.table_json(plan).encode()}
    for actor in plan.bridges():
        rows = tables.bridge_rows(plan, actor)
        files[f"tables/{actor}.csv"] = tables.table_csv(rows).encode()
        files[f"tables/{actor}.xlsx"] = tables.table_xlsx(rows, f"{plan.usecase}: {actor}")
    hooks = {}
    files[f"adapters/{adapters.PACKAGE}"] = adapters.package_init(plan).encode()
    for actor in plan.actors:
        module = module_name(actor)
        files[f"adapters/{module}.py"] = adapters.adapter_module(plan, actor).encode()
        hooks[f"adapters/hooks_{module}.py"] = adapters.hooks_module(plan, actor).encode()
    for domain in plan.domains:
        files[f"prosody/{domain}.cfg.lua"] = config.deployed_prosody(plan, domain).encode()
    files["secrets/.gitignore"] = b"# generated passwords: never commit them\n*\n"
    return files, hooks


def manifest(plan: Plan, files: dict[str, bytes], hooks: dict[str, bytes]) -> str:
    data = {
        "format": "sgam-platform/1",
        "usecase": plan.usecase,
        "source": plan.file,
        "domains": plan.domains,
        "actors": {
            a.id: {"jid": a.jid, "resource": "sgam", "roles": list(a.roles),
                   "adapter": f"adapters/{module_name(a.id)}.py",
                   "hooks": f"adapters/hooks_{module_name(a.id)}.py",
                   "allow": {b: plan.allowed(a.id, b) for b in ("openadr", "iec61850") if plan.allowed(a.id, b)}}
            for a in plan.actors.values()
        },
        "links": [{"link": c.link, "binding": c.binding, "serving": c.serving, "calling": c.calling}
                  for c in plan.connections],
        "accounts": {"file": str(config.SECRETS), "mode": "0600",
                     "note": "generated passwords, one per JID; kept out of version control (secrets/.gitignore)"},
        "prosody": [f"prosody/{d}.cfg.lua" for d in plan.domains],
        "tables": sorted(p for p in files if p.startswith("tables/")),
        "steps": {scenario: [{"step": p.number, "producer": p.producer, "receiver": p.receiver, "binding": p.binding,
                              "messages": list(p.messages), "executable": p.executable, "reason": p.reason}
                             for p in plays]
                  for scenario, plays in plan.scenarios.items()},
        "files": {path: _sha(data) for path, data in sorted(files.items())},
        "hooks": {path: _sha(data) for path, data in sorted(hooks.items())},
    }
    return json.dumps(data, indent=2) + "\n"


def write(plan: Plan, out: Path) -> Written:
    """Write the plan's platform under out/<use case>; hooks the user changed stay as they are.

    Everything is read and decided before the first file is written, so a damaged manifest or
    secrets file stops the run with the folder as it was. Files an earlier generation wrote and
    this one no longer makes (an actor that left the platform) are removed, unless changed since.
    """
    folder = out / plan.usecase
    files, hooks = render(plan)
    old = folder / MANIFEST
    recorded = config.read_json(old, Recorded, "remove it: the next run writes it anew and keeps every hooks "
                                "file that differs from the generated one") if old.is_file() else Recorded()
    passwords = config.accounts(plan, config.read_accounts(folder))
    written = Written(folder)
    fresh = dict(files)
    written.replaced = [path for path, data in files.items() if _changed(folder, path, recorded.files, data)]
    for path, data in hooks.items():
        if _changed(folder, path, recorded.hooks, data):
            written.kept_hooks.append(path)
        else:
            fresh[path] = data
    for path, sha in sorted({**recorded.files, **recorded.hooks}.items()):
        target = folder / path
        if path in files or path in hooks or not _inside(path) or not target.is_file():
            continue
        (written.removed if _sha(target.read_bytes()) == sha else written.left).append(path)
    write_all((folder / path, data) for path, data in fresh.items())
    written.files.extend(fresh)
    config.write_accounts(folder, passwords)
    for path in written.removed:
        (folder / path).unlink()
    write_atomic(old, manifest(plan, files, hooks))
    written.files.append(MANIFEST)
    return written


def _changed(folder: Path, path: str, recorded: dict[str, str], generated: bytes) -> bool:
    """Whether the file at `path` was changed by its user: neither as last generated nor as now."""
    target = folder / path
    return target.is_file() and _sha(target.read_bytes()) not in (recorded.get(path), _sha(generated))


def _inside(path: str) -> bool:
    """A recorded path names a file in the folder (a hand-edited manifest must not reach outside it)."""
    return not Path(path).is_absolute() and ".." not in Path(path).parts
