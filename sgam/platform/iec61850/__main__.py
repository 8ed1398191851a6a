"""Run an IEC 61850 DER server on the XMPP platform, or check a data-model file.

    python -m sgam.platform.iec61850 check MODEL
    python -m sgam.platform.iec61850 serve MODEL --jid der@example.org/der --host H --port P \\
        --ca-file CA.pem --allow ems@example.org [--rated-w W --available-w W]

MODEL is a data-model file or the name of a shipped one (der_battery, der_pv). The account's
password is read from the environment variable named by --password-env (default
SGAM_XMPP_PASSWORD), or a client certificate is given with --certfile/--keyfile. The server runs
until it is interrupted (SIGINT or SIGTERM). Exit status: 0 done, 2 bad input (model, account,
server), 1 internal error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from sgam.platform.iec61850.datamodel import SHIPPED, DataModelFile, ModelFileError, load_model
from sgam.platform.iec61850.device import SimulatedDer
from sgam.platform.iec61850.node import ServerNode
from sgam.platform.iec61850.server import AcsiServer
from sgam.platform.xmpp import Account, Endpoint, Server, TransportError


def _model(name: str) -> DataModelFile:
    shipped = SHIPPED / f"{name}.json"
    return load_model(shipped if not Path(name).exists() and shipped.exists() else name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sgam.platform.iec61850", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a data-model file")
    check.add_argument("model")
    serve = commands.add_parser("serve", help="host a data model as an IEC 61850 server over XMPP")
    serve.add_argument("model")
    serve.add_argument("--jid", required=True, help="the server's account, with a resource")
    serve.add_argument("--password-env", default="SGAM_XMPP_PASSWORD")
    serve.add_argument("--certfile", type=Path)
    serve.add_argument("--keyfile", type=Path)
    serve.add_argument("--host", required=True)
    serve.add_argument("--port", type=int, default=5222)
    serve.add_argument("--ca-file", type=Path, required=True)
    serve.add_argument("--direct-tls", action="store_true")
    serve.add_argument("--allow", action="append", required=True, help="bare JID of a client (repeat for more)")
    serve.add_argument("--unsolicited", choices=("iq", "message"), default="iq")
    serve.add_argument("--rated-w", type=float, help="simulate the device: rated active power")
    serve.add_argument("--available-w", type=float, default=0.0, help="simulate the device: available power")
    serve.add_argument("--quiet", action="store_true")
    return parser


async def _serve(options: argparse.Namespace, model: DataModelFile) -> None:
    password = None if options.certfile else os.environ.get(options.password_env)
    jid, _, resource = options.jid.partition("/")
    account = Account(jid, password, options.certfile, options.keyfile)
    endpoint = Endpoint(
        account, Server(options.host, options.port, options.ca_file, options.direct_tls), resource or "sgam"
    )
    server = AcsiServer(model)
    if options.rated_w is not None:
        SimulatedDer(server, options.rated_w, options.available_w)
    node = ServerNode(endpoint, server, options.allow, unsolicited=options.unsolicited)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await endpoint.start()
    try:
        await node.start()
        logging.getLogger(__name__).info("serving %s as %s", model.ied, endpoint.jid)
        print(f"serving {model.ied} as {endpoint.jid}", flush=True)
        await stop.wait()
    finally:
        await node.close()
        await endpoint.stop()


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        model = _model(options.model)
    except ModelFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.command == "check":
        devices = ", ".join(f"{model.ied}{ld.inst}" for ld in model.logical_devices)
        print(f"{options.model}: IED {model.ied}, logical devices {devices}: valid")
        return 0
    logging.basicConfig(
        level=logging.WARNING if options.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(_serve(options, model))
    except (TransportError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
