"""IEC 61850 over a real Prosody: a battery and a PV inverter server, an EMS client that reads,
writes, operates and subscribes through the common services, and refusals that leave the servers
serving."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest

from sgam.platform.iec61850 import acsi
from sgam.platform.iec61850.acsi import AcsiError, DataValue
from sgam.platform.iec61850.acsi import ServiceErrorKind as E
from sgam.platform.iec61850.cdc import BasicType, Fc
from sgam.platform.iec61850.datamodel import SHIPPED, parse_model, shipped_model
from sgam.platform.iec61850.node import AcsiClient, ServerNode, Unsolicited
from sgam.platform.iec61850.server import AcsiServer
from sgam.platform.services import CommonServices, Control, Reason, Report, Reporting, RequestReply, ServiceError
from sgam.platform.xmpp import Endpoint, RequestFailed
from tests.platform.prosody import Prosody


@dataclass
class Site:
    battery: AcsiServer
    pv: AcsiServer
    battery_jid: str
    pv_jid: str
    client: AcsiClient
    ems: CommonServices
    stranger: Endpoint


@asynccontextmanager
async def site(prosody: Prosody, unsolicited: Unsolicited = "iq") -> AsyncIterator[Site]:
    async with AsyncExitStack() as stack:
        endpoints = {}
        for name in ("battery", "pv", "ems", "stranger"):
            endpoints[name] = await stack.enter_async_context(Endpoint(prosody.account(name), prosody.server))
        ems_jid = endpoints["ems"].account.jid
        servers = {}
        for name, model in (("battery", "der_battery"), ("pv", "der_pv")):
            server = AcsiServer(shipped_model(model))
            node = ServerNode(endpoints[name], server, allow=[ems_jid], unsolicited=unsolicited)
            await node.start()
            stack.push_async_callback(node.close)
            servers[name] = server
        battery_jid, pv_jid = endpoints["battery"].jid, endpoints["pv"].jid
        client = AcsiClient(endpoints["ems"], servers=[endpoints["battery"].account.jid, endpoints["pv"].account.jid])
        ems = CommonServices()
        ems.connect(battery_jid, client)
        ems.connect(pv_jid, client)
        yield Site(servers["battery"], servers["pv"], battery_jid, pv_jid, client, ems, endpoints["stranger"])


def test_the_client_offers_the_common_services() -> None:
    assert issubclass(AcsiClient, RequestReply)
    assert issubclass(AcsiClient, Reporting)
    assert issubclass(AcsiClient, Control)


def test_directories_and_data_over_xmpp(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            features, items = await s.client.endpoint.discover(s.battery_jid)
            assert acsi.NAMESPACE in features and items == [(s.battery_jid, "BATTDER")]
            directory = await s.client.call(s.battery_jid, acsi.GetLogicalDeviceDirectory("BATTDER"))
            assert isinstance(directory, acsi.GetLogicalDeviceDirectoryResponse) and "DWMX1" in directory.names
            points = await s.ems.get(
                s.battery_jid, ["MMXU1.TotW.mag.f", "ZBAT1.Soc.mag.f", "BATTDER/MMTR1.TotWh.actVal"]
            )
            assert points["MMXU1.TotW.mag.f"].value == -2500.0
            assert points["ZBAT1.Soc.mag.f"].value == 55.0
            assert points["BATTDER/MMTR1.TotWh.actVal"].value == 120000
            await s.ems.set(s.pv_jid, {"DWMX1.WMaxSptPct.setMag.f": 60.0})
            assert s.pv.value("PVDER/DWMX1.WMaxSptPct.setMag.f") == 60.0

    run(scenario())


def test_refusals_arrive_as_acsi_errors_and_the_server_keeps_serving(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            with pytest.raises(ServiceError) as caught:
                await s.ems.set(s.pv_jid, {"DWMX1.WMaxSptPct.setMag.f": 150.0})
            assert caught.value.reason is Reason.OUT_OF_RANGE
            with pytest.raises(ServiceError) as caught:
                await s.ems.get(s.pv_jid, ["MMXU1.TotWatts.mag.f"])
            assert caught.value.reason is Reason.UNKNOWN_NAME
            with pytest.raises(AcsiError) as wrong_fc:
                await s.client.call(s.pv_jid, acsi.GetDataValues("PVDER/MMXU1.TotW", Fc.ST))
            assert wrong_fc.value.error is E.INSTANCE_NOT_AVAILABLE
            with pytest.raises(ServiceError) as caught:
                await s.ems.set(s.pv_jid, {"DWMX1.WMaxSptPct.setMag.f": True})
            assert caught.value.reason is Reason.WRONG_TYPE

            with pytest.raises(AcsiError) as unselected:
                await s.client.call(
                    s.battery_jid, acsi.Operate("BATTDER/DWMX1.ModEna", DataValue(BasicType.BOOLEAN, True))
                )
            assert (unselected.value.error, unselected.value.add_cause) == (
                E.CONTROL_MUST_BE_SELECTED,
                acsi.AddCause.OBJECT_NOT_SELECTED,
            )

            malformed = ET.Element(f"{{{acsi.NAMESPACE}}}Operate", {"ref": "PVDER/DWMX1.ModEna"})
            with pytest.raises(RequestFailed) as bad:
                await s.client.endpoint.request(s.pv_jid, malformed)
            assert bad.value.condition == "bad-request" and bad.value.payload is not None
            assert acsi.decode(bad.value.payload) == acsi.ServiceError(
                E.PARAMETER_VALUE_INCONSISTENT, None, "/Operate/ctlVal: expected exactly one element, found 0"
            )
            with pytest.raises(ServiceError) as caught:
                await s.client.get(s.pv_jid.partition("/")[0], ["PVDER/MMXU1.TotW.mag.f"])
            assert caught.value.reason is Reason.INVALID and "full JID" in caught.value.text
            assert (await s.ems.get(s.pv_jid, ["MMXU1.TotW.mag.f"]))["MMXU1.TotW.mag.f"].value == 4200.0

    run(scenario())


def test_a_jid_outside_the_allow_list_is_refused_and_nothing_changes(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            write = acsi.SetDataValues(
                "PVDER/DWMX1.WMaxSptPct", Fc.SP, (DataValue(BasicType.FLOAT32, 0.0, "setMag.f"),)
            )
            with pytest.raises(RequestFailed) as refused:
                await s.stranger.request(s.pv_jid, acsi.encode(write))
            assert refused.value.condition == "forbidden"
            assert s.pv.value("PVDER/DWMX1.WMaxSptPct.setMag.f") == 100.0

    run(scenario())


def test_operate_through_the_common_services_follows_each_control_model(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            # Battery: sbo-with-enhanced-security -- the client selects with the value, operates and
            # returns only after the positive command termination.
            await s.ems.operate(s.battery_jid, "DWMX1.ModEna", True)
            assert s.battery.value("BATTDER/DWMX1.ModEna.stVal") is True
            # PV: direct-with-enhanced-security -- no select, still a termination.
            await s.ems.operate(s.pv_jid, "DWMX1.ModEna", True)
            assert s.pv.value("PVDER/DWMX1.ModEna.stVal") is True
            # direct-with-normal-security: applied when the response comes.
            await s.ems.operate(s.pv_jid, "DVAR1.ModEna", True)
            assert s.pv.value("PVDER/DVAR1.ModEna.stVal") is True
            # select, then cancel: the battery's control is free again, nothing operated.
            await s.ems.select(s.battery_jid, "DWMX1.ModEna", False)
            await s.ems.cancel(s.battery_jid, "DWMX1.ModEna")
            assert s.battery.value("BATTDER/DWMX1.ModEna.stVal") is True
            with pytest.raises(ServiceError) as caught:
                await s.ems.operate(s.pv_jid, "MMXU1.TotW", 1.0)
            assert caught.value.reason in (Reason.NOT_SUPPORTED, Reason.UNKNOWN_NAME)

    run(scenario())


def test_a_negative_command_termination_fails_the_operate(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:

            async def blocked(ref: str, value: object) -> acsi.AddCause | None:
                return acsi.AddCause.BLOCKED_BY_PROCESS

            s.pv.actuator = blocked
            with pytest.raises(ServiceError) as caught:
                await s.ems.operate(s.pv_jid, "DWMX1.ModEna", True)
            assert caught.value.reason is Reason.FAILED and "blocked-by-process" in caught.value.text
            assert s.pv.value("PVDER/DWMX1.ModEna.stVal") is False

    run(scenario())


@pytest.mark.parametrize("unsolicited", ["message", "iq"])
def test_subscribed_measurements_are_reported_as_they_change(prosody: Prosody, run, unsolicited: Unsolicited) -> None:
    async def scenario() -> None:
        async with site(prosody, unsolicited) as s:
            received: asyncio.Queue[Report] = asyncio.Queue()

            async def on_report(report: Report) -> None:
                await received.put(report)

            subscription = await s.ems.subscribe(s.battery_jid, ["MMXU1.TotW.mag.f", "ZBAT1.Soc.mag.f"], on_report)
            first = await asyncio.wait_for(received.get(), 10)  # the general interrogation
            assert {p.name: p.value for p in first.points} == {"MMXU1.TotW.mag.f": -2500.0, "ZBAT1.Soc.mag.f": 55.0}
            assert first.source == s.battery_jid

            s.battery.update("BATTDER/ZBAT1.Soc", 57.5)
            change = await asyncio.wait_for(received.get(), 10)
            assert [(p.name, p.value) for p in change.points] == [("ZBAT1.Soc.mag.f", 57.5)]
            assert change.sequence == first.sequence + 1

            s.battery.update("BATTDER/MMXU1.TotW", 0.0, quality="invalid")
            invalid = await asyncio.wait_for(received.get(), 10)
            assert invalid.points[0].quality.value == "invalid"

            await subscription.cancel()
            s.battery.update("BATTDER/ZBAT1.Soc", 60.0)
            await asyncio.sleep(0.3)
            assert received.empty()

    run(scenario())


def test_subscribing_to_a_name_no_report_carries_is_refused(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:

            async def ignore(report: Report) -> None:
                return None

            with pytest.raises(ServiceError) as caught:
                await s.ems.subscribe(s.pv_jid, ["MMTR1.TotWh.actVal"], ignore)
            assert caught.value.reason is Reason.UNKNOWN_NAME and "MMTR1.TotWh.actVal" in caught.value.text

    run(scenario())


def test_one_clients_operates_on_one_object_wait_for_each_other(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            values = [n % 2 == 0 for n in range(20)]
            await asyncio.gather(*(s.ems.operate(s.battery_jid, "DWMX1.ModEna", value) for value in values))
            assert s.battery.value("BATTDER/DWMX1.ModEna.stVal") is values[-1]

    run(scenario())


def test_reports_and_controls_survive_a_restart_of_the_xmpp_server(own_prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(own_prosody) as s:
            received: asyncio.Queue[Report] = asyncio.Queue()

            async def on_report(report: Report) -> None:
                await received.put(report)

            await s.ems.subscribe(s.battery_jid, ["ZBAT1.Soc.mag.f"], on_report)
            await asyncio.wait_for(received.get(), 10)  # general interrogation
            for restart in range(3):
                own_prosody.stop()
                s.battery.update("BATTDER/ZBAT1.Soc", 70.0 + restart)  # reported while the server is down
                own_prosody.start()
                report = await asyncio.wait_for(received.get(), 30)
                assert [p.value for p in report.points] == [70.0 + restart]
                await s.ems.operate(s.battery_jid, "DWMX1.ModEna", restart % 2 == 0)
                assert s.battery.value("BATTDER/DWMX1.ModEna.stVal") is (restart % 2 == 0)
            assert received.empty()  # each report arrived once

    run(scenario())


def test_two_subscriptions_share_a_report_control_block(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with site(prosody) as s:
            power: asyncio.Queue[Report] = asyncio.Queue()
            charge: asyncio.Queue[Report] = asyncio.Queue()
            first = await s.ems.subscribe(s.battery_jid, ["MMXU1.TotW.mag.f"], power.put)
            second = await s.ems.subscribe(s.battery_jid, ["ZBAT1.Soc.mag.f"], charge.put)
            assert [p.name for p in (await asyncio.wait_for(power.get(), 10)).points] == ["MMXU1.TotW.mag.f"]
            assert [p.name for p in (await asyncio.wait_for(charge.get(), 10)).points] == ["ZBAT1.Soc.mag.f"]
            s.battery.update("BATTDER/ZBAT1.Soc", 58.0)
            assert (await asyncio.wait_for(charge.get(), 10)).points[0].value == 58.0
            await first.cancel()  # the block stays enabled for the second subscription
            s.battery.update("BATTDER/ZBAT1.Soc", 59.0)
            assert (await asyncio.wait_for(charge.get(), 10)).points[0].value == 59.0
            await second.cancel()
            rcb = await s.client.call(s.battery_jid, acsi.GetURCBValues("BATTDER/LLN0.urcbMeas"))
            assert isinstance(rcb, acsi.GetURCBValuesResponse) and not rcb.rpt_ena and not rcb.resv
            await asyncio.sleep(0.2)
            assert power.qsize() == 1  # the GI the second subscription asked for also carried TotW; nothing since

    run(scenario())


def test_a_client_that_went_away_holds_up_no_one_and_loses_its_report_blocks(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            der, ems, gone = [
                await stack.enter_async_context(Endpoint(prosody.account(name), prosody.server))
                for name in ("der", "ems", "gone")
            ]
            server = AcsiServer(shipped_model("der_battery"))
            node = ServerNode(der, server, allow=[ems.account.jid, gone.account.jid], delivery_timeout=2)
            await node.start()
            stack.push_async_callback(node.close)
            received: asyncio.Queue[Report] = asyncio.Queue()
            client = AcsiClient(ems, servers=[der.account.jid])
            await client.subscribe(der.jid, ["ZBAT1.Soc.mag.f"], received.put)
            await asyncio.wait_for(received.get(), 10)

            async def ignore(report: Report) -> None:
                return None

            await AcsiClient(gone, servers=[der.account.jid]).subscribe(der.jid, ["DWMX1.ModEna.stVal"], ignore)
            await gone.stop()  # its reports now wait for an answer that does not come
            server.update("BATTDER/DWMX1.ModEna", True)
            server.update("BATTDER/ZBAT1.Soc", 42.0)
            report = await asyncio.wait_for(received.get(), 1)  # well before the other's delivery times out
            assert [p.value for p in report.points] == [42.0]
            await asyncio.sleep(3)  # past delivery_timeout: the unreachable client lost its report block
            values = await client.call(der.jid, acsi.GetURCBValues("BATTDER/LLN0.urcbCtl"))
            assert isinstance(values, acsi.GetURCBValuesResponse) and not values.resv

    run(scenario())


def test_wrong_or_malformed_messages_between_client_and_server_are_refused_not_crashes(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            liar, ems = [
                await stack.enter_async_context(Endpoint(prosody.account(name), prosody.server))
                for name in ("liar", "ems")
            ]

            async def wrong(sender: str, payload: ET.Element) -> ET.Element:
                return acsi.encode(acsi.SelectResponse("X/Y.Z"))

            liar.serve(acsi.NAMESPACE, wrong, allow=[ems.account.jid])
            client = AcsiClient(ems, servers=[liar.account.jid])
            with pytest.raises(ServiceError) as caught:
                await client.get(liar.jid, ["LD/MMXU1.TotW.mag.f"])
            assert caught.value.reason is Reason.UNAVAILABLE
            assert "answered GetDataValues with SelectResponse" in caught.value.text

            # The client in turn refuses a malformed push, ignores requests it does not take, and goes on.
            with pytest.raises(RequestFailed) as refused:
                await liar.request(ems.jid, ET.Element(f"{{{acsi.NAMESPACE}}}Report", {"ref": "x"}))
            assert refused.value.condition == "bad-request" and "missing attribute" in refused.value.text
            with pytest.raises(RequestFailed) as refused:
                await liar.request(ems.jid, acsi.encode(acsi.GetServerDirectory()))
            assert refused.value.condition == "feature-not-implemented"
            termination = acsi.CommandTermination("LD/DWMX1.ModEna", 1, True)
            assert await liar.request(ems.jid, acsi.encode(termination)) is None

    run(scenario())


def test_a_data_set_member_that_names_one_attribute_is_reported(prosody: Prosody, run) -> None:
    data = json.loads((SHIPPED / "der_battery.json").read_text())
    [meas] = [r for r in data["logical_devices"][0]["reports"] if r["name"] == "urcbMeas"]
    meas["members"] = [{"ref": "ZBAT1.Soc.mag.f", "fc": "MX"}]  # the attribute, not its data object

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            der, ems = [
                await stack.enter_async_context(Endpoint(prosody.account(name), prosody.server))
                for name in ("der", "ems")
            ]
            server = AcsiServer(parse_model(json.dumps(data)))
            node = ServerNode(der, server, allow=[ems.account.jid])
            await node.start()
            stack.push_async_callback(node.close)
            received: asyncio.Queue[Report] = asyncio.Queue()
            await AcsiClient(ems, servers=[der.account.jid]).subscribe(der.jid, ["ZBAT1.Soc.mag.f"], received.put)
            first = await asyncio.wait_for(received.get(), 10)  # the general interrogation
            assert [(p.name, p.value) for p in first.points] == [("ZBAT1.Soc.mag.f", 55.0)]
            server.update("BATTDER/ZBAT1.Soc", 56.0)
            change = await asyncio.wait_for(received.get(), 10)
            assert [(p.name, p.value) for p in change.points] == [("ZBAT1.Soc.mag.f", 56.0)]

    run(scenario())


def test_a_client_back_at_another_address_gets_what_waited_for_its_old_one(prosody: Prosody, run) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            der = await stack.enter_async_context(Endpoint(prosody.account("der"), prosody.server))
            account = prosody.account("ems")
            server = AcsiServer(shipped_model("der_battery"))
            node = ServerNode(der, server, allow=[account.jid], delivery_timeout=3)
            await node.start()
            stack.push_async_callback(node.close)

            before = await stack.enter_async_context(Endpoint(account, prosody.server, resource="before"))
            first: asyncio.Queue[Report] = asyncio.Queue()
            await AcsiClient(before, servers=[der.account.jid]).subscribe(der.jid, ["ZBAT1.Soc.mag.f"], first.put)
            await asyncio.wait_for(first.get(), 10)  # its general interrogation arrived
            await before.stop()  # the EMS restarts, and comes back with another resource
            server.update("BATTDER/ZBAT1.Soc", 60.0)  # this report now waits for the old address
            after = await stack.enter_async_context(Endpoint(account, prosody.server, resource="after"))
            received: asyncio.Queue[Report] = asyncio.Queue()
            await AcsiClient(after, servers=[der.account.jid]).subscribe(der.jid, ["ZBAT1.Soc.mag.f"], received.put)
            values = [p.value for _ in range(2) for p in (await asyncio.wait_for(received.get(), 10)).points]
            assert values == [60.0, 60.0]  # the waiting report, then the general interrogation it asked for
            server.update("BATTDER/ZBAT1.Soc", 61.0)  # and the block stayed its own
            assert [p.value for p in (await asyncio.wait_for(received.get(), 10)).points] == [61.0]

    run(scenario())
