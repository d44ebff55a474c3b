"""The deployment recipes in deploy/: the HAProxy template in both of its modes, the no-Docker launcher
deploy/run_replicas.sh run for real (replicas, restart of a crashed one, clean stop), and the Docker files
checked against what the tests run (Docker itself is not available on the project's machines)."""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from scaleout_cluster import HAPROXY_CFG, PROJECT_ROOT, http_get, wait_until

DEPLOY = PROJECT_ROOT / "deploy"
SCRIPT = DEPLOY / "run_replicas.sh"


def haproxy_check(haproxy: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not (k.startswith("REPLICA") or k.startswith("HAPROXY_"))}
    return subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CFG)], env={**clean, **env}, cwd=DEPLOY,
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_haproxy_template_is_valid_in_both_modes(haproxy):
    loopback = {f"REPLICA_{i}": f"127.0.0.1:{8500 + i}" for i in range(1, 9)}
    for n in (1, 2, 8):
        replicas = {k: v for k, v in loopback.items() if int(k.split("_")[1]) <= n}
        done = haproxy_check(haproxy, HAPROXY_BIND="127.0.0.1:8500", HAPROXY_STATS="127.0.0.1:8404", **replicas)
        assert done.returncode == 0, f"{n} replicas:\n{done.stdout}{done.stderr}"
    done = haproxy_check(haproxy, HAPROXY_BIND="127.0.0.1:8500", REPLICA_1="127.0.0.1:8501")   # no stats page
    assert done.returncode == 0, done.stdout + done.stderr
    done = haproxy_check(haproxy, HAPROXY_BIND=":8080", HAPROXY_STATS=":8404", REPLICA_DNS="app:8501", REPLICAS="4")
    assert done.returncode == 0, f"Docker mode:\n{done.stdout}{done.stderr}"
    # Forgetting the replicas is an error, not an empty backend.
    assert haproxy_check(haproxy, HAPROXY_BIND="127.0.0.1:8500").returncode != 0


def test_haproxy_template_keeps_affinity_websockets_and_health_checks():
    cfg = HAPROXY_CFG.read_text()
    assert re.search(r"^\s*cookie SERVERID insert indirect nocache", cfg, re.M), "cookie affinity"
    assert not re.search(r"^\s*balance\s+source", cfg, re.M), "IP affinity: a school's NAT puts everyone on one"
    assert re.search(r"^\s*timeout tunnel\s+\d+h", cfg, re.M), "websockets need a long tunnel timeout"
    assert "uri /_stcore/health" in cfg


def consecutive_free_ports(n: int) -> int:
    """The first of ``n`` consecutive free loopback ports."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + n > 65000:
            continue
        socks = []
        try:
            for port in range(first, first + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    pytest.fail("no consecutive free ports")


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def replica_pid(port: int) -> int | None:
    """The pid of the `streamlit run` serving ``port`` (from /proc), if any."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in args and b"--server.port" in args and \
                args[args.index(b"--server.port") + 1] == str(port).encode():
            return int(proc.name)
    return None


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def test_run_replicas_script_serves_restarts_and_stops(haproxy, tmp_path):
    first = consecutive_free_ports(5)          # HAProxy, statistics, two replicas, Redis
    port, stats_port, replica_ports, redis_port = first, first + 1, [first + 2, first + 3], first + 4
    secret = "scaleout-test-" + os.urandom(8).hex()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLICA", "HAPROXY_"))}
    env.update(PORT=str(port), BIND_ADDRESS="127.0.0.1", STATS_PORT=str(stats_port), FIRST_PORT=str(first + 2),
               PYTHON=sys.executable, HAPROXY=haproxy, STREAMLIT_SERVER_COOKIE_SECRET=secret, REDIS="1",
               REDIS_PORT=str(redis_port))
    env.pop("ADJOINT_REDIS_URL", None)
    log = tmp_path / "run_replicas.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", str(SCRIPT), "2"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    output = lambda: log.read_text(errors="replace")[-4000:]  # noqa: E731
    stats_url = f"http://127.0.0.1:{stats_port}/;csv"

    def both_up():
        assert proc.poll() is None, f"run_replicas.sh exited with {proc.returncode}:\n{output()}"
        body = http_get(stats_url)[1]
        return all(re.search(rf"^streamlit,{name},(?:[^,]*,){{15}}UP", body, re.M) for name in ("r1", "r2"))
    try:
        wait_until(both_up, 150, "run_replicas.sh: HAProxy sees both replicas UP", on_fail=output)
        assert http_get(f"http://127.0.0.1:{port}/_stcore/health") == (200, "ok")
        # Each replica has the one shared cookie secret.
        pids = [replica_pid(p) for p in replica_ports]
        assert all(pids), f"replica processes not found for ports {replica_ports}"
        assert [environ_of(pid).get("STREAMLIT_SERVER_COOKIE_SECRET") for pid in pids] == [secret, secret]
        # ... and rooms shared through the redis-server the script started (REDIS=1).
        assert listening(redis_port)
        assert {environ_of(pid).get("ADJOINT_REDIS_URL") for pid in pids} == {f"redis://127.0.0.1:{redis_port}/0"}

        # A replica that dies is started again, and HAProxy takes it back.
        os.kill(pids[0], signal.SIGKILL)
        wait_until(lambda: not listening(replica_ports[0]), 30, "the killed replica's port closes")
        wait_until(lambda: http_get(f"http://127.0.0.1:{replica_ports[0]}/_stcore/health")[0] == 200, 150,
                   "run_replicas.sh restarts the killed replica", on_fail=output)
        wait_until(both_up, 60, "HAProxy sees the restarted replica UP", on_fail=output)

        # SIGTERM (what Ctrl-C or systemd sends) stops HAProxy and the replicas, with their children.
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        for p in (port, stats_port, *replica_ports, redis_port):
            wait_until(lambda p=p: not listening(p), 30, f"port {p} closed after the script stopped")

        def group_gone():
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return True
            return False
        wait_until(group_gone, 30, "every process the script started has ended", on_fail=output)
    finally:
        try:   # whatever is left of the script's process group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def test_run_replicas_script_refuses_a_bad_count():
    done = subprocess.run(["bash", str(SCRIPT), "9"], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, env={**os.environ, "HAPROXY": "/bin/false"})
    assert done.returncode == 2 and "1 to 8 replicas" in done.stderr


