"""Benchmark the build: wall time and peak memory per stage, triples per graph, and the floor.

The floor is what pyoxigraph alone takes to parse and load the final dataset (N-Quads) in
the same run; the ratio says how far the whole build is from just loading its result.

    .venv/bin/python bench/bench_build.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from kg.pipeline import Stages, build
from kg.settings import Settings

JUSTIFICATION_STAGES = ("justify", "check justifications")


class MeasuringStages(Stages):
    """Stages that record the peak Python memory allocated inside each stage (tracemalloc).

    tracemalloc slows Python down several times, so memory is measured in its own run and
    the times come from runs without it.
    """

    def __init__(self) -> None:
        super().__init__(None)
        self.peaks: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        tracemalloc.start()
        try:
            yield
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            self.peaks[name] = peak / 2**20


def floor(dataset: Path) -> float:
    started = time.perf_counter()
    store = ox.Store()
    store.load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    assert len(store) > 0
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}
    totals, floors = [], []
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(build_dir=Path(directory))
        build(settings)  # warm-up: imports, caches
        for _ in range(args.runs):
            stages = Stages(None)
            started = time.perf_counter()
            result = build(settings, stages=stages)
            totals.append(time.perf_counter() - started)
            for timing in stages.timings:
                times.setdefault(timing.name, []).append(timing.seconds)
            floors.append(floor(result.directory / "dataset.nq"))
        measuring = MeasuringStages()
        build(settings, stages=measuring)
        peaks = measuring.peaks
    print(
        f"build of the whole portfolio: median wall time of {args.runs} runs; peak Python memory per stage "
        "(tracemalloc) from a separate run"
    )
    print(f"{'stage':<28}{'seconds':>10}{'peak MiB':>12}")
    for name, values in times.items():
        # the SHACL validation runs in a forked process (kg.pipeline.Aside): tracemalloc does not see it
        peak = f"{peaks[name]:>12.1f}" if name in peaks else f"{'(process)':>12}"
        print(f"{name:<28}{statistics.median(values):>10.3f}{peak}")
    total, base = statistics.median(totals), statistics.median(floors)
    print(f"{'sum of the stages':<28}{sum(statistics.median(v) for v in times.values()):>10.3f}")
    print(f"{'total (wall)':<28}{total:>10.3f}")
    justifying = [statistics.median(times[name]) for name in JUSTIFICATION_STAGES if name in times]
    if justifying:  # issue 15: the justifications should cost under 1 s at the portfolio's size
        print(f"{'justifications (issue 15)':<28}{sum(justifying):>10.3f}  = " + " + ".join(JUSTIFICATION_STAGES))
        # their quads are made as the store takes them: bench_justify.py measures that part on its own
        print(f"{'':<38}  (+ making and loading their quads, inside load store: bench/bench_justify.py)")
    print("\ntriples per named graph")
    for graph, count in result.graphs.items():
        print(f"  {graph:<60}{count:>8}")
    print(f"  {'all':<60}{sum(result.graphs.values()):>8}")
    print(f"\nfloor: pyoxigraph parses and loads the final dataset in {base:.3f} s; build/floor = {total / base:.0f}x")


if __name__ == "__main__":
    main()
