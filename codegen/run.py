"""`sgam run`: play a use case's scenarios on the generated platform over a real Prosody, and check the trace.

The generated adapters run in one process, each on its own XMPP endpoint (own JID, own TLS
session). Every endpoint records what reaches it: a request or message when its handler is called
(the stanza crossed the server and passed the allow-list), an answer when the request it made
returns. Each record is (producer, receiver, message name); the records of all endpoints form one
trace, in the order they were observed.

A step passes when, after the stanza that passed the previous step of its scenario, the trace holds
a stanza from the step's producer to its receiver carrying one of the step's messages (plan.Play)
and, when the stanza is about data, about the step's information: an ACSI object reference of one of
its conversion rows, or one of its OpenADR signal or report names.
If none is there yet, the step is played: its producer sends the request, or, when the step is an
answer, its receiver sends the request the answer belongs to; a report is played by the server
changing a measurement. A play that is refused (an OpenADR status code, an ACSI error, a value the
conversion table rejects) fails its step. Plays that need an earlier exchange (an event before a cancellation, a
registration before an event, a report subscription before telemetry) make it first. A step the
platform cannot play is listed as not executable. The run conforms when no step failed.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import itertools
import shutil
import sys
import tempfile
import traceback
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Self

from codegen import adapters, bindings, config
from codegen.adapter import Adapter
from codegen.plan import Plan, Play, module_name
from codegen.prosody import CertificateAuthority, LocalProsody, loopback_addresses
from codegen.sequence import Arrow, sequence_svg
from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity
from sgam.platform import openadr
from sgam.platform.iec61850 import acsi
from sgam.platform.services import Event, EventStatus, Opt, Report
from sgam.platform.xmpp import Account, Endpoint, Handler, MessageHandler, Payload, Server, as_element


@dataclass(frozen=True)
class Observed:
    producer: str
    receiver: str
    message: str
    kind: str  # request, answer, message, error
    items: tuple[str, ...] = ()  # what it is about: ACSI object references, OpenADR signal and report names


@dataclass
class Trace:
    records: list[Observed] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, record: Observed) -> None:
        self.records.append(record)
        self.changed.set()


def message_name(payload: ET.Element | None) -> str:
    """The protocol message a payload carries: the oadr* payload name, or the ACSI service element."""
    if payload is None:
        return "(ack)"
    local = payload.tag.rpartition("}")[2]
    if local == "oadrPayload":
        signed = next(iter(payload), None)
        inner = next(iter(signed), None) if signed is not None else None
        return inner.tag.rpartition("}")[2] if inner is not None else local
    return local


OADR_ITEMS = {"signalName", "reportName"}


def payload_items(payload: ET.Element | None) -> tuple[str, ...]:
    """The data a payload is about: ACSI object references (data set members for a report), OpenADR
    signal and report names. Empty for payloads about no data (directories, acknowledgements)."""
    if payload is None:
        return ()
    if payload.tag.startswith(f"{{{acsi.NAMESPACE}}}"):
        try:
            message = acsi.decode(payload)
        except acsi.AcsiDecodeError:
            return ()
        if isinstance(message, acsi.Report):
            return tuple(entry.ref for entry in message.entries)
        ref = getattr(message, "ref", None)
        return (ref,) if isinstance(ref, str) else ()
    return tuple(dict.fromkeys(e.text or "" for e in payload.iter() if e.tag.rpartition("}")[2] in OADR_ITEMS))


def _about(reference: str, row: str) -> bool:
    """Whether an observed 'LD/LN.DO[.DA]' and a table row 'LN.DO[.DA]' name the same data (at any depth)."""
    local = reference.partition("/")[2] or reference
    return row == local or row.startswith(f"{local}.") or local.startswith(f"{row}.")


class RecordingEndpoint(Endpoint):
    """An Endpoint that records the stanzas reaching it (after the allow-list) into a trace."""

    def __init__(self, account: Account, server: Server, trace: Trace, actors: dict[str, str]) -> None:
        super().__init__(account, server, resource="sgam")
        self.trace, self.actors = trace, actors  # actors: bare JID -> actor id
        self.me = actors[account.jid]

    def _actor(self, jid: str) -> str:
        return self.actors.get(jid.partition("/")[0], jid)

    def serve(self, namespace: str, handler: Handler, allow: Iterable[str]) -> None:
        async def recorded(sender: str, payload: ET.Element) -> Payload | None:
            self.trace.add(Observed(self._actor(sender), self.me, message_name(payload), "request",
                                    payload_items(payload)))
            return await handler(sender, payload)

        super().serve(namespace, recorded, allow)

    def on_message(self, namespace: str, handler: MessageHandler, allow: Iterable[str]) -> None:
        async def recorded(sender: str, payload: ET.Element) -> None:
            self.trace.add(Observed(self._actor(sender), self.me, message_name(payload), "message",
                                    payload_items(payload)))
            await handler(sender, payload)

        super().on_message(namespace, recorded, allow)

    async def request(self, to: str, payload: Payload, timeout: float = 10.0) -> ET.Element | None:
        try:
            answer = await super().request(to, payload, timeout)
        except Exception:
            self.trace.add(Observed(self._actor(to), self.me, f"error to {message_name(as_element(payload))}",
                                    "error"))
            raise
        self.trace.add(Observed(self._actor(to), self.me, message_name(answer), "answer"))
        return answer


def load_adapters(folder: Path, plan: Plan) -> dict[str, ModuleType]:
    """Import the generated adapter modules of `folder` (OUT/<use case>) as one package."""
    package = f"sgam_platform_{module_name(plan.usecase)}"
    for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
        del sys.modules[name]  # another folder's copy, or this one before it was regenerated
    init = folder / "adapters" / adapters.PACKAGE
    spec = importlib.util.spec_from_file_location(package, init, submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)
    loaded = {}
    for actor in plan.actors.values():
        hooks = folder / "adapters" / f"hooks_{module_name(actor.id)}.py"
        try:
            loaded[actor.id] = importlib.import_module(f"{package}.{module_name(actor.id)}")
        except Exception as error:  # the user's hooks file is the usual cause: say where it broke
            raise BadInput(_broken(error, hooks)) from error
        hooks_module = loaded[actor.id].hooks
        missing = [name for role in actor.roles for name in adapters.HOOKS[role] if not hasattr(hooks_module, name)]
        if missing:
            raise BadInput(Diagnostic(Severity.error, "hooks", f"{', '.join(missing)} missing: the adapter of "
                                      f"{actor.id!r} ({', '.join(actor.roles)}) calls it", str(hooks),
                                      hint="put it back (remove the file and run `sgam codegen` for the default)"))
    return loaded


def _broken(error: Exception, hooks: Path) -> Diagnostic:
    """Where importing a generated adapter failed: the line of the file (a hooks file, usually) that raised."""
    if isinstance(error, SyntaxError):
        where, line, column = error.filename or str(hooks), error.lineno, error.offset
    else:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == hooks.parent]
        where, line, column = (frames[-1].filename, frames[-1].lineno, 1) if frames else (str(hooks), None, None)
    return Diagnostic(Severity.error, "hooks", f"the adapter does not import: {type(error).__name__}: {error}", where,
                      line, column, "fix the file, or remove it and run `sgam codegen` to write the default again")


@dataclass
class StepResult:
    play: Play
    outcome: str  # passed, failed, not executable
    observed: Observed | None = None
    note: str = ""


class Platform:
    """The generated platform running on a local Prosody: endpoints, adapters and the shared trace."""

    def __init__(self, plan: Plan, folder: Path, timeout: float = 10.0, federated: bool = False,
                 progress: Callable[[StepResult], None] | None = None) -> None:
        self.plan, self.folder, self.timeout, self.federated = plan, folder, timeout, federated
        self.progress = progress or (lambda result: None)
        self.trace = Trace()
        self.accounts = config.read_accounts(folder)
        self.servers: dict[str, LocalProsody] = {}  # domain -> the Prosody that hosts it
        self._shared: Path | None = None
        self.adapters: dict[str, Adapter] = {}
        self.endpoints: dict[str, RecordingEndpoint] = {}
        self.started: dict[str, int] = {}  # scenario -> index of its first record in the trace
        self._event: Event | None = None
        self._registered: set[str] = set()  # VENs registered with their VTN
        self._subscribed: set[str] = set()
        self._count = itertools.count(1)

    async def __aenter__(self) -> Self:
        modules = load_adapters(self.folder, self.plan)
        jids = {a.jid: a.id for a in self.plan.actors.values()}
        try:
            self._provision()
            for actor in self.plan.actors.values():
                server = self.servers[actor.domain].server
                endpoint = RecordingEndpoint(Account(actor.jid, self.accounts[actor.jid]), server, self.trace, jids)
                self.endpoints[actor.id] = endpoint  # stopped on the way out even if its start is interrupted
                await endpoint.start()
                self.adapters[actor.id] = modules[actor.id].start(endpoint)
            for adapter in self.adapters.values():
                await adapter.start()
        except BaseException as error:
            await self.__aexit__(type(error), error, None)
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Stop the adapters and endpoints, then the servers: those always, even if stopping the rest fails
        or is itself interrupted (Ctrl-C stops Prosody too, and cancels this task once more)."""
        try:
            if kind is None:
                await self._settle()
            for adapter in self.adapters.values():
                await adapter.stop()
            for endpoint in self.endpoints.values():
                await endpoint.stop()
        finally:
            for prosody in {id(p): p for p in self.servers.values()}.values():
                prosody.close()
            if self._shared is not None:
                shutil.rmtree(self._shared, ignore_errors=True)

    async def _settle(self, quiet: float = 0.2, longest: float = 3.0) -> None:
        """Let exchanges in flight (a report sent on a last change) finish before the endpoints stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + longest
        while loop.time() < deadline:
            self.trace.changed.clear()
            try:
                await asyncio.wait_for(self.trace.changed.wait(), quiet)
            except TimeoutError:
                return

    def _provision(self) -> None:
        """One Prosody for every domain; federated, one per domain on its own loopback address, joined by s2s."""
        if not self.federated:
            prosody = LocalProsody(self.plan, self.accounts)
            self.servers = dict.fromkeys(self.plan.domains, prosody)  # closed on exit even if it fails to start
            prosody.start()
            return
        self._shared = Path(tempfile.mkdtemp(prefix="sgam-federation-"))
        addresses = dict(zip(self.plan.domains, loopback_addresses(len(self.plan.domains)), strict=True))
        hosts = self._shared / "hosts"
        hosts.write_text("".join(f"{a} {d}\n" for d, a in addresses.items()), encoding="utf-8")
        hosts.chmod(0o644)
        self._shared.chmod(0o755)
        ca = CertificateAuthority(self._shared / "ca")
        for domain, address in addresses.items():
            self.servers[domain] = LocalProsody(self.plan, self.accounts, domains=[domain], address=address,
                                                hosts=hosts, ca=ca)
            self.servers[domain].start()

    # --- checking the steps -----------------------------------------------------------------------

    async def run(self, scenario: str) -> list[StepResult]:
        results: list[StepResult] = []
        cursor = self.started[scenario] = len(self.trace.records)
        for play in self.plan.scenarios[scenario]:
            if not play.executable:
                self._done(results, StepResult(play, "not executable", note=play.reason))
                continue
            found = self.match(play, cursor)
            note = ""
            if found is None:
                try:
                    await self._play(play)
                    found = await self._wait(play, cursor)
                except Exception as error:  # noqa: BLE001 - a refused or failed play fails the step, with the reason
                    note = f"{type(error).__name__}: {error}"
            if found is None or note:  # a play that was refused or failed fails its step, stanza or not
                self._done(results, StepResult(play, "failed", note=note or "no matching stanza observed"))
                continue
            cursor = found + 1
            self._done(results, StepResult(play, "passed", self.trace.records[found]))
        return results

    def _done(self, results: list[StepResult], result: StepResult) -> None:
        results.append(result)
        self.progress(result)

    def match(self, play: Play, start: int) -> int | None:
        """Index of the first record from `start` on that passes `play`, if any."""
        for index in range(start, len(self.trace.records)):
            record = self.trace.records[index]
            if (record.producer, record.receiver) == (play.producer, play.receiver) and record.message in play.messages \
                    and self._carries(play, record):
                return index
        return None

    def _carries(self, play: Play, record: Observed) -> bool:
        """Whether a stanza about data is about the step's information (its conversion rows)."""
        if not record.items or record.kind == "answer":
            return True  # answers and payloads about no data are matched by message alone
        rows = [r for r in self.plan.rows if r.information in play.information]
        if play.binding == "iec61850":
            wanted = [r.iec61850 for r in rows if r.iec61850]
            return not wanted or any(_about(item, row) for item in record.items for row in wanted)
        names = {r.openadr.partition("/")[0] for r in rows if r.openadr}
        return not names or bool(names & set(record.items))

    async def _wait(self, play: Play, start: int) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while (found := self.match(play, start)) is None and loop.time() < deadline:
            self.trace.changed.clear()
            try:
                await asyncio.wait_for(self.trace.changed.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return found

    # --- playing a step ---------------------------------------------------------------------------

    async def _play(self, play: Play) -> None:
        assert play.binding is not None and play.producer is not None and play.receiver is not None
        message = bindings.MESSAGES[play.binding][play.messages[0]]
        actor, request = (play.receiver, message.answers) if message.answers else (play.producer, message.name)
        peer = play.producer if actor == play.receiver else play.receiver
        if play.binding == "openadr":
            await self._openadr(actor, peer, request, play)
        else:
            await self._acsi(play, request)

    def _full(self, actor: str) -> str:
        return self.plan.actors[actor].full_jid

    async def _openadr(self, actor: str, peer: str, request: str, play: Play) -> None:
        adapter = self.adapters[actor]
        if request == "oadrQueryRegistration":
            payload = openadr.encode("oadrQueryRegistration", request_id=uuid.uuid4().hex)
            await adapter.endpoint.request(self._full(peer), payload, self.timeout)
        elif request in ("oadrCreatePartyRegistration", "oadrRegisterReport"):
            assert adapter.ven is not None
            await adapter.ven.register()
            self._registered.add(actor)
        elif request == "oadrDistributeEvent":
            await self._distribute(actor, peer, cancel=play.service == "CANCEL")
        elif request == "oadrCreateReport":
            await self._subscribe_telemetry(actor, peer, again=True)
        elif request == "oadrUpdateReport":
            await self._subscribe_telemetry(peer, actor)
            await self._measure(actor)
        elif request == "oadrCreateOpt":
            event = await self._ensure_event(peer, actor)
            assert adapter.ven is not None
            await adapter.ven.opt(event.event_id, event.modification, Opt.OUT, "overrideStatus")
        else:
            raise NotImplementedError(f"sgam run cannot play {request} yet")

    async def _ensure_registered(self, ven: str) -> None:
        if ven not in self._registered:
            ven_role = self.adapters[ven].ven
            assert ven_role is not None
            await ven_role.register()
            self._registered.add(ven)

    async def _distribute(self, vtn: str, ven: str, cancel: bool) -> None:
        await self._ensure_registered(ven)
        role = self.adapters[vtn].vtn
        assert role is not None
        if cancel:
            previous = await self._ensure_event(vtn, ven)
            event = replace(previous, modification=previous.modification + 1, status=EventStatus.CANCELLED)
        else:
            signals = self.adapters[vtn].hooks.EVENT_SIGNALS
            event = Event(f"event-{next(self._count)}", 0, signals, datetime.now(UTC) + timedelta(minutes=5),
                          timedelta(hours=2))
        await role.distribute(self._full(ven), event)
        self._event = event

    async def _ensure_event(self, vtn: str, ven: str) -> Event:
        if self._event is None or self._event.status is EventStatus.CANCELLED:
            await self._distribute(vtn, ven, cancel=False)
        assert self._event is not None
        return self._event

    async def _subscribe_telemetry(self, vtn: str, ven: str, again: bool = False) -> None:
        """The VTN subscribes to the VEN's telemetry: once as a presupposed exchange, `again` when a step is it."""
        if ven in self._subscribed and not again:
            return
        await self._ensure_registered(ven)
        role = self.adapters[vtn].vtn
        assert role is not None
        items = list(role.registrations[self.plan.actors[ven].jid].items)

        async def received(report: Report) -> None:
            return None

        await role.subscribe(self._full(ven), items, received)
        self._subscribed.add(ven)

    async def _measure(self, ven: str) -> None:
        """A fresh measurement in the VEN's stores, which its telemetry subscription reports upward."""
        adapter = self.adapters[ven]
        for store in (adapter.stores or {}).values():
            store.set("der.active_power", float(next(self._count)))

    async def _acsi(self, play: Play, request: str) -> None:
        client = play.producer if "client" in self.plan.actors[play.producer or ""].roles else play.receiver
        server = play.receiver if client == play.producer else play.producer
        assert client is not None and server is not None
        adapter = self.adapters[client]
        names, acsi_client = adapter.names, adapter.acsi
        assert names is not None and acsi_client is not None
        peer = self._full(server)
        rows = {r.common: r for r in self.plan.rows if r.information in play.information and r.iec61850}
        value_for = adapter.hooks.value_for
        if request in ("GetServerDirectory", "GetLogicalDeviceDirectory", "GetLogicalNodeDirectory"):
            await acsi_client.call(peer, acsi.GetServerDirectory())
        elif request == "GetDataValues":
            await names.get(peer, list(rows))
        elif request == "SetDataValues":
            settings = {n: value_for(n, r.kind, play.number) for n, r in rows.items() if r.fc in ("SP", "CF")}
            await names.set(peer, settings)
        elif request in ("Select", "SelectWithValue", "Operate"):
            for name, row in rows.items():
                if row.fc == "CO":
                    await names.operate(peer, name, value_for(name, row.kind, play.number))
        elif request == "Cancel":
            for name, row in rows.items():
                if row.fc == "CO":
                    await names.cancel(peer, name)
        elif request == "SetURCBValues":
            await self._follow(client, server, again=True)
        elif request == "Report":
            await self._follow(client, server)
            device = self.adapters[server].server
            assert device is not None
            ld = config.logical_device(self.adapters[server].config["model"])
            device.update(f"{ld}/MMXU1.TotW", float(next(self._count)))
        else:
            raise NotImplementedError(f"sgam run cannot play {request} yet")

    async def _follow(self, client: str, server: str, again: bool = False) -> None:
        """The client follows the server's measurement reports into its store for that server (see again above)."""
        key = f"{client}->{server}"
        if key in self._subscribed and not again:
            return
        adapter = self.adapters[client]
        assert adapter.names is not None and adapter.stores is not None
        store = adapter.stores[server]

        async def received(report: Report) -> None:
            for point in report.points:
                store.put(point)

        await adapter.names.subscribe(self._full(server), ["der.active_power"], received)
        self._subscribed.add(key)


@dataclass
class ScenarioRun:
    results: list[StepResult]
    records: list[Observed]  # every stanza observed while the scenario ran, in order


async def run_scenarios(plan: Plan, folder: Path, scenarios: Sequence[str], timeout: float = 10.0,
                        federated: bool = False, progress: Callable[[StepResult], None] | None = None,
                        ) -> dict[str, ScenarioRun]:
    """Start the platform once and check each scenario in turn, in the order given."""
    async with Platform(plan, folder, timeout, federated, progress) as platform:
        results = {scenario: await platform.run(scenario) for scenario in scenarios}
    ends = [*(platform.started[s] for s in scenarios[1:]), len(platform.trace.records)]
    return {s: ScenarioRun(results[s], platform.trace.records[platform.started[s]:end]) for s, end in zip(
        scenarios, ends, strict=True)}


def diagrams(plan: Plan, scenario: str, run: ScenarioRun) -> tuple[str, str]:
    """The specified and the observed sequence diagram of one scenario (SVG)."""
    plays = plan.scenarios[scenario]
    lifelines = list(dict.fromkeys(a for p in plays for a in (p.producer, p.receiver) if a))
    lifelines += sorted({a for r in run.records for a in (r.producer, r.receiver)} - set(lifelines))
    specified = [Arrow(p.producer, p.receiver, f"{p.number} {p.activity}", muted=not p.executable) for p in plays
                 if p.producer and p.receiver]
    passed = {id(r.observed): r.play.number for r in run.results if r.observed is not None}
    observed = [Arrow(r.producer, r.receiver, f"{passed[id(r)]} {r.message}" if id(r) in passed else r.message,
                      muted=id(r) not in passed) for r in run.records]
    title = f"{plan.usecase} / {scenario}"
    return (sequence_svg(f"{title} (specified)", lifelines, specified),
            sequence_svg(f"{title} (observed over XMPP)", lifelines, observed))
