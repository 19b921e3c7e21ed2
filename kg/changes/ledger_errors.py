"""Errors of the ledger and its accounts (to be moved into kg/errors.py).

Misuse by a caller is exit 2 with a 4xx status; a ledger that cannot be written is exit 5 with 503 or 507.
"""

from __future__ import annotations

from kg.errors import KGError


class InvalidLedgerInput(KGError):
    """A name, role, password, note or action that cannot be used: the field says which."""

    exit_code = 2
    http_status = 400
    title = "Invalid value"


class NotAllowed(KGError):
    """The account may not do this: not the proposal's author, or not an editor."""

    exit_code = 2
    http_status = 403
    title = "Not allowed"


class UnknownAccount(KGError):
    exit_code = 2
    http_status = 404
    title = "Unknown account"


class UnknownProposal(KGError):
    exit_code = 2
    http_status = 404
    title = "Unknown proposal"


class AccountExists(KGError):
    exit_code = 2
    http_status = 409
    title = "Account exists"


class ProposalConflict(KGError):
    """The proposal is not in a status that allows this step (the message names its status)."""

    exit_code = 2
    http_status = 409
    title = "Conflict with the proposal's status"

    def __init__(self, problem: str, *, status: str | None = None, **kw) -> None:
        self.status = status
        super().__init__(problem, **kw)


class LedgerUnavailable(KGError):
    """The ledger file cannot be opened or written (read-only, an I/O error, locked too long); nothing half-written."""

    exit_code = 5
    http_status = 503
    title = "Ledger unavailable"
    retry_after: int | None = 5


class LedgerFull(LedgerUnavailable):
    """The disk (or the ledger's page limit) is full; the transaction was rolled back."""

    http_status = 507
    title = "Ledger storage full"
    retry_after = None
