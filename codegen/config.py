"""Platform configuration: JIDs, accounts, allow-lists, per-adapter settings and Prosody configuration.

* A JID per actor in its organisation's domain: ``<actor>@<organisation>``, resource ``sgam``.
* Accounts with generated secrets go to ``secrets/accounts.json`` (mode 0600, with a .gitignore
  beside it): they are never written into a generated file that belongs in version control, and
  an existing secrets file is reused so regeneration keeps the passwords.
* Allow-lists come from the links: an adapter accepts a binding's stanzas only from the actors a
  link joins it to on that binding.
* One Prosody configuration per domain (one server per organisation, federated): TLS with the
  domain's certificate, c2s and s2s encryption required, in-band registration off, s2s
  authenticated by certificates of the platform's own CA (s2s_secure_auth with that CA as the only
  trust anchor), so only servers the platform certified can federate; the other organisations'
  domains are named as secure domains. `sgam run` renders the same settings for its local servers.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from codegen.plan import Plan
from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity
from sgam.files import write_atomic
from sgam.platform.iec61850.datamodel import SHIPPED, shipped_model

SECRETS = Path("secrets") / "accounts.json"
PLATFORM_CA = "/etc/prosody/certs/sgam-platform-ca.crt"  # the CA that signs every organisation's server


def model_for(plan: Plan, actor: str) -> str:
    """The shipped IEC 61850 model a server actor hosts.

    Rule: among the shipped models that hold every LN.DO the actor's rows use, the one whose name's
    last word (battery, pv) appears in the actor's id or name; else the smallest such model.
    """
    references = {".".join(r.iec61850.split(".")[:2]) for r in plan.rows if r.iec61850
                  for p in (pl for plays in plan.scenarios.values() for pl in plays)
                  if actor in (p.producer, p.receiver) and r.information in p.information}
    covering = []
    for path in sorted(SHIPPED.glob("*.json")):
        model = shipped_model(path.stem)
        held = {f"{ln.name}.{do.name}" for ld in model.logical_devices for ln in ld.logical_nodes
                for do in ln.data_objects}
        if references <= held:
            covering.append((len(held), path.stem))
    if not covering:
        raise ValueError(f"no shipped IEC 61850 model holds {', '.join(sorted(references))}")
    text = f"{actor} {plan.actors[actor].name}".lower()
    named = [name for _, name in covering if name.split("_")[-1] in text.replace("-", " ").split()]
    return named[0] if named else min(covering)[1]


def logical_device(model: str) -> str:
    loaded = shipped_model(model)
    return f"{loaded.ied}{loaded.logical_devices[0].inst}"


def adapter_config(plan: Plan, actor: str) -> dict[str, Any]:
    """What the generated adapter module of `actor` holds (see codegen.adapter.build)."""
    me = plan.actors[actor]
    config: dict[str, Any] = {
        "usecase": plan.usecase,
        "actor": actor,
        "jid": me.jid,
        "roles": list(me.roles),
        "table": "../tables/conversion.json",
        "peers": {role: [plan.actors[p].full_jid for p in plan.peers(actor, binding, role)]
                  for binding, role in (("openadr", "vtn"), ("openadr", "ven"))
                  if plan.peers(actor, binding, role)},
        "allow": {binding: plan.allowed(actor, binding) for binding in ("openadr", "iec61850")
                  if plan.allowed(actor, binding)},
    }
    if "client" in me.roles:
        servers = plan.peers(actor, "iec61850", "server")
        config["servers"] = {plan.actors[s].full_jid: logical_device(model_for(plan, s)) for s in servers}
        config["resources"] = servers
    if "server" in me.roles:
        config["model"] = model_for(plan, actor)
    return config


def accounts(plan: Plan, existing: dict[str, str]) -> dict[str, str]:
    """Bare JID -> password; passwords already generated for a JID are kept."""
    return {a.jid: existing.get(a.jid) or secrets.token_urlsafe(24) for a in plan.actors.values()}


class Accounts(BaseModel):
    """The secrets file: one generated password per bare JID."""

    model_config = ConfigDict(extra="forbid")
    accounts: dict[str, str]


def read_accounts(folder: Path) -> dict[str, str]:
    """The passwords of an earlier generation (none when there was none); a damaged file is bad input."""
    path = folder / SECRETS
    if not path.is_file():
        return {}
    return read_json(path, Accounts, "remove it to generate new passwords (then provision the servers again)").accounts


def write_accounts(folder: Path, passwords: dict[str, str]) -> None:
    write_atomic(folder / SECRETS, Accounts(accounts=passwords).model_dump_json(indent=2) + "\n", mode=0o600)


Model = TypeVar("Model", bound=BaseModel)


def read_json(path: Path, model: type[Model], hint: str) -> Model:
    """A file sgam wrote earlier, read back as `model`; unreadable or changed beyond use is a located BadInput."""
    def bad(message: str, line: int | None = None, column: int | None = None) -> BadInput:
        return BadInput(Diagnostic(Severity.error, "codegen-damaged", message, str(path), line, column, hint))

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise bad(f"cannot read it: {error}") from error
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            at = re.search(r"line (\d+) column (\d+)", first["msg"])
            raise bad(f"not JSON ({first['msg']})", *(map(int, at.groups()) if at else ())) from error
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise bad(f"not what sgam codegen writes: at {where}: {first['msg']}") from error


PROSODY = """\
-- Prosody configuration for {domain}, generated by sgam codegen from use case {usecase}.
-- One server per organisation; the organisations' servers federate over authenticated s2s.
{globals}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "limits"; "s2s" }}
allow_registration = false
authentication = "internal_hashed"
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true
-- The other organisations of the use case. Servers prove their domain with a certificate from the
-- platform's CA (the cafile below): a server that cannot is refused, whatever its domain.
s2s_secure_domains = {{ {peers} }}
network_settings = {{ nagle = false }}
{virtual_hosts}"""


def _lua_list(names: list[str]) -> str:
    return "; ".join(f'"{n}"' for n in names)


def prosody_config(plan: Plan, domains: list[str], *, globals_: str, certificates: dict[str, tuple[str, str]]) -> str:
    """Prosody settings for the given domains (one per server when federated, all for a local run)."""
    hosts = "".join(
        f'VirtualHost "{d}"\n    ssl = {{ certificate = "{certificates[d][0]}"; key = "{certificates[d][1]}" }}\n'
        for d in domains
    )
    others = [d for d in plan.domains if d not in domains]
    return PROSODY.format(domain=", ".join(domains), usecase=plan.usecase, globals=globals_,
                          peers=_lua_list(others), virtual_hosts=hosts)


def deployed_prosody(plan: Plan, domain: str) -> str:
    globals_ = ('pidfile = "/run/prosody/prosody.pid"\ndata_path = "/var/lib/prosody"\n'
                f'ssl = {{ cafile = "{PLATFORM_CA}" }}')
    return prosody_config(plan, [domain], globals_=globals_,
                          certificates={domain: (f"/etc/prosody/certs/{domain}.crt", f"/etc/prosody/certs/{domain}.key")})
