"""The build: sources → RDF → SHACL → OWL-RL → store → files, written atomically.

A build writes into a fresh directory under build/releases/ and only then points
build/current at it, so a failed build leaves the previous output as it was.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg import __version__
from kg.changes.replay import approved_patches, replay
from kg.engines.binding import bind_values
from kg.engines.outcome import default_graph
from kg.engines.protocol import encode_term
from kg.errors import KGError, NonConformantData, QueryParameterError
from kg.namespaces import ProjectNamespaces
from kg.rdf import Finding, map_sources
from kg.reasoning.infer import InferenceResult, infer
from kg.reasoning.justify import justify
from kg.reasoning.justify_store import check_published, justification_quads
from kg.reasoning.rdflib_tuning import garbage_collection_paused
from kg.reasoning.validate import ValidationReport, load_turtle_dir, validate
from kg.release.dataset import (
    dataset_version,
    load_graphs,
    serialize,
    triples_per_graph,
    triples_per_property,
    write_store,
)
from kg.release.describe import describe
from kg.release.document import document_ontology
from kg.release.layout import (
    ANSWERS_DIR,
    CATALOGUE_FILE,
    EXPORT_FORMATS,
    ONTOLOGY_PAGE,
    SUMMARY_FILE,
    VOID_FILE,
    answers_manifest,
    file_manifest,
    store_manifest,
)
from kg.release.published import write_published
from kg.release.report import contributions, write_reports
from kg.release.write import new_release
from kg.search.answers import Rows, write_answer
from kg.search.catalogue import CatalogueRows, write_catalogue
from kg.settings import Settings
from kg.sources.bundle import read_sources
from kg.sources.curation import load_curation
from kg.sparql.registry import NamedQuery, QueryRegistry


@dataclass
class StageTiming:
    name: str
    seconds: float


@dataclass
class BuildResult:
    directory: Path
    version: str
    graphs: dict[str, int]
    classes: dict[str, int]
    validation: ValidationReport
    findings: list[Finding]
    timings: list[StageTiming] = field(default_factory=list)
    inference: InferenceResult | None = None

    def summary(self) -> dict:
        return {
            "version": self.version,
            "built": datetime.now(UTC).isoformat(timespec="seconds"),
            "software": __version__,
            "graphs": self.graphs,
            "triples": sum(self.graphs.values()),
            "classes": self.classes,
            "validation": dict(self.validation.counts()),
            "findings": dict(Counter(f.severity for f in self.findings)),
            "stages": {t.name: round(t.seconds, 3) for t in self.timings},
        }


Progress = Callable[[str, str], None]  # (event: "start" | "done", stage name)


class Stages:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress or (lambda event, name: None)
        self.timings: list[StageTiming] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress("start", name)
        started = time.perf_counter()
        yield
        self.timings.append(StageTiming(name, time.perf_counter() - started))
        self.progress("done", name)


T = TypeVar("T")


class Aside(Generic[T]):
    """`work()` run in a forked process while the caller goes on; `result()` is its value and its seconds.

    Forked, not spawned: the child starts with the parent's graphs and nothing is pickled but the answer.
    Where fork is not available the work runs at once, in this process."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._process: multiprocessing.process.BaseProcess | None = None
        if "fork" not in multiprocessing.get_all_start_methods():
            started = time.perf_counter()
            self._answer: tuple[str, object, float] | None = ("value", work(), time.perf_counter() - started)
            return
        self._answer = None
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)

        def run() -> None:
            started = time.perf_counter()
            try:
                answer: tuple[str, object, float] = ("value", work(), 0.0)
            except Exception as exc:  # sent back whole: the parent raises it
                answer = ("error", f"{type(exc).__name__}: {exc}", 0.0)
            send.send((answer[0], answer[1], time.perf_counter() - started))
            send.close()

        self._process = context.Process(target=run, name="kg-build-aside")
        self._process.start()
        send.close()

    def result(self) -> tuple[T, float]:
        if self._answer is None:
            try:
                self._answer = self._receive.recv()
            except EOFError:
                assert self._process is not None
                self._process.join()
                raise KGError(
                    f"the process checking the build ended without an answer (exit {self._process.exitcode})"
                ) from None
            finally:
                self._receive.close()
        kind, value, seconds = self._answer
        if kind == "error":
            raise KGError(f"the process checking the build failed: {value}")
        return value, seconds  # type: ignore[return-value]

    def stop(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()


@dataclass
class Prepared:
    """Everything the build reads, as RDF, before it is checked."""

    attribution: str
    ns: ProjectNamespaces
    asserted: Graph
    ontology: Graph
    shapes: Graph
    findings: list[Finding]

    def validate(self) -> ValidationReport:
        return validate(self.asserted, self.shapes, self.ontology, self.ns)


@dataclass
class Assembled(Prepared):
    """Everything up to validation, validated: what `validate` and `report` need without writing a build."""

    validation: ValidationReport


def prepare(settings: Settings, stages: Stages, pending: Sequence[str] = ()) -> Prepared:
    """Sources, curation and approved change sets (then `pending` ones, RDF Patch texts) as RDF."""
    ns = ProjectNamespaces(settings.base_iri)
    with stages.stage("read sources"):
        sources = read_sources(settings.sources_dir)
    with stages.stage("load curation"):
        curation = load_curation(settings.curation_dir)
    with stages.stage("map to RDF"):
        mapped = map_sources(sources, curation, ns)
    with stages.stage("apply change sets"):
        replay(mapped.graph, [*approved_patches(settings), *pending])
    with stages.stage("load ontology and shapes"):
        ontology = load_turtle_dir(settings.ontology_dir, ns)
        shapes = load_turtle_dir(settings.shapes_dir, ns)
    return Prepared(sources.attribution, ns, mapped.graph, ontology, shapes, mapped.findings)


def assemble(settings: Settings, stages: Stages, pending: Sequence[str] = ()) -> Assembled:
    """Everything up to validation, validated."""
    prepared = prepare(settings, stages, pending)
    with stages.stage("validate (SHACL)"):
        report = prepared.validate()
    return Assembled(**{f.name: getattr(prepared, f.name) for f in fields(prepared)}, validation=report)


def build(
    settings: Settings,
    progress: Progress | None = None,
    stages: Stages | None = None,
    *,
    pending: Sequence[str] = (),
    switch: bool = True,
) -> BuildResult:
    """Build a release. `pending`: change sets not yet approved, applied after the approved ones; with
    `switch` False, `current` stays where it is and `result.directory` is the new release's directory."""
    stages = stages or Stages(progress)
    with garbage_collection_paused():  # kg.reasoning.rdflib_tuning: the build allocates millions of terms
        return _build(settings, stages, pending, switch)


def _build(settings: Settings, stages: Stages, pending: Sequence[str], switch: bool) -> BuildResult:
    prepared = prepare(settings, stages, pending)
    # SHACL and the rest of the build are independent until the reports are written: the validation runs in
    # a process of its own meanwhile (about half the build's time), and decides before anything goes live
    stages.progress("start", "validate (SHACL)")
    validation = Aside(prepared.validate)
    try:
        return _build_checked(settings, stages, prepared, validation, switch)
    finally:
        validation.stop()


def _build_checked(
    settings: Settings, stages: Stages, prepared: Prepared, validation: Aside[ValidationReport], switch: bool
) -> BuildResult:
    def validated() -> ValidationReport:
        report, seconds = validation.result()
        stages.timings.append(StageTiming("validate (SHACL)", seconds))
        stages.progress("done", "validate (SHACL)")
        if not report.conforms:
            violations = [r.describe() for r in report.violations]
            raise NonConformantData(
                f"{len(violations)} SHACL violation(s); the build stopped:\n  " + "\n  ".join(violations[:50]),
                violations=violations,
            )
        return report

    p = prepared
    ns = p.ns
    with stages.stage("infer (OWL-RL)"):
        inference = infer(p.asserted, p.ontology, ns)
    with stages.stage("justify"):
        # every kept entailment with its rule and premises (kg.reasoning.justify); "check justifications" below
        # stops the build on a gap, on the graphs as published
        justifications = justify(p.asserted, inference.graph, p.ontology)
        justified_quads = justification_quads(justifications, ns)
    registry = QueryRegistry.load(ns)
    with stages.stage("load store"):
        named = {
            ns.graph("ontology"): p.ontology,
            ns.graph("asserted"): p.asserted,
            ns.graph("inferred"): inference.graph,
        }
        store = load_graphs(named, justified_quads)
        version = dataset_version(store)
    with stages.stage("check justifications"):
        check_published(store, registry)  # the graph as published, not only as computed
    result = BuildResult(
        directory=settings.build_dir / "current",
        version=version,
        graphs=triples_per_graph(store),
        classes=_classes(p.asserted),
        validation=ValidationReport(),  # until the validation's process answers
        findings=p.findings,
        inference=inference,
    )
    prefixes = {prefix: str(iri) for prefix, iri in p.asserted.namespaces()}
    made: list[Path] = []
    with new_release(settings.build_dir, version, switch=switch, made=made) as directory:
        with stages.stage("write outputs"):
            for format_name, dump in serialize(store, prefixes).items():
                (directory / EXPORT_FORMATS[format_name][1]).write_bytes(dump)
            description = describe(
                directory,
                ns,
                version,
                result.graphs,
                p.asserted,
                p.attribution,
                [file_name for _, file_name in EXPORT_FORMATS.values()],
                triples_per_property(store, registry),
                settings.curation_dir,
            )
            description.serialize(directory / VOID_FILE, format="turtle")
            write_published(directory, settings.sources_dir, p.asserted, p.shapes, ns)
            document_ontology(
                settings.ontology_dir / "capacities.ttl", directory / ONTOLOGY_PAGE, cache=settings.cache_dir
            )
            write_catalogue(directory / CATALOGUE_FILE, catalogue_rows(store, registry))
            write_answers(directory / ANSWERS_DIR, store, registry)
            write_store(directory)
        # nothing goes live, and no report is written, before the validation has passed
        result.validation = validated()
        write_reports(directory, result.validation, p.findings, version, contributions(p.asserted))
        # the summary is the release's last file, written once: the release is never changed afterwards
        result.timings = list(stages.timings)
        summary = {
            **result.summary(),
            "files": file_manifest(directory),
            "store_files": store_manifest(directory),
            "answer_files": answers_manifest(directory),
        }
        (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    result.directory = settings.build_dir / "current" if switch else made[0]
    result.timings = stages.timings
    return result


def catalogue_rows(store: ox.Store, registry: QueryRegistry) -> CatalogueRows:
    """The search catalogue's rows, from its queries on the release's data: each value's lexical form."""
    rows: CatalogueRows = {}
    for name, text in registry.folder("catalogue").items():
        solutions = store.query(text, default_graph=default_graph(store))
        assert isinstance(solutions, ox.QuerySolutions), f"catalogue/{name}.rq is a SELECT"
        names = [variable.value for variable in solutions.variables]
        rows[name] = [{n: (s[n].value if s[n] is not None else None) for n in names} for s in solutions]
    return rows


def write_answers(folder: Path, store: ox.Store, registry: QueryRegistry) -> None:
    """Keep the answers a server would otherwise compute on a cache miss (kg.search.answers): every named
    query without parameters, and every query whose parameter lists its values (`values_from`) once per value."""
    folder.mkdir()
    computed: dict[str, Rows] = {}
    for query in registry.named.values():
        if not query.parameters:
            computed[query.name] = _answer(store, query, {})
            write_answer(folder, query.name, query.text, {}, computed[query.name])
    for query in registry.named.values():
        parameter = query.parameters[0] if len(query.parameters) == 1 else None
        if parameter is None or parameter.values_from is None:
            continue
        source, field_name = parameter.values_from
        for value in sorted({str(row[field_name]) for row in computed[source] if row[field_name] is not None}):
            try:
                bindings = {variable.value: term for variable, term in query.bind({parameter.name: value}).items()}
            except QueryParameterError:
                continue  # a listed value the parameter does not take: a client could not ask for it either
            key = {name: str(term) for name, term in bindings.items()}
            write_answer(folder, query.name, query.text, key, _answer(store, query, bindings))


def _answer(store: ox.Store, query: NamedQuery, bindings: dict[str, ox.NamedNode | ox.Literal]) -> Rows:
    """A named query's rows on the release's store, bound as the engines bind (a VALUES block)."""
    text = query.text
    if bindings:
        text = bind_values(text, {name: encode_term(term) for name, term in bindings.items()})
    solutions = store.query(text, default_graph=default_graph(store))
    assert isinstance(solutions, ox.QuerySolutions), f"{query.name}.rq is a SELECT"
    variables = [variable.value for variable in solutions.variables]
    terms = [[encode_term(s[v]) if s[v] is not None else None for v in variables] for s in solutions]
    return query.plain_rows(variables, terms)


def _classes(graph: Graph) -> dict[str, int]:
    counts = Counter(
        graph.namespace_manager.normalizeUri(cls) for cls in graph.objects(None, RDF.type) if isinstance(cls, URIRef)
    )
    return dict(sorted(counts.items()))
