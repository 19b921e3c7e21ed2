"""The ledger: accounts, proposals, editors' decisions, approved change sets and the audit log, in one SQLite file.

Every state change is one transaction that also appends its audit row, so the log and the state never disagree.
The file lives in KG_STATE_DIR, outside any build: WAL with synchronous=FULL, so a commit that returned is on disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from kg.changes import accounts as acc
from kg.changes.accounts import Account, Role
from kg.changes.ledger_errors import (
    AccountExists,
    InvalidLedgerInput,
    LedgerFull,
    LedgerUnavailable,
    NotAllowed,
    ProposalConflict,
    UnknownAccount,
    UnknownProposal,
)

SCHEMA_VERSION = 1
BUSY_TIMEOUT = 5.0  # seconds another process may hold the write lock before a write gives up (503)
TOKEN_TOUCH = timedelta(minutes=1)  # last_used is refreshed at most this often: a read should rarely write


class Status(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    changes_requested = "changes-requested"
    withdrawn = "withdrawn"


REVISABLE = (Status.pending, Status.changes_requested)  # the author may revise or withdraw
DECISIONS = {"reject": Status.rejected, "request-changes": Status.changes_requested}


@dataclass(frozen=True)
class Proposal:
    id: int
    author: str
    kind: str
    action: str
    target: str | None
    body: str
    media_type: str
    note: str
    base_version: str
    target_digest: str | None
    status: Status
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Decision:
    id: int
    proposal: int
    editor: str
    action: str
    note: str
    at: datetime


@dataclass(frozen=True)
class ChangeSet:
    number: int
    proposal: int
    patch: str  # RDF Patch
    approved_by: str
    approved_at: datetime
    proposer: str
    proposed_at: datetime
    note: str  # the editor's note on approval


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    account: str
    action: str
    proposal: int | None
    detail: dict[str, Any]


SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('contributor', 'editor', 'admin')),
    password_hash TEXT,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (name),
    created TEXT NOT NULL,
    last_used TEXT
);
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY,
    author TEXT NOT NULL REFERENCES accounts (name),
    kind TEXT NOT NULL,
    target TEXT,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    media_type TEXT NOT NULL,
    note TEXT NOT NULL,
    base_version TEXT NOT NULL,
    target_digest TEXT,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS proposals_by_author ON proposals (author, created);
CREATE INDEX IF NOT EXISTS proposals_by_status ON proposals (status);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    proposal INTEGER NOT NULL REFERENCES proposals (id),
    editor TEXT NOT NULL REFERENCES accounts (name),
    action TEXT NOT NULL,
    note TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_sets (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal INTEGER NOT NULL UNIQUE REFERENCES proposals (id),
    patch TEXT NOT NULL,
    approved_by TEXT NOT NULL REFERENCES accounts (name),
    approved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    account TEXT NOT NULL,
    action TEXT NOT NULL,
    proposal INTEGER,
    detail TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # one fixed width: text order is time order


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _required(value: str | None, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidLedgerInput("a value is required", field=field)
    return value


class Ledger:
    """One SQLite ledger file. Thread-safe (one connection behind a lock); processes share it through WAL."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        with self._failures():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerUnavailable(f"cannot create the ledger's folder: {exc.strerror}", file=self.path) from exc
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            try:
                self._configure()
            except BaseException:
                self._db.close()
                raise

    @classmethod
    def from_settings(cls, settings: Any) -> Ledger:  # Any: kg.settings.Settings, not imported to stay light
        return cls(settings.ledger_file)

    def _configure(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LedgerUnavailable(f"the ledger cannot use write-ahead logging (journal mode {mode})", file=self.path)
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        with self._lock, self._failures():
            try:  # executescript commits any open transaction first: this script brings its own
                db.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        with self._transaction():
            found = db.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            if found is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif found > SCHEMA_VERSION:
                raise LedgerUnavailable(
                    f"the ledger has schema version {found}; this program knows up to {SCHEMA_VERSION}",
                    file=self.path,
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------------

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """SQLite's storage failures as errors naming the ledger file: 507 for a full disk, 503 otherwise."""
        try:
            yield
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # the program's mistakes, not the storage's
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in message:
                raise LedgerFull(
                    f"the ledger cannot grow ({message}); nothing was written: free some space and try again",
                    file=self.path,
                ) from exc
            problem = f"the ledger cannot be used ({message}); nothing was written"
            raise LedgerUnavailable(problem, file=self.path) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: it commits whole or not at all."""
        with self._lock, self._failures():
            self._db.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock between processes
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite already rolled back (a full disk may do that); the first error is the story
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._failures():
            yield self._db

    def _audit(
        self, db: sqlite3.Connection, at: str, account: str, event: str, proposal: int | None, **detail: Any
    ) -> None:
        db.execute(
            "INSERT INTO audit (at, account, action, proposal, detail) VALUES (?, ?, ?, ?, ?)",
            (at, account, event, proposal, json.dumps(detail, sort_keys=True, ensure_ascii=False)),
        )

    def _account(self, db: sqlite3.Connection, name: str, field: str = "name") -> Account:
        row = db.execute("SELECT name, role, created FROM accounts WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownAccount(f"no account is named {name!r}", field=field)
        return Account(row[0], Role(row[1]), _time(row[2]))

    def _proposal(self, db: sqlite3.Connection, id: int) -> Proposal:
        row = db.execute(f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise UnknownProposal(f"there is no proposal {id}", field="id")
        return _to_proposal(row)

    # -- accounts ---------------------------------------------------------------------------------------------

    def add_account(self, name: str, role: str | Role, password: str | None = None, *, by: str = "system") -> str:
        """Create an account; returns its first API token, shown this once (only its digest is kept)."""
        acc.check_name(name)
        role = acc.check_role(role)
        hashed = acc.hash_password(password) if password is not None else None
        token, digest = acc.new_token()
        with self._transaction() as db:
            at = now()
            if db.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise AccountExists(f"an account named {name!r} exists already", field="name")
            db.execute(
                "INSERT INTO accounts (name, role, password_hash, created) VALUES (?, ?, ?, ?)",
                (name, role.value, hashed, at),
            )
            db.execute("INSERT INTO tokens (digest, account, created) VALUES (?, ?, ?)", (digest, name, at))
            self._audit(db, at, by, "account.add", None, name=name, role=role.value, password=hashed is not None)
        return token

    def set_password(self, name: str, password: str, *, by: str | None = None) -> None:
        hashed = acc.hash_password(password)
        with self._transaction() as db:
            self._account(db, name)
            db.execute("UPDATE accounts SET password_hash = ? WHERE name = ?", (hashed, name))
            self._audit(db, now(), by or name, "account.password", None, name=name)

    def check_password(self, name: str, password: str) -> Account | None:
        """The account if the password is its own; None otherwise, in the same time whether the name exists."""
        with self._reading() as db:
            row = db.execute("SELECT password_hash FROM accounts WHERE name = ?", (name,)).fetchone()
        stored = row[0] if row else None
        if not isinstance(password, str) or len(password) > acc.MAX_PASSWORD:
            acc.verify_password(None, "")  # the same work as a wrong password
            return None
        verified = acc.verify_password(stored, password)  # first: an unknown name costs the dummy verification
        if stored is None or not verified:
            return None
        if acc.needs_rehash(stored):
            with self._transaction() as db:
                db.execute("UPDATE accounts SET password_hash = ? WHERE name = ?", (acc.hash_password(password), name))
        with self._reading() as db:
            return self._account(db, name)

    def new_token(self, name: str, *, by: str | None = None) -> str:
        """Another API token for the account (its earlier ones stay valid)."""
        token, digest = acc.new_token()
        with self._transaction() as db:
            self._account(db, name)
            at = now()
            db.execute("INSERT INTO tokens (digest, account, created) VALUES (?, ?, ?)", (digest, name, at))
            self._audit(db, at, by or name, "account.token", None, name=name, token=digest[:8])
        return token

    def token_owners(self) -> dict[str, str]:
        """Every API token's SHA-256 and the name of its account (the service shares itself out by account)."""
        with self._reading() as db:
            return dict(db.execute("SELECT digest, account FROM tokens"))

    def account_for_token(self, token: str) -> Account | None:
        if not isinstance(token, str) or not token.startswith(acc.TOKEN_PREFIX):
            return None
        digest = acc.token_digest(token)
        with self._reading() as db:
            row = db.execute(
                "SELECT a.name, a.role, a.created, t.last_used FROM tokens t JOIN accounts a ON a.name = t.account "
                "WHERE t.digest = ?",
                (digest,),
            ).fetchone()
        if row is None:
            return None
        at = now()
        if row[3] is None or _time(at) - _time(row[3]) > TOKEN_TOUCH:
            with self._transaction() as db:
                db.execute("UPDATE tokens SET last_used = ? WHERE digest = ?", (at, digest))
        return Account(row[0], Role(row[1]), _time(row[2]))

    def require_decider(self, name: str) -> None:
        """NotAllowed unless `name` is an editor: before any work is done on an editor's behalf."""
        with self._reading() as db:
            if not self._account(db, name, field="editor").role.can_decide:
                raise NotAllowed("only an editor may decide on a proposal", field="editor")

    def accounts(self) -> list[Account]:
        with self._reading() as db:
            rows = db.execute("SELECT name, role, created FROM accounts ORDER BY name").fetchall()
        return [Account(name, Role(role), _time(created)) for name, role, created in rows]

    # -- proposals --------------------------------------------------------------------------------------------

    def propose(
        self,
        author: str,
        kind: str,
        action: str,
        target: str | None,
        body: str,
        media_type: str,
        note: str,
        base_version: str,
        target_digest: str | None,
    ) -> Proposal:
        for value, field in ((kind, "kind"), (action, "action"), (body, "body"), (media_type, "media_type")):
            _required(value, field)
        _required(base_version, "base_version")
        with self._transaction() as db:
            self._account(db, author, field="author")
            at = now()
            cursor = db.execute(
                "INSERT INTO proposals (author, kind, target, action, body, media_type, note, base_version, "
                "target_digest, status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (author, kind, target, action, body, media_type, note or "", base_version, target_digest,
                 Status.pending.value, at, at),
            )  # fmt: skip
            id = int(cursor.lastrowid or 0)
            self._audit(db, at, author, "proposal.propose", id, kind=kind, action=action, target=target, note=note)
            return self._proposal(db, id)

    def get(self, id: int) -> Proposal | None:
        with self._reading() as db:
            try:
                return self._proposal(db, id)
            except UnknownProposal:
                return None

    def proposals(self, status: str | Status | None = None, author: str | None = None) -> list[Proposal]:
        where, values = [], []
        if status is not None:
            try:
                values.append(Status(status).value)
            except ValueError:
                raise InvalidLedgerInput(
                    f"the status is one of {', '.join(s.value for s in Status)}", field="status"
                ) from None
            where.append("status = ?")
        if author is not None:
            where.append("author = ?")
            values.append(author)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._reading() as db:
            rows = db.execute(f"SELECT {_PROPOSAL_COLUMNS} FROM proposals{clause} ORDER BY id", values).fetchall()
        return [_to_proposal(row) for row in rows]

    def _authors_own(self, db: sqlite3.Connection, id: int, author: str, step: str) -> Proposal:
        proposal = self._proposal(db, id)
        if proposal.author != author:
            raise NotAllowed(f"only its author may {step} proposal {id}", field="author")
        if proposal.status not in REVISABLE:
            raise ProposalConflict(
                f"proposal {id} is {proposal.status.value}: only a pending proposal, or one with changes "
                f"requested, can be {'revised' if step == 'revise' else 'withdrawn'}",
                status=proposal.status.value,
            )
        return proposal

    def revise(
        self,
        id: int,
        author: str,
        body: str,
        media_type: str,
        note: str,
        base_version: str,
        target_digest: str | None,
    ) -> Proposal:
        """A new version of the author's proposal; it goes back to pending."""
        _required(body, "body")
        _required(media_type, "media_type")
        _required(base_version, "base_version")
        with self._transaction() as db:
            before = self._authors_own(db, id, author, "revise")
            at = now()
            db.execute(
                "UPDATE proposals SET body = ?, media_type = ?, note = ?, base_version = ?, target_digest = ?, "
                "status = ?, updated = ? WHERE id = ?",
                (body, media_type, note or "", base_version, target_digest, Status.pending.value, at, id),
            )
            self._audit(db, at, author, "proposal.revise", id, was=before.status.value, note=note)
            return self._proposal(db, id)

    def withdraw(self, id: int, author: str) -> Proposal:
        with self._transaction() as db:
            before = self._authors_own(db, id, author, "withdraw")
            at = now()
            db.execute("UPDATE proposals SET status = ?, updated = ? WHERE id = ?", (Status.withdrawn.value, at, id))
            self._audit(db, at, author, "proposal.withdraw", id, was=before.status.value)
            return self._proposal(db, id)

    def _pending_for(self, db: sqlite3.Connection, id: int, editor: str, step: str) -> Proposal:
        proposal = self._proposal(db, id)
        if not self._account(db, editor, field="editor").role.can_decide:
            raise NotAllowed("only an editor may decide on a proposal", field="editor")
        if proposal.status != Status.pending:
            raise ProposalConflict(
                f"proposal {id} is {proposal.status.value}: only a pending proposal can be {step}ed",
                status=proposal.status.value,
            )
        return proposal

    def decide(self, id: int, editor: str, action: str, note: str) -> Proposal:
        """Reject a pending proposal, or ask its author for changes; either needs a note saying why."""
        if action not in DECISIONS:
            raise InvalidLedgerInput(
                "the decision is reject or request-changes (approval has a step of its own)", field="action"
            )
        _required(note, "note")
        with self._transaction() as db:
            self._pending_for(db, id, editor, "decid")
            at = now()
            db.execute(
                "INSERT INTO decisions (proposal, editor, action, note, at) VALUES (?, ?, ?, ?, ?)",
                (id, editor, action, note, at),
            )
            db.execute("UPDATE proposals SET status = ?, updated = ? WHERE id = ?", (DECISIONS[action].value, at, id))
            self._audit(db, at, editor, f"proposal.{action}", id, note=note)
            return self._proposal(db, id)

    def approve(self, id: int, editor: str, patch: str, note: str = "") -> ChangeSet:
        """Approve a pending proposal: its decision, its numbered change set, its status and the audit row, in one
        transaction."""
        if not isinstance(patch, str):
            raise InvalidLedgerInput("the change set's RDF Patch is text", field="patch")
        with self._transaction() as db:
            proposal = self._pending_for(db, id, editor, "approv")
            at = now()
            db.execute(
                "INSERT INTO decisions (proposal, editor, action, note, at) VALUES (?, ?, 'approve', ?, ?)",
                (id, editor, note or "", at),
            )
            try:
                cursor = db.execute(
                    "INSERT INTO change_sets (proposal, patch, approved_by, approved_at) VALUES (?, ?, ?, ?)",
                    (id, patch, editor, at),
                )
            except sqlite3.IntegrityError as exc:
                raise ProposalConflict(f"proposal {id} has a change set already", status=proposal.status.value) from exc
            number = int(cursor.lastrowid or 0)
            db.execute("UPDATE proposals SET status = ?, updated = ? WHERE id = ?", (Status.approved.value, at, id))
            self._audit(db, at, editor, "proposal.approve", id, change_set=number, note=note)
        return ChangeSet(number, id, patch, editor, _time(at), proposal.author, proposal.created, note or "")

    def decisions(self, id: int) -> list[Decision]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT id, proposal, editor, action, note, at FROM decisions WHERE proposal = ? ORDER BY id", (id,)
            ).fetchall()
        return [Decision(r[0], r[1], r[2], r[3], r[4], _time(r[5])) for r in rows]

    def change_sets(self) -> list[ChangeSet]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT c.number, c.proposal, c.patch, c.approved_by, c.approved_at, p.author, p.created, "
                "coalesce(d.note, '') FROM change_sets c JOIN proposals p ON p.id = c.proposal "
                "LEFT JOIN decisions d ON d.proposal = c.proposal AND d.action = 'approve' ORDER BY c.number"
            ).fetchall()
        return [ChangeSet(r[0], r[1], r[2], r[3], _time(r[4]), r[5], _time(r[6]), r[7]) for r in rows]

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` audit rows, newest first."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT id, at, account, action, proposal, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [AuditEntry(r[0], _time(r[1]), r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def count_recent(self, author: str, seconds: float) -> int:
        """Proposals the author created in the last `seconds` (for a per-account rate limit)."""
        since = (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._reading() as db:
            return int(
                db.execute(
                    "SELECT count(*) FROM proposals WHERE author = ? AND created >= ?", (author, since)
                ).fetchone()[0]
            )


_PROPOSAL_COLUMNS = (
    "id, author, kind, action, target, body, media_type, note, base_version, target_digest, status, created, updated"
)


def _to_proposal(row: tuple[Any, ...]) -> Proposal:
    id, author, kind, action, target, body, media_type, note, base_version, target_digest = row[:10]
    return Proposal(
        id, author, kind, action, target, body, media_type, note, base_version, target_digest,
        Status(row[10]), _time(row[11]), _time(row[12]),
    )  # fmt: skip
