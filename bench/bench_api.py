"""Benchmark the API against a plain Oxigraph server, on the portfolio and on synthetic 10x/100x copies.

For each dataset size, the same fixed mix of the site's routes is sent three ways:

  (a) rest      the REST route through our API (/api/..., served from its response cache once warm)
  (b) sparql    the equivalent SPARQL through our /sparql endpoint
  (c) oxigraph  the same SPARQL against `oxigraph serve-read-only --union-default-graph`

with N concurrent keep-alive clients (N=1 and N=4 by default), a fixed number of requests per
route after a warm-up, each cell bounded in time. It prints p50/p99 latency (ms) and requests/s
per route and for the interleaved mix, and the throughput ratios /sparql÷Oxigraph and
REST÷Oxigraph; the figures also go to bench/results/api-<date>.json. Nothing is asserted.

Run from the repository root (loopback only; needs no network except to pip-install the
`oxigraph` server package once if it is missing):

    .venv/bin/python bench/bench_api.py [--sizes 1,10,100] [--requests 200] [--warmup 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/bench_api.py` puts bench/ first, not the root
    sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from kg.engines.publish import publish  # noqa: E402
from kg.namespaces import ProjectNamespaces  # noqa: E402
from kg.pipeline import build, catalogue_rows, write_answers  # noqa: E402
from kg.release.dataset import write_store  # noqa: E402
from kg.release.layout import (  # noqa: E402
    ANSWERS_DIR,
    CATALOGUE_FILE,
    DATASET_FILE,
    STORE_DIR,
    answers_manifest,
    current_build,
    file_manifest,
    store_manifest,
)
from kg.search.catalogue import write_catalogue  # noqa: E402
from kg.settings import Settings  # noqa: E402
from kg.sparql.registry import QueryRegistry  # noqa: E402
from tests.server import free_port  # noqa: E402

ID = "https://w3id.org/capacities/lp/id/"
GRAPHS = ID + "graph/"
ONTOLOGY_GRAPH = GRAPHS + "ontology"
SPARQL_ACCEPT = "application/sparql-results+json"
TARGETS = ("rest", "sparql", "oxigraph")
LABELS = {
    "rest": "REST",
    "sparql": "/sparql",
    "oxigraph": "Oxigraph",
    "rest-cold": "REST uncached",
    "sparql-remote": "/sparql remote",
    "rest-cold-remote": "REST unc. remote",
}
REMOTE_TARGETS = ("sparql-remote", "rest-cold-remote")  # our server with KG_STORE_QUERY_URL = the Oxigraph server

# --------------------------------------------------------------------------------------------
# The query mix: each REST route of the site and the SPARQL that answers the same question.
# --------------------------------------------------------------------------------------------

PREFIXES = """PREFIX cap: <https://w3id.org/capacities/lp/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
ALPHA2 = "<http://publications.europa.eu/ontology/euvoc#ISO_3166_1_ALPHA_2>"

# One page (20, by title) of the materials list with what each list item shows; {filter} narrows it.
MATERIAL_PAGE = (
    PREFIXES
    + """SELECT ?material ?title
       (GROUP_CONCAT(DISTINCT ?category; separator=" ") AS ?categories)
       (GROUP_CONCAT(DISTINCT ?subcategory; separator=" ") AS ?subcategories)
       (GROUP_CONCAT(DISTINCT ?type_label; separator=" | ") AS ?type_labels)
       (GROUP_CONCAT(DISTINCT STR(?year); separator=" ") AS ?years)
       (GROUP_CONCAT(DISTINCT STR(?code); separator=" ") AS ?countries)
WHERE {
  ?material a cap:LearningMaterial ; dcterms:title ?title .
  {filter}
  ?card cap:appearanceOf ?material ; cap:inProblemStatement ?sub .
  ?sub skos:notation ?subcategory ; skos:broader/skos:notation ?category .
  OPTIONAL { ?card cap:typeLabel ?type_label }
  OPTIONAL { ?material cap:releaseYear ?year }
  OPTIONAL { ?material dcterms:spatial/(skos:notation|skos:member/skos:notation) ?code
             FILTER(DATATYPE(?code) = {alpha2}) }
}
GROUP BY ?material ?title
ORDER BY LCASE(?title)
LIMIT 20
"""
)


