"""The dataset description is DCAT-AP 3.0.1, and every IRI the project mints or cites in its namespace
dereferences; the source texts are served at the provenance IRIs with the cited lines highlighted.

A real server over a real build. The DCAT-AP shapes are the official ones, read from
tests/conformance/dcat-ap-3.0.1 if the project carries a copy, else from ../shared/conformance/dcat-ap-3.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pyshacl import validate
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS

from tests.conftest import ROOT, Built
from tests.stores import serving

BASE = "https://w3id.org/capacities/lp/"
DATASET = URIRef(BASE + "id/dataset/lp-kg")
CATALOG = URIRef(BASE + "id/catalog")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SOURCES = ROOT / "data" / "sources"
PORTFOLIO = "000_11870afa8f6afaf9.txt"
SHAPES_DIR = next(
    (
        p
        for p in (ROOT / "tests/conformance/dcat-ap-3.0.1", ROOT.parent / "shared/conformance/dcat-ap-3.0.1")
        if p.is_dir()
    ),
    ROOT.parent / "shared/conformance/dcat-ap-3.0.1",
)
# the DCAT-AP 3.0.1 constraints a description must meet: the release's single-file shapes, and the
# mandatory and range shapes as published beside them (the README of the folder)
MANDATORY = ["dcat-ap-SHACL.ttl", "shapes.ttl", "range.ttl"]
AUTHORITY = "http://publications.europa.eu/resource/authority/"


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("store")) as base:
        yield base


@pytest.fixture(scope="module")
def void(server: str) -> Graph:
    response = httpx.get(server + "/.well-known/void", headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200
    return Graph().parse(data=response.content, format="turtle")


def shapes_graph(name: str) -> Graph:
    """One of the official shape files. dcat-ap-SHACL.ttl lists two property shapes of dcat:DataService that
    it never defines (no sh:path): pySHACL refuses such a shapes graph, so those two references are dropped."""
    shapes = Graph().parse(SHAPES_DIR / name, format="turtle")
    for node, shape in list(shapes.subject_objects(SH.property)):
        if (shape, SH.path, None) not in shapes:
            shapes.remove((node, SH.property, shape))
    return shapes


def findings(data: Graph, name: str) -> set[tuple[str, str, str, str]]:
    """(severity, kind of focus node, path, constraint) of every top-level result of one shape file."""
    _, report, _ = validate(data, shacl_graph=shapes_graph(name), inference="none", allow_warnings=True)
    out = set()
    for result in report.objects(None, SH.result):
        focus = report.value(result, SH.focusNode)
        out.add(
            (
                str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
                _kind(data, focus),
                str(report.value(result, SH.resultPath)),
                str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            )
        )
    return out


def _kind(data: Graph, node: Any) -> str:
    """A focus node named by what it is, so that the expected findings do not depend on the version."""
    if node == DATASET or node == CATALOG:
        return str(node)[len(BASE + "id/") :]
    if (node, RDF.type, DCAT.Distribution) in data:
        return "distribution"
    if (node, RDF.type, DCTERMS.Location) in data:
        return "country"
    if (node, RDF.type, FOAF.Agent) in data:
        return "publisher"
    if isinstance(node, BNode) and (node, RDF.type, URIRef("http://spdx.org/rdf/terms#Checksum")) in data:
        return "checksum"
    return str(node)


@pytest.mark.parametrize("name", MANDATORY)
def test_description_meets_the_mandatory_dcat_ap_shapes(void: Graph, name: str) -> None:
    violations = {f for f in findings(void, name) if f[0] == "Violation"}
    assert not violations, violations


def test_recommended_findings_are_exactly_those_the_shapes_readme_states(void: Graph) -> None:
    """shapes/README.md says why each remaining recommendation is not applicable: the sources state no
    licence (000 l.3454-3455 only reserve the rights to the graphics), no period of time, and no ADMS
    publisher type fits the consortium; the countries are the EU authority table's, whose geometry is
    not part of this dataset."""
    found = findings(void, "shapes_recommended.ttl")
    assert found == {
        ("Warning", "catalog", str(DCTERMS.license), "MinCountConstraintComponent"),
        ("Warning", "distribution", str(DCTERMS.license), "MinCountConstraintComponent"),
        ("Warning", "dataset/lp-kg", str(DCTERMS.temporal), "MinCountConstraintComponent"),
        ("Warning", "publisher", str(DCTERMS.type), "MinCountConstraintComponent"),
        ("Warning", "country", str(DCAT.bbox), "MinCountConstraintComponent"),
        ("Warning", "country", str(DCAT.centroid), "MinCountConstraintComponent"),
    }
    readme = (ROOT / "shapes" / "README.md").read_text(encoding="utf-8")
    for term in ("dct:license", "dct:temporal", "dct:type", "dcat:bbox", "dcat:centroid"):
        assert term in readme, f"shapes/README.md does not state why {term} is missing"


def test_controlled_vocabulary_findings_are_the_documented_ones(void: Graph) -> None:
    """The EU controlled-vocabulary shapes: the publisher is not an EU corporate body (a Warning), and the
    published pattern wants https://spdx.org/ for the checksum algorithm where the SPDX namespace and
    DCAT-AP 3.0.1 use http://spdx.org/rdf/terms# (stated in shapes/README.md)."""
    found = findings(void, "mdr-vocabularies.shape.ttl")
    assert found == {
        ("Warning", "catalog", str(DCTERMS.publisher), "NodeConstraintComponent"),
        ("Warning", "dataset/lp-kg", str(DCTERMS.publisher), "NodeConstraintComponent"),
        ("Warning", BASE + "id/dataset/lp-kg/service/sparql", str(DCTERMS.publisher), "NodeConstraintComponent"),
        ("Violation", "checksum", "http://spdx.org/rdf/terms#algorithm", "NodeConstraintComponent"),
    }


