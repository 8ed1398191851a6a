"""The `sgam` command line.

Exit status: 0 when all is well, 2 for bad input (the diagnostics say where and why), 1 for an
internal error (rerun with --debug for the traceback), 3 for gaps when `standards gaps --fail-on-gaps`,
4 when `sgam run` observed a step that does not conform.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from string import Template
from typing import Any

import click
import graphviz
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sgam.catalog import Catalog, load_catalog
from sgam.diagnostics import BadInput, Diagnostic, did_you_mean
from sgam.enums import Domain, Layer, Severity, StandardKind, Zone, parse_domain, parse_zone
from sgam.files import PACKAGE, default_paths, write_atomic
from sgam.graph import SgamModel
from sgam.interchange.exports import export
from sgam.interchange.imports import import_files, write_usecases
from sgam.linking import where_it_applies
from sgam.models import ID_PATTERN, Cell
from sgam.plane import plane_json, print_planes
from sgam.publish import diagrams, sheets
from sgam.publish.report import build_site
from sgam.publish.view import Publication
from sgam.schema import SCHEMA_FILES, schema_text
from sgam.standards import Gap, gaps, suggest
from sgam.workspace import Workspace, load_workspace

OK, INTERNAL, BAD_INPUT, GAPS = 0, 1, 2, 3
NONCONFORMING = 4  # `sgam run`: a step failed, or none could be played

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print only problems, no progress or summary.")
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")

catalog_option = click.option(
    "--catalog", "catalog_dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False),
    help="A folder of your own catalog entries, added to the shipped catalog (repeatable).",
)


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


@contextmanager
def _step_progress(quiet: bool, total: int) -> Iterator[Callable[[Any], None] | None]:
    """A progress bar of the steps `sgam run` has checked, on a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting Prosody and the adapters", total=total)

        def advance(result: Any) -> None:
            bar.update(task, advance=1, description=f"{result.play.scenario} step {result.play.number}: "
                       f"{result.outcome}")

        yield advance


def _load(paths: tuple[Path, ...], catalog_dirs: tuple[Path, ...], strict: bool, quiet: bool) -> Workspace:
    with _progress(quiet) as progress:
        workspace = load_workspace(paths or default_paths(), catalog_dirs, progress)
    workspace.diagnostics = _strictly(workspace.diagnostics, strict)
    return workspace


def _strictly(diagnostics: list[Diagnostic], strict: bool) -> list[Diagnostic]:
    """--strict: every warning counts as an error."""
    return [replace(d, severity=Severity.error) for d in diagnostics] if strict else diagnostics


def _check_report(diagnostics: list[Diagnostic], counted: dict[str, Any], summary: str, as_json: bool,
                  quiet: bool) -> int:
    """What a checking command prints: the diagnostics and a summary line, or one JSON object; its exit status."""
    errors, warnings = _counts(diagnostics)
    if as_json:
        click.echo(json.dumps({**counted, "errors": errors, "warnings": warnings,
                               "diagnostics": [d.to_json() for d in diagnostics]}, indent=2))
    else:
        _report(diagnostics)
        if not quiet:
            click.echo(f"{summary}: {errors} error(s), {warnings} warning(s)", err=True)
    return BAD_INPUT if errors else OK


def _usable(workspace: Workspace, quiet: bool) -> SgamModel | None:
    """The SGAM model when the input has no errors; else the errors are shown and None returned."""
    errors, _ = _counts(workspace.diagnostics)
    _report(workspace.diagnostics if errors or not quiet else [], err=True)
    if errors or workspace.model is None:
        click.echo("stopped: fix the errors above first (`sgam validate` lists them)", err=True)
        return None
    return workspace.model


def _counts(diagnostics: list[Diagnostic]) -> tuple[int, int]:
    errors = sum(d.severity is Severity.error for d in diagnostics)
    return errors, len(diagnostics) - errors


def _report(diagnostics: list[Diagnostic], err: bool = False) -> None:
    for diagnostic in diagnostics:
        click.echo(diagnostic.format(), err=err)


