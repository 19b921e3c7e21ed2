"""Full-text search over the learning materials: SQLite FTS5, in memory, built once per release.

One row per material, four columns: its title, its body (type labels, descriptions and key features of
every card), its hashtags, and its places and partners (the organisations, cities and countries its
cards name, and the countries it concerns, country groups read as their members). Words are stemmed
(Porter: "webinars" and "webinar" are one word) and accents dropped; every query word is also read as
a prefix ("bauh" finds "Bauhaus"), all of them must occur, and the answers are ranked by BM25 with the
title weighing most. A query word found nowhere is corrected to the nearest word of the index's own
vocabulary (rapidfuzz's Levenshtein distance, at most 1 edit for short words, 2 for longer ones):
"fundng" is read as "funding" when it finds nothing itself.

sqlite3 is the standard library's (FTS5 is compiled into CPython's SQLite on every platform we run).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

TOKENIZE = "porter unicode61 remove_diacritics 2"
COLUMNS = ("title", "body", "tags", "places")
WEIGHTS = (10.0, 1.0, 3.0, 3.0)  # BM25 column weights, in COLUMNS' order: the title weighs most
QUERY_WORD = re.compile(r"\w+", re.UNICODE)
VOCABULARY_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)  # words of three letters or more, no digits
OPEN, CLOSE = "\ue000", "\ue001"  # private-use characters marking a match in a snippet, before escaping
EMPHASIS = re.compile(r"\*+")  # the extraction's *italic* and **bold** marks: not searched, not shown in snippets
SNIPPET_WORDS = 28


def fold(text: str) -> str:
    """Casefolded, accents dropped: how names and words are compared ("Jyväskylä" → "jyvaskyla")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_words(text: str) -> list[str]:
    return QUERY_WORD.findall(text)


@dataclass
class Hits:
    """What a query found: score (higher is better) by document number, and the words actually searched."""

    scores: dict[int, int]
    words: list[str]
    did_you_mean: str | None = None  # the corrected query, when the query as typed found nothing


def _match(words: Sequence[str]) -> str:
    """The FTS5 query for words typed by someone: each a quoted string (no operator can be injected), found as a
    prefix of a word in the title, body or places, or as a whole hashtag ("webinar" is no #WebinarCollaboration:
    hashtags are one word each, and every material of a subcategory carries its hashtags)."""
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    return " AND ".join(f"({{title body places}} : {q}* OR tags : {q})" for q in quoted)


class FullText:
    """An FTS5 table of documents (title, body, tags, places), numbered from 0 in the order given."""

    def __init__(self, documents: Iterable[tuple[str, str, str, str]]) -> None:
        self._lock = threading.Lock()  # one connection; a query holds it for a few milliseconds
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute(
            f"CREATE VIRTUAL TABLE docs USING fts5({', '.join(COLUMNS)}, tokenize='{TOKENIZE}', prefix='2 3')"
        )
        distinct: set[str] = set()
        rows = []
        for number, document in enumerate(documents):
            cleaned = tuple(EMPHASIS.sub("", text).replace(OPEN, "").replace(CLOSE, "") for text in document)
            rows.append((number, *cleaned))
            distinct.update(cleaned)
        self.db.executemany(f"INSERT INTO docs(rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)", rows)
        self.db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        # the surface words of the texts, for corrections: counted once per distinct text (copies add nothing)
        counts: Counter[str] = Counter()
        for text in distinct:
            counts.update(VOCABULARY_WORD.findall(fold(text)))
        self.vocabulary = counts
        self._words = sorted(counts)

    def _rows(self, sql: str, parameters: Sequence[object]) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, parameters).fetchall()

    def _found(self, words: Sequence[str]) -> dict[int, int]:
        weights = ", ".join(str(w) for w in WEIGHTS)
        rows = self._rows(f"SELECT rowid, bm25(docs, {weights}) FROM docs WHERE docs MATCH ?", [_match(words)])
        return {number: round(-rank * 1000) for number, rank in rows}  # bm25 is negative: more negative, better

    def _occurs(self, word: str) -> bool:
        return bool(self._rows("SELECT 1 FROM docs WHERE docs MATCH ? LIMIT 1", [_match([word])]))

    def correction(self, word: str) -> str | None:
        """The nearest word of the vocabulary to a word found nowhere: fewest edits, then the most common."""
        folded = fold(word)
        if len(folded) < 3 or not folded.isalpha():
            return None
        most = 1 if len(folded) <= 4 else 2
        near = process.extract(folded, self._words, scorer=Levenshtein.distance, score_cutoff=most, limit=None)
        if not near:
            return None
        best, _, _ = min(near, key=lambda found: (found[1], -self.vocabulary[found[0]], found[0]))
        return str(best)

    def search(self, text: str) -> Hits:
        """The documents holding every word of `text` (each as a prefix), scored by BM25; if there are none and
        some word occurs nowhere, the documents for the query with such words corrected (and that query)."""
        words = query_words(text)
        if not words:
            return Hits({}, [])
        found = self._found(words)
        if found:
            return Hits(found, words)
        corrected = [word if self._occurs(word) else (self.correction(word) or word) for word in words]
        if corrected == words:
            return Hits({}, words)
        return Hits(self._found(corrected), corrected, did_you_mean=" ".join(corrected))

    def snippets(self, words: Sequence[str], numbers: Iterable[int]) -> dict[int, str]:
        """For each document, a passage of its body (else its places, tags, title) around the matched words:
        HTML, its text escaped and each match in <mark>."""
        numbers = list(numbers)
        if not words or not numbers:
            return {}
        parts = ", ".join(
            f"snippet(docs, {COLUMNS.index(column)}, '{OPEN}', '{CLOSE}', '…', {SNIPPET_WORDS})"
            for column in ("body", "places", "tags", "title")
        )
        marks = ", ".join("?" for _ in numbers)
        rows = self._rows(
            f"SELECT rowid, {parts} FROM docs WHERE docs MATCH ? AND rowid IN ({marks})", [_match(words), *numbers]
        )
        found = {}
        for number, *passages in rows:
            passage = next((p for p in passages if OPEN in p), passages[0])
            found[number] = escape(passage, quote=False).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
        return found
