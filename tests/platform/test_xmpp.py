"""The transport between devices: requests, answers, refusals, messages and discovery over a real Prosody."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from sgam.platform.xmpp import (
    Endpoint,
    EndpointStopped,
    Handler,
    RequestFailed,
    StanzaFault,
    current_sender,
    xml_text,
)
from tests.platform.prosody import Prosody

NS = "urn:example:sgam:test"


def element(name: str, text: str = "", **attributes: str) -> ET.Element:
    node = ET.Element(f"{{{NS}}}{name}", attributes)
    node.text = text
    return node


@asynccontextmanager
async def served(prosody: Prosody, handler: Handler) -> AsyncIterator[tuple[Endpoint, Endpoint]]:
    """A server endpoint serving NS with `handler` to a client endpoint, the one sender it allows."""
    async with Endpoint(prosody.account("server"), prosody.server) as server, \
            Endpoint(prosody.account("client"), prosody.server) as client:
        server.serve(NS, handler, allow=[client.account.jid])
        yield server, client


async def echo(sender: str, payload: ET.Element) -> ET.Element:
    return element("echo", payload.text or "", sender=sender, full=current_sender.get())


def test_a_request_gets_the_served_answer(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with served(prosody, echo) as (server, client):
            answer = await client.request(server.jid, element("ping", "hello"))
            assert answer is not None
            assert answer.tag == f"{{{NS}}}echo"
            assert answer.text == "hello"
            assert answer.get("sender") == client.account.jid
            assert answer.get("full") == client.jid == f"{client.account.jid}/sgam"

    run(scenario())


def test_a_sender_outside_the_allow_list_is_refused_and_never_reaches_the_handler(
        prosody: Prosody, run, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    async def record(sender: str, payload: ET.Element) -> None:
        seen.append(sender)

    async def scenario() -> None:
        async with Endpoint(prosody.account("server"), prosody.server) as server, \
                Endpoint(prosody.account("friend"), prosody.server) as friend, \
                Endpoint(prosody.account("stranger"), prosody.server) as stranger:
            server.serve(NS, record, allow=[friend.account.jid])
            with pytest.raises(RequestFailed) as refused:
                await stranger.request(server.jid, element("set", "1"))
            assert refused.value.condition == "forbidden"
            assert await friend.request(server.jid, element("set", "2")) is None

    with caplog.at_level(logging.WARNING, logger="sgam.platform.xmpp"):
        run(scenario())
    assert len(seen) == 1 and seen[0].startswith("friend")
    refusals = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert len(refusals) == 1 and "stranger" in refusals[0] and NS in refusals[0]


def test_a_handler_fault_becomes_an_xmpp_error_with_its_payload(prosody: Prosody, run) -> None:
    async def refuse(sender: str, payload: ET.Element) -> None:
        raise StanzaFault("item-not-found", "no such point", payload=element("unknown", ref=payload.text or ""))

    async def scenario() -> None:
        async with served(prosody, refuse) as (server, client):
            with pytest.raises(RequestFailed) as failed:
                await client.request(server.jid, element("get", "LD0/MMXU1.TotW"))
            assert failed.value.condition == "item-not-found"
            assert failed.value.text == "no such point"
            assert failed.value.payload is not None
            assert failed.value.payload.tag == f"{{{NS}}}unknown"
            assert failed.value.payload.get("ref") == "LD0/MMXU1.TotW"

    run(scenario())


def test_a_malformed_payload_that_breaks_the_handler_is_answered_and_serving_goes_on(prosody: Prosody, run) -> None:
    async def strict(sender: str, payload: ET.Element) -> ET.Element:
        return element("double", str(2 * int(payload.text or "")))  # ValueError on anything but a number

    async def scenario() -> None:
        async with served(prosody, strict) as (server, client):
            with pytest.raises(RequestFailed) as failed:
                await client.request(server.jid, element("number", "<not a number>"))
            assert failed.value.condition == "internal-server-error"
            answer = await client.request(server.jid, element("number", "21"))
            assert answer is not None and answer.text == "42"

    run(scenario())


def test_an_unknown_namespace_is_not_served(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with served(prosody, echo) as (server, client):
            with pytest.raises(RequestFailed) as failed:
                await client.request(server.jid, ET.Element("{urn:example:other}ping"), timeout=3)
            assert failed.value.condition in {"feature-not-implemented", "service-unavailable"}

    run(scenario())


def test_messages_reach_the_handler_from_allowed_senders_only(prosody: Prosody, run) -> None:
    received: list[tuple[str, str]] = []

    async def scenario() -> None:
        arrived = asyncio.Event()

        async def collect(sender: str, payload: ET.Element) -> None:
            received.append((sender, payload.text or ""))
            if payload.text == "last":
                arrived.set()

        async with Endpoint(prosody.account("sink"), prosody.server) as sink, \
                Endpoint(prosody.account("friend"), prosody.server) as friend, \
                Endpoint(prosody.account("stranger"), prosody.server) as stranger:
            sink.on_message(NS, collect, allow=[friend.account.jid])
            await stranger.send(sink.jid, element("report", "forged"))
            # The sink answers this after it has handled (refused) the message sent before it.
            with pytest.raises(RequestFailed):
                await stranger.request(sink.jid, element("ping"), timeout=3)
            await friend.send(sink.jid, element("report", "first"))
            await friend.send(sink.jid, element("report", "last"))
            await asyncio.wait_for(arrived.wait(), 5)
            assert received == [(friend.account.jid, "first"), (friend.account.jid, "last")]

    run(scenario())


def test_discovery_returns_the_advertised_features_and_items(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with Endpoint(prosody.account("vtn"), prosody.server) as vtn, \
                Endpoint(prosody.account("ven"), prosody.server) as ven:
            vtn.advertise(["http://openadr.org/openadr2"],
                          [(vtn.jid, "http://openadr.org/OpenADR2/EiEvent"),
                           (vtn.jid, "http://openadr.org/OpenADR2/EiReport")])
            features, items = await ven.discover(vtn.jid)
            assert "http://openadr.org/openadr2" in features
            assert sorted(items) == [(vtn.jid, "http://openadr.org/OpenADR2/EiEvent"),
                                     (vtn.jid, "http://openadr.org/OpenADR2/EiReport")]

    run(scenario())


def test_a_request_to_a_peer_that_stays_away_fails_once_its_timeout_has_passed(prosody: Prosody, run) -> None:
    async def scenario() -> float:
        absent = prosody.account("absent")
        async with Endpoint(prosody.account("client"), prosody.server) as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(RequestFailed) as failed:
                await client.request(f"{absent.jid}/sgam", element("ping"), timeout=1.0)
            assert failed.value.condition == "service-unavailable"
            return loop.time() - started

    assert run(scenario()) >= 1.0  # asked again while the peer might come back, until the timeout


def test_requests_go_to_a_device_not_to_its_account(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with Endpoint(prosody.account("client"), prosody.server) as client:
            with pytest.raises(ValueError, match="full JID"):
                await client.request("server@localhost", element("ping"))

    run(scenario())


def test_stopping_an_endpoint_ends_its_waiting_requests(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        absent = prosody.account("absent")
        client = Endpoint(prosody.account("client"), prosody.server)
        await client.start()
        waiting = asyncio.ensure_future(client.request(f"{absent.jid}/sgam", element("ping"), timeout=30))
        await asyncio.sleep(0.3)
        await client.stop()
        with pytest.raises(EndpointStopped):
            await waiting
        with pytest.raises(EndpointStopped):
            await client.request(f"{absent.jid}/sgam", element("ping"))

    run(scenario())


def test_parties_in_their_own_domains_talk_through_one_server(run) -> None:
    server = Prosody(domains=("aggregator.test", "home.test"))
    try:
        server.start()

        async def scenario() -> None:
            async with Endpoint(server.account("vtn", "aggregator.test"), server.server) as vtn, \
                    Endpoint(server.account("ems", "home.test"), server.server) as ems:
                vtn.serve(NS, echo, allow=[ems.account.jid])
                answer = await ems.request(vtn.jid, element("ping", "across"))
                assert answer is not None and answer.get("sender", "").endswith("@home.test")
                assert vtn.jid.split("@")[1] == "aggregator.test/sgam"

        run(scenario())
    finally:
        server.close()


def test_a_message_that_breaks_its_handler_is_logged_and_later_ones_still_arrive(
        prosody: Prosody, run, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[str]:
        numbers: list[str] = []
        arrived = asyncio.Event()

        async def count(sender: str, payload: ET.Element) -> None:
            numbers.append(str(int(payload.text or "")))  # ValueError on anything but a number
            arrived.set()

        async with Endpoint(prosody.account("sink"), prosody.server) as sink, \
                Endpoint(prosody.account("source"), prosody.server) as source:
            sink.on_message(NS, count, allow=[source.account.jid])
            await source.send(sink.jid, element("reading", "garbage"))
            await source.send(sink.jid, element("reading", "7"))
            await asyncio.wait_for(arrived.wait(), 5)
        return numbers

    with caplog.at_level(logging.ERROR, logger="sgam.platform.xmpp"):
        assert run(scenario()) == ["7"]
    assert any("handler for" in record.getMessage() for record in caplog.records)


def canonical(node: ET.Element) -> str:
    return ET.canonicalize(ET.tostring(node, encoding="unicode"), strip_text=False)


def odd_payload(note: str = 'quote " amp & lt < tab\tnewline\n') -> ET.Element:
    """Characters to escape in text, attributes and tails; nested and unqualified namespaces; xml:lang;
    attributes in other namespaces (as openleadr's oadr:Id and ei:schemaVersion)."""
    root = element("sample", 'a < b & "c" > d', note=note)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "de")
    inner = ET.SubElement(root, "{urn:example:other}inner", {"n": "1", "{urn:example:attrs}id": "7 & 8"})
    inner.text, inner.tail = "x", " tail & <more>"
    ET.SubElement(inner, "plain").text = "no namespace"
    ET.SubElement(root, f"{{{NS}}}empty")
    return root


