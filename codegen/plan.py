"""The platform plan: what the generator and `sgam run` build from one validated use case.

Stage one of parse -> plan -> generate. The plan is a plain object; every later stage reads it
and nothing else. The rules it applies:

* **On the platform.** An actor is on the platform when a component hosts it and one of that
  component's links names XMPP (IETF RFC 6120 in the catalog) and a binding: IEC 62746-10-1
  (OpenADR 2.0b) or IEC 61850-8-2. Its JID is ``<actor id>@<organisation>``, in lower case as
  XMPP servers spell it; the organisation must be a DNS name.
* **Roles** come from the steps that move information (the others are never played). On an
  OpenADR link the VTN is the end that produces a step carrying oadrDistributeEvent, or else the
  end that receives oadrCreatePartyRegistration / oadrQueryRegistration; the other end is the VEN. On an IEC 61850-8-2 link the server is the
  end that receives CHANGE, EXECUTE or CANCEL steps or produces REPORT steps; the other end is the
  client. A link where neither or both ends qualify is an error.
* **Messages of a step.** OpenADR: the oadr* payload names in its information's data models,
  narrowed to those the step's own text names when it names some. IEC 61850: the ACSI services
  that its information's rows need (a control operates, a setting is written, a measurement is
  reported, GET reads) plus the services its data models name (directory, BRCB/URCB, Operate,
  Report); sent by a server they are the answers. Only messages the producer's role sends on the
  binding (codegen.bindings) are kept.
* **Not executable.** A step is not played when it moves no information, has no receiver or
  stays inside one actor, names an actor that is not on the platform, runs on a link without
  XMPP or without a binding, goes to a VEN's second VTN (the runtime's VEN serves one VTN per
  endpoint: the first by id), or when its producer's role never sends its messages (the VTN's
  oadrResponse to an opt-in: on XMPP the VEN's oadrCreatedEvent is itself the IQ result of
  oadrDistributeEvent, and nothing answers it). Such steps
  are listed with the reason, never counted as passed.
* **Errors** (codegen and run stop, exit 2): a step between two hosted actors that no link joins;
  information on an IEC 61850 step with no IEC 61850 representation (no row, no ACSI service);
  information on an OpenADR step that names no OpenADR payload; a link whose roles cannot be told;
  an actor with both roles of one binding (the runtime serves one per endpoint); an organisation
  that is no DNS name; two actors that would share a JID or an adapter module; IEC 61850 data of
  a server that no shipped data model holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache

from codegen import bindings
from codegen.bindings import OPENADR, XMPP
from sgam.diagnostics import Diagnostic
from sgam.enums import Service, Severity
from sgam.linking import Mention, StandardLinks
from sgam.loader import Document
from sgam.models import Information, Step, UseCase
from sgam.platform.conversion import ConversionTable, load_table
from sgam.platform.iec61850.datamodel import SHIPPED, shipped_model
from sgam.resolve import Scope, library_index
from sgam.workspace import Workspace

ERROR, WARNING = Severity.error, Severity.warning
RESOURCE = "sgam"  # the XMPP resource every adapter binds
DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")  # RFC 1123 labels
CONTROL_SERVICES = {Service.CHANGE, Service.EXECUTE, Service.CANCEL}


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    domain: str
    roles: tuple[str, ...]  # e.g. ("ven", "client")
    model: str = ""  # the shipped IEC 61850 model a server hosts (sgam/platform/models/<model>.json)

    @property
    def jid(self) -> str:
        return f"{self.id.lower()}@{self.domain}"  # as the server spells it: localparts are case-folded too

    @property
    def full_jid(self) -> str:
        return f"{self.jid}/{RESOURCE}"


@dataclass(frozen=True)
class Connection:
    """A link the platform runs: which binding, and which actor plays which role."""

    link: str
    binding: str  # openadr | iec61850
    serving: str  # actor id of the VTN / server
    calling: str  # actor id of the VEN / client


@dataclass(frozen=True)
class Row:
    """One information item as the conversion table names it on each side."""

    information: str
    common: str
    kind: str
    unit: str
    openadr: str = ""  # SIGNAL_NAME/signalType or REPORT_NAME/itemName
    iec61850: str = ""  # LN.DO[.DA]
    fc: str = ""
    cdc: str = ""
    control_model: str = ""
    scale: float = 1.0
    origin: str = "default table"


@dataclass(frozen=True)
class Play:
    """One step as the platform plays and checks it."""

    scenario: str
    number: str
    activity: str
    service: str
    producer: str | None
    receiver: str | None
    information: tuple[str, ...]
    binding: str | None = None
    messages: tuple[str, ...] = ()  # any of these, producer -> receiver, passes the step
    rows: tuple[str, ...] = ()  # common names the step moves
    reason: str = ""  # why it is not executable; empty when it is

    @property
    def executable(self) -> bool:
        return not self.reason


@dataclass
class Plan:
    usecase: str
    name: str
    file: str
    actors: dict[str, Actor] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    scenarios: dict[str, list[Play]] = field(default_factory=dict)
    table: ConversionTable | None = None  # the default table merged with the use case's own rows

    @property
    def domains(self) -> list[str]:
        return sorted({actor.domain for actor in self.actors.values()})

    def allowed(self, actor: str, binding: str) -> list[str]:
        """Bare JIDs that may call `actor` on `binding`: its peers over the links (sec-allowlist).

        A VEN's is the one VTN it serves (the runtime's VEN serves one per endpoint: the first by id).
        """
        peers = {c.calling if c.serving == actor else c.serving for c in self.connections
                 if c.binding == binding and actor in (c.serving, c.calling)}
        if binding == "openadr" and "ven" in self.actors[actor].roles:
            peers = set(self.peers(actor, binding, "vtn")[:1])
        return sorted(self.actors[peer].jid for peer in peers)

    def peers(self, actor: str, binding: str, role: str) -> list[str]:
        """Actor ids that play `role` towards `actor` on `binding`."""
        found = []
        for c in self.connections:
            if c.binding != binding or actor not in (c.serving, c.calling):
                continue
            other = c.calling if c.serving == actor else c.serving
            if role == bindings.ROLES[binding][0 if other == c.serving else 1]:
                found.append(other)
        return sorted(set(found))

    def bridges(self) -> list[str]:
        """Actors that speak both bindings: the devices whose conversion table matters."""
        return sorted(a.id for a in self.actors.values()
                      if {"vtn", "ven"} & set(a.roles) and {"server", "client"} & set(a.roles))


# --- building the plan ----------------------------------------------------------------------------


def build_plans(workspace: Workspace, usecase: str | None = None) -> tuple[list[Plan], list[Diagnostic]]:
    """A plan for every use case (or the one named) that puts at least one actor on the platform, and the
    problems found: in the use case's file or in the library files it draws on."""
    library, _ = library_index(workspace.repo)
    table = load_table()
    plans, problems = [], []
    for document in workspace.repo.usecases:
        if usecase is not None and document.model.id != usecase:
            continue
        plan, found = _Builder(document, Scope.of(document, library)[0], workspace.links, table).build()
        problems.extend(found)
        if plan.actors:
            plans.append(plan)
    return plans, problems