def material_page(filter_: str = "") -> str:
    return MATERIAL_PAGE.replace("{filter}", filter_).replace("{alpha2}", ALPHA2)


def free_text(word: str) -> str:
    """The SPARQL stand-in for the catalogue's word search: CONTAINS over titles and card descriptions."""
    word = word.lower().replace("\\", "\\\\").replace('"', '\\"')
    # A UNION in a sub-select rather than `FILTER(... || EXISTS { ... })`: Oxigraph 0.5 evaluates that
    # EXISTS so badly (about 1 s at 10x, quadratic) that it would measure the formulation, not the engine.
    return material_page(f"""{{ SELECT DISTINCT ?material WHERE {{
    {{ ?material a cap:LearningMaterial ; dcterms:title ?matched FILTER(CONTAINS(LCASE(?matched), "{word}")) }}
    UNION
    {{ ?described cap:appearanceOf ?material ; dcterms:description ?text FILTER(CONTAINS(LCASE(?text), "{word}")) }}
  }} }}""")


def in_country(code: str) -> str:
    """Materials whose coverage names the country, directly or through a country group (as the catalogue does)."""
    return material_page(f'?material dcterms:spatial/(skos:notation|skos:member/skos:notation) "{code}"^^{ALPHA2} .')


REGISTRY = QueryRegistry.load()


def named_text(name: str, **values: str) -> str:
    """A named query's text with its parameters bound in the text, as a VALUES block opening its WHERE group.

    The terms come from the named query's own parameter checks, so they are the ones the API substitutes.
    """
    query = REGISTRY.query(name)
    text = query.text
    bindings = query.bind(values)
    if not bindings:
        return text
    block = " ".join(f"VALUES ?{variable.value} {{ {term} }}" for variable, term in bindings.items())
    bound, count = re.subn(r"\bWHERE\s*\{", lambda m: m.group(0) + "\n  " + block, text, count=1, flags=re.IGNORECASE)
    if count != 1:
        raise SystemExit(f"cannot bind {values} in {name}.rq: no WHERE {{")
    return bound


@dataclass(frozen=True)
class Route:
    name: str
    rest: str  # path and query string of the REST route
    sparql: tuple[str, ...]  # the SPARQL queries that answer the same request, sent one after the other


def routes() -> list[Route]:
    material = ID + "material/greek-moc"
    return [
        Route("materials?page=1", "/api/materials?page=1", (material_page(),)),
        Route("materials?q=energy", "/api/materials?q=energy", (free_text("energy"),)),
        Route("materials?country=AT", "/api/materials?country=AT", (in_country("AT"),)),
        Route(
            "materials/greek-moc",
            "/api/materials/greek-moc",
            (named_text("material_cards", material=material), named_text("related_materials", material=material)),
        ),
        Route("categories", "/api/categories", (named_text("categories"),)),
        Route("hashtags", "/api/hashtags", (named_text("hashtags"),)),
        Route(
            "countries/FI",
            "/api/countries/FI",
            (
                named_text("countries"),
                named_text("materials_in_country", country="FI"),
                named_text("platform_profile", country="FI"),
            ),
        ),
        Route(
            "q/materials_reused_across_categories",
            "/api/queries/materials_reused_across_categories",
            (named_text("materials_reused_across_categories"),),
        ),
        Route(
            "q/materials_in_subcategory 1.2",
            "/api/queries/materials_in_subcategory?subcategory=1.2",
            (named_text("materials_in_subcategory", subcategory="1.2"),),
        ),
        Route(
            "q/materials_in_country AT",
            "/api/queries/materials_in_country?country=AT",
            (named_text("materials_in_country", country="AT"),),
        ),
        Route(
            "q/platform_profile FI",
            "/api/queries/platform_profile?country=FI",
            (named_text("platform_profile", country="FI"),),
        ),
    ]


# --------------------------------------------------------------------------------------------
# HTTP: one keep-alive connection per client thread; a "request" is a route's list of HTTP calls.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    bust: bool = False  # a distinct Origin header (part of the cache key): a response-cache miss every time


BUST = itertools.count()


