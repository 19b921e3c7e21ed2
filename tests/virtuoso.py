"""Run a throw-away OpenLink Virtuoso (Debian's virtuoso-opensource-7-bin, 7.2.5) on loopback for tests.

Install it with scripts/install-virtuoso.sh. Usage::

    binary = virtuoso_binary()
    if binary is None:
        pytest.skip("virtuoso-t not installed")
    with virtuoso_server(tmp_path / "virtuoso") as server:
        ...  # server.query_url, server.update_url, server.gsp_url, server.user, server.password

What the server looks like:

* Everything (database, transaction log, virtuoso.ini, virtuoso.log, isql scripts) lives in `directory`.
  Both the SQL port and the HTTP port are bound to 127.0.0.1 only; DirsAllowed is just `directory`.
* ``query_url`` (``/sparql``) runs as Virtuoso's anonymous ``SPARQL`` account: SELECT only, updates are refused.
* ``update_url`` (``/sparql-auth``) and ``gsp_url`` (``/sparql-graph-crud-auth``) need HTTP *Digest*
  authentication (realm "SPARQL"; ``auth == "digest"``, e.g. ``httpx.DigestAuth(user, password)``).
  Basic auth is not accepted there.
* ``user``/``password``: a dedicated non-dba account with the SPARQL_UPDATE role (may read and write every graph).
* ``read_user``/``read_password``: an account with only the SPARQL_SELECT role. It authenticates at the
  -auth endpoints and can query, but every write (SPARQL Update or GSP PUT/POST/DELETE) is refused.
* The dba password is changed from the well-known "dba" to a random one (``dba_password``), so the
  -auth endpoints cannot be used as dba with the default password.
* ``stop()`` shuts the server down (checkpoint, then exit; killed if it takes too long); ``start()`` starts the
  same database again on the same ports and waits until HTTP answers.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

DEBIAN_BINARY = "/usr/bin/virtuoso-t"
DEBIAN_ISQL = "/usr/bin/isql-vt"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def virtuoso_binary() -> str | None:
    """Path of the virtuoso-t server binary, or None when Virtuoso is not installed."""
    found = shutil.which("virtuoso-t")
    if found:
        return found
    return DEBIAN_BINARY if os.access(DEBIAN_BINARY, os.X_OK) else None


def isql_binary() -> str | None:
    """Path of Virtuoso's isql client (Debian renames it isql-vt; plain `isql` is usually unixODBC's)."""
    for name in ("isql-vt", "isql-v"):
        found = shutil.which(name)
        if found:
            return found
    return DEBIAN_ISQL if os.access(DEBIAN_ISQL, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ini(directory: Path, sql_port: int, http_port: int) -> str:
    d = directory
    return f"""\
; written by tests/virtuoso.py
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
LiteMode = 0
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
MaxStaticCursorRows = 5000
CheckpointAuditTrail = 0
AllowOSCalls = 0
SchedulerInterval = 10
DirsAllowed = {d}
ThreadCleanupInterval = 0
ThreadThreshold = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize = 100000
SingleCPU = 0
PrefixResultNames = 0
RdfFreeTextRulesSize = 100
IndexTreeMaps = 64
MaxMemPoolSize = 50000000
MaxQueryMem = 200M
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
AsyncQueueMaxThreads = 4
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}/www
MaxClientConnections = 10
DavRoot = DAV
EnabledDavVSP = 0
HTTPProxyEnabled = 0
TempASPXDir = 0
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
MaxCachedProxyConnections = 0
ProxyConnectionCacheTimeout = 15
HTTPThreadSize = 280000
HttpPrintWarningsInOutput = 0
Charset = UTF-8
EnabledGzipContent = 0

[AutoRepair]
BadParentLinks = 0

[Client]
SQL_PREFETCH_ROWS = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT = 0
SQL_TXN_TIMEOUT = 0