def test_publisher_contact_and_rights_are_what_the_sources_print(void: Graph) -> None:
    publisher = void.value(DATASET, DCTERMS.publisher)
    # 001 l.63: "AL-Green, acting as Albanian Missions HUB in the CapaCITIES Consortium"
    assert str(void.value(publisher, FOAF.name)) == "CapaCITIES Consortium"
    contact = void.value(DATASET, DCAT.contactPoint)
    # 000 l.3417-3419: "Send us your suggestions and inputs! capacities@dutpartnership.eu"
    assert void.value(contact, VCARD.hasEmail) == URIRef("mailto:capacities@dutpartnership.eu")
    assert (contact, RDF.type, VCARD.Kind) in void
    # no licence is invented; the rights statement quotes the disclaimer (000 l.17) and l.3454-3455
    assert not list(void.objects(None, DCTERMS.license))
    rights = str(void.value(void.value(DATASET, DCTERMS.rights), RDFS.label))
    assert "No licence is stated in the sources" in rights
    assert "The sole responsibility for the content of this document lies with the authors." in rights
    assert "Copyright graphics ©2022 Freepik Company S.L. All rights reserved." in rights


def test_keywords_themes_dates_and_countries(void: Graph) -> None:
    keywords = {str(k) for k in void.objects(DATASET, DCAT.keyword)}
    assert {"Coordination", "CapacityBuilding", "EUFunding"} <= keywords  # hashtags, 000 l.229-236
    assert all(isinstance(k, Literal) and k.language == "en" for k in void.objects(DATASET, DCAT.keyword))
    themes = set(void.objects(DATASET, DCAT.theme))
    assert themes == {URIRef(AUTHORITY + "data-theme/" + code) for code in ("ENVI", "GOVE", "REGI")}
    assert str(void.value(DATASET, DCTERMS.issued)) == "2026"  # 000 l.11: "2026 Learning Portfolio:"
    spatial = set(void.objects(DATASET, DCTERMS.spatial))
    # 000 l.174: the former 15 core countries (AT, CZ, FI, FR, EL, HU, IT, NL, PL, PT, RO, SE, SK, ES, TR)
    core = ("AUT", "CZE", "FIN", "FRA", "GRC", "HUN", "ITA", "NLD", "POL", "PRT", "ROU", "SWE", "SVK", "ESP", "TUR")
    assert {URIRef(AUTHORITY + "country/" + code) for code in core} <= spatial


