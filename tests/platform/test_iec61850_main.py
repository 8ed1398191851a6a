"""The DER server as a process of its own: `python -m sgam.platform.iec61850 serve|check`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sgam.platform.iec61850.node import AcsiClient
from sgam.platform.xmpp import Account, Endpoint
from tests.platform.prosody import Prosody

MAIN = [sys.executable, "-m", "sgam.platform.iec61850"]


def command(prosody: Prosody, account: Account, *extra: str) -> list[str]:
    return [*MAIN, "serve", "der_pv", "--jid", f"{account.jid}/der", "--host", "127.0.0.1",
            "--port", str(prosody.port), "--ca-file", str(prosody.ca_file), *extra]  # fmt: skip


def test_check_accepts_a_shipped_model_and_refuses_a_broken_file_with_status_2(tmp_path: Path) -> None:
    good = subprocess.run([*MAIN, "check", "der_battery"], capture_output=True, text=True, check=False)
    assert good.returncode == 0 and "logical devices BATTDER: valid" in good.stdout
    broken = tmp_path / "der.json"
    broken.write_text('{"ied": "X", "sources": [{"id": "s", "title": "t"}], "logical_devices": []}')
    bad = subprocess.run([*MAIN, "check", str(broken)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert f"{broken}: /logical_devices:" in bad.stderr and "Traceback" not in bad.stderr


def test_a_served_der_answers_a_client_and_stops_on_sigterm(prosody: Prosody, run) -> None:
    der, ems = prosody.account("der"), prosody.account("ems")
    environment = {**os.environ, "SGAM_XMPP_PASSWORD": der.password or ""}
    args = command(prosody, der, "--allow", ems.jid, "--rated-w", "5000", "--available-w", "3000", "--quiet")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith(f"serving PV as {der.jid}/der")

        async def scenario() -> float:
            async with Endpoint(ems, prosody.server) as endpoint:
                client = AcsiClient(endpoint, servers=[der.jid])
                points = await client.get(f"{der.jid}/der", ["MMXU1.TotW.mag.f"])
                value = points["MMXU1.TotW.mag.f"].value
                assert isinstance(value, float)
                return value

        assert run(scenario()) == 3000.0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_wrong_password_exits_with_status_2_and_a_message(prosody: Prosody) -> None:
    der = prosody.account("der")
    environment = {**os.environ, "SGAM_XMPP_PASSWORD": "not-the-password"}
    done = subprocess.run(command(prosody, der, "--allow", "ems@localhost"), capture_output=True, text=True,
                          env=environment, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "refused the password" in done.stderr and "Traceback" not in done.stderr
