"""kg.engines.remote.answers: a store's SPARQL JSON read as the embedded store's answer would be."""

from __future__ import annotations

import json
import time

from kg.engines.protocol import QueryJob
from kg.engines.remote.answers import shaped

XSD = "http://www.w3.org/2001/XMLSchema#"


def _answer(*rows: dict) -> bytes:
    return json.dumps({"head": {"vars": ["x", "flag"]}, "results": {"bindings": list(rows)}}).encode()


def _bindings(body: bytes) -> list[dict]:
    return json.loads(body)["results"]["bindings"]


def test_virtuoso_booleans_1_and_0_become_true_and_false() -> None:
    body = _answer(
        {"flag": {"type": "literal", "datatype": XSD + "boolean", "value": "1"}},
        {"flag": {"type": "literal", "datatype": XSD + "boolean", "value": "0"}},
        {"flag": {"type": "literal", "datatype": XSD + "boolean", "value": "true"}},
        {"flag": {"value": "1", "type": "typed-literal", "datatype": XSD + "boolean"}},  # Virtuoso's order
    )
    outcome = shaped(body, "application/sparql-results+json", "SELECT", QueryJob("SELECT *"), time.perf_counter())
    assert [row["flag"]["value"] for row in _bindings(outcome.body)] == ["true", "false", "true", "true"]
    spaced = body.replace(b'"value": "0"', b'"value" :\n  "0"').replace(b"http://", b"http:\\/\\/")
    outcome = shaped(spaced, "application/sparql-results+json", "SELECT", QueryJob("SELECT *"), time.perf_counter())
    assert [row["flag"]["value"] for row in _bindings(outcome.body)] == ["true", "false", "true", "true"]


def test_an_answer_without_booleans_is_written_term_for_term() -> None:
    body = _answer(
        {"x": {"type": "uri", "value": "https://example.org/a"}, "flag": {"type": "literal", "value": "1"}},
        {"x": {"type": "literal", "value": "2", "datatype": XSD + "integer"}},
        {"x": {"type": "literal", "value": "Grüße", "xml:lang": "de"}},
        {"x": {"type": "bnode", "value": "b0"}},
    )
    outcome = shaped(body, "application/sparql-results+json", "SELECT", QueryJob("SELECT *"), time.perf_counter())
    rows = _bindings(outcome.body)
    assert rows[0]["x"] == {"type": "uri", "value": "https://example.org/a"}
    assert rows[0]["flag"] == {"type": "literal", "value": "1"}, "a plain literal 1 is not a boolean"
    assert rows[1]["x"] == {"type": "literal", "value": "2", "datatype": XSD + "integer"}
    assert rows[2]["x"] == {"type": "literal", "value": "Grüße", "xml:lang": "de"}
    assert rows[3]["x"]["type"] == "bnode" and "flag" not in rows[3]
    assert outcome.count == 4
