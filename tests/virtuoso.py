"""Run a throw-away OpenLink Virtuoso (Debian's virtuoso-opensource-7-bin, 7.2.5) on loopback for tests.

Install it with scripts/install-virtuoso.sh, then::

    if virtuoso_binary() is None:
        pytest.skip("virtuoso-t not installed")
    with virtuoso_server(tmp_path / "virtuoso") as server:
        ...  # server.query_url, server.update_url, server.gsp_url, server.user, server.password

The server:

* Everything (virtuoso.ini, database, transaction log, virtuoso.log, virtuoso.stdout.log) lives in `directory`.
  The SQL port and the HTTP port are free ports bound to 127.0.0.1 only; DirsAllowed is only `directory`.
* ``query_url`` (``/sparql``) runs as Virtuoso's anonymous ``SPARQL`` account: queries only; SPARQL Update there is
  refused with HTTP 500 ("SR186:SECURITY: No permission to execute procedure ...").
* ``update_url`` (``/sparql-auth``: query and update) and ``gsp_url`` (``/sparql-graph-crud-auth``: SPARQL 1.1 Graph
  Store Protocol) need HTTP **Digest** auth, realm "SPARQL" (``auth == "digest"``; ``httpx.DigestAuth``). Basic
  credentials get 401 without a challenge.
* ``user``/``password``: a dedicated non-dba account with the SPARQL_UPDATE role (reads and writes every graph).
* ``read_user``/``read_password``: an account with only the SPARQL_SELECT role. It authenticates at both -auth
  endpoints and can query and GSP GET; SPARQL Update gets 500 (SR186), GSP PUT/POST/DELETE get 403.
* The dba password is changed from the well-known "dba" to a random ``dba_password`` (used by `isql_exec`), so the
  -auth endpoints cannot be used as dba with the default password.
* Outgoing fetches are cut down: LOAD, the sponger (``DEFINE get:soft``, FROM <http://...> fetching) and SERVICE are
  revoked for every account. Virtuoso still lets any account call ``bif:http_get`` from a query, so tests must never
  send such a query for anything but a 127.0.0.1 address.
* ``stop()`` sends SIGTERM (Virtuoso does a "quick shutdown": no checkpoint, the transaction log is replayed at the
  next start, so nothing committed is lost) and kills it if it has not exited after 30 s; ``start()`` starts the
  same database again on the same ports and waits until HTTP answers. A fresh server is up in about 2 s, a restart
  in about 1.5 s.

Virtuoso 7.2.5 traps for whoever talks to it (checked by hand against this server):

* A POST with ``Content-Type: application/sparql-query`` never gets an answer (openlink/virtuoso-opensource#842):
  send queries form-encoded (``query=``) or by GET.
* A GSP PUT/POST with a chunked body (no Content-Length) answers 201/204 but stores nothing: send bytes.
* A GSP PUT is not atomic for concurrent readers (they can see the graph empty or half loaded).
* With default-graph-uri but no named-graph-uri, GRAPH ?g still sees every graph; with no dataset parameters the
  default graph is the union of all graphs, Virtuoso's own system graphs included.
"""

from __future__ import annotations

