"""An independent runner for the W3C SPARQL 1.1 Protocol test manifest (design/security.md §3.3).

The manifest and its data (tests/conformance/w3c-sparql11-protocol/, from w3c/rdf-tests
sparql/sparql11/protocol at commit ad541a5f, under the W3C test-suite licence kept beside them)
describe each test as RDF: one or more ht:Requests, each with the response it expects. This
module reads them with rdflib and sends each request as raw HTTP/1.1 with http.client, so the
deliberately wrong requests (missing or wrong Content-Type, duplicate parameters, PUT, UTF-16
bodies) reach the server exactly as written: no client library fixes them up on the way.
"""

from __future__ import annotations

import http.client
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection

SUITE = Path(__file__).resolve().parent / "conformance" / "w3c-sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

# The names the manifest's ut:graphData labels give the data files (never dereferenced).
DATA_GRAPHS = {f"data{n}.nt": f"http://kasei.us/2009/09/sparql/data/data{n}.rdf" for n in (1, 2, 3)}

HOST = "www.example"  # ht:connectionAuthority of every test
MANIFEST_PREFIX = "/sparql/"  # every ht:absolutePath starts with it; the manifest says to replace it
ENDPOINT = "/sparql"

BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"application/rdf+xml": "xml", "text/turtle": "turtle", "application/n-triples": "nt"}
SPARQL_RESULTS_XML = "{http://www.w3.org/2005/sparql-results#}"


@dataclass(frozen=True)
class Expected:
    status_classes: frozenset[int]  # 2, 3 or 4, from hts:StatusCode2xx / 3xx / 4xx
    boolean: bool | None = None
    format: str | None = None  # "boolean", "tabular" or "RDF"


@dataclass(frozen=True)
class ProtocolRequest:
    method: str
    absolute_path: str
    headers: tuple[tuple[str, str], ...]
    chars: str | None
    encoding: str | None
    expected: Expected

    @property
    def path(self) -> str:
        """ht:absolutePath with its leading "/sparql/" replaced by our endpoint; the rest byte for byte."""
        if not self.absolute_path.startswith(MANIFEST_PREFIX):
            raise ValueError(f"ht:absolutePath {self.absolute_path!r} does not start with {MANIFEST_PREFIX!r}")
        return ENDPOINT + self.absolute_path[len(MANIFEST_PREFIX) :]

    @property
    def body(self) -> bytes | None:
        if self.chars is None:
            return None
        return self.chars.encode(self.encoding or "utf-8")


@dataclass(frozen=True)
class ProtocolTest:
    name: str  # local name, e.g. query_post_form
    title: str  # mf:name
    graph_data: tuple[tuple[str, str], ...]  # (file name, graph name)
    requests: tuple[ProtocolRequest, ...]

    @property
    def is_positive_update(self) -> bool:
        return self.name.startswith("update_")


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def media_type(self) -> str:
        value = next((v for k, v in self.headers if k.lower() == "content-type"), "")
        return value.split(";", 1)[0].strip().lower()


def _list(graph: Graph, head) -> list:
    return list(Collection(graph, head)) if head is not None else []


def local_name(iri: URIRef) -> str:
    return str(iri).rsplit("#", 1)[-1]


def manifest_graph(path: Path = MANIFEST) -> Graph:
    return Graph().parse(path, format="turtle")  # a trusted local file


def entry_iris(graph: Graph) -> list[URIRef]:
    """The mf:entries of the manifest, in order."""
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest, any=False)
    return _list(graph, graph.value(manifest, MF.entries))


def _expected(graph: Graph, response) -> Expected:
    classes = set()
    for code in graph.objects(response, MF.expectedStatus):
        match = re.search(r"StatusCode(\d)xx$", str(code))
        if not match:
            raise ValueError(f"unknown mf:expectedStatus {code}")
        classes.add(int(match.group(1)))
    boolean = graph.value(response, MF.expectedBoolean)
    fmt = graph.value(response, MF.expectedFormat)
    return Expected(
        frozenset(classes), None if boolean is None else bool(boolean.toPython()), None if fmt is None else str(fmt)
    )


