"""Serve the knowledge graph as a public service: nginx in front of several `capkg serve` replicas.

    python scripts/production.py --replicas 2 --port 8080 [--build-dir DIR] [--run-dir DIR]

1. Checks that the ports are free and that nginx accepts the rendered configuration (nginx -t).
2. Starts N replicas, each `python -m kg.cli serve` on its own loopback port (--replica-ports, by default
   the N ports after --port), all serving the same build directory. Each watches build/current, so a new
   `capkg build` goes live on every replica by itself.
3. Waits until every replica answers /ready, then starts nginx in the foreground on --host:--port with
   deploy/nginx.conf.template rendered into the run directory, and prints the public URL.
4. Supervises: a replica that exits is restarted after a back-off (1 s, 2 s, 4 s ... 30 s). nginx needs
   no reload for that: what the replica had not begun to answer, and what cannot reach it, nginx sends
   to the other replicas (proxy_next_upstream). If nginx itself exits, so does everything else (exit
   status 1), for a supervisor above this one (systemd, a container runtime) to restart.
5. SIGINT or SIGTERM: nginx stops gracefully (requests in progress are answered), then the replicas.
   SIGHUP: passed on to the replicas, which switch to build/current at once.

Files in the run directory: nginx.conf, nginx.pid, replica-<port>.pid, logs/access.log, logs/error.log,
logs/replica-<port>.log and temp/. docs/production.md explains the layout and every limit.
"""

from __future__ import annotations

import argparse
import ctypes
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
START_TIMEOUT = 120.0  # seconds the replicas (and then nginx) may take to answer at start
STOP_TIMEOUT = 15.0  # seconds each process may take to stop before it is killed
MAX_BACKOFF = 30.0
sys.path.insert(0, str(ROOT))  # the project's own settings, also when kg is not installed


@dataclass
class Replica:
    port: int
    run_dir: Path
    process: subprocess.Popen[bytes] | None = None
    ready: bool = False
    started: float = 0.0
    failures: int = 0  # exits in a row soon after starting: the back-off grows with them
    restart_at: float = 0.0

    @property
    def log(self) -> Path:
        return self.run_dir / "logs" / f"replica-{self.port}.log"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"replica-{self.port}.pid"


