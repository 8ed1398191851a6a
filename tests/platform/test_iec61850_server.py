"""The ACSI server's service logic on the shipped battery model, without a network: directories,
data access, the control models of IEC 61850-7-2 and unbuffered reports."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sgam.platform.iec61850 import acsi
from sgam.platform.iec61850.acsi import AcsiError, AddCause, DataValue
from sgam.platform.iec61850.acsi import ServiceErrorKind as E
from sgam.platform.iec61850.cdc import BasicType, Fc
from sgam.platform.iec61850.datamodel import SHIPPED, parse_model, shipped_model
from sgam.platform.iec61850.server import AcsiServer

EMS, OTHER = "ems@localhost", "intruder@localhost"
B, F = BasicType.BOOLEAN, BasicType.FLOAT32
MOD_ENA, LIMIT = "BATTDER/DWMX1.ModEna", "BATTDER/DWMX1.WMaxSptPct"


class Rig:
    """A battery server, a fake clock for sboTimeout, and what the server sent on its own."""

    def __init__(self, **options: Any) -> None:
        self.now = 0.0
        self.sent: list[tuple[str, acsi.Unsolicited]] = []
        self.server = AcsiServer(
            shipped_model("der_battery"), lambda c, m: self.sent.append((c, m)), clock=lambda: self.now, **options
        )

    async def ask(self, request: acsi.Request, client: str = EMS) -> acsi.Response:
        response = await self.server.handle(client, request)
        await asyncio.sleep(0)  # let a pending command termination run
        await asyncio.sleep(0)
        return response

    async def refused(self, request: acsi.Request, client: str = EMS) -> AcsiError:
        return await self.refused_by(self.server, request, client)

    @staticmethod
    async def refused_by(server: AcsiServer, request: acsi.Request, client: str = EMS) -> AcsiError:
        with pytest.raises(AcsiError) as caught:
            await server.handle(client, request)
        return caught.value


def run(test: Callable[[Rig], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        rig = Rig(**options)
        try:
            await test(rig)
        finally:
            await rig.server.close()

    asyncio.run(main())


def on(value: bool) -> DataValue:
    return DataValue(B, value)


def test_directories_walk_server_device_node() -> None:
    async def body(rig: Rig) -> None:
        assert await rig.ask(acsi.GetServerDirectory()) == acsi.GetServerDirectoryResponse(("BATTDER",))
        ld = await rig.ask(acsi.GetLogicalDeviceDirectory("BATTDER"))
        assert isinstance(ld, acsi.GetLogicalDeviceDirectoryResponse) and "ZBAT1" in ld.names
        ln = await rig.ask(acsi.GetLogicalNodeDirectory("BATTDER/DWMX1"))
        assert isinstance(ln, acsi.GetLogicalNodeDirectoryResponse) and ln.names == ("ModEna", "WMaxSptPct")
        rcbs = await rig.ask(acsi.GetLogicalNodeDirectory("BATTDER/LLN0", acsi.AcsiClass.URCB))
        assert isinstance(rcbs, acsi.GetLogicalNodeDirectoryResponse) and rcbs.names == ("urcbMeas", "urcbCtl")
        definition = await rig.ask(acsi.GetDataDefinition(MOD_ENA))
        assert isinstance(definition, acsi.GetDataDefinitionResponse) and definition.cdc == "SPC"
        assert acsi.AttributeDefinition("ctlModel", Fc.CF, BasicType.ENUM) in definition.attributes
        error = await rig.refused(acsi.GetLogicalNodeDirectory("BATTDER/DWMX2"))
        assert error.error is E.INSTANCE_NOT_AVAILABLE and "did you mean BATTDER/DWMX1" in error.text

    run(body)


def test_get_data_values_by_object_attribute_and_node() -> None:
    async def body(rig: Rig) -> None:
        whole = await rig.ask(acsi.GetDataValues("BATTDER/MMXU1.TotW", Fc.MX))
        assert isinstance(whole, acsi.GetDataValuesResponse)
        assert [(v.name, v.type) for v in whole.values] == [
            ("mag.f", F),
            ("q", BasicType.QUALITY),
            ("t", BasicType.TIMESTAMP),
        ]
        assert whole.values[0].value == -2500.0
        one = await rig.ask(acsi.GetDataValues("BATTDER/MMXU1.TotW.mag.f", Fc.MX))
        assert one == acsi.GetDataValuesResponse("BATTDER/MMXU1.TotW.mag.f", Fc.MX, (DataValue(F, -2500.0, ""),))
        node = await rig.ask(acsi.GetDataValues("BATTDER/DWMX1", Fc.SP))
        assert isinstance(node, acsi.GetDataValuesResponse) and node.values == (
            DataValue(F, 100.0, "WMaxSptPct.setMag.f"),
        )

    run(body)


def test_wrong_fc_and_unknown_reference_are_instance_not_available() -> None:
    async def body(rig: Rig) -> None:
        error = await rig.refused(acsi.GetDataValues("BATTDER/MMXU1.TotW", Fc.SP))
        assert error.error is E.INSTANCE_NOT_AVAILABLE and "the functional constraints there are MX" in error.text
        error = await rig.refused(acsi.GetDataValues("BATTDER/MMXU1.TotWh", Fc.MX))
        assert error.error is E.INSTANCE_NOT_AVAILABLE

    run(body)


def test_set_data_values_checks_fc_type_and_range_and_is_all_or_nothing() -> None:
    async def body(rig: Rig) -> None:
        written: list[tuple[str, object]] = []
        rig.server.on_write(lambda ref, value: written.append((ref, value)))
        assert await rig.ask(acsi.SetDataValues(LIMIT, Fc.SP, (DataValue(F, 40.0, "setMag.f"),)))
        assert rig.server.value(f"{LIMIT}.setMag.f") == 40.0
        assert written == [(f"{LIMIT}.setMag.f", 40.0)]
        error = await rig.refused(acsi.SetDataValues(LIMIT, Fc.SP, (DataValue(F, 140.0, "setMag.f"),)))
        assert error.error is E.PARAMETER_VALUE_INAPPROPRIATE and "outside 0.0..100.0" in error.text
        error = await rig.refused(acsi.SetDataValues(LIMIT, Fc.SP, (DataValue(B, True, "setMag.f"),)))
        assert error.error is E.TYPE_CONFLICT
        error = await rig.refused(acsi.SetDataValues("BATTDER/MMXU1.TotW", Fc.MX, (DataValue(F, 1.0, "mag.f"),)))
        assert error.error is E.ACCESS_VIOLATION
        error = await rig.refused(
            acsi.SetDataValues(LIMIT, Fc.SP, (DataValue(F, 1.0, "setMag.f"), DataValue(F, 1.0, "x")))
        )
        assert error.error is E.INSTANCE_NOT_AVAILABLE
        assert rig.server.value(f"{LIMIT}.setMag.f") == 40.0  # the refused writes changed nothing
        assert len(written) == 1

    run(body)


def test_readers_outside_the_operators_may_not_write_or_control() -> None:
    async def body(rig: Rig) -> None:
        assert await rig.ask(acsi.GetDataValues(LIMIT, Fc.SP), client=OTHER)
        error = await rig.refused(acsi.SetDataValues(LIMIT, Fc.SP, (DataValue(F, 1.0, "setMag.f"),)), client=OTHER)
        assert (error.error, error.add_cause) == (E.ACCESS_VIOLATION, AddCause.NO_ACCESS_AUTHORITY)
        error = await rig.refused(acsi.Operate("BATTDER/DVAR1.ModEna", on(True)), client=OTHER)
        assert error.error is E.ACCESS_VIOLATION

    run(body, operators=frozenset({EMS}))


def test_direct_normal_operate_applies_before_answering() -> None:
    async def body(rig: Rig) -> None:
        written: list[tuple[str, object]] = []
        rig.server.on_write(lambda ref, value: written.append((ref, value)))
        await rig.ask(acsi.Operate("BATTDER/DVAR1.ModEna", on(True), ctl_num=5))
        assert written == [("BATTDER/DVAR1.ModEna.stVal", True)]  # the device hears of it
        assert rig.server.value("BATTDER/DVAR1.ModEna.stVal") is True
        assert rig.sent == []  # normal security: no command termination
        error = await rig.refused(acsi.Operate("BATTDER/MMXU1.TotW", DataValue(F, 1.0)))
        assert (error.error, error.add_cause) == (E.ACCESS_VIOLATION, AddCause.NOT_SUPPORTED)
        error = await rig.refused(acsi.Operate("BATTDER/DVAR1.ModEna", DataValue(F, 1.0)))
        assert error.error is E.TYPE_CONFLICT

    run(body)


def test_sbo_enhanced_needs_select_with_value_then_terminates() -> None:
    async def body(rig: Rig) -> None:
        error = await rig.refused(acsi.Operate(MOD_ENA, on(True), ctl_num=1))
        assert (error.error, error.add_cause) == (E.CONTROL_MUST_BE_SELECTED, AddCause.OBJECT_NOT_SELECTED)
        error = await rig.refused(acsi.Select(MOD_ENA))
        assert "SelectWithValue" not in error.text and error.add_cause is AddCause.NOT_SUPPORTED
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=1))
        error = await rig.refused(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=9), client=OTHER)
        assert error.error is E.INSTANCE_LOCKED_BY_OTHER_CLIENT
        error = await rig.refused(acsi.Operate(MOD_ENA, on(True), ctl_num=2))
        assert error.add_cause is AddCause.INCONSISTENT_PARAMETERS
        assert await rig.ask(acsi.Operate(MOD_ENA, on(True), ctl_num=1)) == acsi.OperateResponse(MOD_ENA, 1)
        assert rig.sent == [(EMS, acsi.CommandTermination(MOD_ENA, 1, True, None))]
        assert rig.server.value(f"{MOD_ENA}.stVal") is True
        error = await rig.refused(acsi.Operate(MOD_ENA, on(False), ctl_num=1))  # the selection was used up
        assert error.error is E.CONTROL_MUST_BE_SELECTED

    run(body)


def test_selection_expires_after_sbo_timeout_and_cancel_releases_it() -> None:
    async def body(rig: Rig) -> None:
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=1))
        rig.now += 31  # the model's sboTimeout is 30 s
        error = await rig.refused(acsi.Operate(MOD_ENA, on(True), ctl_num=1))
        assert error.error is E.CONTROL_MUST_BE_SELECTED
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=2))
        await rig.ask(acsi.Cancel(MOD_ENA, on(True), ctl_num=2))
        assert (await rig.refused(acsi.Cancel(MOD_ENA, on(True), ctl_num=2))).add_cause is AddCause.OBJECT_NOT_SELECTED
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=3), client=OTHER)  # free for others again

    run(body)


def test_a_refusing_device_ends_with_a_negative_termination() -> None:
    async def refuse(ref: str, value: object) -> AddCause | None:
        return AddCause.BLOCKED_BY_PROCESS

    async def body(rig: Rig) -> None:
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=4))
        await rig.ask(acsi.Operate(MOD_ENA, on(True), ctl_num=4))
        assert rig.sent == [(EMS, acsi.CommandTermination(MOD_ENA, 4, False, AddCause.BLOCKED_BY_PROCESS))]
        error = await rig.refused(acsi.Operate("BATTDER/DVAR1.ModEna", on(True)))  # direct-normal: refused at once
        assert error.add_cause is AddCause.BLOCKED_BY_PROCESS

    run(body, actuator=refuse)


def test_behaviour_off_blocks_controls() -> None:
    async def body(rig: Rig) -> None:
        rig.server.update("BATTDER/LLN0.Beh", 5)
        error = await rig.refused(acsi.Operate("BATTDER/DVAR1.ModEna", on(True)))
        assert error.add_cause is AddCause.BLOCKED_BY_MODE

    run(body)


def reports(rig: Rig) -> list[acsi.Report]:
    return [message for _, message in rig.sent if isinstance(message, acsi.Report)]


def test_enabled_report_block_reports_changes_of_its_members_to_its_owner() -> None:
    async def body(rig: Rig) -> None:
        rcb = "BATTDER/LLN0.urcbMeas"
        rig.server.update("BATTDER/MMXU1.TotW", -1000.0)  # nobody subscribed yet: no report
        assert rig.sent == []
        values = await rig.ask(acsi.SetURCBValues(rcb, rpt_ena=True, gi=True))
        assert isinstance(values, acsi.SetURCBValuesResponse) and values.rpt_ena and values.resv
        [gi] = reports(rig)
        assert [e.reason for e in gi.entries] == ["general-interrogation"] * 3
        assert gi.entries[0].values[0] == DataValue(F, -1000.0, "mag.f")
        rig.server.update("BATTDER/ZBAT1.Soc", 61.0)
        rig.server.update("BATTDER/ZBAT1.Soc", 61.0)  # no change, no report
        rig.server.update("BATTDER/MMTR1.TotWh", 5)  # not a member
        [_, change] = reports(rig)
        assert (change.seq_num, change.entries[0].ref, change.entries[0].reason) == (
            1,
            "BATTDER/ZBAT1.Soc",
            "data-change",
        )
        assert all(client == EMS for client, _ in rig.sent)
        error = await rig.refused(acsi.SetURCBValues(rcb, rpt_ena=True), client=OTHER)
        assert error.error is E.INSTANCE_LOCKED_BY_OTHER_CLIENT
        await rig.ask(acsi.SetURCBValues(rcb, rpt_ena=False))
        rig.server.update("BATTDER/ZBAT1.Soc", 62.0)
        assert len(reports(rig)) == 2

    run(body)


def test_control_block_reports_settings_and_operations() -> None:
    async def body(rig: Rig) -> None:
        await rig.ask(acsi.SetURCBValues("BATTDER/LLN0.urcbCtl", rpt_ena=True))
        await rig.ask(acsi.SetDataValues(LIMIT, Fc.SP, (DataValue(F, 30.0, "setMag.f"),)))
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=1))
        await rig.ask(acsi.Operate(MOD_ENA, on(True), ctl_num=1))
        changes = [(r.entries[0].ref, r.entries[0].values[0].value) for r in reports(rig)]
        assert changes == [(LIMIT, 30.0), (MOD_ENA, True)]
        data_set = await rig.ask(acsi.GetDataSetDirectory("BATTDER/LLN0.Ctl"))
        assert isinstance(data_set, acsi.GetDataSetDirectoryResponse) and len(data_set.members) == 3

    run(body)


def test_quality_change_is_reported_as_such_and_release_frees_the_block() -> None:
    async def body(rig: Rig) -> None:
        await rig.ask(acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", rpt_ena=True))
        rig.server.update("BATTDER/MMXU1.TotW", -2500.0, quality="invalid")
        [report] = reports(rig)
        assert report.entries[0].reason == "quality-change"  # the value did not change, only q
        rig.server.release(EMS)
        await rig.ask(acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", rpt_ena=True), client=OTHER)

    run(body)


def test_integrity_reports_come_every_period_and_the_period_is_fixed_while_enabled() -> None:
    data = json.loads((SHIPPED / "der_battery.json").read_text())
    meas = data["logical_devices"][0]["reports"][0]
    meas["triggers"].append("integrity")
    meas["integrity_period_ms"] = 20

    async def main() -> None:
        sent: list[tuple[str, acsi.Unsolicited]] = []
        server = AcsiServer(parse_model(json.dumps(data)), lambda c, m: sent.append((c, m)))
        try:
            await server.handle(EMS, acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", rpt_ena=True))
            with pytest.raises(AcsiError) as caught:
                await server.handle(EMS, acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", intg_pd=50))
            assert caught.value.error is E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE
            await asyncio.sleep(0.15)
            integrity = [m for _, m in sent if isinstance(m, acsi.Report)]
            assert len(integrity) >= 3
            assert {e.reason for r in integrity for e in r.entries} == {"integrity"}
            await server.handle(EMS, acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", rpt_ena=False))
            count = len(sent)
            await asyncio.sleep(0.06)
            assert len(sent) == count  # disabled: no more
        finally:
            await server.close()

    asyncio.run(main())


def test_sbo_normal_takes_a_plain_select_and_only_the_selecting_client_operates() -> None:
    data = json.loads((SHIPPED / "der_pv.json").read_text())
    [fsch] = [n for n in data["logical_devices"][0]["logical_nodes"] if n["ln_class"] == "FSCH"]
    fsch["data_objects"][-1]["ctl_model"] = "sbo-with-normal-security"
    enable = "PVDER/FSCH1.EnaReq"

    async def main() -> None:
        server = AcsiServer(parse_model(json.dumps(data)))
        error = await Rig.refused_by(server, acsi.SelectWithValue(enable, on(True), 1))
        assert error.add_cause is AddCause.NOT_SUPPORTED  # normal security selects without a value
        assert await server.handle(EMS, acsi.Select(enable)) == acsi.SelectResponse(enable)
        error = await Rig.refused_by(server, acsi.Operate(enable, on(True), 2), OTHER)
        assert error.error is E.CONTROL_MUST_BE_SELECTED
        await server.handle(EMS, acsi.Operate(enable, on(True), 2))  # normal security: any ctlNum
        assert server.value(f"{enable}.stVal") is True
        await server.close()

    asyncio.run(main())


def test_a_control_in_execution_refuses_a_second_operate() -> None:
    release = asyncio.Event()

    async def slow(ref: str, value: object) -> AddCause | None:
        await release.wait()
        return None

    async def body(rig: Rig) -> None:
        first = asyncio.create_task(rig.server.handle(EMS, acsi.Operate("BATTDER/DVAR1.ModEna", on(True), 1)))
        await asyncio.sleep(0)
        error = await rig.refused(acsi.Operate("BATTDER/DVAR1.ModEna", on(False), 2))
        assert error.add_cause is AddCause.COMMAND_ALREADY_IN_EXECUTION
        release.set()
        assert await first == acsi.OperateResponse("BATTDER/DVAR1.ModEna", 1)
        await rig.ask(acsi.Operate("BATTDER/DVAR1.ModEna", on(False), 3))  # done: free again

    run(body, actuator=slow)


def test_odd_references_name_nothing() -> None:
    async def body(rig: Rig) -> None:
        for ref in ("BATTDER/MMXU1.TotW.mag.f.extra", "BATTDER/MMXU1.TotW.", "BATTDER/MMXU1..TotW", "BATTDER/"):
            error = await rig.refused(acsi.GetDataValues(ref, Fc.MX))
            assert error.error is E.INSTANCE_NOT_AVAILABLE, ref
        error = await rig.refused(acsi.SetDataValues(f"{LIMIT}.", Fc.SP, (DataValue(F, 5.0, "setMag.f"),)))
        assert error.error is E.INSTANCE_NOT_AVAILABLE
        assert rig.server.value(f"{LIMIT}.setMag.f") == 100.0

    run(body)


def test_a_refused_set_urcb_values_changes_nothing() -> None:
    data = json.loads((SHIPPED / "der_battery.json").read_text())
    data["logical_devices"][0]["reports"][0]["triggers"] = ["dchg"]  # no general interrogation on this block

    async def main() -> None:
        server = AcsiServer(parse_model(json.dumps(data)))
        rcb = "BATTDER/LLN0.urcbMeas"
        error = await Rig.refused_by(server, acsi.SetURCBValues(rcb, rpt_ena=True, gi=True, intg_pd=500))
        assert error.error is E.ACCESS_NOT_ALLOWED_IN_CURRENT_STATE
        values = await server.handle(EMS, acsi.GetURCBValues(rcb))
        assert isinstance(values, acsi.GetURCBValuesResponse)
        assert (values.rpt_ena, values.resv, values.intg_pd) == (False, False, 0)  # neither enabled nor reserved
        await server.handle(OTHER, acsi.SetURCBValues(rcb, rpt_ena=True))  # so another client may have it
        await server.close()

    asyncio.run(main())


def test_integrity_period_is_an_int32u_of_milliseconds() -> None:
    async def body(rig: Rig) -> None:
        error = await rig.refused(acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", intg_pd=2**32))
        assert error.error is E.PARAMETER_VALUE_INAPPROPRIATE and "IntgPd" in error.text
        await rig.ask(acsi.SetURCBValues("BATTDER/LLN0.urcbMeas", intg_pd=2**32 - 1))

    run(body)


def test_blocks_sharing_a_data_set_list_it_once() -> None:
    data = json.loads((SHIPPED / "der_battery.json").read_text())
    reports = data["logical_devices"][0]["reports"]
    reports.append({**reports[0], "name": "urcbMeas2"})

    async def main() -> None:
        server = AcsiServer(parse_model(json.dumps(data)))
        answer = await server.handle(EMS, acsi.GetLogicalNodeDirectory("BATTDER/LLN0", acsi.AcsiClass.DATA_SET))
        assert isinstance(answer, acsi.GetLogicalNodeDirectoryResponse) and answer.names == ("Meas", "Ctl")
        await server.close()

    asyncio.run(main())


def test_a_test_operate_with_enhanced_security_changes_nothing_but_still_terminates() -> None:
    async def body(rig: Rig) -> None:
        await rig.ask(acsi.SelectWithValue(MOD_ENA, on(True), ctl_num=6))
        assert await rig.ask(acsi.Operate(MOD_ENA, on(True), ctl_num=6, test=True)) == acsi.OperateResponse(MOD_ENA, 6)
        assert rig.sent == [(EMS, acsi.CommandTermination(MOD_ENA, 6, True, None))]  # the client waits for it
        assert rig.server.value(f"{MOD_ENA}.stVal") is False

    run(body)


def test_the_device_cannot_set_a_quality_clients_could_not_read() -> None:
    async def body(rig: Rig) -> None:
        with pytest.raises(ValueError, match="quality must be one of"):
            rig.server.update("BATTDER/MMXU1.TotW", 1.0, quality="bad")
        assert rig.server.value("BATTDER/MMXU1.TotW.q") == "good"
        assert rig.server.value("BATTDER/MMXU1.TotW.mag.f") == -2500.0  # nothing of the update was stored

    run(body)