def _request(graph: Graph, node) -> ProtocolRequest:
    headers = tuple(
        (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
        for h in _list(graph, graph.value(node, HT.headers))
    )
    body = graph.value(node, HT.body)
    chars = encoding = None
    if body is not None:
        chars = str(graph.value(body, CNT.chars))
        encoding = str(graph.value(body, CNT.characterEncoding) or "UTF-8")
    response = graph.value(node, HT.resp)
    if response is None:
        raise ValueError(f"request {node} has no ht:resp")
    return ProtocolRequest(
        str(graph.value(node, HT.methodName)),
        str(graph.value(node, HT.absolutePath)),
        headers,
        chars,
        encoding,
        _expected(graph, response),
    )


def load_manifest(path: Path = MANIFEST) -> list[ProtocolTest]:
    """Every mf:ProtocolTest of the manifest, in mf:entries order."""
    graph = manifest_graph(path)
    tests = []
    for iri in entry_iris(graph):
        if (iri, RDF.type, MF.ProtocolTest) not in graph:
            continue
        graph_data = []
        for data in graph.objects(iri, UT.graphData):
            file = Path(str(graph.value(data, UT.graph)).removeprefix("file://")).name
            graph_data.append((file, str(graph.value(data, RDFS.label))))
        action = graph.value(iri, MF.action)
        requests = tuple(_request(graph, node) for node in _list(graph, graph.value(action, HT.requests)))
        title = graph.value(iri, MF.name)
        tests.append(
            ProtocolTest(
                local_name(iri), str(title) if isinstance(title, Literal) else "", tuple(sorted(graph_data)), requests
            )
        )
    return tests


def dataset_quads(directory: Path = SUITE) -> str:
    """data1.nt..data3.nt as N-Quads in their named graphs."""
    lines = []
    for file, name in sorted(DATA_GRAPHS.items()):
        for line in (directory / file).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                if not line.endswith("."):
                    raise ValueError(f"{file}: not an N-Triples statement: {line!r}")
                lines.append(f"{line[:-1].rstrip()} <{name}> .")
    return "\n".join(lines) + "\n"


def send(port: int, request: ProtocolRequest, *, timeout: float = 30) -> Response:
    """The request as raw HTTP/1.1: method, path, the manifest's headers, Host and Content-Length."""
    body = request.body
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.putrequest(request.method, request.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", HOST)
        for name, value in request.headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        elif request.method in {"POST", "PUT", "PATCH"}:
            connection.putheader("Content-Length", "0")
        connection.endheaders(body)
        response = connection.getresponse()
        return Response(response.status, response.reason, tuple(response.getheaders()), response.read())
    finally:
        connection.close()


def parse_boolean(response: Response) -> bool:
    """The boolean of a SPARQL JSON or XML results document."""
    if response.media_type == "application/sparql-results+json":
        value = json.loads(response.body)["boolean"]
        if not isinstance(value, bool):
            raise ValueError(f"'boolean' is {value!r}, not a JSON boolean")
        return value
    if response.media_type == "application/sparql-results+xml":
        element = ET.fromstring(response.body).find(f"{SPARQL_RESULTS_XML}boolean")
        if element is None or (element.text or "").strip() not in {"true", "false"}:
            raise ValueError("no <boolean>true|false</boolean> in the XML results")
        return element.text.strip() == "true"
    raise ValueError(f"{response.media_type!r} is not a SPARQL JSON or XML results type")


def _check_tabular(response: Response) -> None:
    if response.media_type == "application/sparql-results+json":
        document = json.loads(response.body)
        if "head" not in document or "results" not in document:
            raise ValueError("SPARQL JSON results without head/results")
    elif response.media_type == "application/sparql-results+xml":
        if ET.fromstring(response.body).tag != f"{SPARQL_RESULTS_XML}sparql":
            raise ValueError("XML results whose root is not sparql")
    else:
        response.body.decode("utf-8")


def check(response: Response, expected: Expected) -> list[str]:
    """What is wrong with the response against the manifest's expectations (empty: it passes)."""
    problems = []
    status_class = response.status // 100
    if status_class not in expected.status_classes:
        wanted = " or ".join(f"{c}xx" for c in sorted(expected.status_classes))
        return [f"status {response.status}, expected {wanted}"]
    if status_class != 2 and (expected.format or expected.boolean is not None):
        return [f"status {response.status}: no result document to check (redirects are not followed)"]
    if expected.format == "boolean" or expected.boolean is not None:
        if response.media_type not in BOOLEAN_TYPES:
            problems.append(f"Content-Type {response.media_type!r} is not SPARQL JSON/XML results")
        else:
            try:
                value = parse_boolean(response)
            except (ValueError, KeyError, ET.ParseError) as exc:
                problems.append(f"unreadable boolean result: {exc}")
            else:
                if expected.boolean is not None and value is not expected.boolean:
                    problems.append(f"boolean {value}, expected {expected.boolean}")
    elif expected.format == "tabular":
        if response.media_type not in TABULAR_TYPES:
            problems.append(f"Content-Type {response.media_type!r} is not one of {sorted(TABULAR_TYPES)}")
        else:
            try:
                _check_tabular(response)
            except (ValueError, ET.ParseError, UnicodeDecodeError) as exc:
                problems.append(f"unreadable tabular result: {exc}")
    elif expected.format == "RDF":
        if response.media_type not in RDF_TYPES:
            problems.append(f"Content-Type {response.media_type!r} is not one of {sorted(RDF_TYPES)}")
        else:
            try:
                Graph().parse(data=response.body, format=RDF_TYPES[response.media_type])
            except Exception as exc:  # noqa: BLE001 - any parser error means the body is not what it says
                problems.append(f"body does not parse as {response.media_type}: {exc}")
    elif expected.format is not None:
        problems.append(f"unknown mf:expectedFormat {expected.format!r}")
    return problems


def describe(request: ProtocolRequest, response: Response | None = None, *, limit: int = 1200) -> str:
    """The exchange, for a failure message."""
    lines = [f"> {request.method} {request.path} HTTP/1.1", f"> Host: {HOST}"]
    lines += [f"> {name}: {value}" for name, value in request.headers]
    if request.body is not None:
        lines.append(f"> Content-Length: {len(request.body)}")
        lines.append(f"> [{request.encoding}] {request.chars!r}")
    if response is not None:
        lines.append(f"< {response.status} {response.reason}")
        lines += [f"< {name}: {value}" for name, value in response.headers]
        text = response.body.decode("utf-8", "replace")
        lines.append("< " + (text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"))
    return "\n".join(lines)
