"""Accounts: Argon2id passwords, API tokens kept only as digests, names checked, and the `capkg users` verbs."""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kg.changes.accounts import Role
from kg.changes.ledger import Ledger
from kg.changes.ledger_errors import AccountExists, InvalidLedgerInput, UnknownAccount

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as opened:
        yield opened


def stored_hash(ledger: Ledger, name: str) -> str | None:
    with sqlite3.connect(ledger.path) as db:
        return db.execute("SELECT password_hash FROM accounts WHERE name = ?", (name,)).fetchone()[0]


def file_bytes(ledger: Ledger) -> bytes:
    """The ledger and its write-ahead log: everything SQLite has put on disk."""
    return b"".join(p.read_bytes() for p in ledger.path.parent.iterdir() if p.name.startswith(ledger.path.name))


def test_password_is_stored_as_an_argon2id_hash(ledger: Ledger) -> None:
    ledger.add_account("alice", Role.contributor, password="correct horse battery staple")
    stored = stored_hash(ledger, "alice")
    assert stored is not None and stored.startswith("$argon2id$")
    assert b"correct horse battery staple" not in file_bytes(ledger)


def test_check_password_right_wrong_and_unknown(ledger: Ledger) -> None:
    ledger.add_account("alice", "editor", password="s3cret-enough")
    ledger.add_account("nopass", "contributor")
    account = ledger.check_password("alice", "s3cret-enough")
    assert account is not None and account.name == "alice" and account.role is Role.editor
    assert ledger.check_password("alice", "s3cret-enougH") is None
    assert ledger.check_password("bob", "s3cret-enough") is None
    assert ledger.check_password("nopass", "") is None  # an account without a password cannot log in with one
    assert ledger.check_password("alice", "x" * 5000) is None


def test_set_password_replaces_the_old_one(ledger: Ledger) -> None:
    ledger.add_account("alice", "contributor", password="first one")
    ledger.set_password("alice", "second one")
    assert ledger.check_password("alice", "first one") is None
    assert ledger.check_password("alice", "second one") is not None
    with pytest.raises(UnknownAccount) as refused:
        ledger.set_password("bob", "whatever")
    assert refused.value.http_status == 404
    with pytest.raises(InvalidLedgerInput) as empty:
        ledger.set_password("alice", "")
    assert empty.value.field == "password"


def test_an_unknown_name_costs_as_much_as_a_wrong_password(ledger: Ledger) -> None:
    ledger.add_account("alice", "contributor", password="the password")

    def seconds(name: str) -> float:
        start = time.perf_counter()
        assert ledger.check_password(name, "not the password") is None
        return time.perf_counter() - start

    seconds("nobody")  # the dummy hash is made on first use
    wrong = statistics.median(seconds("alice") for _ in range(3))
    unknown = statistics.median(seconds("nobody") for _ in range(3))
    # without the dummy verification an unknown name answers in well under a millisecond; argon2 takes tens
    assert unknown > 0.5 * wrong, (unknown, wrong)


def test_a_hash_with_old_parameters_is_upgraded_on_login(ledger: Ledger) -> None:
    ledger.add_account("alice", "contributor")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("the password")
    with sqlite3.connect(ledger.path) as db:
        db.execute("UPDATE accounts SET password_hash = ? WHERE name = 'alice'", (weak,))
    assert ledger.check_password("alice", "the password") is not None
    upgraded = stored_hash(ledger, "alice")
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)
    assert ledger.check_password("alice", "the password") is not None


def test_tokens_are_stored_only_as_digests(ledger: Ledger) -> None:
    import hashlib

    first = ledger.add_account("alice", "editor")
    second = ledger.new_token("alice")
    assert first.startswith("capkg_") and second.startswith("capkg_") and first != second
    stored = file_bytes(ledger)
    for token in (first, second):
        assert token.encode() not in stored
        assert token.removeprefix("capkg_").encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored  # what is kept instead
    for token in (first, second):  # a new token leaves the earlier ones valid
        account = ledger.account_for_token(token)
        assert account is not None and account.name == "alice" and account.role is Role.editor
    assert ledger.account_for_token(first[:-1] + ("A" if first[-1] != "A" else "B")) is None
    assert ledger.account_for_token(first.removeprefix("capkg_")) is None
    assert ledger.account_for_token("") is None
    with pytest.raises(UnknownAccount):
        ledger.new_token("bob")


