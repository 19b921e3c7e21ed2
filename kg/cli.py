"""The `capkg` command line. Exit codes (also in the README):

0 success · 1 SHACL violations · 2 usage error or invalid setting · 3 malformed source or curation file ·
4 invalid ontology or shapes · 5 build output missing or unwritable · 6 publishing to the external
SPARQL store failed (the message says whether what was live there changed) · 10 unexpected error
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kg.errors import KGError, NonConformantData, SettingsError
from kg.settings import get_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Build, check, export and query the CapaCITIES Learning Portfolio knowledge graph.",
)
console = Console(stderr=True)
out = Console()


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map the error hierarchy to messages and exit codes: the one place that does."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NonConformantData as exc:
            console.print(f"[red]error:[/red] {exc.describe()}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KGError as exc:
            console.print(
                f"[red]error:[/red] {exc.title}: {exc.describe()}", markup=True, highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except (OSError, ValueError, RuntimeError) as exc:
            console.print(f"[red]unexpected error:[/red] {type(exc).__name__}: {exc}", markup=True, highlight=False)
            raise typer.Exit(KGError.exit_code) from None

    return wrapper


def _progress() -> Callable[[str, str], None]:
    def report(event: str, name: str) -> None:
        if event == "start":
            console.print(f"[cyan]…[/cyan] {name}", highlight=False)

    return report


@app.command()
@handles_errors
def build(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary line.")] = False,
    no_publish: Annotated[
        bool, typer.Option("--no-publish", help="With an external store configured: build only, do not load it there.")
    ] = False,
) -> None:
    """Build the graph into build/current (atomically); with KG_STORE_* set, load it into that store too."""
    from kg.pipeline import build as run_build

    result = run_build(get_settings(), None if quiet else _progress())
    summary = result.summary()
    if not quiet:
        _table("Triples per named graph", ["graph", "triples"], sorted(result.graphs.items()))
        _table("Entities per class (asserted)", ["class", "entities"], sorted(result.classes.items()))
        counts = result.validation.counts()
        _table(
            "SHACL results", ["severity", "count"], [(s, counts.get(s, 0)) for s in ("Violation", "Warning", "Info")]
        )
        _table("Time per stage", ["stage", "seconds"], [(t.name, f"{t.seconds:.2f}") for t in result.timings])
    out.print(
        f"built {summary['triples']} triples, version {result.version}, in {result.directory} "
        f"({sum(t.seconds for t in result.timings):.1f} s); data-quality report: "
        f"{result.directory / 'report.md'}",
        highlight=False,
    )
    if get_settings().remote_store and not no_publish:
        _publish(result.directory, quiet)


@app.command()
@handles_errors
def publish(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary line.")] = False,
) -> None:
    """Load the current build into the external SPARQL store (KG_STORE_*) and switch to it."""
    from kg.release.layout import current_build

    settings = get_settings()
    if not settings.remote_store:
        raise SettingsError(
            "no external store is configured: set KG_STORE_QUERY_URL (and KG_STORE_GSP_URL, "
            "KG_STORE_UPDATE_URL); see docs/remote-stores.md",
            field="KG_STORE_QUERY_URL",
        )
    _publish(current_build(settings), quiet)


def _publish(directory: Path, quiet: bool) -> None:
    from kg.engines.publish import publish as run_publish

    def say(message: str) -> None:
        if not quiet:
            console.print(f"[cyan]…[/cyan] {message}", highlight=False)

    report = run_publish(get_settings(), directory, say)
    out.print(
        f"published version {report.version} ({sum(report.graphs.values())} triples in "
        f"{len(report.graphs)} graphs) to the SPARQL store, {report.mode}, in {report.seconds:.1f} s; "
        f"previous release: {report.previous or 'none'}",
        highlight=False,
    )


@app.command()
@handles_errors
def validate() -> None:
    """Check the sources against the shapes without writing a build; exit 1 on violations."""
    from kg.pipeline import Stages, assemble

    assembled = assemble(get_settings(), Stages(None))
    for result in assembled.validation.results:
        if result.severity == "Violation":
            out.print(result.describe(), highlight=False)
    counts = assembled.validation.counts()
    out.print(
        f"{counts.get('Violation', 0)} violations, {counts.get('Warning', 0)} warnings, {counts.get('Info', 0)} infos",
        highlight=False,
    )
    if not assembled.validation.conforms:
        raise typer.Exit(NonConformantData.exit_code)


class ReportFormat(StrEnum):
    markdown = "markdown"
    html = "html"


@app.command()
@handles_errors
def report(
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="markdown or html")] = ReportFormat.markdown,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default: standard output")
    ] = None,
) -> None:
    """The data-quality report for editors: warnings and notes grouped by subcategory, with source lines."""
    from kg.pipeline import Stages, assemble
    from kg.release.report import html_report, markdown

    assembled = assemble(get_settings(), Stages(None))
    render = markdown if format == ReportFormat.markdown else html_report
    text = render(assembled.validation, assembled.findings, "unbuilt")
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


class ExportFormat(StrEnum):
    trig = "trig"
    nquads = "nquads"
    turtle = "turtle"
    jsonld = "jsonld"


@app.command()
@handles_errors
def export(
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="trig, nquads, turtle (union of graphs) or jsonld")
    ] = ExportFormat.trig,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default: standard output")
    ] = None,
) -> None:
    """Export the current build's dataset."""
    from kg.release.layout import EXPORT_FORMATS, current_build

    path = current_build(get_settings()) / EXPORT_FORMATS[format.value][1]
    data = path.read_bytes()
    if output:
        output.write_bytes(data)
        console.print(f"wrote {len(data)} bytes to {output}", highlight=False)
    else:
        sys.stdout.buffer.write(data)


