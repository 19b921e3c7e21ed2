"""Linked data on the real server: every kind of IRI dereferences by content negotiation, the dataset
describes itself, dumps download with their checksums, and the pages are valid, accessible HTML."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser

import html5lib
import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Dataset, Graph, Namespace, URIRef

from tests.conftest import ASSERTED, INFERRED, ROOT, Built
from tests.stores import STORES, serving

BASE = "https://w3id.org/capacities/lp/"
CAP = BASE + "ontology#"
ONTOLOGY = BASE + "id/graph/ontology"
DATASET = URIRef(BASE + "id/dataset/lp-kg")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VOID = Namespace("http://rdfs.org/ns/void#")
SCHEMA = Namespace("http://schema.org/")
SKOS_EXACT_MATCH = "http://www.w3.org/2004/02/skos/core#exactMatch"
DCTERMS_SPATIAL = "http://purl.org/dc/terms/spatial"
FORMATS = [
    ("text/turtle", "turtle"),
    ("application/n-triples", "nt"),
    ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
]
# one IRI of every kind the project mints (paths under the base)
RESOURCES = [
    "id/material/greek-moc",
    "id/appearance/greek-moc/1.2",
    "id/challenge/01",
    "id/challenge/4.4",
    "id/hashtag/fragmentation",
    "id/org/ffg",
    "id/city/espoo",
    "id/platform/fi",
    "id/profile/2026/fi",
    "id/persona/maria",
    "id/glossary/ccc",
    "id/deep-dive/01",
    "id/lesson/01/1",
    "id/quote/1.1",
    "id/placeholder/2.5/1",
    "id/edition/2026",
    "id/collection/hashtag-index",
    "id/change/bmk-bmimi",
    "id/event/recorded/capacities-webinar-funding-and-financing-for-climate-neutral-cities",
]


@pytest.fixture(scope="module", params=STORES)
def server(request: pytest.FixtureRequest, built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(request.param, built.settings.build_dir, tmp_path_factory.mktemp("store")) as base:
        yield base


def get(server: str, path: str, accept: str | None = None, **params: str) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(f"{server}/{path}", headers=headers, params=params, timeout=30)


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize(("accept", "rdflib_format"), FORMATS, ids=[f for _, f in FORMATS])
def test_iri_dereferences_as_rdf(server: str, path: str, accept: str, rdflib_format: str) -> None:
    response = get(server, path, accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    assert "Accept" in response.headers["vary"]
    assert 'rel="alternate"' in response.headers["link"]
    graph = Graph().parse(data=response.content, format=rdflib_format)
    assert (URIRef(BASE + path), None, None) in graph


@pytest.mark.parametrize("path", RESOURCES)
def test_iri_dereferences_as_a_page(server: str, path: str) -> None:
    response = get(server, path, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert BASE + path in response.text


def test_format_override_and_unknown_iri(server: str) -> None:
    response = get(server, "id/challenge/01", "text/html", format="turtle")
    assert response.headers["content-type"].startswith("text/turtle")
    page = get(server, "id/material/no-such-material", "text/html")
    assert page.status_code == 404 and "Not found" in page.text and "Traceback" not in page.text
    machine = get(server, "id/material/no-such-material", "text/turtle")
    assert machine.status_code == 404 and machine.headers["content-type"].startswith("application/problem+json")


def test_material_page_shows_every_card(server: str) -> None:
    page = get(server, "id/material/innocities", "text/html").text
    for subcategory in ("2.3", "4.1", "4.2", "4.5"):  # lines 1299, 2043, 2170, 2395
        assert f"Problem statement {subcategory}" in page
    assert "Cities as platforms for innovation ecosystems" in page  # the 2.3 card's type label (line 1296)


def test_subcategory_page_marks_placeholders(server: str) -> None:
    page = get(server, "id/challenge/2.5", "text/html").text
    assert "No materials yet." in page  # lines 1486-1521: two placeholder cards, no material
    assert re.search(r"in progress</span>\s*2 cards are placeholders", page)


def test_ontology_documentation_and_turtle(server: str) -> None:
    page = get(server, "ontology", "text/html").text  # pyLODE's documentation, made at build time
    assert "learning material" in page.lower() and "listed under" in page
    assert "that the portfolio presents as learning material" in page  # its skos:definition in ontology/
    assert "<svg" in page and "cap:LearningMaterial" in page and "schema:LearningResource" in page  # the diagram
    graph = Graph().parse(data=get(server, "ontology", "text/turtle").content, format="turtle")
    assert (URIRef(BASE + "ontology#LearningMaterial"), None, None) in graph


def test_void_counts_what_the_served_dump_holds(server: str) -> None:
    """VoID's numbers against the served N-Quads dump, counted here with pyoxigraph (not by the build)."""
    void = Graph().parse(data=get(server, ".well-known/void", "text/turtle").content, format="turtle")
    (url,) = [str(u) for u in void.objects(None, DCAT.downloadURL) if str(u).endswith(".nq")]
    response = httpx.get(server + "/" + url[len(BASE) :], timeout=60)
    assert response.status_code == 200
    quads = list(ox.parse(response.content, format=ox.RdfFormat.N_QUADS))
    in_asserted = [q for q in quads if q.graph_name.value == ASSERTED]

    assert int(void.value(DATASET, VOID.triples)) == len(quads)
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    subsets = {
        str(void.value(graph, sd.name)): int(void.value(void.value(graph, sd.graph), VOID.triples))
        for graph in void.subjects(RDF.type, sd.NamedGraph)
    }
    assert subsets == Counter(q.graph_name.value for q in quads)

    # classes: the typed resources of the asserted graph
    members: dict[str, set[str]] = defaultdict(set)
    for quad in in_asserted:
        if quad.predicate.value == str(RDF.type):
            members[quad.object.value].add(str(quad.subject))
    partitions = {
        str(void.value(part, VOID["class"])): int(void.value(part, VOID.entities))
        for part in void.objects(DATASET, VOID.classPartition)
    }
    assert partitions == {cls: len(subjects) for cls, subjects in members.items()}
    assert partitions[CAP + "MaterialAppearance"] == 76  # the printed cards (as in test_build_e2e)
    assert int(void.value(DATASET, VOID.entities)) == len(set().union(*members.values()))

    # properties: triples per predicate over all graphs
    properties = {
        str(void.value(part, VOID.property)): int(void.value(part, VOID.triples))
        for part in void.objects(DATASET, VOID.propertyPartition)
    }
    assert properties == Counter(q.predicate.value for q in quads)
    assert int(void.value(DATASET, VOID.properties)) == len(properties)

    # link sets: asserted links into Wikidata and the EU country table
    for linkset, predicate, target in [
        ("wikidata", SKOS_EXACT_MATCH, "http://www.wikidata.org/entity/"),
        ("eu-countries", DCTERMS_SPATIAL, "http://publications.europa.eu/resource/authority/country/"),
    ]:
        links = [q for q in in_asserted if q.predicate.value == predicate and q.object.value.startswith(target)]
        node = URIRef(BASE + "id/dataset/lp-kg/linkset/" + linkset)
        assert str(void.value(node, VOID.linkPredicate)) == predicate
        assert int(void.value(node, VOID.triples)) == len(links) > 0