def test_xml_text_writes_what_elementtree_writes() -> None:
    payload = odd_payload()
    assert canonical(ET.fromstring(xml_text(payload))) == canonical(payload)


def test_a_payload_with_characters_to_escape_and_nested_namespaces_arrives_intact(prosody: Prosody, run) -> None:
    received: list[ET.Element] = []
    note = 'quote " amp & lt <'  # no tab or newline: the server passes them on unescaped, as spaces then

    async def keep(sender: str, payload: ET.Element) -> ET.Element:
        received.append(payload)
        return odd_payload(note)

    async def scenario() -> None:
        async with served(prosody, keep) as (server, client):
            answer = await client.request(server.jid, odd_payload(note))
            assert answer is not None
            assert canonical(answer) == canonical(odd_payload(note))
            assert [canonical(payload) for payload in received] == [canonical(odd_payload(note))]

    run(scenario())


def test_a_payload_handed_over_as_xml_text_goes_on_the_wire_as_it_is(prosody: Prosody, run) -> None:
    """Text, with its own prefixes, arrives as the element it writes (what openleadr's output takes)."""
    text = ('<p:sample xmlns:p="urn:example:sgam:test" xmlns:q="urn:example:attrs" q:id="7">'
            '<p:inner>x &amp; y</p:inner></p:sample>')

    async def echo(sender: str, payload: ET.Element) -> str:
        assert canonical(payload) == canonical(ET.fromstring(text))
        return text

    async def scenario() -> None:
        async with served(prosody, echo) as (server, client):
            answer = await client.request(server.jid, text)
            assert answer is not None and canonical(answer) == canonical(ET.fromstring(text))

    run(scenario())


