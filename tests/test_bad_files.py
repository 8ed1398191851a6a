"""Specification by example: bad input gives one located diagnostic, exit status 2, never a crash.

The cases are the files under tests/bad/ (conventions in tests/bad/README.md): each has one
defect and states, on its first line, the exact `LINE:COL: severity[code]: message` it must
produce. Inputs that cannot carry such a line (binary, badly encoded, oversized, missing) are
built here in a temporary folder, with their expectations below.

The real CLI runs in-process (`sgam.cli.main`), once per case and mode. A run that takes longer
than TIME_LIMIT counts as a hang.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sgam.cli import main

CORPUS = Path(__file__).parent / "bad"
EXPECT_LINE = re.compile(r"# expect(?P<strict> --strict)?: (?P<diagnostic>.+)")
HINT_LINE = re.compile(r"# hint: (?P<hint>.+)")
TIME_LIMIT = 3.0  # seconds; a real run over one bad file takes a few milliseconds
MAX_CORPUS_FILE = 8 * 1024  # bytes: the corpus stays small; big inputs are generated
MAX_BYTES = 8 * 1024 * 1024  # sgam's file-size limit


@dataclass(frozen=True)
class Case:
    """One bad input and the one diagnostic it must give."""

    id: str
    target: Path  # what `sgam validate` is given: a file or a folder
    file: Path  # the file the diagnostic names
    expected: str  # 'LINE:COL: severity[code]: message', or 'severity[code]: message' where there is no position
    strict: bool = False  # a warning: --strict makes it an error
    hint: str | None = None  # text the diagnostic's hint must contain

    @property
    def diagnostic(self) -> str:
        """The whole line sgam must print."""
        separator = ":" if self.expected[:1].isdigit() else ": "
        return f"{self.file}{separator}{self.expected}"


# --- the corpus on disk ----------------------------------------------------------------------


def _header(path: Path) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    lines = path.read_text(encoding="utf-8").splitlines()[:2] + ["", ""]
    return EXPECT_LINE.fullmatch(lines[0]), HINT_LINE.fullmatch(lines[1])


def _corpus_case(name: str, target: Path, file: Path) -> Case:
    expect, hint = _header(file)
    assert expect is not None, f"{file}: the first line must be '# expect: LINE:COL: severity[code]: message'"
    return Case(
        id=name,
        target=target,
        file=file,
        expected=expect["diagnostic"].replace("{dir}", str(target)),
        strict=bool(expect["strict"]),
        hint=hint["hint"] if hint else None,
    )


def corpus_cases() -> Iterator[Case]:
    for entry in sorted(CORPUS.iterdir()):
        if entry.is_dir():
            expecting = [f for f in sorted(entry.glob("*.yaml")) if _header(f)[0] is not None]
            assert len(expecting) == 1, f"{entry}: exactly one file must start with '# expect', found {len(expecting)}"
            yield _corpus_case(entry.name, entry, expecting[0])
        elif entry.suffix == ".yaml":
            yield _corpus_case(entry.stem, entry, entry)


CORPUS_CASES = list(corpus_cases())


# --- inputs made by the test -----------------------------------------------------------------

# A complete, valid use case (validate --strict passes); each generated case breaks it in one way.
VALID_USECASE = """\
id: UC-SM-read
name: Read a smart meter on demand
domains: [Smart metering]
versions:
  - version: "1.0"
    date: 2024-05-14
    author: Metering team
scope: The head-end system reads one customer's meter on request.
objectives:
  - Give the supplier an actual reading within minutes
narrative:
  short: The head-end system asks a meter for its register values.
  complete: The head-end system sends a read request; the meter answers with its registers.
actors:
  - id: hes
    name: Head-end system
    type: system
    description: Collects readings from the meters.
    organisation: dso.example
  - id: meter
    name: Smart meter
    type: device
    description: Measures the customer's consumption.
    organisation: dso.example
scenarios:
  - id: read
    name: On-demand read
    primary_actor: hes
    triggering_event: The supplier asks for a reading.
    steps:
      - number: 1
        activity: Report the registers
        service: REPORT
        producer: meter
        receiver: hes
        information: [registers]