def test_void_lists_dumps_that_download_with_size_checksum_and_same_triples(server: str) -> None:
    void = Graph().parse(data=get(server, ".well-known/void", "text/turtle").content, format="turtle")
    # the dumps; the fifth distribution is the SPARQL endpoint (an access URL, no download)
    distributions = [d for d in void.objects(DATASET, DCAT.distribution) if void.value(d, DCAT.downloadURL)]
    assert len(distributions) == 4
    dumps = {}
    for distribution in distributions:
        url = str(void.value(distribution, DCAT.downloadURL))
        response = httpx.get(server + "/" + url[len(BASE) :], timeout=60)
        assert response.status_code == 200
        assert len(response.content) == int(void.value(distribution, DCAT.byteSize))
        checksum = void.value(distribution, SPDX.checksum)
        assert hashlib.sha256(response.content).hexdigest() == str(void.value(checksum, SPDX.checksumValue))
        dumps[url.rsplit(".", 1)[1]] = response.content
    assert set(dumps) == {"nq", "trig", "ttl", "jsonld"}
    # every dump holds what the N-Quads dump holds, read by another parser (pyoxigraph)
    quads = list(ox.parse(dumps["nq"], format=ox.RdfFormat.N_QUADS))
    per_graph = Counter(q.graph_name.value for q in quads)
    assert set(per_graph) == {ASSERTED, INFERRED, ONTOLOGY, BASE + "id/graph/justifications"}
    for suffix, rdflib_format in (("nq", "nquads"), ("trig", "trig"), ("jsonld", "json-ld")):
        dataset = Dataset()
        dataset.parse(data=dumps[suffix], format=rdflib_format)
        assert {str(g.identifier): len(g) for g in dataset.graphs() if len(g)} == per_graph, suffix
    # Turtle has no named graphs: it holds their union
    assert len(Graph().parse(data=dumps["ttl"], format="turtle")) == len({q.triple for q in quads})


