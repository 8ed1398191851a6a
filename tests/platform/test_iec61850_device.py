"""The simulated DER: its measured active power follows the DWMX limit that clients set and enable."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sgam.platform.iec61850 import acsi
from sgam.platform.iec61850.acsi import DataValue
from sgam.platform.iec61850.cdc import BasicType, Fc
from sgam.platform.iec61850.datamodel import parse_model, shipped_model
from sgam.platform.iec61850.device import SimulatedDer
from sgam.platform.iec61850.server import AcsiServer

EMS = "ems@localhost"


def test_active_power_follows_the_enabled_limit() -> None:
    async def main() -> None:
        sent: list[acsi.Unsolicited] = []
        server = AcsiServer(shipped_model("der_pv"), lambda client, message: sent.append(message))
        pv = SimulatedDer(server, rated_w=5000.0, available_w=4200.0)
        assert server.value("PVDER/MMXU1.TotW.mag.f") == 4200.0
        await server.handle(EMS, acsi.SetURCBValues("PVDER/LLN0.urcbMeas", rpt_ena=True))
        limit = (DataValue(BasicType.FLOAT32, 40.0, "setMag.f"),)
        await server.handle(EMS, acsi.SetDataValues("PVDER/DWMX1.WMaxSptPct", Fc.SP, limit))
        assert server.value("PVDER/MMXU1.TotW.mag.f") == 4200.0  # the function is not enabled yet
        await server.handle(EMS, acsi.Operate("PVDER/DWMX1.ModEna", DataValue(BasicType.BOOLEAN, True), 1))
        await asyncio.sleep(0)  # enhanced security: the device acts after the response
        assert pv.limit_w == 2000.0
        assert server.value("PVDER/MMXU1.TotW.mag.f") == 2000.0
        pv.set_available(1500.0)  # a cloud: below the cap
        assert server.value("PVDER/MMXU1.TotW.mag.f") == 1500.0
        reported = [
            e.values[0].value
            for m in sent
            if isinstance(m, acsi.Report)
            for e in m.entries
            if e.ref == "PVDER/MMXU1.TotW"
        ]
        assert reported == [2000.0, 1500.0]
        await server.close()

    asyncio.run(main())


METER = """{"ied": "M", "sources": [{"id": "s", "title": "t"}], "logical_devices": [{"inst": "ETER", "logical_nodes": [
    {"ln_class": "LLN0", "sources": ["s"]},
    {"ln_class": "MMXU", "inst": "1", "sources": ["s"], "data_objects": [{"name": "TotW", "cdc": "MV", "sources": ["s"]}]}
]}]}"""


def test_a_model_without_the_limit_function_cannot_be_simulated() -> None:
    server = AcsiServer(parse_model(METER))
    with pytest.raises(ValueError, match=r"needs DWMX1.ModEna \(SPC\), DWMX1.WMaxSptPct \(ASG\) in METER"):
        SimulatedDer(server, rated_w=5000.0, available_w=0.0)


def test_serve_refuses_to_simulate_such_a_model_with_status_2(tmp_path: Path) -> None:
    model = tmp_path / "meter.json"
    model.write_text(METER)
    args = ["serve", str(model), "--jid", "m@localhost/m", "--host", "127.0.0.1", "--ca-file", str(model),
            "--allow", "ems@localhost", "--rated-w", "5000"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "sgam.platform.iec61850", *args], capture_output=True, text=True,
                          env={**os.environ, "SGAM_XMPP_PASSWORD": "x"}, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "needs DWMX1.ModEna (SPC)" in done.stderr and "Traceback" not in done.stderr