class _Builder:
    def __init__(self, document: Document[UseCase], scope: Scope, links: StandardLinks, table: ConversionTable):
        self.document, self.scope, self.links, self.table = document, scope, links, table
        self.model = document.model
        self.problems: list[Diagnostic] = []
        self.unrepresented: set[tuple[str, str]] = set()  # (information, what): reported once

    def problem(self, severity: Severity, code: str, message: str, path: tuple[str | int, ...], hint: str) -> None:
        self.problems.append(self.document.diagnostic(severity, code, message, path, hint))

    def mentions(self, kind: str, id_: str) -> list[Mention]:
        return self.links.mentions.get((self.model.id, kind, id_), [])

    def build(self) -> tuple[Plan, list[Diagnostic]]:
        uc = self.model
        plan = Plan(uc.id, uc.name, self.document.source.name)
        bound = self._bound_links()  # link id -> binding, for links with XMPP and a binding
        if not bound:
            return plan, self.problems
        self.rows = {info.id: self._rows(index, info) for index, info in enumerate(uc.information)}
        roles = self._roles(bound)
        actor_roles: dict[str, dict[str, str]] = {}  # actor -> role -> the first link that gives it
        for (link, _), (binding, serving, calling) in roles.items():
            if self._one_role_per_binding(Connection(link, binding, serving, calling), actor_roles):
                plan.connections.append(Connection(link, binding, serving, calling))
        for actor_id, its_roles in sorted(actor_roles.items()):
            element = self.scope.get(actor_id)
            assert element is not None
            actor = element.model
            domain = actor.organisation.lower()  # XMPP domains are case-insensitive; servers and peers say them so
            if not DOMAIN.fullmatch(domain):
                self.problems.append(element.document.diagnostic(
                    ERROR, "codegen-domain", f"organisation {actor.organisation!r} of actor {actor_id!r} is no DNS "
                    "name, so it cannot be the actor's XMPP domain", (*element.path, "organisation"),
                    "name the organisation by a domain such as 'customer.example' (letters, digits, '-' and dots)"))
            plan.actors[actor_id] = Actor(actor_id, actor.name, domain, tuple(its_roles))
        self._distinct_names(plan)
        for index, scenario in enumerate(uc.scenarios):
            plan.scenarios[scenario.id] = [
                self._play(plan, scenario.id, ("scenarios", index, "steps", number), step)
                for number, step in enumerate(scenario.steps)
            ]
        for actor in [a for a in plan.actors.values() if "server" in a.roles]:
            plan.actors[actor.id] = replace(actor, model=self._model_for(plan, actor))
        used = {info for plays in plan.scenarios.values() for play in plays if play.executable for info in play.information}
        plan.rows = [row for info in uc.information if info.id in used for row in self.rows[info.id]]
        plan.table = merged_table(self.table, plan)
        return plan, self.problems

    # links and roles

    def _bound_links(self) -> dict[str, str]:
        bound = {}
        for link in self.model.sgam.links:
            named = set(self.links.of(self.model.id, "link", link.id))
            binding = next((bindings.BINDINGS[s] for s in bindings.BINDINGS if s in named), None)
            if XMPP in named and binding is not None:
                bound[link.id] = binding
        return bound

    def _link_of(self, producer: str, receiver: str, bound: dict[str, str]) -> str | None:
        return next((link for link in self.scope.links_between(producer, receiver) if link in bound), None)

    def _roles(self, bound: dict[str, str]) -> dict[tuple[str, frozenset[str]], tuple[str, str, str]]:
        """(link, the two actors) -> (binding, serving actor, calling actor), from the steps between them."""
        votes: dict[tuple[str, frozenset[str]], set[str]] = {}
        for scenario in self.model.scenarios:
            for step in scenario.steps:
                if not step.information or not step.producer or not step.receiver or step.producer == step.receiver:
                    continue
                link = self._link_of(step.producer, step.receiver, bound)
                if link is None:
                    continue
                serving = votes.setdefault((link, frozenset((step.producer, step.receiver))), set())
                end = self._serving_end(bound[link], step)
                if end is not None:
                    serving.add(end)
        roles = {}
        index = {link.id: i for i, link in enumerate(self.model.sgam.links)}
        for (link, pair), serving in votes.items():
            role = bindings.ROLES[bound[link]][0]
            if len(serving) != 1:
                both = " and ".join(repr(a) for a in sorted(pair))
                self.problem(ERROR, "codegen-roles", f"cannot tell which of {both} is the {role} on link {link!r} "
                             f"({'both act as one' if serving else 'no step shows it'})",
                             ("sgam", "links", index[link], "id"), _ROLE_HINTS[bound[link]])
                continue
            [server] = serving
            roles[(link, pair)] = (bound[link], server, next(a for a in pair if a != server))
        return roles

    def _distinct_names(self, plan: Plan) -> None:
        """Two actors must not meet in one JID (case is ignored) or one adapter module ('-' and '.' become '_')."""
        seen: dict[str, str] = {}
        for actor in plan.actors.values():
            for name in (actor.jid, f"adapters/{module_name(actor.id).lower()}.py"):
                first = seen.setdefault(name, actor.id)
                if first != actor.id:
                    element = self.scope.get(actor.id)
                    assert element is not None
                    self.problems.append(element.document.diagnostic(
                        ERROR, "codegen-names", f"actors {first!r} and {actor.id!r} would both be {name} on the "
                        "platform", (*element.path, "id"), "rename one of them"))

    def _one_role_per_binding(self, connection: Connection, actor_roles: dict[str, dict[str, str]]) -> bool:
        """Give the connection's ends their roles, unless one already has the other role of the binding.

        The runtime serves one role of a binding on an actor's endpoint (both would claim the
        binding's namespace), so a VTN that is also a VEN, or an IEC 61850 server that is also a
        client, cannot be generated.
        """
        first, second = bindings.ROLES[connection.binding]
        ends = {connection.serving: (first, second), connection.calling: (second, first)}
        for actor, (role, other) in ends.items():
            if other in actor_roles.get(actor, {}):
                index = next(i for i, link in enumerate(self.model.sgam.links) if link.id == connection.link)
                self.problem(ERROR, "codegen-roles", f"{actor!r} would be the {role} on link {connection.link!r} and "
                             f"the {other} on link {actor_roles[actor][other]!r}; an actor's endpoint runs one "
                             f"{connection.binding} role, not both", ("sgam", "links", index, "id"),
                             "give the second role to an actor of its own (a gateway hosted on the same component)")
                return False
        for actor, (role, _) in ends.items():
            actor_roles.setdefault(actor, {}).setdefault(role, connection.link)
        return True

    def _serving_end(self, binding: str, step: Step) -> str | None:
        if binding == "openadr":
            names = self._oadr_names(step)
            if "oadrDistributeEvent" in names:
                return step.producer
            if {"oadrCreatePartyRegistration", "oadrQueryRegistration"} & set(names):
                return step.receiver
            return None
        if step.service is Service.REPORT:
            return step.producer
        return step.receiver if step.service in CONTROL_SERVICES else None

    # messages and rows of information

    def _oadr_names(self, step: Step) -> tuple[str, ...]:
        names = [word for info in step.information for m in self.mentions("information", info)
                 if m.standard == OPENADR for word in re.findall(r"oadr[A-Za-z]+", m.detail)]
        text = f"{step.activity} {step.description}"
        named = [n for n in names if re.search(rf"\b{n}\b", text)]
        return tuple(dict.fromkeys(named or names))

    def _rows(self, index: int, info: Information) -> list[Row]:
        if info.items:
            return [self._item_row(index, number, info) for number in range(len(info.items))]
        rows: list[Row] = []
        for number, mention in enumerate(self.mentions("information", info.id)):
            if "BRCB" in mention.detail:
                self.problem(WARNING, "codegen-substitute", f"{mention.text!r}: the platform's IEC 61850 servers have "
                             "unbuffered report control blocks only, so a BRCB is played as a URCB (SetURCBValues)",
                             ("information", index, "data_models", number),
                             "write URCB if buffering is not needed, or keep this as a known difference")
            found = self._default_rows(info.id, mention)
            if found is None:
                continue
            if not found:
                self.problem(WARNING, "codegen-no-row", f"{mention.text!r} has no row in the conversion table; "
                             "the platform cannot carry it", ("information", index, "data_models", number),
                             "add it under 'items:' of the information object (common name and references)")
            rows.extend(row for row in found if row not in rows)
        return rows

    def _default_rows(self, info: str, mention: Mention) -> list[Row] | None:
        """Rows of the shipped table that a data-model mention names; None when it names no data item."""
        words = re.findall(r"[A-Za-z0-9_]+", mention.detail)
        if mention.standard == OPENADR:
            names = [w for w in words if re.fullmatch(r"[A-Z][A-Z_]+", w)]
            messages = [w for w in words if w.startswith("oadr")]
            if "oadrDistributeEvent" in messages:
                keys = [(s.signal_name, s.common, f"{s.signal_name}/{s.signal_type}") for s in self.table.openadr_signals]
            elif "oadrUpdateReport" in messages:
                keys = [(r.report_name, r.common, f"{r.report_name}/{r.item_name}") for r in self.table.openadr_reports]
            else:
                return None
            return [self._paired(info, common, element) for name, common, element in keys if not names or name in names]
        if not mention.standard.startswith("IEC 61850") or not words or not re.fullmatch(r"[A-Z]{4}", words[0]):
            return None
        if words[0].lower() in bindings.ACSI_KEYWORDS:
            return None  # a service (BRCB, URCB ...), not a logical node: it has no rows
        ln_class, objects = words[0], words[1:]
        return [self._paired(info, item.common, "", item.reference) for item in self.table.iec61850
                if re.sub(r"\d+$", "", item.reference.split(".")[0]) == ln_class
                and (not objects or item.reference.split(".")[1] in objects)]

    def _paired(self, info: str, common: str, openadr: str = "", iec61850: str = "") -> Row:
        """A row for `common`, each side filled from the table (the side given, or the table's own)."""
        point = next(p for p in self.table.points if p.name == common)
        if not openadr:
            openadr = next((f"{r.report_name}/{r.item_name}" for r in self.table.openadr_reports if r.common == common),
                           next((f"{s.signal_name}/{s.signal_type}" for s in self.table.openadr_signals
                                 if s.common == common), ""))
        item = next((i for i in self.table.iec61850 if i.reference == iec61850 or (not iec61850 and i.common == common)),
                    None)
        if item is None:
            return Row(info, common, point.kind, point.unit, openadr)
        return Row(info, common, point.kind, point.unit, openadr, item.reference, item.fc, item.cdc,
                   item.control_model or "")

    def _item_row(self, index: int, number: int, info: Information) -> Row:
        item = info.items[number]
        path = ("information", index, "items", number)
        if item.openadr:
            shipped = _openadr_rows(self.table).get(item.openadr)
            if shipped is None:
                self.problem(WARNING, "codegen-item", f"{item.openadr} is no OpenADR row of the shipped table; the "
                             "platform cannot carry this item over OpenADR", (*path, "openadr"),
                             f"use one of {', '.join(sorted(_openadr_rows(self.table)))}")
            elif shipped != item.common:
                self._conflict(item.openadr, shipped, item.common, (*path, "common"))
        known = next((i for i in self.table.iec61850 if i.reference == item.iec61850), None)
        if known is not None:
            if known.common != item.common:
                self._conflict(known.reference, known.common, item.common, (*path, "common"))
            return Row(info.id, item.common, item.kind, item.unit, item.openadr or "", known.reference, known.fc,
                       known.cdc, known.control_model or "", item.scale, "use case")
        if item.iec61850 and not (item.fc and item.cdc):
            self.problem(ERROR, "codegen-item", f"{item.iec61850} is not in the shipped table: give its fc and cdc",
                         (*path, "iec61850"), "add 'fc:' and 'cdc:' (and 'control_model:' for a control)")
        return Row(info.id, item.common, item.kind, item.unit, item.openadr or "", item.iec61850 or "", item.fc or "",
                   item.cdc or "", item.control_model or "", item.scale, "use case")

    def _conflict(self, element: str, shipped: str, mine: str, path: tuple[str | int, ...]) -> None:
        self.problem(WARNING, "codegen-conflict", f"{element} is {shipped!r} in the shipped table, {mine!r} here; "
                     "the use case's name is used", path, "use the shipped common name unless you mean another quantity")

    def _acsi_names(self, step: Step, role: str) -> tuple[str, ...]:
        names: list[str] = []
        for info in step.information:
            rows = [row for row in self.rows.get(info, []) if row.iec61850]
            for row in rows:
                names.extend(_acsi_for_row(row, step.service))
            for mention in self.mentions("information", info):
                if mention.standard.startswith("IEC 61850"):
                    for word in re.findall(r"[A-Za-z0-9]+", mention.detail.lower()):
                        # Operate and Report act on data objects: without a row there is nothing to act on.
                        if rows or word not in bindings.OBJECT_SERVICES:
                            names.extend(bindings.ACSI_KEYWORDS.get(word, ()))
        if step.service is Service.GET:
            names = [n for n in names if n.startswith("Get")] or names
        elif step.service is Service.REPORT:
            names = [n for n in names if n == "Report"] or names
        return bindings.as_sent_by("iec61850", tuple(dict.fromkeys(names)), role)

    # steps

    def _play(self, plan: Plan, scenario: str, path: tuple[str | int, ...], step: Step) -> Play:
        base = Play(scenario, step.number, step.activity, step.service.value, step.producer, step.receiver,
                    tuple(step.information))

        def skip(reason: str) -> Play:
            return Play(**{**base.__dict__, "reason": reason})

        if not step.information:
            return skip("moves no information")
        if not step.receiver or not step.producer or step.producer == step.receiver:
            return skip("has no receiver other than its producer")
        outside = [a for a in (step.producer, step.receiver) if a not in plan.actors]
        hosted = all(self.scope.hosts.get(a) for a in (step.producer, step.receiver))
        if hosted and not self.scope.links_between(step.producer, step.receiver):
            self.problem(ERROR, "codegen-no-link", f"step {step.number!r}: no communication link joins "
                         f"{step.producer!r} and {step.receiver!r}, so the platform cannot carry it",
                         (*path, "receiver"), "add a link between their components under sgam.links, "
                         "or correct the receiver")
            return skip("no communication link")
        if outside:
            return skip(f"{', '.join(repr(a) for a in outside)} is not on the platform")
        connection = next((c for c in plan.connections if {c.serving, c.calling} == {step.producer, step.receiver}),
                          None)
        if connection is None:
            return skip("their link carries no XMPP binding")
        role = bindings.ROLES[connection.binding][0 if step.producer == connection.serving else 1]
        vtns = plan.peers(connection.calling, "openadr", "vtn") if connection.binding == "openadr" else []
        if vtns and connection.serving != vtns[0]:
            return skip(f"the runtime's VEN serves one VTN per endpoint; {connection.calling!r} serves {vtns[0]!r}")
        if connection.binding == "openadr":
            wanted = self._oadr_names(step)
            names = bindings.as_sent_by("openadr", wanted, role)
            if not wanted:
                self._unrepresented(step, path, "OpenADR 2.0b payload", "name the oadr payload in its data_models")
        else:
            names = wanted = self._acsi_names(step, role)
            if not names:
                self._unrepresented(step, path, "IEC 61850 representation",
                                    "name an IEC 61850 object the table knows, or give 'items:' with an iec61850 reference")
        rows = tuple(dict.fromkeys(r.common for info in step.information for r in self.rows.get(info, ())))
        play = Play(**{**base.__dict__, "binding": connection.binding, "messages": names, "rows": rows})
        if not names:
            sent = f"never sends {' or '.join(wanted)}" if wanted else "sends nothing for this information"
            return Play(**{**play.__dict__, "reason": f"the {role} {sent} on this platform"})
        return play

    def _model_for(self, plan: Plan, actor: Actor) -> str:
        """The shipped IEC 61850 model a server actor hosts; a located error when none holds its data.

        Rule: among the shipped models that hold every LN.DO the actor's rows use, the one whose
        name's last word (battery, pv) appears in the actor's id or name; else the smallest such model.
        """
        moved = {info for plays in plan.scenarios.values() for p in plays
                 if p.executable and actor.id in (p.producer, p.receiver) for info in p.information}
        used: dict[str, str] = {}  # LN.DO -> the first information that moves it
        for info in self.model.information:
            for row in self.rows[info.id] if info.id in moved else ():
                if row.iec61850:
                    used.setdefault(_data_object(row.iec61850), info.id)
        models = shipped_objects()
        covering = sorted((len(held), name) for name, held in models.items() if set(used) <= held)
        if covering:
            words = f"{actor.id} {actor.name}".lower().replace("-", " ").split()
            return next((name for _, name in covering if name.split("_")[-1] in words), covering[0][1])
        closest = max(sorted(models), key=lambda name: len(set(used) & models[name]))
        for reference in sorted(set(used) - models[closest]):
            index = next(i for i, info in enumerate(self.model.information) if info.id == used[reference])
            items = [n for n, item in enumerate(self.model.information[index].items)
                     if _data_object(item.iec61850 or "") == reference]
            self.problem(ERROR, "codegen-model", f"server {actor.id!r} cannot host {reference}: the shipped IEC 61850 "
                         f"model closest to its data ({closest}) has no such data object",
                         ("information", index, *(("items", items[0], "iec61850") if items else ("id",))),
                         f"use data objects of the shipped models in sgam/platform/models ({', '.join(sorted(models))})")
        return ""

    def _unrepresented(self, step: Step, path: tuple[str | int, ...], what: str, hint: str) -> None:
        for info in step.information:
            if (info, what) in self.unrepresented:
                continue
            self.unrepresented.add((info, what))
            index = next(i for i, x in enumerate(self.model.information) if x.id == info)
            self.problem(ERROR, "codegen-unrepresented", f"information {info!r} (first in step {step.number!r}) has no {what}",
                         ("information", index, "id"), hint)


