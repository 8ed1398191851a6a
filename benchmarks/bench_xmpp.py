"""How many IQ round trips per second the XMPP transport carries on a local Prosody.

    python benchmarks/bench_xmpp.py [-n COUNT] [--in-flight K] [--repeat R] [--profile FILE]

Starts a Prosody of its own (tests/platform/prosody.py: free loopback port, TLS, raised c2s rate
limit) and measures, R times alternating, with COUNT requests each (default 1,000):

  raw       plain slixmpp: one client sends an IQ set with a small payload, another answers it from
            a synchronous stanza handler; `await iq.send()` per request. The transport's own limit:
            the baseline for the platform figures.
  endpoint  the same exchange through sgam.platform.xmpp.Endpoint (`request` / `serve`: allow-list,
            answer memory, retry bookkeeping, coroutine handler).

each sequentially and with K requests in flight (default 50), reporting round trips per second and
p50/p99 latency (best run by rate; medians too), and the ratio endpoint/raw. Other benchmarks
(benchmarks/bench_dr.py) call `raw_round_trips` to take the baseline in their own run.
Exit status 0 whenever the measurements ran: it is a report, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import platform
import pstats
import ssl
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from slixmpp import ClientXMPP
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for tests.platform.prosody

from sgam.platform.xmpp import Account, Endpoint, Server, disconnect
from tests.platform.prosody import Prosody

NS = "urn:example:sgam:bench"
PAYLOAD = 'reading="2500" unit="W"'  # a payload about the size of a small control request

RoundTrip = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class RoundTrips:
    """One measured run: `count` round trips, `in_flight` at a time, each one's latency in seconds."""

    label: str
    in_flight: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return 1000 * self.percentile(0.50)

    @property
    def p99_ms(self) -> float:
        return 1000 * self.percentile(0.99)


async def measure(label: str, round_trip: RoundTrip, count: int, in_flight: int) -> RoundTrips:
    """Run `count` round trips, `in_flight` workers each doing its share one after another.

    A few untimed round trips first, so that connection warm-up is not in the figures.
    """
    latencies: list[float] = []

    async def worker(numbers: range) -> None:
        for number in numbers:
            started = time.perf_counter()
            await round_trip(number)
            latencies.append(time.perf_counter() - started)

    async def all_workers(total: int) -> None:
        await asyncio.gather(*(worker(range(total)[w::in_flight]) for w in range(in_flight)))

    await all_workers(min(count, 2 * in_flight))
    latencies.clear()
    started = time.perf_counter()
    await all_workers(count)
    return RoundTrips(label, in_flight, time.perf_counter() - started, latencies)


def payload(number: int) -> ET.Element:
    return ET.fromstring(f'<sample xmlns="{NS}" n="{number}" {PAYLOAD}/>')


def raw_client(account: Account, server: Server) -> ClientXMPP:
    """A bare slixmpp client with the same TLS settings as the Endpoint (STARTTLS, CA-checked)."""
    client = ClientXMPP(f"{account.jid}/bench", account.password or "")
    client.enable_direct_tls, client.enable_starttls, client.enable_plaintext = server.direct_tls, not server.direct_tls, False
    client.ssl_context = ssl.create_default_context(cafile=str(server.ca_file))
    return client


async def _connected(client: ClientXMPP, server: Server) -> None:
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_start(_event: object) -> None:
        if not started.done():
            started.set_result(None)

    client.add_event_handler("session_start", on_start)
    client.connect(server.host, server.port)
    await asyncio.wait_for(started, 10)


@asynccontextmanager
async def raw_clients(server: Server, *accounts: Account) -> AsyncIterator[list[ClientXMPP]]:
    """Bare slixmpp clients of `accounts`, logged in on `server` (in that order), disconnected afterwards."""
    clients = [raw_client(account, server) for account in accounts]
    try:
        for client in clients:
            await _connected(client, server)
        yield clients
    finally:
        for client in clients:
            await disconnect(client)