@cli.command()
@paths_argument
@catalog_option
@strict_option
@json_option
@quiet_option
def validate(paths: tuple[Path, ...], catalog_dirs: tuple[Path, ...], strict: bool, as_json: bool, quiet: bool) -> int:
    """Check use-case files (default: ./usecases, else the shipped examples) and their standards."""
    workspace = _load(paths, catalog_dirs, strict, quiet)
    repo = workspace.repo
    counted = {"usecases": [d.model.id for d in repo.usecases], "libraries": [d.model.library for d in repo.libraries]}
    summary = f"{len(repo.usecases)} use case(s), {len(repo.libraries)} library file(s)"
    return _check_report(workspace.diagnostics, counted, summary, as_json, quiet)


@cli.command(name="map")
@paths_argument
@click.option("--usecase", "-u", help="Show one use case only (by id).")
@catalog_option
@strict_option
@json_option
@quiet_option
def map_(paths: tuple[Path, ...], usecase: str | None, catalog_dirs: tuple[Path, ...], strict: bool, as_json: bool,
         quiet: bool) -> int:
    """Show the use cases on the SGAM planes: cells per layer, boundary crossings, gaps."""
    workspace = _load(paths, catalog_dirs, strict, quiet)
    model = _usable(workspace, quiet)
    if model is None:
        return BAD_INPUT
    known = [d.model.id for d in workspace.repo.usecases]
    if usecase is not None and usecase not in known:
        click.echo(f"error: no use case {usecase!r}; {did_you_mean(usecase, known)}known: {', '.join(known)}",
                   err=True)
        return BAD_INPUT
    if as_json:
        click.echo(json.dumps(plane_json(model, usecase), indent=2))
    else:
        # Piped output has no terminal width; keep ids whole rather than fold them at 80 columns.
        print_planes(Console(width=None if sys.stdout.isatty() else 200), model, usecase)
    return OK


@cli.group()
def standards() -> None:
    """The standards catalog: check it, browse it, and link use cases to it."""


@standards.command(name="check")
@catalog_option
@strict_option
@json_option
@quiet_option
def standards_check(catalog_dirs: tuple[Path, ...], strict: bool, as_json: bool, quiet: bool) -> int:
    """Check the catalog itself: unique ids and aliases, relations and sources that resolve."""
    catalog, diagnostics = load_catalog(catalog_dirs)
    counted = {"standards": len(catalog.standards), "sources": len(catalog.sources)}
    summary = f"{len(catalog.standards)} standard(s), {len(catalog.sources)} source(s)"
    return _check_report(_strictly(diagnostics, strict), counted, summary, as_json, quiet)


def _load_catalog(catalog_dirs: tuple[Path, ...]) -> Catalog | None:
    """The catalog, or None after showing its errors."""
    catalog, diagnostics = load_catalog(catalog_dirs)
    errors, _ = _counts(diagnostics)
    if errors:
        _report(diagnostics, err=True)
        click.echo("stopped: fix the catalog errors above first (`sgam standards check` lists them)", err=True)
        return None
    return catalog


@standards.command(name="list")
@click.option("--layer", type=click.Choice([layer.value for layer in Layer]), help="Only those placed on this layer.")
@click.option("--domain", help="Only those placed in this SGAM domain.")
@click.option("--zone", help="Only those placed in this SGAM zone.")
@click.option("--kind", type=click.Choice([kind.value for kind in StandardKind]), help="Only this kind.")
@click.option("--family", help="Only this family, e.g. 'IEC 61850'.")
@catalog_option
@json_option
def standards_list(layer: str | None, domain: str | None, zone: str | None, kind: str | None, family: str | None,
                   catalog_dirs: tuple[Path, ...], as_json: bool) -> int:
    """List catalog entries, filtered by SGAM position, kind or family."""
    catalog = _load_catalog(catalog_dirs)
    if catalog is None:
        return BAD_INPUT
    wanted_domain, wanted_zone = _sgam_filter(domain, parse_domain, Domain), _sgam_filter(zone, parse_zone, Zone)
    chosen = [
        s for s in catalog.standards.values()
        if (kind is None or StandardKind(kind) in s.kinds)
        and (family is None or s.family.casefold() == family.casefold())
        and any((layer is None or Layer(layer) in p.layers) and (wanted_domain is None or wanted_domain in p.domains)
                and (wanted_zone is None or wanted_zone in p.zones) for p in s.positions)
    ]
    chosen.sort(key=lambda s: (s.family, s.id))
    if as_json:
        click.echo(json.dumps([s.model_dump(mode="json") for s in chosen], indent=2))
        return OK
    table = Table("id", "title", "kinds", "status", box=None)
    for s in chosen:
        table.add_row(s.id, s.title, ", ".join(k.value for k in s.kinds), s.status.value)
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    click.echo(f"{len(chosen)} of {len(catalog.standards)} standard(s)", err=True)
    return OK


