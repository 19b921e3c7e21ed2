"""External SPARQL stores for the tests: a real Oxigraph server (and Virtuoso) on 127.0.0.1.

`serving(store, build_dir, scratch)` starts the API the way a user would run it: for "embedded"
on its own store; for "oxigraph" or "virtuoso" it starts that server, publishes the build into
it (kg.engines.publish, through the Graph Store Protocol) and starts the API with KG_STORE_* pointing
at it. Module fixtures parametrised with STORES run the same tests on each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.server import free_port, running_server

STORES = ["embedded", "oxigraph", pytest.param("virtuoso", marks=pytest.mark.virtuoso)]
STORE_QUERY_TIMEOUT_S = 5  # the store's own limit, so a query the API gave up on does not run on forever


def oxigraph_binary() -> str:
    """The `oxigraph` server from PyPI's oxigraph package (a test dependency), installed beside this Python."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("the oxigraph server is not installed: pip install -e '.[test]' brings it")
    return found


@dataclass
class OxigraphServer:
    location: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> dict[str, str]:
        return {
            "store_query_url": self.base + "/query",
            "store_update_url": self.base + "/update",
            "store_gsp_url": self.base + "/store",
        }

    def start(self) -> None:
        self.log = open(self.location.parent / f"{self.location.name}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                oxigraph_binary(),
                "serve",
                "--location",
                str(self.location),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout-s",
                str(STORE_QUERY_TIMEOUT_S),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(self.base + "/query?query=ASK%7B%7D", self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the store stopped at start (exit {process.returncode})")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the store did not answer within {timeout:g} s")


@contextmanager
def oxigraph_server(directory: Path) -> Iterator[OxigraphServer]:
    server = OxigraphServer(directory / "oxigraph")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def external_store(kind: str, scratch: Path) -> Iterator[dict[str, str]]:
    """A running store of `kind` and the KG_STORE_* settings that reach it."""
    if kind == "oxigraph":
        with oxigraph_server(scratch) as server:
            yield server.settings
    elif kind == "virtuoso":
        from tests.virtuoso import virtuoso_binary, virtuoso_server

        if virtuoso_binary() is None:
            raise RuntimeError(
                "Virtuoso is not installed: scripts/install-virtuoso.sh installs it (scripts/test.sh "
                "runs it); or deselect these tests with -m 'not virtuoso'"
            )
        with virtuoso_server(scratch / "virtuoso") as server:
            yield {
                "store_query_url": server.query_url,
                "store_update_url": server.update_url,
                "store_gsp_url": server.gsp_url,
                "store_user": server.user,
                "store_password": server.password,
                "store_auth": server.auth,
            }
    else:
        raise ValueError(kind)


def publish_build(build_dir: Path, store_settings: dict[str, str]) -> None:
    """Load build_dir/current into the store, as `capkg publish` does."""
    from kg.engines.publish import publish
    from kg.settings import Settings

    publish(Settings(build_dir=build_dir, **store_settings), (build_dir / "current").resolve())


@contextmanager
def serving(store: str, build_dir: Path, scratch: Path, **settings: str) -> Iterator[str]:
    """The API over build_dir/current, on the embedded store or on an external one; yields its base URL."""
    if store == "embedded":
        with running_server(build_dir, **settings) as base:
            yield base
        return
    scratch.mkdir(parents=True, exist_ok=True)
    with external_store(store, scratch) as store_settings:
        publish_build(build_dir, store_settings)
        with running_server(build_dir, **settings, **store_settings) as base:
            yield base
