"""The JSON-LD of every /api route is sound RDF that agrees with the graph, read by jsonld.js (and rdflib).

A real server on 127.0.0.1 answers every GET route of /api that its OpenAPI document lists (each named query
with values for its parameters, each material, country and organisation, pages and filters) as JSON-LD;
jsonld.js (pinned in tests/jsonld/package-lock.json, installed with `npm ci`) turns each answer into N-Quads
in safe mode, which fails on any property it would drop. Then:
(a) every predicate and every rdf:type is a term of the ontology, of a standard vocabulary, or of the API's
    vocabulary (api/vocabulary.ttl);
(b) no triple is in a named graph;
(c) every triple about a resource of the graph that uses an ontology or standard term is a triple of the
    graph as /sparql serves it (same datatype, same language tag); the literals an API term gives about a
    resource (notations, labels of linked resources, facet values) are literals of the graph too;
(d) hydra:totalItems counts the members, and what the graph counts;
(e) rdflib reads the same JSON-LD as the same triples.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from rdflib import RDF, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDFS, SDO, SKOS, XSD

from tests.conftest import ROOT, Built
from tests.server import running_server

JSONLD_DIR = ROOT / "tests" / "jsonld"
CAP = Namespace("https://w3id.org/capacities/lp/ontology#")
ID = "https://w3id.org/capacities/lp/id/"
API = Namespace("https://w3id.org/capacities/lp/api#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
# the Hydra Core terms the API uses, as https://www.w3.org/ns/hydra/core defines them (no copy of it here)
HYDRA_TERMS = {HYDRA[t] for t in ("Collection", "PartialCollectionView", "member", "totalItems", "view")} | {
    HYDRA[t] for t in ("first", "previous", "next", "last")
}
STANDARD = (RDF, RDFS, OWL, XSD, SKOS, DCTERMS, ORG, PROV, FOAF)
# API terms whose literals are not the graph's: keys of paths, row kinds, filter names, and names joined
# from labels of several languages (given as plain text, as api/vocabulary.ttl says), and search snippets (passages
# of a description cut around the words searched, escaped, the words marked)
NOT_GRAPH_LITERALS = {
    API.key,
    API.kind,
    API.filter,
    API.partnerName,
    API.facilitatorName,
    API.direction,
    API.snippet,
}


def jsonld_js() -> Path:
    """jsonld.js as package-lock.json pins it, installed with `npm ci` when missing (scripts/test.sh does too)."""
    installed = JSONLD_DIR / "node_modules" / "jsonld" / "package.json"
    locked = json.loads((JSONLD_DIR / "package-lock.json").read_text())["packages"]["node_modules/jsonld"]["version"]
    if not installed.exists() or json.loads(installed.read_text())["version"] != locked:
        npm = shutil.which("npm")
        assert npm, "npm (Node 20) is needed to install jsonld.js for this test"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JSONLD_DIR, check=True, timeout=600)
    assert json.loads(installed.read_text())["version"] == locked
    return JSONLD_DIR / "to_nquads.mjs"


def to_nquads(documents: list[object]) -> list[str]:
    """Each document's RDF as N-Quads, by jsonld.js in safe mode (a dropped property is an error)."""
    script = jsonld_js()
    done = subprocess.run(
        ["node", str(script)], input=json.dumps(documents).encode(), capture_output=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return json.loads(done.stdout)


@dataclass
class Answers:
    base: str  # the server's URL
    documents: dict[str, dict]  # path → its JSON-LD
    quads: dict[str, Dataset]  # path → what jsonld.js made of it
    graph: Graph  # the graph as /sparql serves it (every graph's triples)


def _dataset(nquads: str) -> Dataset:
    dataset = Dataset()
    dataset.parse(data=nquads, format="nquads")
    return dataset


def _default(dataset: Dataset) -> Graph:
    return dataset.graph(dataset.default_graph.identifier)


def _paths(base: str) -> list[str]:
    """Every GET route under /api in the server's OpenAPI document, with values for its path and query parameters."""
    get = lambda path: httpx.get(base + path, timeout=60).json()  # noqa: E731
    routes = sorted(p for p, ops in get("/openapi.json")["paths"].items() if p.startswith("/api/") and "get" in ops)
    materials = [m["id"] for m in get("/api/materials?per_page=100")["items"]]
    countries = [c["code"] for c in get("/api/countries")]
    organisations = [o["organisation"] for o in get("/api/organisations")]
    subcategories = [row["subcategory"] for row in get("/api/queries/categories")]
    material_iris = [ID + "material/" + m for m in materials]
    values = {
        "material": material_iris,
        "organisation": organisations[:12],
        "country": countries,
        "subcategory": subcategories,
    }
    paths: list[str] = []
    for route in routes:
        if route.startswith("/api/contributions"):
            continue  # an account's proposals (bearer token): private JSON, not part of the dataset's linked data
        if route == "/api/materials/{material_id}":
            paths += [f"/api/materials/{m}" for m in materials]
        elif route == "/api/countries/{code}":
            paths += [f"/api/countries/{c}" for c in countries]
        elif route == "/api/organisations/{organisation_id}":
            # /api/organisations/{id} serves the organisations under id/org/ (national platforms are at /id/platform/…)
            paths += [
                f"/api/organisations/{o.removeprefix(ID + 'org/')}" for o in organisations if o.startswith(ID + "org/")
            ]
        elif route == "/api/materials":
            paths += [
                "/api/materials",
                "/api/materials?per_page=7&page=2",
                "/api/materials?per_page=7&page=8",  # the last page
                "/api/materials?category=03&sort=-year",
                "/api/materials?country=AT",
                "/api/materials?q=energy",  # with relevance scores
                "/api/materials?year_from=2022&hashtag=Fragmentation",
            ]
        elif route == "/api/materials/facets":
            paths += ["/api/materials/facets", "/api/materials/facets?category=01", "/api/materials/facets?q=city"]
        elif route == "/api/explain":  # a kept entailment: the inverse of a card's appearanceOf
            paths.append(
                "/api/explain?"
                + urlencode(
                    {
                        "subject": ID + "material/greek-moc",
                        "predicate": CAP + "hasAppearance",
                        "object": ID + "appearance/greek-moc/4.1",
                    }
                )
            )
        elif route.startswith("/api/queries/"):
            name = route.removeprefix("/api/queries/")
            query = next(q for q in get("/api/queries") if q["name"] == name)
            required = [p["name"] for p in query["parameters"] if p["required"]]
            assert len(required) <= 1, f"{name}: take values for several parameters"
            if required:
                paths += [f"{route}?{required[0]}={quote(v, safe='')}" for v in values[required[0]]]
            else:
                paths.append(route)
        else:
            assert "{" not in route, f"no values for the parameters of {route}"
            paths.append(route)
    return paths + ["/api/queries"]


@pytest.fixture(scope="module")
def answers(built: Built) -> Iterator[Answers]:
    with running_server(built.settings.build_dir, query_workers="1", max_rows="1000000") as base:
        paths = _paths(base)
        with httpx.Client(base_url=base, timeout=60, headers={"Accept": "application/ld+json"}) as client:
            documents = {}
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (path, response.text[:500])
                assert response.headers["content-type"].startswith("application/ld+json")
                documents[path] = response.json()
            construct = client.get(
                "/sparql",
                # every graph, the justifications included (they are not in the default graph: /api/explain's are)
                params={"query": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"},
                headers={"Accept": "application/n-triples"},
            )
            assert construct.status_code == 200
        graph = Graph().parse(data=construct.text, format="nt")
        quads = dict(zip(documents, map(_dataset, to_nquads(list(documents.values()))), strict=True))
        yield Answers(base, documents, quads, graph)


def test_every_api_route_is_read(answers: Answers) -> None:
    routes = {path.split("?")[0] for path in answers.documents}
    assert {"/api/materials", "/api/materials/facets", "/api/categories", "/api/personas", "/api/queries"} <= routes
    assert len([r for r in routes if r.startswith("/api/materials/") and r != "/api/materials/facets"]) >= 50
    assert all(len(_default(dataset)) > 0 for dataset in answers.quads.values())


def _vocabulary() -> Graph:
    return Graph().parse(ROOT / "api" / "vocabulary.ttl")


def _defined(ontology: set[URIRef], api: set[URIRef], term: URIRef) -> bool:
    if term in ontology or term in api or term in HYDRA_TERMS:
        return True
    if str(term).startswith("http://schema.org/"):  # rdflib's schema.org is https; the project's http
        return URIRef("https://schema.org/" + str(term).removeprefix("http://schema.org/")) in SDO
    return any(str(term).startswith(str(ns._NS)) and term in ns for ns in STANDARD)


def test_a_every_predicate_and_type_is_defined(answers: Answers) -> None:
    ontology_graph = Graph()
    for path in sorted((ROOT / "ontology").rglob("*.ttl")):
        ontology_graph.parse(path)
    ontology = {s for s in ontology_graph.subjects(RDF.type, None) if isinstance(s, URIRef)}
    api = {s for s in _vocabulary().subjects(RDF.type, None) if isinstance(s, URIRef)}
    undefined = {
        (path, str(term))
        for path, dataset in answers.quads.items()
        for s, p, o in _default(dataset)
        for term in ([p, o] if p == RDF.type else [p])
        if not _defined(ontology, api, term)
    }
    assert not undefined, sorted(undefined)[:20]
    # and no term of the API's namespace is used that its vocabulary does not define
    used = {p for dataset in answers.quads.values() for p in _default(dataset).predicates()}
    assert {p for p in used if str(p).startswith(str(API))} <= api


def test_b_no_triple_in_a_named_graph(answers: Answers) -> None:
    named = {
        path: str(graph.identifier)
        for path, dataset in answers.quads.items()
        for graph in dataset.graphs()
        if graph.identifier != dataset.default_graph.identifier and len(graph)
    }
    assert not named


def _about_resources(answers: Answers) -> Iterator[tuple[str, tuple]]:
    """Triples whose subject is a resource of the graph (not one of the API's own URLs, not a blank node)."""
    subjects = set(answers.graph.subjects())
    for path, dataset in answers.quads.items():
        for triple in _default(dataset):
            s = triple[0]
            if isinstance(s, URIRef) and not str(s).startswith(answers.base):
                assert s in subjects, f"{path}: {s} is no resource of the graph"
                yield path, triple


def test_c_triples_about_resources_are_the_graphs(answers: Answers) -> None:
    checked, missing = 0, []
    for path, (s, p, o) in _about_resources(answers):
        if str(p).startswith(str(API)):
            continue
        checked += 1
        if (s, p, o) not in answers.graph:
            missing.append((path, s.n3(), p.n3(), o.n3()))
    assert checked > 5000
    assert not missing, missing[:10]


def test_c_literals_of_api_terms_are_the_graphs(answers: Answers) -> None:
    """Notations, labels and facet values an API term gives are literals of the graph: same datatype and tag."""
    in_graph = {o for o in answers.graph.objects() if isinstance(o, Literal)}
    checked, missing = 0, set()
    for path, dataset in answers.quads.items():
        if path == "/api/queries":  # the queries' own descriptions, not the graph's facts
            continue
        for _, p, o in _default(dataset):
            if (
                str(p).startswith(str(API))
                and isinstance(o, Literal)
                and o.datatype not in (XSD.integer, XSD.boolean)
                and p not in NOT_GRAPH_LITERALS
            ):
                checked += 1
                if o not in in_graph:
                    missing.add((path, p.n3(), o.n3()))
    assert checked > 1000
    assert not missing, sorted(missing)[:10]


def test_c_labels_keep_their_language_tags(answers: Answers) -> None:
    """A title is "…"@en in the graph and so in the JSON-LD; a release year an xsd:gYear; a country code typed."""
    material = URIRef(ID + "material/greek-moc")
    triples = _default(answers.quads["/api/materials/greek-moc"])
    titles = set(triples.objects(material, DCTERMS.title))
    assert titles and titles == set(answers.graph.objects(material, DCTERMS.title))
    assert all(t.language == "en" for t in titles)
    years = set(triples.objects(material, CAP.releaseYear))
    assert years and all(y.datatype == XSD.gYear for y in years)
    country = _default(answers.quads["/api/countries/AT"])
    codes = set(country.objects(None, SKOS.notation))
    assert codes == {Literal("AT", datatype=URIRef("http://publications.europa.eu/ontology/euvoc#ISO_3166_1_ALPHA_2"))}
    # a count never reads as a notation: /api/hashtags "subcategories": 4 is api:subcategoryCount 4
    hashtags = _default(answers.quads["/api/hashtags"])
    assert not set(hashtags.objects(None, SKOS.notation))
    assert all(o.datatype == XSD.integer for o in hashtags.objects(None, API.subcategoryCount))


def _count(answers: Answers, query: str) -> int:
    rows = httpx.get(answers.base + "/sparql", params={"query": query}, timeout=60).json()["results"]["bindings"]
    return int(rows[0]["n"]["value"])


def _total(answers: Answers, path: str) -> int:
    graph = _default(answers.quads[path])
    collections = list(graph.subjects(RDF.type, HYDRA.Collection))
    assert len(collections) == 1, path
    totals = list(graph.objects(collections[0], HYDRA.totalItems))
    assert len(totals) == 1 and totals[0].datatype == XSD.integer, path
    return int(totals[0])


def test_d_totals_count_the_members_and_what_the_graph_counts(answers: Answers) -> None:
    for path, dataset in answers.quads.items():
        graph = _default(dataset)
        for collection in graph.subjects(RDF.type, HYDRA.Collection):
            members = set(graph.objects(collection, HYDRA.member))
            if members and not set(graph.objects(collection, HYDRA.view)):  # a whole list: every member given
                assert _total(answers, path) == len(members), path
    prefix = "PREFIX cap: <https://w3id.org/capacities/lp/ontology#> PREFIX org: <http://www.w3.org/ns/org#> "
    counted = {
        "/api/materials": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a cap:LearningMaterial }",
        "/api/materials?per_page=7&page=2": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a cap:LearningMaterial }",
        "/api/materials?category=03&sort=-year": f"SELECT (COUNT(DISTINCT ?x) AS ?n) {{ ?x a cap:LearningMaterial ; "
        f"cap:listedUnderChallenge <{ID}challenge/03> }}",
        "/api/categories": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a cap:CoreChallenge }",
        "/api/hashtags": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a cap:Hashtag }",
        "/api/personas": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a cap:Persona }",
        "/api/cities": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a cap:City }",
        "/api/organisations": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a org:Organization ; "
        'skos:prefLabel ?l FILTER(LANG(?l) = "en") }',
    }
    skos = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    for path, query in counted.items():
        assert _total(answers, path) == _count(answers, prefix + skos + query), path
    assert _total(answers, "/api/categories") == 6  # the portfolio's six categories, 01 to 06 (docs/model.md)
    # the facets' collection: the filtered list, with its total
    facets = _default(answers.quads["/api/materials/facets?category=01"])
    (listing,) = facets.objects(None, API.collection)
    assert str(listing) == answers.base + "/api/materials?category=01"
    (total,) = facets.objects(listing, HYDRA.totalItems)
    in_01 = f"SELECT (COUNT(DISTINCT ?x) AS ?n) {{ ?x cap:listedUnderChallenge <{ID}challenge/01> }}"
    assert int(total) == _count(answers, prefix + in_01)


