"""Issue #11: small failures, each answered properly. Against the real server on 127.0.0.1, or the CLI.

1 an invalid IRI is a 400 naming the field · 2 country codes are ASCII · 3 unknown and repeated query
parameters are 400 · 4 a client that disconnects is one log line · 5 X-Forwarded-* only from configured
proxies · 6 `capkg build --if-changed` · 7 `capkg serve` binds first and says when the port is taken ·
8 the access log · 9 a full disk is exit 5.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Built
from tests.server import free_port, running_server

PROBLEM = "application/problem+json"


@dataclass
class Server:
    base: str
    log: Path

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=30, **kwargs)

    def log_text(self, start: int = 0) -> str:
        return self.log.read_bytes()[start:].decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The API with no trusted proxy (so this client on 127.0.0.1 is not one), its output in a file."""
    log = tmp_path_factory.mktemp("small-failures") / "server.log"
    with running_server(built.settings.build_dir, log_file=log, trusted_proxies="") as base:
        yield Server(base, log)


def capkg(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=timeout,
    )


def assert_problem(response: httpx.Response, status: int, field: str | None, *phrases: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert body["field"] == field, body
    for phrase in phrases:
        assert phrase in body["detail"], body
    return body


# 1 ------------------------------------------------------------------------------------------------


def test_invalid_iris_are_400_naming_the_field_and_the_reason(server: Server) -> None:
    start = server.log.stat().st_size
    body = assert_problem(server.get("/id/material/%25zz"), 400, "path", "is not a valid IRI", "%zz")
    assert body["title"] == "Invalid IRI"
    response = server.get("/api/queries/related_materials", params={"material": "https://x/%zz"})
    body = assert_problem(response, 400, "material", "'https://x/%zz' is not a valid IRI", "percent encoding")
    assert body["title"] == "Invalid IRI"
    # a valid IRI that names nothing is still an empty answer, not an error
    assert server.get("/api/queries/related_materials", params={"material": "https://x/%41"}).json() == []
    assert "Traceback" not in server.log_text(start)


def test_a_path_with_a_line_break_is_400_not_the_resource_without_it(server: Server) -> None:
    """Route patterns end in `$`, which matches before a final line break: the break must not be dropped."""
    assert server.get("/id/challenge/01").status_code == 200
    for path, code in [("/id/challenge/01%0A", "U+000A"), ("/id/challenge/01%0D", "U+000D"), ("/search%00", "U+0000")]:
        body = assert_problem(server.get(path), 400, "path", code, "control character")
        assert body["title"] == "Bad request"
    assert server.get("/id/challenge/01%20").status_code == 404  # not a control character: simply no such thing


# 2 ------------------------------------------------------------------------------------------------


def test_country_codes_are_ascii_letters_only(server: Server) -> None:
    assert "ıt".upper() == "IT"  # the trap: a dotless i upper-cases to I
    response = server.get("/api/countries/ıt")
    assert_problem(response, 404, None, "there is no country with the code 'ıt'", "two ASCII letters")
    assert "Italy" not in response.text
    italy = server.get("/api/countries/it")
    assert italy.status_code == 200 and italy.json()["name"] == "Italy"
    response = server.get("/api/queries/materials_in_country", params={"country": "ıt"})
    assert_problem(response, 400, "country", "'ıt' is not an ISO 3166-1 alpha-2 country code")
    assert_problem(server.get("/api/materials", params={"country": "ıt"}), 400, "country")
    assert server.get("/api/queries/materials_in_country", params={"country": "it"}).status_code == 200


# 3 ------------------------------------------------------------------------------------------------


def test_unknown_or_repeated_query_parameters_are_400_naming_the_parameter(server: Server) -> None:
    response = server.get("/api/queries/countries", params={"bogus": "1"})
    assert_problem(response, 400, "bogus", "/api/queries/countries takes no parameter 'bogus'; it takes format")
    response = server.get("/api/queries/materials_in_country", params=[("country", "AT"), ("country", "FI")])
    assert_problem(response, 400, "country", "'country' is given more than once")
    response = server.get("/api/queries", params={"name": "countries"})
    assert_problem(response, 400, "name", "takes no parameter 'name'")
    assert server.get("/api/queries/materials_in_country", params={"country": "AT", "format": "json"}).json()

    response = server.get("/api/materials", params=[("page", "1"), ("page", "2")])
    assert_problem(response, 400, "page", "'page' is given more than once; /api/materials takes one value of it")
    response = server.get("/api/materials", params={"bogus": "1"})
    assert_problem(
        response,
        400,
        "bogus",
        "/api/materials takes no parameter 'bogus'; it takes category, country, format, hashtag, page, per_page, q, "
        "sort, subcategory, type, year_from, year_to",
    )
    assert_problem(server.get("/api/materials/facets", params={"page": "2"}), 400, "page", "no parameter 'page'")
    assert_problem(server.get("/api/countries", params={"sort": "name"}), 400, "sort", "/api/countries takes")
    response = server.get("/api/materials/greek-moc", params=[("format", "json"), ("format", "jsonld")])
    assert_problem(response, 400, "format", "more than once")
    ok = server.get("/api/materials", params={"page": "2", "per_page": "10", "sort": "title", "format": "json"})
    assert ok.status_code == 200 and ok.json()["page"] == 2


# 4 ------------------------------------------------------------------------------------------------


def test_a_client_that_disconnects_mid_body_is_one_log_line(server: Server) -> None:
    start = server.log.stat().st_size
    port = int(server.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100000\r\n\r\n0123456789"
        )
        time.sleep(0.3)
    deadline = time.monotonic() + 20
    while "POST /sparql" not in server.log_text(start) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # anything else it would write
    text = server.log_text(start)
    assert "Traceback" not in text and "Exception in ASGI application" not in text, text
    assert [line for line in text.splitlines() if "disconnect" in line] == [
        next(line for line in text.splitlines() if "client disconnected: POST /sparql (ClientDisconnect)" in line)
    ]
    assert re.search(r'"POST /sparql HTTP/1.1" 499 ', text), text
    assert len(text) < 600, text  # one line and its access-log line, not 10 KB
    assert server.get("/health").status_code == 200


# 5 ------------------------------------------------------------------------------------------------


def test_forwarded_headers_from_a_client_that_is_no_configured_proxy_change_nothing(server: Server) -> None:
    start = server.log.stat().st_size
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for headers in (forged, {}, forged):  # the second and third are answered from the cache
        response = server.get("/api/materials", params={"per_page": "10", "sort": "title"}, headers=headers)
        assert response.status_code == 200
        links = re.findall(r"<([^>]+)>", response.headers["link"])
        assert len(links) >= 2 and all(link.startswith(server.base + "/api/materials?") for link in links), links
    assert "203.0.113.9" not in server.log_text(start)


def test_forwarded_headers_from_a_configured_proxy_are_believed(built: Built, tmp_path: Path) -> None:
    with running_server(
        built.settings.build_dir, log_file=tmp_path / "server.log", trusted_proxies="127.0.0.1"
    ) as base:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        response = httpx.get(base + "/api/materials", params={"per_page": "10"}, headers=headers, timeout=30)
        assert response.status_code == 200
        assert response.headers["link"].startswith("<https://127.0.0.1:"), response.headers["link"]
        line = re.compile(r'203\.0\.113\.9 "GET /api/materials\?per_page=10 HTTP/1.1" 200')
        deadline = time.monotonic() + 20  # the access line is written once the answer is sent
        while not line.search(log := (tmp_path / "server.log").read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert line.search(log), log[-2000:]


# 6 ------------------------------------------------------------------------------------------------


def test_build_if_changed_skips_an_unchanged_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    env = {"KG_DATA_DIR": str(data), "KG_BUILD_DIR": str(tmp_path / "build")}
    first = capkg("build", "--if-changed", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("built "), first.stdout
    version = re.search(r"version (\w+)", first.stdout)
    assert version is not None
    fingerprint = (tmp_path / "build" / "current-inputs.sha256").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}  \S+-" + version.group(1) + r"\n", fingerprint), fingerprint

    releases = sorted((tmp_path / "build" / "releases").iterdir())
    again = capkg("build", "--if-changed", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"the build is up to date ({version.group(1)})"
    assert sorted((tmp_path / "build" / "releases").iterdir()) == releases  # nothing was built

    # a changed input is built: made malformed, the build is attempted (and stops, exit 3) ...
    curation = data / "curation" / "materials.yaml"
    original = curation.read_bytes()
    curation.write_bytes(original + b"\n: [unclosed\n")
    changed = capkg("build", "--if-changed", "--quiet", env=env)
    assert changed.returncode == 3, changed.stdout + changed.stderr
    # ... and once it is as it was, the current build is again the one made from it
    curation.write_bytes(original)
    restored = capkg("build", "--if-changed", env=env)
    assert restored.returncode == 0 and "the build is up to date" in restored.stdout, restored.stderr
    # a plain build always builds
    assert capkg("build", "--quiet", env=env).stdout.startswith("built ")


def test_run_sh_builds_only_if_changed() -> None:
    assert "capkg build --if-changed" in (ROOT / "scripts" / "run.sh").read_text()


# 7 ------------------------------------------------------------------------------------------------


def test_serve_says_when_the_port_is_taken(built: Built) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = capkg("serve", "--port", str(port), env={"KG_BUILD_DIR": str(built.settings.build_dir)}, timeout=120)
    assert result.returncode == 7, result.stdout + result.stderr
    assert f"port {port} on 127.0.0.1 is already in use; set KG_PORT or --port" in result.stderr
    assert "SPARQL endpoint" not in result.stdout  # no addresses printed for a server that is not there


@contextmanager
def serving(
    built: Built, errors: Any = subprocess.DEVNULL, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "KG_BUILD_DIR": str(built.settings.build_dir), **env},
        stdout=subprocess.PIPE,
        stderr=errors,
        bufsize=0,  # unbuffered: what select sees is what readline reads
    )
    try:
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_prints_the_addresses_once_they_answer(built: Built) -> None:
    with serving(built, KG_ACCESS_LOG="false") as (process, port):
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 90)
        assert ready, "the server printed nothing in 90 s"
        first = process.stdout.readline().decode()
        assert first.strip() == f"pages            http://127.0.0.1:{port}/", first
        # printed means listening, and started: the first try answers, no retry
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/categories", timeout=30).status_code in (200, 503)
        time.sleep(0.3)
        process.terminate()
        rest = process.communicate(timeout=30)[0].decode()
    assert "SPARQL endpoint" in rest
    assert "GET /" not in rest and "HTTP/1.1" not in rest, rest  # KG_ACCESS_LOG=false: no access log


@pytest.mark.parametrize("http_workers", ["1", "2"])
def test_sigterm_stops_the_server_cleanly(built: Built, http_workers: str, tmp_path: Path) -> None:
    """SIGTERM, as a service manager sends it: the requests end, the process exits 0 as on Ctrl-C, and Python's
    exit handlers run, so the query workers' forkserver leaves no temporary directory behind (uvicorn raises
    SIGTERM again after its graceful shutdown; by default that killed the process before they ran). With two
    HTTP workers, whose processes still end by that SIGTERM, the supervisor removes their directories."""
    errors = tmp_path / "stderr.txt"
    # a short path: the forkserver's socket lies two levels below it, and a socket's path has at most 107 bytes
    with tempfile.TemporaryDirectory(prefix="kg") as temp, errors.open("wb") as error_file:
        own_temp = Path(temp)
        env = {"KG_ACCESS_LOG": "false", "TMPDIR": str(own_temp), "KG_HTTP_WORKERS": http_workers}
        with serving(built, error_file, **env) as (process, port):
            _wait_until_ready(port)
            if http_workers == "1":  # the forkserver's directory, with its socket
                assert [path.name[:5] for path in own_temp.iterdir()] == ["pymp-"]
            else:  # the supervisor's directory, and in it each HTTP worker's forkserver's
                assert [path.name[:6] for path in own_temp.iterdir()] == ["capkg-"]
                assert len(list(own_temp.glob("capkg-*/pymp-*/listener-*"))) == 2
            process.terminate()
            assert process.wait(timeout=30) == 0
        assert list(own_temp.iterdir()) == []
    assert "Traceback" not in errors.read_text(errors="replace")


def _wait_until_ready(port: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError("the server was not ready in 90 s")


# 8 ------------------------------------------------------------------------------------------------


def test_access_log_one_line_per_request_without_bodies_or_credentials(server: Server) -> None:
    start = server.log.stat().st_size
    secrets = {"Authorization": "Bearer SECRET-TOKEN-1", "Cookie": "session=SECRET-COOKIE-2"}
    assert server.get("/api/materials", params={"page": "2", "per_page": "5"}, headers=secrets).status_code == 200
    query = 'ASK { ?s ?p "SECRET-BODY-3" }'
    answer = httpx.post(
        server.base + "/sparql",
        content=query.encode(),
        headers={"Content-Type": "application/sparql-query", **secrets},
        timeout=30,
    )
    assert answer.status_code == 200
    assert server.get("/api/materials", params={"page": "0"}).status_code == 400
    deadline = time.monotonic() + 10
    while server.log_text(start).count("\n") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = server.log_text(start).splitlines()
    line = r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} 127\.0\.0\.1 "%s HTTP/1\.1" %d \d+\.\dms \d+B$'
    assert [bool(re.match(line % (r"GET /api/materials\?page=2&per_page=5", 200), x)) for x in lines].count(True) == 1
    assert any(re.match(line % ("POST /sparql", 200), x) for x in lines), lines
    assert any(re.match(line % (r"GET /api/materials\?page=0", 400), x) for x in lines), lines
    assert "SECRET" not in server.log_text(), "a body, an Authorization or a Cookie header reached the log"


# 9 ------------------------------------------------------------------------------------------------


@contextmanager
def tiny_disk(path: Path) -> Iterator[bool]:
    """A 200 KiB tmpfs at `path` when this test runs as root and may mount; False if it could not."""
    path.mkdir()
    mounted = False
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount"):
        command = ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(path)]
        mounted = subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], capture_output=True, timeout=30)


