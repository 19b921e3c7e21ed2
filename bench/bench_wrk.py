"""/sparql against the Oxigraph server with wrk, a load generator written in C.

bench_api.py drives the servers from Python threads, whose own cost per request is close to the
servers' on small queries. wrk (Debian package `wrk`) costs far less, so this comparison shows the
servers' throughput on the same SPARQL mix with less noise from the client. Loopback only.

Three configurations, measured in the same run: the API on its embedded store; Oxigraph's own
server (its union default graph; the build's graphs named as the dataset; and the one default graph
`capkg publish` adds, as the API sends it); and the API with KG_STORE_QUERY_URL pointing at an Oxigraph
server the build was published into with `capkg publish` (the remote store of docs/remote-stores.md),
whose figures against the others are the cost of the remote hop. All share this machine's cores with
wrk, the remote configuration running two servers at once.

    .venv/bin/python bench/bench_wrk.py [--connections 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import (  # noqa: E402
    api_server,
    ensure_build,
    make_dataset,
    oxigraph_command,
    oxigraph_server,
    publish_into_oxigraph,
    routes,
)

from kg.engines.protocol import in_default_graph  # noqa: E402
from kg.engines.publish import default_graph  # noqa: E402
from kg.namespaces import ProjectNamespaces  # noqa: E402

NS = ProjectNamespaces()


def lua_long_string(text: str) -> str:
    """A Lua long-bracket literal, which keeps the bytes as they are (Lua has no \\u escapes)."""
    level = 1
    while "]" + "=" * level + "]" in text:
        level += 1
    return "[" + "=" * level + "[\n" + text + "]" + "=" * level + "]"


def lua_script(queries: list[str], path: str) -> str:
    bodies = ",\n".join(lua_long_string(q) for q in queries)
    return f"""
local bodies = {{
{bodies}
}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/sparql-query",
                                       ["Accept"] = "application/sparql-results+json"}}, bodies[i])
end
response = function(status, headers, body)
  if status ~= 200 then failures = (failures or 0) + 1 end
