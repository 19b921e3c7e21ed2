"""The real server on 127.0.0.1: SPARQL 1.1 protocol, REST resources, named queries, caching, hostile input.

Expected answers are facts read in data/sources/000_11870afa8f6afaf9.txt (line numbers given).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Dataset, Graph, Namespace
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

from kg.engines.embedded import EmbeddedEngine
from kg.engines.protocol import QueryJob
from kg.errors import KGError, QueryFailed
from tests.conftest import ASSERTED, Built
from tests.stores import STORES, serving

CAP = "https://w3id.org/capacities/lp/ontology#"
ID = "https://w3id.org/capacities/lp/id/"
TIMEOUT_S = 3


@pytest.fixture(scope="module", params=STORES)
def server(request: pytest.FixtureRequest, built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API on the embedded store, and on external stores the build was published into: same tests, same answers."""
    with serving(
        request.param,
        built.settings.build_dir,
        tmp_path_factory.mktemp("store"),
        query_timeout=TIMEOUT_S,
        max_rows=5000,
        max_body_bytes=1_000_000,
    ) as base:
        yield base


@dataclass
class Served:
    """Facts about the served dataset file, read from it with rdflib: not by the code under test."""

    triples: dict[str, int]  # named graph → triples
    version: str  # the content hash the release is named by
    materials_by_type_label: dict[str, set[str]]  # a card's type label → the materials with such a card


@pytest.fixture(scope="module")
def served(built: Built) -> Served:
    path = built.result.directory.resolve() / "dataset.nq"
    dataset = Dataset(default_union=True)
    dataset.parse(path, format="nquads")
    triples = {str(graph.identifier): len(graph) for graph in dataset.graphs() if len(graph)}
    # the version is a content hash: SHA-256 of the sorted N-Quads lines, its first 16 hex digits
    version = hashlib.sha256(b"\n".join(sorted(path.read_bytes().splitlines()))).hexdigest()[:16]
    cap = Namespace(CAP)
    materials = set(dataset.subjects(RDF.type, cap.LearningMaterial))
    by_label: dict[str, set[str]] = defaultdict(set)
    for card, material in dataset.subject_objects(cap.appearanceOf):
        if material in materials:
            for label in dataset.objects(card, cap.typeLabel):
                by_label[str(label)].add(str(material))
    return Served(triples, version, dict(by_label))


