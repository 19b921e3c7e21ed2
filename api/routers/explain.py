"""Why is this true? The proof of an inferred triple, from the justification graph, down to the source lines.

`GET /api/explain?subject=…&predicate=…&object=…` (three IRIs: every kept entailment has an IRI object):

* an inferred triple: 200, `{"asserted": false, "conclusion": {…}, "origin": "inferred", "rule", "rule_label",
  "depth", "premises": [… the same, recursively]}`. A node's `conclusion` is `{"s", "p", "o", "labels"}`
  (labels: the English names of the three terms the dataset has); a premise's `origin` is `inferred` (it has
  its own rule and premises), `asserted` (it has `source`: a list of `{"file", "lines", "first", "last",
  "text", "link"}` — the source text's lines that its subject was read from, `text` printed as it is in the
  text — and `{"curation_decision": …}` for a curator's decision), `ontology` (an axiom of the ontology) or
  `hidden` (a step the inferred graph does not keep);
* an asserted triple (no proof needed): 200, `{"asserted": true, "conclusion": {…}, "origin": "asserted",
  "source": [...]}`, and `origin: "ontology"` for a triple of the ontology;
* a triple the dataset does not hold: 404 saying so; an invalid IRI: 400 naming the parameter.

`Accept: application/ld+json` (or `format=jsonld`): the justification graph's triples of that proof.
`GET /explain?…` is the same proof as a page for people: names, the rule as a sentence, the premises as a
nested list down to the quoted source lines.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.plumbing.errors import HTTPProblem
from api.plumbing.negotiation import cached_response, choose
from api.plumbing.runtime import Runtime, RuntimeDep
from api.views.render import curie, local, render
from kg.engines.protocol import QueryJob, Term, decode_term, encode_term
from kg.errors import QueryParameterError
from kg.release.layout import SOURCE_TEXT_PREFIX
from kg.sparql.registry import iri_node, single_values
from kg.sparql.results import GRAPH_FORMATS

Value = ox.NamedNode | ox.Literal | ox.BlankNode
router = APIRouter(tags=["Explanations"])
PARAMETERS = ("subject", "predicate", "object")
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = RDF + "type"
# what each OWL 2 RL rule (OWL 2 Profiles, section 4.3, tables 4 to 9) does, in a sentence for people
RULE_SENTENCES = {
    "prp-spo1": "What holds for a sub-property holds for its super-property.",
    "prp-spo2": "A property chain: following the chain's properties one after the other links the first thing "
    "to the last by the chain's property.",
    "prp-eqp1": "What holds for a property holds for an equivalent property.",
    "prp-eqp2": "What holds for a property holds for an equivalent property.",
    "prp-inv1": "An inverse property: a statement read the other way round holds with the inverse property.",
    "prp-inv2": "An inverse property: a statement read the other way round holds with the inverse property.",
    "prp-symp": "A symmetric property holds in both directions.",
    "prp-trp": "A transitive property: if A is linked to B and B to C, then A is linked to C.",
    "prp-dom": "The domain of a property: whatever has the property is an instance of the domain class.",
    "prp-rng": "The range of a property: whatever is the property's value is an instance of the range class.",
    "cax-sco": "A subclass: every instance of a class is an instance of its superclass.",
    "cax-eqc1": "Equivalent classes: every instance of one is an instance of the other.",
    "cax-eqc2": "Equivalent classes: every instance of one is an instance of the other.",
}
ORIGINS = {"asserted": "read from the sources", "ontology": "an axiom of the ontology"}
LOCATOR = re.compile(
    r"^(?P<text>.+)/source/(?P<file>[A-Za-z0-9][A-Za-z0-9_.-]{0,200})#line=(?P<after>\d+),(?P<last>\d+)$"
)
OFFERS = ["application/json", "application/ld+json"]
ALIASES = {"json": OFFERS[0], "jsonld": OFFERS[1]}


@dataclass
class Node:
    """One node of a proof: a justification (rule, premises) or a statement (graph)."""

    triple: tuple[Term, Term, Term]
    rule: str | None = None
    depth: int | None = None
    hidden: bool = False
    graph: str | None = None
    premises: dict[int, str] = field(default_factory=dict)


def _terms(request: Request) -> dict[str, Term]:
    values = single_values(request.query_params.multi_items(), {*PARAMETERS, "format"}, where="/api/explain")
    terms: dict[str, Term] = {}
    for name in PARAMETERS:
        if name not in values:
            problem = f"{name}= is missing: give the triple's subject, predicate and object"
            raise QueryParameterError(problem, field=name)
        terms[name] = encode_term(iri_node(values[name].strip(), field=name))
    return terms


async def _rows(runtime: Runtime, name: str, terms: dict[str, Term]) -> list[dict[str, Term | None]]:
    outcome = await runtime.engine.run(
        QueryJob(runtime.registry.text(f"explain/{name}"), select_format="rows", max_rows=100_000, substitutions=terms)
    )
    return [dict(zip(outcome.variables, row, strict=True)) for row in outcome.rows or []]


@dataclass
class Proof:
    root: str | None
    nodes: dict[str, Node]
    graphs: list[str]
    labels: dict[str, str]
    sources: dict[str, list[dict[str, Any]]]


async def _proof(runtime: Runtime, terms: dict[str, Term]) -> Proof:
    graphs = [row["graph"][1] for row in await _rows(runtime, "graphs", terms) if row["graph"]]
    nodes: dict[str, Node] = {}
    root = None
    wanted = (terms["subject"], terms["predicate"], terms["object"])
    for row in await _rows(runtime, "proof", terms):
        key = _key(row["node"])
        triple = (_term(row["s"]), _term(row["p"]), _term(row["o"]))
        node = nodes.setdefault(key, Node(triple))
        if row["rule"]:
            node.rule, node.depth = row["rule"][1], int(_term(row["depth"])[1])
            if tuple(tuple(t) for t in triple) == tuple(tuple(t) for t in wanted):
                root = key
        if row["hidden"]:
            node.hidden = row["hidden"][1] == "true"
        if row["graph"]:
            node.graph = row["graph"][1].rsplit("/", 1)[-1]
        if row["slot"] and row["premise"]:
            node.premises[int(row["slot"][1].rsplit("_", 1)[-1])] = _key(row["premise"])
    label_rows = await _rows(runtime, "labels" if root else "term_labels", terms)
    labels: dict[str, str] = {}
    for row in sorted(label_rows, key=lambda r: (_term(r["label"])[3] or "") != "en"):  # English first
        labels.setdefault(_term(row["term"])[1], _term(row["label"])[1])
    sources: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await _rows(runtime, "sources" if root else "subject_sources", terms):
        subject = _term(row["term"])[1]
        if row["locator"]:
            located = _source_lines(runtime, row["locator"][1])
            if located and located not in sources[subject]:
                sources[subject].append(located)
        if row["decision"]:
            decision = {"curation_decision": row["decision"][1]}
            if decision not in sources[subject]:
                sources[subject].append(decision)
    for found in sources.values():
        found.sort(key=lambda s: (s.get("file", ""), s.get("first", 0), s.get("curation_decision", "")))
    return Proof(root, nodes, graphs, labels, sources)


def _key(term: Term | None) -> str:
    return _term(term)[1]


def _term(term: Term | None) -> Term:
    if term is None:
        raise TypeError("an unbound term in a proof row")
    return term


_SOURCE_LINES: dict[tuple[str, str], list[str]] = {}


def _source_lines(runtime: Runtime, locator: str) -> dict[str, Any] | None:
    """The lines an RFC 5147 locator (…/id/source/FILE#line=after,last) names, as the build published them."""
    found = LOCATOR.match(locator)
    if not found or not locator.startswith(f"{runtime.ns.id}source/"):
        return None
    first, last = int(found["after"]) + 1, int(found["last"])
    key = (str(runtime.build_dir), found["file"])
    lines = _SOURCE_LINES.get(key)
    if lines is None:
        path = runtime.build_dir / (SOURCE_TEXT_PREFIX + found["file"])
        if not path.is_file():
            return None
        lines = _SOURCE_LINES[key] = path.read_text(encoding="utf-8").split("\n")
        while len(_SOURCE_LINES) > 8:
            del _SOURCE_LINES[next(iter(_SOURCE_LINES))]
    return {
        "file": found["file"],
        "lines": f"{first}-{last}",
        "first": first,
        "last": last,
        "text": "\n".join(lines[first - 1 : last]),
        "link": f"{local(runtime, found['text'] + '/source/' + found['file'])}?lines={first}-{last}#line-{first}",
    }


def _plain(term: Term) -> Any:
    kind, value, datatype, language = term
    if kind == "iri":
        return value
    if kind == "bnode":
        return f"_:{value}"
    return {"@value": value, **({"@language": language} if language else {"@type": datatype} if datatype else {})}


def _conclusion(triple: tuple[Term, Term, Term], labels: dict[str, str]) -> dict[str, Any]:
    s, p, o = triple
    named = {term[1]: labels[term[1]] for term in triple if term[0] == "iri" and term[1] in labels}
    return {"s": _plain(s), "p": _plain(p), "o": _plain(o), "labels": named}


def _tree(proof: Proof, key: str, seen: frozenset[str] = frozenset()) -> dict[str, Any]:
    node = proof.nodes[key]
    answer: dict[str, Any] = {"conclusion": _conclusion(node.triple, proof.labels)}
    if node.rule is not None and key not in seen:
        answer |= {
            "origin": "hidden" if node.hidden else "inferred",
            "rule": node.rule,
            "rule_label": RULE_SENTENCES.get(node.rule, node.rule),
            "depth": node.depth,
            "premises": [_tree(proof, p, seen | {key}) for _, p in sorted(node.premises.items())],
        }
    else:
        answer["origin"] = node.graph or "asserted"
        if node.graph == "asserted":
            answer["source"] = proof.sources.get(node.triple[0][1], [])
    return answer


async def _explained(request: Request, runtime: Runtime) -> tuple[dict[str, Term], Proof, dict[str, Any]]:
    terms = _terms(request)
    proof = await _proof(runtime, terms)
    triple = (terms["subject"], terms["predicate"], terms["object"])
    if proof.root is not None:
        return terms, proof, {"asserted": False, **_tree(proof, proof.root)}
    names = [graph.rsplit("/", 1)[-1] for graph in proof.graphs]
    if "asserted" in names or "ontology" in names:
        origin = "asserted" if "asserted" in names else "ontology"
        answer = {"asserted": True, "conclusion": _conclusion(triple, proof.labels), "origin": origin}
        if origin == "asserted":
            answer["source"] = proof.sources.get(terms["subject"][1], [])
        return terms, proof, answer
    raise HTTPProblem(
        404,
        "Not found",
        "the dataset does not hold this triple: it is neither asserted nor inferred, so there is nothing to explain"
        if not names
        else f"this triple is in the {', '.join(names)} graph(s) but has no justification",
    )


@router.get("/api/explain", summary="Why an inferred triple holds: its OWL 2 RL proof, down to the source lines")
async def explain(request: Request, runtime: RuntimeDep) -> Response:
    media_type = choose(
        request, OFFERS, override=request.query_params.get("format"), aliases={"json": OFFERS[0], "jsonld": OFFERS[1]}
    )
    _, proof, answer = await _explained(request, runtime)
    if media_type == "application/ld+json":
        body = ox.serialize(_justification_triples(runtime, proof), format=GRAPH_FORMATS[media_type]) or b""
        return cached_response(request, body, media_type, runtime.version, headers={"Vary": "Accept"})
    body = json.dumps(answer, ensure_ascii=False, indent=1).encode()
    return cached_response(request, body, media_type, runtime.version, headers={"Vary": "Accept"})


def _justification_triples(runtime: Runtime, proof: Proof) -> list[ox.Triple]:
    """The proof's nodes in the justification graph's model (kg.reasoning.justify)."""
    cap = str(runtime.ns.cap)
    triples: list[ox.Triple] = []
    for key, node in sorted(proof.nodes.items()):
        subject = ox.NamedNode(key)

        def add(
            predicate: str, value: ox.NamedNode | ox.Literal | ox.BlankNode, subject: ox.NamedNode = subject
        ) -> None:
            triples.append(ox.Triple(subject, ox.NamedNode(predicate), value))

        for name, term in zip(("subject", "predicate", "object"), node.triple, strict=True):
            add(RDF + name, decode_term(term))
        if node.rule is not None:
            add(RDF_TYPE, ox.NamedNode(cap + "Justification"))
            add(cap + "rule", ox.Literal(node.rule))
            add(
                cap + "proofDepth",
                ox.Literal(str(node.depth), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
            )
            if node.hidden:
                add(cap + "hidden", ox.Literal(True))
            for position, premise in sorted(node.premises.items()):
                add(cap + "premise", ox.NamedNode(premise))
                add(f"{RDF}_{position}", ox.NamedNode(premise))
        if node.graph is not None:
            add(cap + "inGraph", ox.NamedNode(str(runtime.ns.graph(node.graph))))
    return triples


@router.get("/explain", summary="Why an inferred statement holds, as a page", include_in_schema=False)
async def explain_page(request: Request, runtime: RuntimeDep) -> Response:
    try:
        terms, proof, answer = await _explained(request, runtime)
    except HTTPProblem as exc:
        if exc.status != 404:
            raise
        body = render("not_found.html", request, runtime, path=str(request.url.path))
        return HTMLResponse(body, status_code=404)
    page = render(
        "explain.html",
        request,
        runtime,
        answer=answer,
        name_of=lambda term: _name(runtime, term, proof.labels),
        link=lambda term: local(runtime, term) if isinstance(term, str) and not term.startswith("_:") else None,
        origins=ORIGINS,
    )
    return cached_response(request, page.encode(), "text/html; charset=utf-8", runtime.version)


def _name(runtime: Runtime, term: Any, labels: dict[str, str]) -> str:
    if isinstance(term, dict):
        return str(term.get("@value", ""))
    if term.startswith("_:"):
        return "(a list in the ontology)"
    return labels.get(term) or curie(runtime, term)