information:
  - id: registers
    name: Register values
    description: Energy registers of the meter.
sgam:
  components:
    - id: hes-server
      name: Head-end server
      type: head-end system
      cells: [{domain: Distribution, zone: Operation}]
      hosts: [hes]
    - id: smart-meter
      name: Smart meter
      type: smart meter
      cells: [{domain: Customer Premises, zone: Process}]
      hosts: [meter]
  links:
    - id: hes-meter
      between: [hes-server, smart-meter]
      protocols: [DLMS/COSEM, TCP/IP]
"""
VALID_LINES = VALID_USECASE.count("\n")
assert VALID_USECASE.count("    author: Metering team\n") == 1


def _with_author(author: str) -> str:
    return VALID_USECASE.replace("    author: Metering team\n", f"    author: {author}\n")


def _too_large() -> bytes:
    padding = MAX_BYTES + 1 - len(VALID_USECASE.encode())
    line = "# " + "x" * 77 + "\n"  # a long trailing comment, as a generator gone wrong might write
    text = VALID_USECASE + line * (padding // len(line))
    return (text + "#" * (MAX_BYTES + 1 - len(text))).encode()


PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"


@dataclass(frozen=True)
class Generated:
    id: str
    name: str  # the file's name
    content: Callable[[], bytes] | None  # None: the file is never written
    expected: str


GENERATED = [
    Generated("binary-png-as-usecase", "curtailment-diagram.png", lambda: PNG_START + b"\x00" * 64,
              "3:1: error[binary]: file is binary, not YAML text (NUL byte)"),
    Generated("binary-nul-tail", "UC-SM-read.yaml", lambda: VALID_USECASE.encode() + b"\x00" * 512,
              f"{VALID_LINES + 1}:1: error[binary]: file is binary, not YAML text (NUL byte)"),
    Generated("encoding-latin-1", "UC-SM-read.yaml", lambda: _with_author("J\xfcrgen M\xfcller").encode("latin-1"),
              "7:14: error[encoding]: byte 0xfc is not valid UTF-8"),
    # 'é' stays UTF-8, 'ü' is Latin-1. The column counts characters, as YAML positions do, not bytes.
    Generated("encoding-mixed", "UC-SM-read.yaml",
              lambda: _with_author("Andr\xe9 M\xfcller").encode().replace("\xfc".encode(), b"\xfc"),
              "7:20: error[encoding]: byte 0xfc is not valid UTF-8"),
    Generated("encoding-utf-16", "UC-SM-read.yaml", lambda: VALID_USECASE.encode("utf-16"),
              "1:1: error[encoding]: file is UTF-16 encoded"),
    Generated("too-large", "UC-SM-read.yaml", _too_large,
              f"error[too-large]: file is {MAX_BYTES + 1:,} bytes, over the {MAX_BYTES:,}-byte limit"),
    Generated("zero-bytes", "UC-SM-read.yaml", lambda: b"",
              "1:1: error[empty]: the file is empty"),
    Generated("no-such-path", "UC-SM-missing.yaml", None,
              "error[no-such-path]: no such file or folder"),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("generated")
    cases = {}
    for spec in GENERATED:
        path = root / spec.id / spec.name
        path.parent.mkdir()
        if spec.content is not None:
            path.write_bytes(spec.content())
        cases[spec.id] = Case(spec.id, path, path, spec.expected)
    return cases


# --- running sgam ----------------------------------------------------------------------------


class _Hang(BaseException):
    """Raised in sgam when a run outlasts TIME_LIMIT (a BaseException: sgam's own handler must not catch it)."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):  # pragma: no cover - not on POSIX
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Run:
    status: int | None  # None: still running after TIME_LIMIT
    out: str
    err: str

    @property
    def diagnostics(self) -> list[str]:
        return [line for line in self.out.splitlines() if line and not line.startswith(" ")]

    def hint_of(self, case: Case) -> str | None:
        """The hint of the diagnostic at the case's position and of its code, whatever its message."""
        lines = self.out.splitlines()
        where_and_code = case.diagnostic.split("]: ", 1)[0] + "]: "
        for index, line in enumerate(lines[:-1]):
            if line.startswith(where_and_code) and lines[index + 1].startswith("    hint: "):
                return lines[index + 1].removeprefix("    hint: ")
        return None


_runs: dict[tuple[Path, bool], Run] = {}


def validate(case: Case, capsys: pytest.CaptureFixture[str], *, strict: bool) -> Run:
    """`sgam validate -q [--strict] TARGET`, run once per case and mode."""
    key = (case.target, strict)
    if key not in _runs:
        capsys.readouterr()
        status: int | None
        try:
            with _time_limit(TIME_LIMIT):
                status = main(["validate", "-q", *(["--strict"] if strict else []), str(case.target)])
        except _Hang:
            status = None
        out, err = capsys.readouterr()
        _runs[key] = Run(status, out, err)
    run = _runs[key]
    if run.status is None:
        pytest.fail(f"sgam did not finish within {TIME_LIMIT} s (hang)")
    return run


# --- the cases -------------------------------------------------------------------------------

ALL_IDS = [c.id for c in CORPUS_CASES] + [g.id for g in GENERATED]
WARNING_IDS = [c.id for c in CORPUS_CASES if c.strict]
HINT_IDS = [c.id for c in CORPUS_CASES if c.hint]
BY_ID = {c.id: c for c in CORPUS_CASES}


def _case(request: pytest.FixtureRequest) -> Case:
    case_id = request.param
    return BY_ID[case_id] if case_id in BY_ID else request.getfixturevalue("generated")[case_id]


@pytest.fixture(params=ALL_IDS)
def case(request: pytest.FixtureRequest) -> Case:
    return _case(request)


@pytest.fixture(params=WARNING_IDS)
def warning_case(request: pytest.FixtureRequest) -> Case:
    return _case(request)


@pytest.fixture(params=HINT_IDS)
def hinted_case(request: pytest.FixtureRequest) -> Case:
    return _case(request)


def test_does_not_crash(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    run = validate(case, capsys, strict=case.strict)
    output = run.out + run.err
    assert "Traceback" not in output
    assert "internal error" not in output, output


def test_exits_with_status_2(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    run = validate(case, capsys, strict=case.strict)
    assert run.status == 2, run.out + run.err


def test_reports_the_defect_where_it_is(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    run = validate(case, capsys, strict=case.strict)
    assert case.diagnostic in run.diagnostics, "\n".join(run.diagnostics) or run.err


def test_reports_nothing_else(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    """One defect, one diagnostic: no follow-on errors or warnings."""
    run = validate(case, capsys, strict=case.strict)
    assert len(run.diagnostics) == 1, "\n".join(run.diagnostics) or run.err


def test_hint_says_how_to_fix_it(hinted_case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    run = validate(hinted_case, capsys, strict=hinted_case.strict)
    hint = run.hint_of(hinted_case)
    assert hint is not None, f"no hint for {hinted_case.diagnostic}:\n{run.out}"
    assert hinted_case.hint in hint


def test_warning_alone_passes_without_strict(warning_case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    run = validate(warning_case, capsys, strict=False)
    as_warning = warning_case.diagnostic.replace(": error[", ": warning[", 1)
    assert run.status == 0, run.out + run.err
    assert as_warning in run.diagnostics, "\n".join(run.diagnostics)


# --- the corpus itself -----------------------------------------------------------------------


def test_corpus_covers_enough_cases() -> None:
    assert len(CORPUS_CASES) >= 30
    assert len(WARNING_IDS) >= 5


def test_corpus_files_are_small() -> None:
    big = [str(p) for p in CORPUS.rglob("*.yaml") if p.stat().st_size > MAX_CORPUS_FILE]
    assert not big, "generate big inputs in the test instead"


def test_generated_cases_start_from_a_valid_usecase(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "UC-SM-read.yaml"
    path.write_text(VALID_USECASE, encoding="utf-8")
    status = main(["validate", "-q", "--strict", str(path)])
    assert (status, capsys.readouterr().out) == (0, "")