_ROLE_HINTS = {
    "openadr": "let a step of the link carry oadrDistributeEvent from the VTN, or oadrCreatePartyRegistration to it",
    "iec61850": "the server receives CHANGE/EXECUTE steps or produces REPORT steps; check producer and receiver",
}


def module_name(actor: str) -> str:
    """The Python module of an actor's adapter."""
    return actor.replace("-", "_").replace(".", "_")


def _data_object(reference: str) -> str:
    """'LN.DO' of an 'LN.DO[.DA]' reference."""
    return ".".join(reference.split(".")[:2])


@cache
def shipped_objects() -> dict[str, frozenset[str]]:
    """The LN.DO each shipped IEC 61850 model holds, by model name."""
    found = {}
    for path in sorted(SHIPPED.glob("*.json")):
        model = shipped_model(path.stem)
        found[path.stem] = frozenset(f"{ln.name}.{do.name}" for ld in model.logical_devices
                                     for ln in ld.logical_nodes for do in ln.data_objects)
    return found


def _acsi_for_row(row: Row, service: Service) -> tuple[str, ...]:
    if service is Service.GET:
        return ("GetDataValues",)
    if service is Service.REPORT:
        return ("Report",)
    if row.fc == "CO":
        return ("Cancel",) if service is Service.CANCEL else ("Select", "SelectWithValue", "Operate")
    if row.fc in ("SP", "CF"):
        return ("SetDataValues",)
    return ()


