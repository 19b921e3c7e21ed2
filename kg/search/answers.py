"""Named-query answers kept in a release: computed once by its build, read by a server on a cache miss.

A release never changes, so neither does a named query's answer over it. The build runs every named
query without parameters, and each query whose parameter lists its values (`values_from` in its
header: the countries of `countries.code`) once for each of them, and keeps the rows in answers/, one
JSON file an answer. A server reads these (a few milliseconds at 100x the portfolio, where the whole-
graph aggregates behind /api/hashtags or /api/countries take 0.2-1.3 s) and asks its engine for the
others. Each file names the query text it answers: a server whose text differs (an edited .rq, another
base IRI) asks its engine instead, so a kept answer is never a stale one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import orjson

Bindings = Mapping[str, str]  # variable name → its bound term in N-Triples syntax ("FI" → '"FI"')
Rows = list[dict[str, object]]


def answer_path(name: str, bindings: Bindings) -> str:
    """The answer's file, relative to answers/: `<query>.json`, or `<query>/<digest of its bindings>.json`."""
    if not bindings:
        return f"{name}.json"
    canonical = json.dumps(sorted(bindings.items()), ensure_ascii=False)
    return f"{name}/{hashlib.sha256(canonical.encode()).hexdigest()[:24]}.json"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_answer(folder: Path, name: str, text: str, bindings: Bindings, rows: Rows) -> None:
    path = folder / answer_path(name, bindings)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {"query": name, "text_sha256": text_digest(text), "bindings": dict(sorted(bindings.items())), "rows": rows}
    path.write_text(json.dumps(kept, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


class KeptAnswers:
    """The answers a release's build kept (none for a release without answers/)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._digests: dict[str, str] = {}

    def rows(self, name: str, text: str, bindings: Bindings) -> Rows | None:
        """The kept rows of `name` bound to `bindings`, or None if the build kept no answer to this very text."""
        if self.folder is None:
            return None
        try:
            kept = orjson.loads((self.folder / answer_path(name, bindings)).read_bytes())
        except FileNotFoundError:
            return None
        digest = self._digests.get(text) or self._digests.setdefault(text, text_digest(text))
        if kept["text_sha256"] != digest or kept["bindings"] != dict(bindings):
            return None
        rows: Rows = kept["rows"]
        return rows
