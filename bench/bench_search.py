"""Search latency at 1x and 100x the portfolio: the FTS5 catalogue search, next to the old inverted index.

The catalogue's rows are what its three queries answer on the build (catalogue.json of build/current, or
the queries run on build/current/dataset.nq when that file is missing). The 100x rows are the rows those
queries answer on bench_api.py's 100x dataset: every material IRI suffixed -copyK for copy K >= 2 and
every literal shared (literals are not copied), so they are made from the 1x rows directly, without
loading 1.4 million quads. For each size it prints the time to build the catalogue (rows → FTS5
index), and p50/p95 of `Catalogue.query` (search, filters) plus sorting and the snippets of the first
page, per query; and the same for the inverted index the catalogue used before (prefix words, casefold,
no stemming), kept below for the comparison. Nothing is asserted.

    .venv/bin/python bench/bench_search.py [--sizes 1,100] [--runs 200] [--catalogue build/current/catalogue.json]
"""

from __future__ import annotations

import argparse
import bisect
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.search.catalogue import Catalogue, Filters  # noqa: E402

QUERIES = ["climate", "webinars", "fundng", "Greece", "Helsinki", "climate neutral cities", "bauh", "energy"]
WORD = re.compile(r"\w+", re.UNICODE)


def rows_1x(path: Path) -> dict[str, list[dict]]:
    if path.exists():
        document = orjson.loads(path.read_bytes())
        return {name: document[name] for name in ("materials", "countries", "hashtags")}
    import pyoxigraph as ox

    from kg.pipeline import catalogue_rows
    from kg.sparql.registry import QueryRegistry

    store = ox.Store()
    store.bulk_load(path=str(ROOT / "build" / "current" / "dataset.nq"), format=ox.RdfFormat.N_QUADS)
    return catalogue_rows(store, QueryRegistry.load())


def copies(rows: dict[str, list[dict]], n: int) -> dict[str, list[dict]]:
    """The rows of n copies of the portfolio, as bench_api.py makes them: IRIs suffixed -copyK, literals shared."""

    def copy(row: dict, k: int) -> dict:
        if k == 1:
            return row
        return {
            key: f"{value}-copy{k}" if key in ("material", "card") and isinstance(value, str) else value
            for key, value in row.items()
        }

    return {name: [copy(row, k) for k in range(1, n + 1) for row in found] for name, found in rows.items()}


class OldIndex:
    """The inverted index kg.search.catalogue used before FTS5: title words weigh 5, body words 1."""

    def __init__(self, cards: list[dict]) -> None:
        texts: dict[str, tuple[str, list[str]]] = {}
        for row in cards:
            title, body = texts.setdefault(row["material"], (row["title"], []))
            body += [row.get("type_label") or "", row.get("description") or "", str(row.get("features") or "")]
        postings: dict[str, dict[str, int]] = defaultdict(dict)
        for iri, (title, body) in texts.items():
            weights = Counter(self.words(" ".join(body)))
            for word in self.words(title):
                weights[word] += 5
            for word, weight in weights.items():
                postings[word][iri] = weight
        self.postings = dict(postings)
        self.vocabulary = sorted(self.postings)

    @staticmethod
    def words(text: str) -> list[str]:
        return list(map(str.casefold, WORD.findall(text)))

    def search(self, text: str) -> dict[str, int]:
        scores: dict[str, int] | None = None
        for term in self.words(text):
            found: dict[str, int] = defaultdict(int)
            for word in self.vocabulary[bisect.bisect_left(self.vocabulary, term) :]:
                if not word.startswith(term):
                    break
                for iri, weight in self.postings[word].items():
                    found[iri] += weight
            scores = dict(found) if scores is None else {i: s + found[i] for i, s in scores.items() if i in found}
        return scores or {}


def timed(function: object, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--catalogue", type=Path, default=ROOT / "build" / "current" / "catalogue.json")
    args = parser.parse_args()
    base = rows_1x(args.catalogue)
    for size in (int(s) for s in args.sizes.split(",")):
        rows = copies(base, size)
        started = time.perf_counter()
        catalogue = Catalogue.from_rows(rows["materials"], rows["countries"], rows["hashtags"])
        built = time.perf_counter() - started
        started = time.perf_counter()
        old = OldIndex(rows["materials"])
        old_built = time.perf_counter() - started
        print(f"\n{size}x: {len(catalogue.materials)} materials; catalogue with FTS5 built in {built:.2f} s")
        print(f"(old inverted index built in {old_built:.2f} s)")
        print(f"{'query':<26}{'hits':>7}{'FTS5 p50':>10}{'p95':>8}{'old p50':>10}{'p95':>8}  did you mean")

        for q in QUERIES:

            def search(q: str = q, catalogue: Catalogue = catalogue) -> None:
                selection = catalogue.query(Filters(q=q))
                ordered = catalogue.sort(selection.entries, "relevance", selection.scores)
                catalogue.snippets(selection.words, ordered[:20])

            def old_search(q: str = q, old: OldIndex = old) -> None:
                scores = old.search(q)
                sorted(scores, key=lambda iri: -scores[iri])

            p50, p95 = timed(search, args.runs)
            o50, o95 = timed(old_search, args.runs)
            selection = catalogue.query(Filters(q=q))
            print(
                f"{q:<26}{len(selection.entries):>7}{p50:>8.2f}ms{p95:>6.2f}ms{o50:>8.2f}ms{o95:>6.2f}ms"
                f"  {selection.did_you_mean or ''}"
            )


if __name__ == "__main__":
    main()