def _sgam_filter(text: str | None, parse: Callable[[str], Any], enum: type[Domain | Zone]) -> Any:
    if text is None:
        return None
    found = parse(text)
    if found is None:
        legal = [member.value for member in enum]
        raise click.BadParameter(f"{text!r} is not an SGAM {enum.__name__.lower()}; "
                                 f"{did_you_mean(text, legal)}legal: {', '.join(legal)}")
    return found


@standards.command(name="show")
@click.argument("name")
@catalog_option
@json_option
def standards_show(name: str, catalog_dirs: tuple[Path, ...], as_json: bool) -> int:
    """Show one catalog entry (by id or alias) with its positions, sources and relations."""
    catalog = _load_catalog(catalog_dirs)
    if catalog is None:
        return BAD_INPUT
    standard = catalog.get(name)
    if standard is None:
        click.echo(f"error: {name!r} is not in the catalog\n    hint: {catalog.suggestion(name)}"
                   "`sgam standards list` shows the names", err=True)
        return BAD_INPUT
    if as_json:
        click.echo(json.dumps(standard.model_dump(mode="json"), indent=2))
        return OK
    origin = catalog.origins[standard.id]
    lines = [f"{standard.id}: {standard.title}",
             f"  {standard.publisher}, {standard.edition}, {standard.status.value}; family {standard.family}",
             f"  kinds: {', '.join(k.value for k in standard.kinds)}",
             f"  defined at {origin.where}" + (" (overrides the shipped entry)" if standard.id in catalog.overridden
                                               else "")]
    if standard.aliases:
        lines.append(f"  also written: {', '.join(standard.aliases)}")
    if standard.exchanges:
        lines.append(f"  serves: {', '.join(e.value for e in standard.exchanges)}")
    for position in standard.positions:
        source = catalog.sources[position.source]
        lines.append(f"  {where_it_applies(standard, tuple(position.layers))}; source: {source.title} "
                     f"({source.year})")
    for relation, targets in standard.relations:
        if targets:
            lines.append(f"  {relation.replace('_', ' ')}: {', '.join(targets)}")
    if standard.description:
        lines.append(f"  {standard.description}")
    if standard.link:
        lines.append(f"  {standard.link}")
    click.echo("\n".join(lines))
    return OK


@standards.command(name="suggest")
@paths_argument
@click.option("--limit", default=5, show_default=True, help="Candidates per need.")
@catalog_option
@json_option
@quiet_option
def standards_suggest(paths: tuple[Path, ...], limit: int, catalog_dirs: tuple[Path, ...], as_json: bool,
                      quiet: bool) -> int:
    """Ranked standards for each link and exchanged information that lacks one, with the reasons."""
    workspace = _load(paths, catalog_dirs, False, quiet)
    model = _usable(workspace, quiet)
    if model is None:
        return BAD_INPUT
    found = suggest(model, workspace.catalog, limit)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in found], indent=2, default=_json_default))
        return OK
    for suggestion in found:
        need = suggestion.need
        click.echo(f"{need.usecase}: {need.label} {need.why}; needs {need.need} ({need.layer.value} layer)")
        for rank, candidate in enumerate(suggestion.candidates, 1):
            click.echo(f"  {rank}. {candidate.standard} [{candidate.score:g}]: {'; '.join(candidate.reasons)}")
        if not suggestion.candidates:
            click.echo("  no catalog entry is positioned there; add one with --catalog")
    if not quiet:
        click.echo(f"{len(found)} need(s)", err=True)
    return OK


