"""Benchmark the contribution gate: SHACL time per proposal, at the portfolio's size and at ten times it.

About 50 proposals, half new learning materials (with a card in a real problem statement), half corrections
of real materials (a new title, an added country), go through the gate (kg.changes.gate.check) on the asserted
graph of build/current/dataset.nq; then on a graph of `--copies` copies of it, every instance IRI renamed per
copy (as bench/bench_api.py's make_dataset does). The whole asserted graph is validated with pySHACL in the
same run (at 1x; at 10x too with --full-at-copies), and the ratio says how much a proposal saves.

    PYTHONPATH=. .venv/bin/python bench/bench_contributions.py [--proposals 50] [--copies 10] [--full-at-copies]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from kg.changes.gate import check
from kg.changes.model import Change
from kg.changes.proposal import proposed_change, read_proposal
from kg.namespaces import EUCOUNTRY, ProjectNamespaces
from kg.reasoning.validate import load_turtle_dir, validate

ROOT = Path(__file__).resolve().parent.parent
NS = ProjectNamespaces()
COUNTRIES = ("AUT", "DNK", "DEU", "ESP", "FIN", "FRA", "ITA", "NLD", "POL", "SWE")


def asserted(path: Path) -> Graph:
    dataset = Dataset()
    dataset.parse(path, format="nquads")
    graph = Graph()
    for triple in dataset.graph(NS.graph("asserted")):
        graph.add(triple)
    return graph


def copies_of(graph: Graph, copies: int) -> Graph:
    """`copies` copies of the graph; copy 1 unchanged, copy n with every id/ IRI and blank node suffixed -copy{n}."""
    prefix, graphs = str(NS.id), str(NS.id) + "graph/"
    bigger = Graph()
    for triple in graph:
        bigger.add(triple)
    for number in range(2, copies + 1):
        suffix = f"-copy{number}"

        def renamed(term: object, suffix: str = suffix) -> object:
            if isinstance(term, BNode):
                return BNode(str(term) + suffix.replace("-", "_"))
            if isinstance(term, URIRef) and str(term).startswith(prefix) and not str(term).startswith(graphs):
                return URIRef(str(term) + suffix)
            return term

        for s, p, o in graph:
            bigger.add((renamed(s), p, renamed(o)))  # type: ignore[arg-type]
    return bigger


def proposals(current: Graph, count: int) -> list[Change]:
    """Half new materials with one card each, half corrections of existing materials."""
    cap = NS.cap
    subcategories = sorted(
        (s for s in current.subjects(RDF.type, cap.ProblemStatement) if (s, SKOS.notation, None) in current), key=str
    )
    materials = sorted(current.subjects(RDF.type, cap.LearningMaterial), key=str)
    changes: list[Change] = []
    for number in range(count):
        if number % 2 == 0:
            subcategory = subcategories[number % len(subcategories)]
            country = COUNTRIES[number % len(COUNTRIES)]
            title = f"Contributed guide number {number}"
            turtle = f"""
                <m> a cap:LearningMaterial ; dcterms:title "{title}"@en ; dcterms:spatial eucountry:{country} ;
                    cap:releaseYear "2025"^^xsd:gYear .
                <c> a cap:MaterialAppearance ; cap:appearanceOf <m> ; cap:inProblemStatement <{subcategory}> ;
                    schema:position {number + 20} ; cap:titleAsPrinted "{title}" ; cap:typeLabel "Guide"@en ;
                    dcterms:description "A guide a partner contributed."@en ; cap:keyFeature "Checklists"@en .
            """
            proposed = read_proposal(turtle.encode(), "text/turtle")
            changes.append(proposed_change(current, proposed, action="add", target=None, ns=NS))
        elif number % 4 == 1:
            material = materials[number % len(materials)]
            proposed = Graph()
            for triple in current.triples((material, None, None)):
                if triple[1] != DCTERMS.title:
                    proposed.add(triple)
            proposed.add((material, DCTERMS.title, Literal(f"Corrected title {number}", lang="en")))
            changes.append(proposed_change(current, proposed, action="replace", target=material, ns=NS))
        else:
            material = materials[number % len(materials)]
            proposed = Graph()
            proposed.add((material, DCTERMS.spatial, EUCOUNTRY[COUNTRIES[number % len(COUNTRIES)]]))
            changes.append(proposed_change(current, proposed, action="add", target=None, ns=NS))
    return changes


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def gate_times(current: Graph, changes: list[Change], shapes: Graph, ontology: Graph) -> tuple[list[float], int]:
    check(changes[0], current, shapes, ontology, NS)  # warm up: the shapes' SPARQL queries are parsed once
    times, failing = [], 0
    for change in changes:
        started = time.perf_counter()
        report = check(change, current, shapes, ontology, NS)
        times.append(time.perf_counter() - started)
        failing += not report.conforms
    return times, failing


def full_time(current: Graph, shapes: Graph, ontology: Graph) -> float:
    started = time.perf_counter()
    validate(current, shapes, ontology, NS)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT / "build" / "current" / "dataset.nq")
    parser.add_argument("--proposals", type=int, default=50)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--full-at-copies", action="store_true", help="also validate the whole 10x graph (slow)")
    args = parser.parse_args()
    shapes = load_turtle_dir(ROOT / "shapes", NS)
    ontology = load_turtle_dir(ROOT / "ontology", NS)
    one = asserted(args.dataset)
    changes = proposals(one, args.proposals)
    print(f"{len(changes)} proposals; asserted graph {len(one):,} triples")
    for label, graph in (("1x", one), (f"{args.copies}x", None)):
        if graph is None:
            started = time.perf_counter()
            graph = copies_of(one, args.copies)
            print(f"built the {label} graph ({len(graph):,} triples) in {time.perf_counter() - started:.1f} s")
        times, failing = gate_times(graph, changes, shapes, ontology)
        line = (
            f"{label}: gate p50 {statistics.median(times) * 1000:.0f} ms, p99 {percentile(times, 0.99) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms ({failing} proposals with violations)"
        )
        if label == "1x" or args.full_at_copies:
            whole = full_time(graph, shapes, ontology)
            line += f"; whole graph {whole:.2f} s, gate p50 / whole = {statistics.median(times) / whole:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