end
"""


def run_wrk(base: str, path: str, queries: list[str], connections: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(queries, path))
    completed = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, connections)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "-s",
            script.name,
            "--latency",
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(script.name).unlink()
    output = completed.stdout
    if completed.stderr.strip() or "Requests/sec" not in output:  # a script error makes wrk fall back to GET /
        raise SystemExit(f"wrk did not run the mix:\n{completed.stderr}{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{base}{path}: {errors.group(1)} failed responses\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fresh-build", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (Debian)")
    queries = [q for route in routes() for q in route.sparql]
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        source = ensure_build(args, scratch)
        build_dir = scratch / "served"
        _, graphs = make_dataset(source, 1, build_dir, "wrk")
        store = scratch / "oxigraph"
        command = oxigraph_command()
        subprocess.run(
            [command, "load", "--location", str(store), "--file", str(source)], check=True, capture_output=True
        )
        # what the API sends a remote store with every query: the build's graphs as the dataset
        explicit = "/query?" + urlencode(
            [("default-graph-uri", g) for g in sorted(graphs) if in_default_graph(g)]
            + [("named-graph-uri", g) for g in sorted(graphs)]
        )
        published = publish_into_oxigraph(command, build_dir, scratch / "published")  # with its one default graph
        as_sent = "/query?" + urlencode(
            [("default-graph-uri", default_graph(NS))] + [("named-graph-uri", g) for g in sorted(graphs)]
        )
        results: dict[str, list[float]] = {
            "/sparql": [],
            "oxigraph": [],
            "oxigraph explicit": [],
            "oxigraph as sent": [],
            "/sparql remote": [],
            "/sparql, 2 processes": [],
            "/sparql remote, 2 processes": [],
        }
        two = {"http_workers": "2"}
        for _ in range(args.rounds):
            with api_server(build_dir, {}, scratch / "api.log") as (base, _):
                run_wrk(base, "/sparql", queries, args.connections, 2)  # warm-up
                results["/sparql"].append(run_wrk(base, "/sparql", queries, args.connections, args.seconds))
            with oxigraph_server(command, store, scratch / "ox.log") as (base, _):
                run_wrk(base, "/query", queries, args.connections, 2)
                results["oxigraph"].append(run_wrk(base, "/query", queries, args.connections, args.seconds))
                run_wrk(base, explicit, queries, args.connections, 2)
                results["oxigraph explicit"].append(run_wrk(base, explicit, queries, args.connections, args.seconds))
            with oxigraph_server(command, published, scratch / "ox.log") as (base, _):
                run_wrk(base, as_sent, queries, args.connections, 2)
                results["oxigraph as sent"].append(run_wrk(base, as_sent, queries, args.connections, args.seconds))
            with (
                oxigraph_server(command, published, scratch / "ox.log") as (store_base, _),
                api_server(build_dir, {"store_query_url": store_base + "/query"}, scratch / "remote.log") as (base, _),
            ):
                run_wrk(base, "/sparql", queries, args.connections, 2)
                results["/sparql remote"].append(run_wrk(base, "/sparql", queries, args.connections, args.seconds))
            # one API process is bound by its interpreter lock on the remote path (it parses and rewrites every
            # answer the workers would on the embedded store); two share the work
            with api_server(build_dir, two, scratch / "api2.log") as (base, _):
                run_wrk(base, "/sparql", queries, args.connections, 2)
                results["/sparql, 2 processes"].append(
                    run_wrk(base, "/sparql", queries, args.connections, args.seconds)
                )
            with (
                oxigraph_server(command, published, scratch / "ox.log") as (store_base, _),
                api_server(build_dir, {**two, "store_query_url": store_base + "/query"}, scratch / "remote2.log") as (
                    base,
                    _,
                ),
            ):
                run_wrk(base, "/sparql", queries, args.connections, 2)
                results["/sparql remote, 2 processes"].append(
                    run_wrk(base, "/sparql", queries, args.connections, args.seconds)
                )
    print(
        f"wrk, {args.connections} connections, {args.seconds} s per round, the {len(queries)}-query SPARQL mix "
        "of bench_api.py"
    )
    for name, values in results.items():
        print(f"  {name:<14} req/s per round: {', '.join(f'{v:.0f}' for v in values)}")

    def per_round(a: str, b: str) -> str:
        return ", ".join(f"{x / y:.2f}" for x, y in zip(results[a], results[b], strict=True))

    print(f"  /sparql ÷ Oxigraph per round: {per_round('/sparql', 'oxigraph')}")
    print(f"  remote hop: /sparql remote ÷ /sparql embedded per round: {per_round('/sparql remote', '/sparql')}")
    print(
        "  remote hop, KG_HTTP_WORKERS=2 for both: "
        f"{per_round('/sparql remote, 2 processes', '/sparql, 2 processes')}; against the embedded store's best "
        "of 1 or 2 processes: "
        + ", ".join(
            f"{r / max(a, b):.2f}"
            for r, a, b in zip(
                results["/sparql remote, 2 processes"], results["/sparql"], results["/sparql, 2 processes"], strict=True
            )
        )
    )
    print(f"  remote hop: /sparql remote ÷ Oxigraph direct per round: {per_round('/sparql remote', 'oxigraph')}")
    print(
        f"  remote hop: /sparql remote ÷ Oxigraph given the same request's dataset per round: "
        f"{per_round('/sparql remote', 'oxigraph as sent')}"
    )
    print(
        f"  Oxigraph with the build's graphs as the dataset ÷ with its union default graph: "
        f"{per_round('oxigraph explicit', 'oxigraph')}"
    )
    print(
        f"  Oxigraph with the one default graph of `capkg publish` ÷ with its union default graph: "
        f"{per_round('oxigraph as sent', 'oxigraph')}"
    )
    added = [
        1000 * args.connections * (1 / r - 1 / o)
        for r, o in zip(results["/sparql remote"], results["oxigraph as sent"], strict=True)
    ]
    print(
        f"  time the API adds in front of the remote store, per request (connections ÷ throughput): "
        f"{', '.join(f'{a:.2f} ms' for a in added)}"
    )


if __name__ == "__main__":
    main()
