"""Full-text search over the learning materials: SQLite FTS5, built once per release by the build.

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

import bisect
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

TOKENIZE = "porter unicode61 remove_diacritics 2"
COLUMNS = ("title", "body", "tags", "places")
WEIGHTS = (10.0, 1.0, 3.0, 3.0)  # BM25 column weights, in COLUMNS' order: the title weighs most
QUERY_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits: the tokenizer drops "_", so must we
MAX_QUERY_WORDS = 12  # the words of a query searched (and marked): bounds each request's work
VOCABULARY_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)  # words of three letters or more, no digits
OPEN, CLOSE = "\ue000", "\ue001"  # private-use characters marking a match in a snippet, before escaping
SNIPPET_CHARS = 220
_UNKNOWN = object()


def fold(text: str) -> str:
    """Casefolded, accents dropped: how names and words are compared ("Jyväskylä" → "jyvaskyla")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_words(text: str) -> list[str]:
    """The distinct words of a query, in order, at most MAX_QUERY_WORDS of them."""
    return list(dict.fromkeys(QUERY_WORD.findall(text)))[:MAX_QUERY_WORDS]


@dataclass
class Hits:
    """What a query found: score (higher is better) by document number, and the words actually searched."""

    scores: dict[int, int]
    words: list[str]
    did_you_mean: str | None = None  # the corrected query, when the query as typed found nothing


def _match(words: Sequence[str]) -> str:
    """The FTS5 query for words typed by someone: each a quoted string (no operator can be injected), found as a
    prefix of a word in the title, body or places (a one-letter word only as itself), or as a whole hashtag
    ("webinar" is no #WebinarCollaboration: every material of a subcategory carries its hashtags)."""
    quoted = [('"' + w.replace('"', '""') + '"', "*" if len(w) > 1 else "") for w in words]
    return " AND ".join(f"({{title body places}} : {q}{star} OR tags : {q})" for q, star in quoted)


def write_index(db: sqlite3.Connection, documents: Iterable[tuple[str, str, str, str]]) -> None:
    """Index documents (title, body, tags, places), numbered from 0 in the order given, into `db`: the FTS5 table
    `docs`, and `words`, the words of their texts as written with how often they occur (counted once per
    distinct text: copies add nothing), which corrections and snippets start from."""
    db.execute(f"CREATE VIRTUAL TABLE docs USING fts5({', '.join(COLUMNS)}, tokenize='{TOKENIZE}')")
    distinct: set[str] = set()
    rows: list[tuple[int, str, str, str, str]] = []
    for number, document in enumerate(documents):  # the *italic* and **bold** marks are not shown in snippets
        title, body, tags, places = (t.replace("*", "").replace(OPEN, "").replace(CLOSE, "") for t in document)
        cleaned = (title, body, tags, places)
        rows.append((number, *cleaned))
        distinct.update(cleaned)
    db.executemany(f"INSERT INTO docs(rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)", rows)
    db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    surfaces: Counter[str] = Counter()
    for text in sorted(distinct):
        surfaces.update(QUERY_WORD.findall(text))
    db.execute("CREATE TABLE words(surface TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO words VALUES (?, ?)", sorted(surfaces.items()))
    db.commit()