def test_stopping_just_as_the_peer_is_reported_away_still_ends_the_request(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        absent = prosody.account("absent")
        client = Endpoint(prosody.account("client"), prosody.server)
        await client.start()
        waiting = asyncio.ensure_future(client.request(f"{absent.jid}/sgam", element("ping"), timeout=5))
        # Stop in the moment between the server's "service-unavailable" arriving and the request reading it.
        while not any(pending.answer.done() for pending in client._pending.values()):
            await asyncio.sleep(0)
        await client.stop()
        with pytest.raises(EndpointStopped):
            await waiting

    run(scenario())


def test_a_handler_cut_short_answers_its_request_and_every_repeat_that_waited_for_it(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        blocker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        calls: list[str] = []

        async def waits_on_something_cancelled(sender: str, payload: ET.Element) -> ET.Element:
            calls.append(payload.text or "")
            if payload.text == "first":
                await blocker  # e.g. a downstream operation that someone else aborts
            return element("done", payload.text or "")

        async with Endpoint(prosody.account("server"), prosody.server) as server, \
                Endpoint(prosody.account("client"), prosody.server, retry_interval=0.1) as client:
            server.serve(NS, waits_on_something_cancelled, allow=[client.account.jid])
            waiting = asyncio.ensure_future(client.request(server.jid, element("ping", "first"), timeout=10))
            while server.repeats < 2:  # the same request arrived again while its handler waited
                await asyncio.sleep(0.05)
            blocker.cancel()
            with pytest.raises(RequestFailed) as failed:
                await waiting
            assert failed.value.condition == "internal-server-error"
            assert calls == ["first"]
            answer = await client.request(server.jid, element("ping", "second"))
            assert answer is not None and answer.text == "second"

    run(scenario())


def test_stopping_an_endpoint_ends_the_handlers_still_running(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        started, ended = asyncio.Event(), asyncio.Event()

        async def never_done(sender: str, payload: ET.Element) -> None:
            started.set()
            try:
                await asyncio.get_running_loop().create_future()
            finally:
                ended.set()

        async with Endpoint(prosody.account("client"), prosody.server) as client:
            server = Endpoint(prosody.account("server"), prosody.server)
            await server.start()
            server.serve(NS, never_done, allow=[client.account.jid])
            waiting = asyncio.ensure_future(client.request(server.jid, element("ping"), timeout=30))
            await started.wait()
            await server.stop()
            assert ended.is_set()  # not left running after the device stopped
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)

    run(scenario())


def test_stanzas_that_are_not_requests_or_answers_of_ours_change_nothing(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        calls: list[str] = []

        async def slow_echo(sender: str, payload: ET.Element) -> ET.Element:
            calls.append(payload.text or "")
            await release.wait()
            return element("echo", payload.text or "")

        async with served(prosody, slow_echo) as (server, client), \
                Endpoint(prosody.account("intruder"), prosody.server) as intruder:
            server.on_message(NS, slow_echo, allow=[client.account.jid, intruder.account.jid])
            waiting = asyncio.ensure_future(client.request(server.jid, element("ping", "real")))
            while not calls:
                await asyncio.sleep(0.05)
            [request_id] = client._pending  # what an eavesdropper might guess
            forged = xml_text(element("echo", "forged"))

            def raw(sender: Endpoint, stanza: str) -> None:  # a client that writes whatever it likes
                assert sender._client is not None
                sender._client.send_raw(stanza)

            raw(intruder, f'<iq type="result" id="{request_id}" to="{client.jid}">{forged}</iq>')  # not its peer
            raw(intruder, f'<iq type="result" id="never-sent" to="{client.jid}">{forged}</iq>')
            raw(client, f'<iq type="get" id="g1" to="{server.jid}">{xml_text(element("ping", "get"))}</iq>')
            raw(client, f'<iq type="error" id="e1" to="{server.jid}">{xml_text(element("ping", "error"))}</iq>')
            for kind in ("error", "groupchat"):
                raw(intruder, f'<message type="{kind}" to="{server.jid}">{xml_text(element("ping", kind))}</message>')
            await asyncio.sleep(0.5)
            assert not waiting.done()
            release.set()
            answer = await waiting
            assert answer is not None and answer.text == "real"  # the peer's answer, not the forged one
            assert calls == ["real"]  # no IQ get or error, no error or groupchat message reached a handler
            answer = await client.request(server.jid, element("ping", "after"))
            assert answer is not None and answer.text == "after"

    run(scenario())