def test_graphs_are_named_by_their_iri_and_linksets_have_both_targets(void: Graph) -> None:
    graphs = {BASE + "id/graph/" + name for name in ("asserted", "inferred", "ontology", "justifications")}
    named = {
        str(void.value(graph, SD.name)): void.value(graph, SD.graph) for graph in void.subjects(RDF.type, SD.NamedGraph)
    }
    assert set(named) == graphs
    assert all((DATASET, VOID.subset, part) in void for part in named.values())
    assert not list(void.objects(None, URIRef("http://schema.org/name")))  # no graph named by a string
    for slug, target in (("wikidata", "http://www.wikidata.org/entity/Q2013"), ("eu-countries", AUTHORITY + "country")):
        linkset = URIRef(BASE + "id/dataset/lp-kg/linkset/" + slug)
        assert void.value(linkset, VOID.subjectsTarget) == DATASET
        assert void.value(linkset, VOID.objectsTarget) == URIRef(target)
        assert (URIRef(target), RDF.type, VOID.Dataset) in void
    for distribution in void.objects(DATASET, DCAT.distribution):
        assert void.value(distribution, DCAT.accessURL) is not None


# --- every IRI in the namespace dereferences --------------------------------------------------------

SAMPLE = ["id/appearance/greek-moc/1.2", "id/challenge/01", "id/org/ffg", "id/persona/maria", "id/edition/2026"]


def _turtle(server: str, path: str) -> Graph:
    response = httpx.get(f"{server}/{path}", headers={"Accept": "text/turtle"}, timeout=60)
    assert response.status_code == 200, path
    return Graph().parse(data=response.content, format="turtle")


def _in_namespace(graph: Graph) -> set[str]:
    """Every IRI under the base that a graph names, as subject or object, without its fragment."""
    found = set()
    for s, _, o in graph:
        for term in (s, o):
            if isinstance(term, URIRef) and str(term).startswith(BASE):
                found.add(str(term).split("#", 1)[0])
            elif isinstance(term, Literal) and str(term).startswith(BASE + "id/source/"):
                found.add(str(term).split("#", 1)[0])  # provenance locators (xsd:anyURI)
    return found


def test_every_iri_in_the_namespace_dereferences(server: str, void: Graph) -> None:
    iris = _in_namespace(void) | _in_namespace(_turtle(server, "ontology")) | _in_namespace(_turtle(server, "shapes"))
    for path in SAMPLE:
        iris |= _in_namespace(_turtle(server, path))
    expected = {
        BASE + "id/catalog",
        BASE + "id/dataset/lp-kg",
        BASE + "id/graph/asserted",
        BASE + "id/graph/inferred",
        BASE + "id/graph/ontology",
        BASE + "id/dataset/lp-kg/graph/asserted",
        BASE + "id/dataset/lp-kg/linkset/wikidata",
        BASE + "id/dataset/lp-kg/linkset/eu-countries",
        BASE + "shapes",
        BASE + "ontology",
        BASE + "id/source/" + PORTFOLIO,
    }
    assert expected <= iris, expected - iris
    assert len([i for i in iris if "/id/dataset/lp-kg/" in i and re.search(r"/[0-9a-f]{16}/", i)]) == 4  # the dumps
    failures = []
    with httpx.Client(timeout=60) as client:
        for iri in sorted(iris):
            url = server + "/" + iri[len(BASE) :]
            for method in ("GET", "HEAD"):
                for accept in ("text/html", "text/turtle"):
                    response = client.request(method, url, headers={"Accept": accept}, follow_redirects=True)
                    if response.status_code != 200:
                        failures.append(f"{method} {iri} ({accept}): {response.status_code}")
    assert not failures, "\n".join(failures)


# --- source texts at the provenance IRIs ----------------------------------------------------------