class Client:
    def __init__(self, base: str, timeout: float = 120.0) -> None:
        parts = urlsplit(base)
        assert parts.hostname == "127.0.0.1", "loopback only"
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.connection: http.client.HTTPConnection | None = None

    def send(self, call: Call) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                headers = dict(call.headers)
                if call.bust:  # unknown query parameters are refused (400): vary a header the cache keys on
                    headers["Origin"] = f"http://bench-{next(BUST)}.invalid"
                self.connection.request(call.method, call.path, body=call.body, headers=headers)
                response = self.connection.getresponse()
                body = response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a keep-alive connection the server had closed: retry once on a new one
                if attempt == 2:
                    raise
        raise AssertionError

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def sparql_calls(path: str, queries: tuple[str, ...], extra_headers: tuple[tuple[str, str], ...] = ()) -> list[Call]:
    headers = (("Content-Type", "application/sparql-query"), ("Accept", SPARQL_ACCEPT), *extra_headers)
    return [Call("POST", path, q.encode("utf-8"), headers) for q in queries]


@dataclass
class Cell:
    """The measurement of one route (or the mix), one target, one concurrency."""

    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    capped: bool = False  # stopped by the time cap before reaching the request count

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 4),
            "p50_ms": round(percentile(lat, 50), 3) if lat else None,
            "p99_ms": round(percentile(lat, 99), 3) if lat else None,
            "mean_ms": round(statistics.fmean(lat), 3) if lat else None,
            "max_ms": round(lat[-1], 3) if lat else None,
            "rps": round(self.requests / self.seconds, 2) if self.seconds else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "time_capped": self.capped,
        }


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def load(base: str, plan: list[list[Call]], total: int, clients: int, seconds: float) -> Cell:
    """`total` requests from `clients` threads, taken in turn from `plan`, stopping early after `seconds`."""
    cell = Cell()
    lock = threading.Lock()
    counter = itertools.count()
    deadline_box: list[float] = []
    barrier = threading.Barrier(clients + 1)

    def run() -> None:
        client = Client(base)
        local: list[float] = []
        statuses: Counter = Counter()
        errors: Counter = Counter()
        barrier.wait()
        deadline = deadline_box[0]
        try:
            while True:
                with lock:
                    index = next(counter)
                if index >= total:
                    break
                if time.perf_counter() > deadline:
                    cell.capped = True
                    break
                started = time.perf_counter()
                status = 200
                try:
                    for call in plan[index % len(plan)]:
                        code, _ = client.send(call)
                        if code != 200:
                            status = code
                except (OSError, http.client.HTTPException) as exc:
                    errors[type(exc).__name__] += 1
                    client.close()
                    continue
                local.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1
        finally:
            client.close()
            with lock:
                cell.latencies_ms.extend(local)
                cell.statuses.update(statuses)
                cell.errors.update(errors)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline_box.append(started + seconds)
    barrier.wait()
    for thread in threads:
        thread.join()
    cell.seconds = time.perf_counter() - started
    cell.requests = len(cell.latencies_ms)
    return cell


# --------------------------------------------------------------------------------------------
# Datasets: the build, and synthetic copies of it.
# --------------------------------------------------------------------------------------------


def ensure_build(args: argparse.Namespace, scratch: Path) -> Path:
    """The dataset.nq to start from: build/current's if present (unless --fresh-build), else a new build."""
    if not args.fresh_build:
        try:
            directory = current_build(Settings())
            print(f"using the existing build {directory}")
            return directory / DATASET_FILE
        except Exception as exc:  # noqa: BLE001 - no build yet: make one
            print(f"no usable build/current ({exc}); building the portfolio")
    started = time.perf_counter()
    result = build(Settings(build_dir=scratch / "portfolio-build"))
    print(f"built the portfolio into {result.directory} in {time.perf_counter() - started:.1f} s")
    return result.directory / DATASET_FILE


