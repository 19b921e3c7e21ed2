"""The editorial loop over HTTP, on a real server on 127.0.0.1 with a build and a ledger of its own:
accounts and roles, a proposal checked by SHACL, review, approval that goes live with its provenance."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import Graph, URIRef

from tests.conftest import ROOT, Built
from tests.server import running_server, start_server

PROBLEM_STATEMENT = "https://w3id.org/capacities/lp/id/challenge/1.2"  # "1.2" in the portfolio's 1st challenge
AUSTRIA = "http://publications.europa.eu/resource/authority/country/AUT"
ASSERTED = "https://w3id.org/capacities/lp/id/graph/asserted"
TITLE = "Heat pumps for city halls: a peer-learning visit"


def material(title: str | None = TITLE, problem_statement: str = PROBLEM_STATEMENT) -> str:
    title_line = f'    dcterms:title "{title}"@en ;\n' if title is not None else ""
    return f"""
@prefix cap: <https://w3id.org/capacities/lp/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema: <http://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:x-new:material> a cap:LearningMaterial ;
{title_line}    dcterms:spatial <{AUSTRIA}> ;
    cap:releaseYear "2025"^^xsd:gYear .
<urn:x-new:card> a cap:MaterialAppearance ;
    cap:appearanceOf <urn:x-new:material> ;
    cap:inProblemStatement <{problem_statement}> ;
    schema:position 99 ;
    cap:typeLabel "Peer-learning visit"@en ;
    cap:titleAsPrinted "{title or "untitled"}" ;
    cap:countryAsPrinted "Austria" ;
    cap:yearAsPrinted "2025" ;
    dcterms:description "Two city halls show their heat-pump retrofits to peers from three ministries."@en ;
    cap:keyFeature "Site visits to retrofitted buildings"@en .
