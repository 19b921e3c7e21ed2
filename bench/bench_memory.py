"""Memory, start-up, reload and throughput of the service per dataset size and worker count, next to Oxigraph's.

For each size (the portfolio and synthetic copies, made as bench_api.py makes them), our server is
started on 127.0.0.1 with each worker store (`disk`: every worker opens the release's on-disk store
read-only; `memory`: every worker loads its own copy) and each worker count, and the Oxigraph server
(`oxigraph serve-read-only --union-default-graph`) on the same file. Per server it prints:

  ready      seconds from process start until /ready (ours) or a first answer (Oxigraph)
  idle       resident memory of the server and all its processes once ready (RSS, and PSS: shared
             pages divided among the processes sharing them), MiB
  loaded     the same after the SPARQL mix below
  mix        requests/s and p50 of the site's SPARQL mix (bench_api.py's routes) with 4 clients
  reload     for ours: seconds from a new release going live (build/current moved) until /health
             reports its version, with the server watching build/current

and the ratios against Oxigraph measured in the same run. The page cache (the store's files read
through it, by Oxigraph and by our workers alike) belongs to no process and is not counted. Nothing
is asserted; the figures also go to bench/results/memory-<date>.json.

    .venv/bin/python bench/bench_memory.py [--sizes 1,100] [--workers 2,4] [--stores disk,memory]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import (  # noqa: E402
    ROOT,
    api_server,
    ensure_build,
    load,
    make_dataset,
    mix_plan,
    oxigraph_command,
    oxigraph_server,
    plans,
    routes,
)

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree(pid: int) -> list[int]:
    """The process and all its descendants (ours: the server, its query workers, the resource tracker)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue += children.get(current, [])
    return found


def memory_mib(pid: int) -> tuple[float, float]:
    """RSS and PSS of a process tree, MiB."""
    rss = pss = 0
    for member in tree(pid):
        try:
            rss += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss / 2**20, pss / 2**20


def server_pid(port: int) -> int:
    """The pid listening on a loopback port (the server started by a context manager of bench_api)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":  # LISTEN
                inode = parts[9]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") == f"socket:[{inode}]":
                    return int(entry)
        except OSError:
            continue
    raise RuntimeError(f"nothing listens on port {port}")


def mix(base: str, target: str, requests: int) -> dict:
    route_list = routes()
    per_route = plans(target, route_list)
    names = [route.name for route in route_list]
    plan = mix_plan(per_route, names, requests * 2, seed=4)
    load(base, plan, max(10, requests // 10), 4, 10)  # warm-up
    return load(base, plan, requests, 4, 120).summary()


def release_again(directory: Path, version: str) -> Path:
    """Another release of the same data under a new version, its files hard-linked, made live atomically."""
    current = (directory / "current").resolve()
    copy = directory / "releases" / version
    shutil.copytree(current, copy, copy_function=os.link)
    summary_path = copy / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary_path.unlink()  # a hard link: the original's summary must stay as it is
    summary_path.write_text(json.dumps({**summary, "version": version}), encoding="utf-8")
    link = directory / f".current-{version}"
    link.symlink_to(copy, target_is_directory=True)
    link.replace(directory / "current")
    return copy


def reload_seconds(base: str, directory: Path, version: str) -> float:
    import httpx

    release_again(directory, version)
    started = time.perf_counter()
    while time.perf_counter() - started < 120:
        if httpx.get(base + "/health", timeout=10).json().get("version") == version:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("the new release did not go live within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100", help="portfolio copies, comma-separated")
    parser.add_argument("--workers", default="2,4", help="query worker counts, comma-separated")
    parser.add_argument("--stores", default="disk,memory", help="KG_WORKER_STORE values, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="measured requests of the SPARQL mix")
    parser.add_argument("--fresh-build", action="store_true", help="build the portfolio even if build/current exists")
    parser.add_argument("--output", type=Path, help="JSON file; default bench/results/memory-<date>.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    oxigraph = oxigraph_command()
    report: dict = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "cpus": os.cpu_count()}
    report["sizes"] = []
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch_name:
        scratch = Path(scratch_name)
        source = ensure_build(args, scratch)
        for copies in sizes:
            directory = scratch / f"size-{copies}"
            made = time.perf_counter()
            dataset, counts = make_dataset(source, copies, directory, f"memory-{copies}x")
            print(
                f"\n{copies}x: {sum(counts.values()):,} quads, dataset and store made in "
                f"{time.perf_counter() - made:.1f} s",
                flush=True,
            )
            rows: dict = {"copies": copies, "quads": sum(counts.values()), "servers": {}}
            location = scratch / f"oxigraph-{copies}"
            subprocess.run(
                [oxigraph, "load", "--location", str(location), "--file", str(dataset)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            with oxigraph_server(oxigraph, location, scratch / f"oxigraph-{copies}.log") as (base, ready):
                pid = server_pid(int(base.rsplit(":", 1)[1]))
                idle = memory_mib(pid)
                throughput = mix(base, "oxigraph", args.requests)
                rows["servers"]["oxigraph"] = {
                    "ready_s": ready,
                    "idle_mib": idle,
                    "loaded_mib": memory_mib(pid),
                    "mix": throughput,
                }
            reloads = 0
            for store in stores:
                for workers in worker_counts:
                    name = f"ours {store} x{workers}"
                    settings = {
                        "max_rows": "10000000",
                        "query_workers": str(workers),
                        "worker_store": store,
                        "reload_interval": "0.2",
                    }
                    with api_server(directory, settings, scratch / f"api-{copies}-{store}-{workers}.log") as (
                        base,
                        ready,
                    ):
                        pid = server_pid(int(base.rsplit(":", 1)[1]))
                        idle = memory_mib(pid)
                        throughput = mix(base, "sparql", args.requests)
                        loaded = memory_mib(pid)
                        reloads += 1
                        reload = reload_seconds(base, directory, f"memory-{copies}x-again{reloads}")
                        rows["servers"][name] = {
                            "ready_s": ready,
                            "idle_mib": idle,
                            "loaded_mib": loaded,
                            "mix": throughput,
                            "reload_s": reload,
                            "after_reload_mib": memory_mib(pid),
                        }
            report["sizes"].append(rows)
            peer = rows["servers"]["oxigraph"]
            lines.append(f"\n{copies}x ({rows['quads']:,} quads)")
            lines.append(
                f"  {'server':<18} {'ready s':>8} {'idle RSS':>9} {'idle PSS':>9} {'loaded RSS':>11} "
                f"{'req/s':>7} {'p50 ms':>7} {'reload s':>9} {'RSS÷Ox':>7} {'req/s÷Ox':>9}"
            )
            for name, row in rows["servers"].items():
                lines.append(
                    f"  {name:<18} {row['ready_s']:>8.2f} {row['idle_mib'][0]:>9.0f} {row['idle_mib'][1]:>9.0f} "
                    f"{row['loaded_mib'][0]:>11.0f} {row['mix']['rps'] or 0:>7.1f} {row['mix']['p50_ms'] or 0:>7.1f} "
                    f"{row.get('reload_s', float('nan')):>9.2f} "
                    f"{row['loaded_mib'][0] / peer['loaded_mib'][0]:>7.1f} "
                    f"{(row['mix']['rps'] or 0) / (peer['mix']['rps'] or 1):>9.2f}"
                )
            print("\n".join(lines), flush=True)
            lines = []
    output = args.output or ROOT / "bench" / "results" / f"memory-{dt.date.today().isoformat()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nfigures written to {output}")


if __name__ == "__main__":
    main()