def make_dataset(source: Path, copies: int, directory: Path, version: str) -> tuple[Path, dict[str, int]]:
    """A build directory (releases/<v> + current: dataset.nq, its on-disk store, summary.json) of `copies` copies.

    The ontology graph is kept once; every other quad is repeated with each instance IRI under the
    id/ namespace (except the graph names) and each blank node suffixed by the copy number. Copy 1 is
    the portfolio unchanged, so its IRIs (and those hard-coded in queries) still resolve.
    """
    release = directory / "releases" / version
    release.mkdir(parents=True)
    target = release / DATASET_FILE
    counts: Counter = Counter()
    if copies == 1:
        shutil.copyfile(source, target)
        for quad in ox.parse(path=str(source), format=ox.RdfFormat.N_QUADS):
            counts[quad.graph_name.value] += 1
    else:
        quads = list(ox.parse(path=str(source), format=ox.RdfFormat.N_QUADS))

        def needs_copy(term: object) -> bool:
            return isinstance(term, ox.BlankNode) or (
                isinstance(term, ox.NamedNode) and term.value.startswith(ID) and not term.value.startswith(GRAPHS)
            )

        def copy_of(term: object, suffix: str) -> object:
            if isinstance(term, ox.BlankNode):
                return ox.BlankNode(term.value + suffix.replace("-", "_"))
            return ox.NamedNode(term.value + suffix)

        def generate() -> Iterator[ox.Quad]:
            for quad in quads:
                counts[quad.graph_name.value] += 1
                yield quad
            instance = [q for q in quads if q.graph_name.value != ONTOLOGY_GRAPH]
            flags = [(needs_copy(q.subject), needs_copy(q.predicate), needs_copy(q.object)) for q in instance]
            for number in range(2, copies + 1):
                suffix = f"-copy{number}"
                cache: dict[object, object] = {}

                def mapped(
                    term: object, flag: bool, cache: dict[object, object] = cache, suffix: str = suffix
                ) -> object:
                    if not flag:
                        return term
                    found = cache.get(term)
                    if found is None:
                        found = cache[term] = copy_of(term, suffix)
                    return found

                for quad, (s, p, o) in zip(instance, flags, strict=True):
                    counts[quad.graph_name.value] += 1
                    yield ox.Quad(
                        mapped(quad.subject, s), mapped(quad.predicate, p), mapped(quad.object, o), quad.graph_name
                    )

        ox.serialize(generate(), output=str(target), format=ox.RdfFormat.N_QUADS)
    write_store(release)  # as a build does: the workers share it from KG_SHARED_STORE_QUADS quads
    # a copied quad made of terms that are not copied (shared IRIs and literals) repeats one already
    # written: a store holds it once, and the server checks its count against the summary's
    store = ox.Store.read_only(str(release / STORE_DIR))
    grouped = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    counts = Counter({row["g"].value: int(row["n"].value) for row in store.query(grouped)})
    registry = QueryRegistry.load(ProjectNamespaces())
    write_catalogue(release / CATALOGUE_FILE, catalogue_rows(store, registry))  # as a build does
    write_answers(release / ANSWERS_DIR, store, registry)
    del store
    summary = {
        "version": version,
        "graphs": dict(counts),
        "files": file_manifest(release),  # dataset.nq and catalogue.sqlite, verified as a build's are
        "store_files": store_manifest(release),
        "answer_files": answers_manifest(release),
    }
    (release / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (directory / "current").symlink_to(release, target_is_directory=True)
    return target, dict(counts)


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


def wait_until(url: str, process: subprocess.Popen, log: Path, deadline_s: float) -> float:
    started = time.perf_counter()
    parts = urlsplit(url)
    while True:
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
            if connection.getresponse().status == 200:
                connection.close()
                return time.perf_counter() - started
            connection.close()
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() - started > deadline_s:
            raise RuntimeError(f"server at {url} did not start; its output:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)


@contextmanager
def api_server(
    build_dir: Path, settings: dict[str, str], log: Path, deadline_s: float = 600
) -> Iterator[tuple[str, float]]:
    """`python -m kg.cli serve` on a free loopback port (like tests.server.running_server, but with a
    startup deadline long enough for the 100x dataset and its output in a file rather than a pipe)."""
    port = free_port()
    env = {
        **os.environ,
        "KG_BUILD_DIR": str(build_dir),
        "KG_HOST": "127.0.0.1",
        "KG_PORT": str(port),
        **{f"KG_{k.upper()}": str(v) for k, v in settings.items()},
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "serve"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        yield base, wait_until(base + "/ready", process, log, deadline_s)
    finally:
        stop(process)


@contextmanager
def oxigraph_server(
    command: str, location: Path, log: Path, deadline_s: float = 300, *, writable: bool = False
) -> Iterator[tuple[str, float]]:
    """Oxigraph's server on `location`: read-only with its union default graph, or `writable` (for
    `capkg publish`: the Graph Store Protocol at /store, updates at /update)."""
    port = free_port()
    mode = ["serve"] if writable else ["serve-read-only", "--union-default-graph"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [command, *mode[:1], "--location", str(location), "--bind", f"127.0.0.1:{port}", *mode[1:]],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        yield base, wait_until(base + "/query?query=ASK%7B%7D", process, log, deadline_s)
    finally:
        stop(process)


def publish_into_oxigraph(command: str, build_dir: Path, location: Path) -> Path:
    """A store at `location` as `capkg publish` leaves it (docs/remote-stores.md): the build's current release,
    with the one default graph the service names with every query."""
    with oxigraph_server(command, location, location.parent / "publish.log", writable=True) as (store, _):
        publish(
            Settings(
                build_dir=build_dir,
                store_query_url=store + "/query",
                store_update_url=store + "/update",
                store_gsp_url=store + "/store",
            ),
            (build_dir / "current").resolve(),
        )
    return location


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def oxigraph_command() -> str:
    """The `oxigraph` CLI of the PyPI package `oxigraph`, installed into this venv if missing."""
    found = Path(sys.executable).parent / "oxigraph"
    if found.exists():
        return str(found)
    if shutil.which("oxigraph"):
        return shutil.which("oxigraph")  # type: ignore[return-value]
    print(
        "The Oxigraph server CLI is missing: installing the PyPI package `oxigraph` into this venv "
        f"({sys.executable} -m pip install oxigraph).",
        flush=True,
    )
    check = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "oxigraph"], capture_output=True, text=True
    )
    if check.returncode != 0 or "oxigraph" not in check.stdout:
        raise SystemExit(f"cannot find the package oxigraph on the package index:\n{check.stdout}{check.stderr}")
    print(check.stdout.strip().splitlines()[0], flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "oxigraph"], check=True)
    if not found.exists():
        raise SystemExit(f"pip installed oxigraph but there is no {found}")
    return str(found)


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def plans(target: str, route_list: list[Route]) -> dict[str, list[list[Call]]]:
    """For each route, the HTTP calls of one request to `target`."""
    out = {}
    for route in route_list:
        if target == "rest":
            out[route.name] = [[Call("GET", route.rest, None, (("Accept", "application/json"),))]]
        elif target in {"rest-cold", "rest-cold-remote"}:
            out[route.name] = [[Call("GET", route.rest, None, (("Accept", "application/json"),), bust=True)]]
        elif target in {"sparql", "sparql-remote"}:
            out[route.name] = [sparql_calls("/sparql", route.sparql)]
        else:
            out[route.name] = [sparql_calls("/query", route.sparql)]
    return out


def mix_plan(per_route: dict[str, list[list[Call]]], names: list[str], length: int, seed: int) -> list[list[Call]]:
    order = names * max(1, -(-length // len(names)))
    random.Random(seed).shuffle(order)
    offsets = Counter()
    plan = []
    for name in order:
        calls = per_route[name]
        plan.append(calls[offsets[name] % len(calls)])
        offsets[name] += 1
    return plan


def check(base: str, target: str, route_list: list[Route]) -> dict[str, dict]:
    """One request per route: statuses, bytes and, for SPARQL, the number of result rows of each query."""
    client = Client(base)
    out = {}
    try:
        for route in route_list:
            if target in ("rest", "rest-cold", "rest-cold-remote"):
                status, body = client.send(Call("GET", route.rest, None, (("Accept", "application/json"),)))
                info: dict = {"status": status, "bytes": len(body)}
                try:
                    document = json.loads(body)
                    if isinstance(document, dict) and "total" in document:
                        info["total"] = document["total"]
                    elif isinstance(document, list):
                        info["items"] = len(document)
                    elif isinstance(document, dict) and "materials" in document:
                        info["materials"] = len(document["materials"])
                    elif isinstance(document, dict) and "cards" in document:
                        info["cards"], info["related"] = len(document["cards"]), len(document["related"])
                    if status != 200:
                        info["problem"] = document.get("detail") or document.get("title")
                except (ValueError, AttributeError):
                    pass
            else:
                path = "/sparql" if target in ("sparql", "sparql-remote") else "/query"
                statuses, rows, size, problems = [], [], 0, []
                for call in sparql_calls(path, route.sparql):
                    status, body = client.send(call)
                    statuses.append(status)
                    size += len(body)
                    try:
                        rows.append(len(json.loads(body)["results"]["bindings"]))
                    except (ValueError, KeyError, TypeError):
                        rows.append(None)
                        problems.append(body[:300].decode("utf-8", "replace"))
                info = {
                    "status": max(statuses, key=lambda s: s != 200),
                    "statuses": statuses,
                    "rows": rows,
                    "bytes": size,
                }
                if problems:
                    info["problem"] = " / ".join(problems)
            out[route.name] = info
    finally:
        client.close()
    return out


def measure(base: str, target: str, route_list: list[Route], args: argparse.Namespace, size_label: str) -> dict:
    per_route = plans(target, route_list)
    names = [r.name for r in route_list]
    results: dict = {"check": check(base, target, route_list), "cells": {}}
    for clients in args.concurrency:
        cells = {}
        for name in names + ["MIX"]:
            if name == "MIX":
                plan = mix_plan(per_route, names, args.requests * 2, seed=clients)
                total, cap = args.requests, args.cell_seconds * 2
            else:
                plan, total, cap = per_route[name], args.requests, args.cell_seconds
            if args.warmup:
                load(base, plan, args.warmup, clients, args.warmup_seconds)
            cell = load(base, plan, total, clients, cap)
            cells[name] = cell.summary()
            s = cells[name]
            bad = {k: v for k, v in s["statuses"].items() if k != "200"}
            print(
                f"  {size_label:>5} {LABELS[target]:<12} N={clients} {name:<38} n={s['requests']:>4} "
                f"p50={fmt(s['p50_ms']):>8} p99={fmt(s['p99_ms']):>8} ms {fmt(s['rps']):>8} req/s"
                + (f"  statuses {bad}" if bad else "")
                + (f"  errors {s['errors']}" if s["errors"] else "")
                + ("  (time cap)" if s["time_capped"] else ""),
                flush=True,
            )
        results["cells"][str(clients)] = cells
    return results


def fmt(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "-"
    if digits is None:
        digits = 2 if value < 10 else 1 if value < 1000 else 0
    return f"{value:.{digits}f}"


def ratio(a: dict | None, b: dict | None) -> float | None:
    if not a or not b or not a.get("rps") or not b.get("rps"):
        return None
    return a["rps"] / b["rps"]


def table(report: dict) -> str:
    lines = []
    targets = report["targets"]
    for size in report["sizes"]:
        label = f"{size['copies']}x"
        quads = sum(size["quads"].values())
        lines.append("")
        lines.append(
            f"== {label} portfolio: {quads:,} quads; API startup {size['api_startup_s']:.1f} s, "
            f"oxigraph load {size.get('oxigraph_load_s', 0):.1f} s =="
        )
        for clients in report["concurrency"]:
            header = f"{'N=' + str(clients) + ' route':<38}"
            for target in targets:
                header += f" | {LABELS[target] + ' p50':>17} {'p99':>7} {'req/s':>7}"
            header += " | spq/ox  rest/ox"
            if "rest-cold" in targets:
                header += " cold/ox"
            if "sparql-remote" in targets and "sparql" in targets:
                header += " rspq/spq"
            if "rest-cold-remote" in targets and "rest-cold" in targets:
                header += " rcold/cold"
            lines.append(header)
            lines.append("-" * len(header))
            names = list(size["results"][targets[0]]["cells"][str(clients)])
            for name in names:
                row = f"{name:<38}"
                cells = {t: size["results"][t]["cells"][str(clients)].get(name) for t in targets}
                for target in targets:
                    c = cells[target]
                    flag = "!" if c and (set(c["statuses"]) - {"200"} or c["errors"]) else " "
                    row += f" | {fmt(c['p50_ms']):>16}{flag} {fmt(c['p99_ms']):>7} {fmt(c['rps']):>7}"
                r1, r2 = (
                    ratio(cells.get("sparql"), cells.get("oxigraph")),
                    ratio(cells.get("rest"), cells.get("oxigraph")),
                )
                row += f" | {fmt(r1, 2):>6} {fmt(r2, 1):>8}"
                if "rest-cold" in targets:
                    row += f" {fmt(ratio(cells.get('rest-cold'), cells.get('oxigraph')), 2):>7}"
                if "sparql-remote" in targets and "sparql" in targets:
                    row += f" {fmt(ratio(cells.get('sparql-remote'), cells.get('sparql')), 2):>8}"
                if "rest-cold-remote" in targets and "rest-cold" in targets:
                    row += f" {fmt(ratio(cells.get('rest-cold-remote'), cells.get('rest-cold')), 2):>10}"
                lines.append(row)
            lines.append("")
    lines.append(
        "latency in ms (p50, p99 nearest rank), req/s = requests completed / wall time; "
        "a request of a route = all its HTTP calls in sequence; ! = some non-200 status or error;"
    )
    lines.append(
        "spq/ox = /sparql req/s ÷ Oxigraph req/s; rest/ox = REST req/s ÷ Oxigraph req/s; the remote hop: "
        "rspq/spq = /sparql on the Oxigraph server as external store ÷ /sparql embedded, "
        "rcold/cold = the same for uncached REST."
    )
    return "\n".join(lines)


def findings(report: dict) -> list[str]:
    notes = []
    for size in report["sizes"]:
        label = f"{size['copies']}x"
        results = size["results"]
        for target, outcome in results.items():
            for name, info in outcome["check"].items():
                if info.get("status") != 200:
                    notes.append(
                        f"{label} {LABELS[target]} {name}: status {info.get('statuses', info['status'])}"
                        f" {info.get('problem', '')}".rstrip()
                    )
            for clients, cells in outcome["cells"].items():
                for name, cell in cells.items():
                    bad = {k: v for k, v in cell["statuses"].items() if k != "200"}
                    if bad or cell["errors"]:
                        notes.append(
                            f"{label} {LABELS[target]} N={clients} {name}: statuses {cell['statuses']}"
                            f" errors {cell['errors']}"
                        )
                    if target == "rest" and name != "MIX" and cell["p50_ms"] and cell["p50_ms"] > 5:
                        notes.append(f"{label} REST N={clients} {name}: p50 {cell['p50_ms']:.1f} ms (> 5 ms)")
        if "sparql" in results and "oxigraph" in results:
            for name, ours in results["sparql"]["check"].items():
                theirs = results["oxigraph"]["check"].get(name, {})
                if ours.get("rows") != theirs.get("rows"):
                    notes.append(
                        f"{label} {name}: result rows differ, /sparql {ours.get('rows')} "
                        f"vs Oxigraph {theirs.get('rows')}"
                    )
        if "sparql" in results and "sparql-remote" in results:
            for name, ours in results["sparql"]["check"].items():
                remote = results["sparql-remote"]["check"].get(name, {})
                if ours.get("rows") != remote.get("rows"):
                    notes.append(
                        f"{label} {name}: result rows differ, /sparql {ours.get('rows')} "
                        f"vs /sparql remote {remote.get('rows')}"
                    )
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="portfolio copies to benchmark, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per route and for the mix")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up requests per route before measuring")
    parser.add_argument("--concurrency", default="1,4", help="concurrent clients, comma-separated")
    parser.add_argument(
        "--cell-seconds", type=float, default=2.0, help="time cap of one route's measurement (the mix gets twice this)"
    )
    parser.add_argument("--warmup-seconds", type=float, default=0.5, help="time cap of one warm-up")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="rest, sparql, oxigraph and optionally rest-cold (REST with a cache miss per request), "
        "sparql-remote and rest-cold-remote (our server on the Oxigraph server as its "
        "external store: the remote hop)",
    )
    parser.add_argument("--workers", type=int, default=0, help="KG_QUERY_WORKERS of our server (0: its default)")
    parser.add_argument(
        "--max-rows",
        type=int,
        default=10_000_000,
        help="KG_MAX_ROWS of our server (the default 10000 cannot start on the 100x dataset)",
    )
    parser.add_argument("--fresh-build", action="store_true", help="build the portfolio even if build/current exists")
    parser.add_argument("--output", type=Path, help="JSON file; default bench/results/api-<date>.json")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(LABELS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}")
    targets = [t for t in ("rest", "rest-cold", "sparql", "oxigraph", *REMOTE_TARGETS) if t in targets]

    began = time.perf_counter()
    oxigraph = oxigraph_command() if {"oxigraph", *REMOTE_TARGETS} & set(targets) else None
    route_list = routes()
    report: dict = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "pyoxigraph": ox.__version__ if hasattr(ox, "__version__") else None,
            "oxigraph_cli": subprocess.run([oxigraph, "--version"], capture_output=True, text=True).stdout.strip()
            if oxigraph
            else None,
        },
        "settings": {
            "requests": args.requests,
            "warmup": args.warmup,
            "cell_seconds": args.cell_seconds,
            "warmup_seconds": args.warmup_seconds,
            "query_workers": args.workers or "default",
            "max_rows": args.max_rows,
        },
        "targets": targets,
        "concurrency": args.concurrency,
        "routes": [{"name": r.name, "rest": r.rest, "sparql": list(r.sparql)} for r in route_list],
        "sizes": [],
    }
    server_settings = {"max_rows": str(args.max_rows)}
    if args.workers:
        server_settings["query_workers"] = str(args.workers)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch_name:
        scratch = Path(scratch_name)
        source = ensure_build(args, scratch)
        source_version = json.loads((source.parent / "summary.json").read_text(encoding="utf-8"))["version"]
        for copies in args.sizes:
            label = f"{copies}x"
            started = time.perf_counter()
            directory = scratch / f"size-{copies}"
            dataset, counts = make_dataset(source, copies, directory, f"bench-{label}-{source_version}")
            size: dict = {
                "copies": copies,
                "quads": counts,
                "dataset_bytes": dataset.stat().st_size,
                "dataset_s": round(time.perf_counter() - started, 2),
                "results": {},
            }
            print(
                f"\n{label}: {sum(counts.values()):,} quads ({dataset.stat().st_size / 2**20:.1f} MiB) "
                f"made in {size['dataset_s']:.1f} s",
                flush=True,
            )
            api_targets = [t for t in targets if t != "oxigraph" and t not in REMOTE_TARGETS]
            if api_targets:
                with api_server(directory, server_settings, scratch / f"api-{label}.log") as (base, startup):
                    size["api_startup_s"] = round(startup, 2)
                    print(f"  our server ready in {startup:.1f} s at {base}", flush=True)
                    for target in api_targets:
                        size["results"][target] = measure(base, target, route_list, args, label)
            if oxigraph:
                location = scratch / f"oxigraph-{label}"
                loaded = time.perf_counter()
                subprocess.run(
                    [oxigraph, "load", "--location", str(location), "--file", str(dataset)],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                size["oxigraph_load_s"] = round(time.perf_counter() - loaded, 2)
                with oxigraph_server(oxigraph, location, scratch / f"oxigraph-{label}.log") as (base, startup):
                    size["oxigraph_startup_s"] = round(startup, 2)
                    print(
                        f"  oxigraph loaded in {size['oxigraph_load_s']:.1f} s, ready in {startup:.1f} s at {base}",
                        flush=True,
                    )
                    if "oxigraph" in targets:
                        size["results"]["oxigraph"] = measure(base, "oxigraph", route_list, args, label)
                shutil.rmtree(location, ignore_errors=True)
                remote_targets = [t for t in targets if t in REMOTE_TARGETS]
                if remote_targets:
                    # the store as docs/remote-stores.md sets it up: the release published into it by
                    # `capkg publish`, whose one default graph the service names with every query
                    published = publish_into_oxigraph(oxigraph, directory, scratch / f"published-{label}")
                    with (
                        oxigraph_server(oxigraph, published, scratch / f"oxigraph-{label}.log") as (store, _),
                        api_server(
                            directory, {**server_settings, "store_query_url": store + "/query"},
                            scratch / f"api-remote-{label}.log",
                        ) as (api, startup),
                    ):  # fmt: skip
                        print(f"  our server on the Oxigraph server ready in {startup:.1f} s at {api}", flush=True)
                        for target in remote_targets:
                            size["results"][target] = measure(api, target, route_list, args, label)
                    shutil.rmtree(published, ignore_errors=True)
            size.setdefault("api_startup_s", 0.0)
            report["sizes"].append(size)
            shutil.rmtree(directory, ignore_errors=True)
    report["total_s"] = round(time.perf_counter() - began, 1)
    report["findings"] = findings(report)

    print(table(report))
    if report["findings"]:
        print("\nfindings:")
        for note in report["findings"]:
            print("  - " + note)
    output = args.output
    if output is None:
        results = ROOT / "bench" / "results"
        results.mkdir(parents=True, exist_ok=True)
        output = results / f"api-{dt.date.today().isoformat()}.json"
        number = 2
        while output.exists():
            output = results / f"api-{dt.date.today().isoformat()}-{number}.json"
            number += 1
    output.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nwhole benchmark {report['total_s']:.0f} s; figures in {output}")


if __name__ == "__main__":
    main()