def say(message: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S"), "production:", message, flush=True)


def _die_with_parent() -> None:
    """In the child, before exec: if the launcher is killed outright, its children get SIGTERM (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: a killed launcher leaves its children to the process supervisor


def spawn(
    command: list[str], log: IO[bytes] | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    # Own process group: a Ctrl-C in the terminal reaches only the launcher, which stops the
    # children in order (nginx first, so no request is sent to a replica that is going away).
    stderr = subprocess.STDOUT if log else None
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=stderr, process_group=0, preexec_fn=_die_with_parent
    )


def answers_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):  # refused, 503 while loading, timeout
        return False


def stop(process: subprocess.Popen[bytes] | None, sig: signal.Signals = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Launcher:
    def __init__(self, args: argparse.Namespace) -> None:
        from kg.settings import load_settings

        self.args = args
        overrides = {"build_dir": args.build_dir} if args.build_dir else {}
        self.settings = load_settings(_env_file=ROOT / ".env", **overrides)  # what the replicas will read
        # not <build-dir>/run: the replicas keep their leases there
        self.run_dir: Path = (args.run_dir or self.settings.build_dir / "production").resolve()
        self.replicas = [Replica(port, self.run_dir) for port in args.replica_ports]
        self.nginx: subprocess.Popen[bytes] | None = None
        self.stopping = False

    # -- the nginx configuration ------------------------------------------------------------------

    def prepare_run_dir(self) -> None:
        for directory in (self.run_dir, self.run_dir / "logs", self.run_dir / "temp"):
            directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # nginx's workers run as --user (never root); nginx gives them the temp/ directories, but
            # they must be able to reach them: every directory above must be searchable by others.
            (self.run_dir / "temp").chmod(0o755)
            for directory in (self.run_dir, *self.run_dir.parents):
                if not directory.stat().st_mode & 0o001:
                    raise SystemExit(
                        f"production: {directory} is not searchable by others, so nginx's workers "
                        f"(user {self.args.user}) cannot reach {self.run_dir}/temp; choose another --run-dir"
                    )

    def render(self) -> Path:
        user = ""
        if os.geteuid() == 0:  # else nginx runs as whoever started it, and says so if `user` is given
            group = grp.getgrgid(pwd.getpwnam(self.args.user).pw_gid).gr_name
            user = f"user {self.args.user} {group};"
        servers = "\n".join(f"        server 127.0.0.1:{replica.port} max_fails=0;" for replica in self.replicas)
        values = {
            "user": user,
            "nginx_workers": "auto",
            "nofile": str(self.args.max_connections + 1024),  # sockets plus log and temp files
            "run_dir": str(self.run_dir),
            "error_log_level": self.args.error_log_level,
            "max_connections": str(self.args.max_connections),
            "client_timeout": f"{self.args.client_timeout:g}",
            "max_body_bytes": str(self.settings.max_body_bytes),
            "servers": servers,
            "listen": f"[{self.args.host}]:{self.args.port}"
            if ":" in self.args.host
            else f"{self.args.host}:{self.args.port}",
            "conn_per_client": str(self.args.conn_per_client),
            "max_requests": str(self.args.max_requests),
            # past the app's own query time budget: only a hung replica reaches it
            "read_timeout": f"{self.settings.query_timeout + 20:g}",
        }
        text = re.sub(r"\{\{ (\w+) \}\}", lambda match: values[match[1]], TEMPLATE.read_text(encoding="utf-8"))
        conf = self.run_dir / "nginx.conf"
        staged = conf.with_suffix(".conf.new")
        staged.write_text(text, encoding="utf-8")
        staged.replace(conf)  # nginx never reads half a file
        return conf

    # -- the processes ----------------------------------------------------------------------------

    def start_replica(self, replica: Replica) -> None:
        env = {
            **os.environ,
            "KG_HOST": "127.0.0.1",  # only nginx talks to the replicas
            "KG_PORT": str(replica.port),
            "KG_TRUSTED_PROXIES": "127.0.0.1",  # nginx's address: its X-Forwarded-For is the client's
            "KG_BUILD_DIR": str(self.settings.build_dir),
        }
        env.setdefault("KG_ACCESS_LOG", "false")  # nginx logs every request, without query strings
        with open(replica.log, "ab") as log:
            replica.process = spawn([sys.executable, "-m", "kg.cli", "serve"], log, env)
        replica.pid_file.write_text(f"{replica.process.pid}\n")
        replica.started, replica.ready = time.monotonic(), False

    def check_replicas(self) -> None:
        """Restart the replicas that exited; say when a (re)started one is ready."""
        now = time.monotonic()
        for replica in self.replicas:
            if replica.process is not None and replica.process.poll() is not None:
                ran = now - replica.started
                replica.failures = 0 if ran > 60 else replica.failures + 1
                delay = min(MAX_BACKOFF, 2.0 ** max(0, replica.failures - 1))
                say(
                    f"replica on port {replica.port} exited ({replica.process.returncode}) after {ran:.0f} s; "
                    f"restarting it in {delay:g} s (log: {replica.log})"
                )
                replica.process, replica.restart_at, replica.ready = None, now + delay, False
            elif replica.process is None and now >= replica.restart_at:
                self.start_replica(replica)
            elif replica.process is not None and not replica.ready and answers_ready(replica.port):
                replica.ready = True
                say(f"replica on port {replica.port} is ready (pid {replica.process.pid})")

    def preflight(self) -> list[str]:
        """Fail in a second, not after the replicas loaded: ports in use, nginx missing, a bad configuration."""
        for host, port in [(self.args.host, self.args.port), *(("127.0.0.1", r.port) for r in self.replicas)]:
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
                try:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    probe.bind((host, port))
                except OSError as exc:
                    raise SystemExit(f"production: cannot listen on {host} port {port}: {exc.strerror}") from None
        nginx = shutil.which(self.args.nginx) or shutil.which(self.args.nginx, path="/usr/sbin:/sbin")
        if nginx is None:
            raise SystemExit(f"production: {self.args.nginx} not found; install it (apt-get install nginx-light)")
        # -e: errors before the configuration is read go to stderr, not to a compiled-in path
        command = [nginx, "-e", "stderr", "-p", str(self.run_dir), "-c", str(self.render())]
        if subprocess.run([*command, "-t", "-q"], check=False).returncode != 0:
            raise SystemExit(f"production: nginx refused {self.run_dir / 'nginx.conf'}; see above")
        return command

    def start(self) -> None:
        self.prepare_run_dir()
        nginx_command = self.preflight()
        for replica in self.replicas:
            self.start_replica(replica)
        deadline = time.monotonic() + START_TIMEOUT
        while not all(replica.ready for replica in self.replicas):
            for replica in self.replicas:
                if replica.process is not None and replica.process.poll() is not None:  # at start: a mistake
                    tail = replica.log.read_text(errors="replace")[-2000:]
                    raise SystemExit(f"production: the replica on port {replica.port} did not start:\n{tail}")
            if self.stopping:
                raise SystemExit("production: stopped while starting")
            if time.monotonic() > deadline:
                raise SystemExit("production: the replicas did not become ready in time")
            self.check_replicas()
            time.sleep(0.2)
        self.nginx = spawn([*nginx_command, "-g", "daemon off;"])
        host = f"[{self.args.host}]" if ":" in self.args.host else self.args.host
        url = f"http://{host}:{self.args.port}/"
        while True:
            if self.nginx.poll() is not None:
                raise SystemExit(f"production: nginx did not start (exit {self.nginx.returncode}); see above")
            if self.stopping:
                raise SystemExit("production: stopped while starting")
            if time.monotonic() > deadline:
                raise SystemExit("production: nginx did not answer in time")
            try:
                with urllib.request.urlopen(url + "health", timeout=1):
                    break
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        ports = ", ".join(str(replica.port) for replica in self.replicas)
        say(f"serving {url} (nginx pid {self.nginx.pid}; replicas on 127.0.0.1 ports {ports}; run dir {self.run_dir})")

    def supervise(self) -> int:
        while not self.stopping:
            self.check_replicas()
            if self.nginx is not None and self.nginx.poll() is not None:
                say(f"nginx exited ({self.nginx.returncode}); stopping")
                return 1
            time.sleep(0.2)
        return 0

    def shutdown(self) -> None:
        self.stopping = True
        stop(self.nginx, signal.SIGQUIT)  # graceful: answers what it has, accepts nothing new
        for replica in self.replicas:
            stop(replica.process)
            replica.pid_file.unlink(missing_ok=True)
        say("stopped")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="API processes behind nginx (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="public port nginx listens on (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="public address nginx listens on (default 127.0.0.1)")
    parser.add_argument("--build-dir", type=Path, help="build directory to serve (default KG_BUILD_DIR, build/)")
    parser.add_argument(
        "--run-dir", type=Path, help="nginx.conf, pid files, logs, temp (default <build-dir>/production)"
    )
    parser.add_argument(
        "--replica-ports", help="comma-separated loopback ports of the replicas (default: after --port)"
    )
    parser.add_argument(
        "--client-timeout", type=float, default=10, help="seconds for a request head, a body pause, a write (10)"
    )
    parser.add_argument("--conn-per-client", type=int, default=32, help="requests in progress per address (32)")
    parser.add_argument("--max-requests", type=int, default=1024, help="requests in progress overall (1024)")
    parser.add_argument("--max-connections", type=int, default=16384, help="nginx worker_connections (16384)")
    parser.add_argument("--user", default="nobody", help="account nginx's workers run as when started as root")
    parser.add_argument(
        "--error-log-level", default="crit", help="nginx error_log level; error and below log request lines (crit)"
    )
    parser.add_argument("--nginx", default="nginx", help="nginx executable (default: nginx on PATH or /usr/sbin)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    ports = args.replica_ports.split(",") if args.replica_ports else range(args.port + 1, args.port + 1 + args.replicas)
    args.replica_ports = [int(port) for port in ports]
    if len(args.replica_ports) != args.replicas or args.port in args.replica_ports:
        parser.error("--replica-ports: one port per replica, none of them --port")
    return args


def main(argv: list[str] | None = None) -> int:
    launcher = Launcher(parse(argv))

    def stop_signal(signum: int, _frame: object) -> None:
        launcher.stopping = True

    def pass_on(signum: int, _frame: object) -> None:
        for replica in launcher.replicas:
            if replica.process is not None and replica.process.poll() is None:
                replica.process.send_signal(signal.SIGHUP)

    signal.signal(signal.SIGINT, stop_signal)
    signal.signal(signal.SIGTERM, stop_signal)
    signal.signal(signal.SIGHUP, pass_on)
    try:
        launcher.start()
        return launcher.supervise()
    finally:
        launcher.shutdown()


if __name__ == "__main__":
    sys.exit(main())
