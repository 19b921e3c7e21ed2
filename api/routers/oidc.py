"""Sign in on the site through an OpenID provider (OpenID Connect, authorization code flow with PKCE).

On only when KG_OIDC_ISSUER is set; otherwise both routes answer 404. /sign-in/oidc sends the browser to the
provider with a random state and nonce and a PKCE (S256) challenge, all kept in a short-lived HttpOnly cookie
signed with a key derived from the client secret (so any server process on the same settings can check it).
The callback exchanges the code, checks the ID token with Authlib (signature against the provider's JWKS,
iss, aud, exp, nonce), reads the account name from KG_OIDC_USERNAME_CLAIM and signs in only an account that
already exists in the ledger: nobody gets an account by signing in. The session is the one password sign-in
opens (api.routers.editing). Each failure is a problem document that says which step failed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError  # Authlib's own JOSE library (a dependency of Authlib), whose errors it raises

from api.plumbing.errors import HTTPProblem
from api.plumbing.signin import PRIVATE, safe_next, signed_in_redirect
from kg.settings import Settings

if TYPE_CHECKING:  # Authlib is imported on the first sign-in: 10 MB in every server process, most never use it
    from authlib.integrations.starlette_client import StarletteOAuth2App  # type: ignore[import-untyped]

router = APIRouter(include_in_schema=False)
# the same as api.routers.editing's, which this router may not import (routers do not import each other):
# a session opened here is the one password sign-in opens (tests/test_oidc.py signs in with it)
FLOW_COOKIE = "capkg_oidc"
FLOW_PATH = "/sign-in/oidc"
FLOW_SECONDS = 600  # time to complete the sign-in at the provider
PROVIDER_TIMEOUT = 10.0
SCOPE = "openid profile"


def _editorial(request: Request) -> Any:  # kg.editorial.Editorial, made by api.app (not imported: no build chain)
    return request.app.state.editorial


def _settings(request: Request) -> Settings:
    return _editorial(request).settings


def _problem(status: int, title: str, detail: str) -> HTTPProblem:
    return HTTPProblem(status, title, detail, headers=dict(PRIVATE))


def _configured(request: Request) -> Settings:
    settings = _settings(request)
    if not settings.oidc_issuer:
        raise _problem(404, "Not found", "sign-in through an OpenID provider is not set up on this site")
    if urlsplit(settings.oidc_issuer).scheme not in {"http", "https"} or not settings.oidc_client_id:
        raise _problem(
            500,
            "OpenID Connect is misconfigured",
            "KG_OIDC_ISSUER must be an http(s) URL and KG_OIDC_CLIENT_ID must be set",
        )
    return settings


def make_client(settings: Settings) -> StarletteOAuth2App:
    """An Authlib client of the provider; it keeps the discovery document and the JWKS once read."""
    from authlib.integrations.starlette_client import StarletteOAuth2App

    return StarletteOAuth2App(
        framework=None,  # used only by Authlib's session-keeping helpers, which are not used here
        name="oidc",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "timeout": PROVIDER_TIMEOUT,
        },
    )


def client_for(request: Request, settings: Settings) -> StarletteOAuth2App:
    """The application's one client of the provider."""
    client: StarletteOAuth2App | None = getattr(request.app.state, "oidc_client", None)
    if client is None:
        client = request.app.state.oidc_client = make_client(settings)
    return client


async def provider_metadata(client: StarletteOAuth2App, settings: Settings) -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = await client.load_server_metadata()
    except (httpx.HTTPError, ValueError) as exc:
        client.server_metadata.clear()  # tried again on the next sign-in
        raise _problem(
            502, "OpenID provider unreachable", f"its discovery document could not be read ({type(exc).__name__})"
        ) from None
    if str(metadata.get("issuer", "")).rstrip("/") != settings.oidc_issuer.rstrip("/"):
        client.server_metadata.clear()
        raise _problem(502, "OpenID provider misconfigured", "its discovery document names another issuer")
    missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(key)]
    if missing:
        client.server_metadata.clear()
        said = f"its discovery document lacks {', '.join(missing)}"
        raise _problem(502, "OpenID provider misconfigured", said)
    return metadata


def callback_url(request: Request, settings: Settings) -> str:
    base = settings.oidc_redirect_base or str(request.base_url)
    return base.rstrip("/") + FLOW_PATH + "/callback"


# the flow cookie: what the callback must find again, signed -----------------------------------------------


def _flow_key(settings: Settings) -> bytes:
    secret = settings.oidc_client_secret.get_secret_value() + "\0" + settings.oidc_client_id
    return hashlib.sha256(b"capkg oidc flow cookie\0" + secret.encode()).digest()