@standards.command(name="gaps")
@paths_argument
@click.option("--fail-on-gaps", is_flag=True, help="Exit with status 3 when there is any gap.")
@catalog_option
@json_option
@quiet_option
def standards_gaps(paths: tuple[Path, ...], fail_on_gaps: bool, catalog_dirs: tuple[Path, ...], as_json: bool,
                   quiet: bool) -> int:
    """Missing information models, protocols and security; bare SGAM cells; drafts and retired standards in use."""
    workspace = _load(paths, catalog_dirs, False, quiet)
    model = _usable(workspace, quiet)
    if model is None:
        return BAD_INPUT
    found = gaps(model, workspace.catalog)
    by_usecase: dict[str, list[Gap]] = {}
    for gap in found:
        by_usecase.setdefault(gap.usecase, []).append(gap)
    kinds = sorted({gap.kind for gap in found})
    if as_json:
        click.echo(json.dumps({
            "usecases": {uc: [asdict(g) for g in items] for uc, items in by_usecase.items()},
            "repository": {kind: sum(g.kind == kind for g in found) for kind in kinds},
        }, indent=2))
    else:
        for usecase, items in by_usecase.items():
            click.echo(f"{usecase}: {len(items)} gap(s)")
            for gap in items:
                click.echo(f"  {gap.kind}: {gap.message}")
        summary = ", ".join(f"{sum(g.kind == kind for g in found)} {kind}" for kind in kinds)
        click.echo(f"repository: {len(found)} gap(s)" + (f" ({summary})" if summary else ""), err=quiet)
    return GAPS if fail_on_gaps and found else OK


def _json_default(value: Any) -> Any:
    """Cells and frozensets in analysis results, as JSON."""
    if isinstance(value, Cell):
        return {"domain": value.domain.value, "zone": value.zone.value}
    if isinstance(value, frozenset | set):
        return sorted(value, key=str)
    raise TypeError(type(value).__name__)


def _output(path: Path, folder: bool) -> str:
    """Why `path` cannot take the output ('' when it can)."""
    if folder and path.exists() and not path.is_dir():
        return f"{path}: error[output]: is a file, not a folder\n    hint: name a folder with -o"
    if not folder and path.is_dir():
        return f"{path}: error[output]: is a folder\n    hint: name the .xlsx file to write with -o"
    if not folder and path.suffix.lower() != ".xlsx":
        return f"{path}: error[output]: does not end in .xlsx\n    hint: spreadsheet programs open the workbook by that suffix"
    return ""


def _publish(paths: tuple[Path, ...], catalog_dirs: tuple[Path, ...], out: Path, folder: bool, quiet: bool,
             as_json: bool, what: str, write: Callable[[Publication, Callable[[int, int], None] | None], list[Path]]) -> int:
    """Load, check and publish the repository with `write`; print what was written."""
    if problem := _output(out, folder):
        click.echo(problem, err=True)
        return BAD_INPUT
    workspace = _load(paths, catalog_dirs, False, quiet)
    model = _usable(workspace, quiet)
    if model is None:
        return BAD_INPUT
    pub = Publication.of(workspace, model)
    try:
        with _progress(quiet or as_json, f"writing {what}") as progress:
            written = write(pub, progress)
    except graphviz.ExecutableNotFound:
        click.echo("error: Graphviz `dot` is not installed\n    hint: install the graphviz package "
                   "(`bash .ci/setup` does on Debian)", err=True)
        return INTERNAL
    except graphviz.CalledProcessError as exc:
        said = (exc.stderr or b"").decode(errors="replace").strip() or f"exit status {exc.returncode}"
        click.echo(f"error: Graphviz `dot` failed on a diagram: {said}\n    hint: nothing was written to {out}; "
                   "check the Graphviz installation (`dot -V`), and report it if dot works", err=True)
        return INTERNAL
    except OSError as exc:
        return _unwritable(exc, out, what, "a path you may write to (-o)")
    if as_json:
        click.echo(json.dumps({"written": [str(p) for p in written]}, indent=2))
    elif not quiet:
        click.echo(f"wrote {len(written)} file(s) of {what} to {out}", err=True)
    return OK


