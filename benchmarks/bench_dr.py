"""How many demand-response rounds per second the platform carries, against the raw transport.

    python benchmarks/bench_dr.py [-n COUNT] [--in-flight K] [--repeat R] [--profile FILE]

Starts a Prosody of its own and, in the same run and on that server, measures R times:

  raw        plain slixmpp IQ round trips (bench_xmpp.raw_round_trips): the transport's own limit.
  raw + oadr the same, but each request carries the round's oadrDistributeEvent, written once and
             sent as text (printed as a comment line): what moving that payload through Prosody and
             slixmpp's parser costs, without any OpenADR work.
  floor      the least any DR round costs with these components, written the way the raw baseline
             uses slixmpp: three plain slixmpp clients; the VTN creates the oadrDistributeEvent with
             openleadr (schema-checked) and sends it; the EMS schema-checks and parses it with
             openleadr, sends one small IQ to the DER and waits for its answer, then creates the
             oadrCreatedEvent with openleadr and answers; the VTN checks and parses that. No
             conversion, no IEC 61850, no allow-lists, no delivery guarantee.
  dr round   VTN -> oadrDistributeEvent -> EMS (sgam.platform.ems: VEN + IEC 61850 client on one
             connection) converts the SIMPLE level into an active-power limit and sets it on the PV
             inverter over IEC 61850 (SetDataValues DWMX1.WMaxSptPct) -> the DER confirms -> the EMS
             answers oadrCreatedEvent. Two XMPP round trips, so 0.5 x raw is the ideal.

each sequentially and with K rounds in flight (default 50), with p50/p99 latency, plus openleadr's
own create+parse time per message (oadrDistributeEvent and oadrCreatedEvent) as a second baseline.
From the same run it also works out an upper bound for sequential rounds: one round trip carrying
the oadrDistributeEvent (measured) + one raw round trip + openleadr's create+parse of both messages,
one after the other, and nothing else (optimistic: the answer's payload and the schema checks are
left out). Prints `ratio=<dr rounds/s / raw round trips/s>` for the sequential case,
`ratio_in_flight=` for K in flight, `floor_ratio=` and `bound_ratio=` (the floor's and the bound's
sequential rate / raw), and the p99 goal (p99 <= 4 x two raw round trips at p50). `--profile FILE`
profiles one DR run with K in flight and prints where the time goes. Exit status 0 whenever the
measurements ran: it is a report, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import platform
import pstats
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from openleadr.messaging import create_message, parse_message, validate_xml_schema
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.handler import Callback, CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for tests.platform.prosody

from bench_xmpp import NS, RoundTrips, best, measure, raw_clients, raw_round_trips, row

from sgam.platform.conversion import Converter
from sgam.platform.ems import Der, Ems
from sgam.platform.iec61850.datamodel import shipped_model
from sgam.platform.iec61850.node import ServerNode
from sgam.platform.iec61850.server import AcsiServer
from sgam.platform.openadr import OADR_NS, Vtn, encode, oadr_event
from sgam.platform.services import Event, Opt
from sgam.platform.xmpp import Account, Endpoint, Server
from tests.platform.prosody import Prosody

LIMITS = (30.0, 60.0)  # SIMPLE levels 2 and 1: each round changes the limit, so each sets the DER


def event(label: str, number: int) -> Event:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return Event(f"{label}-{number}", 0, {"der.active_power_limit": LIMITS[number % 2]}, start, timedelta(hours=1))


async def dr_rounds(prosody: Prosody, label: str, count: int, in_flight: int,
                    profiler: cProfile.Profile | None = None) -> RoundTrips:
    """DR rounds VTN -> EMS -> PV inverter -> EMS -> VTN on fresh accounts of `prosody`."""
    converter = Converter()
    server: Server = prosody.server
    async with AsyncExitStack() as stack:
        accounts = {name: prosody.account(name) for name in ("vtn", "ems", "pv")}
        endpoints = {name: await stack.enter_async_context(Endpoint(account, server, name))
                     for name, account in accounts.items()}
        pv = ServerNode(endpoints["pv"], AcsiServer(shipped_model("der_pv")), allow=[accounts["ems"].jid])
        await pv.start()
        stack.push_async_callback(pv.close)
        vtn = Vtn(endpoints["vtn"], vtn_id="bench-vtn", converter=converter, vens=[accounts["ems"].jid],
                  timeout=60)
        vtn.serve()
        ems = Ems(endpoints["ems"], ven_id="bench-ems", vtn=endpoints["vtn"].jid, converter=converter,
                  ders=[Der("pv", endpoints["pv"].jid, "PVDER")])
        await ems.start()
        stack.push_async_callback(ems.close)
        peer = endpoints["ems"].jid

        async def round_trip(number: int) -> None:
            reply = await vtn.distribute(peer, event(label, number))
            if reply.opt is not Opt.IN:
                raise RuntimeError(f"the EMS opted out of round {number}: {reply.reason}")

        if profiler is not None:
            profiler.enable()
        try:
            return await measure("dr round", round_trip, count, in_flight)
        finally:
            if profiler is not None:
                profiler.disable()


async def payload_round_trips(server: Server, requester: Account, responder: Account, count: int,
                              in_flight: int, text: str) -> RoundTrips:
    """Raw round trips whose request carries `text` (an oadrPayload written once, sent as it is: the cheapest
    way to send it); plain slixmpp answers with an empty result."""
    answers: dict[str, asyncio.Future[None]] = {}

    def answered(iq: StanzaBase) -> None:
        waiting = answers.pop(iq["id"], None)
        if waiting is not None:
            waiting.set_result(None)

    async with raw_clients(server, responder, requester) as (answering, asking):
        answering.register_handler(Callback("bench", MatchXPath(f"{{jabber:client}}iq/{{{OADR_NS}}}oadrPayload"),
                                            confirm))
        asking.register_handler(Callback("answers", MatchXPath("{jabber:client}iq"), answered))

        async def round_trip(number: int) -> None:
            answers[f"p{number}"] = waiting = asyncio.get_running_loop().create_future()
            asking.send_raw(f'<iq type="set" id="p{number}" to="{answering.boundjid.full}">{text}</iq>')
            await asyncio.wait_for(waiting, 30)

        return await measure("raw + oadr", round_trip, count, in_flight)


def confirm(iq: StanzaBase) -> None:
    """Answer a request with an empty result, as plain slixmpp does."""
    iq.reply(clear=True).send()


async def floor_rounds(prosody: Prosody, label: str, count: int, in_flight: int) -> RoundTrips:
    """The round's unavoidable work on plain slixmpp, as the raw baseline uses it (see the module's note)."""
    converter, answer = Converter(), messages()["oadrCreatedEvent"]

    def checked(message_type: str, **payload: Any) -> ET.Element:
        text = create_message(message_type, disable_signature=True, **payload)
        validate_xml_schema(text)
        return ET.fromstring(text)

    def read(stanza: StanzaBase) -> dict[str, Any]:
        text = ET.tostring(stanza.xml[0], encoding="unicode")
        validate_xml_schema(text)
        return parse_message(text)[1]  # type: ignore[no-any-return]

    async def on_event(iq: StanzaBase) -> None:
        read(iq)
        setting = ems.make_iq_set(ito=der.boundjid.full)
        setting.append(ET.Element(f"{{{NS}}}sample", {"limit": "30"}))
        await setting.send(timeout=30)
        reply = iq.reply(clear=True)
        reply.append(checked("oadrCreatedEvent", **answer))
        reply.send()

    accounts = (prosody.account(name) for name in ("vtn", "ems", "der"))
    async with raw_clients(prosody.server, *accounts) as (vtn, ems, der):
        der.register_handler(Callback("der", MatchXPath(f"{{jabber:client}}iq/{{{NS}}}sample"), confirm))
        ems.register_handler(CoroutineCallback("ems", MatchXPath(f"{{jabber:client}}iq/{{{OADR_NS}}}oadrPayload"),
                                               on_event))

        async def round_trip(number: int) -> None:
            distribute = oadr_event(event(label, number), converter, "http://sgam.example/market/dr", "bench-ems")
            iq = vtn.make_iq_set(ito=ems.boundjid.full)
            iq.append(checked("oadrDistributeEvent", request_id=f"r{number}", vtn_id="bench-vtn", events=[distribute]))
            read(await iq.send(timeout=30))

        return await measure("floor", round_trip, count, in_flight)


def messages() -> dict[str, dict[str, Any]]:
    """openleadr payloads of one DR round's two OpenADR messages."""
    distribute = oadr_event(event("cost", 0), Converter(), "http://sgam.example/market/dr", "bench-ems")
    created = {"response_code": 200, "response_description": "OK", "request_id": "r", "event_id": "cost-0",
               "modification_number": 0, "opt_type": "optIn"}
    return {
        "oadrDistributeEvent": {"request_id": "r", "vtn_id": "bench-vtn", "events": [distribute]},
        "oadrCreatedEvent": {"response": {"response_code": 200, "response_description": "OK", "request_id": "r"},
                             "ven_id": "bench-ems", "event_responses": [created]},
    }