def network_namespaces_available() -> bool:
    """Whether this system gives a process a network namespace of its own (root or CAP_SYS_ADMIN).

    Asked of a throwaway child process through libc's unshare(CLONE_NEWNET), not through the code under test.
    """
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def get(server: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(server + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == status
    assert "Traceback" not in response.text and "/work/" not in response.text
    return body


# -- SPARQL protocol ------------------------------------------------------------------


def wrapper(server: str, query: str, fmt: str = JSON, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(server + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    client.setTimeout(30)
    return client


GREEK_MOC = f"""PREFIX cap: <{CAP}> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?n WHERE {{ ?c cap:appearanceOf <{ID}material/greek-moc> ;
                      cap:inProblemStatement/skos:notation ?n }} ORDER BY ?n"""


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_json(server: str, method: str) -> None:
    # lines 466, 564, 817, 1281, 2025 print the MoC card in 1.1, 1.2, 1.5, 2.3 and 4.1
    result = wrapper(server, GREEK_MOC, JSON, method).queryAndConvert()
    assert [b["n"]["value"] for b in result["results"]["bindings"]] == ["1.1", "1.2", "1.5", "2.3", "4.1"]


def test_select_xml_and_csv(server: str) -> None:
    document = wrapper(server, GREEK_MOC, XML).queryAndConvert()
    assert [n.firstChild.data for n in document.getElementsByTagName("literal")] == ["1.1", "1.2", "1.5", "2.3", "4.1"]
    csv_body = wrapper(server, GREEK_MOC, CSV).queryAndConvert().decode()
    assert csv_body.split() == ["n", "1.1", "1.2", "1.5", "2.3", "4.1"]


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_construct_formats(server: str, accept: str, rdflib_format: str) -> None:
    query = f"CONSTRUCT {{ ?s a <{CAP}CoreChallenge> }} WHERE {{ ?s a <{CAP}CoreChallenge> }}"
    response = httpx.post(server + "/sparql", data={"query": query}, headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    graph = Graph().parse(data=response.content, format=rdflib_format)
    assert len(graph) == 6  # categories 01-06


def test_direct_post_tsv_and_format_override(server: str) -> None:
    response = httpx.post(
        server + "/sparql",
        content=GREEK_MOC,
        timeout=30,
        headers={"Content-Type": "application/sparql-query", "Accept": "text/tab-separated-values"},
    )
    assert response.status_code == 200 and response.text.split("\n")[0] == "?n"
    overridden = get(server, "/sparql", params={"query": GREEK_MOC, "format": "csv"})
    assert overridden.headers["content-type"].startswith("text/csv")


def test_ask_and_turtle_via_sparqlwrapper(server: str) -> None:
    assert wrapper(server, f"ASK {{ <{ID}challenge/3.4> a <{CAP}ProblemStatement> }}").queryAndConvert()["boolean"]
    graph = wrapper(server, f"DESCRIBE <{ID}challenge/01>", TURTLE).queryAndConvert()
    assert b"Multi-level Governance and Alignment" in graph


def test_default_graph_union_and_asserted_only(server: str) -> None:
    query = f"ASK {{ ?m <{CAP}listedUnder> ?s }}"
    assert get(server, "/sparql", params={"query": query}).json()["boolean"] is True
    asserted_only = get(server, "/sparql", params={"query": query, "default-graph-uri": ASSERTED})
    assert asserted_only.json()["boolean"] is False


def test_service_description(server: str) -> None:
    response = get(server, "/sparql", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.text, format="turtle")
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert ASSERTED in {str(name) for name in graph.objects(None, sd.name)}
    assert (None, sd.endpoint, None) in graph
    assert (None, sd.supportedLanguage, sd.SPARQL11Query) in graph


def test_cors(server: str) -> None:
    response = get(server, "/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://portfolio.example"})
    assert response.headers["access-control-allow-origin"] == "*"


# -- hostile input --------------------------------------------------------------------


def test_malformed_sparql_is_400_with_position(server: str) -> None:
    body = assert_problem(get(server, "/sparql", params={"query": "SELECT * WHERE { ?s ?p "}), 400)
    assert body["line"] == 1 and "line 1, column" in body["detail"]  # the position in words and as fields


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": {"update": "INSERT DATA { <http://a> <http://b> <http://c> }"}},
        {
            "content": "INSERT DATA { <http://a> <http://b> <http://c> }",
            "headers": {"Content-Type": "application/sparql-update"},
        },
        {"data": {"query": "INSERT DATA { <http://a> <http://b> <http://c> }"}},
        {"data": {"update": "LOAD <file:///etc/passwd>"}},
        {"data": {"query": "LOAD <file:///etc/passwd>"}},
        {"data": {"query": "SELECT * FROM <http://example.org/remote.ttl> WHERE { ?s ?p ?o }"}},
    ],
    ids=["update-form", "update-direct", "update-as-query", "load-update", "load-as-query", "from-remote"],
)
def test_writes_and_remote_access_are_refused(server: str, request_kwargs: dict) -> None:
    assert_problem(httpx.post(server + "/sparql", timeout=30, **request_kwargs), 403)
    count = get(server, "/sparql", params={"query": "ASK { <http://a> ?p ?o }"}).json()
    assert count["boolean"] is False


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    connections: list[str] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, address = sock.accept()
                connections.append(str(address))
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1], connections
    stop.set()
    thread.join(timeout=2)
    sock.close()


def test_service_to_loopback_is_refused(server: str, listener: tuple[int, list[str]]) -> None:
    port, connections = listener
    query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    assert_problem(get(server, "/sparql", params={"query": query}), 403)
    silent = f"SELECT * WHERE {{ OPTIONAL {{ SERVICE SILENT <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }} }}"
    assert_problem(httpx.post(server + "/sparql", data={"query": silent}, timeout=30), 403)
    time.sleep(0.5)
    assert connections == []


def test_cartesian_product_is_stopped_by_the_time_budget(server: str) -> None:
    started = time.monotonic()
    # counted, not listed: the product streams through in constant memory, so it is the time budget that
    # stops it and never the memory limit (an ORDER BY would be a race between the two)
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    response = get(server, "/sparql", params={"query": query})
    elapsed = time.monotonic() - started
    embedded = get(server, "/health").json()["store"] == "embedded"
    assert_problem(response, 503 if embedded else 504)  # a worker stopped / a store that did not answer in time
    assert elapsed < TIMEOUT_S + 5
    assert response.headers.get("retry-after")
    assert wrapper(server, GREEK_MOC).queryAndConvert()["results"]["bindings"]


def test_row_budget_is_an_error_not_a_silent_truncation(server: str) -> None:
    body = assert_problem(get(server, "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}), 422)
    assert "more than 5000 rows" in body["detail"]


def test_catastrophic_regex_does_not_hang(server: str) -> None:
    query = 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "^(a+)+$")) }'
    started = time.monotonic()
    response = get(server, "/sparql", params={"query": query})
    assert time.monotonic() - started < TIMEOUT_S + 5
    assert response.status_code in (200, 503)


def test_oversized_body_is_413(server: str) -> None:
    body = "query=" + "A" * (20 * 1024 * 1024)
    response = httpx.post(
        server + "/sparql", content=body, timeout=60, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 413)


def test_oversized_chunked_body_is_413(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"query="
        for _ in range(40):
            yield b"A" * (512 * 1024)

    response = httpx.post(
        server + "/sparql", content=chunks(), timeout=60, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 413)
    assert get(server, "/health").status_code == 200


def test_unacceptable_accept_is_406(server: str) -> None:
    assert_problem(get(server, "/sparql", params={"query": "ASK {}"}, headers={"Accept": "image/png"}), 406)


def test_fifty_concurrent_clients_get_correct_answers(server: str) -> None:
    queries = [
        f"""PREFIX cap: <{CAP}> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
               SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c cap:inProblemStatement/skos:notation "{n}" }}"""
        for n in ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2", "2.3", "2.4")
    ]
    queries += [GREEK_MOC, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"]

    def ask(query: str) -> str:
        return httpx.post(server + "/sparql", data={"query": query}, timeout=60).text

    expected = {q: ask(q) for q in queries}
    jobs = [queries[i % len(queries)] for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(ask, jobs))
    assert answers == [expected[q] for q in jobs]
    assert get(server, "/health").json()["status"] == "ok"


# -- REST resources and named queries ------------------------------------------------------


def test_named_query_list_and_contract(server: str) -> None:
    listing = get(server, "/api/queries").json()
    names = {q["name"] for q in listing}
    assert {
        "materials_reused_across_categories",
        "materials_in_subcategory",
        "materials_in_country",
        "subcategories_without_materials",
        "hashtags_not_in_index",
        "index_hashtags_unused",
        "platform_profile",
    } <= names
    reused = {r["title"]: r for r in get(server, "/api/queries/materials_reused_across_categories").json()}
    moc = reused["Memorandum of Cooperation (MoC)"]
    assert moc["categories"] == ["01", "02", "04"] and moc["subcategories"] == ["1.1", "1.2", "1.5", "2.3", "4.1"]
    assert moc["material"] == ID + "material/greek-moc"


def test_materials_in_subcategory(server: str, portfolio_lines: list[str]) -> None:
    # 4.1 (lines 2022-2116): MoC, Innocities, Hague Climate Agreement, Eindhoven & Helmond, Climate equity
    rows = get(server, "/api/queries/materials_in_subcategory", params={"subcategory": "4.1"}).json()
    assert [r["type_label"] for r in rows] == [
        "Governance Initiative",
        "Collaborative Initiative & National Platform",
        "Local Climate Agreement",
        "Urban Sustainability Initiative",
        "Equity lense for climate planning frameworks",
    ]
    assert "Hague Climate Agreement\tNetherlands" in portfolio_lines[2059]


def test_materials_in_country_and_platform_profile(server: str) -> None:
    titles = {r["title"] for r in get(server, "/api/queries/materials_in_country", params={"country": "dk"}).json()}
    # Danish cards: DK2020 (lines 959, 1900), Climate equity (2105),
    # Monitoring Municipal Climate Action (2748); the NZC list (892)
    assert {
        "DK2020",
        "Assessment tool: Climate equity",
        "Monitoring Municipal Climate Action (former DK2020)",
    } <= titles
    profile = get(server, "/api/queries/platform_profile", params={"country": "GR"}).json()[0]
    # line 3270: Mission Cities Athens, Thessaloniki, Ioannina, Kalamata, Kozani, Trikala
    assert set(profile["cities"]) == {"Athens", "Thessaloniki", "Ioannina", "Kalamata", "Kozani", "Trikala"}


def test_gap_queries(server: str) -> None:
    empty = {r["notation"] for r in get(server, "/api/queries/subcategories_without_materials").json()}
    assert empty == {"2.5", "2.6", "5.1", "5.2"}  # only empty templates or nothing (lines 1486-1588, 2543-2596)
    missing = {r["label"] for r in get(server, "/api/queries/hashtags_not_in_index").json()}
    assert "#Resilience" in missing and "#Partnership" not in missing  # 1.1 prints both; the index lists #Partnership
    unused = {r["label"] for r in get(server, "/api/queries/index_hashtags_unused").json()}
    assert "#Adaptation" in unused  # index line 227; printed under no subcategory


def test_named_query_parameter_errors(server: str) -> None:
    assert_problem(get(server, "/api/queries/materials_in_subcategory"), 400)
    body = assert_problem(get(server, "/api/queries/materials_in_country", params={"country": "Austria"}), 400)
    assert body["field"] == "country"
    injection = get(server, "/api/queries/materials_in_country", params={"country": '"} } DROP ALL #'})
    assert_problem(injection, 400)
    assert_problem(get(server, "/api/queries/no_such_query"), 404)


def test_materials_filters_pagination_and_links(server: str) -> None:
    page = get(server, "/api/materials", params={"subcategory": "4.1", "per_page": 2})
    body = page.json()
    assert body["total"] == 5 and body["pages"] == 3 and len(body["items"]) == 2
    assert 'rel="next"' in page.headers["link"] and "page=2" in page.headers["link"]
    last = get(server, "/api/materials", params={"subcategory": "4.1", "per_page": 2, "page": 3})
    assert len(last.json()["items"]) == 1
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]
    finland = {
        i["title"] for i in get(server, "/api/materials", params={"country": "FI", "per_page": 100}).json()["items"]
    }
    assert {"Decarbonized Cities Finland", "Innocities platform"} <= finland  # lines 1190, 1299
    ranged = get(server, "/api/materials", params={"year_from": 2025, "year_to": 2026, "per_page": 100}).json()
    assert all(any(2025 <= y <= 2026 for y in item["years"]) for item in ranged["items"]) and ranged["total"] > 0


def test_free_text_search(server: str) -> None:
    result = get(server, "/api/materials", params={"q": "bauhaus"}).json()
    assert result["items"][0]["title"] == "The New European Bauhaus (NEB)"  # line 1234
    prefix = get(server, "/api/materials", params={"q": "bauh"}).json()
    assert prefix["total"] == result["total"]


def test_facets(server: str) -> None:
    facets = get(server, "/api/materials/facets", params={"category": "06"}).json()
    assert set(facets["facets"]["category"]) >= {"06"}
    assert facets["facets"]["category"]["06"] == facets["total"]


def test_material_with_cards_side_by_side(server: str) -> None:
    body = get(server, "/api/materials/innocities").json()
    assert [c["subcategory"] for c in body["cards"]] == ["2.3", "4.1", "4.2", "4.5"]
    assert {c["type_label"] for c in body["cards"]} == {
        "Cities as platforms for innovation ecosystems",
        "Collaborative Initiative & National Platform",
    }
    assert body["related"] and body["related"][0]["score"] >= body["related"][-1]["score"]
    assert_problem(get(server, "/api/materials/nothing-like-this"), 404)


def test_other_resources(server: str) -> None:
    categories = get(server, "/api/categories").json()
    assert [c["notation"] for c in categories] == ["01", "02", "03", "04", "05", "06"]
    assert [s["notation"] for s in categories[2]["subcategories"]] == ["3.1", "3.2", "3.3", "3.4"]
    tags = {t["label"]: t for t in get(server, "/api/hashtags").json()}
    assert tags["#Funding"]["in_index"] is False and tags["#Funding"]["subcategories"] == 4  # 3.1-3.4
    country = get(server, "/api/countries/fi").json()
    assert country["platform_profile"]["facilitators"] == ["Ministry of Economic Affairs and Employment"]  # line 3241
    organisation = get(server, "/api/organisations/ffg").json()
    assert organisation["platforms"] and organisation["materials"]
    cities = {c["name"]: c for c in get(server, "/api/cities").json()}
    assert cities["Espoo"]["mission_city"] is True and cities["Vaasa"]["mission_city"] is False
    personas = {p["name"]: p for p in get(server, "/api/personas").json()}
    assert len(personas["Maria"]["needs"]) == 5


def test_jsonld_etag_and_304(server: str) -> None:
    response = get(server, "/api/categories", headers={"Accept": "application/ld+json"})
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    assert "@context" in document and document["@type"] == "hydra:Collection" and len(document["member"]) == 6
    graph = Graph().parse(data=json.dumps(document), format="json-ld")
    hydra = Namespace("http://www.w3.org/ns/hydra/core#")
    assert len(set(graph.objects(None, hydra.member))) == 6  # categories 01 to 06 (tests/test_api_jsonld.py has more)
    plain = get(server, "/api/categories")
    etag = plain.headers["etag"]
    assert plain.headers["cache-control"].startswith("public")
    version = get(server, "/health").json()["version"]
    assert version in etag
    assert get(server, "/api/categories", headers={"If-None-Match": etag}).status_code == 304


def test_sparql_get_has_etag_and_304(server: str) -> None:
    first = get(server, "/sparql", params={"query": GREEK_MOC})
    assert first.headers["cache-control"].startswith("public")
    again = get(server, "/sparql", params={"query": GREEK_MOC}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    other = get(
        server,
        "/sparql",
        params={"query": GREEK_MOC},
        headers={"If-None-Match": first.headers["etag"], "Accept": "text/csv"},
    )
    assert other.status_code == 200


def test_health_and_ready(server: str, served: Served) -> None:
    health = get(server, "/health").json()
    assert health["triples"] == served.triples and health["version"] == served.version
    if health["store"] == "embedded":  # where the system allows it, each query worker is cut off the network
        assert health["workers_network_isolated"] is network_namespaces_available()
    else:  # the build was published into the store: it holds this very release
        assert health["store_release"] == served.version
    assert get(server, "/ready").status_code == 200
    assert get(server, "/docs").status_code == 200
    openapi = get(server, "/openapi.json").json()
    assert "/api/queries/materials_in_subcategory" in openapi["paths"]
    assert openapi["paths"]["/api/queries/materials_in_subcategory"]["get"]["parameters"][0]["name"] == "subcategory"


@pytest.mark.parametrize(
    "template",
    [
        "PREFIX : <http://127.0.0.1:{port}/> SELECT * WHERE {{ SERVICE :b {{ ?s ?p ?o }} }}",
        "PREFIX ex: <http://x/> SELECT * WHERE {{ BIND(ex:a\\# AS ?z) "
        "SERVICE <http://127.0.0.1:{port}/h> {{ ?s ?p ?o }} }}",
        "PREFIX ex: <http://x/> SELECT * WHERE {{ BIND(ex:a\\' AS ?z) "
        "SERVICE <http://127.0.0.1:{port}/q> {{ ?s ?p ?o }} }} # '",
        "SELECT * WHERE {{ \\u0053ERVICE <http://127.0.0.1:{port}/u> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ FILTER(1<2)SERVICE#>\n<http://127.0.0.1:{port}/lt> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ # x\rsErViCe SILENT <http://127.0.0.1:{port}/cr> {{ ?a ?b ?c }} }}",
        "PREFIX : <http://127.0.0.1:{port}/> SELECT * WHERE {{ SERVICE:x {{ }} }}",
        "SELECT * WHERE {{ ?a ?b 1e5SERVICE <http://127.0.0.1:{port}/e5> {{ ?a ?b ?c }} }}",
        "SELECT * WHERE {{ FILTER(1<2)#> "
        + "'" * 3
        + "\nSERVICE <http://127.0.0.1:{port}/long> {{ ?a ?b ?c }} }}\n#"
        + "'" * 3,
    ],
    ids=[
        "space-before-prefixed-name",
        "escaped-hash-in-name",
        "escaped-quote-in-name",
        "codepoint-escape",
        "less-than-read-as-iri",
        "carriage-return-ends-comment",
        "keyword-glued-to-name",
        "keyword-glued-to-number",
        "long-string-after-misread-iri",
    ],
)
def test_service_spellings_are_refused(server: str, listener: tuple[int, list[str]], template: str) -> None:
    port, connections = listener
    assert_problem(httpx.post(server + "/sparql", data={"query": template.format(port=port)}, timeout=30), 403)
    time.sleep(0.3)
    assert connections == []


def _wait_for(connections: list[str], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not connections and time.monotonic() < deadline:
        time.sleep(0.05)


def test_workers_cannot_reach_the_network(built: Built, listener: tuple[int, list[str]]) -> None:
    """Defence in depth: a SERVICE query given straight to the engine (no guard) connects nowhere."""
    port, connections = listener
    service = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"
    with pytest.raises(OSError):  # the control: outside a worker, pyoxigraph does connect (the listener hangs up)
        list(ox.Store().query(service))  # solutions are computed as they are read
    _wait_for(connections)
    assert connections, "pyoxigraph did not even try: this check would prove nothing"
    connections.clear()

    async def run() -> tuple[dict[str, object], KGError]:
        engine = EmbeddedEngine(built.result.directory / "dataset.nq", workers=1, timeout=10)
        await engine.start()
        try:
            with pytest.raises(KGError) as refused:
                await engine.run(QueryJob(service))
            return engine.status(), refused.value
        finally:
            await engine.stop()

    status, error = asyncio.run(run())
    if not network_namespaces_available():
        assert status["workers_network_isolated"] is False  # what /health reports
        pytest.skip(
            "this system refuses network namespaces (not root, no CAP_SYS_ADMIN): query workers keep the "
            "network, /health says workers_network_isolated: false, and the SPARQL guard alone keeps SERVICE out"
        )
    assert status["workers_network_isolated"] is True
    assert isinstance(error, QueryFailed), error  # the query ran and its HTTP request failed inside the worker
    time.sleep(0.3)
    assert connections == []


def test_from_clause_selects_the_graph(server: str, served: Served) -> None:
    query = f"SELECT (COUNT(*) AS ?n) FROM <{ASSERTED}> WHERE {{ ?s ?p ?o }}"
    rows = get(server, "/sparql", params={"query": query}).json()["results"]["bindings"]
    assert int(rows[0]["n"]["value"]) == served.triples[ASSERTED]


def test_query_form_is_not_fooled_by_prefix_names(server: str) -> None:
    construct = (
        f"PREFIX select: <http://example.org/> CONSTRUCT {{ ?s a select:X }} WHERE {{ ?s a <{CAP}CoreChallenge> }}"
    )
    response = httpx.post(server + "/sparql", data={"query": construct}, timeout=30)
    assert response.headers["content-type"].startswith("text/turtle")
    select = f"PREFIX construct: <http://example.org/> SELECT ?s WHERE {{ ?s a <{CAP}CoreChallenge> }}"
    response = httpx.post(server + "/sparql", data={"query": select}, timeout=30)
    assert response.headers["content-type"].startswith("application/sparql-results+json")


def test_cache_keys_cover_every_accept_header_and_the_host(server: str) -> None:
    path = server + "/api/materials?per_page=11"  # a URL no other test asks for: not cached yet
    both = httpx.Client(timeout=30).send(
        httpx.Request("GET", path, headers=[("Accept", "application/ld+json"), ("Accept", "application/json")])
    )
    assert both.headers["content-type"].startswith("application/ld+json")
    plain = httpx.get(path, headers={"Accept": "application/json"}, timeout=30)
    assert plain.headers["content-type"].startswith("application/json")
    httpx.get(server + "/api/materials?per_page=3&page=2", headers={"Host": "evil.example"}, timeout=30)
    honest = httpx.get(server + "/api/materials?per_page=3&page=2", timeout=30)
    assert "evil.example" not in honest.headers.get("link", "")


def test_conditional_requests_behave_the_same_cached_or_not(server: str) -> None:
    first = get(server, "/api/materials?per_page=9")
    assert get(server, "/api/materials?per_page=9", headers={"If-None-Match": "*"}).status_code == 304
    strong = first.headers["etag"].removeprefix("W/")
    assert get(server, "/api/materials?per_page=9", headers={"If-None-Match": strong}).status_code == 304


def test_accept_q_zero_excludes_a_type(server: str) -> None:
    response = get(server, "/api/hashtags", headers={"Accept": "application/json;q=0, */*"})
    assert response.headers["content-type"].startswith("application/ld+json")


def test_type_facet_and_type_filter_find_the_materials_of_each_type_label(server: str, served: Served) -> None:
    expected = served.materials_by_type_label  # counted in the dataset file with rdflib
    facets = get(server, "/api/materials/facets").json()["facets"]["type"]
    assert facets == {label: len(materials) for label, materials in expected.items()}
    for label in sorted(expected):
        # the filter matches a type label whatever its case
        same = set().union(*(m for other, m in expected.items() if other.casefold() == label.casefold()))
        body = get(server, "/api/materials", params={"type": label, "per_page": 100}).json()
        assert body["total"] == len(same), label
        assert {item["iri"] for item in body["items"]} == same, label


def test_cached_responses_keep_cors_headers(server: str) -> None:
    path = "/api/materials?per_page=13"
    assert "access-control-allow-origin" not in get(server, path).headers
    for _ in range(2):  # a miss, then a hit from the cache
        response = get(server, path, headers={"Origin": "https://portfolio.example"})
        assert response.headers["access-control-allow-origin"] == "*"


def test_deep_nesting_is_refused_before_any_parser_sees_it(server: str) -> None:
    """Oxigraph's parser overflows its stack at a few thousand nested brackets: refused, and the server lives."""
    query = "SELECT * WHERE { " + "{ " * 5000 + "} " * 5000 + "}"
    body = assert_problem(httpx.post(server + "/sparql", data={"query": query}, timeout=30), 403)
    assert "deep" in body["detail"]
    assert get(server, "/health").status_code == 200


def test_the_word_service_is_refused_with_a_way_round(server: str) -> None:
    body = assert_problem(
        get(
            server,
            "/sparql",
            params={
                "query": 'SELECT ?t WHERE { ?m <http://purl.org/dc/terms/title> ?t FILTER(CONTAINS(?t, "Service")) }'
            },
        ),
        403,
    )
    assert 'CONCAT("serv", "ice")' in body["detail"]
    rows = get(
        server,
        "/sparql",
        params={
            "query": f"SELECT ?t WHERE {{ ?card <{CAP}keyFeature> ?t "
            'FILTER(CONTAINS(LCASE(?t), CONCAT("serv", "ice"))) }'
        },
    ).json()
    assert rows["results"]["bindings"]  # the portfolio's key features say "Growth services", among others