[Replication]
ServerName = kg-test
ServerEnable = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxSortedTopRows = 1000000
ExternalQuerySource = 0
ExternalXsltSource = 0
DeferInferenceRulesInit = 1
ShortenLongURIs = 1
"""


@dataclass
class VirtuosoServer:
    query_url: str  # SPARQL 1.1 query endpoint, anonymous, read-only (/sparql)
    update_url: str  # SPARQL query + update endpoint, digest auth (/sparql-auth)
    gsp_url: str  # SPARQL 1.1 Graph Store HTTP Protocol endpoint, digest auth (/sparql-graph-crud-auth)
    user: str  # SPARQL_UPDATE role
    password: str
    read_user: str  # SPARQL_SELECT role only: may authenticate and query, not write
    read_password: str
    auth: str  # "digest": what the -auth endpoints require
    directory: Path
    binary: str
    isql: str
    sql_port: int
    http_port: int
    dba_password: str
    base_url: str = ""

    def __post_init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None  # not a field: keeps asdict()/replace() usable

    @property
    def log_path(self) -> Path:
        """The server's own log (ErrorLogFile) plus its stdout/stderr go here."""
        return self.directory / "virtuoso.log"

    def log_tail(self, lines: int = 40) -> str:
        texts = []
        for path in (self.directory / "virtuoso.stdout.log", self.log_path):
            try:
                texts.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(texts)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start virtuoso-t (foreground mode) on this directory and wait until its HTTP port answers."""
        if self.running:
            return
        (self.directory / "www").mkdir(parents=True, exist_ok=True)
        (self.directory / "virtuoso.lck").unlink(missing_ok=True)  # left over only after a kill
        with open(self.directory / "virtuoso.stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-f", "-c", str(self.directory / "virtuoso.ini")],
                cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # a ^C in the test runner's terminal must not reach it
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.query_url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self._kill()
                raise RuntimeError(f"virtuoso-t did not answer HTTP within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM makes virtuoso-t checkpoint and exit); kill it if it does not."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
        self.process = None

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def isql_exec(self, script: str, *, password: str | None = None) -> str:
        """Run SQL statements (each ending with ';') as dba through isql; raise on any error."""
        path = self.directory / "isql-input.sql"
        path.write_text(script, encoding="utf-8")
        result = subprocess.run(
            [self.isql, f"127.0.0.1:{self.sql_port}", "dba", password or self.dba_password,
             "VERBOSE=OFF", "BANNER=OFF", "PROMPT=OFF", "ECHO=OFF", "ERRORS=STDOUT", str(path)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )
        path.unlink(missing_ok=True)
        output = result.stdout + result.stderr
        if result.returncode != 0 or "*** Error" in output:
            raise RuntimeError(f"isql failed ({result.returncode}):\n{output}")
        return output


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def virtuoso_server(directory: Path) -> Iterator[VirtuosoServer]:
    """A fresh Virtuoso with its database in `directory`, set up for the tests; stopped on exit."""
    binary = virtuoso_binary()
    isql = isql_binary()
    if binary is None or isql is None:
        raise RuntimeError("Virtuoso is not installed (run scripts/install-virtuoso.sh)")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = _free_port(), _free_port()
    while http_port == sql_port:
        http_port = _free_port()
    (directory / "virtuoso.ini").write_text(_ini(directory, sql_port, http_port), encoding="utf-8")
    base = f"http://127.0.0.1:{http_port}"
    server = VirtuosoServer(
        query_url=f"{base}/sparql",
        update_url=f"{base}/sparql-auth",
        gsp_url=f"{base}/sparql-graph-crud-auth",
        user="kg_writer",
        password=secrets.token_hex(12),
        read_user="kg_reader",
        read_password=secrets.token_hex(12),
        auth="digest",
        directory=directory,
        binary=binary,
        isql=isql,
        sql_port=sql_port,
        http_port=http_port,
        dba_password=secrets.token_hex(12),
        base_url=base,
    )
    try:
        server.start()
        server.isql_exec(
            f"DB.DBA.USER_CREATE({_sql_string(server.user)}, {_sql_string(server.password)});\n"
            f"GRANT SPARQL_UPDATE TO \"{server.user}\";\n"
            f"DB.DBA.USER_CREATE({_sql_string(server.read_user)}, {_sql_string(server.read_password)});\n"
            f"GRANT SPARQL_SELECT TO \"{server.read_user}\";\n"
            f"DB.DBA.USER_CHANGE_PASSWORD('dba', 'dba', {_sql_string(server.dba_password)});\n"
            "checkpoint;\n",
            password="dba",
        )
        yield server
    finally:
        server.stop()
