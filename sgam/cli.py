"""The `sgam` command line.

Exit status: 0 when all is well, 2 for bad input (the diagnostics say where and why), 1 for an
internal error (rerun with --debug for the traceback).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from string import Template
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress

from sgam.checks import check
from sgam.diagnostics import BadInput, Diagnostic, did_you_mean
from sgam.enums import Severity
from sgam.files import PACKAGE, default_paths, write_atomic
from sgam.graph import SgamModel
from sgam.interchange.exports import export
from sgam.interchange.imports import import_files, write_usecases
from sgam.loader import Repository, load_repository
from sgam.models import ID_PATTERN
from sgam.plane import plane_json, print_planes
from sgam.schema import SCHEMA_FILES, schema_text

OK, INTERNAL, BAD_INPUT = 0, 1, 2

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print only problems, no progress or summary.")
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the traceback of internal errors.")
@click.version_option(package_name="sgam")
def cli(debug: bool) -> None:
    """Smart-grid use cases (IEC 62559-2) as text, mapped onto the SGAM."""


@contextmanager
def _progress(quiet: bool, what: str = "loading use cases") -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal for runs that take a moment; nothing otherwise."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _load(paths: tuple[Path, ...], strict: bool, quiet: bool) -> tuple[Repository, list[Diagnostic]]:
    with _progress(quiet) as progress:
        repo = load_repository(paths or default_paths(), progress)
    diagnostics = repo.diagnostics + check(repo)
    if strict:
        diagnostics = [replace(d, severity=Severity.error) for d in diagnostics]
    return repo, diagnostics


def _counts(diagnostics: list[Diagnostic]) -> tuple[int, int]:
    errors = sum(d.severity is Severity.error for d in diagnostics)
    return errors, len(diagnostics) - errors


def _report(diagnostics: list[Diagnostic], err: bool = False) -> None:
    for diagnostic in diagnostics:
        click.echo(diagnostic.format(), err=err)


@cli.command()
@paths_argument
@strict_option
@json_option
@quiet_option
def validate(paths: tuple[Path, ...], strict: bool, as_json: bool, quiet: bool) -> int:
    """Check use-case files (default: ./usecases, else the shipped examples)."""
    repo, diagnostics = _load(paths, strict, quiet)
    errors, warnings = _counts(diagnostics)
    if as_json:
        click.echo(json.dumps({
            "usecases": [d.model.id for d in repo.usecases],
            "libraries": [d.model.library for d in repo.libraries],
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [d.to_json() for d in diagnostics],
        }, indent=2))
    else:
        _report(diagnostics)
        if not quiet:
            click.echo(f"{len(repo.usecases)} use case(s), {len(repo.libraries)} library file(s): "
                       f"{errors} error(s), {warnings} warning(s)", err=True)
    return BAD_INPUT if errors else OK


@cli.command(name="map")
@paths_argument
@click.option("--usecase", "-u", help="Show one use case only (by id).")
@strict_option
@json_option
@quiet_option
def map_(paths: tuple[Path, ...], usecase: str | None, strict: bool, as_json: bool, quiet: bool) -> int:
    """Show the use cases on the SGAM planes: cells per layer, boundary crossings, gaps."""
    repo, diagnostics = _load(paths, strict, quiet)
    errors, _ = _counts(diagnostics)
    _report(diagnostics if errors or not quiet else [], err=True)
    if errors:
        click.echo("not mapped: fix the errors above first (`sgam validate` lists them)", err=True)
        return BAD_INPUT
    known = [d.model.id for d in repo.usecases]
    if usecase is not None and usecase not in known:
        click.echo(f"error: no use case {usecase!r}; {did_you_mean(usecase, known)}known: {', '.join(known)}",
                   err=True)
        return BAD_INPUT
    model = SgamModel.build(repo)
    if as_json:
        click.echo(json.dumps(plane_json(model, usecase), indent=2))
    else:
        # Piped output has no terminal width; keep ids whole rather than fold them at 80 columns.
        print_planes(Console(width=None if sys.stdout.isatty() else 200), model, usecase)
    return OK


@cli.command()
@click.option("--library", is_flag=True, help="The schema of shared library files instead of use cases.")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
def schema(library: bool, output: Path | None) -> int:
    """Print the JSON Schema of use-case files (generated from the models)."""
    text = schema_text("library" if library else "usecase")
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
    return OK


@cli.command()
@click.argument("usecase_id")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="File to write (default: ./usecases/ID.yaml if ./usecases exists, else ./ID.yaml).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def new(usecase_id: str, output: Path | None, force: bool) -> int:
    """Write a complete, valid skeleton use case to start from."""
    if not re.match(ID_PATTERN, usecase_id):
        click.echo(f"error: {usecase_id!r} is not a valid id\n    hint: start with a letter; use letters, "
                   "digits, '_', '.' and '-'", err=True)
        return BAD_INPUT
    if output is None:
        folder = Path("usecases")
        output = (folder if folder.is_dir() else Path(".")) / f"{usecase_id}.yaml"
    if output.exists() and not force:
        click.echo(f"error: {output} exists\n    hint: choose another --output, or add --force", err=True)
        return BAD_INPUT
    schema_ref = os.path.relpath(SCHEMA_FILES["usecase"], output.resolve().parent)
    template = Template((PACKAGE / "skeleton.yaml").read_text(encoding="utf-8"))
    write_atomic(output, template.substitute(id=usecase_id, today=dt.date.today().isoformat(), schema=schema_ref))
    click.echo(f"wrote {output}", err=True)
    return OK


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", "-o", "folder", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder to write one YAML use case per use case found.")
@json_option
@quiet_option
def import_(files: tuple[Path, ...], folder: Path, as_json: bool, quiet: bool) -> int:
    """Import IEC 62559-2 workbooks (.xlsx, .xlsm) and IEC 62559-3 XML files as YAML use cases."""
    with _progress(quiet, "importing use cases") as progress:
        run = import_files(list(files), progress)
    errors, warnings = _counts(run.diagnostics)
    try:
        written = write_usecases(run, folder)
    except OSError as exc:
        click.echo(f"{folder}: error[unwritable]: cannot write the use cases: {exc.strerror}\n    hint: give a "
                   "folder you may write to (-o DIR)", err=True)
        return BAD_INPUT
    if as_json:
        click.echo(json.dumps({
            "written": [str(p) for p in written],
            "summaries": [i.summary.to_json() for i in run.imported],
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [d.to_json() for d in run.diagnostics],
        }, indent=2))
        return BAD_INPUT if errors else OK
    _report([d for d in run.diagnostics if not quiet or d.severity is Severity.error], err=True)
    if not quiet:
        for imported, path in zip(run.imported, written, strict=True):
            s = imported.summary
            added = ", ".join(f"{n} {kind}" for kind, n in s.added.items() if n)
            click.echo(f"{path}: from {s.file}: {s.actors} actor(s), {s.scenarios} scenario(s), {s.steps} step(s), "
                       f"{s.information} information object(s); {s.verbatim} value(s) kept verbatim"
                       + (f"; added {added}" if added else "")
                       + (f"; missing: {', '.join(s.missing)}" if s.missing else ""))
        click.echo(f"{len(written)} use case(s) from {len(files)} file(s): {errors} error(s), {warnings} warning(s)",
                   err=True)
    return BAD_INPUT if errors else OK


@cli.command(name="export")
@paths_argument
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="FILE.xml (IEC 62559-3 UseCaseRepository) or FILE.xlsx (IEC 62559-2 template).")
@quiet_option
def export_(paths: tuple[Path, ...], output: Path, quiet: bool) -> int:
    """Export use cases (and the library actors they use) to IEC 62559-3 XML or the IEC 62559-2 workbook."""
    repo, diagnostics = _load(paths, False, quiet)
    errors, _ = _counts(diagnostics)
    _report([d for d in diagnostics if errors or not quiet], err=True)
    if errors:
        click.echo("not exported: fix the errors above first (`sgam validate` lists them)", err=True)
        return BAD_INPUT
    try:
        export(repo, output)
    except BadInput as exc:
        click.echo(exc.diagnostic.format(), err=True)
        return BAD_INPUT
    except OSError as exc:
        click.echo(f"{output}: error[unwritable]: cannot write: {exc.strerror}\n    hint: give a path you may write "
                   "to (-o FILE)", err=True)
        return BAD_INPUT
    if not quiet:
        click.echo(f"wrote {output}: {len(repo.usecases)} use case(s)", err=True)
    return OK


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        status: Any = cli.main(args=args, prog_name="sgam", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.ClickException as exc:  # usage errors: bad input, exit 2
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return INTERNAL
    except Exception as exc:
        if "--debug" in args:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}\n    hint: rerun with --debug to see the "
                   "traceback, and report it", err=True)
        return INTERNAL
    return status if isinstance(status, int) else OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
