"""SPARQL clients with their defaults, every result format they ask for, and compressed answers (issue #12).

Each client is the real one, against a real server on 127.0.0.1: rdflib's SPARQLStore (GET and POST,
XML and JSON results), Comunica (npm, the 4.x line that runs on Node 20) and plain HTTP with the
parameters servers understand (`format=` as Virtuoso and SPARQLWrapper send it, `output=` as Fuseki
reads it). The answers are compared with the build's own store, queried directly.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore

from tests.conftest import ROOT, Built
from tests.server import running_server

MATERIAL = "https://w3id.org/capacities/lp/id/material/greek-moc"
TITLES = (
    "CONSTRUCT { ?m <http://purl.org/dc/terms/title> ?t } WHERE { ?m a "
    "<https://w3id.org/capacities/lp/ontology#LearningMaterial> ; <http://purl.org/dc/terms/title> ?t }"
)
CHALLENGES = (
    "SELECT ?notation ?label WHERE { ?c a <https://w3id.org/capacities/lp/ontology#CoreChallenge> ; "
    "<http://www.w3.org/2004/02/skos/core#notation> ?notation ; "
    "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label } ORDER BY ?notation"
)
CLIENTS = ROOT / "tests" / "clients"
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def base(built: Built) -> Iterator[str]:
    with running_server(built.settings.build_dir) as url:
        yield url


def _sparql(base: str, query: str, headers: dict[str, str] | None = None, **params: str) -> httpx.Response:
    return httpx.get(base + "/sparql", params={"query": query, **params}, headers={**IDENTITY, **(headers or {})})


def _titles(built: Built) -> rdflib.Graph:
    graph = rdflib.Graph()
    for triple in built.store.query(TITLES, use_default_graph_as_union=True):
        graph.parse(data=f"{triple.subject} {triple.predicate} {triple.object} .", format="nt")
    return graph


# --- result formats by parameter and by Accept --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value", "media_type", "rdflib_format"),
    [
        ("format", "nquads", "application/n-quads", "nquads"),
        ("output", "nq", "application/n-quads", "nquads"),
        ("format", "trig", "application/trig", "trig"),
        ("output", "application/trig", "application/trig", "trig"),
        ("format", "text", "text/plain", "nt"),
        ("output", "turtle", "text/turtle", "turtle"),
        ("output", "xml", "application/rdf+xml", "xml"),
        ("output", "json", "application/ld+json", "json-ld"),
    ],
)
def test_construct_in_every_format_asked_by_parameter(
    base: str, built: Built, parameter: str, value: str, media_type: str, rdflib_format: str
) -> None:
    answer = _sparql(base, TITLES, **{parameter: value})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] == media_type
    dataset = rdflib.Dataset()
    dataset.parse(data=answer.content, format=rdflib_format)
    graph = rdflib.Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    assert isomorphic(graph, _titles(built))


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/n-quads", "application/n-quads"),
        ("application/trig", "application/trig"),
        ("text/n3", "text/n3"),
        ("text/plain", "text/plain"),
        # a results format asked for a graph: the nearest RDF format, not a 406
        ("application/sparql-results+json", "application/ld+json"),
        ("application/sparql-results+xml", "application/rdf+xml"),
        ("text/csv", "text/turtle"),
    ],
)
def test_construct_by_accept_and_nearest_format(base: str, built: Built, accept: str, media_type: str) -> None:
    answer = _sparql(base, TITLES, {"Accept": accept})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] == media_type
    formats = {
        "application/n-quads": "nquads",
        "application/trig": "trig",
        "text/n3": "n3",
        "text/plain": "nt",
        "application/ld+json": "json-ld",
        "application/rdf+xml": "xml",
        "text/turtle": "turtle",
    }
    dataset = rdflib.Dataset()
    dataset.parse(data=answer.content, format=formats[media_type])
    graph = rdflib.Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    assert isomorphic(graph, _titles(built))


def test_select_and_ask_asked_for_a_graph_format_get_the_nearest_results_format(base: str) -> None:
    select = _sparql(base, CHALLENGES, {"Accept": "application/ld+json"})
    assert select.headers["content-type"].startswith("application/sparql-results+json")
    assert len(select.json()["results"]["bindings"]) == 6  # the six core challenges 01-06
    ask = _sparql(base, "ASK { ?s ?p ?o }", {"Accept": "text/turtle"})
    assert ask.status_code == 200 and ask.json()["boolean"] is True
    refused = _sparql(base, CHALLENGES, {"Accept": "image/png"})  # nothing we list: still a 406, in words
    assert refused.status_code == 406 and "image/png" in refused.text


def test_select_as_a_text_table(base: str, built: Built) -> None:
    answer = _sparql(base, CHALLENGES, output="text")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    lines = answer.text.splitlines()
    assert lines[1].split("|")[1].strip() == "?notation" and lines[1].split("|")[2].strip() == "?label"
    assert set(lines[2]) == {"="} and set(lines[0]) == set(lines[-1]) == {"-"}
    assert len({len(line) for line in lines}) == 1  # every line padded to one width
    rows = [line.split("|")[1:-1] for line in lines[3:-1]]
    expected = built.select(CHALLENGES)
    assert [cell.strip().strip('"').split('"')[0] for cell, _ in rows] == [row["notation"] for row in expected]
    ask = _sparql(base, "ASK { ?s ?p ?o }", output="text")
    assert ask.text == "true\n"


def test_a_text_table_over_the_byte_budget_is_refused_before_it_is_written(built: Built) -> None:
    """Padding makes every row as wide as the widest value: the table's size is checked, not the rows'."""
    long_value = "x" * 5000
    query = f'SELECT ?v WHERE {{ VALUES ?v {{ "{long_value}" {" ".join(f"{n}" for n in range(2000))} }} }}'
    with running_server(built.settings.build_dir, max_answer_bytes="1000000") as url:
        plain = _sparql(url, query, output="tsv")
        table = _sparql(url, query, output="text")
    assert plain.status_code == 200  # about 14 KB as TSV
    assert table.status_code == 422 and "budget" in table.text  # about 10 MB padded


def test_the_service_description_lists_the_new_formats(base: str) -> None:
    answer = httpx.get(base + "/sparql", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=answer.text, format="turtle")
    formats = {
        str(o)
        for o in graph.objects(None, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#resultFormat"))
    }
    assert {"http://www.w3.org/ns/formats/N-Quads", "http://www.w3.org/ns/formats/TriG"} <= formats


# --- compression -----------------------------------------------------------------------------------------------


def test_answers_are_gzipped_when_the_client_accepts_it(base: str) -> None:
    raw = {"Accept-Encoding": "gzip", "Accept": "text/turtle"}
    with httpx.Client() as client:
        request = client.build_request("GET", base + "/sparql", params={"query": TITLES}, headers=raw)
        packed = client.send(request, stream=True)
        wire = b"".join(packed.iter_raw())
    plain = _sparql(base, TITLES, {"Accept": "text/turtle"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed.headers["vary"].lower() and "accept" in packed.headers["vary"].lower()
    assert int(packed.headers["content-length"]) == len(wire) < len(plain.content) / 2
    assert gzip.decompress(wire) == plain.content
    assert "content-encoding" not in plain.headers
    assert packed.headers["etag"] == plain.headers["etag"]  # weak: one answer, two encodings
    head = httpx.head(base + "/sparql", params={"query": TITLES}, headers=raw)
    assert head.headers["content-length"] == packed.headers["content-length"] and head.content == b""


@pytest.mark.parametrize("accept_encoding", ["gzip;q=0", "br", "identity", "*;q=0"])
def test_no_gzip_unless_accepted(base: str, accept_encoding: str) -> None:
    with httpx.Client() as client:
        request = client.build_request("GET", base + "/api/hashtags", headers={"Accept-Encoding": accept_encoding})
        answer = client.send(request, stream=True)
        wire = b"".join(answer.iter_raw())
    assert answer.status_code == 200 and "content-encoding" not in answer.headers
    assert json.loads(wire)


def test_small_answers_and_dumps_are_sent_as_they_are(base: str) -> None:
    small = httpx.get(base + "/sparql", params={"query": "ASK {}"}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers and small.json()["boolean"] is True
    page = httpx.get(base + "/", headers={"Accept-Encoding": "gzip", "Accept": "text/html"})
    assert page.headers["content-encoding"] == "gzip" and "<html" in page.text  # httpx decompresses


# --- rdflib's SPARQLStore --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "return_format"), [("GET", "xml"), ("POST", "xml"), ("GET", "json"), ("POST", "json")]
)
def test_rdflib_sparqlstore(base: str, built: Built, method: str, return_format: str) -> None:
    store = SPARQLStore(base + "/sparql", method=method, returnFormat=return_format)
    graph = rdflib.Graph(store)
    rows = [(str(n), str(label)) for n, label in graph.query(CHALLENGES)]
    assert rows == [(row["notation"], row["label"]) for row in built.select(CHALLENGES)]
    assert graph.query("ASK { ?s ?p ?o }").askAnswer is True
    constructed = graph.query(TITLES).graph
    assert isomorphic(constructed, _titles(built))
    described = graph.query(f"DESCRIBE <{MATERIAL}>").graph
    assert (rdflib.URIRef(MATERIAL), rdflib.RDF.type, None) in described
    bound = graph.query(
        "SELECT ?label WHERE { ?c <http://www.w3.org/2004/02/skos/core#notation> ?n ; "
        "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label }",
        initBindings={"n": rdflib.Literal("01")},
    )
    expected = built.column('SELECT ?label WHERE { ?c skos:notation "01" ; skos:prefLabel ?label }', "label")
    assert {str(row[0]) for row in bound} == expected and expected
    # the triple-pattern interface SPARQLStore builds on
    assert {(str(p), str(o)) for _, p, o in graph.triples((rdflib.URIRef(MATERIAL), None, None))} == {
        (row["p"], row["o"]) for row in built.select(f"SELECT ?p ?o WHERE {{ <{MATERIAL}> ?p ?o }}")
    }


# --- Comunica --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def comunica() -> Path:
    """comunica-sparql from npm at the version tests/clients/package-lock.json pins (installed once)."""
    binary = CLIENTS / "node_modules" / ".bin" / "comunica-sparql"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the Comunica tests (Node.js 20 with npm is on every machine of this kind)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CLIENTS, check=True, timeout=600)
    return binary


def _comunica(binary: Path, base: str, query: str, media_type: str) -> str:
    done = subprocess.run(
        [str(binary), f"sparql@{base}/sparql", "-q", query, "-t", media_type],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_OPTIONS": "--no-warnings"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_comunica_select_ask_construct_describe(comunica: Path, base: str, built: Built) -> None:
    answer = json.loads(_comunica(comunica, base, CHALLENGES, "application/sparql-results+json"))
    rows = [(b["notation"]["value"], b["label"]["value"]) for b in answer["results"]["bindings"]]
    assert sorted(rows) == sorted((row["notation"], row["label"]) for row in built.select(CHALLENGES))
    ask = json.loads(
        _comunica(
            comunica,
            base,
            "ASK { ?s a <https://w3id.org/capacities/lp/ontology#Persona> }",
            "application/sparql-results+json",
        )
    )
    assert ask["boolean"] is True
    constructed = rdflib.Graph().parse(
        io.StringIO(_comunica(comunica, base, TITLES, "application/n-triples")), format="nt"
    )
    assert isomorphic(constructed, _titles(built))
    described = rdflib.Graph().parse(
        io.StringIO(_comunica(comunica, base, f"DESCRIBE <{MATERIAL}>", "application/n-triples")), format="nt"
    )
    assert (rdflib.URIRef(MATERIAL), rdflib.RDF.type, None) in described


# --- found by an attack on this work (review of issue #12) ------------------------------------------------------


def test_partial_answers_are_never_gzipped(base: str) -> None:
    """A range of a dump (206) goes as it is: a gzipped range with the file's ETag corrupts resumed downloads."""
    void = httpx.get(base + "/.well-known/void", headers={"Accept": "text/turtle"}).text
    dump = next(word.strip("<>;") for word in void.split() if "/dumps/" in word and word.endswith(".nq>"))
    path = dump[dump.index("/dumps/") :]
    with httpx.Client() as client:
        request = client.build_request("GET", base + path, headers={"Range": "bytes=0-5000", "Accept-Encoding": "gzip"})
        answer = client.send(request, stream=True)
        wire = b"".join(answer.iter_raw())
    assert answer.status_code == 206 and "content-encoding" not in answer.headers
    assert len(wire) == 5001 and answer.headers["content-range"].startswith("bytes 0-5000/")


