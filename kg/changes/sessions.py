"""Signed-in sessions on the site: a random cookie, kept only as its SHA-256, with a CSRF token of its own.

Server-side, in the ledger's SQLite file (table `sessions`), so that every server on one state directory
knows a session and signing out ends it everywhere. A session lasts `SESSION_HOURS`; its CSRF token is
sent with every form and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SESSION_HOURS = 8
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Session:
    account: str
    role: str
    csrf: str

    def csrf_matches(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), (sent or "").encode())


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class Sessions:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a connection of its own, closed after."""
        db = sqlite3.connect(self.path, timeout=5)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:
                yield db
        finally:
            db.close()

    def open(self, account: str, role: str) -> tuple[str, Session]:
        """A new session: the cookie's value (never stored) and the session."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = (datetime.now(UTC) + timedelta(hours=SESSION_HOURS)).isoformat()
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (datetime.now(UTC).isoformat(),))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (_digest(cookie), account, role, csrf, expires))
        return cookie, Session(account, role, csrf)

    def find(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 200:
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT account, role, csrf FROM sessions WHERE digest = ? AND expires > ?",
                (_digest(cookie), datetime.now(UTC).isoformat()),
            ).fetchone()
        return Session(*row) if row else None

    def close(self, cookie: str | None) -> None:
        if cookie:
            with self._connect() as db:
                db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(cookie),))