@cli.command()
@paths_argument
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("diagrams"), show_default=True,
              help="Folder to write into (one sub-folder per use case).")
@click.option("--format", "fmt", type=click.Choice(diagrams.FORMATS), default="svg", show_default=True)
@click.option("--layer", "layers", multiple=True, type=click.Choice([layer.value for layer in Layer]),
              help="SGAM layer(s) to draw planes for (repeat; default: all five).")
@catalog_option
@json_option
@quiet_option
def diagram(paths: tuple[Path, ...], output: Path, fmt: str, layers: tuple[str, ...], catalog_dirs: tuple[Path, ...],
            as_json: bool, quiet: bool) -> int:
    """Draw SGAM planes, use-case and sequence diagrams with Graphviz dot."""
    chosen = [Layer(v) for v in layers] or list(Layer)
    return _publish(paths, catalog_dirs, output, True, quiet, as_json, "diagrams",
                    lambda pub, progress: diagrams.write_diagrams(pub, output, fmt, chosen, progress))


@cli.command()
@paths_argument
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("sgam-matrix.xlsx"),
              show_default=True, help="Workbook to write.")
@catalog_option
@json_option
@quiet_option
def matrix(paths: tuple[Path, ...], output: Path, catalog_dirs: tuple[Path, ...], as_json: bool, quiet: bool) -> int:
    """Write the exchange x standard matrix and SGAM coverage per layer as an .xlsx workbook."""
    def write(pub: Publication, progress: Callable[[int, int], None] | None) -> list[Path]:
        sheets.write_workbook(pub, output)
        return [output]

    return _publish(paths, catalog_dirs, output, False, quiet, as_json, "matrices", write)


@cli.command()
@paths_argument
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("site"), show_default=True,
              help="Folder of the static site.")
@catalog_option
@json_option
@quiet_option
def report(paths: tuple[Path, ...], output: Path, catalog_dirs: tuple[Path, ...], as_json: bool, quiet: bool) -> int:
    """Build a static HTML report (works offline): index, a page per use case and per standard."""
    return _publish(paths, catalog_dirs, output, True, quiet, as_json, "report pages",
                    lambda pub, progress: build_site(pub, output, progress))


@cli.command()
@click.option("--library", "kind", flag_value="library", help="The schema of shared library files.")
@click.option("--catalog", "kind", flag_value="catalog", help="The schema of standards catalog files.")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
def schema(kind: str | None, output: Path | None) -> int:
    """Print the JSON Schema of use-case files (or of library or catalog files), generated from the models."""
    text = schema_text(kind or "usecase")
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
        return _unwritable(exc, folder, "the use cases", "a folder you may write to (-o DIR)")
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
@catalog_option
@quiet_option
def export_(paths: tuple[Path, ...], output: Path, catalog_dirs: tuple[Path, ...], quiet: bool) -> int:
    """Export use cases (and the library actors they use) to IEC 62559-3 XML or the IEC 62559-2 workbook."""
    workspace = _load(paths, catalog_dirs, False, quiet)
    repo = workspace.repo
    errors, _ = _counts(workspace.diagnostics)
    _report([d for d in workspace.diagnostics if errors or not quiet], err=True)
    if errors:
        click.echo("not exported: fix the errors above first (`sgam validate` lists them)", err=True)
        return BAD_INPUT
    try:
        export(repo, output)
    except BadInput as exc:
        click.echo(exc.diagnostic.format(), err=True)
        return BAD_INPUT
    except OSError as exc:
        return _unwritable(exc, output, "the export", "a path you may write to (-o FILE)")
    if not quiet:
        click.echo(f"wrote {output}: {len(repo.usecases)} use case(s)", err=True)
    return OK


def _unwritable(exc: OSError, output: Path, what: str, where: str) -> int:
    """Say which file could not be written, and why; the status of bad input."""
    place = str(exc.filename or output)
    click.echo(Diagnostic(Severity.error, "unwritable", f"cannot write {what}: {exc.strerror}", place,
                          hint=f"give {where}").format(), err=True)
    return BAD_INPUT