def test_d_pages_are_hydra_partial_collection_views(answers: Answers) -> None:
    graph = _default(answers.quads["/api/materials?per_page=7&page=2"])
    (view,) = graph.objects(None, HYDRA.view)
    assert (view, RDF.type, HYDRA.PartialCollectionView) in graph
    expected = {
        HYDRA.first: "page=1&per_page=7",
        HYDRA.previous: "page=1&per_page=7",
        HYDRA.next: "page=3&per_page=7",
        HYDRA.last: "page=8&per_page=7",  # 53 materials, 7 a page
    }
    for link, query in expected.items():
        assert set(graph.objects(view, link)) == {URIRef(f"{answers.base}/api/materials?{query}")}, link
    assert len(set(graph.objects(None, HYDRA.member))) == 7
    last = _default(answers.quads["/api/materials?per_page=7&page=8"])
    (view,) = last.objects(None, HYDRA.view)
    assert not set(last.objects(view, HYDRA.next)) and len(set(last.objects(None, HYDRA.member))) == 53 - 7 * 7


def test_d_facet_counts_are_the_graphs(answers: Answers) -> None:
    """Each release-year facet value counts the materials the graph gives that year."""
    facets = _default(answers.quads["/api/materials/facets"])
    years = {facet for facet in facets.objects(None, API.facet) if (facet, API.filter, Literal("year")) in facets}
    assert len(years) == 1
    values = list(facets.objects(years.pop(), API.facetValue))
    assert values
    for value in values:
        (year,) = facets.objects(value, API.value)
        (count,) = facets.objects(value, API["count"])
        assert year.datatype == XSD.gYear
        assert int(count) == len(set(answers.graph.subjects(CAP.releaseYear, year))), year