def _openadr_rows(table: ConversionTable) -> dict[str, str]:
    """OpenADR element ('SIGNAL/type', 'REPORT/item') -> common name, for the table's rows."""
    signals = {f"{s.signal_name}/{s.signal_type}": s.common for s in table.openadr_signals}
    return signals | {f"{r.report_name}/{r.item_name}": r.common for r in table.openadr_reports}


def merged_table(default: ConversionTable, plan: Plan) -> ConversionTable:
    """The shipped table plus the rows a use case adds by hand (its `items:`), as one loadable table.

    A VTN sends a common name as the first signal row that has it, so the signals the use case's
    events carry come first: its grid event named LOAD_CONTROL goes out as LOAD_CONTROL, not SIMPLE.
    """
    data = default.model_dump(mode="json", exclude_none=True)
    sent = dict.fromkeys(row.openadr for plays in plan.scenarios.values() for play in plays
                         if play.executable and "oadrDistributeEvent" in play.messages
                         for row in plan.rows if row.information in play.information and row.openadr)
    rank = {element: number for number, element in enumerate(sent)}
    data["openadr_signals"].sort(key=lambda s: rank.get(f"{s['signal_name']}/{s['signal_type']}", len(rank)))
    source = f"usecase:{plan.usecase}"
    added = [row for row in plan.rows if row.origin == "use case"]
    if added:
        data["sources"].append({"id": source, "title": f"use case {plan.usecase} ({plan.file}), items of its information"})
    names = {p["name"] for p in data["points"]}
    references = {i["reference"]: i for i in data["iec61850"]}
    elements = {f"{s['signal_name']}/{s['signal_type']}": s for s in data["openadr_signals"]}
    elements |= {f"{r['report_name']}/{r['item_name']}": r for r in data["openadr_reports"]}
    for row in added:
        if row.common not in names:
            names.add(row.common)
            data["points"].append({"name": row.common, "kind": row.kind, "unit": row.unit,
                                   "description": f"from information {row.information}"})
        for shipped in (references.get(row.iec61850), elements.get(row.openadr)):
            if shipped is not None and shipped["common"] != row.common:  # the use case renames a shipped row
                shipped.update(common=row.common, sources=[*shipped["sources"], source])
        if row.iec61850 and row.iec61850 not in references:
            entry: dict[str, object] = {"common": row.common, "reference": row.iec61850, "fc": row.fc, "cdc": row.cdc,
                                        "unit": row.unit, "wire_kind": row.kind, "sources": [source]}
            if row.fc == "CO":
                entry.update(control_model=row.control_model or "direct-with-normal-security", status="stVal")
            if row.scale != 1.0:
                entry["conversion"] = {"kind": "linear", "factor": row.scale}
            references[row.iec61850] = entry
            data["iec61850"].append(entry)
    return ConversionTable.model_validate(data)