class _Checks(HTMLParser):
    """Accessibility basics: lang, one h1, labelled inputs, alt text, link text, table headers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.lang = False
        self.h1 = 0
        self.labels: set[str] = set()
        self.inputs: list[str] = []
        self.open_links: list[str] = []
        self.link_text = ""
        self.tables = 0
        self.headers = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = bool(values.get("lang"))
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label" and values.get("for"):
            self.labels.add(values["for"] or "")
        elif tag == "input" and values.get("type") != "hidden":
            self.inputs.append(values.get("id") or "")
        elif tag == "img" and not values.get("alt"):
            self.problems.append("img without alt")
        elif tag == "a":
            self.open_links.append(values.get("href") or "")
            self.link_text = ""
        elif tag == "table":
            self.tables += 1
        elif tag == "th":
            self.headers += 1

    def handle_data(self, data: str) -> None:
        if self.open_links:
            self.link_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.open_links:
            href = self.open_links.pop()
            if not self.link_text.strip():
                self.problems.append(f"link without text: {href}")


PAGES = [
    "",
    "editor",
    "country/GR",
    "search",
    "search?q=energy&country=AT",
    "hashtags",
    "reused",
    "ontology",
    "id/material/greek-moc",
    "id/challenge/3.4",
    "id/org/bmimi",
    "id/persona/kemal",
    "id/nothing-here",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_valid_and_accessible(server: str, path: str) -> None:
    response = httpx.get(f"{server}/{path}", headers={"Accept": "text/html"}, timeout=30)
    html5lib.HTMLParser(strict=True).parse(response.text)  # raises on any parse error
    checks = _Checks()
    checks.feed(response.text)
    assert checks.lang and checks.h1 == 1
    assert all(identifier in checks.labels for identifier in checks.inputs), checks.inputs
    assert checks.tables == 0 or checks.headers > 0
    assert checks.problems == []


def test_search_page_facets_narrow_results(server: str) -> None:
    everything = get(server, "search", "text/html").text
    austria = get(server, "search", "text/html", country="AT").text
    assert austria.count('<li class="card"><a href="/id/material/') < everything.count(
        '<li class="card"><a href="/id/material/'
    )
    assert "Smart Cities Network Austria" in austria  # line 447: Austria, 2016
    assert "Innocities platform" not in austria


def test_home_lists_the_six_challenges(server: str) -> None:
    page = get(server, "", "text/html").text
    for notation in ("01", "02", "03", "04", "05", "06"):
        assert f'href="/id/challenge/{notation}"' in page
    assert 'href="/id/challenge/3.4"' in page and 'action="/search"' in page


EXAMPLES = sorted((ROOT / "kg" / "sparql" / "queries" / "examples").glob("*.rq"))


def test_there_are_a_dozen_examples() -> None:
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_editor_example_answers(server: str, path) -> None:  # noqa: ANN001
    response = httpx.post(server + "/sparql", data={"query": path.read_text(encoding="utf-8")}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"], f"{path.name} returned no rows"


def test_editor_page_bundles_its_scripts(server: str) -> None:
    page = get(server, "editor", "text/html").text
    html5lib.HTMLParser(strict=True).parse(page)
    sources = [part.split('"', 1)[0] for part in page.split('src="')[1:]]
    assert sources and all(src.startswith("/static/") for src in sources)
    for src in sources:
        assert httpx.get(server + src, timeout=30).status_code == 200
    assert "Which materials are reused across core challenges" in page


def test_country_page_lists_materials_profile_and_cities(server: str) -> None:
    page = get(server, "country/FI", "text/html").text
    html5lib.HTMLParser(strict=True).parse(page)
    assert "Innocities platform" in page and "Decarbonized Cities Finland" in page  # lines 1299, 1190
    assert "Ministry of Economic Affairs and Employment" in page  # facilitator, line 3241
    for city in ("Espoo", "Helsinki", "Lahti", "Lappeenranta", "Tampere", "Turku"):  # line 3244
        assert city in page
    assert get(server, "country/FIN", "text/html").status_code == 200
    assert get(server, "country/XX", "text/html").status_code == 404


def test_subcategory_page_shows_the_problem_statement(server: str) -> None:
    page = get(server, "id/challenge/1.1", "text/html").text
    assert "Lack of time and space to exchange" in page  # key challenge, line 398
    assert "We need more spaces for efficient and formal dialogue" in page  # interview quote, line 404
    assert "#Synergies" in page and "The French Mirror Group" in page  # hashtags line 389; card line 432
    assert "Collaborative Stakeholder Engagement" in page  # the card's own type label, line 429
    assert "A monthly <em>climate breakfast</em> for exchange" in page  # a key feature, line 425


def test_persona_page_lists_needs(server: str) -> None:
    page = get(server, "id/persona/kemal", "text/html").text
    assert "We need more good practice examples" in page  # line 336, printed in quotation marks
    assert "How can we learn from the challenges faced by others" in page  # line 340, not quoted
    assert 'href="/id/challenge/2.5"' in page  # curated in data/curation/personas.yaml: bottlenecks


def test_countries_page(server: str) -> None:
    page = get(server, "countries", "text/html").text
    html5lib.HTMLParser(strict=True).parse(page)
    assert 'href="/country/AT"' in page and "Austria" in page


@pytest.mark.parametrize(("media_type", "alias"), [("application/n-triples", "nt"), ("application/rdf+xml", "rdfxml")])
def test_void_in_another_format_is_the_same_bytes_every_time(server: str, media_type: str, alias: str) -> None:
    """Its blank nodes (checksums, class partitions) are labelled canonically, not afresh by each parse:
    asked by Accept and by ?format= (two URLs: the response cache cannot make them equal)."""
    by_header = httpx.get(server + "/.well-known/void", headers={"Accept": media_type})
    by_name = httpx.get(server + "/.well-known/void", params={"format": alias})
    assert by_header.status_code == by_name.status_code == 200, (by_header.text, by_name.text)
    assert by_header.headers["content-type"].startswith(media_type)
    assert by_header.content == by_name.content
    assert b"_:" in by_header.content or b"nodeID" in by_header.content  # it has blank nodes to label
