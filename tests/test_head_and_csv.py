"""HEAD on every GET route (what link checkers and crawlers send), and blank nodes in CSV results (issue #12).

HEAD answers with the status and headers the GET would have (Content-Type, ETag, Content-Length of the
GET's body) and no body; CSV results write a blank node as `_:label`, as SPARQL 1.1's CSV format says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
import rdflib

from tests.conftest import Built
from tests.server import running_server

BROWSER = {"Accept": "text/html, */*;q=0.5", "Accept-Encoding": "identity"}  # lengths of the bodies as sent
ROUTES = [
    "/",
    "/api/materials?page=1",
    "/api/hashtags",
    "/api/queries/platform_profile?country=FI",
    "/sparql?query=ASK%20%7B%7D",
    "/id/material/greek-moc",
    "/ontology",
    "/.well-known/void",
    "/health",
    "/docs",
    "/static/site.css",
]


@pytest.fixture(scope="module")
def base(built: Built) -> Iterator[str]:
    with running_server(built.settings.build_dir) as url:
        yield url


@pytest.mark.parametrize("route", ROUTES)
def test_head_answers_as_get_without_the_body(base: str, route: str) -> None:
    # a browser is sent from /.well-known/void to the dataset's page (303): HEAD follows as GET does
    got = httpx.get(base + route, headers=BROWSER, timeout=30, follow_redirects=True)
    head = httpx.head(base + route, headers=BROWSER, timeout=30, follow_redirects=True)
    assert got.status_code == 200, (route, got.text[:200])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers.get("etag") == got.headers.get("etag")
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))


def test_head_on_a_dump_and_a_missing_page(base: str) -> None:
    void = httpx.get(base + "/.well-known/void", headers={"Accept": "text/turtle"}, timeout=30).text
    dump = next(word.strip("<>;") for word in void.split() if "/dumps/" in word and word.endswith(".nq>"))
    head = httpx.head(dump.replace("https://w3id.org/capacities/lp", base) if dump.startswith("http") else base + dump)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 100_000
    missing = httpx.head(base + "/id/material/no-such-material", timeout=30)
    assert missing.status_code == 404 and missing.content == b""


def test_head_is_not_a_way_round_a_refusal(base: str) -> None:
    """HEAD runs the GET: what GET refuses (an update, a foreign SERVICE), HEAD refuses alike."""
    refused = httpx.head(base + "/sparql", params={"query": "INSERT DATA { <a:s> <a:p> <a:o> }"}, timeout=30)
    assert refused.status_code == 403 and refused.content == b""
    posted_only = httpx.head(base + "/api/no-such-route", timeout=30)
    assert posted_only.status_code == 404


def test_csv_results_write_blank_nodes_with_their_prefix(base: str) -> None:
    query = 'SELECT ?b ?label WHERE { VALUES ?label { "a" "b" } BIND(BNODE(?label) AS ?b) }'  # the data has none
    answer = httpx.get(base + "/sparql", params={"query": query}, headers={"Accept": "text/csv"}, timeout=30)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 2
    for row in rows:
        assert row["b"].startswith("_:") and len(row["b"]) > 2
        assert row["label"] in {"a", "b"}
    tsv = httpx.get(base + "/sparql", params={"query": query}, headers={"Accept": "text/tab-separated-values"})
    assert all(line.split("\t")[0].startswith("_:") for line in tsv.text.splitlines()[1:])


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("return_format", ["xml", "rdf", "rdf+xml", "turtle", "n3", "json-ld", "json"])
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
def test_sparqlwrapper_gets_graphs_in_every_return_format_it_asks_for(
    base: str, form: str, return_format: str, method: str
) -> None:
    """SPARQLWrapper, with its defaults, sends format=, output= and results= with its return format; the
    endpoint reads format= as Fuseki and Virtuoso do (xml: RDF/XML, n3: Turtle, json: JSON-LD)."""
    from SPARQLWrapper import GET, POST, SPARQLWrapper

    text = {
        "CONSTRUCT": "CONSTRUCT { ?m <http://purl.org/dc/terms/title> ?t } WHERE { "
        "?m <http://purl.org/dc/terms/title> ?t } LIMIT 3",
        "DESCRIBE": "DESCRIBE <https://w3id.org/capacities/lp/id/material/greek-moc>",
    }[form]
    client = SPARQLWrapper(base + "/sparql")
    client.setQuery(text)
    client.setReturnFormat(return_format)
    client.setMethod(GET if method == "GET" else POST)
    response = client.query().response
    body = response.read()
    media = response.headers["Content-Type"].split(";")[0]
    expected = {"xml": "application/rdf+xml", "rdf": "application/rdf+xml", "rdf+xml": "application/rdf+xml"}.get(
        return_format, {"turtle": "text/turtle", "n3": "text/turtle"}.get(return_format, "application/ld+json")
    )
    assert media == expected
    formats = {"application/rdf+xml": "xml", "text/turtle": "turtle", "application/ld+json": "json-ld"}
    graph = rdflib.Graph().parse(data=body, format=formats[media])
    assert len(graph) >= 3
