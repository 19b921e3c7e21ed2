"""Benchmark the justifications of the inferred graph, at the portfolio's size and at ten times it.

Reads the asserted, inferred and ontology graphs of build/current/dataset.nq (no rebuild), times
kg.reasoning.justify.justify on them, then on `--copies` renamed copies of the asserted and inferred graphs
(bench/bench_contributions.py's copies_of; the ontology stays one copy). Prints the justifications per rule,
the unjustified and hidden counts, the deepest proof, and the time per inferred triple at both sizes: the
issue asks for under 1 s at 1x and no faster growth than the inferred graph.

With `--instructions` it also counts the instructions each part executes, at both sizes, with Cachegrind
(Debian package `valgrind`): the work itself, which the processor's caches do not change. Wall time per
inferred triple rises with the graph's size once the working set outgrows the caches, and varies from run
to run with what memory the process already holds; the instruction count tells that apart from work that
grows faster than the data. Each part runs in a child process under Cachegrind (`--part`), after the same
preparation; a part's count is its run's minus the preparation's (for the justifications: minus loading the
other graphs, which their run also does). About 5 minutes.

    PYTHONPATH=. .venv/bin/python bench/bench_justify.py [--dataset build/current/dataset.nq] [--copies 10]
                                                          [--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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


PARTS = ("preparation", "other graphs", "justifications", "inference")


def run_part(part: str, dataset: Path, copies: int) -> None:
    """What one Cachegrind run executes: the preparation (reading, copying), then `part` as the build does it."""
    asserted, inferred, ontology = graphs(dataset)
    registry = QueryRegistry.load(NS)
    if copies > 1:
        asserted, inferred = copies_of(asserted, copies), copies_of(inferred, copies)
    named = {NS.graph("ontology"): ontology, NS.graph("asserted"): asserted, NS.graph("inferred"): inferred}
    with garbage_collection_paused():
        if part == "other graphs":
            load_graphs(named)
        elif part == "justifications":  # the other graphs too: subtracted as their own part's count
            store = load_graphs(named, justification_quads(justify(asserted, inferred, ontology), NS))
            check_published(store, registry)
        elif part == "inference":
            infer(asserted, ontology, NS)


def instructions(part: str, dataset: Path, copies: int) -> int:
    """The instructions (Cachegrind's "I refs") of a child process running `run_part`."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--part", part, "--dataset", str(dataset), "--copies", str(copies)]
    # a fixed hash seed: the same sets in the same order, so the count does not vary from run to run
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    finished = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    counted = re.search(r"I\s+refs:\s+([\d,]+)", finished.stderr)
    if finished.returncode != 0 or counted is None:
        raise SystemExit(f"{part} at {copies}x failed under Cachegrind:\n{finished.stderr[-2000:]}")
    return int(counted.group(1).replace(",", ""))


def count_instructions(dataset: Path, copies: int, growth: dict[str, float]) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs Cachegrind: apt-get install valgrind")
    runs = [(part, size) for size in (1, copies) for part in PARTS]
    print(f"\ninstructions (Cachegrind; {len(runs)} runs in child processes, a few minutes):")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(runs, pool.map(lambda run: instructions(run[0], dataset, run[1]), runs), strict=True))

    def work(part: str, size: int) -> int:
        baseline = "other graphs" if part == "justifications" else "preparation"
        return counts[(part, size)] - counts[(baseline, size)]

    print(f"  {'':26} {'1x':>10} {f'{copies}x':>10} {f'{copies}x / 1x':>9}")
    for part in PARTS[1:]:
        small, large = work(part, 1), work(part, copies)
        print(f"  {part:26} {small / 1e9:9.3f}G {large / 1e9:9.3f}G {large / small:9.2f}")
    for what, ratio in growth.items():
        print(f"  {what:26} {'':>10} {'':>10} {ratio:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "build" / "current" / "dataset.nq")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs at each size; the best is reported")
    parser.add_argument("--instructions", action="store_true", help="also count each part's instructions")
    parser.add_argument("--part", choices=PARTS, help="run one part, as the Cachegrind runs do")
    args = parser.parse_args()
    if args.part:
        run_part(args.part, args.dataset, args.copies)
        return

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
    if args.instructions:
        other_triples = len(asserted) + len(inferred) + len(ontology)
        growth = {
            "inferred triples": len(bigger_inferred) / len(inferred),
            "the other graphs' triples": (len(bigger_asserted) + len(bigger_inferred) + len(ontology)) / other_triples,
        }
        count_instructions(args.dataset, args.copies, growth)


if __name__ == "__main__":
    main()
