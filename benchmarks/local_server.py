"""The app served for a benchmark: ``streamlit run app.py`` on a free loopback port, stopped with its training
processes (bench_app.py and bench_classroom.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` from root on a free loopback port, in its own process group (stopped by its id);
    ``ttl``: its server.disconnectedSessionTTL, ``extra``: more ``streamlit run`` arguments."""

    def __init__(self, root: Path = ROOT, timeout: float = 60.0, ttl: float | None = None,
                 extra: list[str] | tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench_server_", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             *(["--server.disconnectedSessionTTL", f"{ttl:g}"] if ttl is not None else []), *extra],
            cwd=root, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop(keep_log=True)
                raise RuntimeError(f"streamlit did not start; log: {self.log.name}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            return urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read().strip() == b"ok"
        except OSError:
            return False

    def stop(self, keep_log: bool = False) -> None:
        """SIGTERM to the server's process group (its training processes too), SIGKILL after 10 s; the log is
        deleted unless keep_log (then its path is printed)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(10)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()
        if keep_log:
            print(f"server log: {self.log.name}")
        else:
            os.unlink(self.log.name)