@app.command()
@handles_errors
def query(
    sparql: Annotated[str, typer.Argument(help="A SPARQL query, or @file.rq to read one from a file")],
) -> None:
    """Run a read-only SPARQL query on the current build and print the results as a table."""
    import pyoxigraph as ox

    from kg.release.dataset import open_dataset
    from kg.release.layout import current_build

    text = Path(sparql[1:]).read_text(encoding="utf-8") if sparql.startswith("@") else sparql
    store = open_dataset(current_build(get_settings()))
    try:
        results = store.query(text, use_default_graph_as_union=True)
    except SyntaxError as exc:
        console.print(f"error: malformed SPARQL: {exc}", highlight=False)
        raise typer.Exit(2) from None
    if isinstance(results, ox.QuerySolutions):
        names = [v.value for v in results.variables]
        _table(None, names, [[_term(solution[n]) for n in names] for solution in results], to=out)
    elif isinstance(results, ox.QueryBoolean):
        out.print(str(bool(results)).lower())
    else:
        sys.stdout.buffer.write(ox.serialize(results, format=ox.RdfFormat.TURTLE) or b"")


@app.command()
@handles_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default KG_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default KG_PORT, 8000)")] = None,
) -> None:
    """Serve the current build: SPARQL endpoint, REST API and its documentation."""
    import uvicorn

    from kg.release.layout import current_build

    settings = get_settings()
    current_build(settings)
    host, port = host or settings.host, port or settings.port
    base = f"http://{host}:{port}"
    out.print(
        f"pages            {base}/\nSPARQL endpoint  {base}/sparql\nREST API         {base}/api\n"
        f"API docs         {base}/docs\nhealth           {base}/health",
        highlight=False,
    )
    uvicorn.run(
        "api.app:app_factory",
        factory=True,
        host=host,
        port=port,
        log_level="warning",
        workers=settings.http_workers if settings.http_workers > 1 else None,
    )


def _term(term: Any) -> str:
    return "" if term is None else getattr(term, "value", str(term))


def _table(title: str | None, columns: list[str], rows: Any, to: Console | None = None) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    (to or console).print(table)


if __name__ == "__main__":
    app()