import ctypes
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
    """Path of Virtuoso's isql client: Debian names it isql-vt (a plain `isql` is usually unixODBC's, not this)."""
    for name in ("isql-vt", "isql-v"):
        found = shutil.which(name)
        if found:
            return found
    return DEBIAN_ISQL if os.access(DEBIAN_ISQL, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the test process dies, so no Virtuoso outlives a killed run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _ini(directory: Path, sql_port: int, http_port: int) -> str:
    d = directory
    return f"""\
; written by tests/virtuoso.py: a small loopback-only test server
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
; the default ResultSetMaxRows (10000 in Debian's ini) silently truncates results; no execution-time limit either,
; since Virtuoso then returns partial ("anytime") results with a 200
ResultSetMaxRows = 1000000
MaxSortedTopRows = 1000000
ExternalQuerySource = 0
ExternalXsltSource = 0
DeferInferenceRulesInit = 1
ShortenLongURIs = 1
"""


# Run once as dba on a fresh database. GRANT SPARQL_UPDATE brings SPARQL_SPONGE along, whose procedures fetch
# remote documents (sponger, SERVICE): they are revoked from the roles, as is LOAD.
_SETUP_SQL = """\
DB.DBA.USER_CREATE({user}, {password});
GRANT SPARQL_UPDATE TO "{user_name}";
DB.DBA.USER_CREATE({read_user}, {read_password});
GRANT SPARQL_SELECT TO "{read_user_name}";
REVOKE EXECUTE ON DB.DBA.SPARUL_LOAD FROM SPARQL_UPDATE;
REVOKE EXECUTE ON DB.DBA.SPARUL_LOAD_SERVICE_DATA FROM SPARQL_UPDATE;
REVOKE EXECUTE ON DB.DBA.SPARUL_LOAD_SERVICE_DATA FROM SPARQL_SPONGE;
REVOKE EXECUTE ON DB.DBA.SPARUL_LOAD_SERVICE_DATA FROM SPARQL_LOAD_SERVICE_DATA;
REVOKE EXECUTE ON DB.DBA.RDF_SPONGE_UP FROM SPARQL_SPONGE;
REVOKE EXECUTE ON DB.DBA.RDF_SPONGE_UP_1 FROM SPARQL_SPONGE;
REVOKE EXECUTE ON DB.DBA.RDF_SPONGE_UP_LIST FROM SPARQL_SPONGE;
REVOKE EXECUTE ON DB.DBA.SPARQL_SINV_IMP FROM SPARQL_SPONGE;
REVOKE SELECT ON DB.DBA.SPARQL_SINV_2 FROM SPARQL_SPONGE;
DB.DBA.USER_CHANGE_PASSWORD('dba', 'dba', {dba_password});
checkpoint;
"""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
        """Virtuoso's own log (ErrorLogFile). Its stdout/stderr, the same lines plus early errors, go to
        virtuoso.stdout.log beside it."""
        return self.directory / "virtuoso.log"

    def log_tail(self, lines: int = 40) -> str:
        for path in (self.directory / "virtuoso.stdout.log", self.log_path):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                return f"--- {path}\n" + "\n".join(text.splitlines()[-lines:])
        return "(no log output)"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start virtuoso-t in the foreground on this directory and wait until its HTTP port answers."""
        if self.running:
            return
        (self.directory / "www").mkdir(parents=True, exist_ok=True)
        (self.directory / "virtuoso.lck").unlink(missing_ok=True)  # left behind only when it was killed
        with open(self.directory / "virtuoso.stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-f", "-c", str(self.directory / "virtuoso.ini")],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a ^C meant for pytest must not reach it: stop() shuts it down
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"virtuoso-t exited with {code} while starting:\n{self.log_tail()}")
            try:
                if httpx.get(self.query_url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self._kill()
                raise RuntimeError(f"virtuoso-t did not answer HTTP within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Shut the server down (SIGTERM: quick shutdown, the log is replayed on start()); kill it if it hangs."""
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
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def isql_exec(self, script: str, *, password: str | None = None) -> str:
        """Run SQL statements (each ending with ';') as dba through isql; raise on any error.

        isql exits 0 even when a statement fails, so its output is checked for '*** Error' too."""
        path = self.directory / f"isql-{os.getpid()}-{secrets.token_hex(4)}.sql"
        path.write_text(script, encoding="utf-8")
        command = [
            self.isql,
            f"127.0.0.1:{self.sql_port}",
            "dba",
            password or self.dba_password,
            "VERBOSE=OFF",
            "BANNER=OFF",
            "PROMPT=OFF",
            "ECHO=OFF",
            "ERRORS=STDOUT",
            str(path),
        ]
        try:
            deadline = time.monotonic() + 20
            while True:
                result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
                output = result.stdout + result.stderr
                # the SQL listener comes up just after HTTP: retry a refused connection for a while
                if "CL033" in output and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                if result.returncode != 0 or "*** Error" in output:
                    raise RuntimeError(f"isql failed (exit {result.returncode}):\n{output}")
                return output
        finally:
            path.unlink(missing_ok=True)


@contextmanager
def virtuoso_server(directory: Path) -> Iterator[VirtuosoServer]:
    """A fresh Virtuoso with its database in `directory` (created; must not hold an old database), ready for the
    tests; stopped on exit."""
    binary = virtuoso_binary()
    isql = isql_binary()
    if binary is None or isql is None:
        raise RuntimeError("Virtuoso is not installed (run scripts/install-virtuoso.sh)")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "virtuoso.db").exists():
        raise RuntimeError(f"{directory} already holds a Virtuoso database; give virtuoso_server() a new directory")
    sql_port = _free_port()
    http_port = _free_port()
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
            _SETUP_SQL.format(
                user=_sql_string(server.user),
                password=_sql_string(server.password),
                user_name=server.user,
                read_user=_sql_string(server.read_user),
                read_password=_sql_string(server.read_password),
                read_user_name=server.read_user,
                dba_password=_sql_string(server.dba_password),
            ),
            password="dba",
        )
        yield server
    finally:
        server.stop()