"""


@dataclass
class Loop:
    base: str
    tokens: dict[str, str]
    state_dir: Path
    log: Path

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=300)

    def propose(self, who: str, body: str, media_type: str = "text/turtle", **params: str) -> httpx.Response:
        with self.client(who) as client:
            return client.post("/api/contributions", content=body, headers={"Content-Type": media_type}, params=params)


PASSWORD = "a long enough passphrase"


def add_user(state_dir: Path, name: str, role: str) -> str:
    env = {**os.environ, "KG_STATE_DIR": str(state_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "kg.cli", "users", "add", name, "--role", role, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    token = next(word for word in done.stdout.split() if word.startswith("capkg_"))
    return token


@pytest.fixture(scope="module")
def loop(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    scratch = tmp_path_factory.mktemp("contributions")
    build_dir = scratch / "build"  # approvals write releases: never into the build other tests share
    shutil.copytree(built.settings.build_dir, build_dir, symlinks=True)
    state_dir = scratch / "state"
    tokens = {
        name: add_user(state_dir, name, role)
        for name, role in [("alice", "contributor"), ("bob", "contributor"), ("erin", "editor"), ("adam", "admin")]
    }
    log = scratch / "server.log"
    with running_server(build_dir, log_file=log, state_dir=str(state_dir), reload_interval="0.5") as base:
        yield Loop(base, tokens, state_dir, log)


def test_a_proposal_without_a_title_is_422_with_the_finding_beside_the_field(loop: Loop) -> None:
    answer = loop.propose("alice", material(title=None))
    assert answer.status_code == 422, answer.text
    findings = answer.json()["findings"]
    title = [f for f in findings if f["path"] == "http://purl.org/dc/terms/title"]
    assert title and title[0]["severity"] == "Violation"
    assert "title" in title[0]["message"].lower()


def test_a_card_in_a_problem_statement_that_does_not_exist_is_refused(loop: Loop) -> None:
    answer = loop.propose("alice", material(problem_statement="https://w3id.org/capacities/lp/id/challenge/9.9"))
    assert answer.status_code == 422, answer.text
    assert any("inProblemStatement" in str(f["path"]) for f in answer.json()["findings"])


def test_what_a_contributor_may_not_send(loop: Loop) -> None:
    assert loop.propose("alice", "<a/>", media_type="application/rdf+xml").status_code == 415
    broken = loop.propose("alice", "@prefix cap: <x#> .\n<urn:x-new:a> cap:b ")
    assert broken.status_code == 400 and "line" in broken.text
    chosen = material().replace("<urn:x-new:material>", "<https://w3id.org/capacities/lp/id/material/mine>")
    assert loop.propose("alice", chosen).status_code == 422  # contributors never choose IRIs


def test_a_remote_context_is_refused_and_never_fetched(loop: Loop) -> None:
    fetched: list[str] = []

    class Context(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        document = {"@context": f"http://127.0.0.1:{server.server_port}/context.jsonld", "@id": "urn:x-new:a"}
        answer = loop.propose("alice", json.dumps(document), media_type="application/ld+json")
    finally:
        server.shutdown()
    assert answer.status_code == 422, answer.text
    assert "context" in answer.json()["detail"].lower()
    assert fetched == []


def test_the_authorisation_matrix(loop: Loop) -> None:
    created = loop.propose("alice", material(title="Matrix check material"))
    assert created.status_code == 201, created.text
    path = created.headers["location"]
    expected = {
        # route: {who: status}
        ("GET", path): {None: 401, "alice": 200, "bob": 404, "erin": 200, "adam": 200},
        ("GET", "/api/contributions"): {None: 401, "alice": 200, "bob": 200, "erin": 200, "adam": 200},
        ("POST", path + "/reject"): {None: 401, "alice": 403, "bob": 403, "adam": 403},
        ("POST", path + "/request-changes"): {None: 401, "alice": 403, "bob": 403, "adam": 403},
        ("POST", path + "/approve"): {None: 401, "alice": 403, "bob": 403, "adam": 403},
        ("POST", path + "/withdraw"): {None: 401, "bob": 404},
        ("POST", "/api/contributions"): {None: 401},
    }
    for (method, route), statuses in expected.items():
        for who, status in statuses.items():
            with loop.client(who) as client:
                answer = client.request(method, route, json={"note": "a note"})
            assert answer.status_code == status, (method, route, who, answer.text)
    with loop.client("bob") as client:  # a contributor's queue holds only their own proposals
        assert all(p["author"] == "bob" for p in client.get("/api/contributions").json())
    with loop.client("alice") as client:
        assert client.post(path + "/withdraw").json()["status"] == "withdrawn"
        assert client.post(path + "/withdraw").status_code == 409  # nothing left to withdraw


def test_the_whole_loop_goes_live_with_its_provenance(loop: Loop) -> None:
    with loop.client(None) as anonymous:
        before = anonymous.get("/health").json()["version"]
    created = loop.propose("alice", material(title=TITLE.replace("visit", "tour")), note="From our 2025 programme")
    assert created.status_code == 201, created.text
    path = created.headers["location"]
    with loop.client("erin") as editor:
        review = editor.get(path).json()
        assert review["status"] == "pending" and review["kind"] == "new material"
        assert any("dcterms" in line or "purl.org/dc/terms/title" in line for line in review["added"])
        assert editor.post(path + "/request-changes", json={"note": ""}).status_code == 400  # a note is needed
        asked = editor.post(path + "/request-changes", json={"note": "Please use the programme's own title"})
        assert asked.json()["status"] == "changes-requested"
    with loop.client("alice") as author:
        revised = author.put(path, content=material(), headers={"Content-Type": "text/turtle"})
        assert revised.status_code == 200, revised.text
        assert revised.json()["status"] == "pending"
    with loop.client("erin") as editor:
        approved = editor.post(path + "/approve", json={"note": "Welcome addition"})
        assert approved.status_code == 200, approved.text
        assert approved.json()["change_set"] >= 1
        assert editor.post(path + "/approve", json={}).status_code == 409  # decided already
    with loop.client(None) as anonymous:
        assert anonymous.get("/health").json()["version"] != before
        ask = anonymous.get(
            "/sparql",
            params={
                "query": "PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX prov: <http://www.w3.org/ns/prov#> "
                f'ASK {{ ?m dcterms:title "{TITLE}"@en ; prov:wasGeneratedBy ?change . }}'
            },
            headers={"Accept": "application/sparql-results+json"},
        )
        assert ask.json()["boolean"] is True
        assert TITLE in anonymous.get("/api/materials", params={"q": "heat pumps city halls"}).text
        assert TITLE in anonymous.get("/search", params={"q": "heat pumps"}).text
    report = (loop.state_dir.parent / "build" / "current" / "report.md").read_text(encoding="utf-8")
    contributed = report.split("## Contributed by partners (not read from the text)", 1)[1]
    assert "/material/heat-pumps-for-city-halls" in contributed  # the minted IRI, from the English title
    assert "proposed by alice, approved by erin" in contributed
    assert "Traceback" not in loop.log.read_text()


@contextmanager
def signed_in(loop: Loop, name: str) -> Iterator[httpx.Client]:
    """A browser-like client: the sign-in form with its token, then the session cookie."""
    with httpx.Client(base_url=loop.base, timeout=300) as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        answer = client.post("/sign-in", data={"csrf": token[1], "name": name, "password": PASSWORD, "next": "/"})
        assert answer.status_code == 303, answer.text
        yield client


def test_contributed_text_is_escaped_on_every_page(loop: Loop) -> None:
    script = "<script>alert('owned')</script>"
    created = loop.propose("alice", material(title=f"Heat {script} pumps"), note=f"why {script}")
    assert created.status_code == 201, created.text
    with signed_in(loop, "erin") as editor:
        for path in (created.headers["location"].removeprefix("/api"), "/contributions"):
            page = editor.get(path)
            assert page.status_code == 200, page.text
            assert script not in page.text and "&lt;script&gt;" in page.text
            assert page.headers["cache-control"] == "no-store, private"


def test_forms_without_their_token_are_refused(loop: Loop) -> None:
    created = loop.propose("alice", material(title="Token check material"))
    decide = created.headers["location"].removeprefix("/api") + "/decide"
    with signed_in(loop, "erin") as editor:
        assert editor.post(decide, data={"action": "reject", "note": "no token"}).status_code == 403
        assert editor.post(decide, data={"action": "reject", "note": "x", "csrf": "forged"}).status_code == 403
        assert editor.post("/sign-out", data={"csrf": ""}).status_code == 403
    with httpx.Client(base_url=loop.base, timeout=60) as stranger:  # no session: sent to sign in, nothing done
        answer = stranger.post(decide, data={"action": "approve"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")
        assert stranger.post("/sign-in", data={"name": "erin", "password": PASSWORD}).status_code == 403
        wrong = stranger.get("/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', wrong.text)[1]  # type: ignore[index]
        refused = stranger.post("/sign-in", data={"csrf": token, "name": "erin", "password": "not it"})
        assert refused.status_code == 401 and "capkg_session" not in refused.cookies
    with loop.client("erin") as editor:
        assert editor.get(created.headers["location"]).json()["status"] == "pending"


def test_two_editors_approving_conflicting_corrections_at_once(loop: Loop) -> None:
    """Two corrections of one material: the first approval changes it; the second is 409 until revised."""
    target = "https://w3id.org/capacities/lp/id/material/austrian-climate-neutral-cities-mission"
    with loop.client("erin") as editor:
        before = editor.get("/api/contributions", params={"status": "approved"}).json()
    proposals = []
    for note in ("first correction", "second correction"):
        own = f"CONSTRUCT {{ <{target}> ?p ?o }} WHERE {{ GRAPH <{ASSERTED}> {{ <{target}> ?p ?o }} }}"
        with loop.client(None) as anonymous:  # the material's own statements, as they stand
            turtle = anonymous.get("/sparql", params={"query": own}, headers={"Accept": "text/turtle"})
        assert turtle.status_code == 200 and "Austrian Climate-Neutral Cities Mission" in turtle.text
        corrected = turtle.text.replace("Austrian Climate-Neutral Cities Mission", f"Austrian Mission ({note})")
        answer = loop.propose("bob", corrected, action="replace", target=target, note=note)
        assert answer.status_code == 201, answer.text
        proposals.append(answer.headers["location"])
    statuses: list[int] = []

    def approve(path: str) -> None:
        with loop.client("erin") as editor:
            statuses.append(editor.post(path + "/approve", json={"note": "ok"}).status_code)

    threads = [threading.Thread(target=approve, args=(path,)) for path in proposals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert sorted(statuses) == [200, 409], statuses
    with loop.client("erin") as editor:
        after = editor.get("/api/contributions", params={"status": "approved"}).json()
        assert len(after) == len(before) + 1
        loser = next(p for p in proposals if editor.get(p).json()["status"] == "pending")
        assert editor.get(loser).json()["changed_since_proposed"] is True


def test_export_writes_the_change_sets_as_rdf_patch_and_sparql_update(loop: Loop, tmp_path: Path) -> None:
    env = {**os.environ, "KG_STATE_DIR": str(loop.state_dir)}
    for form in ("rdf-patch", "sparql-update"):
        subprocess.run(
            [sys.executable, "-m", "kg.cli", "contributions", "export", str(tmp_path / form), "--format", form],
            env=env, cwd=ROOT, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    patches = sorted((tmp_path / "rdf-patch").glob("*.rdfp"))
    updates = sorted((tmp_path / "sparql-update").glob("*.ru"))
    assert patches and [p.stem for p in patches] == [u.stem for u in updates]
    first = patches[0].read_text()
    assert first.startswith("H id <https://w3id.org/capacities/lp/id/change/1>") and "\nTX .\n" in first
    graph = Graph()
    for update in updates:
        graph.update(update.read_text())
    titles = {str(o) for o in graph.objects(None, URIRef("http://purl.org/dc/terms/title"))}
    assert TITLE in titles


def _serve(build_dir: Path, state_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A server in a process group of its own, so that kill -9 takes its build process with it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KG_")},
        "KG_BUILD_DIR": str(build_dir),
        "KG_STATE_DIR": str(state_dir),
    }
    return start_server(env, log.open("a+b"), own_group=True)


def _wait_for_the_build_process(group: int) -> None:
    """Until the approval's build runs in its own process (kg.editorial.build_with spawns it) in the server's
    process group: killed then, the approval is surely half done. A fixed sleep was not: on a fast machine the
    whole approval had finished before it ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == group and b"spawn_main" in (entry / "cmdline").read_bytes():
                    return
        time.sleep(0.02)
    raise AssertionError("the approval's build process never started")