def test_source_text_is_served_byte_for_byte(server: str) -> None:
    for path in sorted(SOURCES.glob("*.txt")):
        response = httpx.get(f"{server}/id/source/{path.name}", headers={"Accept": "text/plain"}, timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.content == path.read_bytes()


def test_provenance_links_to_the_cited_lines_highlighted(server: str) -> None:
    """The card of the Greek MoC in subcategory 1.2 was read from lines 560-572 of the portfolio (000 l.564:
    "Memorandum of Cooperation (MoC)	Greece	2022"): its page links there, and those lines are highlighted."""
    card = _turtle(server, "id/appearance/greek-moc/1.2")
    (locator,) = [
        str(o) for o in card.objects(URIRef(BASE + "id/appearance/greek-moc/1.2"), None) if "#line=" in str(o)
    ]
    assert locator == BASE + f"id/source/{PORTFOLIO}#line=559,572"  # RFC 5147: after line 559, up to 572
    page = httpx.get(f"{server}/id/appearance/greek-moc/1.2", headers={"Accept": "text/html"}, timeout=30).text
    link = f"/id/source/{PORTFOLIO}?lines=560-572#line-560"
    assert f'href="{link}"' in page
    source = httpx.get(server + link.split("#")[0], headers={"Accept": "text/html"}, timeout=30)
    assert source.status_code == 200
    cited = re.findall(r'<li id="line-(\d+)"[^>]*class="cited"[^>]*>.*?<span>(.*?)</span></li>', source.text)
    assert [int(n) for n, _ in cited] == list(range(560, 573))
    assert any(text.startswith("Memorandum of Cooperation (MoC)") for _, text in cited)
    assert 'id="line-1"' in source.text and 'id="line-3455"' in source.text  # every line an anchor
    assert '<script src="/static/source.js"' in source.text  # reads #line=a,b when the IRI is followed as is
    assert httpx.get(server + "/static/source.js", timeout=30).status_code == 200


@pytest.mark.parametrize("lines", ["abc", "0", "10-5", "999999"])
def test_a_bad_line_range_is_a_400_naming_the_parameter(server: str, lines: str) -> None:
    response = httpx.get(
        f"{server}/id/source/{PORTFOLIO}", params={"lines": lines}, headers={"Accept": "text/html"}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["field"] == "lines"


def test_unknown_source_text_is_a_404_and_nothing_else_of_the_release_is_served(server: str) -> None:
    for name in ("nope.txt", "void.ttl", "summary.json"):
        response = httpx.get(f"{server}/id/source/{name}", headers={"Accept": "text/plain"}, timeout=30)
        assert response.status_code == 404, name
    # a path out of the folder is no source text's name: it never reaches the file system
    response = httpx.get(f"{server}/id/source/..%2Fsummary.json", headers={"Accept": "text/plain"}, timeout=30)
    assert response.status_code in (404, 406) and '"version"' not in response.text


def test_shapes_by_content_negotiation(server: str) -> None:
    turtle = _turtle(server, "shapes")
    assert (None, RDF.type, SH.NodeShape) in turtle
    page = httpx.get(server + "/shapes", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    anchors = {str(s)[len(BASE + "shapes#") :] for s in turtle.subjects(RDF.type, SH.NodeShape) if "#" in str(s)}
    assert anchors and all(f'id="{a}"' in page.text for a in anchors)
    jsonld = httpx.get(server + "/shapes", headers={"Accept": "application/ld+json"}, timeout=30)
    assert len(Graph().parse(data=jsonld.content, format="json-ld")) == len(turtle)


def test_sparql_endpoint_sends_a_browser_to_the_editor_and_a_client_the_description(server: str) -> None:
    browser = httpx.get(server + "/sparql", headers={"Accept": "text/html,*/*;q=0.8"}, timeout=30)
    assert browser.status_code == 303 and browser.headers["location"] == "/editor"
    client = httpx.get(server + "/sparql", headers={"Accept": "*/*"}, timeout=30)
    assert client.status_code == 200 and client.headers["content-type"].startswith("text/turtle")