def test_a_host_header_cannot_poison_the_compressed_answers(base: str) -> None:
    """A relative IRI resolves against the endpoint's URL, which (without KG_PUBLIC_BASE_URL) comes from Host:
    an answer made for one Host is never served, compressed or not, to a request with another."""
    padding = " ".join(f'"{n}"' for n in range(400))  # over the size worth compressing
    query = f'SELECT ?i ?k WHERE {{ BIND(IRI("x") AS ?i) VALUES ?k {{ {padding} }} }}'
    gzip_json = {"Accept-Encoding": "gzip", "Accept": "application/sparql-results+json"}
    forged = httpx.get(base + "/sparql", params={"query": query}, headers={**gzip_json, "Host": "evil.example:8"})
    assert forged.json()["results"]["bindings"][0]["i"]["value"] == "http://evil.example:8/x"
    honest = httpx.get(base + "/sparql", params={"query": query}, headers=gzip_json)
    assert honest.headers["content-encoding"] == "gzip"
    assert honest.json()["results"]["bindings"][0]["i"]["value"] == base + "/x"
    assert honest.headers["etag"] != forged.headers["etag"]


@pytest.mark.parametrize("accept", [",", ",,,", ";q=1"])
def test_an_accept_header_of_separators_is_no_accept_header(base: str, accept: str) -> None:
    description = httpx.get(base + "/sparql", headers={"Accept": accept})
    assert description.status_code == 200 and description.headers["content-type"].startswith("text/turtle")
    answer = httpx.get(base + "/sparql", params={"query": "ASK {}"}, headers={"Accept": accept})
    assert answer.status_code == 200 and answer.json()["boolean"] is True


def test_errors_say_they_vary_by_accept(base: str) -> None:
    as_json = httpx.get(base + "/sparql", params={"query": "SELECT ?s WHERE { ?s a foo:Bar }"})
    as_text = httpx.get(
        base + "/sparql", params={"query": "SELECT ?s WHERE { ?s a foo:Bar }"}, headers={"Accept": "text/plain"}
    )
    assert as_json.status_code == as_text.status_code == 400
    assert as_json.headers["content-type"].startswith("application/problem+json")
    assert as_text.headers["content-type"].startswith("text/plain")
    assert all("accept" in answer.headers["vary"].lower() for answer in (as_json, as_text))


def test_a_line_range_given_twice_is_refused(base: str) -> None:
    page = httpx.get(base + "/id/source/000_11870afa8f6afaf9.txt", params=[("lines", "1-2"), ("lines", "5")])
    assert page.status_code == 400 and page.json()["field"] == "lines"