def _plans(workspace: Workspace, quiet: bool, usecase: str | None = None) -> list[Any] | None:
    """The platform plans of the loaded use cases (or of one), or None after showing the errors that stop codegen."""
    from codegen.plan import build_plans

    if _usable(workspace, quiet) is None:
        return None
    plans, problems = build_plans(workspace, usecase)
    errors, _ = _counts(problems)
    _report(problems if errors or not quiet else [], err=True)
    if errors:
        click.echo("stopped: the platform cannot be generated until the errors above are fixed", err=True)
        return None
    return plans


def _write_platform(plan: Any, output: Path) -> Any:
    """Write one plan's platform and say what was kept or removed; None after showing why it could not be written."""
    from codegen.output import write

    try:
        written = write(plan, output)
    except BadInput as exc:
        click.echo(exc.diagnostic.format(), err=True)
        return None
    except OSError as exc:
        _unwritable(exc, output, "the platform", "an output folder you may write to (-o DIR)")
        return None
    for hook in written.kept_hooks:
        click.echo(f"{written.folder / hook}: kept (you changed it; the generated version is not written)", err=True)
    for path in written.replaced:
        click.echo(f"{written.folder / path}: written anew; it had been changed by hand (application code belongs in "
                   "the hooks files, which are kept)", err=True)
    for path in written.removed:
        click.echo(f"{written.folder / path}: removed (an earlier generation wrote it; this one no longer does)",
                   err=True)
    for path in written.left:
        click.echo(f"{written.folder / path}: left in place but no longer used (changed since an earlier generation "
                   "wrote it; this one no longer does)", err=True)
    return written


output_option = click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False),
                             default=Path("build/platform"), show_default=True, help="Folder to write the platform to.")


@cli.command()
@paths_argument
@output_option
@catalog_option
@json_option
@quiet_option
def codegen(paths: tuple[Path, ...], output: Path, catalog_dirs: tuple[Path, ...], as_json: bool, quiet: bool) -> int:
    """Generate the XMPP platform of the use cases: conversion tables, adapters, accounts, Prosody configuration."""
    plans = _plans(_load(paths, catalog_dirs, False, quiet), quiet)
    if plans is None:
        return BAD_INPUT
    done = []
    for plan in plans:
        written = _write_platform(plan, output)
        if written is None:
            return BAD_INPUT
        done.append({"usecase": plan.usecase, "folder": str(written.folder), "files": written.files,
                     "kept_hooks": written.kept_hooks, "replaced": written.replaced, "removed": written.removed,
                     "left": written.left, "actors": sorted(plan.actors)})
    if as_json:
        click.echo(json.dumps(done, indent=2))
    elif not quiet:
        for item in done:
            click.echo(f"{item['folder']}: {len(item['files'])} file(s), actors {', '.join(item['actors'])}")
        if not done:
            click.echo("no use case puts an actor on the platform (a link naming XMPP and OpenADR or "
                       "IEC 61850-8-2)", err=True)
    return OK


@cli.command(name="run")
@click.argument("usecase")
@click.option("--scenario", "-s", "scenarios", multiple=True, help="Play only this scenario (repeatable).")
@output_option
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for each step's stanza.")
@click.option("--federated", is_flag=True,
              help="One Prosody per organisation's domain, each on its own loopback address, joined by s2s.")