async def raw_round_trips(server: Server, requester: Account, responder: Account, count: int,
                          in_flight: int) -> RoundTrips:
    """Round trips of plain slixmpp IQs between two accounts on `server` (the transport's baseline)."""

    def answer(iq: StanzaBase) -> None:
        reply = iq.reply(clear=True)
        reply.append(ET.Element(f"{{{NS}}}ok"))
        reply.send()

    async with raw_clients(server, responder, requester) as (answering, asking):
        answering.register_handler(Callback("bench", MatchXPath(f"{{jabber:client}}iq/{{{NS}}}sample"), answer))

        async def round_trip(number: int) -> None:
            iq = asking.make_iq_set(ito=answering.boundjid.full)
            iq.append(payload(number))
            await iq.send(timeout=30)

        return await measure("raw slixmpp", round_trip, count, in_flight)


async def endpoint_round_trips(server: Server, requester: Account, responder: Account, count: int,
                               in_flight: int) -> RoundTrips:
    """The same round trips through the platform's Endpoint (`request` and `serve`)."""

    async def answer(sender: str, request: ET.Element) -> ET.Element:
        return ET.Element(f"{{{NS}}}ok")

    async with Endpoint(responder, server, resource="bench") as answering, \
            Endpoint(requester, server, resource="bench") as asking:
        answering.serve(NS, answer, allow=[requester.jid])

        async def round_trip(number: int) -> None:
            await asking.request(answering.jid, payload(number), timeout=30)

        return await measure("endpoint", round_trip, count, in_flight)


def best(runs: list[RoundTrips]) -> RoundTrips:
    return max(runs, key=lambda run: run.rate)


def row(run: RoundTrips, runs: list[RoundTrips], baseline: RoundTrips | None) -> str:
    ratio = f"{run.rate / baseline.rate:5.2f}" if baseline else "    -"
    median = statistics.median(r.rate for r in runs)
    return (f"{run.label:<12} {run.in_flight:>9} {run.rate:>10.0f} {median:>10.0f} {run.p50_ms:>8.2f} "
            f"{run.p99_ms:>8.2f} {ratio:>10}")


async def benchmark(count: int, in_flight: int, repeat: int, profile: Path | None) -> None:
    prosody = Prosody()
    prosody.start()
    try:
        requester, responder = prosody.account("asker"), prosody.account("answerer")
        kinds = (("raw", raw_round_trips), ("endpoint", endpoint_round_trips))
        runs: dict[tuple[str, int], list[RoundTrips]] = {}
        for attempt in range(repeat):
            for flight in (1, in_flight):
                for name, kind in kinds:
                    print(f"run {attempt + 1}/{repeat}: {name}, {flight} in flight", file=sys.stderr)
                    gc.collect()
                    runs.setdefault((name, flight), []).append(
                        await kind(prosody.server, requester, responder, count, flight))
        print(f"# IQ round trips on a local Prosody (N={count}, best of {repeat} by rate; rates per second)")
        print(f"# {platform.machine()}, Python {platform.python_version()}, slixmpp {version('slixmpp')}")
        print(f"{'transport':<12} {'in flight':>9} {'rate':>10} {'median':>10} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'x raw':>10}")
        for flight in (1, in_flight):
            raw = best(runs[("raw", flight)])
            for name, _kind in kinds:
                run = best(runs[(name, flight)])
                print(row(run, runs[(name, flight)], raw if name != "raw" else None))
        if profile is not None:
            profiler = cProfile.Profile()
            profiler.enable()
            await endpoint_round_trips(prosody.server, requester, responder, count, in_flight)
            profiler.disable()
            profiler.dump_stats(profile)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    finally:
        prosody.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000, help="round trips per run (default 1000)")
    parser.add_argument("--in-flight", type=int, default=50, help="concurrent requests (default 50)")
    parser.add_argument("-r", "--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--profile", type=Path, help="profile one endpoint run with K in flight into FILE")
    options = parser.parse_args(argv)
    asyncio.run(benchmark(options.count, options.in_flight, options.repeat, options.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
