"""The `capkg` command line. Exit codes (also in the README):

0 success · 1 SHACL violations · 2 usage error or invalid setting · 3 malformed source or curation file ·
4 invalid ontology or shapes · 5 build output missing or unwritable (a full disk included) · 6 publishing
to the external SPARQL store failed (the message says whether what was live there changed) · 7 the
server cannot listen (the port is in use, or the address is not this machine's) · 10 unexpected error
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kg.errors import BuildOutputError, CannotListen, KGError, NonConformantData, SettingsError
from kg.settings import Settings, get_settings

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
            try:
                return command(*args, **kwargs)
            except Exception as exc:  # a full disk is exit 5 whatever was writing, and however it was wrapped
                settled = (BuildOutputError, typer.Exit, typer.Abort)  # said already, or the command's own exit
                full = None if isinstance(exc, settled) else _full_disk(exc)
                if full is None:
                    raise
                raise full from exc
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


def _full_disk(exc: BaseException | None, where: Path | None = None) -> BuildOutputError | None:
    """A full disk (ENOSPC) or quota (EDQUOT) among `exc` and its causes, as exit 5 naming the file if known."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            problem = "no space left on the device" if exc.errno == errno.ENOSPC else "the disk quota is exceeded"
            place = exc.filename or where
            return BuildOutputError(f"{problem}; free some space and run the command again", file=place)
        exc = exc.__cause__ or exc.__context__
    return None


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
    if_changed: Annotated[
        bool,
        typer.Option(
            "--if-changed",
            help="Build only if the sources, curation, ontology, shapes or the software changed since the current "
            "build (or if it is missing or corrupt).",
        ),
    ] = False,
) -> None:
    """Build the graph into build/current (atomically); with KG_STORE_* set, load it into that store too."""
    from kg.pipeline import build as run_build

    settings = get_settings()
    publishing = settings.remote_store and not no_publish
    fingerprint = _inputs_fingerprint(settings, publishing)
    if if_changed:
        version = _built_from(settings, fingerprint)
        if version is not None:
            out.print(f"the build is up to date ({version})", highlight=False)
            return
    try:
        result = run_build(settings, None if quiet else _progress())
    except Exception as exc:
        full = _full_disk(exc, settings.build_dir)  # the file is seldom known: the build directory is named
        if full is None:
            raise
        raise full from exc
    release = result.directory.resolve().name  # before publishing, which takes a while: what this build made
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
    if publishing:
        _publish(result.directory, quiet)
    _record_inputs(settings, fingerprint, release)  # only once all of it succeeded


INPUTS_FILE = "current-inputs.sha256"  # in the build directory: what the current build was made from


