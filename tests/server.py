"""Start the real server (uvicorn on 127.0.0.1) for tests, and make build directories for it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CANNOT_LISTEN = 7  # kg.cli's exit status when the port is in use


def _came_up(process: subprocess.Popen[bytes], url: str, log: Any, *, port_taken_is_retried: bool) -> bool:
    """Whether the server answers 200 at `url` within a minute; False if it found its port taken (and may try
    another); otherwise a failure to start raises, with the server's output."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200 and process.poll() is None:  # ours answered, not another
                return True
        except httpx.HTTPError:
            pass
        if process.poll() == CANNOT_LISTEN and port_taken_is_retried:
            return False
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"server did not start:\n{output}")
        time.sleep(0.2)


def make_build(directory: Path, quads: str, version: str = "test") -> Path:
    """A minimal build directory (dataset.nq + summary.json) the server can serve."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dataset.nq").write_text(quads, encoding="utf-8")
    graphs: dict[str, int] = {}
    for line in quads.splitlines():
        if line.strip():
            graph = line.rstrip(" .").rsplit(" ", 1)[-1].strip("<>")
            graphs[graph] = graphs.get(graph, 0) + 1
    (directory / "summary.json").write_text(json.dumps({"version": version, "graphs": graphs}), encoding="utf-8")
    current = directory.parent / "current"
    if not current.exists():
        current.symlink_to(directory, target_is_directory=True)
    return directory.parent


def start_server(
    env: dict[str, str],
    log: Any,
    wait_for: str = "/ready",
    *,
    max_file_bytes: int | None = None,
    own_group: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    """`capkg serve` on a free loopback port with `env` (KG_HOST and KG_PORT added), its output to `log`;
    returns the process and base URL once `wait_for` answers 200. `own_group`: in a process group of its own
    (a test that kills it with SIGKILL takes its children too). `max_file_bytes`: see `running_server`."""

    def limits() -> None:
        if max_file_bytes is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    for attempt in range(3):
        port = free_port()  # free now; another socket may take it before the server binds it: then another port
        process = subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "serve"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**env, "KG_HOST": "127.0.0.1", "KG_PORT": str(port)}, start_new_session=own_group,
            preexec_fn=limits if max_file_bytes is not None else None,  # noqa: PLW1509 (no threads start before it)
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        if _came_up(process, base + wait_for, log, port_taken_is_retried=attempt < 2):
            return process, base
    raise AssertionError("unreachable: the last attempt raises")


@contextmanager
def running_server(
    build_dir: Path,
    log_file: Path | None = None,
    wait_for: str = "/ready",
    max_file_bytes: int | None = None,
    **settings: str,
) -> Iterator[str]:
    """uvicorn serving `build_dir`/current on a free loopback port; yields the base URL.

    `max_file_bytes`: no file the server (or a process it starts) writes may grow past it (RLIMIT_FSIZE):
    a disk that fills up, for the files that matter, without filling the machine's disk.

    The server's output goes to `log_file` when given (tests read it), else to a temporary file. It is
    up once `wait_for` answers 200 (/health: listening, though perhaps not ready).
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("KG_STORE_")}  # the test says which store
    env = {**inherited, "KG_BUILD_DIR": str(build_dir), **{f"KG_{k.upper()}": str(v) for k, v in settings.items()}}
    # a pipe nobody reads could fill up and block the server
    log = open(log_file, "w+b") if log_file else tempfile.TemporaryFile()  # noqa: SIM115
    try:
        process, base = start_server(env, log, wait_for, max_file_bytes=max_file_bytes)
    except BaseException:
        log.close()
        raise
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
