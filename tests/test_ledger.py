"""The ledger: the proposal state machine, atomic approval, the append-only audit log, durability under SIGKILL,
and a full disk."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kg.changes.ledger import Ledger, Status
from kg.changes.ledger_errors import (
    InvalidLedgerInput,
    LedgerFull,
    LedgerUnavailable,
    NotAllowed,
    ProposalConflict,
    UnknownAccount,
    UnknownProposal,
)
from kg.errors import KGError

ROOT = Path(__file__).resolve().parent.parent
NT = "application/n-triples"
BODY = '<urn:x-new:a> <http://www.w3.org/2000/01/rdf-schema#label> "A" .\n'


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as opened:
        opened.add_account("alice", "contributor")
        opened.add_account("bob", "contributor")
        opened.add_account("ed", "editor")
        opened.add_account("root", "admin")
        yield opened


def propose(ledger: Ledger, author: str = "alice", body: str = BODY) -> int:
    return ledger.propose(author, "Project", "create", None, body, NT, "a new project", "v1", None).id


def revise(ledger: Ledger, id: int, author: str = "alice") -> object:
    return ledger.revise(id, author, BODY + BODY.replace('"A"', '"B"'), NT, "fixed", "v2", "digest")


# each step a proposal can be offered, and the status it leads to when allowed
STEPS = {
    "approve": (lambda ledger, id: ledger.approve(id, "ed", "A <a> <b> <c> .", "fine"), Status.approved),
    "reject": (lambda ledger, id: ledger.decide(id, "ed", "reject", "out of scope"), Status.rejected),
    "request-changes": (
        lambda ledger, id: ledger.decide(id, "ed", "request-changes", "cite a source"),
        Status.changes_requested,
    ),
    "revise": (lambda ledger, id: revise(ledger, id), Status.pending),
    "withdraw": (lambda ledger, id: ledger.withdraw(id, "alice"), Status.withdrawn),
}
ALLOWED = {
    Status.pending: {"approve", "reject", "request-changes", "revise", "withdraw"},
    Status.changes_requested: {"revise", "withdraw"},
    Status.approved: set(),
    Status.rejected: set(),
    Status.withdrawn: set(),
}
REACH = {  # how a fresh (pending) proposal gets to each status
    Status.pending: [],
    Status.changes_requested: ["request-changes"],
    Status.approved: ["approve"],
    Status.rejected: ["reject"],
    Status.withdrawn: ["withdraw"],
}


def proposal_in(ledger: Ledger, status: Status) -> int:
    id = propose(ledger)
    for step in REACH[status]:
        STEPS[step][0](ledger, id)
    assert ledger.get(id).status is status
    return id


@pytest.mark.parametrize(
    ("status", "step"), [(status, step) for status in Status for step in STEPS], ids=lambda v: str(v)
)
def test_state_machine(ledger: Ledger, status: Status, step: str) -> None:
    id = proposal_in(ledger, status)
    audited = len(ledger.audit(limit=1000))
    run, leads_to = STEPS[step]
    if step in ALLOWED[status]:
        run(ledger, id)
        assert ledger.get(id).status is leads_to
        assert len(ledger.audit(limit=1000)) == audited + 1
        assert ledger.audit(limit=1)[0].proposal == id
    else:
        with pytest.raises(ProposalConflict) as refused:
            run(ledger, id)
        assert refused.value.http_status == 409 and refused.value.exit_code == 2
        assert status.value in str(refused.value) and refused.value.status == status.value
        assert ledger.get(id).status is status
        assert len(ledger.audit(limit=1000)) == audited


def test_revise_replaces_the_body_and_keeps_the_author(ledger: Ledger) -> None:
    id = proposal_in(ledger, Status.changes_requested)
    revised = revise(ledger, id)
    assert revised.status is Status.pending and revised.author == "alice"
    assert revised.body.count("\n") == 2 and revised.base_version == "v2" and revised.target_digest == "digest"
    assert revised.note == "fixed" and revised.updated > revised.created


def test_only_the_author_revises_or_withdraws(ledger: Ledger) -> None:
    id = propose(ledger)
    for step in (lambda: revise(ledger, id, author="bob"), lambda: ledger.withdraw(id, "ed")):
        with pytest.raises(NotAllowed) as refused:
            step()
        assert refused.value.http_status == 403
    assert ledger.get(id).status is Status.pending


def test_only_editors_decide(ledger: Ledger) -> None:
    first, second = propose(ledger), propose(ledger)
    with pytest.raises(NotAllowed) as approving:
        ledger.approve(first, "bob", "patch", "")
    assert approving.value.http_status == 403
    with pytest.raises(NotAllowed):
        ledger.decide(first, "alice", "reject", "my own")
    assert ledger.get(first).status is Status.pending
    with pytest.raises(NotAllowed):  # an admin manages accounts; editors decide
        ledger.approve(first, "root", "patch", "")
    assert ledger.approve(first, "ed", "patch", "").approved_by == "ed"
    assert ledger.decide(second, "ed", "reject", "no").status is Status.rejected


def test_misuse_is_a_client_error(ledger: Ledger) -> None:
    id = propose(ledger)
    with pytest.raises(InvalidLedgerInput) as no_note:
        ledger.decide(id, "ed", "reject", "  ")
    assert no_note.value.http_status == 400 and no_note.value.field == "note"
    with pytest.raises(InvalidLedgerInput) as no_note:
        ledger.decide(id, "ed", "request-changes", "")
    assert no_note.value.field == "note"
    with pytest.raises(InvalidLedgerInput) as action:
        ledger.decide(id, "ed", "approve", "use approve()")
    assert action.value.field == "action"
    with pytest.raises(UnknownProposal) as missing:
        ledger.approve(id + 1, "ed", "patch", "")
    assert missing.value.http_status == 404
    assert ledger.get(id + 1) is None
    with pytest.raises(UnknownAccount) as stranger:
        propose(ledger, author="mallory")
    assert stranger.value.http_status == 404 and stranger.value.field == "author"
    with pytest.raises(InvalidLedgerInput) as empty:
        propose(ledger, body="")
    assert empty.value.field == "body"
    with pytest.raises(InvalidLedgerInput):
        ledger.proposals(status="accepted")
    assert ledger.get(id).status is Status.pending and ledger.decisions(id) == []


def test_approval_numbers_change_sets_in_order(ledger: Ledger) -> None:
    first, second, third = propose(ledger), propose(ledger, "bob"), propose(ledger)
    assert ledger.approve(second, "ed", "A <s> <p> <o2> .", "ok").number == 1
    ledger.decide(first, "ed", "reject", "duplicate")
    made = ledger.approve(third, "ed", "A <s> <p> <o3> .", "")
    assert made.number == 2 and made.proposer == "alice" and made.approved_by == "ed"
    sets = ledger.change_sets()
    assert [(c.number, c.proposal, c.proposer, c.note) for c in sets] == [
        (1, second, "bob", "ok"),
        (2, third, "alice", ""),
    ]
    assert sets[0].patch == "A <s> <p> <o2> ." and sets[0].proposed_at <= sets[0].approved_at
    assert sets[1] == made
    assert [d.action for d in ledger.decisions(second)] == ["approve"]
    assert [p.id for p in ledger.proposals(status="approved")] == [second, third]
    assert [p.id for p in ledger.proposals(author="alice")] == [first, third]
    assert [p.id for p in ledger.proposals(status=Status.approved, author="alice")] == [third]


def test_approval_is_one_transaction(ledger: Ledger) -> None:
    id = propose(ledger)
    # a change set for the proposal already there (as a crashed or concurrent approval could leave it): the
    # change-set insert fails after the decision row was written in the same transaction
    ledger._db.execute(
        "INSERT INTO change_sets (proposal, patch, approved_by, approved_at) VALUES (?, 'stray', 'ed', ?)",
        (id, "2026-01-01T00:00:00.000000Z"),
    )
    audited = len(ledger.audit(limit=1000))
    with pytest.raises(ProposalConflict) as refused:
        ledger.approve(id, "ed", "A <a> <b> <c> .", "fine")
    assert refused.value.http_status == 409
    assert ledger.decisions(id) == []
    assert ledger.get(id).status is Status.pending
    assert len(ledger.audit(limit=1000)) == audited
    assert [c.patch for c in ledger.change_sets()] == ["stray"]


def test_approval_rolls_back_when_its_audit_row_fails(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    id = propose(ledger)

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ledger, "_audit", broken)
    with pytest.raises(LedgerUnavailable) as failed:
        ledger.approve(id, "ed", "A <a> <b> <c> .", "fine")
    assert failed.value.exit_code == 5 and str(ledger.path) in str(failed.value)
    monkeypatch.undo()
    assert ledger.decisions(id) == [] and ledger.change_sets() == []
    assert ledger.get(id).status is Status.pending
    assert ledger.approve(id, "ed", "A <a> <b> <c> .", "fine").number == 1  # the number was not used up


def test_every_step_is_audited_with_who_what_and_why(ledger: Ledger) -> None:
    first, second = propose(ledger), propose(ledger)
    ledger.decide(first, "ed", "request-changes", "cite a source")
    revise(ledger, first)
    ledger.approve(first, "ed", "patch", "thanks")
    ledger.withdraw(second, "alice")
    entries = [e for e in reversed(ledger.audit(limit=1000)) if e.proposal is not None]
    assert [(e.account, e.action, e.proposal) for e in entries] == [
        ("alice", "proposal.propose", first),
        ("alice", "proposal.propose", second),
        ("ed", "proposal.request-changes", first),
        ("alice", "proposal.revise", first),
        ("ed", "proposal.approve", first),
        ("alice", "proposal.withdraw", second),
    ]
    assert entries[2].detail["note"] == "cite a source" and entries[4].detail == {"change_set": 1, "note": "thanks"}
    assert all(e.at.tzinfo is not None and e.at.utcoffset().total_seconds() == 0 for e in entries)
    assert ledger.audit(limit=2)[0].action == "proposal.withdraw" and len(ledger.audit(limit=2)) == 2


def test_the_audit_log_is_append_only(ledger: Ledger) -> None:
    propose(ledger)
    before = ledger.audit(limit=1000)
    with sqlite3.connect(ledger.path) as other:  # the triggers live in the file, not in this program
        for statement in ("UPDATE audit SET account = 'nobody'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 1"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                other.execute(statement)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        ledger._db.execute("UPDATE audit SET detail = '{}' WHERE id = 1")
    assert ledger.audit(limit=1000) == before


def test_the_connection_is_durable_and_checked(ledger: Ledger) -> None:
    db = ledger._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    with Ledger(ledger.path) as again:  # reopening creates nothing twice
        assert again._db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
        assert len(again.accounts()) == 4


def test_count_recent(ledger: Ledger) -> None:
    for _ in range(3):
        propose(ledger)
    propose(ledger, "bob")
    assert ledger.count_recent("alice", 60) == 3 and ledger.count_recent("bob", 60) == 1
    assert ledger.count_recent("ed", 60) == 0
    ledger._db.execute("UPDATE proposals SET created = '2020-01-01T00:00:00.000000Z' WHERE id = 1")
    assert ledger.count_recent("alice", 60) == 2
    assert ledger.count_recent("alice", 10 * 365 * 86400) == 3


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    ids: list[int] = []

    def write() -> None:
        for _ in range(10):
            ids.append(propose(ledger))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == list(range(1, 41))
    assert len(ledger.proposals()) == 40


# -- durability -------------------------------------------------------------------------------------------------

WRITER = """
import sys, time
from kg.changes.ledger import Ledger
ledger = Ledger(sys.argv[1])
while True:
    proposal = ledger.propose("alice", "Project", "create", None, "x" * 3000, "text/plain", "n", "v1", None)
    print(proposal.id, flush=True)  # acknowledged: the commit returned
    if sys.argv[2] == "once":
        time.sleep(60)