@catalog_option
@json_option
@quiet_option
def run_(usecase: str, scenarios: tuple[str, ...], output: Path, timeout: float, federated: bool,
         catalog_dirs: tuple[Path, ...], as_json: bool, quiet: bool) -> int:
    """Play a use case on its generated platform over a local Prosody and check the stanzas against its steps.

    USECASE is a use-case file, or the id of a use case under the default paths.
    """
    import asyncio

    from codegen.run import diagrams, run_scenarios

    missing = [tool for tool in ("prosody", "prosodyctl", "openssl") if shutil.which(tool) is None]
    if missing:
        click.echo(f"error: sgam run starts a local XMPP server and needs {', '.join(missing)}\n    hint: install "
                   "the Debian packages prosody and openssl (`bash .ci/setup` does)", err=True)
        return BAD_INPUT
    path = Path(usecase)
    workspace = _load((path,) if path.exists() else (), catalog_dirs, False, quiet)
    plans = _plans(workspace, quiet, None if path.exists() else usecase)
    if plans is None:
        return BAD_INPUT
    chosen = plans
    if len(chosen) != 1:
        known = [d.model.id for d in workspace.repo.usecases]
        if len(chosen) > 1:
            problem = f"{usecase} holds {len(chosen)} use cases on the platform\n    hint: give one file"
        elif path.exists() or usecase in known:
            problem = (f"{usecase} puts no actor on the platform\n    hint: a link must name XMPP and "
                       "OpenADR 2.0b or IEC 61850-8-2 (`sgam codegen` lists what it found)")
        else:
            problem = f"no use case {usecase!r}\n    hint: {did_you_mean(usecase, known)}known: {', '.join(known)}"
        click.echo(f"error: {problem}", err=True)
        return BAD_INPUT
    plan = chosen[0]
    unknown = [s for s in scenarios if s not in plan.scenarios]
    if unknown:
        click.echo(f"error: no scenario {unknown[0]!r} in {plan.usecase}; {did_you_mean(unknown[0], plan.scenarios)}"
                   f"known: {', '.join(plan.scenarios)}", err=True)
        return BAD_INPUT
    written = _write_platform(plan, output)
    if written is None:
        return BAD_INPUT
    folder = written.folder
    chosen_scenarios = list(scenarios or plan.scenarios)
    with _step_progress(quiet or as_json, sum(len(plan.scenarios[s]) for s in chosen_scenarios)) as advance:
        try:
            runs = asyncio.run(run_scenarios(plan, folder, chosen_scenarios, timeout, federated, advance))
        except BadInput as exc:  # the generated adapters do not load (a hooks file the user changed, mostly)
            click.echo(exc.diagnostic.format(), err=True)
            return BAD_INPUT
    results = {scenario: run.results for scenario, run in runs.items()}
    failed = sum(r.outcome == "failed" for items in results.values() for r in items)
    played = sum(r.outcome != "not executable" for items in results.values() for r in items)
    conforms = played > 0 and not failed  # a run that checked nothing shows nothing, so it does not pass
    for scenario, run in runs.items():
        for kind, svg in zip(("specified", "observed"), diagrams(plan, scenario, run), strict=True):
            write_atomic(folder / "diagrams" / f"{scenario}.{kind}.svg", svg)
    if as_json:
        click.echo(json.dumps({"usecase": plan.usecase, "conforms": conforms, "played": played, "scenarios": {
            scenario: [{"step": r.play.number, "producer": r.play.producer, "receiver": r.play.receiver,
                        "expected": list(r.play.messages), "outcome": r.outcome,
                        "observed": r.observed.message if r.observed else None,
                        "about": list(r.observed.items) if r.observed else [], "note": r.note} for r in items]
            for scenario, items in results.items()}}, indent=2))
    elif not quiet or not conforms:
        table = Table("scenario", "step", "producer -> receiver", "expected", "observed", "result", box=None)
        colours = {"passed": "green", "failed": "red", "not executable": "yellow"}
        for scenario, items in results.items():
            for r in items:
                if quiet and r.outcome != "failed":
                    continue
                table.add_row(scenario, r.play.number, f"{r.play.producer} -> {r.play.receiver or '-'}",
                              " | ".join(r.play.messages) or "-", r.observed.message if r.observed else "-",
                              f"[{colours[r.outcome]}]{r.outcome}[/]" + (f": {r.note}" if r.note else ""))
        Console(width=None if sys.stdout.isatty() else 200).print(table)
        verdict = (f"{failed} step(s) failed" if failed else "conforms" if played
                   else "no step can be played on the platform, so nothing was checked")
        click.echo(f"{plan.usecase}: {verdict}; diagrams in {folder / 'diagrams'}", err=True)
    return OK if conforms else NONCONFORMING


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