def test_e_rdflib_reads_the_same_triples(answers: Answers) -> None:
    different = []
    for path, document in answers.documents.items():
        read = Dataset()
        read.parse(data=json.dumps(document), format="json-ld")
        named = [g for g in read.graphs() if g.identifier != read.default_graph.identifier and len(g)]
        if named or not isomorphic(_default(read), _default(answers.quads[path])):
            different.append(path)
    assert not different, different[:10]


def test_no_named_query_falls_back_to_generic_rows(answers: Answers) -> None:
    """Every named query has a reading of its own (api.plumbing.jsonld.ROWS): none answers api:Row nodes."""
    generic = [path for path, dataset in answers.quads.items() if (None, RDF.type, API.Row) in _default(dataset)]
    assert not generic


def test_the_vocabulary_is_served_at_its_namespace_document(answers: Answers) -> None:
    vocabulary = _vocabulary()
    turtle = httpx.get(answers.base + "/api", headers={"Accept": "text/turtle"}, timeout=30)
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
    assert isomorphic(Graph().parse(data=turtle.text, format="turtle"), vocabulary)
    for accept in ("application/ld+json", "application/json"):
        answer = httpx.get(answers.base + "/api", headers={"Accept": accept}, timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(accept)
        (nquads,) = to_nquads([answer.json()])
        assert isomorphic(_default(_dataset(nquads)), vocabulary)
    page = httpx.get(answers.base + "/api", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "api:subcategoryCount" in page.text and 'lang="en"' in page.text
    # the page opens with the API's index: its entry points, linked where they take no path parameter
    for route in ("/api/materials", "/api/categories", "/api/hashtags", "/api/queries"):
        assert f'<a href="{route}"><code>{route}</code></a>' in page.text
    assert "<code>/api/materials/{material_id}</code>" in page.text  # a path parameter: shown, not linked
    assert 'href="/docs"' in page.text and 'href="/redoc"' in page.text
    # every term has a label and a comment, every property a range
    for term in set(vocabulary.subjects(RDF.type, RDF.Property)) | set(vocabulary.subjects(RDF.type, RDFS.Class)):
        assert vocabulary.value(term, RDFS.label) and vocabulary.value(term, RDFS.comment), term
    assert all(vocabulary.value(p, RDFS.range) for p in vocabulary.subjects(RDF.type, RDF.Property))
    refused = httpx.get(answers.base + "/api", headers={"Accept": "image/png"}, timeout=30)
    assert refused.status_code == 406 and "text/turtle" in refused.text
    unknown = httpx.get(answers.base + "/api?colour=red", timeout=30)
    assert unknown.status_code == 400 and "colour" in unknown.text


def test_blank_nodes_say_nothing_they_do_not_link(answers: Answers) -> None:
    """Needs, facets, parameters: blank nodes, each linked from a node of its answer (nothing floats free)."""
    for path, dataset in answers.quads.items():
        graph = _default(dataset)
        for node in {s for s in graph.subjects() if isinstance(s, BNode)}:
            assert (None, None, node) in graph or any(
                isinstance(o, URIRef) for _, _, o in graph.triples((node, None, None)) if o != RDF.type
            ), (path, node)
