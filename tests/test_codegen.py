"""`sgam codegen`: the platform generated from the use cases -- plan, tables, configuration, adapters."""

from __future__ import annotations

import ast
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from codegen.output import write
from codegen.plan import Plan, build_plans
from sgam.platform.conversion import Converter, load_table
from sgam.workspace import load_workspace
from tests.conftest import REPO

SEED = REPO / "usecases" / "ems-demand-response.yaml"


@pytest.fixture(scope="module")
def plan() -> Plan:
    plans, problems = build_plans(load_workspace([SEED]))
    assert not [p for p in problems if p.severity.value == "error"]
    [seed] = plans
    return seed


@pytest.fixture(scope="module")
def generated(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(plan, tmp_path_factory.mktemp("platform")).folder


def _variant(folder: Path, text: str) -> Path:
    """A variant of the seed, written beside the shared library in a folder of its own."""
    shutil.copy(REPO / "usecases" / "library.yaml", folder)
    path = folder / SEED.name
    path.write_text(text)
    return path


def _errors(stderr: str, code: str, variant: Path) -> list[tuple[str, str]]:
    """(message, the text at its file:line:column) of each error `code` reported in `variant`."""
    lines = variant.read_text().splitlines()
    found = []
    for line in stderr.splitlines():
        where, marker, message = line.partition(f": error[{code}]: ")
        if marker:
            _, row, column = where.rsplit(":", 2)
            found.append((message, lines[int(row) - 1][int(column) - 1:]))
    return found


def test_actors_on_the_platform_have_roles_and_jids_in_their_organisations_domain(plan: Plan) -> None:
    roles = {a.id: (a.jid, a.roles) for a in plan.actors.values()}
    assert roles == {
        "vtn": ("vtn@aggregator.example", ("vtn",)),
        "ems": ("ems@customer.example", ("ven", "client")),
        "battery-der": ("battery-der@customer.example", ("server",)),
        "pv-der": ("pv-der@customer.example", ("server",)),
    }
    assert "facility-manager" not in plan.actors  # no link puts it on the platform
    assert plan.bridges() == ["ems"]


def test_allow_lists_are_the_links(plan: Plan, generated: Path) -> None:
    manifest = json.loads((generated / "manifest.json").read_text())
    allow = {actor: entry["allow"] for actor, entry in manifest["actors"].items()}
    assert allow == {
        "vtn": {"openadr": ["ems@customer.example"]},
        "ems": {"openadr": ["vtn@aggregator.example"],
                "iec61850": ["battery-der@customer.example", "pv-der@customer.example"]},
        "battery-der": {"iec61850": ["ems@customer.example"]},
        "pv-der": {"iec61850": ["ems@customer.example"]},
    }
    links = {link["link"]: (link["serving"], link["calling"]) for link in manifest["links"]}
    assert links == {"link-vtn-ems": ("vtn", "ems"), "link-ems-battery": ("battery-der", "ems"),
                     "link-ems-pv": ("pv-der", "ems")}


def test_a_ven_with_two_vtns_allows_only_the_one_it_serves(tmp_path: Path) -> None:
    # The runtime's VEN serves one VTN per endpoint (the first by id); the manifest must not promise more.
    [flexibility] = [p for p in build_plans(load_workspace([REPO / "usecases"]))[0]
                     if p.usecase == "flexibility-traffic-light"]
    assert flexibility.peers("ems", "openadr", "vtn") == ["dso-vtn", "vtn"]
    manifest = json.loads((write(flexibility, tmp_path).folder / "manifest.json").read_text())
    assert manifest["actors"]["ems"]["allow"] == {"openadr": ["dso-vtn@dso.example"]}
    steps = {(s, step["step"]): step for s, steps in manifest["steps"].items() for step in steps}
    assert "serves 'dso-vtn'" in steps[("sc-green", "5")]["reason"]  # the other VTN's steps are not executable


def test_conversion_rows_come_from_the_information_objects(plan: Plan) -> None:
    rows = {(r.information, r.common): r for r in plan.rows}
    # 'IEC 61850-7-420 DWMX (WMaxSptPct)' meets the shipped row of that data object.
    limit = rows[("inf-pv-limit", "der.active_power_limit")]
    assert (limit.iec61850, limit.fc, limit.openadr, limit.unit) == ("DWMX1.WMaxSptPct.setMag.f", "SP",
                                                                       "SIMPLE/level", "%")
    # 'IEC 61850-7-4 MMXU (TotW, TotVAr)': exactly the two named objects.
    assert {c for i, c in rows if i == "inf-der-measurements"} == {"der.active_power", "der.reactive_power"}
    # The use case's own items add the schedule rows the shipped table lacks.
    enable = rows[("inf-der-control", "der.schedule_enabled")]
    assert (enable.iec61850, enable.fc, enable.control_model, enable.origin) == (
        "FSCH1.EnaReq", "CO", "direct-with-normal-security", "use case")


def test_the_json_table_loads_in_the_runtime_and_converts_the_added_rows(generated: Path) -> None:
    converter = Converter(load_table(generated / "tables" / "conversion.json"))
    row, value = converter.to_iec61850("der.schedule_enabled", True)
    assert (row.reference, value) == ("FSCH1.EnaReq", True)
    assert converter.to_iec61850("der.active_power_limit", 70.0)[0].reference == "DWMX1.WMaxSptPct.setMag.f"


def test_csv_and_xlsx_list_the_bridge_rows_with_their_origin(plan: Plan, generated: Path) -> None:
    with (generated / "tables" / "ems.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    sheet = load_workbook(generated / "tables" / "ems.xlsx").active
    assert sheet is not None
    cells = [[c.value or "" for c in row] for row in sheet.iter_rows()]
    assert cells[0] == list(table[0])
    assert [row[:3] for row in cells[1:]] == [[r["common_name"], r["openadr"], r["iec61850"]] for r in table]
    telemetry = [r for r in table if r["information"] == "inf-telemetry"]
    assert {r["direction"] for r in telemetry} == {"ems -> vtn"}
    assert {r["common_name"] for r in table} >= {r.common for r in plan.rows if r.information == "inf-pv-limit"}


def test_secrets_are_private_and_listed_in_the_manifest(generated: Path) -> None:
    accounts = generated / "secrets" / "accounts.json"
    assert accounts.stat().st_mode & 0o777 == 0o600
    passwords = json.loads(accounts.read_text())["accounts"]
    assert set(passwords) == {
        "vtn@aggregator.example", "ems@customer.example", "battery-der@customer.example", "pv-der@customer.example"}
    manifest = json.loads((generated / "manifest.json").read_text())
    assert manifest["accounts"]["mode"] == "0600"
    assert "secrets/accounts.json" not in manifest["files"]
    assert (generated / "secrets" / ".gitignore").read_text().splitlines()[-1] == "*"
    for path in [*manifest["files"], *manifest["hooks"], "manifest.json"]:
        text = (generated / path).read_bytes()
        assert not any(password.encode() in text for password in passwords.values()), path


def test_prosody_configuration_per_domain_requires_encryption_and_federates_the_use_case_domains(
        generated: Path) -> None:
    customer = (generated / "prosody" / "customer.example.cfg.lua").read_text()
    assert 'VirtualHost "customer.example"' in customer and "aggregator.example\"" in customer
    for setting in ("c2s_require_encryption = true", "s2s_require_encryption = true", "s2s_secure_auth = true",
                    "allow_registration = false", 's2s_secure_domains = { "aggregator.example" }',
                    'cafile = "/etc/prosody/certs/sgam-platform-ca.crt"'):
        assert setting in customer


def test_generated_code_passes_ruff_and_imports(generated: Path) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff is not None
    result = subprocess.run([ruff, "check", "--no-cache", "--isolated", str(generated)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout
    imported = subprocess.run([sys.executable, "-c", ("import adapters.ems, adapters.vtn, adapters.battery_der, "
                               "adapters.pv_der; print(adapters.ems.CONFIG['roles'])")],
                              cwd=generated, capture_output=True, text=True, check=False)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "['ven', 'client']"


def test_each_hooks_file_holds_the_hooks_of_its_actors_roles_only(generated: Path) -> None:
    defined = {}
    for actor in ("vtn", "ems", "battery_der", "pv_der"):
        tree = ast.parse((generated / "adapters" / f"hooks_{actor}.py").read_text())
        defined[actor] = [node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else
                          ast.unparse(node.target) for node in tree.body
                          if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.AnnAssign)]
    assert defined == {"vtn": ["EVENT_SIGNALS"], "ems": ["on_event", "value_for"], "battery_der": ["on_write"],
                       "pv_der": ["on_write"]}


def test_generated_code_type_checks_strictly_against_the_runtime(generated: Path, tmp_path: Path) -> None:
    # The user extends the hooks: mypy must see the runtime's types (py.typed) and find the stubs clean.
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
                              "adapters"], cwd=generated, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout


def test_regeneration_is_byte_identical_and_keeps_a_changed_hook(plan: Plan, tmp_path: Path) -> None:
    first = write(plan, tmp_path / "a").folder
    second = write(plan, tmp_path / "b").folder
    manifest = json.loads((first / "manifest.json").read_text())
    for path in [*manifest["files"], *manifest["hooks"], "manifest.json"]:
        assert (first / path).read_bytes() == (second / path).read_bytes(), path
    hook = first / "adapters" / "hooks_ems.py"
    hook.write_text(hook.read_text() + "\n# my change\n")
    secrets = (first / "secrets" / "accounts.json").read_text()
    again = write(plan, tmp_path / "a")
    assert again.kept_hooks == ["adapters/hooks_ems.py"]
    assert hook.read_text().endswith("# my change\n")
    assert (first / "secrets" / "accounts.json").read_text() == secrets  # passwords survive regeneration
    (first / "adapters" / "hooks_vtn.py").unlink()
    assert "adapters/hooks_vtn.py" in write(plan, tmp_path / "a").files


def test_a_generated_file_changed_by_hand_is_written_anew_and_said_so(sgam, tmp_path: Path) -> None:
    assert sgam("codegen", SEED, "-o", tmp_path, "-q").status == 0
    adapter = tmp_path / "ems-demand-response" / "adapters" / "ems.py"
    generated = adapter.read_text()
    adapter.write_text(generated + "# my change\n")
    result = sgam("codegen", SEED, "-o", tmp_path, "--json")
    assert result.status == 0, result.err
    [done] = json.loads(result.out)
    assert (done["replaced"], done["kept_hooks"]) == (["adapters/ems.py"], [])
    assert f"{adapter}: written anew; it had been changed by hand" in result.err
    assert adapter.read_text() == generated
    again = sgam("codegen", SEED, "-o", tmp_path, "--json")  # nothing changed since: nothing to say
    assert json.loads(again.out)[0]["replaced"] == [] and "written anew" not in again.err


def test_steps_the_platform_cannot_play_are_listed_with_the_reason(plan: Plan) -> None:
    plays = {p.number: p for p in plan.scenarios["sc-dr-event"]}
    # On XMPP the VEN's oadrCreatedEvent rides the IQ result: no oadrResponse follows it.
    assert plays["3"].reason == "the vtn never sends oadrResponse on this platform"
    assert plays["4"].reason == "moves no information"
    assert plays["1"].messages == ("oadrDistributeEvent",)
    assert plays["8"].messages == ("Report",)
    opt_out = {p.number: p for p in plan.scenarios["sc-opt-out"]}
    assert not opt_out["1"].executable  # the facility manager is not on the platform


def test_codegen_command_writes_every_use_case_with_platform_actors(sgam, tmp_path: Path) -> None:
    result = sgam("codegen", REPO / "usecases", "-o", tmp_path, "--json", "-q")
    assert result.status == 0, result.err
    assert {item["usecase"] for item in json.loads(result.out)} == {
        "ems-demand-response", "ev-smart-charging", "flexibility-traffic-light"}


def test_a_broken_variant_fails_with_located_messages(sgam, tmp_path: Path) -> None:
    shutil.copy(REPO / "usecases" / "library.yaml", tmp_path)
    text = SEED.read_text()
    # The PV inverter loses its link, and the schedule control its IEC 61850 items.
    text = text[:text.index("    - id: link-ems-pv")]
    items = ("    items:\n      - {common: der.schedule_enabled, iec61850: FSCH1.EnaReq, fc: CO, cdc: SPC, kind: bool,\n"
             "         control_model: direct-with-normal-security, description: schedule enable request}\n")
    assert items in text
    text = text.replace(items, "")
    broken = tmp_path / "ems-demand-response.yaml"
    broken.write_text(text)
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 2, result.err
    lines = result.err.splitlines()
    no_link = [line for line in lines if "error[codegen-no-link]" in line]
    assert no_link and all("pv-der" in line for line in no_link)
    assert any("error[codegen-unrepresented]" in line and "'inf-der-control'" in line for line in lines)
    assert no_link[0].startswith(f"{broken}:") and no_link[0].split(":")[1].isdigit()  # file:line:column
    assert not (tmp_path / "out").exists()
    # `sgam run` stops on the same errors before it starts anything.
    run = sgam("run", broken, "-o", tmp_path / "out")
    assert run.status == 2 and "error[codegen-no-link]" in run.err
    assert not (tmp_path / "out").exists()


def test_data_models_without_rows_and_conflicting_items_are_located_warnings(sgam, tmp_path: Path) -> None:
    shutil.copy(REPO / "usecases" / "library.yaml", tmp_path)
    anchor = "    data_models: [IEC 61850-7-420 DWMX (WMaxSptPct), IEC 61850-7-2 Operate]\n"
    text = SEED.read_text()
    assert anchor in text
    renamed = ("    items:\n      - {common: der.pv_cap, iec61850: DWMX1.WMaxSptPct.setMag.f, kind: float, unit: '%',\n"
               "         openadr: LOAD_DISPATCH/setpoint}\n")
    variant = tmp_path / "ems-demand-response.yaml"
    variant.write_text(text.replace(anchor, anchor + renamed))
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 0, result.err
    lines = variant.read_text().splitlines()
    found: dict[str, list[tuple[str, str]]] = {}  # code -> (the text at the reported line:column, message)
    for line in result.err.splitlines():
        if "warning[codegen-" in line:
            where, _, rest = line.partition(": warning[")
            code, _, message = rest.partition("]: ")
            _, row, column = where.rsplit(":", 2)
            found.setdefault(code, []).append((lines[int(row) - 1][int(column) - 1:], message))
    [(conflict_at, conflict)] = found["codegen-conflict"]
    assert conflict_at.startswith("der.pv_cap") and "'der.active_power_limit' in the shipped table" in conflict
    assert any(at.startswith("IEC 61850-7-420 DSTO (DEROpSt)") for at, _ in found["codegen-no-row"])
    [(unknown_at, unknown)] = found["codegen-item"]
    assert unknown_at.startswith("LOAD_DISPATCH/setpoint") and "cannot carry this item over OpenADR" in unknown
    # The use case's name is the one the generated table uses for that reference.
    converter = Converter(load_table(tmp_path / "out" / "ems-demand-response" / "tables" / "conversion.json"))
    assert converter.to_iec61850("der.pv_cap", 70.0)[0].reference == "DWMX1.WMaxSptPct.setMag.f"


def test_a_link_whose_server_cannot_be_told_is_a_located_error(sgam, tmp_path: Path) -> None:
    step = ("        activity: Report battery measurements\n        description: The battery server sends its measurement"
            " report (active and reactive power, operating state) on change and at each integrity period.\n"
            "        service: REPORT\n        producer: battery-der\n        receiver: ems\n")
    text = SEED.read_text()
    assert step in text
    # The EMS now 'reports' to the battery while it also writes to it: both ends act as the server.
    variant = _variant(tmp_path, text.replace(step, step.replace("producer: battery-der\n        receiver: ems",
                                                                 "producer: ems\n        receiver: battery-der")))
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 2
    [(error, at)] = _errors(result.err, "codegen-roles", variant)
    assert error.startswith("cannot tell which of 'battery-der' and 'ems' is the server on link 'link-ems-battery'")
    assert at == "link-ems-battery"


def test_what_a_generated_adapter_runs_on_leaves_the_modelling_side_out() -> None:
    # A device runs its adapter with the platform runtime alone: no use-case loading, no plan.
    probe = ("import sys, codegen.adapter; print(sorted(m for m in sys.modules if m.split('.')[0] in ('sgam', 'codegen')"
             " and not m.startswith('sgam.platform')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['codegen', 'codegen.adapter', 'sgam', 'sgam.files']"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_damaged_manifest_or_secrets_file_is_located_bad_input_and_nothing_is_written(sgam, tmp_path: Path) -> None:
    assert sgam("codegen", SEED, REPO / "usecases" / "library.yaml", "-o", tmp_path, "-q").status == 0
    folder = tmp_path / "ems-demand-response"
    (folder / "adapters" / "vtn.py").unlink()  # what a run that went on writing would put back
    before = _snapshot(folder)
    manifest, accounts = folder / "manifest.json", folder / "secrets" / "accounts.json"
    written = "not what sgam codegen writes: at"
    for damaged, text, expected in [
        (manifest, "{\n  oops", f"{manifest}:2:3: error[codegen-damaged]: not JSON"),
        (manifest, '{"hooks": ["adapters/hooks_ems.py"]}', f"{manifest}: error[codegen-damaged]: {written} hooks"),
        (accounts, '{"accounts": {"ems@customer.example": 7}}',
         f"{accounts}: error[codegen-damaged]: {written} accounts.ems@customer.example"),
    ]:
        original = damaged.read_bytes()
        damaged.write_text(text)
        result = sgam("codegen", SEED, REPO / "usecases" / "library.yaml", "-o", tmp_path, "-q")
        assert result.status == 2, result.err
        assert result.err.startswith(expected), result.err
        assert "hint: remove it" in result.err
        assert _snapshot(folder) == {**before, str(damaged.relative_to(folder)): text.encode()}
        damaged.write_bytes(original)


def test_an_output_folder_that_cannot_be_written_is_bad_input(sgam, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    for command in ("codegen", "run"):
        result = sgam(command, SEED, "-o", blocker / "platform", "-q")
        assert result.status == 2, result.err
        assert "error[unwritable]: cannot write the platform" in result.err and "hint: give an output folder" in result.err


def test_regeneration_removes_the_files_of_an_actor_that_left_the_platform(sgam, tmp_path: Path) -> None:
    variant = _variant(tmp_path, SEED.read_text())
    assert sgam("codegen", tmp_path, "-o", tmp_path / "out", "-q").status == 0
    folder = tmp_path / "out" / "ems-demand-response"
    hooks = folder / "adapters" / "hooks_pv_der.py"
    hooks.write_text(hooks.read_text() + "# my PV logic\n")
    # The PV inverter's link no longer names XMPP: it leaves the platform.
    text = SEED.read_text()
    link = text.index("    - id: link-ems-pv")
    variant.write_text(text[:link] + text[link:].replace(" XMPP, SASL", " SASL", 1))
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out", "--json")
    assert result.status == 0, result.err
    [done] = json.loads(result.out)
    assert done["actors"] == ["battery-der", "ems", "vtn"]
    assert done["removed"] == ["adapters/pv_der.py"]
    assert done["left"] == ["adapters/hooks_pv_der.py"]
    assert not (folder / "adapters" / "pv_der.py").exists()
    assert hooks.read_text().endswith("# my PV logic\n")
    assert f"{hooks}: left in place but no longer used" in result.err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert not [p for p in [*manifest["files"], *manifest["hooks"]] if "pv_der" in p]


def test_a_step_that_moves_no_information_does_not_decide_a_links_roles(sgam, tmp_path: Path) -> None:
    # The facility manager now sits on the battery inverter, so its override at the EMS's user interface
    # (a CHANGE that moves no information, never played) runs along the battery's link: it must not make
    # the EMS that link's IEC 61850 server.
    hosted = "      hosts: [battery-der]\n"
    assert SEED.read_text().count(hosted) == 1
    _variant(tmp_path, SEED.read_text().replace(hosted, "      hosts: [battery-der, facility-manager]\n"))
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out", "-q")
    assert result.status == 0, result.err
    manifest = json.loads((tmp_path / "out" / "ems-demand-response" / "manifest.json").read_text())
    assert {actor: entry["roles"] for actor, entry in manifest["actors"].items()} == {
        "battery-der": ["server"], "ems": ["ven", "client"], "pv-der": ["server"], "vtn": ["vtn"]}
    assert manifest["steps"]["sc-opt-out"][0]["reason"] == "moves no information"


def test_an_actor_with_both_roles_of_one_binding_is_a_located_error(sgam, tmp_path: Path) -> None:
    # The PV inverter now writes to the EMS and the EMS reports to it: the EMS would serve IEC 61850
    # to the PV inverter while it is the battery's client, and both roles claim one namespace.
    ems_to_pv, pv_to_ems = "producer: ems\n        receiver: pv-der", "producer: pv-der\n        receiver: ems"
    text = SEED.read_text().replace(ems_to_pv, "\0").replace(pv_to_ems, ems_to_pv).replace("\0", pv_to_ems)
    variant = _variant(tmp_path, text)
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 2, result.err
    [(error, at)] = _errors(result.err, "codegen-roles", variant)
    assert error == ("'ems' would be the server on link 'link-ems-pv' and the client on link 'link-ems-battery'; "
                     "an actor's endpoint runs one iec61850 role, not both")
    assert at == "link-ems-pv"
    assert not (tmp_path / "out").exists()


def test_an_organisation_that_is_no_dns_name_is_a_located_error(sgam, tmp_path: Path) -> None:
    text = SEED.read_text().replace("organisation: customer.example", "organisation: customer premises")
    variant = _variant(tmp_path, text)
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 2, result.err
    errors = _errors(result.err, "codegen-domain", variant)
    assert [message.partition(" is no DNS name")[0] for message, _ in errors] == [
        "organisation 'customer premises' of actor 'battery-der'", "organisation 'customer premises' of actor 'pv-der'"]
    assert {at for _, at in errors} == {"customer premises"}


def test_data_that_no_shipped_iec61850_model_holds_is_a_located_error(sgam, tmp_path: Path) -> None:
    variant = _variant(tmp_path, SEED.read_text().replace("iec61850: FSCH1.EnaReq,", "iec61850: ZBAT1.EnaReq,"))
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 2, result.err
    [(error, at)] = _errors(result.err, "codegen-model", variant)
    assert error == ("server 'battery-der' cannot host ZBAT1.EnaReq: the shipped IEC 61850 model closest to its data "
                     "(der_battery) has no such data object")
    assert at.startswith("ZBAT1.EnaReq,")
    assert not (tmp_path / "out").exists()


def test_an_actor_name_with_quotes_and_backslashes_reads_back_from_the_generated_docstring(tmp_path: Path) -> None:
    library = (REPO / "usecases" / "library.yaml").read_text()
    name = 'EMS \\ """main""" controller'
    original = "    name: Customer energy management system (OpenADR VEN)\n"
    assert original in library
    (tmp_path / "library.yaml").write_text(library.replace(original, f"    name: '{name}'\n"))
    shutil.copy(SEED, tmp_path)
    [plan], _ = build_plans(load_workspace([tmp_path]))
    folder = write(plan, tmp_path / "out").folder
    shown = subprocess.run([sys.executable, "-c", "import adapters.ems; print(adapters.ems.__doc__.splitlines()[0])"],
                           cwd=folder, capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"Adapter of actor 'ems' ({name}), use case ems-demand-response."


def test_two_actors_that_would_share_an_adapter_module_are_a_located_error(sgam, tmp_path: Path) -> None:
    variant = _variant(tmp_path, re.sub(r"\bpv-der\b", "battery_der", SEED.read_text()))
    result = sgam("codegen", tmp_path, "-o", tmp_path / "out")
    assert result.status == 2, result.err
    [(error, at)] = _errors(result.err, "codegen-names", variant)
    assert error == "actors 'battery-der' and 'battery_der' would both be adapters/battery_der.py on the platform"
    assert at == "battery_der"
    assert not (tmp_path / "out").exists()