# --- Docker (not runnable here: checked against the setup the tests run) --------------------------------------

def local_imports(path: Path) -> set[str]:
    """Top-level names imported by ``path`` that are folders or modules of this repository."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if (PROJECT_ROOT / n).is_dir() or (PROJECT_ROOT / f"{n}.py").is_file()}


def test_docker_recipe_runs_the_tested_configuration():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    compose = (DEPLOY / "compose.yaml").read_text()
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()

    # The image: app files copied (and let through the build context), a non-root user, the health check.
    copied = {src.rstrip("/") for src in re.findall(r"^COPY\s+(\S+)\s+\S+\s*$", dockerfile, re.M)}
    assert {"requirements.txt", "app.py", "adjoint_core", "ui", "app_pages", ".streamlit/config.toml"} <= copied
    for src in copied:
        assert (PROJECT_ROOT / src).exists(), f"the Dockerfile copies {src}, which does not exist"
        assert f"!{src}" in ignore or f"!{src}/" in ignore, f"{src} is left out of the build context"
    sources = [PROJECT_ROOT / "app.py", *PROJECT_ROOT.glob("app_pages/*.py"), *PROJECT_ROOT.glob("ui/*.py")]
    needed = set().union(*(local_imports(p) for p in sources))
    assert needed <= copied, f"the app imports {sorted(needed - copied)}, which the image does not copy"
    assert re.search(r"^USER\s+(?!root\b|0\b)\S+", dockerfile, re.M), "the image must not run as root"
    assert re.search(r"^HEALTHCHECK\b.*/_stcore/health", dockerfile, re.M | re.S)
    cmd = re.search(r"^CMD\s+(.*)$", dockerfile, re.M).group(1)
    for part in ("streamlit", "run", "app.py", "--server.headless=true", "--server.address=0.0.0.0",
                 "--server.port=8501"):
        assert f'"{part}"' in cmd, part

    # Compose: HAProxy reads this very template, the replicas share one cookie secret from .env.
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg" in compose
    assert re.search(r"STREAMLIT_SERVER_COOKIE_SECRET:\s*\$\{STREAMLIT_SERVER_COOKIE_SECRET:\?", compose)
    assert 'REPLICA_DNS: "app:8501"' in compose
    assert re.search(r"replicas:\s*\$\{REPLICAS", compose)
    assert re.search(r"HAPROXY_BIND", compose) and "dockerfile: deploy/Dockerfile" in compose
    # ... and the replicas share rooms through the compose file's own Redis.
    assert re.search(r"^  redis:\n    image: redis:", compose, re.M)
    assert "ADJOINT_REDIS_URL: redis://redis:6379/0" in compose
