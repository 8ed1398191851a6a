"""The runtime side of a generated adapter: one actor's roles wired onto one XMPP endpoint.

A generated module (`OUT/adapters/<actor>.py`) holds the actor's configuration as data and calls
:func:`build` with its hooks module. Everything protocol-specific comes from `sgam.platform`:

* ``vtn``: :class:`sgam.platform.openadr.Vtn`, serving the VENs the links allow;
* ``ven``: :class:`sgam.platform.openadr.Ven` towards its VTN (the first one: the runtime's VEN
  serves one VTN per endpoint), with one DataStore per DER it is the client of (those become its
  report resources); ``hooks.on_event(event, adapter)`` decides on events and may act on the
  DERs through ``adapter.services`` (common names, any binding);
* ``client``: :class:`sgam.platform.iec61850.node.AcsiClient` wrapped by
  :class:`sgam.platform.conversion.Iec61850Names`, so the application speaks common names;
* ``server``: an :class:`AcsiServer` hosting a shipped IEC 61850-7-420 model, served by a
  :class:`ServerNode` to the clients the links allow; ``hooks.on_write`` hears client writes.

The EMS of the seed is ``ven`` + ``client`` on one endpoint: the two roles in one device.

A generated module also runs on its own, on the device: ``python -m adapters.<actor> --host H
--port P --ca CA.pem`` (from the use case's folder) logs in with the password of the generated
secrets file and serves until it is stopped (SIGTERM or Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sgam.platform.conversion import Converter, Iec61850Names, load_table
from sgam.platform.datapoints import DataStore
from sgam.platform.iec61850.datamodel import shipped_model
from sgam.platform.iec61850.node import AcsiClient, ServerNode
from sgam.platform.iec61850.server import AcsiServer
from sgam.platform.openadr import Ven, Vtn
from sgam.platform.services import CommonServices, Event, EventReply
from sgam.platform.xmpp import Account, Endpoint, Server, TransportError


@dataclass
class Adapter:
    """The running roles of one actor; attributes are None for roles the actor does not play."""

    actor: str
    endpoint: Endpoint
    config: Mapping[str, Any]
    converter: Converter
    hooks: ModuleType
    vtn: Vtn | None = None
    ven: Ven | None = None
    acsi: AcsiClient | None = None
    names: Iec61850Names | None = None
    services: CommonServices | None = None
    stores: dict[str, DataStore] | None = None
    server: AcsiServer | None = None
    node: ServerNode | None = None

    async def start(self) -> None:
        if self.vtn is not None:
            self.vtn.serve()
        if self.ven is not None:
            self.ven.serve()
        if self.node is not None:
            await self.node.start()

    async def stop(self) -> None:
        if self.node is not None:
            await self.node.close()


def build(endpoint: Endpoint, config: Mapping[str, Any], hooks: ModuleType, folder: Path) -> Adapter:
    """Wire the actor's roles on a started endpoint (its full JID is known), as `config` says."""
    converter = Converter(load_table(folder / config["table"]))
    adapter = Adapter(config["actor"], endpoint, config, converter, hooks)
    roles = config["roles"]
    if "vtn" in roles:
        adapter.vtn = Vtn(endpoint, vtn_id=config["actor"], converter=converter, vens=config["peers"]["ven"])
    if "client" in roles:
        servers = config["servers"]  # full JID -> logical device
        adapter.acsi = AcsiClient(endpoint, servers=[jid.partition("/")[0] for jid in servers])
        adapter.names = Iec61850Names(adapter.acsi, converter, servers)
        adapter.services = CommonServices()
        for jid in servers:
            adapter.services.connect(jid, adapter.names)
        adapter.stores = {resource: DataStore(converter.specs) for resource in config["resources"]}
    if "ven" in roles:
        # A VEN reports the DERs it is the client of; without any, it reports itself as one resource.
        adapter.stores = adapter.stores or {config["actor"]: DataStore(converter.specs)}
        async def on_event(event: Event) -> EventReply:  # the hook may act through the adapter (its DERs)
            reply: EventReply = await hooks.on_event(event, adapter)
            return reply

        adapter.ven = Ven(endpoint, ven_id=config["actor"], vtn=config["peers"]["vtn"][0], converter=converter,
                          resources=adapter.stores, on_event=on_event)
    if "server" in roles:
        adapter.server = AcsiServer(shipped_model(config["model"]))
        adapter.server.on_write(hooks.on_write)
        adapter.node = ServerNode(endpoint, adapter.server, allow=config["allow"]["iec61850"])
    return adapter


def main(config: Mapping[str, Any], hooks: ModuleType, folder: Path, argv: Sequence[str] | None = None) -> int:
    """Run one generated adapter as a process until SIGTERM/SIGINT; 2 when it cannot log in."""
    parser = argparse.ArgumentParser(prog=f"python -m adapters.{config['module']}", description=f"adapter of {config['jid']}")
    parser.add_argument("--host", default="127.0.0.1", help="XMPP server to connect to")
    parser.add_argument("--port", type=int, default=5222)
    parser.add_argument("--ca", type=Path, required=True, help="CA certificate that signed the server's certificate")
    parser.add_argument("--secrets", type=Path, default=folder.parent / "secrets" / "accounts.json")
    args = parser.parse_args(argv)
    try:
        password = json.loads(args.secrets.read_text(encoding="utf-8"))["accounts"][config["jid"]]
    except (OSError, ValueError, LookupError, TypeError) as error:  # no file, no JSON, no such key, not an object
        print(f"{args.secrets}: error: no password for {config['jid']} ({error})\n    hint: run `sgam codegen` to "
              "write the accounts", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(config, hooks, folder, Account(config["jid"], password), Server(args.host, args.port, args.ca)))
    except TransportError as error:
        print(f"{config['jid']}: error: {error}", file=sys.stderr)
        return 2
    return 0


async def _serve(config: Mapping[str, Any], hooks: ModuleType, folder: Path, account: Account, server: Server) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    endpoint = Endpoint(account, server)
    await endpoint.start()
    adapter = build(endpoint, config, hooks, folder)
    await adapter.start()
    print(f"{endpoint.jid}: serving as {', '.join(config['roles'])}", flush=True)
    try:
        await stopped.wait()
    finally:
        await adapter.stop()
        await endpoint.stop()
