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
from kg.reasoning.infer import infer  # noqa: E402
from kg.reasoning.justify import Justifications, justify  # noqa: E402
from kg.reasoning.justify_store import check_published, justification_quads  # noqa: E402
from kg.reasoning.rdflib_tuning import garbage_collection_paused  # noqa: E402
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
        with garbage_collection_paused():  # as in the build
            started = time.perf_counter()
            result = justify(asserted, inferred, ontology)
            best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


Stage = tuple[float, float, float, float, float]


def whole_stage(asserted: Graph, inferred: Graph, ontology: Graph) -> Stage:
    """The build's two stages (kg.pipeline): "justify" (justify, quads) and "check justifications" (the
    published graph's check), and what the justification quads add to loading the store; then, as peers
    measured in the same run, the inference that makes the inferred graph and the loading of the other
    graphs. With the garbage collector paused, as in the build."""
    with garbage_collection_paused():
        return _whole_stage(asserted, inferred, ontology)


def _whole_stage(asserted: Graph, inferred: Graph, ontology: Graph) -> Stage:
    started = time.perf_counter()
    infer(asserted, ontology, NS)
    inference = time.perf_counter() - started
    started = time.perf_counter()
    result = justify(asserted, inferred, ontology)
    quads = justification_quads(result, NS)
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
    return stage, loading, time.perf_counter() - started, inference, without


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

    print("\nthe build's stages (justify + quads; the published graph's check; added load time), best of the runs")
    measured = []
    for label, graphs_at in (("1x", (asserted, inferred)), (f"{args.copies}x", (bigger_asserted, bigger_inferred))):
        runs = [whole_stage(*graphs_at, ontology) for _ in range(args.repeat)]
        stage, loading, published, inference, others = (min(run[part] for run in runs) for part in range(5))
        measured.append((stage + loading + published, inference, others))
        print(f"  {label:4} justify stage {stage:.3f} s, check justifications {published:.3f} s, ", end="")
        print(f"load +{loading:.3f} s: {measured[-1][0]:.3f} s in all")
        print(f"       peers: inference (owlrl) {inference:.3f} s, loading the other graphs {others:.3f} s")
    (small_total, small_inference, small_others), (large_total, large_inference, large_others) = measured
    print(f"\n{args.copies}x / 1x (each part the best of {args.repeat} runs):")
    print(f"  inferred triples           {len(bigger_inferred) / len(inferred):6.2f}")
    print(f"  justifications (all)       {large_total / small_total:6.2f}")
    print(f"  inference (owlrl)          {large_inference / small_inference:6.2f}")
    print(f"  loading the other graphs   {large_others / small_others:6.2f}")


if __name__ == "__main__":
    main()
