"""Sign-in through OpenID Connect against a real OpenID provider on 127.0.0.1 (npm oidc-provider, pinned in
tests/oidc/package-lock.json, run by tests/oidc/provider.mjs), with the real server.

The whole flow in headless Chromium (the sign-in page's link, the provider's login and consent forms, back on
the site signed in), then the ways it must fail, driven with plain HTTP requests: someone the site has no
account for, a state that is not the one the browser was given, a provider error, a flow never started here,
and a site where OpenID Connect is not set up at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from api.plumbing.errors import HTTPProblem
from api.routers.oidc import checked_id_token, make_client, provider_metadata
from kg.settings import Settings
from tests.browser import chromium
from tests.conftest import ROOT, Built
from tests.server import free_port, running_server
from tests.test_editorial_browser import add_user

PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_ID, CLIENT_SECRET = "capkg-site", "a client secret for the tests only"
PROVIDER_NAME = "Test Provider"
# logins at the provider -> the preferred_username it reports; "stranger" reports itself, unknown to the site
USERS = {"olga.at.provider": "olga"}
SESSION_COOKIE = "capkg_session"


@dataclass
class Site:
    base: str
    provider: str


def install_provider() -> None:
    """oidc-provider as package-lock.json pins it, installed with `npm ci` when missing (scripts/test.sh does too)."""
    installed = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    lock = json.loads((PROVIDER_DIR / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/oidc-provider"]["version"]
    if not installed.exists() or json.loads(installed.read_text())["version"] != locked:
        npm = shutil.which("npm")
        assert npm, "npm (Node 20) is needed to install oidc-provider for this test"
        subprocess.run(
            [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PROVIDER_DIR,
            check=True,
            timeout=600,
        )
    assert json.loads(installed.read_text())["version"] == locked


def start_provider(port: int, redirect_uri: str, log: Path) -> subprocess.Popen[bytes]:
    node = shutil.which("node")
    assert node, "Node.js 20 is needed to run the OpenID provider"
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": redirect_uri,
        "OIDC_USERS": json.dumps(USERS),
    }
    output = log.open("w+b")
    process = subprocess.Popen(
        [node, str(PROVIDER_DIR / "provider.mjs")], cwd=PROVIDER_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while b"ready" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the OpenID provider did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def site(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    install_provider()
    scratch = tmp_path_factory.mktemp("oidc")
    build_dir = scratch / "build"  # a copy: never the build other tests share
    shutil.copytree(built.settings.build_dir, build_dir, symlinks=True)
    add_user(scratch / "state", "olga", "contributor", "olga's long passphrase, unused here")
    provider_port = free_port()
    provider = f"http://127.0.0.1:{provider_port}"
    with running_server(
        build_dir,
        state_dir=str(scratch / "state"),
        oidc_issuer=provider,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_name=PROVIDER_NAME,
    ) as base:
        process = start_provider(provider_port, base + "/sign-in/oidc/callback", scratch / "provider.log")
        try:
            yield Site(base, provider)
        finally:
            stop(process)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    yield from chromium(tmp_path_factory.mktemp("chromium-oidc"))


def _form(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the one form on one of the provider's pages."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action, page[:2000]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return unescape(action.group(1)), hidden


def to_callback(client: httpx.Client, site: Site, login: str, next: str = "/contributions?status=pending") -> str:
    """Start at the site, sign in at the provider as `login` and consent; the callback URL it sends back to."""
    answer = client.get(site.base + "/sign-in/oidc", params={"next": next})
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    assert url.startswith(site.provider + "/auth?")
    for _ in range(10):
        if url.startswith(site.base + "/sign-in/oidc/callback"):
            return url
        answer = client.get(url)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["location"])
            continue
        assert answer.status_code == 200, answer.text
        action, fields = _form(answer.text)
        if fields.get("prompt") == "login":
            fields |= {"login": login, "password": "any password: the provider's development login takes all"}
        answer = client.post(urljoin(url, action), data=fields)
        assert answer.status_code in (302, 303), answer.text
        url = urljoin(url, answer.headers["location"])
    raise AssertionError("the provider never sent the browser back to the site")


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(dict(parse_qsl(parts.query)) | changes)))


def test_sign_in_through_the_provider_in_a_browser(site: Site, browser: webdriver.Chrome) -> None:
    browser.get(site.base + "/contributions")  # a visitor: sent to the sign-in page
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    browser.find_element(By.LINK_TEXT, f"Sign in with {PROVIDER_NAME}").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.startswith(site.provider + "/interaction/"))
    browser.find_element(By.NAME, "login").send_keys("olga.at.provider")
    browser.find_element(By.NAME, "password").send_keys("whatever the provider's development login takes")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "prompt" in b.page_source and "Continue" in b.page_source)
    browser.find_element(By.XPATH, "//button[normalize-space()='Continue']").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.startswith(site.base + "/contributions"))
    assert urlsplit(browser.current_url).path == "/contributions"  # where the visitor was going
    bar = browser.find_element(By.CSS_SELECTOR, ".account-bar")
    assert "Signed in as olga (contributor)" in bar.text
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your proposals"
    session = browser.get_cookie(SESSION_COOKIE)
    assert session and session["httpOnly"] and session["sameSite"] == "Lax"


def test_the_session_is_a_real_one_and_next_is_kept(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        answer = client.get(to_callback(client, site, "olga.at.provider"))
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/contributions?status=pending"
        assert "capkg_oidc" not in client.cookies  # the flow cookie is spent
        page = client.get(site.base + "/contributions")
        assert page.status_code == 200 and "Signed in as <strong>olga</strong>" in page.text


def test_someone_without_an_account_is_refused_and_not_signed_in(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        answer = client.get(to_callback(client, site, "stranger"))
        assert answer.status_code == 403
        problem = answer.json()
        assert problem["title"] == "No account"
        assert "no account for 'stranger'" in problem["detail"] and "ask an editor" in problem["detail"]
        assert SESSION_COOKIE not in answer.cookies
        assert client.get(site.base + "/contributions").status_code == 303  # still to the sign-in page


def test_a_tampered_state_is_refused(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        callback = to_callback(client, site, "olga.at.provider")
        answer = client.get(with_query(callback, state="not-the-state-this-browser-was-given"))
        assert answer.status_code == 400
        assert answer.json()["title"] == "Sign-in state mismatch"
        assert SESSION_COOKIE not in answer.cookies


def test_a_callback_never_started_here_is_refused(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        callback = to_callback(client, site, "olga.at.provider")
    with httpx.Client(timeout=20) as other:  # another browser: it has no flow cookie
        answer = other.get(callback)
        assert answer.status_code == 400
        assert answer.json()["title"] == "Sign-in not started here"


def test_an_error_from_the_provider_is_named(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        started = client.get(site.base + "/sign-in/oidc")
        state = dict(parse_qsl(urlsplit(started.headers["location"]).query))["state"]
        answer = client.get(
            site.base + "/sign-in/oidc/callback",
            params={"error": "access_denied", "error_description": "the user said no", "state": state},
        )
        assert answer.status_code == 403
        assert "access_denied: the user said no" in answer.json()["detail"]


def test_the_authorization_request_uses_pkce_state_and_nonce(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        started = client.get(site.base + "/sign-in/oidc")
    query = dict(parse_qsl(urlsplit(started.headers["location"]).query))
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43  # SHA-256, base64url
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert query["redirect_uri"] == site.base + "/sign-in/oidc/callback"
    cookie = started.headers["set-cookie"].lower()
    assert "capkg_oidc=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/sign-in/oidc" in cookie


def test_an_offsite_next_is_not_followed(site: Site) -> None:
    with httpx.Client(timeout=20) as client:
        answer = client.get(to_callback(client, site, "olga.at.provider", next="//evil.example/"))
        assert answer.status_code == 303 and answer.headers["location"] == "/contributions"


def test_without_an_issuer_there_is_no_oidc_sign_in(built: Built, tmp_path_factory: pytest.TempPathFactory) -> None:
    scratch = tmp_path_factory.mktemp("no-oidc")
    with running_server(built.settings.build_dir, state_dir=str(scratch / "state"), oidc_issuer="") as base:
        assert httpx.get(base + "/sign-in/oidc", timeout=20).status_code == 404
        assert httpx.get(base + "/sign-in/oidc/callback?code=x&state=y", timeout=20).status_code == 404
        page = httpx.get(base + "/sign-in", timeout=20)
        assert page.status_code == 200 and 'action="/sign-in"' in page.text
        assert "/sign-in/oidc" not in page.text and "Sign in with" not in page.text


# the checks on the ID token and on the provider, in-process: the real provider only issues good tokens -------

ISSUER = "http://127.0.0.1:9"  # never contacted: the discovery document and the keys are given


def _settings(issuer: str = ISSUER) -> Settings:
    return Settings(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)


def _signed(key: RSAKey, **changes: object) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "u-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": "the-nonce"}
    claims |= changes
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, key)


def _check(id_token: str, key: RSAKey) -> dict[str, object]:
    settings = _settings()
    client = make_client(settings)
    client.server_metadata.update(
        {
            "issuer": ISSUER,
            "jwks_uri": ISSUER + "/jwks",
            "jwks": KeySet([key]).as_dict(private=False),
            "id_token_signing_alg_values_supported": ["RS256"],
            "_loaded_at": time.time(),
        }
    )
    token = {"id_token": id_token, "access_token": "an access token", "token_type": "Bearer"}
    return asyncio.run(checked_id_token(client, settings, client.server_metadata, token, "the-nonce"))


@pytest.fixture(scope="module")
def provider_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


def test_a_good_id_token_passes(provider_key: RSAKey) -> None:
    assert _check(_signed(provider_key), provider_key)["sub"] == "u-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-client"},
        {"aud": None},
        {"nonce": "another-nonce"},
        {"nonce": None},
        {"iss": "http://127.0.0.1:10"},
        {"exp": int(time.time()) - 3600},
    ],
    ids=["other-audience", "no-audience", "other-nonce", "no-nonce", "other-issuer", "expired"],
)
def test_a_bad_id_token_is_rejected(provider_key: RSAKey, changes: dict[str, object]) -> None:
    with pytest.raises(HTTPProblem) as refused:
        _check(_signed(provider_key, **changes), provider_key)
    assert refused.value.status == 502 and refused.value.title == "ID token rejected"


def test_an_id_token_signed_by_another_key_is_rejected(provider_key: RSAKey) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # the same key id, another key
    with pytest.raises(HTTPProblem) as refused:
        _check(_signed(impostor), provider_key)
    assert refused.value.status == 502 and refused.value.title == "ID token rejected"


def test_a_provider_that_is_down_is_a_502() -> None:
    settings = _settings(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(HTTPProblem) as failed:
        asyncio.run(provider_metadata(make_client(settings), settings))
    assert failed.value.status == 502 and failed.value.title == "OpenID provider unreachable"