def seal_flow(settings: Settings, flow: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(flow, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(_flow_key(settings), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def open_flow(settings: Settings, cookie: str | None) -> dict[str, Any] | None:
    """The flow the cookie holds, if it was signed here and has not expired."""
    if not cookie or len(cookie) > 4000 or "." not in cookie:
        return None
    body, _, mac = cookie.rpartition(".")
    expected = hmac.new(_flow_key(settings), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        flow = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(flow, dict) or not isinstance(flow.get("expires"), int | float) or flow["expires"] < time.time():
        return None
    return flow


# the routes ------------------------------------------------------------------------------------------------


@router.get(FLOW_PATH)
async def start(request: Request, next: str = "/contributions") -> Response:
    settings = _configured(request)
    client = client_for(request, settings)
    await provider_metadata(client, settings)
    redirect_uri = callback_url(request, settings)
    started = await client.create_authorization_url(redirect_uri)
    flow = {
        "state": started["state"],
        "nonce": started["nonce"],
        "verifier": started["code_verifier"],
        "next": safe_next(next),
        "redirect_uri": redirect_uri,
        "expires": int(time.time()) + FLOW_SECONDS,
    }
    answer = RedirectResponse(started["url"], status_code=303, headers=PRIVATE)
    answer.set_cookie(
        FLOW_COOKIE,
        seal_flow(settings, flow),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level navigation from another site
        secure=request.url.scheme == "https",
    )
    return answer


@router.get(FLOW_PATH + "/callback")
async def callback(request: Request) -> Response:
    settings = _configured(request)
    query = request.query_params
    if query.get("error"):
        status = 403 if query["error"] == "access_denied" else 400
        said = query["error"] + (f": {query['error_description']}" if query.get("error_description") else "")
        raise _problem(status, "Sign-in refused by the OpenID provider", f"the provider answered {said[:300]}")
    flow = open_flow(settings, request.cookies.get(FLOW_COOKIE))
    if flow is None:
        raise _problem(
            400,
            "Sign-in not started here",
            "this browser has no sign-in in progress (or it took more than 10 minutes): start again from /sign-in",
        )
    sent = query.get("state", "")
    if not sent or not hmac.compare_digest(sent.encode(), str(flow["state"]).encode()):
        raise _problem(
            400,
            "Sign-in state mismatch",
            "the state the provider sent back is not the one this browser was given: start again from /sign-in",
        )
    code = query.get("code", "")
    if not code:
        raise _problem(400, "No authorization code", "the provider's answer has no code")

    from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]

    client = client_for(request, settings)
    metadata = await provider_metadata(client, settings)
    if query.get("iss") and query["iss"].rstrip("/") != str(metadata["issuer"]).rstrip("/"):  # RFC 9207
        raise _problem(400, "Sign-in from another issuer", "the answer names an issuer other than the configured one")
    try:
        token = await client.fetch_access_token(
            redirect_uri=flow["redirect_uri"], code=code, code_verifier=flow["verifier"]
        )
    except OAuthError as exc:
        said = f"the provider's token endpoint answered {exc.error}"
        raise _problem(400, "Authorization code refused", said) from None
    except (httpx.HTTPError, ValueError) as exc:
        raise _problem(
            502, "OpenID provider unreachable", f"its token endpoint did not answer ({type(exc).__name__})"
        ) from None
    if "id_token" not in token:
        raise _problem(502, "No ID token", "the provider's token endpoint answered without an ID token")
    claims = await checked_id_token(client, settings, metadata, token, flow["nonce"])

    name = await _username(client, settings, token, claims)
    accounts = {account.name: account for account in await asyncio.to_thread(_editorial(request).ledger.accounts)}
    account = accounts.get(name)
    if account is None:
        raise _problem(
            403,
            "No account",
            f"no account for {name!r} on this site; ask an editor to create one (signing in never creates one)",
        )
    answer = await signed_in_redirect(request, account.name, account.role.value, str(flow["next"]))
    answer.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return answer


async def checked_id_token(
    client: StarletteOAuth2App, settings: Settings, metadata: dict[str, Any], token: dict[str, Any], nonce: str
) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), iss, aud, exp, iat and nonce check out."""
    # Authlib checks only the issuer by default: the audience and the nonce are asked for here
    checks = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": settings.oidc_client_id},
        "nonce": {"essential": True, "value": nonce},
    }
    try:
        return dict(await client.parse_id_token(token, nonce=nonce, claims_options=checks))
    except (JoseError, ValueError) as exc:
        said = f"the provider's ID token did not pass its checks: {_reason(exc)}"
        raise _problem(502, "ID token rejected", said) from None
    except httpx.HTTPError as exc:
        said = f"its keys could not be read ({type(exc).__name__})"
        raise _problem(502, "OpenID provider unreachable", said) from None


async def _username(client: StarletteOAuth2App, settings: Settings, token: dict[str, Any], claims: dict) -> str:
    """The account name: from the ID token, else (providers that keep profile claims there) from UserInfo."""
    from authlib.integrations.base_client import OAuthError

    claim = settings.oidc_username_claim
    value = claims.get(claim)
    if value is None:
        try:
            info = dict(await client.userinfo(token=token))
        except (httpx.HTTPError, OAuthError, ValueError) as exc:
            raise _problem(
                502, "OpenID provider unreachable", f"its UserInfo endpoint did not answer ({type(exc).__name__})"
            ) from None
        if info.get("sub") != claims.get("sub"):  # OpenID Connect Core 5.3.2: else the answer may be substituted
            raise _problem(502, "UserInfo rejected", "the provider's UserInfo answer is about another subject")
        value = info.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise _problem(
            403, "No account name", f"the provider did not say the account name (claim {claim!r}): ask an editor"
        )
    return value.strip()[:64]


def _reason(exc: Exception) -> str:
    said = getattr(exc, "description", None) or str(exc) or type(exc).__name__
    return str(said)[:200]
