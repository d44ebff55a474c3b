"""Replicas of ``streamlit run app.py`` behind Debian's HAProxy, all on 127.0.0.1, for the scale-out tests.

HAProxy reads the deployment's own template, ``deploy/haproxy.cfg``, filled in through its environment
variables (REPLICA_1, REPLICA_2, HAPROXY_BIND, HAPROXY_STATS), exactly as ``deploy/run_replicas.sh`` does.
Each process runs in its own session so that it can be stopped with what it started (a replica's training
process). Every wait is bounded.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from local_app import streamlit_command

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = PROJECT_ROOT / "deploy" / "haproxy.cfg"
START_TIMEOUT_S = 90.0      # replicas import Streamlit, NumPy and Plotly on 2 shared cores
STOP_GRACE_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    """(status, body) of a GET, or (0, error text) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as err:
        return 0, str(err)


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.25, on_fail=lambda: ""):
    """Poll ``condition()`` until it is truthy (returns its value); fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:.0f} s\n{on_fail()}", pytrace=False)
        time.sleep(interval_s)


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started in its own session, with whatever it started (the training process)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
    try:   # leftovers of the group (the child of a replica killed hard), then the leader
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=STOP_GRACE_S)


@dataclass
class Replica:
    name: str            # HAProxy's server name, also the value of its SERVERID cookie: r1, r2, ...
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class LogLine:
    """One request as HAProxy logged it (the log-format of deploy/haproxy.cfg)."""
    server: str          # r1, r2, or <NOSRV>
    status: int
    flags: str           # termination state and cookie flags, e.g. "--VN" (cookie valid, not re-inserted)
    method: str
    path: str
    cookie: str          # the SERVERID value the browser sent ("" when none)


_LOG_RE = re.compile(r'^\S+ \S+/(\S+) (-?\d+) (\S{4}) "(\S+) (\S+)[^"]*" (\S+)')


@dataclass
class Cluster:
    """Replicas of the app behind HAProxy, all on 127.0.0.1."""
    replicas: list[Replica]
    port: int
    stats_port: int
    haproxy: subprocess.Popen
    haproxy_log: Path
    cookie_secret: str
    _stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def replica(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's statistics of the app's backend, per server name (status, scur, stot, ...)."""
        status, body = http_get(f"http://127.0.0.1:{self.stats_port}/;csv")
        if status != 200:
            return {}
        rows = csv.DictReader(io.StringIO(body.lstrip("# ")))
        return {row["svname"]: row for row in rows if row["pxname"] == "streamlit"}

    def server_status(self, name: str) -> str:
        return self.stats().get(name, {}).get("status", "")

    def requests(self) -> list[LogLine]:
        lines = []
        for text in self.haproxy_log.read_text(errors="replace").splitlines():
            m = _LOG_RE.match(text)
            if m:
                server, status, flags, method, path, cookie = m.groups()
                cookie = cookie.split("=", 1)[1] if cookie.startswith("SERVERID=") else ""
                lines.append(LogLine(server, int(status), flags, method, path, cookie))
        return lines

    def diagnostics(self) -> str:
        parts = [f"--- haproxy log (tail) ---\n{self.haproxy_log.read_text(errors='replace')[-3000:]}"]
        for r in self.replicas:
            parts.append(f"--- replica {r.name} :{r.port} (tail) ---\n{r.output()[-2000:]}")
        return "\n".join(parts)

    def kill(self, name: str) -> None:
        """Kill a replica hard (SIGKILL to it and its training process), as a crash would."""
        stop_group(self.replica(name).proc, signal.SIGKILL)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        stop_group(self.haproxy)
        for r in self.replicas:
            stop_group(r.proc)


def start_replica(name: str, cookie_secret: str, log_dir: Path, extra_env: dict[str, str] | None = None) -> Replica:
    port = free_port()
    log = log_dir / f"replica-{name}.log"
    cmd = streamlit_command(port)
    # The shared secret goes in the environment (as in deploy/), not on the command line where `ps` shows it.
    env = dict(os.environ, PYTHONUNBUFFERED="1", STREAMLIT_SERVER_COOKIE_SECRET=cookie_secret, **(extra_env or {}))
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Replica(name, port, proc, log)


def start_cluster(haproxy_bin: str, log_dir: Path, n: int = 2, extra_env: dict[str, str] | None = None) -> Cluster:
    """Start ``n`` replicas (``extra_env`` added to their environment) and HAProxy (deploy/haproxy.cfg, filled in
    through its environment variables)."""
    if not (PROJECT_ROOT / "app.py").is_file():
        pytest.fail("app.py does not exist: nothing to serve")
    cookie_secret = secrets.token_hex(32)
    replicas: list[Replica] = []
    proxy = None
    try:
        for i in range(1, n + 1):
            replicas.append(start_replica(f"r{i}", cookie_secret, log_dir, extra_env))
        for r in replicas:
            def healthy(r=r):
                if r.proc.poll() is not None:
                    pytest.fail(f"replica {r.name} exited with {r.proc.returncode}:\n{r.output()[-4000:]}")
                return http_get(f"{r.url}/_stcore/health")[0] == 200
            wait_until(healthy, START_TIMEOUT_S, f"replica {r.name} healthy", on_fail=r.output)

        port, stats_port = free_port(), free_port()
        env = dict(os.environ, HAPROXY_BIND=f"127.0.0.1:{port}", HAPROXY_STATS=f"127.0.0.1:{stats_port}")
        for i in range(1, 9):
            env.pop(f"REPLICA_{i}", None)
        env.pop("REPLICA_DNS", None)
        env.update({f"REPLICA_{i}": f"127.0.0.1:{r.port}" for i, r in enumerate(replicas, 1)})
        haproxy_log = log_dir / "haproxy.log"
        with open(haproxy_log, "wb") as out:
            proxy = subprocess.Popen([haproxy_bin, "-db", "-f", str(HAPROXY_CFG)], cwd=PROJECT_ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        cluster = Cluster(replicas, port, stats_port, proxy, haproxy_log, cookie_secret)

        def all_up():
            if proxy.poll() is not None:
                pytest.fail(f"haproxy exited with {proxy.returncode}:\n{haproxy_log.read_text(errors='replace')}")
            stats = cluster.stats()
            return all(stats.get(r.name, {}).get("status") == "UP" for r in replicas)
        wait_until(all_up, 60, "HAProxy sees every replica UP", on_fail=cluster.diagnostics)
        wait_until(lambda: http_get(f"{cluster.url}/_stcore/health")[0] == 200, 30,
                   "the app's health through HAProxy", on_fail=cluster.diagnostics)
        return cluster
    except BaseException:
        if proxy is not None:
            stop_group(proxy)
        for r in replicas:
            stop_group(r.proc)
        raise


REDIS_SERVER = "/usr/bin/redis-server"   # Debian's redis-server


@dataclass
class RedisServer:
    """Debian's redis-server on a loopback port, nothing saved to disk; a test stops and starts it again on the
    same port (an empty Redis, as after a restart)."""
    port: int
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--protected-mode", "yes"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

        def up() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with {self.proc.returncode}:\n{self.log.read_text()[-2000:]}")
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        wait_until(up, 20, "redis-server listening", interval_s=0.05)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None
