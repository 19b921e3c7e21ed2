"""Running a job on a pyoxigraph store, and shaping results into the outcome the job asked for.

Shared by both engines: the embedded workers run `execute`; results parsed from an external store's
answer go through `shape_outcome`, so budgets and writers are the same whichever engine answers.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox

from kg.engines.binding import bind_values
from kg.engines.protocol import DEFAULT_MAX_BYTES, QueryJob, QueryOutcome, Term, encode_term, in_default_graph
from kg.errors import QuerySyntaxError, ResultTooLarge
from kg.sparql.results import GRAPH_FORMATS, BoundTerm, text_table_size, write_boolean, write_select

# The least each bound term adds to a written row besides its value (in JSON `"v":{"type":"uri","value":""}`,
# in XML `<binding name="v"><uri></uri></binding>`, with the variable's name; in TSV `<>` or `""`), and the
# least each row adds (braces, tags, separators). Summed while the rows are read, they are a floor of the
# answer's size: a result is refused as soon as the floor passes the budget, before it is written (the
# exact size is checked once it is written).
TERM_FLOOR = {"json": 28, "xml": 38, "csv": 0, "tsv": 2, "rows": 8}
NAMED_FLOOR = {"json", "xml"}
TRIPLE_FLOOR = 24  # an encoded triple (the "triples" format): three tuples of four


def default_graph(store: ox.Store) -> list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]:
    """What a query's default graph is the union of: the store's own default graph (a release leaves it empty)
    and its named graphs but those kg.engines.protocol.in_default_graph leaves out."""
    named = [
        graph for graph in store.named_graphs() if not isinstance(graph, ox.NamedNode) or in_default_graph(graph.value)
    ]
    return [ox.DefaultGraph(), *named]


def execute(store: ox.Store, job: QueryJob) -> QueryOutcome:
    """Run one job on a store (in a worker, or directly in tests and the CLI)."""
    started = time.perf_counter()
    options: dict[str, Any] = {"base_iri": job.base_iri} if job.base_iri else {}
    if job.default_graphs is not None:
        options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
    elif job.union_default_graph:
        options["default_graph"] = default_graph(store)
    if job.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    try:
        # values are bound by a VALUES block, not `substitutions`: pyoxigraph plans it far better (binding.py)
        text = bind_values(job.text, job.substitutions) if job.substitutions else job.text
        results = store.query(text, **options)
    except SyntaxError as exc:
        raise QuerySyntaxError(str(exc), field="query") from None
    except (RuntimeError, ValueError) as exc:
        raise QuerySyntaxError(str(exc), field="query") from None
    return shape_outcome(results, job, started)


def shape_outcome(results: Any, job: QueryJob, started: float) -> QueryOutcome:
    """Turn query results (from a store, or parsed from a remote store's answer) into what the job asked for.

    Solutions are read by position, in the order of `results.variables` (as `ox.QuerySolution` allows).

    The row and byte budgets are enforced here, for both engines: a result over either is an error, never
    cut short, and it is refused while it is read or written, so no more than about the byte budget is
    ever built.
    """
    max_bytes = DEFAULT_MAX_BYTES if job.max_bytes is None else job.max_bytes
    if isinstance(results, ox.QueryBoolean | bool):
        return QueryOutcome(
            "boolean", write_boolean(bool(results), job.select_format), count=1, seconds=time.perf_counter() - started
        )
    if isinstance(results, ox.QuerySolutions) or hasattr(results, "variables"):
        return _select(results, job, max_bytes, started)
    counted = _Counted(results, job.max_rows)
    if job.graph_format == "triples":  # encoded terms, for pages rendered by the parent
        rows: list[list[Term | None]] = []
        size = 0
        for triple in counted:
            encoded = _encoded_triple(triple)
            size += TRIPLE_FLOOR + sum(len(term[1]) for term in encoded if term is not None)
            if size > max_bytes:
                raise _too_large(max_bytes)
            rows.append(encoded)
        return QueryOutcome("graph", rows=rows, count=len(rows), seconds=time.perf_counter() - started)
    if job.graph_format not in GRAPH_FORMATS:
        raise QuerySyntaxError(f"cannot write a graph as {job.graph_format}")
    body = _write_graph(counted, job, max_bytes)
    return QueryOutcome("graph", body, count=counted.count, seconds=time.perf_counter() - started)


def _select(results: Any, job: QueryJob, max_bytes: int, started: float) -> QueryOutcome:
    variables = [v.value for v in results.variables]
    positions = range(len(variables))
    kind = job.select_format
    per_term = [TERM_FLOOR.get(kind, 0) + (len(name) if kind in NAMED_FLOOR else 0) for name in variables]
    per_row = {"json": 2, "xml": 17, "csv": len(variables) + 1, "tsv": len(variables), "rows": 8}.get(kind, 0)
    size = sum(len(name) + 1 for name in variables)  # the header
    rows: list[list[BoundTerm | None]] = []
    for solution in results:
        if job.max_rows is not None and len(rows) >= job.max_rows:
            raise ResultTooLarge(
                f"the result has more than {job.max_rows} rows; add a LIMIT or narrow the query", field="query"
            )
        row = [solution[index] for index in positions]  # by position: twice as fast as by name
        size += per_row + sum(len(term.value) + per_term[i] for i, term in enumerate(row) if term is not None)
        if size > max_bytes:
            raise _too_large(max_bytes)
        rows.append(row)
    outcome = QueryOutcome("select", variables=variables, count=len(rows))
    if kind == "rows":
        outcome.rows = [[encode_term(t) if t is not None else None for t in row] for row in rows]
    else:
        if kind == "text" and text_table_size(variables, rows) > max_bytes:  # padding, before it is written
            raise _too_large(max_bytes)
        outcome.body = write_select(variables, rows, kind)
        if len(outcome.body) > max_bytes:  # escapes and datatypes the floor leaves out
            raise _too_large(max_bytes)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _too_large(max_bytes: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the answer is larger than {max_bytes} bytes, the budget of one answer; add a LIMIT, "
        "select fewer or shorter values, or narrow the query",
        field="query",
    )


class _Counted:
    """Triples, counted as they are read (by the serializer, as it writes), refused past the row budget."""

    def __init__(self, triples: Iterable[ox.Triple], max_rows: int | None) -> None:
        self.triples, self.max_rows, self.count = triples, max_rows, 0

    def __iter__(self) -> Iterator[ox.Triple]:
        for triple in self.triples:
            if self.max_rows is not None and self.count >= self.max_rows:
                raise ResultTooLarge(
                    f"the result has more than {self.max_rows} triples; add a LIMIT or narrow the query", field="query"
                )
            self.count += 1
            yield triple


class _Sink(io.BytesIO):
    """Where the serializer writes a graph answer: its bytes counted as they come, refused past the budget."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.max_bytes:
            raise _too_large(self.max_bytes)
        return super().write(data)


PREFIXED = {ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.N3}  # the formats with prefix declarations


def _write_graph(triples: _Counted, job: QueryJob, max_bytes: int) -> bytes:
    """A graph answer in the job's format (as kg.sparql.results.write_graph writes it), within the byte budget.

    The serializer reads the triples as it writes and writes in small blocks, so the result is neither
    held whole nor written whole before it is found to be over a budget.
    """
    rdf_format = GRAPH_FORMATS[job.graph_format]
    prefixes = job.prefixes if rdf_format in PREFIXED and job.prefixes else None
    sink = _Sink(max_bytes)
    ox.serialize(iter(triples), sink, format=rdf_format, prefixes=prefixes)  # what write() or the triples raise passes
    return sink.getvalue()


def _encoded_triple(triple: ox.Triple) -> list[Term | None]:
    """A triple's terms, encoded; a triple term in it (RDF 1.2) has no encoding."""
    subject, value = triple.subject, triple.object
    if isinstance(subject, ox.Triple) or isinstance(value, ox.Triple):
        raise TypeError(f"a triple term cannot be encoded: {triple}")
    return [encode_term(subject), encode_term(triple.predicate), encode_term(value)]
