"""Search latency at 1x and 100x the portfolio: the catalogue a server opens from its release's file, next to
the same catalogue indexed in memory.

The catalogue's rows are what its three queries answer on build/current/dataset.nq. The 100x rows are the
rows those queries answer on bench_api.py's 100x dataset: every material IRI suffixed -copyK for copy K >= 2
and every literal shared (literals are not copied), so they are made from the 1x rows directly, without
loading 1.4 million quads. For each size it prints the time the build takes to write the catalogue's file
(rows → catalogue.sqlite: materials and FTS5 index), the time a server takes to open it, the time to index
the rows in memory instead (what a server does for a release without the file), the memory each holds,
and p50/p95 of `Catalogue.query` (search, filters) plus sorting and the snippets of the first page, per
query, on both. Nothing is asserted.

    .venv/bin/python bench/bench_search.py [--sizes 1,100] [--runs 200]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.engines.embedded import give_back_memory  # noqa: E402
from kg.pipeline import catalogue_rows  # noqa: E402
from kg.search.catalogue import Catalogue, Filters, open_catalogue, ordered, write_catalogue  # noqa: E402
from kg.sparql.registry import QueryRegistry  # noqa: E402

QUERIES = ["climate", "webinars", "fundng", "Greece", "Helsinki", "climate neutral cities", "bauh", "energy"]


def rows_1x(dataset: Path) -> dict[str, list[dict]]:
    store = ox.Store()
    store.bulk_load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    return catalogue_rows(store, QueryRegistry.load())


def resident_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def held(make: Callable[[], Catalogue]) -> tuple[Catalogue, float, float]:
    """A catalogue, the seconds it took to make, and the memory it holds once made (MiB, freed memory given back)."""
    gc.collect()
    give_back_memory()
    before = resident_mib()
    started = time.perf_counter()
    catalogue = make()
    seconds = time.perf_counter() - started
    gc.collect()
    give_back_memory()
    return catalogue, seconds, resident_mib() - before


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
    parser.add_argument("--dataset", type=Path, default=ROOT / "build" / "current" / "dataset.nq")
    args = parser.parse_args()
    base = rows_1x(args.dataset)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        for size in (int(s) for s in args.sizes.split(",")):
            rows = ordered(copies(base, size))  # as a server orders the rows it queried
            path = Path(scratch) / f"catalogue-{size}.sqlite"
            started = time.perf_counter()
            write_catalogue(path, rows)
            written = time.perf_counter() - started
            kept, opened, kept_mib = held(lambda path=path: open_catalogue(path))  # type: ignore[misc]
            indexed, made, indexed_mib = held(
                lambda rows=rows: Catalogue.from_rows(rows["materials"], rows["countries"], rows["hashtags"])  # type: ignore[misc]
            )
            print(
                f"\n{size}x: {len(kept.materials)} materials; the build writes the file in {written:.2f} s "
                f"({path.stat().st_size / 2**20:.1f} MiB)"
            )
            print(
                f"a server opens it in {opened:.3f} s and holds {kept_mib:.1f} MiB; "
                f"indexing the rows in memory instead takes {made:.2f} s and holds {indexed_mib:.1f} MiB"
            )
            print(f"{'query':<26}{'hits':>7}{'file p50':>10}{'p95':>8}{'memory p50':>12}{'p95':>8}  did you mean")
            for q in QUERIES:
                measured = []
                for catalogue in (kept, indexed):

                    def search(q: str = q, catalogue: Catalogue = catalogue) -> None:
                        selection = catalogue.query(Filters(q=q))
                        ordered = catalogue.sort(selection.entries, "relevance", selection.scores)
                        catalogue.snippets(selection.words, ordered[:20])

                    measured.append(timed(search, args.runs))
                (p50, p95), (m50, m95) = measured
                selection = kept.query(Filters(q=q))
                assert [e.iri for e in selection.entries] == [e.iri for e in indexed.query(Filters(q=q)).entries]
                print(
                    f"{q:<26}{len(selection.entries):>7}{p50:>8.2f}ms{p95:>6.2f}ms{m50:>10.2f}ms{m95:>6.2f}ms"
                    f"  {selection.did_you_mean or ''}"
                )
            del kept, indexed


if __name__ == "__main__":
    main()