"""


def writer(path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def killed(process: subprocess.Popen[str]) -> list[int]:
    """SIGKILL the writer; the ids it acknowledged (whole lines only)."""
    process.send_signal(signal.SIGKILL)
    rest, errors = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, errors
    return [int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_an_acknowledged_proposal_survives_sigkill(ledger: Ledger) -> None:
    process = writer(ledger.path, "once")
    first = process.stdout.readline()
    assert first.endswith("\n"), process.stderr.read()
    acknowledged = [int(first), *killed(process)]
    with Ledger(ledger.path) as reopened:
        assert [p.id for p in reopened.proposals()] == acknowledged == [1]
        assert reopened.audit(limit=1)[0].proposal == 1
    assert integrity(ledger.path) == "ok"


def test_sigkill_at_a_random_moment_loses_nothing_acknowledged(ledger: Ledger) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    chance = random.Random(seed)
    acknowledged: list[int] = []
    for _ in range(5):
        process = writer(ledger.path, "loop")
        first = process.stdout.readline()
        assert first.endswith("\n"), process.stderr.read()
        time.sleep(chance.uniform(0.0, 0.3))
        acknowledged += [int(first), *killed(process)]
        assert integrity(ledger.path) == "ok", seed
        with Ledger(ledger.path) as reopened:
            present = {p.id for p in reopened.proposals()}
            audited = {e.proposal for e in reopened.audit(limit=100_000) if e.action == "proposal.propose"}
        assert set(acknowledged) <= present, seed
        assert present == audited, seed  # a proposal and its audit row commit together or not at all
    assert len(acknowledged) >= 5
    print(f"seed {seed}: {len(acknowledged)} acknowledged proposals over 5 kills")


# -- storage failures -------------------------------------------------------------------------------------------


def test_a_full_disk_is_507_and_writes_nothing(ledger: Ledger) -> None:
    pages = ledger._db.execute("PRAGMA page_count").fetchone()[0]
    ledger._db.execute(f"PRAGMA max_page_count = {pages + 8}")  # this connection's file cannot grow past it
    written: dict[int, str] = {}
    with pytest.raises(LedgerFull) as full:
        for n in range(1000):
            body = f"{n}:" + "y" * 3000
            written[propose(ledger, body=body)] = body
    error = full.value
    assert isinstance(error, KGError) and error.http_status == 507 and error.exit_code == 5
    assert error.file == str(ledger.path)
    assert written, "the limit left no room for even one proposal"
    assert not ledger._db.in_transaction
    assert {p.id: p.body for p in ledger.proposals()} == written
    assert sum(e.action == "proposal.propose" for e in ledger.audit(limit=10_000)) == len(written)
    assert integrity(ledger.path) == "ok"
    ledger._db.execute("PRAGMA max_page_count = 1073741823")
    assert propose(ledger) == max(written) + 1


def test_a_read_only_ledger_is_503(ledger: Ledger) -> None:
    id = propose(ledger)
    ledger._db.execute("PRAGMA query_only = ON")
    with pytest.raises(LedgerUnavailable) as refused:
        ledger.approve(id, "ed", "patch", "")
    assert refused.value.http_status == 503 and refused.value.exit_code == 5
    assert "readonly" in str(refused.value) and str(ledger.path) in str(refused.value)
    ledger._db.execute("PRAGMA query_only = OFF")
    assert ledger.get(id).status is Status.pending and ledger.decisions(id) == []


def test_a_ledger_that_cannot_be_created_names_its_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(LedgerUnavailable) as refused:
        Ledger(blocker / "state" / "ledger.sqlite3")
    assert refused.value.exit_code == 5 and "ledger.sqlite3" in str(refused.value)
    (tmp_path / "garbage.sqlite3").write_bytes(b"this is not a database, at all" * 100)
    with pytest.raises(LedgerUnavailable) as garbage:
        Ledger(tmp_path / "garbage.sqlite3")
    assert "garbage.sqlite3" in str(garbage.value)