def _inputs_fingerprint(settings: Settings, publishing: bool) -> str:
    """SHA-256 over everything a build depends on: every input file's path and bytes, the approved change
    sets, the software (its version and the files of the kg package), the base IRI, and the store it is
    published to."""
    import hashlib

    import kg

    digest = hashlib.sha256()
    digest.update(f"capacities-kg {kg.__version__}\nbase IRI {settings.base_iri}\n".encode())
    if publishing:
        stores = (settings.store_query_url, settings.store_gsp_url, settings.store_update_url)
        digest.update(f"published to {' '.join(stores)}\n".encode())
    roots = {
        "sources": settings.sources_dir,
        "curation": settings.curation_dir,
        "ontology": settings.ontology_dir,
        "shapes": settings.shapes_dir,
        "kg": Path(kg.__file__).parent,
    }
    for label, root in roots.items():
        files = (
            sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if root.is_dir() else []
        )
        for path in files:
            data = path.read_bytes()
            digest.update(f"{label}/{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    from kg.changes.replay import approved_patches

    for number, patch in enumerate(approved_patches(settings), start=1):  # the editors' approved changes
        data = patch.encode()
        digest.update(f"change set {number}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _built_from(settings: Settings, fingerprint: str) -> str | None:
    """The current build's version if it was made from these very inputs and is intact; else None."""
    from kg.release.layout import Release, current_build

    try:
        recorded, release = (settings.build_dir / INPUTS_FILE).read_text(encoding="utf-8").split()[:2]
        current = Release.open(current_build(settings)).verify()
    except (KGError, OSError, ValueError):
        return None
    if recorded != fingerprint or current.directory.name != release:
        return None
    return current.version


def _record_inputs(settings: Settings, fingerprint: str, release: str) -> None:
    """build/current-inputs.sha256: the fingerprint of the inputs, and the release they were built into."""
    import os

    path = settings.build_dir / INPUTS_FILE
    partial = path.with_name(f".{INPUTS_FILE}.{os.getpid()}")
    partial.write_text(f"{fingerprint}  {release}\n", encoding="utf-8")
    os.replace(partial, path)


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

    from kg.engines.outcome import default_graph
    from kg.namespaces import ProjectNamespaces
    from kg.release.dataset import open_dataset
    from kg.release.layout import current_build
    from kg.sparql.diagnose import explain
    from kg.sparql.prefixes import with_prefixes

    settings = get_settings()
    text = Path(sparql[1:]).read_text(encoding="utf-8") if sparql.startswith("@") else sparql
    store = open_dataset(current_build(settings))
    predeclared = ProjectNamespaces(settings.base_iri).prefixes()  # as the endpoint: no PREFIX lines needed
    prefixed = with_prefixes(text, predeclared)
    try:
        results = store.query(prefixed.text, default_graph=default_graph(store))
    except SyntaxError as exc:
        found = explain(text, str(exc), shift=prefixed.shift, prefixes=predeclared)
        console.print(f"error: malformed SPARQL: {found.message}", highlight=False)
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
    """Serve the current build: SPARQL endpoint, REST API and its documentation.

    The port is bound before anything else; the addresses are printed once the server answers on it.
    One access-log line per request on standard output (KG_ACCESS_LOG=false: none). X-Forwarded-Proto
    and X-Forwarded-For are believed only from the addresses in KG_TRUSTED_PROXIES.
    """
    import uvicorn

    from kg.release.layout import VERIFIED_RELEASE, Release, current_build

    settings = get_settings()
    release = Release.open(current_build(settings)).verify()  # corrupt: exit 5 naming the file, before binding
    os.environ[VERIFIED_RELEASE] = str(release.directory)  # the app (and each HTTP worker) need not hash it again
    host = host or settings.host
    listener = _listen(host, settings.port if port is None else port)
    port = listener.getsockname()[1]
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    urls = (
        f"pages            {base}/\nSPARQL endpoint  {base}/sparql\nREST API         {base}/api\n"
        f"API docs         {base}/docs\nhealth           {base}/health"
    )
    proxies = ",".join(address.strip() for address in settings.trusted_proxies.split(",") if address.strip())
    config = uvicorn.Config(
        "api.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=max(1, settings.http_workers),
        log_level="warning",
        log_config=_log_config(settings.access_log),
        access_log=False,  # api.plumbing.errors writes it, with the duration
        # uvicorn's default trusts X-Forwarded-* from 127.0.0.1 (FORWARDED_ALLOW_IPS): only the configured proxies
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
    )
    in_main_thread = threading.current_thread() is threading.main_thread()  # where signal handlers can be set
    previous_handler = signal.getsignal(signal.SIGTERM)
    try:
        if in_main_thread:
            signal.signal(signal.SIGTERM, _stop_asked)
        if config.workers > 1:
            from uvicorn.supervisors import Multiprocess

            out.print(urls, highlight=False)  # listening: the workers answer once each has started
            # each HTTP worker ends by SIGTERM before its exit handlers run (see _stop_asked): its temporary
            # files and directories go into one directory of the supervisor's, removed once they have stopped
            # (a short name: the forkserver's socket lies in it, and a socket's path has at most 107 bytes)
            with tempfile.TemporaryDirectory(prefix="capkg-") as workers_temp:
                os.environ["TMPDIR"] = workers_temp
                Multiprocess(config, sockets=[listener]).run()
            return

        class AnnouncingServer(uvicorn.Server):
            async def startup(self, sockets: list[Any] | None = None) -> None:
                await super().startup(sockets)
                if self.started:  # listening, and the application has started: the addresses answer
                    out.print(urls, highlight=False)

        server = AnnouncingServer(config)
        try:
            server.run(sockets=[listener])
        except SystemExit as exc:  # uvicorn's "startup failed" is 3, which means a malformed source here
            if server.started:
                raise
            raise KGError("the server did not start; the messages above say why") from exc
        if not server.started:
            raise KGError("the server did not start; the messages above say why")
    except (KeyboardInterrupt, StopAsked):
        pass
    finally:
        if in_main_thread:  # a SIGTERM from here on, during the exit handlers too, ends the process by it
            signal.signal(signal.SIGTERM, previous_handler)
        listener.close()


class StopAsked(Exception):
    """SIGTERM reached the server outside uvicorn's own handler: end as on Ctrl-C."""


def _stop_asked(signum: int, frame: object) -> None:
    # uvicorn answers SIGTERM with a graceful shutdown, then raises it again so that the process ends by it; by
    # default that killed the process before Python's exit handlers ran, and multiprocessing's left the query
    # workers' forkserver directory in /tmp at every stop. Ended here instead: exit 0, handlers run. Another
    # SIGTERM after this one kills outright.
    signal.signal(signum, signal.SIG_DFL)
    raise StopAsked


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to the address and listening: a port in use is said plainly (exit 7)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} on {host} is already in use; set KG_PORT or --port") from None
        raise CannotListen(
            f"cannot listen on port {port} on {host}: {exc.strerror or exc}; set KG_HOST or --host, KG_PORT or --port"
        ) from None
    listener.set_inheritable(True)
    return listener


def _log_config(access: bool) -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers: capkg.* on standard error, the access log on standard
    output (at INFO when KG_ACCESS_LOG is on)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["capkg"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["formatters"]["capkg.access"] = {"format": "%(asctime)s %(message)s"}
    config["handlers"]["capkg"] = {"class": "logging.StreamHandler", "formatter": "capkg", "stream": "ext://sys.stderr"}
    config["handlers"]["capkg.access"] = {
        "class": "logging.StreamHandler",
        "formatter": "capkg.access",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["capkg"] = {"handlers": ["capkg"], "level": "INFO", "propagate": False}
    config["loggers"]["capkg.access"] = {
        "handlers": ["capkg.access"],
        "level": "INFO" if access else "WARNING",
        "propagate": False,
    }
    return config


def _term(term: Any) -> str:
    return "" if term is None else getattr(term, "value", str(term))


def _table(title: str | None, columns: list[str], rows: Any, to: Console | None = None) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    (to or console).print(table)


users = typer.Typer(no_args_is_help=True, help="Accounts of partners, editors and admins (the ledger in KG_STATE_DIR).")
app.add_typer(users, name="users")


@users.command("add")
@handles_errors
def users_add(
    name: Annotated[str, typer.Argument(help="1-64 letters, digits and . - _ @")],
    role: Annotated[str, typer.Option("--role", help="contributor, editor or admin")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a password for the web login from standard input.")
    ] = False,
) -> None:
    """Create an account and print its API token (shown this once; only a digest of it is kept)."""
    from kg.changes.ledger import Ledger

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with Ledger.from_settings(get_settings()) as ledger:
        token = ledger.add_account(name, role, password, by="capkg users add")
    console.print(f"account {name} ({role}) created; its API token, shown this once:", highlight=False)
    print(token)


@users.command("list")
@handles_errors
def users_list() -> None:
    """The accounts: name, role and when each was created."""
    from kg.changes.ledger import Ledger

    with Ledger.from_settings(get_settings()) as ledger:
        rows = [(a.name, a.role.value, a.created.isoformat()) for a in ledger.accounts()]
    _table(None, ["name", "role", "created"], rows, to=out)


@users.command("token")
@handles_errors
def users_token(name: Annotated[str, typer.Argument(help="The account's name")]) -> None:
    """Print a new API token for the account (its earlier tokens stay valid)."""
    from kg.changes.ledger import Ledger

    with Ledger.from_settings(get_settings()) as ledger:
        token = ledger.new_token(name, by="capkg users token")
    console.print(f"a new API token for {name}, shown this once:", highlight=False)
    print(token)


contributions = typer.Typer(no_args_is_help=True, help="Approved change sets: what editors accepted, in order.")
app.add_typer(contributions, name="contributions")


@contributions.command("export")
@handles_errors
def contributions_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the change sets into (created if missing)")],
    format: Annotated[
        str, typer.Option("--format", help="rdf-patch (.rdfp, https://afs.github.io/rdf-patch/) or sparql-update (.ru)")
    ] = "rdf-patch",
) -> None:
    """Write every approved change set, in order, as a file of its own: 0001.rdfp, 0002.rdfp, … (RDF Patch
    as the build replays it) or 0001.ru, … (SPARQL 1.1 Update: DELETE DATA, then INSERT DATA)."""
    from kg.changes.ledger import Ledger
    from kg.changes.patch import read_rdf_patch

    if format not in ("rdf-patch", "sparql-update"):
        raise SettingsError(f"--format must be rdf-patch or sparql-update, not {format!r}", field="format")
    settings = get_settings()
    change_sets = Ledger.from_settings(settings).change_sets() if settings.ledger_file.is_file() else []
    directory.mkdir(parents=True, exist_ok=True)
    for change_set in change_sets:
        if format == "rdf-patch":
            path, text = directory / f"{change_set.number:04d}.rdfp", change_set.patch
        else:
            change = read_rdf_patch(change_set.patch)
            text = _sparql_update(change.removed, change.added, change_set)
            path = directory / f"{change_set.number:04d}.ru"
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    out.print(f"{len(change_sets)} change set(s) written to {directory} as {format}", highlight=False)


def _sparql_update(removed: set, added: set, change_set: Any) -> str:
    def block(triples: set) -> str:
        return "\n".join(
            f"  {s.n3()} {p.n3()} {o.n3()} ." for s, p, o in sorted(triples, key=lambda t: tuple(map(str, t)))
        )

    header = (
        f"# change set {change_set.number}: proposal {change_set.proposal} by {change_set.proposer}, "
        f"approved by {change_set.approved_by} on {change_set.approved_at.isoformat()}\n"
    )
    parts = [f"DELETE DATA {{\n{block(removed)}\n}}"] if removed else []
    parts += [f"INSERT DATA {{\n{block(added)}\n}}"] if added else []
    return header + " ;\n".join(parts) + "\n"


if __name__ == "__main__":
    app()