def openleadr_cost(count: int) -> dict[str, float]:
    """openleadr's own create + parse time per message, in ms (no transport, no schema check)."""
    costs = {}
    for message_type, payload in messages().items():
        started = time.perf_counter()
        for _ in range(count):
            parse_message(create_message(message_type, **payload))
        costs[message_type] = 1000 * (time.perf_counter() - started) / count
    return costs


async def benchmark(count: int, in_flight: int, repeat: int, profile: Path | None) -> None:
    prosody = Prosody()
    prosody.start()
    try:
        requester, responder = prosody.account("asker"), prosody.account("answerer")
        distribute = encode("oadrDistributeEvent", **messages()["oadrDistributeEvent"])
        runs: dict[tuple[str, int], list[RoundTrips]] = {}
        for attempt in range(repeat):
            for flight in (1, in_flight):
                print(f"run {attempt + 1}/{repeat}: raw, floor and dr, {flight} in flight", file=sys.stderr)
                gc.collect()
                runs.setdefault(("raw", flight), []).append(
                    await raw_round_trips(prosody.server, requester, responder, count, flight))
                gc.collect()
                runs.setdefault(("raw + oadr", flight), []).append(
                    await payload_round_trips(prosody.server, requester, responder, count, flight, distribute))
                gc.collect()
                runs.setdefault(("floor", flight), []).append(
                    await floor_rounds(prosody, f"floor{attempt}-{flight}", count, flight))
                gc.collect()
                runs.setdefault(("dr", flight), []).append(
                    await dr_rounds(prosody, f"run{attempt}-{flight}", count, flight))
        costs = openleadr_cost(max(count // 4, 10))
        print(f"# DR rounds vs raw IQ round trips on one local Prosody (N={count}, best of {repeat} by rate)")
        print(f"# {platform.machine()}, Python {platform.python_version()}, slixmpp {version('slixmpp')}, "
              f"openleadr {version('openleadr')}")
        print(f"{'transport':<12} {'in flight':>9} {'rate':>10} {'median':>10} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'x raw':>10}")
        ratios = {}
        for flight in (1, in_flight):
            raw = best(runs[("raw", flight)])
            print(row(raw, runs[("raw", flight)], None))
            for kind in ("floor", "dr"):
                print(row(best(runs[(kind, flight)]), runs[(kind, flight)], raw))
            ratios[flight] = best(runs[("dr", flight)]).rate / raw.rate
        for message_type, cost in costs.items():
            print(f"# openleadr create+parse {message_type}: {cost:.2f} ms per message")
        for flight in (1, in_flight):  # the transport's share of a round: its payload is not the raw baseline's
            heavy = best(runs[("raw + oadr", flight)])
            print(f"# raw round trips whose request carries the oadrDistributeEvent, {flight} in flight: "
                  f"{heavy.rate:.0f}/s, p50 {heavy.p50_ms:.2f} ms, p99 {heavy.p99_ms:.2f} ms "
                  f"(dr round / this: {best(runs[('dr', flight)]).rate / heavy.rate:.2f})")
        raw_seq, floor_seq, dr_seq = (best(runs[(kind, 1)]) for kind in ("raw", "floor", "dr"))
        bound_ms = 1000 / best(runs[("raw + oadr", 1)]).rate + 1000 / raw_seq.rate + sum(costs.values())
        print(f"# bound (sequential): one round trip carrying the oadrDistributeEvent + one raw round trip + "
              f"openleadr's create+parse of both messages = {bound_ms:.2f} ms a round, {1000 / bound_ms:.0f}/s "
              f"(dr round / bound: {dr_seq.rate * bound_ms / 1000:.2f})")
        goal = 4 * 2 * raw_seq.p50_ms
        print(f"# p99 goal (sequential): {dr_seq.p99_ms:.2f} ms <= 4 x two raw round trips = {goal:.2f} ms: "
              f"{'met' if dr_seq.p99_ms <= goal else 'NOT met'} (floor p99 {floor_seq.p99_ms:.2f} ms)")
        print(f"ratio={ratios[1]:.3f}")
        print(f"ratio_in_flight={ratios[in_flight]:.3f}")
        print(f"floor_ratio={floor_seq.rate / raw_seq.rate:.3f}")
        print(f"bound_ratio={1000 / bound_ms / raw_seq.rate:.3f}")
        if profile is not None:
            profiler = cProfile.Profile()
            await dr_rounds(prosody, "profile", count, in_flight, profiler)
            profiler.dump_stats(profile)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    finally:
        prosody.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000, help="rounds per run (default 1000)")
    parser.add_argument("--in-flight", type=int, default=50, help="concurrent rounds (default 50)")
    parser.add_argument("-r", "--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--profile", type=Path, help="profile one DR run with K in flight into FILE")
    options = parser.parse_args(argv)
    asyncio.run(benchmark(options.count, options.in_flight, options.repeat, options.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
