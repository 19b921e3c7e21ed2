"""Fair sharing: one client over its share gets 429 with Retry-After, and one abusive client running heavy
queries cannot starve ordinary ones. Clients are told apart by address: each test client sends from its own
loopback address (127.0.0.0/8 is all loopback)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Built
from tests.server import running_server
from tests.test_contributions import add_user

HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # runs into its time budget
LIGHT = "ASK { ?s ?p ?o }"


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("fair") / "server.log"
    settings = {
        "query_workers": "2",
        "query_timeout": "3",
        "client_rate": "50",
        "client_burst": "100",
        "client_exempt": "127.0.0.1",
    }  # the harness checks readiness from 127.0.0.1
    with running_server(built.settings.build_dir, log_file=log, **settings) as base:
        yield base


def test_a_client_over_its_rate_gets_429_with_retry_after(built: Built, tmp_path: Path) -> None:
    settings = {"query_workers": "1", "client_rate": "2", "client_burst": "5", "client_exempt": "127.0.0.1"}
    with running_server(built.settings.build_dir, log_file=tmp_path / "server.log", **settings) as base:
        with client_from("127.0.0.9") as client:
            answers = [client.get(base + "/sparql", params={"query": LIGHT}) for _ in range(12)]
        statuses = [answer.status_code for answer in answers]
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert "2 requests a second" in refused.json()["detail"]
        with client_from("127.0.0.10") as other:  # another client is not affected
            assert other.get(base + "/sparql", params={"query": LIGHT}).status_code == 200


def test_one_client_cannot_hold_more_than_its_share_of_the_workers(server: str) -> None:
    """With two workers, one client may have one query in flight: its second gets 429 at once."""
    started = threading.Event()
    heavy: list[int] = []

    def run_heavy() -> None:
        with client_from("127.0.0.20") as client:
            started.set()
            heavy.append(client.get(server + "/sparql", params={"query": HEAVY}).status_code)

    thread = threading.Thread(target=run_heavy)
    thread.start()
    started.wait(5)
    refused = None
    with client_from("127.0.0.20") as same:
        for _ in range(50):  # bounded: until the heavy query is in flight
            answer = same.get(server + "/sparql", params={"query": LIGHT})
            if answer.status_code == 429:
                refused = answer
                break
    thread.join(timeout=30)
    assert refused is not None and "at most 1 requests from one client" in refused.json()["detail"]
    assert heavy == [503]  # the heavy query itself ran into its time budget


def test_ten_ordinary_clients_keep_their_answers_while_one_client_abuses(server: str) -> None:
    """The abuser keeps two heavy queries going (as many as there are workers); then ten clients come."""
    stop = threading.Event()
    abusive: list[int] = []

    def abuse() -> None:
        with client_from("127.0.0.30") as client:
            for _ in range(200):  # bounded
                if stop.is_set():
                    return
                status = client.get(server + "/sparql", params={"query": HEAVY}).status_code
                abusive.append(status)
                if status == 429:
                    stop.wait(0.05)

    ordinary: dict[str, list[int]] = {}

    def use(address: str) -> None:
        with client_from(address) as client:
            ordinary[address] = [client.get(server + "/sparql", params={"query": LIGHT}).status_code for _ in range(20)]

    abusers = [threading.Thread(target=abuse) for _ in range(2)]
    for thread in abusers:
        thread.start()
    stop.wait(0.5)  # both heavy queries are in flight (or refused) before the others arrive
    users = [threading.Thread(target=use, args=(f"127.0.0.{n}",)) for n in range(40, 50)]
    for thread in users:
        thread.start()
    for thread in users:
        thread.join(timeout=120)
    stop.set()
    for thread in abusers:
        thread.join(timeout=60)
    answers = [status for statuses in ordinary.values() for status in statuses]
    assert len(answers) == 200
    assert answers.count(200) / len(answers) >= 0.99, answers
    assert 429 in abusive  # the abuser's second query was turned away


def test_searches_beyond_the_cpu_lane_get_503_with_retry_after_and_health_answers(built: Built, tmp_path: Path) -> None:
    """Searches are CPU work in the API process: one thread, two waiting, a short wait; the rest are told."""
    settings = {"cpu_threads": "1", "cpu_queue": "2", "cpu_wait": "0.05", "client_exempt": "127.0.0.1,127.0.0.2"}
    with running_server(built.settings.build_dir, log_file=tmp_path / "server.log", **settings) as base:
        words = [a + b for a in "bcdfgklmnprstv" for b in "aeiou"]
        answers: list[httpx.Response] = []
        health: list[int] = []
        done = threading.Event()

        def search(chunk: list[str]) -> None:
            with client_from("127.0.0.2") as client:
                for n, word in enumerate(chunk):  # distinct texts: the response cache answers none of them
                    path = "/search" if n % 2 else "/api/materials"
                    answers.append(client.get(base + path, params={"q": word}))

        def watch() -> None:
            with httpx.Client(timeout=10) as client:
                while not done.wait(0.05):
                    health.append(client.get(base + "/health").status_code)

        watcher = threading.Thread(target=watch)
        watcher.start()
        searchers = [threading.Thread(target=search, args=(words[k::10],)) for k in range(10)]
        for thread in searchers:
            thread.start()
        for thread in searchers:
            thread.join(timeout=120)
        done.set()
        watcher.join(timeout=30)
        log = (tmp_path / "server.log").read_text()
    statuses = [answer.status_code for answer in answers]
    assert len(statuses) == len(words)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 3
    busy = [answer for answer in answers if answer.status_code == 503]
    assert busy, "ten clients at once on one thread with two places to wait: some must be told"
    assert all(answer.headers["retry-after"] == "1" for answer in busy)
    api_busy = next((a for a in busy if "/api/" in str(a.url)), None)
    if api_busy is not None:
        assert api_busy.json()["title"] == "Server busy"
        assert "try again" in api_busy.json()["detail"]
    assert health and set(health) == {200}
    assert "Traceback" not in log


# -- shares by account ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts_server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    scratch = tmp_path_factory.mktemp("fair-accounts")
    ann, bob = add_user(scratch / "state", "ann", "contributor"), add_user(scratch / "state", "bob", "contributor")
    # a share refills once in 100 s: none refills while a test counts its refusals, however slow the machine
    settings = {"query_workers": "1", "client_rate": "0.01", "client_burst": "4", "client_exempt": "127.0.0.1"}
    with running_server(
        built.settings.build_dir, log_file=scratch / "server.log", state_dir=str(scratch / "state"), **settings
    ) as base:
        yield base, ann, bob


def _statuses(base: str, address: str, count: int, token: str | None = None) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with client_from(address) as client:
        return [
            client.get(base + "/sparql", params={"query": LIGHT}, headers=headers).status_code for _ in range(count)
        ]


def test_an_account_has_one_share_wherever_it_sends_from(accounts_server: tuple[str, str, str]) -> None:
    """Three addresses, four requests each with ann's token: each address is within its burst of 4, the account
    is not."""
    base, ann, _ = accounts_server
    statuses = [status for address in ("127.0.0.51", "127.0.0.52", "127.0.0.53") for status in _statuses(
        base, address, 4, ann)]  # fmt: skip
    assert statuses[:4] == [200] * 4
    assert statuses.count(429) >= 6, statuses


def test_an_account_has_its_own_share_beside_its_address(accounts_server: tuple[str, str, str]) -> None:
    """Its address spent its share without a token; bob's token, from the same address, still has his."""
    base, _, bob = accounts_server
    assert 429 in _statuses(base, "127.0.0.61", 8)
    assert _statuses(base, "127.0.0.61", 3, bob) == [200] * 3


def test_a_made_up_token_buys_no_share(accounts_server: tuple[str, str, str]) -> None:
    base, ann, _ = accounts_server
    assert 429 in _statuses(base, "127.0.0.71", 8)
    made_up = ann[:-4] + ("aaaa" if not ann.endswith("aaaa") else "bbbb")
    assert _statuses(base, "127.0.0.71", 3, made_up) == [429] * 3