def open_index(path: Path) -> sqlite3.Connection:
    """A release's index, read-only: its file never changes once the release is sealed (and was checked)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)


class FullText:
    """Search over the FTS5 index of a database `write_index` wrote: a release's file, or one in memory."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._lock = threading.Lock()  # one connection; a query holds it for a few milliseconds
        self.db = db
        db.execute("PRAGMA temp_store = MEMORY")  # the stemming tables: no temporary file, no writable directory needed
        counts: Counter[str] = Counter()
        self._forms: dict[str, set[str]] = {}  # folded word → its forms as written
        for surface, count in db.execute("SELECT surface, count FROM words"):
            folded = fold(surface)
            self._forms.setdefault(folded, set()).add(surface)
            if VOCABULARY_WORD.fullmatch(folded):
                counts[folded] += count
        self.vocabulary = counts
        self._words = sorted(counts)
        stems = self._stem(self._forms)
        self._stem_by_word = stems
        self._stems = sorted((stem, word) for word, stem in stems.items())
        self._stem_keys = [stem for stem, _ in self._stems]
        self._patterns: dict[tuple[str, ...], re.Pattern[str] | None] = {}

    def close(self) -> None:
        """Close the database (a release's file: its descriptor, and its disk space once the release is pruned)."""
        with self._lock:
            self.db.close()

    @classmethod
    def in_memory(cls, documents: Iterable[tuple[str, str, str, str]]) -> FullText:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        write_index(db, documents)
        return cls(db)

    def _stem(self, words: Iterable[str]) -> dict[str, str]:
        """Each word's stem as the index's tokenizer makes it (read back from a scratch FTS5 table's vocabulary)."""
        words = list(words)
        with self._lock:  # in the connection's temporary schema: a release's index is read-only
            self.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.stems USING fts5(word, tokenize='{TOKENIZE}')")
            self.db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stems_vocabulary USING fts5vocab(temp, stems, 'instance')"
            )
            self.db.execute("DELETE FROM temp.stems")
            self.db.executemany("INSERT INTO temp.stems(rowid, word) VALUES (?, ?)", enumerate(words))
            found = self.db.execute("SELECT doc, term FROM temp.stems_vocabulary WHERE offset = 0").fetchall()
            self.db.execute("DELETE FROM temp.stems")
        return {words[number]: term for number, term in found}

    def _pattern(self, words: Sequence[str]) -> re.Pattern[str] | None:
        """The words of the texts a query's words find (their stems begin with the query words' stems)."""
        key = tuple(sorted({fold(word) for word in words}))
        known_pattern = self._patterns.get(key, _UNKNOWN)  # one look-up: another thread may clear the cache
        if known_pattern is not _UNKNOWN:
            return known_pattern  # type: ignore[return-value]
        known = {word: self._stem_of(word) for word in key}
        forms: set[str] = set()
        for word, stem in known.items():
            if len(word) == 1:  # a one-letter word is no prefix ("Q&A" would mark every word starting with a)
                forms |= self._forms.get(word, set())
                continue
            start = bisect.bisect_left(self._stem_keys, stem)
            for found, word in self._stems[start:]:
                if not found.startswith(stem):
                    break
                forms |= self._forms[word]
        pattern = (
            re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(forms, key=len, reverse=True))) + r")(?!\w)")
            if forms
            else None
        )
        if len(self._patterns) > 1000:
            self._patterns.clear()
        self._patterns[key] = pattern
        return pattern

    def _stem_of(self, word: str) -> str:
        return self._stem_by_word.get(word) or self._stem([word]).get(word, word)

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
        most = 1 if len(folded) <= 6 else 2  # two edits make another word of a short one ("covid" → "civil")
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
        found = self._found(corrected) if corrected != words else {}
        if not found:  # a correction that finds nothing is no answer: say nothing was found as typed
            return Hits({}, words)
        return Hits(found, corrected, did_you_mean=" ".join(corrected))

    def snippets(self, words: Sequence[str], numbers: Iterable[int]) -> dict[int, str]:
        """For each document, a passage of its body (else of its places, hashtags or title) around the first word
        the query finds: HTML, its text escaped and each such word in <mark>."""
        pattern = self._pattern(words) if words else None
        if pattern is None:
            return {}
        found = {}
        for number, title, body, tags, places in self._texts(numbers):
            for text in (body, places, tags, title):
                hit = pattern.search(text)
                if hit:
                    found[number] = _passage(text, hit.start(), pattern)
                    break
        return found

    def _texts(self, numbers: Iterable[int]) -> list[tuple[int, str, str, str, str]]:
        """The documents' texts as indexed, read from the index (a page of results asks for about twenty)."""
        wanted = list(numbers)
        found: dict[int, tuple[int, str, str, str, str]] = {}
        for start in range(0, len(wanted), 500):  # under SQLite's limit on a statement's parameters (999 before 3.32)
            part = wanted[start : start + 500]
            sql = f"SELECT rowid, {', '.join(COLUMNS)} FROM docs WHERE rowid IN ({', '.join('?' * len(part))})"
            found.update((row[0], row) for row in self._rows(sql, part))
        return [found[number] for number in wanted if number in found]


def _passage(text: str, at: int, pattern: re.Pattern[str]) -> str:
    """About SNIPPET_CHARS characters of text around position `at`, cut at spaces, escaped, matches marked."""
    start = max(0, at - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
    if start > 0:
        start = text.find(" ", start, at) + 1 or start
    if end < len(text):
        end = text.rfind(" ", at, end) if text.rfind(" ", at, end) > at else end
    passage = " ".join(text[start:end].split())
    marked = pattern.sub(lambda m: OPEN + m.group(0) + CLOSE, passage)
    html = escape(marked, quote=False).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
    return ("…" if start > 0 else "") + html + ("…" if end < len(text) else "")
