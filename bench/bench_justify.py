"""Benchmark the justifications of the inferred graph, at the portfolio's size and at ten times it.

Reads the asserted, inferred and ontology graphs of build/current/dataset.nq (no rebuild), times
kg.reasoning.justify.justify on them, then on `--copies` renamed copies of the asserted and inferred graphs
(bench/bench_contributions.py's copies_of; the ontology stays one copy). Prints the justifications per rule,
the unjustified and hidden counts, the deepest proof, and the time per inferred triple at both sizes: the
issue asks for under 1 s at 1x and no faster growth than the inferred graph.

    PYTHONPATH=. .venv/bin/python bench/bench_justify.py [--dataset build/current/dataset.nq] [--copies 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, like the other benches

from rdflib import Dataset, Graph  # noqa: E402

from bench.bench_contributions import copies_of  # noqa: E402
from kg.namespaces import ProjectNamespaces  # noqa: E402
from kg.reasoning.justify import Justifications, justify  # noqa: E402
from kg.reasoning.justify_store import check_published, justification_quads  # noqa: E402
from kg.release.dataset import load_graphs  # noqa: E402
from kg.sparql.registry import QueryRegistry  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NS = ProjectNamespaces()


def graphs(path: Path) -> tuple[Graph, Graph, Graph]:
    dataset = Dataset()
    dataset.parse(path, format="nquads")

    def named(name: str) -> Graph:
        graph = Graph()
        for triple in dataset.graph(NS.graph(name)):
            graph.add(triple)
        return graph

    return named("asserted"), named("inferred"), named("ontology")


def timed(asserted: Graph, inferred: Graph, ontology: Graph, repeat: int) -> tuple[float, Justifications]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = justify(asserted, inferred, ontology)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def whole_stage(asserted: Graph, inferred: Graph, ontology: Graph) -> tuple[float, float, float]:
    """The build's two stages (kg.pipeline): "justify" (justify, quads) and "check justifications" (the
    published graph's check), and what the justification quads add to loading the store."""
    started = time.perf_counter()
    result = justify(asserted, inferred, ontology)
    quads = justification_quads(list(result.triples(NS)), NS)
    stage = time.perf_counter() - started
    named = {NS.graph("ontology"): ontology, NS.graph("asserted"): asserted, NS.graph("inferred"): inferred}
    started = time.perf_counter()
    load_graphs(named)
    without = time.perf_counter() - started
    started = time.perf_counter()
    store = load_graphs(named, quads)
    loading = time.perf_counter() - started - without
    started = time.perf_counter()
    check_published(store, QueryRegistry.load(NS))
    return stage, loading, time.perf_counter() - started


def report(label: str, seconds: float, inferred: Graph, result: Justifications) -> float:
    per_triple = seconds / len(inferred) * 1e6
    print(f"\n{label}: {len(inferred)} inferred triples, justify {seconds:.3f} s ({per_triple:.1f} µs per triple)")
    for rule, count in sorted(result.by_rule().items()):
        print(f"  {rule:9} {count}")
    hidden = len(result.hidden())
    print(f"  unjustified {len(result.unjustified())}, hidden steps {hidden}, max depth {result.max_depth}")
    return per_triple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "build" / "current" / "dataset.nq")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs at each size; the best is reported")
    args = parser.parse_args()

    started = time.perf_counter()
    asserted, inferred, ontology = graphs(args.dataset)
    print(f"read {args.dataset} in {time.perf_counter() - started:.1f} s: {len(asserted)} asserted, ", end="")
    print(f"{len(inferred)} inferred, {len(ontology)} ontology triples")

    seconds, result = timed(asserted, inferred, ontology, args.repeat)
    small = report("1x", seconds, inferred, result)
    started = time.perf_counter()
    result.check(set(asserted) | set(inferred) | set(ontology))
    checked = time.perf_counter() - started
    started = time.perf_counter()
    written = sum(1 for _ in result.triples(NS))
    generated = time.perf_counter() - started
    started = time.perf_counter()
    graph = result.as_graph(NS)
    print(f"  check {checked:.3f} s; triples() {generated:.3f} s for {written} triples; ", end="")
    print(f"as_graph (rdflib) {time.perf_counter() - started:.3f} s, {len(graph)} triples")

    bigger_asserted, bigger_inferred = copies_of(asserted, args.copies), copies_of(inferred, args.copies)
    seconds, result = timed(bigger_asserted, bigger_inferred, ontology, args.repeat)
    large = report(f"{args.copies}x", seconds, bigger_inferred, result)
    print(f"\ntime per inferred triple, {args.copies}x / 1x: {large / small:.2f}")

    print("\nthe build's stages (justify + quads; the published graph's check; added load time)")
    for label, graphs_at in (("1x", (asserted, inferred)), (f"{args.copies}x", (bigger_asserted, bigger_inferred))):
        stage, loading, published = whole_stage(*graphs_at, ontology)
        print(f"  {label:4} justify stage {stage:.3f} s, check justifications {published:.3f} s, load +{loading:.3f} s")


if __name__ == "__main__":
    main()
