"""Time from an editor's approval to the change being live, on a real server on 127.0.0.1.

The server serves a copy of build/current with a ledger of its own. Each round a contributor proposes a new
learning material over the JSON API; an editor approves it; the script times the approval call (a full build
with the change, SHACL and OWL-RL included, in a process of its own; the record; the switch) and, from the
moment it asked, how long until `/health` reports the new version and the material answers a search. Clients
poll `/health` throughout and every failed answer is counted. Nothing is asserted.

    .venv/bin/python bench/bench_approval.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from bench_attack import serving  # noqa: E402

from kg.pipeline import build  # noqa: E402
from kg.release.layout import current_build  # noqa: E402
from kg.settings import Settings  # noqa: E402

MATERIAL = """
<urn:x-new:material> a cap:LearningMaterial ; dcterms:title "{title}"@en ;
    dcterms:spatial <http://publications.europa.eu/resource/authority/country/AUT> ; cap:releaseYear "2025"^^xsd:gYear .
<urn:x-new:card> a cap:MaterialAppearance ; cap:appearanceOf <urn:x-new:material> ;
    cap:inProblemStatement <https://w3id.org/capacities/lp/id/challenge/1.2> ; cap:typeLabel "Peer-learning visit"@en ;
    cap:titleAsPrinted "{title}" ; dcterms:description "A benchmark material."@en ; cap:keyFeature "Timing"@en .
"""


def user(state: Path, name: str, role: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kg.cli", "users", "add", name, "--role", role],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "KG_STATE_DIR": str(state)}, check=True,
    )  # fmt: skip
    return next(word for word in done.stdout.split() if word.startswith("capkg_"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        build_dir = scratch / "build"
        try:
            shutil.copytree(current_build(Settings()).parent.parent, build_dir, symlinks=True)
        except Exception:
            build(Settings(build_dir=build_dir))
        state = scratch / "state"
        author, editor = user(state, "partner", "contributor"), user(state, "editor", "editor")
        with serving(build_dir, state_dir=str(state), reload_interval="0.5", client_exempt="127.0.0.1") as (base, _):
            stop, polls, failures = threading.Event(), [0], [0]

            def poll() -> None:
                with httpx.Client(timeout=10) as client:
                    while not stop.wait(0.05):
                        polls[0] += 1
                        try:
                            failures[0] += client.get(base + "/health").status_code != 200
                        except httpx.HTTPError:
                            failures[0] += 1

            poller = threading.Thread(target=poll)
            poller.start()
            calls, lives = [], []
            for round_ in range(options.rounds):
                title = f"Benchmark material number {round_ + 1}"
                with httpx.Client(base_url=base, timeout=600) as client:
                    before = client.get("/health").json()["version"]
                    made = client.post(
                        "/api/contributions", content=MATERIAL.format(title=title),
                        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {author}"},
                    )  # fmt: skip
                    made.raise_for_status()
                    asked = time.perf_counter()
                    approved = client.post(
                        made.headers["location"] + "/approve", json={"note": "bench"},
                        headers={"Authorization": f"Bearer {editor}"},
                    )  # fmt: skip
                    approved.raise_for_status()
                    calls.append(time.perf_counter() - asked)
                    while (
                        client.get("/health").json()["version"] == before
                        or title not in client.get("/api/materials", params={"q": title}).text
                    ):
                        time.sleep(0.05)
                    lives.append(time.perf_counter() - asked)
            stop.set()
            poller.join()
    print(f"approval to live, {options.rounds} rounds, at the portfolio's size (a full build each time):")
    print(f"  approve call (build, record, switch): {', '.join(f'{c:.1f} s' for c in calls)}")
    print(f"  asked → new version serving and the material found: {', '.join(f'{v:.1f} s' for v in lives)}")
    print(f"  median {statistics.median(lives):.1f} s; /health polled {polls[0]} times meanwhile, {failures[0]} failed")


if __name__ == "__main__":
    main()
