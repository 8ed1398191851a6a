"""OpenADR 2.0b binding: payloads through openleadr, and the VTN and VEN roles over a real Prosody."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openleadr.messaging import create_message, parse_message, validate_xml_schema

from sgam.platform.conversion import Converter
from sgam.platform.datapoints import DataStore
from sgam.platform.jsonfile import JsonFileError
from sgam.platform.openadr import (
    FEATURE,
    NODES,
    OADR_NS,
    OpenAdrError,
    Ven,
    VenState,
    Vtn,
    common_event,
    decode,
    encode,
    oadr_event,
)
from sgam.platform.services import Event, EventReply, EventStatus, Opt, Reason, Report
from sgam.platform.xmpp import Endpoint, RequestFailed
from tests.platform.prosody import Prosody

Run = Callable[[Coroutine[Any, Any, Any]], Any]
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)  # openleadr sets the status by time
CONVERTER = Converter()


def limit_event(event_id: str = "evt-1", modification: int = 0, limit: float = 30.0,
                duration: timedelta = timedelta(hours=1), **kwargs: Any) -> Event:
    return Event(event_id, modification, {"der.active_power_limit": limit}, START, duration, **kwargs)


# --- payloads, without the network -----------------------------------------------------------------


def test_a_common_event_becomes_a_schema_valid_distribute_event_and_comes_back_the_same() -> None:
    oadr = oadr_event(limit_event(targets=("pv",)), CONVERTER, "http://mc.example", "ven-1")
    text = encode("oadrDistributeEvent", request_id="r1", vtn_id="vtn-1", events=[oadr])
    element = ET.fromstring(text)  # one element, without an XML declaration: it goes into a stanza as it is
    assert element.tag == f"{{{OADR_NS}}}oadrPayload"
    # openleadr's signing reference and schema version are part of it (the wire keeps them)
    signed = element.find(f"{{{OADR_NS}}}oadrSignedObject")
    assert signed is not None and signed.get(f"{{{OADR_NS}}}Id") == "oadrSignedObject"
    assert signed[0].get("{http://docs.oasis-open.org/ns/energyinterop/201110}schemaVersion") == "2.0b"
    message_type, payload = decode(element)
    assert decode(text) == (message_type, payload)
    assert message_type == "oadrDistributeEvent"
    [raw] = payload["events"]
    signal = raw["event_signals"][0]
    assert (signal["signal_name"], signal["signal_type"], signal["intervals"][0]["signal_payload"]) == (
        "SIMPLE",
        "level",
        2.0,
    )
    back = common_event(raw, CONVERTER, "vtn@localhost")
    assert (back.key, dict(back.signals), back.start, back.duration, back.targets) == (
        ("evt-1", 0),
        {"der.active_power_limit": 30.0},
        START,
        timedelta(hours=1),
        ("pv",),
    )


def test_a_schema_invalid_payload_is_refused_with_454_even_though_openleadr_would_parse_it() -> None:
    # An event dict without a priority renders an empty <ei:priority/>: openleadr parses it silently.
    event = {
        "event_descriptor": {"event_id": "e", "modification_number": 0, "market_context": "http://mc",
                             "event_status": "far", "created_date_time": START},
        "active_period": {"dtstart": START, "duration": timedelta(hours=1)},
        "event_signals": [{"signal_name": "SIMPLE", "signal_type": "level", "signal_id": "s",
                           "intervals": [{"dtstart": START, "duration": timedelta(hours=1), "signal_payload": 1.0}]}],
        "targets": [{"ven_id": "v"}],
    }
    xml = create_message("oadrDistributeEvent", request_id="r", vtn_id="vtn", events=[event])
    assert parse_message(xml)[0] == "oadrDistributeEvent"
    with pytest.raises(OpenAdrError, match="does not validate against the OpenADR 2.0b schema") as refused:
        decode(ET.fromstring(xml))
    assert (refused.value.code, refused.value.reason) == (454, Reason.INVALID)


def test_a_signal_the_table_does_not_know_is_refused_with_460() -> None:
    oadr = oadr_event(limit_event(), CONVERTER, "http://mc.example", "ven-1")
    raw = decode(encode("oadrDistributeEvent", request_id="r1", vtn_id="vtn-1", events=[oadr]))[1]["events"][0]
    raw["event_signals"][0]["signal_name"] = "ELECTRICITY_PRICE"
    raw["event_signals"][0]["signal_type"] = "price"
    with pytest.raises(OpenAdrError) as refused:
        common_event(raw, CONVERTER, "vtn@localhost")
    assert refused.value.code == 460


def test_an_event_time_the_ven_cannot_read_or_a_duration_openadr_would_cut_is_refused() -> None:
    oadr = oadr_event(limit_event(), CONVERTER, "http://mc.example", "ven-1")
    raw = decode(encode("oadrDistributeEvent", request_id="r1", vtn_id="vtn-1", events=[oadr]))[1]["events"][0]
    raw["active_period"]["dtstart"] = "2026-11-27T10:00:00+01:00"  # valid xs:dateTime, but openleadr reads only Z
    with pytest.raises(OpenAdrError, match="only UTC times") as unreadable:
        common_event(raw, CONVERTER, "vtn@localhost")
    assert unreadable.value.code == 454
    with pytest.raises(OpenAdrError, match="not whole seconds") as cut:
        oadr_event(limit_event(duration=timedelta(milliseconds=500)), CONVERTER, "http://mc.example", "ven-1")
    assert cut.value.code == 454


def test_an_event_whose_duration_is_negative_or_ends_past_any_date_is_refused_not_read_as_open_ended() -> None:
    text = encode("oadrDistributeEvent", request_id="r1", vtn_id="vtn-1",
                  events=[oadr_event(limit_event(), CONVERTER, "http://mc.example", "ven-1")])
    period = "<duration><duration>PT1H</duration></duration>"  # the active period's (the interval's is xcal:)
    assert text.count(period) == 1
    for odd in ("-PT1H", "P99999999D"):  # both schema-valid xs:durations
        raw = decode(text.replace(period, f"<duration><duration>{odd}</duration></duration>"))[1]["events"][0]
        with pytest.raises(OpenAdrError, match="out of range") as refused:
            common_event(raw, CONVERTER, "vtn@localhost")
        assert refused.value.code == 454


# --- VTN and VEN over Prosody ----------------------------------------------------------------------


@dataclass
class Site:
    vtn: Vtn
    ven: Ven
    vtn_endpoint: Endpoint
    ven_endpoint: Endpoint
    pv: DataStore
    applied: list[Event] = field(default_factory=list)
    answer: Opt = Opt.IN


@asynccontextmanager
async def site(prosody: Prosody, also_allowed: tuple[str, ...] = (), **options: Any) -> AsyncIterator[Site]:
    """A VTN and a VEN (with one PV resource) on their own accounts, registered; ``options`` go to the VEN."""
    vtn_account, ven_account = prosody.account("vtn"), prosody.account("ven")
    async with Endpoint(vtn_account, prosody.server, "vtn") as vtn_endpoint, \
            Endpoint(ven_account, prosody.server, "ems") as ven_endpoint:
        pv = DataStore(CONVERTER.specs)
        vtn = Vtn(vtn_endpoint, vtn_id="vtn-1", converter=CONVERTER, vens=[ven_account.jid, *also_allowed])
        holder: list[Site] = []

        async def on_event(event: Event) -> EventReply:
            holder[0].applied.append(event)
            return EventReply(event.event_id, event.modification, holder[0].answer)

        ven = Ven(ven_endpoint, ven_id="ven-1", vtn=vtn_endpoint.jid, converter=CONVERTER, resources={"pv": pv},
                  on_event=on_event, **options)
        holder.append(Site(vtn, ven, vtn_endpoint, ven_endpoint, pv))
        vtn.serve()
        ven.serve()
        await ven.register()
        yield holder[0]


def test_the_vtn_offers_openadr_by_service_discovery_and_the_ven_registers_over_xmpp(prosody: Prosody,
                                                                                      run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            features, items = await s.ven_endpoint.discover(s.vtn_endpoint.jid)
            assert FEATURE in features
            assert sorted(node for _, node in items) == sorted(NODES)
            registration = s.vtn.registrations[s.ven_endpoint.jid.partition("/")[0]]
            assert (registration.ven_id, registration.address) == ("ven-1", s.ven_endpoint.jid)
            assert registration.registration_id == s.ven.registration_id
            query = encode("oadrQueryRegistration", request_id="q1")
            answered = decode(await s.ven_endpoint.request(s.vtn_endpoint.jid, query))
            assert answered[0] == "oadrCreatedPartyRegistration"
            assert answered[1]["registration_id"] == s.ven.registration_id
            assert [t["transport_name"] for t in answered[1]["profiles"][0]["transports"]] == ["xmpp"]
            assert set(registration.items) == {"pv/der.active_power", "pv/der.reactive_power", "pv/der.energy",
                                               "pv/der.frequency"}

    run(scenario())


def test_each_event_version_is_applied_once_and_an_older_one_is_out_of_sequence(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            peer = s.ven_endpoint.jid
            assert (await s.vtn.distribute(peer, limit_event())).opt is Opt.IN
            assert (await s.vtn.distribute(peer, limit_event())).opt is Opt.IN  # repeated: not applied again
            s.answer = Opt.OUT
            modified = await s.vtn.distribute(peer, limit_event(modification=1, limit=60.0))
            assert modified.opt is Opt.OUT
            with pytest.raises(OpenAdrError) as late:
                await s.vtn.distribute(peer, limit_event(modification=0))
            assert late.value.code == 450
            cancelled = await s.vtn.distribute(peer, limit_event(modification=2, status=EventStatus.CANCELLED))
            assert cancelled.modification == 2
            assert [(e.key, e.signals["der.active_power_limit"], e.status) for e in s.applied] == [
                (("evt-1", 0), 30.0, EventStatus.PENDING),
                (("evt-1", 1), 60.0, EventStatus.PENDING),
                (("evt-1", 2), 30.0, EventStatus.CANCELLED),
            ]
            assert s.applied[0].source == s.vtn_endpoint.jid.partition("/")[0]

    run(scenario())


def test_reports_flow_from_the_ven_store_to_the_vtn_subscriber_until_cancelled(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            received: asyncio.Queue[Report] = asyncio.Queue()

            async def collect(report: Report) -> None:
                received.put_nowait(report)

            s.pv.set("der.active_power", 1500.0)
            subscription = await s.vtn.subscribe(s.ven_endpoint.jid, ["pv/der.active_power", "pv/der.energy"],
                                                 collect)
            first = await asyncio.wait_for(received.get(), 10)  # the current value, right away
            assert [(p.name, p.value, p.unit) for p in first.points] == [("pv/der.active_power", 1500.0, "W")]
            s.pv.set("der.active_power", 1200.0)
            s.pv.set("der.energy", 42.0)
            s.pv.set("der.frequency", 50.0)  # not subscribed
            second = await asyncio.wait_for(received.get(), 10)
            assert sorted((p.name, p.value) for p in second.points) == [("pv/der.active_power", 1200.0),
                                                                        ("pv/der.energy", 42.0)]
            assert second.source == s.ven_endpoint.jid.partition("/")[0]
            await subscription.cancel()
            s.pv.set("der.active_power", 900.0)
            await asyncio.sleep(0.3)
            assert received.empty()
            with pytest.raises(OpenAdrError) as unknown:
                await s.vtn.subscribe(s.ven_endpoint.jid, ["pv/der.state_of_charge"], collect)
            assert unknown.value.code == 461

    run(scenario())


def test_the_vtn_takes_reports_only_for_requests_it_made_of_that_ven_while_registered(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        other = prosody.account("other")
        async with site(prosody, also_allowed=(other.jid,)) as s, \
                Endpoint(other, prosody.server, "ems") as other_endpoint:
            async def never(event: Event) -> EventReply:
                raise AssertionError("no events here")

            other_ven = Ven(other_endpoint, ven_id="ven-2", vtn=s.vtn_endpoint.jid, converter=CONVERTER,
                            resources={"pv": DataStore(CONVERTER.specs)}, on_event=never)
            other_ven.serve()
            await other_ven.register()  # registered, with the same rIDs as the first VEN
            received: list[Report] = []

            async def collect(report: Report) -> None:
                received.append(report)

            subscription = await s.vtn.subscribe(s.ven_endpoint.jid, ["pv/der.active_power"], collect)

            def update(request_id: str) -> str:
                return encode("oadrUpdateReport", request_id="u1", ven_id="ven-2", reports=[{
                    "report_id": "forged", "report_request_id": request_id, "report_specifier_id": Ven.REPORT_SPECIFIER,
                    "report_name": "TELEMETRY_USAGE", "created_date_time": START, "dtstart": START,
                    "duration": timedelta(0), "intervals": [
                        {"dtstart": START, "report_payload": {"r_id": "pv/der.active_power", "value": 9.9}}]}])

            for request_id in (subscription.request_id, "never-requested"):  # the first VEN's, and nobody's
                answer = decode(await other_endpoint.request(s.vtn_endpoint.jid, update(request_id)))[1]
                assert answer["response"]["response_code"] == 452
            mine = await s.vtn.subscribe(other_endpoint.jid, ["pv/der.active_power"], collect)
            await s.vtn.cancel_registration(other_endpoint.jid)  # the reports asked of it end with it
            await other_ven.register()
            answer = decode(await other_endpoint.request(s.vtn_endpoint.jid, update(mine.request_id)))[1]
            assert answer["response"]["response_code"] == 452
            assert received == []

    run(scenario())


def test_a_report_request_the_ven_cannot_serve_refuses_the_whole_oadr_create_report(prosody: Prosody,
                                                                                  run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            def request(request_id: str, r_id: str) -> dict[str, Any]:
                return {"report_request_id": request_id, "report_specifier": {
                    "report_specifier_id": Ven.REPORT_SPECIFIER, "granularity": timedelta(0),
                    "report_back_duration": timedelta(0),
                    "specifier_payloads": [{"r_id": r_id, "reading_type": "Direct Read"}]}}

            create = encode("oadrCreateReport", request_id="c1", ven_id="ven-1", report_requests=[
                request("servable", "pv/der.active_power"), request("unservable", "wind/der.active_power")])
            answer = decode(await s.vtn_endpoint.request(s.ven_endpoint.jid, create))[1]
            assert (answer["response"]["response_code"], answer.get("pending_reports") or []) == (461, [])
            cancel = encode("oadrCancelReport", request_id="c2", ven_id="ven-1", report_request_id="servable",
                            report_to_follow=False)
            answer = decode(await s.vtn_endpoint.request(s.ven_endpoint.jid, cancel))[1]
            assert answer["response"]["response_code"] == 452  # the servable one was not taken on either

    run(scenario())


def test_opts_are_created_and_cancelled_at_the_vtn(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            opt_id = await s.ven.opt("evt-1", 0, Opt.OUT, "emergency")
            registration = s.vtn.registrations[s.ven_endpoint.jid.partition("/")[0]]
            assert registration.opts[opt_id]["opt_type"] == "optOut"
            await s.ven.cancel_opt(opt_id)
            assert opt_id not in registration.opts
            with pytest.raises(OpenAdrError) as unknown:
                await s.ven.cancel_opt(opt_id)
            assert unknown.value.code == 452

    run(scenario())


def test_bad_and_unwelcome_payloads_are_answered_with_errors_and_the_ven_keeps_serving(prosody: Prosody,
                                                                                       run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            peer = s.ven_endpoint.jid
            not_openadr = ET.fromstring(f'<oadrPayload xmlns="{OADR_NS}"><nonsense/></oadrPayload>')
            with pytest.raises(RequestFailed) as bad:
                await s.vtn_endpoint.request(peer, not_openadr)
            assert bad.value.condition == "bad-request"
            assert bad.value.payload is not None
            assert decode(bad.value.payload)[1]["response"]["response_code"] == 454
            price = create_message("oadrDistributeEvent", request_id="r9", vtn_id="vtn-1", events=[
                oadr_event(limit_event("evt-price"), CONVERTER, "http://mc", "ven-1")]).replace(
                "<ei:signalName>SIMPLE</ei:signalName>", "<ei:signalName>ELECTRICITY_PRICE</ei:signalName>").replace(
                "<ei:signalType>level</ei:signalType>", "<ei:signalType>price</ei:signalType>")
            validate_xml_schema(price)
            answer = decode(await s.vtn_endpoint.request(peer, ET.fromstring(price)))[1]
            [response] = answer["event_responses"]
            assert (response["response_code"], response["opt_type"]) == (460, "optOut")
            async with Endpoint(prosody.account("stranger"), prosody.server) as stranger:
                with pytest.raises(RequestFailed) as forbidden:
                    await stranger.request(peer, encode("oadrDistributeEvent", request_id="r", vtn_id="x", events=[
                        oadr_event(limit_event("evt-x"), CONVERTER, "http://mc", "ven-1")]))
                assert forbidden.value.condition == "forbidden"
            assert (await s.vtn.distribute(peer, limit_event("evt-2"))).opt is Opt.IN
            assert [e.event_id for e in s.applied] == ["evt-2"]

    run(scenario())


def test_ids_with_xml_special_characters_are_answered_intact(prosody: Prosody, run: Run) -> None:
    odd = 'a&b<c>"d'  # any xs:string; openleadr writes ids into its templates without escaping them (encode does)

    async def scenario() -> None:
        async with site(prosody) as s:
            event = oadr_event(limit_event(), CONVERTER, "http://mc", "ven-1")
            event.event_descriptor.event_id = odd
            distribute = encode("oadrDistributeEvent", request_id=odd, vtn_id="vtn-1", events=[event])
            answer = decode(await s.vtn_endpoint.request(s.ven_endpoint.jid, distribute))[1]
            [response] = answer["event_responses"]
            assert (response["request_id"], response["event_id"], response["response_code"]) == (odd, odd, 200)
            assert [e.event_id for e in s.applied] == [odd]
            await s.ven.opt(odd, 0, Opt.OUT)
            opt = encode("oadrCreateOpt", request_id="r1", opt_id=odd, opt_type="optIn",
                         opt_reason="participating", ven_id="ven-1", created_date_time=START, event_id="e",
                         modification_number=0)
            answer = decode(await s.ven_endpoint.request(s.vtn_endpoint.jid, opt))[1]
            assert (answer["response"]["response_code"], answer["opt_id"]) == (200, odd)

    run(scenario())


def test_every_text_of_a_payload_is_escaped_once_whatever_it_holds() -> None:
    odd = 'ven & co <"x">'
    response = {"response_code": 454, "response_description": f"{odd} is not known", "request_id": odd}
    event = oadr_event(limit_event(odd), CONVERTER, "http://mc.example/?a=1&b=2", odd)  # an openleadr object
    _, payload = decode(encode("oadrDistributeEvent", request_id=odd, vtn_id=odd, events=[event]))
    [raw] = payload["events"]
    assert (payload["vtn_id"], raw["event_descriptor"]["event_id"], raw["targets"][0]["ven_id"]) == (odd, odd, odd)
    assert raw["event_descriptor"]["market_context"] == "http://mc.example/?a=1&b=2"
    assert decode(encode("oadrResponse", response=response, ven_id=odd))[1]["response"] == response


def test_an_event_ending_near_the_last_representable_date_is_applied_and_answered(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:  # kept for the retention window after its end: past year 9999
            late = limit_event("evt-late", duration=datetime(9999, 12, 31, 23, 0, tzinfo=UTC) - START)
            assert (await s.vtn.distribute(s.ven_endpoint.jid, late)).opt is Opt.IN
            assert (await s.vtn.distribute(s.ven_endpoint.jid, late)).opt is Opt.IN  # the same version again
            assert [e.event_id for e in s.applied] == ["evt-late"]

    run(scenario())


def test_the_vtn_refuses_unregistered_vens_and_foreign_transport_addresses(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        other = prosody.account("other")  # allowed on the wire, but never registered
        async with site(prosody, also_allowed=(other.jid,)) as s:
            vtn = s.vtn_endpoint.jid
            async with Endpoint(other, prosody.server, "ems") as endpoint:
                opt = encode("oadrCreateOpt", request_id="r1", opt_id="o1", opt_type="optIn",
                             opt_reason="participating", ven_id="ven-x", created_date_time=START, event_id="evt-1",
                             modification_number=0)
                answer = decode(await endpoint.request(vtn, opt))[1]
                assert answer["response"]["response_code"] == 463
                registration = encode("oadrCreatePartyRegistration", request_id="r2", ven_id="ven-x",
                                      ven_name="x", profile_name="2.0b", transport_name="xmpp",
                                      transport_address="someone@else.example/ems", report_only=False,
                                      xml_signature=False, http_pull_model=False)
                answer = decode(await endpoint.request(vtn, registration))[1]
                assert answer["response"]["response_code"] == 451

    run(scenario())


def test_the_vtn_asks_for_a_new_registration_and_ends_one(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            peer = s.ven_endpoint.jid
            first = s.ven.registration_id
            await s.vtn.request_reregistration(peer)
            assert s.ven.reregistration is not None
            assert await asyncio.wait_for(s.ven.reregistration, 10) == first  # known VEN: same registration
            await s.vtn.cancel_registration(peer)
            assert s.ven.registration_id is None
            assert peer.partition("/")[0] not in s.vtn.registrations
            with pytest.raises(OpenAdrError) as gone:
                await s.vtn.distribute(peer, limit_event())
            assert gone.value.code == 463

    run(scenario())


def test_a_registration_id_that_is_not_the_partys_own_is_refused_with_452_and_changes_nothing(prosody: Prosody,
                                                                                              run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            vtn, ven, bare = s.vtn_endpoint.jid, s.ven_endpoint.jid, s.ven_endpoint.jid.partition("/")[0]
            own = s.ven.registration_id
            assert own is not None
            cancel = encode("oadrCancelPartyRegistration", request_id="c1", registration_id="someone-elses",
                            ven_id="ven-1")
            for to, sender in ((vtn, s.ven_endpoint), (ven, s.vtn_endpoint)):  # the VEN cancels, the VTN cancels
                answer = decode(await sender.request(to, cancel))[1]
                assert answer["response"]["response_code"] == 452
            assert s.vtn.registrations[bare].registration_id == own
            assert s.ven.registration_id == own
            again = encode("oadrCreatePartyRegistration", request_id="r2", registration_id="someone-elses",
                           ven_id="ven-1", ven_name="ven-1", profile_name="2.0b", transport_name="xmpp",
                           transport_address=ven, report_only=False, xml_signature=False, http_pull_model=False)
            answer = decode(await s.ven_endpoint.request(vtn, again))[1]
            assert answer["response"]["response_code"] == 452
            assert s.vtn.registrations[bare].registration_id == own
            assert (await s.vtn.distribute(ven, limit_event())).opt is Opt.IN  # both still registered

    run(scenario())


def test_an_event_for_another_ven_or_unknown_resources_is_refused_with_462(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            peer = s.ven_endpoint.jid
            for_other = oadr_event(limit_event("evt-other"), CONVERTER, "http://mc", "someone-else")
            answer = decode(await s.vtn_endpoint.request(peer, encode(
                "oadrDistributeEvent", request_id="r1", vtn_id="vtn-1", events=[for_other])))[1]
            [response] = answer["event_responses"]
            assert (response["response_code"], response["opt_type"]) == (462, "optOut")
            with pytest.raises(OpenAdrError) as unknown:
                await s.vtn.distribute(peer, limit_event("evt-wind", targets=("wind-turbine",)))
            assert unknown.value.code == 462
            assert s.applied == []
            assert (await s.vtn.distribute(peer, limit_event("evt-pv", targets=("pv",)))).opt is Opt.IN
            assert [e.targets for e in s.applied] == [("pv",)]

    run(scenario())


def test_the_ven_refuses_with_452_what_the_vtn_addressed_to_another_ven_id(prosody: Prosody, run: Run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            own = s.ven.registration_id
            for message_type, payload in (
                ("oadrCancelPartyRegistration", {"registration_id": own}),
                ("oadrRequestReregistration", {}),
                ("oadrCreateReport", {"report_requests": [{"report_request_id": "q1", "report_specifier": {
                    "report_specifier_id": Ven.REPORT_SPECIFIER, "granularity": timedelta(0),
                    "report_back_duration": timedelta(0),
                    "specifier_payloads": [{"r_id": "pv/der.active_power", "reading_type": "Direct Read"}]}}]}),
            ):
                text = encode(message_type, request_id="r1", ven_id="ven-2", **payload)
                message_type, answer = decode(await s.vtn_endpoint.request(s.ven_endpoint.jid, text))
                assert (message_type, answer["response"]["response_code"]) == ("oadrResponse", 452)
            assert (s.ven.registration_id, s.ven.reregistration) == (own, None)
            cancel = encode("oadrCancelReport", request_id="r2", ven_id="ven-1", report_request_id="q1",
                            report_to_follow=False)
            answer = decode(await s.vtn_endpoint.request(s.ven_endpoint.jid, cancel))[1]
            assert answer["response"]["response_code"] == 452  # the report was never taken on

    run(scenario())


def test_a_restarted_ven_keeps_its_applied_event_versions_in_its_state_file(prosody: Prosody, run: Run,
                                                                           tmp_path: Path) -> None:
    state = tmp_path / "ven-state.json"
    applied: list[tuple[str, int]] = []

    async def on_event(event: Event) -> EventReply:
        applied.append(event.key)
        return EventReply(event.event_id, event.modification, Opt.IN)

    async def scenario() -> None:
        vtn_account, ven_account = prosody.account("vtn"), prosody.account("ven")
        async with Endpoint(vtn_account, prosody.server, "vtn") as vtn_endpoint:
            vtn = Vtn(vtn_endpoint, vtn_id="vtn-1", converter=CONVERTER, vens=[ven_account.jid])
            vtn.serve()
            for life, modifications in enumerate(([0], [0, 1], [0])):  # the VEN process starts three times
                async with Endpoint(ven_account, prosody.server, "ems") as ven_endpoint:
                    ven = Ven(ven_endpoint, ven_id="ven-1", vtn=vtn_endpoint.jid, converter=CONVERTER,
                              resources={"pv": DataStore(CONVERTER.specs)}, on_event=on_event, state=state)
                    ven.serve()
                    await ven.register()
                    for modification in modifications:
                        if (life, modification) == (2, 0):
                            with pytest.raises(OpenAdrError) as late:
                                await vtn.distribute(ven_endpoint.jid, limit_event(modification=modification))
                            assert late.value.code == 450
                        else:
                            reply = await vtn.distribute(ven_endpoint.jid, limit_event(modification=modification))
                            assert reply.opt is Opt.IN

    run(scenario())
    assert applied == [("evt-1", 0), ("evt-1", 1)]
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(JsonFileError, match=r"ven-state.json: line 1, column 2: not JSON.*\n.*not a VenState file; move it away"):
        Ven(None, ven_id="v", vtn="vtn@localhost/vtn", converter=CONVERTER, resources={},  # type: ignore[arg-type]
            on_event=on_event, state=state)


def test_the_ven_forgets_an_event_version_once_the_event_ended_plus_the_retention_window(
    prosody: Prosody, run: Run, tmp_path: Path
) -> None:
    state = tmp_path / "ven.json"
    now = [START - timedelta(hours=1)]  # the VEN's clock, moved by the test

    async def scenario() -> None:
        async with site(prosody, state=state, clock=lambda: now[0]) as s:
            peer = s.ven_endpoint.jid

            async def distribute(event: Event) -> None:
                assert (await s.vtn.distribute(peer, event)).opt is Opt.IN

            def later(event: Event) -> Event:  # START + 3 h for an hour: kept until START + 5 h
                return replace(event, start=START + timedelta(hours=3))

            def kept() -> tuple[set[str], set[str]]:
                return set(s.ven._applied), set(VenState.model_validate_json(state.read_text()).events)

            for number in range(1, 4):  # START + 1 h, kept until START + 2 h
                await distribute(limit_event(f"evt-{number}"))
            await distribute(limit_event("evt-open", duration=timedelta(0)))  # no end: kept until cancelled
            now[0] = START + timedelta(hours=1, minutes=30)
            await distribute(limit_event("evt-1"))  # within the window: the first answer, not applied again
            assert [e.event_id for e in s.applied] == ["evt-1", "evt-2", "evt-3", "evt-open"]

            now[0] = START + timedelta(hours=2, seconds=1)
            await distribute(later(limit_event("evt-4")))
            assert kept() == ({"evt-open", "evt-4"}, {"evt-open", "evt-4"})
            await distribute(limit_event("evt-1"))  # forgotten: it reaches the application again
            assert [e.event_id for e in s.applied][-1] == "evt-1"
            assert kept()[0] == {"evt-open", "evt-4"}  # and is forgotten at once: its window is over

            await distribute(limit_event("evt-open", modification=1, status=EventStatus.CANCELLED))
            now[0] += timedelta(minutes=59)
            await distribute(later(limit_event("evt-5")))
            assert kept()[0] == {"evt-open", "evt-4", "evt-5"}  # cancelled less than the window ago
            now[0] += timedelta(minutes=2)
            await distribute(later(limit_event("evt-6")))
            assert kept() == ({"evt-4", "evt-5", "evt-6"}, {"evt-4", "evt-5", "evt-6"})

    run(scenario())
    # a restarted VEN knows until when to keep what it read
    restarted = Ven(None, ven_id="ven-1", vtn="vtn@localhost/vtn", converter=CONVERTER,  # type: ignore[arg-type]
                    resources={}, on_event=None, state=state, clock=lambda: now[0])  # type: ignore[arg-type]
    assert {event_id: known.kept_until for event_id, known in restarted._applied.items()} == {
        f"evt-{number}": START + timedelta(hours=5) for number in (4, 5, 6)}
    state.write_text('{"format": "sgam-ven-state/1", "events": {}}', encoding="utf-8")
    with pytest.raises(JsonFileError, match=r"ven.json: /format: .*sgam-ven-state/2.*\n.*not a VenState file"):
        Ven(None, ven_id="ven-1", vtn="vtn@localhost/vtn", converter=CONVERTER,  # type: ignore[arg-type]
            resources={}, on_event=None, state=state)  # type: ignore[arg-type]
