"""Who may do what: accounts with a role, Argon2id password hashes and API tokens stored only as digests."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kg.changes.ledger_errors import InvalidLedgerInput

TOKEN_PREFIX = "capkg_"
NAME = re.compile(r"[A-Za-z0-9.\-_@]{1,64}")
MAX_PASSWORD = 1024  # argon2 hashes any length; a bound keeps one login from costing more than another


class Role(StrEnum):
    contributor = "contributor"  # proposes changes
    editor = "editor"  # also decides on proposals
    admin = "admin"  # manages accounts (and proposes); deciding is the editors' alone

    @property
    def can_decide(self) -> bool:
        return self is Role.editor


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    created: datetime


def check_name(name: str, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidLedgerInput(
            "an account name is 1 to 64 characters: letters, digits and . - _ @ (no spaces)", field=field
        )
    return name


def check_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidLedgerInput(f"the role is one of {', '.join(r.value for r in Role)}", field="role") from None


def check_password_text(password: str) -> str:
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise InvalidLedgerInput(f"a password is 1 to {MAX_PASSWORD} characters", field="password")
    return password


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()  # Argon2id with the library's current defaults


def hash_password(password: str) -> str:
    return hasher().hash(check_password_text(password))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; without a stored hash, the same work against a dummy one (no timing
    difference between a wrong password and an unknown account)."""
    try:
        return hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return hasher().check_needs_rehash(stored)


def new_token() -> tuple[str, str]:
    """A fresh API token and the digest that is stored instead of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    # a token carries 256 random bits: a fast hash is enough, and looking up its digest leaks nothing useful
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
