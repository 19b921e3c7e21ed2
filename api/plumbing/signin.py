"""Signed-in sessions on the site, one way for every sign-in (password, OpenID Connect): the cookie, its
flags, where a sign-in may send the browser back to, and the answers that must never be cached."""

from __future__ import annotations

import asyncio

from fastapi import Request
from fastapi.responses import RedirectResponse

from kg.changes.sessions import SESSION_HOURS, Session, Sessions

SESSION_COOKIE = "capkg_session"
PRIVATE = {"Cache-Control": "no-store, private"}


def sessions_of(request: Request) -> Sessions:
    """The server's sessions, in the ledger's file (api.app makes the editorial service that names it)."""
    if getattr(request.app.state, "sessions", None) is None:
        request.app.state.sessions = Sessions(request.app.state.editorial.settings.ledger_file)
    return request.app.state.sessions


async def session_of(request: Request) -> Session | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return await asyncio.to_thread(sessions_of(request).find, cookie) if cookie else None


def safe_next(value: str) -> str:
    """Only a path of this site: never another site (an open redirect)."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/contributions"


async def signed_in_redirect(request: Request, account: str, role: str, back: str) -> RedirectResponse:
    """Open a session for the account and send the browser back where it was going, with the session cookie."""
    cookie, _ = await asyncio.to_thread(sessions_of(request).open, account, role)
    answer = RedirectResponse(safe_next(back), status_code=303, headers=PRIVATE)
    answer.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=SESSION_HOURS * 3600,
    )
    return answer
