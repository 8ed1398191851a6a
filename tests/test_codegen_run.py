"""`sgam run`: the seed use case played on its generated platform over a real Prosody, step by step."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from codegen.output import write
from codegen.plan import Plan, build_plans
from codegen.prosody import LocalProsody, loopback_addresses
from codegen.run import Observed, Platform
from sgam.platform import openadr
from sgam.platform.iec61850 import acsi
from sgam.platform.xmpp import Account, Endpoint, RequestFailed
from sgam.workspace import load_workspace
from tests.conftest import REPO

SEED = REPO / "usecases" / "ems-demand-response.yaml"


def test_every_scenario_of_the_seed_conforms_over_prosody(sgam, tmp_path: Path) -> None:
    result = sgam("run", SEED, "-o", tmp_path, "--json", "--timeout", "5")
    assert result.status == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["conforms"] is True
    scenarios = report["scenarios"]
    assert list(scenarios) == ["sc-enrolment", "sc-dr-event", "sc-cancel", "sc-opt-out"]
    outcome = {(name, step["step"]): step for name, steps in scenarios.items() for step in steps}
    # registration, the event with its opt-in and DER control, reporting, cancellation, opt-out
    for key, message in {("sc-enrolment", "3"): "oadrCreatePartyRegistration",
                         ("sc-enrolment", "10"): "SetURCBValues",
                         ("sc-dr-event", "1"): "oadrDistributeEvent", ("sc-dr-event", "2"): "oadrCreatedEvent",
                         ("sc-dr-event", "6"): "Operate", ("sc-dr-event", "7"): "SetDataValues",
                         ("sc-dr-event", "8"): "Report", ("sc-dr-event", "10"): "oadrUpdateReport",
                         ("sc-cancel", "1"): "oadrDistributeEvent", ("sc-cancel", "4"): "Operate",
                         ("sc-opt-out", "2"): "oadrCreateOpt"}.items():
        assert (outcome[key]["outcome"], outcome[key]["observed"]) == ("passed", message), key
    # Each stanza was about the step's information: its conversion rows' references and names.
    assert outcome[("sc-dr-event", "1")]["about"] == ["SIMPLE"]
    assert outcome[("sc-dr-event", "5")]["about"] == ["BATTDER/FSCH1.ValASG001"]
    assert outcome[("sc-dr-event", "6")]["about"] == ["BATTDER/FSCH1.EnaReq"]
    assert outcome[("sc-dr-event", "7")]["about"] == ["PVDER/DWMX1.WMaxSptPct"]
    assert outcome[("sc-dr-event", "10")]["about"] == ["TELEMETRY_USAGE"]
    # The oadrResponse after an opt-in has no stanza of its own on XMPP: reported, not passed.
    assert outcome[("sc-dr-event", "3")]["outcome"] == "not executable"
    assert outcome[("sc-opt-out", "1")]["outcome"] == "not executable"
    diagrams = tmp_path / "ems-demand-response" / "diagrams"
    observed = (diagrams / "sc-dr-event.observed.svg").read_text()
    assert "oadrDistributeEvent" in observed and "Report" in observed
    assert (diagrams / "sc-dr-event.specified.svg").read_text().count("<line") > 10


def test_one_scenario_alone_makes_the_exchanges_it_presupposes(sgam, tmp_path: Path) -> None:
    result = sgam("run", SEED, "-o", tmp_path, "--scenario", "sc-cancel", "--timeout", "5")
    assert result.status == 0, result.out + result.err
    assert "passed" in result.out and "conforms" in result.err


def test_an_unknown_scenario_is_bad_input(sgam, tmp_path: Path) -> None:
    result = sgam("run", SEED, "-o", tmp_path, "--scenario", "sc-dr-evnt")
    assert result.status == 2
    assert "did you mean 'sc-dr-event'?" in result.err


def test_a_timeout_that_is_not_positive_is_bad_input(sgam, tmp_path: Path) -> None:
    result = sgam("run", SEED, "-o", tmp_path, "--timeout", "-1")
    assert result.status == 2 and "Invalid value for '--timeout'" in result.err
    assert not (tmp_path / "ems-demand-response").exists()


def test_scenarios_conform_in_any_order(sgam, tmp_path: Path) -> None:
    # The cancellation first makes the report subscriptions it presupposes; the enrolment's own subscription
    # steps must still be played (not skipped as done before) to be observed.
    result = sgam("run", SEED, "-o", tmp_path, "-s", "sc-cancel", "-s", "sc-enrolment", "--json", "--timeout", "3")
    assert result.status == 0, result.out
    steps = {step["step"]: step for step in json.loads(result.out)["scenarios"]["sc-enrolment"]}
    assert [steps[n]["observed"] for n in ("7", "10", "11")] == ["oadrCreatedReport", "SetURCBValues", "SetURCBValues"]


@pytest.fixture(scope="module")
def plan() -> Plan:
    [seed], _ = build_plans(load_workspace([SEED]))
    return seed


def test_a_stanza_from_an_actor_the_model_does_not_connect_is_rejected(plan: Plan, tmp_path: Path) -> None:
    folder = write(plan, tmp_path).folder

    async def scenario() -> None:
        async with Platform(plan, folder, timeout=5) as platform:
            pv = platform.endpoints["pv-der"]
            # The PV inverter has no link to the VTN: its OpenADR registration is refused at the VTN...
            registration = openadr.encode("oadrQueryRegistration", request_id="r1")
            with pytest.raises(RequestFailed) as refused:
                await pv.request(plan.actors["vtn"].full_jid, registration, timeout=5)
            assert refused.value.condition == "forbidden"
            # ... and no link joins it to the battery either.
            with pytest.raises(RequestFailed) as refused:
                await pv.request(plan.actors["battery-der"].full_jid, acsi.encode(acsi.GetServerDirectory()), 5)
            assert refused.value.condition == "forbidden"
            # Neither stanza reached an application: nothing from the PV was recorded as received.
            assert [r for r in platform.trace.records if r.producer == "pv-der" and r.kind == "request"] == []
            # The linked EMS is served.
            ems = platform.endpoints["ems"]
            answer = await ems.request(plan.actors["battery-der"].full_jid, acsi.encode(acsi.GetServerDirectory()), 5)
            assert isinstance(acsi.decode(answer), acsi.GetServerDirectoryResponse)

    asyncio.run(scenario())


def test_the_organisations_run_their_own_servers_federated_over_authenticated_s2s(plan: Plan, tmp_path: Path) -> None:
    folder = write(plan, tmp_path).folder

    async def scenario() -> None:
        async with Platform(plan, folder, timeout=5, federated=True) as platform:
            customer, aggregator = platform.servers["customer.example"], platform.servers["aggregator.example"]
            assert customer is not aggregator and customer.address != aggregator.address
            assert platform.endpoints["ems"].server.port == customer.port
            results = await platform.run("sc-dr-event")
            assert {r.outcome for r in results} == {"passed", "not executable"}
            for server, peer in ((customer, "aggregator.example"), (aggregator, "customer.example")):
                log = server.log.read_text()
                assert f"Outgoing s2s connection {server.domains[0]}->{peer} complete" in log
                assert "Stream encrypted (TLSv1" in log

    asyncio.run(scenario())


def test_a_refused_step_fails_the_run_with_the_reason(sgam, tmp_path: Path) -> None:
    assert sgam("codegen", SEED, "-o", tmp_path, "-q").status == 0
    hooks = tmp_path / "ems-demand-response" / "adapters" / "hooks_ems.py"
    # The user's EMS asks for a PV limit of 150 %: the conversion table refuses it before it is sent.
    hooks.write_text(hooks.read_text() + "\n\ndef value_for(common_name, kind, step):\n"
                     "    return {'bool': True}.get(kind, 150.0)\n")
    result = sgam("run", SEED, "-o", tmp_path, "--scenario", "sc-dr-event", "--timeout", "3", "--json")
    assert result.status == 4
    assert "hooks_ems.py: kept" in result.err
    steps = {s["step"]: s for s in json.loads(result.out)["scenarios"]["sc-dr-event"]}
    assert steps["7"]["outcome"] == "failed" and "150" in steps["7"]["note"]
    assert steps["1"]["outcome"] == "passed"


def test_a_generated_adapter_runs_as_its_own_process(plan: Plan, tmp_path: Path) -> None:
    folder = write(plan, tmp_path).folder
    accounts = json.loads((folder / "secrets" / "accounts.json").read_text())["accounts"]
    prosody = LocalProsody(plan, accounts)
    prosody.start()
    vtn = subprocess.Popen([sys.executable, "-m", "adapters.vtn", "--host", "127.0.0.1", "--port", str(prosody.port),
                            "--ca", str(prosody.ca.cert)], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        assert vtn.stdout is not None
        assert vtn.stdout.readline().strip() == "vtn@aggregator.example/sgam: serving as vtn"

        async def query() -> str:
            async with Endpoint(Account("ems@customer.example", accounts["ems@customer.example"]),
                                prosody.server) as ems:
                features, _ = await ems.discover(plan.actors["vtn"].full_jid)
                assert openadr.FEATURE in features
                answer = await ems.request(plan.actors["vtn"].full_jid,
                                           openadr.encode("oadrQueryRegistration", request_id="q1"), 5)
                return openadr.decode(answer)[0]

        assert asyncio.run(query()) == "oadrCreatedPartyRegistration"
    finally:
        vtn.send_signal(signal.SIGTERM)
        status = vtn.wait(timeout=10)
        prosody.close()
    assert status == 0, vtn.stderr.read() if vtn.stderr else ""


def test_a_generated_adapter_without_its_password_exits_2_with_a_hint(plan: Plan, tmp_path: Path) -> None:
    folder = write(plan, tmp_path).folder
    for accounts in ('{"accounts": {}}', '{"accounts": ["vtn@aggregator.example"]}', '["not", "an", "object"]'):
        (folder / "secrets" / "accounts.json").write_text(accounts)
        result = subprocess.run([sys.executable, "-m", "adapters.vtn", "--ca", "ca.pem"], cwd=folder,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 2, result.stderr
        assert "no password for vtn@aggregator.example" in result.stderr and "sgam codegen" in result.stderr


def test_a_stanza_about_other_data_does_not_pass_a_step(plan: Plan, tmp_path: Path) -> None:
    platform = Platform(plan, write(plan, tmp_path).folder)
    lift_cap = next(p for p in plan.scenarios["sc-dr-event"] if p.number == "7")  # PV DWMX WMaxSptPct
    platform.trace.records.append(Observed("ems", "pv-der", "SetDataValues", "request", ("PVDER/FSCH1.ValASG001",)))
    assert platform.match(lift_cap, 0) is None
    platform.trace.records.append(Observed("ems", "battery-der", "SetDataValues", "request",
                                           ("BATTDER/DWMX1.WMaxSptPct",)))
    assert platform.match(lift_cap, 0) is None  # the right data at the wrong receiver
    platform.trace.records.append(Observed("ems", "pv-der", "SetDataValues", "request", ("PVDER/DWMX1.WMaxSptPct",)))
    assert platform.match(lift_cap, 0) == 2


def test_a_server_the_platform_did_not_certify_cannot_federate(plan: Plan, tmp_path: Path) -> None:
    folder = write(plan, tmp_path / "platform").folder

    async def scenario() -> None:
        async with Platform(plan, folder, timeout=5, federated=True) as platform:
            shared = Path(tempfile.mkdtemp(prefix="sgam-rogue-"))  # pytest's tmp_path is closed to the prosody user
            shared.chmod(0o755)
            hosts = shared / "hosts"
            lines = [f"{server.address} {domain}" for domain, server in platform.servers.items()]
            [address] = loopback_addresses(1)
            hosts.write_text("\n".join([*lines, f"{address} rogue.example"]) + "\n")
            hosts.chmod(0o644)
            rogue = LocalProsody(plan, {"mallory@rogue.example": "secret"}, domains=["rogue.example"],
                                 address=address, hosts=hosts)  # its own CA, not the platform's
            rogue.start()
            try:
                async with Endpoint(Account("mallory@rogue.example", "secret"), rogue.server) as mallory:
                    event = openadr.encode("oadrQueryRegistration", request_id="m1")
                    with pytest.raises(RequestFailed) as refused:
                        await mallory.request(plan.actors["vtn"].full_jid, event, timeout=5)
                    assert refused.value.condition in ("remote-server-not-found", "remote-server-timeout",
                                                       "service-unavailable")
            finally:
                rogue.close()
                shutil.rmtree(shared)
            assert not [r for r in platform.trace.records if "rogue" in r.producer]
            refusal = "Forbidding insecure connection to/from rogue.example because its certificate is not trusted"
            assert refusal in platform.servers["aggregator.example"].log.read_text()

    asyncio.run(scenario())


def test_the_ems_hook_acts_on_its_ders_while_it_answers_the_event(plan: Plan, tmp_path: Path) -> None:
    folder = write(plan, tmp_path).folder
    hooks = folder / "adapters" / "hooks_ems.py"
    # The user's EMS lifts every DER's cap to 100 % before it opts in: the two roles in one device.
    hooks.write_text(hooks.read_text().replace(
        "    return EventReply(event.event_id, event.modification, Opt.IN)\n",
        "    for der in adapter.config['servers']:\n"
        "        assert adapter.services is not None\n"
        "        await adapter.services.set(der, {'der.active_power_limit': 100.0})\n"
        "    return EventReply(event.event_id, event.modification, Opt.IN)\n"))

    async def scenario() -> None:
        async with Platform(plan, folder, timeout=5) as platform:
            results = await platform.run("sc-dr-event")
            assert "failed" not in {r.outcome for r in results}
            during = [(r.producer, r.receiver, r.message, r.items) for r in platform.trace.records]
            distributed = during.index(("vtn", "ems", "oadrDistributeEvent", ("SIMPLE",)))
            answered = next(i for i, r in enumerate(during) if r[2] == "oadrCreatedEvent")
            writes = {r[1] for r in during[distributed:answered] if r[2] == "SetDataValues"}
            assert writes == {"battery-der", "pv-der"}
            pv = platform.adapters["pv-der"].server
            assert pv is not None and pv.value("PVDER/DWMX1.WMaxSptPct.setMag.f") == 100.0

    asyncio.run(scenario())


def test_an_organisation_written_in_capitals_runs_as_the_lower_case_domain_the_server_uses(sgam, tmp_path: Path) -> None:
    shutil.copy(REPO / "usecases" / "library.yaml", tmp_path)
    variant = tmp_path / "ems-demand-response.yaml"
    variant.write_text(SEED.read_text().replace("organisation: customer.example", "organisation: Customer.Example"))
    result = sgam("run", variant, "-o", tmp_path / "out", "--scenario", "sc-dr-event", "--json", "--timeout", "3")
    assert result.status == 0, result.out + result.err
    steps = {step["step"]: step for step in json.loads(result.out)["scenarios"]["sc-dr-event"]}
    assert (steps["8"]["outcome"], steps["8"]["observed"]) == ("passed", "Report")  # the allow-lists know the sender
    manifest = json.loads((tmp_path / "out" / "ems-demand-response" / "manifest.json").read_text())
    assert manifest["actors"]["battery-der"]["jid"] == "battery-der@customer.example"


def test_a_run_in_which_no_step_can_be_played_checks_nothing_and_does_not_pass(sgam, tmp_path: Path) -> None:
    """Like a test suite that collects no tests: a scenario of steps the platform cannot play proves nothing."""
    shutil.copy(REPO / "usecases" / "library.yaml", tmp_path)
    data = yaml.safe_load(SEED.read_text())
    opt_out = next(s for s in data["scenarios"] if s["id"] == "sc-opt-out")
    data["scenarios"].append({**opt_out, "id": "sc-override", "steps": opt_out["steps"][:1]})  # moves no information
    variant = tmp_path / "ems-demand-response.yaml"
    variant.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    result = sgam("run", variant, "-o", tmp_path / "out", "--scenario", "sc-override", "--json", "--timeout", "3")
    assert result.status == 4, result.out + result.err
    report = json.loads(result.out)
    assert (report["conforms"], report["played"]) == (False, 0)
    assert [step["outcome"] for step in report["scenarios"]["sc-override"]] == ["not executable"]
    table = sgam("run", variant, "-o", tmp_path / "out", "--scenario", "sc-override", "--timeout", "3")
    assert table.status == 4 and "no step can be played on the platform, so nothing was checked" in table.err


def test_a_vtn_sends_the_signal_its_use_case_names_for_an_event(sgam, tmp_path: Path) -> None:
    # The DSO's grid event is 'oadrDistributeEvent (LOAD_CONTROL x-loadControlCapacity)'; the shipped table also
    # has SIMPLE for the same common name (and lists it first), which the seed's events use.
    usecase = REPO / "usecases" / "flexibility-traffic-light.yaml"
    result = sgam("run", usecase, "-o", tmp_path, "--scenario", "sc-red", "--json", "--timeout", "3")
    assert result.status == 0, result.out + result.err
    steps = {step["step"]: step for step in json.loads(result.out)["scenarios"]["sc-red"]}
    for number in ("5", "10"):  # the event, and its end
        assert (steps[number]["outcome"], steps[number]["about"]) == ("passed", ["LOAD_CONTROL"]), steps[number]


@pytest.mark.parametrize("federated", [False, True])
def test_interrupted_twice_the_run_still_stops_its_servers_and_removes_their_folders(plan: Plan, tmp_path: Path,
                                                                                       federated: bool) -> None:
    # Ctrl-C cancels the run; a second Ctrl-C (or Prosody, which Ctrl-C stops too, failing the cleanup's first
    # step) interrupts the cleanup itself. The servers must stop and their temporary folders go all the same.
    folder = write(plan, tmp_path).folder
    platform = Platform(plan, folder, timeout=3, federated=federated)
    entered = asyncio.Event()

    async def run() -> None:
        async with platform:
            entered.set()
            await asyncio.sleep(3600)

    async def scenario() -> None:
        task = asyncio.create_task(run())
        await entered.wait()
        folders = [p.root for p in platform.servers.values()] + ([platform._shared] if federated else [])
        assert all(f is not None and f.is_dir() for f in folders)
        pids = [p._process.pid for p in platform.servers.values() if p._process is not None]
        task.cancel()
        await asyncio.sleep(0.05)  # the cleanup has begun
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [f for f in folders if f is not None and f.exists()] == []
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)

    asyncio.run(scenario())


def test_a_server_that_cannot_be_provisioned_leaves_no_folder(plan: Plan, tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("sgam-run-*"))
    with pytest.raises(subprocess.CalledProcessError):  # prosodyctl refuses a user name with spaces
        LocalProsody(plan, {"e m s@customer.example": "secret"})
    assert set(Path(tempfile.gettempdir()).glob("sgam-run-*")) == before


def test_a_hooks_file_that_does_not_load_is_located_bad_input(sgam, tmp_path: Path) -> None:
    assert sgam("codegen", SEED, "-o", tmp_path, "-q").status == 0
    hooks = tmp_path / "ems-demand-response" / "adapters" / "hooks_ems.py"
    generated = hooks.read_text()
    lines = len(generated.splitlines())
    for change, expected in [
        ("def on_event(:\n", f"{hooks}:{lines + 1}:14: error[hooks]: the adapter does not import: SyntaxError"),
        ("\nLIMIT = 100 / 0\n", f"{hooks}:{lines + 2}:1: error[hooks]: the adapter does not import: ZeroDivisionError"),
        ("\ndel value_for\n", f"{hooks}: error[hooks]: value_for missing: the adapter of 'ems' (ven, client) calls it"),
    ]:
        hooks.write_text(generated + change)
        result = sgam("run", SEED, "-o", tmp_path, "--timeout", "3")
        assert result.status == 2, result.err
        assert expected in result.err, result.err
        assert "internal error" not in result.err


def test_a_use_case_run_by_id_stops_on_errors_in_the_library_it_draws_on(sgam, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "usecases").mkdir()
    library = (REPO / "usecases" / "library.yaml").read_text()
    ems = library.index("  - id: ems\n")
    organisation = library.index("organisation: customer.example", ems)
    (tmp_path / "usecases" / "library.yaml").write_text(
        library[:organisation] + library[organisation:].replace("customer.example", "customer example", 1))
    shutil.copy(SEED, tmp_path / "usecases")
    monkeypatch.chdir(tmp_path)
    result = sgam("run", "ems-demand-response", "-o", tmp_path / "out")
    assert result.status == 2, result.err
    assert "usecases/library.yaml:" in result.err and "error[codegen-domain]" in result.err
    assert not (tmp_path / "out").exists()