# without a tmpfs: the same build, with every write under the build directory failing as a full disk would
SIMULATED_FULL_DISK = """
import errno, os, pathlib, sys
build = os.environ["KG_BUILD_DIR"]
write_bytes, write_text = pathlib.Path.write_bytes, pathlib.Path.write_text
def full(original):
    def write(self, *args, **kwargs):
        if str(self).startswith(build + os.sep):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, *args, **kwargs)
    return write
pathlib.Path.write_bytes, pathlib.Path.write_text = full(write_bytes), full(write_text)
sys.argv = ["capkg", "build", "--quiet"]
from kg.cli import app
app()
"""


def test_a_full_disk_is_exit_5_naming_where(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    with tiny_disk(disk) as mounted:
        env = {"KG_BUILD_DIR": str(disk)}
        if mounted:
            result = capkg("build", "--quiet", env=env)
        else:
            result = subprocess.run(
                [sys.executable, "-c", SIMULATED_FULL_DISK],
                capture_output=True,
                text=True,
                env={**os.environ, **env},
                cwd=ROOT,
                timeout=300,
            )
        assert result.returncode == 5, (mounted, result.stdout, result.stderr)
        message = " ".join(result.stderr.split())
        assert "Build output unavailable" in message and "no space left on the device" in message, message
        assert str(disk) in message, message
        assert not (disk / "current").exists()
