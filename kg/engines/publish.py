"""Load a build into an external SPARQL store through the Graph Store Protocol, then switch to it.

With an update endpoint (the default way, atomic where the store runs an update request as one
transaction: Oxigraph, Fuseki/TDB2, GraphDB):
1. each graph of the build, the default graph (below) and a small release graph (version, time, the
   graphs it comprises, the default graph's name), is PUT under a staging name of its own; what readers
   see is untouched;
2. the staging graphs' triple counts are checked against the build's; on any failure so far the
   staging graphs are deleted and the store is as it was;
3. one SPARQL Update request moves every staging graph onto its live name and drops the graphs the
   previous release had and this one has not.
Without an update endpoint, the safe order is: each live graph is replaced by one PUT, graphs no
longer in the build are deleted, and the release graph is written last, so it names a version only
once all of that version's graphs are in place. Readers may see a mix of the two versions while
that runs (seconds); docs/remote-stores.md says so.

The default graph. A query's default graph is the union of the build's graphs but the justifications
(kg.engines.protocol). Named to the store as three `default-graph-uri`s, that union halves Oxigraph's
speed; the store's own union default graph would be fast but shows everything it holds (a staged
release twice, other datasets). So the union is published as one more graph, `id:graph/default`, switched
with the others, and the release graph names it (`sd:defaultGraph`): the server then sends that one
graph as the default graph (twice the throughput on the SPARQL mix), and falls back to the three graphs
for a store published without it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from kg.engines.protocol import QueryJob, encode_term, in_default_graph
from kg.engines.remote import StoreClient
from kg.errors import KGError, PublishError
from kg.namespaces import ProjectNamespaces
from kg.release.layout import DATASET_FILE
from kg.settings import Settings
from kg.sparql.registry import QueryRegistry

log = logging.getLogger("capkg.publish")
DCTERMS = "http://purl.org/dc/terms/"
SD_DEFAULT_GRAPH = ox.NamedNode("http://www.w3.org/ns/sparql-service-description#defaultGraph")
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")


@dataclass
class StoreRelease:
    version: str | None
    graphs: list[str] = field(default_factory=list)  # the build's graphs
    default_graph: str | None = None  # the union of those in the default graph, as one graph (None: not published)


@dataclass
class PublishReport:
    version: str
    mode: str  # "atomic" (one update request) | "graph by graph" (Graph Store only)
    graphs: dict[str, int]
    previous: str | None
    seconds: float


def release_graph(ns: ProjectNamespaces) -> str:
    return str(ns.graph("release"))


def default_graph(ns: ProjectNamespaces) -> str:
    return str(ns.graph("default"))


def dataset_iri(ns: ProjectNamespaces) -> str:
    return str(ns.id["dataset/lp-kg"])


def read_release(
    client: StoreClient, registry: QueryRegistry, ns: ProjectNamespaces, timeout: float = 30.0
) -> StoreRelease:
    """The release the store holds now (version None: nothing published there yet)."""
    job = QueryJob(
        registry.text("store/release"),
        select_format="rows",
        max_rows=100_000,
        substitutions={
            "release": encode_term(ox.NamedNode(release_graph(ns))),
            "dataset": encode_term(ox.NamedNode(dataset_iri(ns))),
        },
    )
    outcome = client.query(job, "SELECT", ([], [release_graph(ns)]), time.monotonic() + timeout)
    rows = [  # each bound variable's value
        {name: term[1] for name, term in zip(outcome.variables, row, strict=True) if term is not None}
        for row in outcome.rows or []
    ]
    if not rows:
        return StoreRelease(None)
    defaults = sorted({row["default"] for row in rows if "default" in row})
    return StoreRelease(
        rows[0]["version"], sorted({row["graph"] for row in rows if "graph" in row}), defaults[0] if defaults else None
    )


def graph_sizes(client: StoreClient, registry: QueryRegistry, graphs: list[str], timeout: float) -> dict[str, int]:
    job = QueryJob(registry.text("store/graph-sizes"), select_format="rows", max_rows=100_000)
    outcome = client.query(job, "SELECT", ([], graphs), time.monotonic() + timeout)
    sizes = dict.fromkeys(graphs, 0)
    for graph, triples in outcome.rows or []:
        if graph is not None and triples is not None:
            sizes[graph[1]] = int(triples[1])
    return sizes


def publish(settings: Settings, build_dir: Path, progress: Callable[[str], None] | None = None) -> PublishReport:
    """Load `build_dir` (a finished build) into the store named by the settings and make it the live release."""
    started = time.perf_counter()
    say = progress or (lambda message: log.info("%s", message))
    if not settings.store_gsp_url:
        raise PublishError("publishing needs the store's Graph Store Protocol endpoint", field="KG_STORE_GSP_URL")
    client = StoreClient(settings)
    ns = ProjectNamespaces(settings.base_iri)
    registry = QueryRegistry.load(ns)
    summary_version, bodies, union = _graphs_of(build_dir)
    expected = {graph: count for graph, (_, count) in bodies.items()}
    bodies[default_graph(ns)] = union
    try:
        previous = read_release(client, registry, ns)
    except KGError as exc:
        raise PublishError(
            f"cannot read the store's current release: {exc.problem}", field="KG_STORE_QUERY_URL"
        ) from None
    release = release_graph(ns)
    bodies[release] = _release_body(ns, summary_version, sorted(expected), default_graph(ns))
    timeout = settings.store_load_timeout
    if not settings.store_update_url:
        say("no update endpoint: replacing the graphs one by one, the release graph last")
        for graph, (body, count) in bodies.items():
            if graph == release:
                continue
            say(f"PUT <{graph}> ({count} triples)")
            client.put_graph(graph, body, timeout)
        for graph in sorted(set(previous.graphs) - set(expected)):
            say(f"DELETE <{graph}> (not in this build)")
            client.delete_graph(graph, timeout)
        client.put_graph(release, bodies[release][0], timeout)
        _check_sizes(client, registry, expected, timeout, "the store holds")
        return PublishReport(
            summary_version, "graph by graph", expected, previous.version, time.perf_counter() - started
        )

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = {graph: f"{graph}/staging/{stamp}" for graph in bodies}
    try:
        for graph, (body, count) in bodies.items():
            if count:
                say(f"PUT <{staging[graph]}> ({count} triples)")
                client.put_graph(staging[graph], body, timeout)
        _check_sizes(
            client, registry, {staging[g]: c for g, (_, c) in bodies.items()}, timeout, "the staging graphs hold"
        )
        say("switching to the new release in one update request")
        try:
            client.update(_switch(bodies, staging, set(previous.graphs) - set(bodies)), timeout)
        except PublishError as failure:
            raise PublishError(
                f"{failure.problem}; the store did not confirm the switch, so the live release "
                "may be the old one, the new one or, on a store without atomic updates, a mix: "
                "run `capkg publish` again, which replaces every graph",
                field=failure.field,
            ) from None
    except BaseException:
        for graph in staging.values():  # leave nothing half-written behind
            try:
                client.delete_graph(graph, timeout, retries=0)
            except KGError as cleanup:
                log.warning("could not delete staging graph <%s>: %s", graph, cleanup.problem)
        raise
    _check_sizes(client, registry, expected, timeout, "after the switch (run `capkg publish` again) the store holds")
    return PublishReport(summary_version, "atomic", expected, previous.version, time.perf_counter() - started)


def _graphs_of(build_dir: Path) -> tuple[str, dict[str, tuple[bytes, int]], tuple[bytes, int]]:
    """The build's version, each named graph as N-Triples (the build has no default-graph triples), and the
    union of the graphs in the default graph, without duplicates."""
    import json

    summary = json.loads((build_dir / "summary.json").read_text(encoding="utf-8"))
    triples: dict[str, list[ox.Triple]] = {graph: [] for graph in summary["graphs"]}
    for quad in ox.parse(path=str(build_dir / DATASET_FILE), format=ox.RdfFormat.N_QUADS):
        if not isinstance(quad.graph_name, ox.NamedNode):
            raise PublishError("the build has triples outside its named graphs", file=build_dir / DATASET_FILE)
        triples.setdefault(quad.graph_name.value, []).append(ox.Triple(quad.subject, quad.predicate, quad.object))
    union = {triple for graph, items in triples.items() if in_default_graph(graph) for triple in items}
    bodies = {
        graph: (ox.serialize(items, format=ox.RdfFormat.N_TRIPLES) or b"", len(items))
        for graph, items in triples.items()
    }
    return str(summary["version"]), bodies, (ox.serialize(union, format=ox.RdfFormat.N_TRIPLES) or b"", len(union))


def _release_body(ns: ProjectNamespaces, version: str, graphs: list[str], default: str) -> tuple[bytes, int]:
    dataset = ox.NamedNode(dataset_iri(ns))
    triples = [
        ox.Triple(dataset, ox.NamedNode(DCTERMS + "hasVersion"), ox.Literal(version)),
        ox.Triple(
            dataset,
            ox.NamedNode(DCTERMS + "modified"),
            ox.Literal(datetime.now(UTC).isoformat(timespec="seconds"), datatype=XSD_DATETIME),
        ),
    ]
    triples += [ox.Triple(dataset, ox.NamedNode(DCTERMS + "hasPart"), ox.NamedNode(graph)) for graph in graphs]
    triples.append(ox.Triple(dataset, SD_DEFAULT_GRAPH, ox.NamedNode(default)))
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", len(triples)


def _switch(bodies: dict[str, tuple[bytes, int]], staging: dict[str, str], dropped: set[str]) -> str:
    """The update request that makes the staged release live.

    MOVE and DROP take IRIs, not variables, so the request is composed, from the build's own graph
    names serialised by Oxigraph (validated and escaped); no client value ever reaches it.
    """
    operations = []
    for graph, (_, count) in bodies.items():
        live = ox.NamedNode(graph)
        if count:
            operations.append(f"MOVE GRAPH {ox.NamedNode(staging[graph])} TO GRAPH {live}")
        else:  # nothing was staged (stores differ on empty graphs): the live graph just goes
            operations.append(f"DROP SILENT GRAPH {live}")
    operations += [f"DROP SILENT GRAPH {ox.NamedNode(graph)}" for graph in sorted(dropped)]
    return " ;\n".join(operations)


def _check_sizes(
    client: StoreClient, registry: QueryRegistry, expected: dict[str, int], timeout: float, what: str
) -> None:
    sizes = graph_sizes(client, registry, sorted(expected), timeout)
    wrong = {graph: (sizes.get(graph, 0), count) for graph, count in expected.items() if sizes.get(graph, 0) != count}
    if wrong:
        details = "; ".join(f"<{g}>: {found} triples, {want} expected" for g, (found, want) in sorted(wrong.items()))
        raise PublishError(f"{what} other triple counts than the build: {details}", field="KG_STORE_GSP_URL")
