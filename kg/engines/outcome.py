"""Running a job on a pyoxigraph store, and shaping results into the outcome the job asked for.

Shared by both engines: the embedded workers run `execute`; results parsed from an external store's
answer go through `shape_outcome`, so budgets and writers are the same whichever engine answers.
"""

from __future__ import annotations

import time
from typing import Any

import pyoxigraph as ox

from kg.engines.protocol import QueryJob, QueryOutcome, Term, decode_term, encode_term
from kg.errors import QuerySyntaxError, ResultTooLarge
from kg.sparql.results import GRAPH_FORMATS, BoundTerm, write_boolean, write_graph, write_select


def execute(store: ox.Store, job: QueryJob) -> QueryOutcome:
    """Run one job on a store (in a worker, or directly in tests and the CLI)."""
    started = time.perf_counter()
    options: dict[str, Any] = {"base_iri": job.base_iri} if job.base_iri else {}
    if job.substitutions:
        options["substitutions"] = {ox.Variable(k): decode_term(v) for k, v in job.substitutions.items()}
    if job.default_graphs is not None:
        options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
    else:
        options["use_default_graph_as_union"] = job.union_default_graph
    if job.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    try:
        results = store.query(job.text, **options)
    except SyntaxError as exc:
        raise QuerySyntaxError(str(exc), field="query") from None
    except (RuntimeError, ValueError) as exc:
        raise QuerySyntaxError(str(exc), field="query") from None
    return shape_outcome(results, job, started)


def shape_outcome(results: Any, job: QueryJob, started: float) -> QueryOutcome:
    """Turn query results (from a store, or parsed from a remote store's answer) into what the job asked for.

    The row budget is enforced here, for both engines: a result over it is an error, never cut short.
    """
    if isinstance(results, ox.QueryBoolean | bool):
        return QueryOutcome(
            "boolean", write_boolean(bool(results), job.select_format), count=1, seconds=time.perf_counter() - started
        )
    if isinstance(results, ox.QuerySolutions) or hasattr(results, "variables"):
        variables = [v.value for v in results.variables]
        rows: list[list[BoundTerm | None]] = []
        for solution in results:
            if job.max_rows is not None and len(rows) >= job.max_rows:
                raise ResultTooLarge(
                    f"the result has more than {job.max_rows} rows; add a LIMIT or narrow the query", field="query"
                )
            rows.append([solution[name] for name in variables])
        outcome = QueryOutcome("select", variables=variables, count=len(rows))
        if job.select_format == "rows":
            outcome.rows = [[encode_term(t) if t is not None else None for t in row] for row in rows]
        else:
            outcome.body = write_select(variables, rows, job.select_format)
        outcome.seconds = time.perf_counter() - started
        return outcome
    triples: list[ox.Triple] = []
    for triple in results:
        if job.max_rows is not None and len(triples) >= job.max_rows:
            raise ResultTooLarge(
                f"the result has more than {job.max_rows} triples; add a LIMIT or narrow the query", field="query"
            )
        triples.append(triple)
    if job.graph_format == "triples":  # encoded terms, for pages rendered by the parent
        outcome = QueryOutcome("graph", count=len(triples), seconds=time.perf_counter() - started)
        outcome.rows = [_encoded_triple(t) for t in triples]
        return outcome
    if job.graph_format not in GRAPH_FORMATS:
        raise QuerySyntaxError(f"cannot write a graph as {job.graph_format}")
    body = write_graph(triples, job.graph_format, job.prefixes)
    return QueryOutcome("graph", body, count=len(triples), seconds=time.perf_counter() - started)


def _encoded_triple(triple: ox.Triple) -> list[Term | None]:
    """A triple's terms, encoded; a triple term in it (RDF 1.2) has no encoding."""
    subject, value = triple.subject, triple.object
    if isinstance(subject, ox.Triple) or isinstance(value, ox.Triple):
        raise TypeError(f"a triple term cannot be encoded: {triple}")
    return [encode_term(subject), encode_term(triple.predicate), encode_term(value)]