def test_kill_9_during_an_approval_leaves_nothing_half_applied(built: Built, tmp_path: Path) -> None:
    build_dir, state_dir, log = tmp_path / "build", tmp_path / "state", tmp_path / "server.log"
    shutil.copytree(built.settings.build_dir, build_dir, symlinks=True)
    author, editor = add_user(state_dir, "alice", "contributor"), add_user(state_dir, "erin", "editor")
    current = (build_dir / "current").resolve()
    process, base = _serve(build_dir, state_dir, log)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            made = client.post(
                "/api/contributions", content=material(), headers={"Content-Type": "text/turtle",
                "Authorization": f"Bearer {author}"},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            approving = threading.Thread(
                target=lambda: _quietly(
                    client.post,
                    made.headers["location"] + "/approve",
                    json={},
                    headers={"Authorization": f"Bearer {editor}"},
                )
            )
            approving.start()
            _wait_for_the_build_process(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            approving.join(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert (build_dir / "current").resolve() == current  # what was served is what is served
    with sqlite3.connect(state_dir / "ledger.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT status FROM proposals").fetchall() == [("pending",)]
        assert db.execute("SELECT COUNT(*) FROM change_sets").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
    process, base = _serve(build_dir, state_dir, log)  # after a restart the proposal is simply still pending
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            again = client.post(
                made.headers["location"] + "/approve", json={}, headers={"Authorization": f"Bearer {editor}"}
            )
            assert again.status_code == 200, again.text
            assert TITLE in client.get("/api/materials", params={"q": "heat pumps city halls"}).text
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_kill_9_of_the_server_during_proposals_loses_none_it_acknowledged(built: Built, tmp_path: Path) -> None:
    """Two partners send proposals as fast as the server takes them; the server is killed with SIGKILL mid-stream.
    Every proposal it answered 201 for is in the ledger, whole, and served after a restart."""
    build_dir, state_dir, log = tmp_path / "build", tmp_path / "state", tmp_path / "server.log"
    shutil.copytree(built.settings.build_dir, build_dir, symlinks=True)
    tokens = [add_user(state_dir, name, "contributor") for name in ("alice", "bob")]
    acknowledged: dict[str, str] = {}  # Location -> title
    stop = threading.Event()
    process, base = _serve(build_dir, state_dir, log)

    def propose(token: str, who: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            for number in range(50):
                if stop.is_set():
                    return
                title = f"Killed-server material {who}-{number}"
                try:
                    made = client.post(
                        "/api/contributions", content=material(title=title),
                        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"},
                    )  # fmt: skip
                except httpx.HTTPError:
                    return  # the server is gone: this one was never acknowledged
                if made.status_code == 201:
                    acknowledged[made.headers["location"]] = title

    senders = [threading.Thread(target=propose, args=(token, who)) for who, token in enumerate(tokens)]
    try:
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        stop.set()
        for sender in senders:
            sender.join(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert len(acknowledged) >= 4
    with sqlite3.connect(state_dir / "ledger.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = {f"/api/contributions/{id}": body for id, body in db.execute("SELECT id, body FROM proposals")}
    for location, title in acknowledged.items():
        assert location in kept and title in kept[location], location
    process, base = _serve(build_dir, state_dir, log)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for location, title in acknowledged.items():
                answer = client.get(location, headers={"Authorization": f"Bearer {tokens[0]}"})
                if answer.status_code == 404:  # bob's: alice does not see it
                    answer = client.get(location, headers={"Authorization": f"Bearer {tokens[1]}"})
                assert answer.status_code == 200 and answer.json()["status"] == "pending", location
                assert any(title in line for line in answer.json()["added"])
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _quietly(call: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call(*args, **kwargs)


def test_an_account_over_its_proposals_an_hour_gets_429(built: Built, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    token = add_user(state_dir, "alice", "contributor")
    with running_server(built.settings.build_dir, state_dir=str(state_dir), proposals_per_hour="2") as base:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            statuses = [
                client.post(
                    "/api/contributions",
                    content=material(title=f"Rate check {n}"),
                    headers={"Content-Type": "text/turtle"},
                )
                for n in range(3)
            ]
    assert [answer.status_code for answer in statuses] == [201, 201, 429]
    assert statuses[2].headers["retry-after"] == "60" and "2 proposals an hour" in statuses[2].json()["detail"]


def test_the_author_revises_on_the_site_after_changes_are_requested(loop: Loop) -> None:
    created = loop.propose("alice", material(title="Revise me material"), note="first try")
    assert created.status_code == 201, created.text
    path = created.headers["location"]
    with loop.client("erin") as editor:
        assert editor.post(path + "/request-changes", json={"note": "say what it is"}).status_code == 200
    proposal_id = path.rsplit("/", 1)[1]
    with signed_in(loop, "bob") as stranger:
        assert stranger.get(f"/contribute/material?revise={proposal_id}").status_code == 404
    with signed_in(loop, "alice") as author:
        assert f"/contribute/material?revise={proposal_id}" in author.get(f"/contributions/{proposal_id}").text
        form = author.get(f"/contribute/material?revise={proposal_id}")
        assert form.status_code == 200 and 'value="Revise me material"' in form.text  # as it stands
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]  # type: ignore[index]
        fields = {
            "csrf": csrf,
            "material.title": "Revised material: a peer-learning tour",
            "material.releaseYear": "2025",
            "card.inProblemStatement": PROBLEM_STATEMENT,
            "card.typeLabel": "Peer-learning visit",
            "card.titleAsPrinted": "Revised material",
            "note": "second try",
        }
        sent = author.post(f"/contribute/material?revise={proposal_id}", data=fields)
        assert sent.status_code == 303 and sent.headers["location"] == f"/contributions/{proposal_id}"
    with loop.client("erin") as editor:
        revised = editor.get(path).json()
        assert revised["status"] == "pending" and revised["note"] == "second try"
        assert any("Revised material: a peer-learning tour" in line for line in revised["added"])
        assert not any("Revise me material" in line for line in revised["added"])


AUSTRIAN_PROFILE = "https://w3id.org/capacities/lp/id/profile/2026/at"
AUSTRIAN_MISSION = "https://w3id.org/capacities/lp/id/material/austrian-climate-neutral-cities-mission"
LINK = "https://w3id.org/capacities/lp/id/link/assessment-tool-climate-equity/4.1/1"  # a card's "learn more" link


def filled_in(html: str) -> dict[str, list[str]]:
    """What a browser would send for a form as shown: every input, text area and selected choice."""
    from bs4 import BeautifulSoup

    form = BeautifulSoup(html, "html.parser").find("form", class_="contribute")
    sent: dict[str, list[str]] = {}
    for control in form.find_all(["input", "textarea", "select"]):
        name = control.get("name")
        if not name:
            continue
        if control.name == "textarea":
            values = [control.get_text()]
        elif control.name == "select":
            values = [o["value"] for o in control.find_all("option") if o.has_attr("selected")]
        elif control.get("type") == "checkbox":
            values = [control["value"]] if control.has_attr("checked") else []
        else:
            values = [control.get("value", "")]
        sent.setdefault(name, []).extend(v for v in values if v)
    return sent


def test_every_kind_of_proposal_has_a_form_on_the_site(loop: Loop) -> None:
    """An update of a platform profile, a note on a problem statement, a new organisation, a new card for a
    material, a removal: each from a link on the resource's page, through its form, into the editors' queue."""
    from urllib.parse import quote

    with signed_in(loop, "alice") as author:
        profile_page = author.get("/id/profile/2026/at")
        assert f"/contribute/profile?edit={quote(AUSTRIAN_PROFILE, safe='')}" in profile_page.text
        form = author.get("/contribute/profile", params={"edit": AUSTRIAN_PROFILE})
        assert form.status_code == 200 and "Update “Snapshot Profile of the National Platform: Austria”" in form.text
        sent = filled_in(form.text)
        assert sent["profile.facilitatorText"][0].startswith("Federal Ministry of Innovation, Mobility")
        sent["profile.regionalActorsText"] = ["The nine federal states' energy agencies."]
        sent["profile.nationalActorsText"] = []  # a required cell emptied: the shapes refuse it, beside the field
        refused = author.post("/contribute/profile", params={"edit": AUSTRIAN_PROFILE}, data=sent)
        assert refused.status_code == 422
        assert 'id="field-profile-nationalActorsText-error"' in refused.text
        sent["profile.nationalActorsText"] = filled_in(form.text)["profile.nationalActorsText"]
        sent["note"] = ["The regional cell was empty"]
        accepted = author.post("/contribute/profile", params={"edit": AUSTRIAN_PROFILE}, data=sent)
        assert accepted.status_code == 303, accepted.text
        profile_proposal = accepted.headers["location"]

        note_form = author.get("/contribute/note", params={"edit": PROBLEM_STATEMENT})
        csrf = filled_in(note_form.text)["csrf"]
        short = author.post(
            "/contribute/note", params={"edit": PROBLEM_STATEMENT}, data={"csrf": csrf, "statement.note": "Soon."}
        )
        assert short.status_code == 422 and 'id="field-statement-note-error"' in short.text
        note = "Materials on budgeting follow in the spring edition."
        noted = author.post(
            "/contribute/note", params={"edit": PROBLEM_STATEMENT}, data={"csrf": csrf, "statement.note": note}
        )
        assert noted.status_code == 303, noted.text
        note_proposal = noted.headers["location"]

        organisation = author.post(
            "/contribute/organisation",
            data={
                "csrf": csrf,
                "organisation.prefLabel": "Climate Agency of Ruritania",
                "organisation.location": AUSTRIA,
            },
        )
        assert organisation.status_code == 303, organisation.text

        card_form = author.get("/contribute/card", params={"parent": AUSTRIAN_MISSION})
        assert card_form.status_code == 200
        card = author.post(
            "/contribute/card",
            params={"parent": AUSTRIAN_MISSION},
            data={"csrf": csrf, "card.inProblemStatement": "https://w3id.org/capacities/lp/id/challenge/2.1",
                  "card.typeLabel": "Mission", "card.titleAsPrinted": "Austrian Mission (again)"},
        )  # fmt: skip
        assert card.status_code == 303, card.text

        removal_page = author.get("/contribute-removal", params={"target": AUSTRIAN_MISSION})
        assert (
            removal_page.status_code == 200 and "<h1>Propose removing “" in removal_page.text
        )  # its title: another test corrects it
        assert (
            author.post("/contribute-removal", params={"target": AUSTRIAN_MISSION}, data={"csrf": csrf}).status_code
            == 422
        )
        # the material has cards and relations: removing it alone would leave them pointing at nothing
        broken = author.post(
            "/contribute-removal", params={"target": AUSTRIAN_MISSION}, data={"csrf": csrf, "note": "Listed twice"}
        )
        assert broken.status_code == 422 and "Removing it would leave the graph broken" in broken.text
        assert "Card without a learning material" in broken.text and "Listed twice" in broken.text
        assert "Its card in problem statement 1.2" in broken.text  # named as people call it, not by IRI
        removal = author.post(
            "/contribute-removal", params={"target": LINK}, data={"csrf": csrf, "note": "The page is gone"}
        )
        assert removal.status_code == 303, removal.text

        assert author.get("/contribute/nothing").status_code == 404
        assert author.get("/contribute/profile").status_code == 400  # a profile is updated, never added
        assert author.get("/contribute/profile", params={"edit": AUSTRIAN_MISSION}).status_code == 404
        assert author.get("/contribute/card").status_code == 400  # a new card names its material
        assert (
            author.post("/contribute-removal", params={"target": AUSTRIAN_MISSION}, data={"note": "x"}).status_code
            == 403
        )

    with loop.client("erin") as editor:
        kinds = {}
        for location in (profile_proposal, note_proposal, organisation.headers["location"], card.headers["location"],
                         removal.headers["location"]):  # fmt: skip
            review = editor.get("/api" + location).json()
            assert review["status"] == "pending" and not [f for f in review["findings"] if f["severity"] == "Violation"]
            kinds[location] = review
        profile_review = kinds[profile_proposal]
        assert [line for line in profile_review["added"] if "regionalActorsText" in line]
        assert [line for line in profile_review["removed"] if "regionalActorsText" in line]
        assert not [line for line in profile_review["removed"] if "listsCity" in line or "profileOf" in line]
        assert (
            kinds[removal.headers["location"]]["action"] == "remove" and kinds[removal.headers["location"]]["removed"]
        )
        approved = editor.post("/api" + note_proposal + "/approve", json={"note": "Thanks"})
        assert approved.status_code == 200, approved.text
    with loop.client(None) as anonymous:
        ask = anonymous.get(
            "/sparql",
            params={"query": f'ASK {{ <{PROBLEM_STATEMENT}> <http://www.w3.org/2004/02/skos/core#note> "{note}"@en }}'},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert ask.json()["boolean"] is True
        page = anonymous.get("/id/challenge/1.2").text
        assert f"<strong>Note for readers:</strong> {note}" in page
    assert "Traceback" not in loop.log.read_text()


def test_a_full_disk_during_an_approval_is_507_and_nothing_is_approved(built: Built, tmp_path: Path) -> None:
    """No file may grow past 1.5 MB (the release's dumps are bigger; the ledger is not): the approval's build
    cannot write its release. The editor gets 507 saying so; the proposal stays pending, no change set, the
    server keeps serving the release it had, and no half-written release is left."""
    build_dir = tmp_path / "build"
    shutil.copytree(built.settings.build_dir, build_dir, symlinks=True)
    state_dir = tmp_path / "state"
    tokens = {name: add_user(state_dir, name, role) for name, role in [("alice", "contributor"), ("erin", "editor")]}
    log = tmp_path / "server.log"
    releases_before = sorted(p.name for p in (build_dir / "releases").iterdir())
    with running_server(build_dir, log_file=log, state_dir=str(state_dir), max_file_bytes=1_500_000) as base:
        full = Loop(base, tokens, state_dir, log)
        created = full.propose("alice", material(title="A material for a full disk"))
        assert created.status_code == 201, created.text  # the ledger is small: proposing still works
        with full.client("erin") as editor:
            version = editor.get("/health").json()["version"]
            refused = editor.post(created.headers["location"] + "/approve", json={"note": "ok"})
            assert refused.status_code == 507, refused.text
            problem = refused.json()
            assert "could not be written" in problem["detail"] and "nothing was approved" in problem["detail"]
            assert "Traceback" not in refused.text
            assert editor.get(created.headers["location"]).json()["status"] == "pending"
            assert editor.get("/health").json()["version"] == version
    with sqlite3.connect(state_dir / "ledger.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM change_sets").fetchone()[0] == 0
    assert sorted(p.name for p in (build_dir / "releases").iterdir()) == releases_before
    assert not list(build_dir.rglob(".staging-*"))


def test_the_authorisation_matrix_of_the_site(loop: Loop) -> None:
    """Every page and form of the editorial loop on the site, for a visitor, a contributor (the author and
    another), an editor and an admin: the expected status, and nothing decided by someone who may not."""
    from urllib.parse import quote

    created = loop.propose("alice", material(title="Site matrix material"))
    assert created.status_code == 201, created.text
    page = created.headers["location"].removeprefix("/api")
    profile = quote(AUSTRIAN_PROFILE, safe="")
    views = [
        "/contributions",
        page,
        "/contribute/material",
        "/contribute/organisation",
        f"/contribute/profile?edit={profile}",
        f"/contribute/note?edit={quote(PROBLEM_STATEMENT, safe='')}",
        f"/contribute/card?parent={quote(AUSTRIAN_MISSION, safe='')}",
        f"/contribute-removal?target={quote(AUSTRIAN_MISSION, safe='')}",
    ]
    expected_views = {None: 303, "alice": 200, "bob": 200, "erin": 200, "adam": 200}
    for who, status in expected_views.items():
        context = signed_in(loop, who) if who else httpx.Client(base_url=loop.base, timeout=300)
        with context as client:
            for view in views:
                answer = client.get(view)
                wanted = 404 if (view == page and who == "bob") else status  # another's proposal does not exist
                assert answer.status_code == wanted, (who, view, answer.text[:300])
                if who is None:
                    assert answer.headers["location"].startswith("/sign-in?next=")
    decide = page + "/decide"
    releases = loop.state_dir.parent / "build" / "releases"
    built_before = sorted(p.name for p in releases.iterdir())
    for who, status in {"alice": 403, "bob": 403, "adam": 403}.items():  # only editors decide
        with signed_in(loop, who) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/contributions").text)[1]  # type: ignore[index]
            for action in ("approve", "reject", "request-changes"):
                answer = client.post(decide, data={"csrf": csrf, "action": action, "note": "because"})
                assert answer.status_code == status, (who, action, answer.text[:300])
    with loop.client("erin") as editor:
        assert editor.get(created.headers["location"]).json()["status"] == "pending"  # nobody decided anything
    assert sorted(p.name for p in releases.iterdir()) == built_before  # and no build ran on their behalf
    with signed_in(loop, "bob") as stranger:  # another's proposal cannot be withdrawn or revised either
        csrf = re.search(r'name="csrf" value="([^"]+)"', stranger.get("/contributions").text)[1]  # type: ignore[index]
        assert stranger.post(decide, data={"csrf": csrf, "action": "withdraw"}).status_code == 404