def test_account_for_token_records_when_it_was_used(ledger: Ledger) -> None:
    token = ledger.add_account("alice", "contributor")
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("SELECT last_used FROM tokens").fetchone()[0] is None
    ledger.account_for_token(token)
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("SELECT last_used FROM tokens").fetchone()[0] is not None


@pytest.mark.parametrize("name", ["with space", "a" * 65, "", "tab\tname", "slash/name", "émile", "semi;colon"])
def test_bad_names_are_refused_naming_the_field(ledger: Ledger, name: str) -> None:
    with pytest.raises(InvalidLedgerInput) as refused:
        ledger.add_account(name, "contributor")
    assert refused.value.field == "name" and refused.value.http_status == 400
    assert "'name'" in str(refused.value)
    assert ledger.accounts() == []


@pytest.mark.parametrize("name", ["a", "a" * 64, "first.last-2_x@example.org"])
def test_good_names_are_accepted(ledger: Ledger, name: str) -> None:
    ledger.add_account(name, "contributor")
    assert [a.name for a in ledger.accounts()] == [name]


def test_duplicate_names_and_unknown_roles(ledger: Ledger) -> None:
    ledger.add_account("alice", "contributor")
    with pytest.raises(AccountExists) as duplicate:
        ledger.add_account("alice", "admin")
    assert duplicate.value.http_status == 409
    with pytest.raises(InvalidLedgerInput) as role:
        ledger.add_account("bob", "superuser")
    assert role.value.field == "role"
    assert [(a.name, a.role) for a in ledger.accounts()] == [("alice", Role.contributor)]


def test_account_changes_are_audited_without_secrets(ledger: Ledger) -> None:
    token = ledger.add_account("alice", "contributor", password="hunter2-hunter2", by="root")
    ledger.set_password("alice", "another-password")
    ledger.new_token("alice")
    entries = list(reversed(ledger.audit()))
    assert [(e.account, e.action, e.detail.get("name")) for e in entries] == [
        ("root", "account.add", "alice"),
        ("alice", "account.password", "alice"),
        ("alice", "account.token", "alice"),
    ]
    text = repr(entries)
    assert "hunter2" not in text and "another-password" not in text and token not in text and "$argon2" not in text


# -- capkg users ------------------------------------------------------------------------------------------------


def capkg(state: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KG_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=state.parent,  # not the checkout: no .env there to override KG_STATE_DIR
        timeout=120,
    )


def test_cli_users_add_prints_a_token_the_ledger_accepts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    added = capkg(state, "users", "add", "alice", "--role", "editor")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("capkg_") and "\n" not in token  # the token and nothing else on standard output
    with Ledger(state / "ledger.sqlite3") as ledger:
        account = ledger.account_for_token(token)
    assert account is not None and account.name == "alice" and account.role is Role.editor

    again = capkg(state, "users", "add", "alice", "--role", "admin")
    assert again.returncode == 2 and again.stdout == ""
    assert "alice" in again.stderr and "exists" in again.stderr

    bad = capkg(state, "users", "add", "bad name", "--role", "editor")
    assert bad.returncode == 2 and "'name'" in bad.stderr


def test_cli_password_stdin_list_and_token(tmp_path: Path) -> None:
    state = tmp_path / "state"
    added = capkg(state, "users", "add", "bob", "--role", "contributor", "--password-stdin", stdin="pass word 1\n")
    assert added.returncode == 0, added.stderr
    assert "pass word 1" not in added.stdout + added.stderr
    listed = capkg(state, "users", "list")
    assert listed.returncode == 0 and "bob" in listed.stdout and "contributor" in listed.stdout
    fresh = capkg(state, "users", "token", "bob")
    assert fresh.returncode == 0, fresh.stderr
    with Ledger(state / "ledger.sqlite3") as ledger:
        assert ledger.check_password("bob", "pass word 1") is not None
        assert ledger.account_for_token(fresh.stdout.strip()) is not None
        assert ledger.account_for_token(added.stdout.strip()) is not None
    unknown = capkg(state, "users", "token", "nobody")
    assert unknown.returncode == 2 and "nobody" in unknown.stderr and unknown.stdout == ""
