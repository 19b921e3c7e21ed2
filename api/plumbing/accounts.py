"""Who is asking: an account from `Authorization: Bearer <token>`, and the roles a route requires.

A missing or unknown token on a route that needs an account is 401 with `WWW-Authenticate: Bearer`; an
account without the role is 403. Tokens are looked up by their SHA-256 in the ledger (kg.changes.ledger).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.plumbing.errors import HTTPProblem
from kg.changes.accounts import Account


async def account_of(request: Request) -> Account | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    ledger = request.app.state.editorial.ledger  # kg.editorial.Editorial, made by api.app
    return await asyncio.to_thread(ledger.account_for_token, token.strip())


def requires(*roles: str) -> Callable[[Request], Awaitable[Account]]:
    async def signed_in(request: Request) -> Account:
        account = await account_of(request)
        if account is None:
            raise HTTPProblem(
                401,
                "Sign-in required",
                "this route needs an account: send Authorization: Bearer <token> (capkg users add prints one)",
                {"WWW-Authenticate": 'Bearer realm="capkg"'},
            )
        if roles and str(account.role) not in roles and getattr(account.role, "value", None) not in roles:
            raise HTTPProblem(403, "Forbidden", f"this needs the role {' or '.join(roles)}; you are {role_of(account)}")
        return account

    return signed_in


def role_of(account: Account) -> str:
    return str(getattr(account.role, "value", account.role))


AnyAccount = Annotated[Account, Depends(requires())]
Editor = Annotated[Account, Depends(requires("editor"))]
