"""The transport under faults: the server goes away and comes back while requests flow."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable

import pytest

from sgam.platform.xmpp import Backoff, Endpoint, EndpointStopped, RequestTimeout
from tests.platform.prosody import Prosody

NS = "urn:example:sgam:test"
REQUESTS = 1000
IN_FLIGHT = 50
RESTARTS = 3


def command(number: int) -> ET.Element:
    return ET.Element(f"{{{NS}}}apply", number=str(number))


def test_each_request_is_applied_exactly_once_while_the_server_restarts_three_times(own_prosody: Prosody,
                                                                                      run) -> None:
    applied: Counter[int] = Counter()
    answered: dict[int, str] = {}

    async def apply(sender: str, payload: ET.Element) -> ET.Element:
        number = int(payload.get("number", ""))
        applied[number] += 1
        await asyncio.sleep(0.002)  # some work, so that restarts hit requests being handled
        return ET.Element(f"{{{NS}}}applied", number=str(number))

    async def scenario() -> tuple[int, int, int]:
        async with Endpoint(own_prosody.account("der"), own_prosody.server) as der, \
                Endpoint(own_prosody.account("ems"), own_prosody.server) as ems:
            der.serve(NS, apply, allow=[ems.account.jid])
            slots = asyncio.Semaphore(IN_FLIGHT)

            async def send(number: int) -> None:
                async with slots:
                    answer = await ems.request(der.jid, command(number), timeout=60)
                    assert answer is not None
                    answered[number] = answer.get("number", "")

            async def restarts() -> None:
                for restart in range(1, RESTARTS + 1):
                    while len(answered) < restart * REQUESTS // (RESTARTS + 1):
                        await asyncio.sleep(0.01)
                    await asyncio.to_thread(own_prosody.restart)

            await asyncio.gather(restarts(), *(send(number) for number in range(REQUESTS)))
            return der.reconnections, ems.reconnections, der.repeats

    der_reconnections, ems_reconnections, repeats = run(scenario())
    assert (der_reconnections, ems_reconnections) == (RESTARTS, RESTARTS)
    assert repeats > 0  # requests cut off by a restart were sent again, and answered from memory
    assert answered == {number: str(number) for number in range(REQUESTS)}
    assert sorted(applied) == list(range(REQUESTS))
    assert set(applied.values()) == {1}, {number: times for number, times in applied.items() if times != 1}


def test_an_endpoint_reconnects_with_backoff_after_the_server_was_down(own_prosody: Prosody, run) -> None:
    async def pong(sender: str, payload: ET.Element) -> ET.Element:
        return ET.Element(f"{{{NS}}}pong")

    async def scenario() -> None:
        quick = Backoff(initial=0.05, maximum=0.4)
        async with Endpoint(own_prosody.account("der"), own_prosody.server, backoff=quick) as der, \
                Endpoint(own_prosody.account("ems"), own_prosody.server, backoff=quick) as ems:
            der.serve(NS, pong, allow=[ems.account.jid])
            await asyncio.to_thread(own_prosody.stop)
            await asyncio.sleep(0.3)
            assert not der.online and not ems.online
            with pytest.raises(RequestTimeout):
                await ems.request(der.jid, command(1), timeout=0.5)
            await asyncio.sleep(1.0)  # several failed attempts, paced by the backoff
            await asyncio.to_thread(own_prosody.start)
            answer = await ems.request(der.jid, command(2), timeout=10)
            assert answer is not None and answer.tag == f"{{{NS}}}pong"
            assert der.online and ems.online
            assert (der.reconnections, ems.reconnections) == (1, 1)

    run(scenario())


def test_a_message_waiting_for_the_connection_ends_when_the_endpoint_stops(own_prosody: Prosody, run) -> None:
    async def scenario() -> None:
        endpoint = Endpoint(own_prosody.account("der"), own_prosody.server, backoff=Backoff(initial=0.05, maximum=0.4))
        await endpoint.start()
        await asyncio.to_thread(own_prosody.stop)
        while endpoint.online:
            await asyncio.sleep(0.05)
        sending = asyncio.ensure_future(endpoint.send("ems@localhost/sgam", command(1)))
        await asyncio.sleep(0.2)
        assert not sending.done()  # offline: it waits for the connection
        await endpoint.stop()
        with pytest.raises(EndpointStopped):
            await asyncio.wait_for(sending, 10)

    run(scenario())


def test_a_hung_server_is_noticed_by_its_silence_and_left_for_a_new_connection(own_prosody: Prosody, run) -> None:
    async def pong(sender: str, payload: ET.Element) -> ET.Element:
        return ET.Element(f"{{{NS}}}pong")

    async def until(condition: Callable[[], bool], seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while not condition():
                await asyncio.sleep(0.05)

    async def scenario() -> None:
        watchful = {"backoff": Backoff(initial=0.05, maximum=0.4), "keepalive": 0.5, "login_timeout": 1.0}
        async with Endpoint(own_prosody.account("der"), own_prosody.server, **watchful) as der, \
                Endpoint(own_prosody.account("ems"), own_prosody.server, **watchful) as ems:
            der.serve(NS, pong, allow=[ems.account.jid])
            own_prosody.pause()  # the TCP connections stay up; only the silence tells
            try:
                await until(lambda: not der.online and not ems.online, 5)
                await asyncio.sleep(1.5)  # login attempts meanwhile hang, time out, and are tried again
            finally:
                own_prosody.resume()
            await until(lambda: der.online and ems.online, 10)
            answer = await ems.request(der.jid, command(1), timeout=10)
            assert answer is not None and answer.tag == f"{{{NS}}}pong"
            assert (der.reconnections, ems.reconnections) == (1, 1)

    run(scenario())


def test_the_backoff_grows_to_its_maximum_and_spreads_attempts() -> None:
    delays = Backoff(initial=0.1, factor=2.0, maximum=1.0, jitter=0.2).delays()
    first = [next(delays) for _ in range(8)]
    for delay, nominal in zip(first, [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0], strict=True):
        assert nominal * 0.8 <= delay <= nominal * 1.2
