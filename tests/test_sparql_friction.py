"""SPARQL without friction (issue 12): predeclared prefixes, errors in words at their line and column, the editor's
offline completions, and docs/model.md's per-class facts and example queries checked against the built graph.

Expected answers are read in data/sources/000_11870afa8f6afaf9.txt (line numbers given) or computed by hand from
the query texts (positions: 1-based lines, columns in characters). The prefix and error cases run on the embedded
store and on the external stores (an Oxigraph server; Virtuoso where installed) the build was published into.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from kg.namespaces import ProjectNamespaces
from tests.conftest import ASSERTED, ROOT, Built
from tests.server import running_server
from tests.stores import STORES, serving

SH = Namespace("http://www.w3.org/ns/shacl#")
PREFIXES = ProjectNamespaces().prefixes()
MODEL = ROOT / "docs" / "model.md"
# data/sources/000_11870afa8f6afaf9.txt, lines 101, 110, 119, 125, 134, 139: the six core challenges
CORE_CHALLENGES = {
    ("01", "Multi-level Governance and Alignment"),
    ("02", "Capacity Building and Skills"),
    ("03", "Financing and Funding"),
    ("04", "Engagement of Stakeholders and Co-Creation"),
    ("05", "Regulation and Legislation"),
    ("06", "Monitoring and Reporting"),
}


@pytest.fixture(scope="module", params=STORES)
def server(request: pytest.FixtureRequest, built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(request.param, built.settings.build_dir, tmp_path_factory.mktemp("store"), query_timeout="20") as base:
        yield base


@pytest.fixture(scope="module")
def embedded(built: Built) -> Iterator[str]:
    with running_server(built.settings.build_dir) as base:
        yield base


def select(server: str, query: str, **headers: str) -> httpx.Response:
    return httpx.post(
        server + "/sparql",
        data={"query": query},
        headers={"Accept": "application/sparql-results+json", **headers},
        timeout=60,
    )


def rows(response: httpx.Response) -> list[tuple[str, ...]]:
    assert response.status_code == 200, response.text
    body = response.json()
    names = body["head"]["vars"]
    return sorted(tuple(b[n]["value"] if n in b else "" for n in names) for b in body["results"]["bindings"])


# -- predeclared prefixes ------------------------------------------------------------------


CHALLENGES = "SELECT ?n ?label WHERE { ?c a cap:CoreChallenge ; skos:notation ?n ; skos:prefLabel ?label }"
DECLARED = (
    "PREFIX cap: <https://w3id.org/capacities/lp/ontology#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
)
# lines 1710 and 1751: subcategory 3.2 lists "Webinar: Mission Cities Climate City Contract's process"
MATERIALS_OF_32 = (
    "SELECT ?title WHERE { ?m a cap:LearningMaterial ; dcterms:title ?title ; cap:listedUnder/skos:notation ?n . "
    'FILTER(?n = "3.2") }'
)
MATERIALS_DECLARED = (
    "PREFIX cap: <https://w3id.org/capacities/lp/ontology#>\nPREFIX dcterms: <http://purl.org/dc/terms/>\n"
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
)


def test_a_query_without_prefix_declarations_answers_as_with_them(server: str) -> None:
    without = rows(select(server, CHALLENGES))
    assert without == rows(select(server, DECLARED + CHALLENGES))
    assert set(without) == CORE_CHALLENGES
    titles = rows(select(server, MATERIALS_OF_32))
    assert titles == rows(select(server, MATERIALS_DECLARED + MATERIALS_OF_32))
    assert ("Webinar: Mission Cities Climate City Contract's process",) in titles


def test_some_prefixes_declared_and_others_not(server: str) -> None:
    # cap: declared by the query, skos: predeclared
    mixed = "PREFIX cap: <https://w3id.org/capacities/lp/ontology#>\n" + CHALLENGES
    assert set(rows(select(server, mixed))) == CORE_CHALLENGES


def test_a_query_s_own_prefix_wins(server: str) -> None:
    # skos: bound to another namespace by the query: nothing has a label there
    own = "PREFIX skos: <http://example.org/not-skos#>\n" + CHALLENGES
    assert rows(select(server, own)) == []
    ask = "PREFIX cap: <http://example.org/other#>\nASK { ?c a cap:CoreChallenge }"
    response = httpx.post(server + "/sparql", data={"query": ask}, headers={"Accept": "application/json"}, timeout=60)
    assert response.status_code == 200 and response.json()["boolean"] is False


def test_predeclared_prefixes_in_construct_and_ask(server: str) -> None:
    ask = httpx.post(
        server + "/sparql",
        data={"query": 'ASK { ?c a cap:CoreChallenge ; skos:prefLabel "Financing and Funding"@en }'},  # line 119
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert ask.status_code == 200 and ask.json()["boolean"] is True
    construct = httpx.post(
        server + "/sparql",
        data={"query": "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c a cap:CoreChallenge ; skos:prefLabel ?l }"},
        headers={"Accept": "text/turtle"},
        timeout=60,
    )
    assert construct.status_code == 200, construct.text
    graph = Graph().parse(data=construct.text, format="turtle")
    assert {str(o) for o in graph.objects()} == {label for _, label in CORE_CHALLENGES}


# -- errors in words, at the client's line and column -----------------------------------------


ERRORS = [
    pytest.param(
        # line 3 is "  ?s foo:bar ?o }": foo: starts at column 6
        "SELECT *\nWHERE {\n  ?s foo:bar ?o }",
        "Unknown prefix 'foo:'",
        (3, 6),
        id="unknown-prefix",
    ),
    pytest.param(
        # the group opened at line 2, column 7 is never closed; the text ends after "." at line 3, column 13
        "SELECT *\nWHERE {\n  ?s ?p ?o . ",
        "Expected '}' to close the group '{' opened at line 2, column 7, found the end of the query",
        (3, 13),
        id="unclosed-brace",
    ),
    pytest.param(
        # FILTER( opened at line 2, column 18 is closed by the } at line 2, column 26
        "SELECT * WHERE {\n  ?s ?p ?o FILTER(?o > 1 }",
        "Expected ')' to close the '(' opened at line 2, column 18, found '}' at line 2, column 26",
        (2, 26),
        id="wrong-closing-bracket",
    ),
    pytest.param(
        # the second '.' of ".." at line 2, column 13
        "SELECT * WHERE {\n  ?s ?p ?o .. }",
        "Syntax error at line 2, column 13",
        (2, 13),
        id="bad-token",
    ),
    pytest.param(
        # LIMIT takes an integer: the x at line 2, column 7
        "SELECT * WHERE { ?s ?p ?o }\nLIMIT x",
        "Unexpected 'x'",
        (2, 7),
        id="limit-not-a-number",
    ),
    pytest.param(
        # FOO( at line 2, column 19
        "SELECT * WHERE {\n  ?s ?p ?o FILTER(FOO(?o)) }",
        "Unknown function FOO",
        (2, 19),
        id="unknown-builtin",
    ),
    pytest.param(
        # ex:shout( at line 3, column 19
        "PREFIX ex: <http://example.org/>\nSELECT * WHERE {\n  ?s ?p ?o FILTER(ex:shout(?o)) }",
        "Unknown function ex:shout",
        (3, 19),
        id="unknown-extension-function",
    ),
    pytest.param(
        # ?s at line 1, column 8 is neither grouped nor aggregated
        "SELECT ?s (COUNT(?o) AS ?n)\nWHERE { ?s ?p ?o }",
        "?s at line 1, column 8 is selected but neither grouped nor aggregated",
        (1, 8),
        id="aggregate-misuse",
    ),
    pytest.param(
        # ?l at line 1, column 17, inside LANG(), is not grouped
        "SELECT ?p (LANG(?l) AS ?lang) (COUNT(*) AS ?n)\nWHERE { ?s ?p ?l }\nGROUP BY ?p",
        "?l at line 1, column 17 is used in a SELECT expression but is neither grouped nor inside an aggregate",
        (1, 17),
        id="ungrouped-expression",
    ),
    pytest.param(
        # the string opened at line 2, column 9 never closes
        'SELECT * WHERE {\n  ?s ?p "abc }',
        'The string opened with " at line 2, column 9 is not closed',
        (2, 9),
        id="unclosed-string",
    ),
    pytest.param("   ", "The query is empty", (1, 1), id="empty"),
    pytest.param(
        # BIND at line 2, column 12 assigns ?o (column 22), which the triple pattern before it binds
        "SELECT * WHERE {\n  ?s ?p ?o BIND(1 AS ?o) }",
        "BIND at line 2, column 12 assigns ?o, which the group already binds before it",
        (2, 22),
        id="bind-to-a-bound-variable",
    ),
    pytest.param(
        # the inner group { ?s ?p ?o } binds ?o for the BIND at line 2, column 16 (?o at column 26)
        "SELECT * WHERE {\n  { ?s ?p ?o } BIND(1 AS ?o) }",
        "BIND at line 2, column 16 assigns ?o, which the group already binds before it",
        (2, 26),
        id="bind-to-a-variable-an-inner-group-binds",
    ),
]


@pytest.mark.parametrize(("query", "words", "position"), ERRORS)
def test_a_malformed_query_is_a_400_in_words_with_line_and_column(
    server: str, query: str, words: str, position: tuple[int, int]
) -> None:
    response = select(server, query, Accept="application/problem+json, application/sparql-results+json;q=0.9")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert words in body["detail"]
    assert (body["line"], body["column"]) == position
    assert f"line {position[0]}, column {position[1]}" in body["detail"]
    assert "expected one of" not in body["detail"] and "\\u{" not in body["detail"]


def test_positions_are_the_client_s_own_when_prefixes_were_added(server: str) -> None:
    # cap: and skos: are predeclared (so a line was put before the text); bogus: at line 2, column 5 is not
    query = "SELECT ?l WHERE { ?c a cap:CoreChallenge ;\n    bogus:label ?l ; skos:prefLabel ?x }"
    body = select(server, query).json()
    assert body["status"] == 400
    assert (body["line"], body["column"]) == (2, 5)
    assert "Unknown prefix 'bogus:' at line 2, column 5" in body["detail"]


def test_the_error_is_plain_text_when_the_client_prefers_it(server: str) -> None:
    response = httpx.post(
        server + "/sparql",
        data={"query": "SELECT * WHERE {\n  ?s foo:bar ?o }"},
        headers={"Accept": "text/plain, application/sparql-results+json;q=0.5"},
        timeout=60,
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "Unknown prefix 'foo:' at line 2, column 6" in response.text
    assert not response.text.lstrip().startswith("{")


def test_guard_refusals_carry_their_line_and_column(server: str) -> None:
    # INSERT at line 2, column 1
    body = select(server, "PREFIX ex: <http://example.org/>\nINSERT DATA { ex:a ex:b ex:c }").json()
    assert body["status"] == 403 and (body["line"], body["column"]) == (2, 1)
    assert "INSERT" in body["detail"] and "line 2, column 1" in body["detail"]
    # FROM at line 2, column 1 names a graph outside the dataset
    body = select(server, "SELECT *\nFROM <http://example.org/g>\nWHERE { ?s ?p ?o }").json()
    assert body["status"] == 403 and (body["line"], body["column"]) == (2, 1)


def test_from_may_use_a_predeclared_prefix(server: str) -> None:
    # id: is predeclared; the asserted graph is one of the dataset's (the escaped / is SPARQL's local-name escape)
    query = "SELECT (COUNT(*) AS ?n) FROM id:graph\\/asserted WHERE { ?c a cap:CoreChallenge }"
    assert rows(select(server, query)) == [("6",)]


# -- the service description lists the prefixes ------------------------------------------------


def test_the_service_description_declares_the_prefixes(server: str) -> None:
    response = httpx.get(server + "/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    declared = {
        str(graph.value(node, SH.prefix)): str(graph.value(node, SH.namespace))
        for node in graph.objects(None, SH.declare)
    }
    assert declared == PREFIXES
    for name in ("cap", "id", "schema", "skos", "dcterms", "rdfs", "rdf", "owl", "xsd", "org", "prov", "foaf"):
        assert name in declared
    namespace = next(graph.objects(None, SH.namespace))
    assert isinstance(namespace, Literal) and namespace.datatype == URIRef("http://www.w3.org/2001/XMLSchema#anyURI")


# -- the editor's completions -----------------------------------------------------------------


def test_the_completions_come_from_the_ontology_and_the_data(embedded: str, built: Built) -> None:
    response = httpx.get(embedded + "/sparql/completions.json", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    terms = response.json()
    assert terms["prefixes"] == PREFIXES
    classes = {term["name"]: term for term in terms["classes"]}
    properties = {term["name"]: term for term in terms["properties"]}
    # every class the ontology graph declares is offered, with its English label
    declared = built.select(
        "PREFIX owl: <http://www.w3.org/2002/07/owl#> SELECT ?c ?label WHERE { "
        "GRAPH <https://w3id.org/capacities/lp/id/graph/ontology> { ?c a owl:Class . "
        "OPTIONAL { ?c rdfs:label ?label FILTER(LANG(?label) = 'en') } } FILTER(STRSTARTS(STR(?c), STR(cap:))) }"
    )
    assert declared
    for row in declared:
        name = "cap:" + row["c"].split("#", 1)[1]
        assert name in classes, name
        assert classes[name]["label"] == row.get("label", "")
    assert {"cap:LearningMaterial", "cap:MaterialAppearance", "org:Organization", "schema:Country"} <= set(classes)
    # and the properties the data uses, though the ontology does not declare them (dcterms:title)
    assert {"cap:appearanceOf", "cap:listedUnder", "dcterms:title", "skos:prefLabel", "schema:name"} <= set(properties)
    again = httpx.get(
        embedded + "/sparql/completions.json", headers={"If-None-Match": response.headers["etag"]}, timeout=30
    )
    assert again.status_code == 304


def test_the_editor_page_loads_nothing_from_outside(embedded: str) -> None:
    page = httpx.get(embedded + "/editor", timeout=30).text
    script = httpx.get(embedded + "/static/editor.js", timeout=30).text
    code = "\n".join(line.split("//", 1)[0] for line in script.splitlines())  # what runs, comments left out
    loaded = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert loaded and all(url.startswith("/") or url.startswith("#") for url in loaded), loaded
    assert "/sparql/completions.json" in code
    for outside in ("prefix.cc", "lov.linkeddata.es", "http:", "https:", "cdn", "prefixCcApi"):
        assert outside not in code, outside


# -- docs/model.md, checked against the built graph --------------------------------------------


def model_section() -> str:
    return MODEL.read_text(encoding="utf-8").split("## Querying each class", 1)[1]


def model_examples() -> list[str]:
    return re.findall(r"```sparql\n(.*?)```", model_section(), re.DOTALL)


def model_table() -> list[tuple[str, str, str]]:
    """(class, label property, tag) of each row of the per-class table, as written."""
    found = []
    for line in model_section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and ":" in cells[0]:
            found.append((cells[0].strip("`"), cells[1], cells[2]))
    return found


def test_model_md_has_an_example_per_class_and_a_literal_matching_note() -> None:
    table, examples = model_table(), model_examples()
    assert len(table) >= 25 and len(examples) >= len(table)
    for name, _, _ in table:
        assert any(re.search(rf"\ba {re.escape(name)}\b", example) for example in examples) or (
            name == "cap:City" and any("cap:MissionCity" in example for example in examples)
        ), f"no example query for {name}"
    assert "Literal matching" in model_section() and "STR(" in model_section()


def test_model_md_has_a_row_for_every_class_of_ours_the_data_uses(built: Built) -> None:
    """Every cap: class with instances in the asserted graph is in the per-class table (cap:MissionCity is
    in cap:City's row: a subclass)."""
    used = built.column(
        "SELECT DISTINCT ?c WHERE { GRAPH <https://w3id.org/capacities/lp/id/graph/asserted> { ?x a ?c } "
        'FILTER(STRSTARTS(STR(?c), "https://w3id.org/capacities/lp/ontology#")) }',
        "c",
        union=False,
    )
    assert len(used) > 25
    rows = {name for name, _, _ in model_table()}
    missing = {"cap:" + iri.split("#")[1] for iri in used} - rows - {"cap:MissionCity"}
    assert not missing, f"docs/model.md has no row for {sorted(missing)}"


@pytest.mark.parametrize("example", model_examples(), ids=lambda q: q.split("WHERE")[1][:40].strip())
def test_every_example_query_of_model_md_returns_rows(embedded: str, example: str) -> None:
    assert len(rows(select(embedded, example))) >= 1, example


LABELS = ("rdfs:label", "skos:prefLabel", "schema:name", "dcterms:title")


@pytest.mark.parametrize(("name", "label", "tag"), model_table(), ids=lambda value: str(value)[:30])
def test_the_label_property_and_tag_model_md_states_are_the_data_s(
    built: Built, name: str, label: str, tag: str
) -> None:
    instances = built.column(f"SELECT ?x WHERE {{ GRAPH <{ASSERTED}> {{ ?x a {name} }} }}", "x")
    assert instances, name
    if label == "—":  # no label property at all
        for prop in LABELS:
            assert not built.ask(f"ASK {{ GRAPH <{ASSERTED}> {{ ?x a {name} ; {prop} ?l }} }}"), (name, prop)
        return
    prop = re.match(r"`([^`]+)`", label)
    assert prop, label
    by_instance = built.select(
        f"SELECT ?x (LANG(?l) AS ?lang) WHERE {{ ?x a {name} ; {prop.group(1)} ?l }}",
    )
    tags = {row["lang"] for row in by_instance}
    labelled = {row["x"] for row in by_instance}
    main = tag.split("(", 1)[0]  # what every instance has; the parenthesis qualifies it
    stated = set(re.findall(r"`@(\w+)`", main)) | ({""} if "none" in main else set())
    if "only" in tag:  # "(only the 3 written ones ...)": the others have no label
        assert labelled and tags == stated, f"{name}: the data's tags are {tags}, model.md says {stated}"
        return
    assert instances <= labelled, f"{name}: {len(instances - labelled)} instances without {prop.group(1)}"
    if "also" in tag:  # every instance has the main tag; some have more, in the languages listed
        main_tag = next(iter(stated))
        assert instances <= {row["x"] for row in by_instance if row["lang"] == main_tag}
        assert tags - {main_tag} <= set(re.findall(r"`@(\w+)`", tag))
    else:
        assert tags == stated, f"{name}: the data's tags are {tags}, model.md says {stated}"


# -- where the explanation is worked out ---------------------------------------------------------------------

MALFORMED = [
    "SELECT ?s WHERE { ?s ?p ?o ",
    'SELECT ?s WHERE { ?s ?p "unclosed }',
    "SELECT ?s WHERE { ?s nope:thing ?o }",
    "SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT * WHERE { " + "a." * 45_000 + " }",
]


def test_a_worker_explains_a_malformed_query_as_the_api_process_would(built: Built) -> None:
    """The explanation is worked out in a query worker (away from the event loop's interpreter lock), with the
    same words and position as kg.sparql.diagnose gives in this process."""
    import asyncio

    import pyoxigraph as ox

    from kg.engines.embedded import EmbeddedEngine
    from kg.engines.protocol import Explanation
    from kg.sparql.diagnose import explain

    prefixes = {"cap": "https://w3id.org/capacities/lp/ontology#"}
    problems = []
    for text in MALFORMED:
        try:
            ox.Store().query(text)
        except SyntaxError as exc:
            problems.append(str(exc))
    assert len(problems) == len(MALFORMED)  # each refused by Oxigraph, whose words the explanation starts from

    async def in_a_worker() -> list:
        engine = EmbeddedEngine(built.result.directory / "store", workers=1, timeout=30)
        await engine.start()
        try:
            return [
                await engine.explain(Explanation(text, problem, 0, tuple(prefixes.items())), timeout=30)
                for text, problem in zip(MALFORMED, problems, strict=True)
            ]
        finally:
            await engine.stop()

    here = [explain(text, problem, prefixes=prefixes) for text, problem in zip(MALFORMED, problems, strict=True)]
    assert asyncio.run(in_a_worker()) == here
    assert "to close the group '{' opened at line 1, column 17" in here[0].message


def test_without_a_worker_to_explain_the_parsers_words_are_the_answer() -> None:
    import asyncio
    from types import SimpleNamespace

    from api.routers.sparql import _explained
    from kg.errors import EngineUnavailable, QuerySyntaxError
    from kg.sparql.prefixes import Prefixed

    class NoWorkers:
        async def explain(self, *_: object, **__: object) -> None:
            raise EngineUnavailable("no query worker is running")

    runtime = SimpleNamespace(engine=NoWorkers(), settings=SimpleNamespace(query_timeout=1.0))
    parser_said = "error at 1:20: expected one of ..."
    error = asyncio.run(
        _explained(
            runtime, "SELECT ?s WHERE {", Prefixed("SELECT ?s WHERE {", 0, ()), QuerySyntaxError(parser_said), {}
        )
    )
    assert isinstance(error, QuerySyntaxError) and error.problem == parser_said and error.field == "query"
