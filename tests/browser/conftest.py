"""Fixtures for real-browser tests: a live ``streamlit run app.py`` server and
headless Debian Chromium driven by Playwright's sync API.

Modelled on the approach of Streamlit's own ``e2e_playwright/conftest.py``
(start the server on a free port, poll ``/_stcore/health``, wait on the
``stApp`` data attributes), written for this project.

* ``app_server_process`` (session): the running server, a ``Server`` (``proc``: its ``Popen``, ``url``).
* ``app_server`` (session): base URL of the running app, e.g. ``http://127.0.0.1:41234``.
* ``browser``    (module): a Playwright ``Browser`` (Debian ``/usr/bin/chromium``).
* ``page``       (function): a fresh context (1400x1000) and page, closed afterwards.
* ``quiet_server`` (autouse): each browser test starts once the server's process tree is idle.

Chromium missing: the browser tests are skipped locally, but fail when the
``CI`` environment variable is set (``.ci/run`` installs Debian ``chromium``).
Never run ``playwright install``: its browser download does not work here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent):  # make `import browser_helpers` (and `local_app`) work from test modules
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import browser_helpers  # noqa: E402
from local_app import CHROMIUM, CHROMIUM_ARGS, streamlit_command  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = PROJECT_ROOT / "app.py"
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_GRACE_S = 10.0
# The server is quiet when its process tree used less than QUIET_CORES of one core over QUIET_WINDOW_S.
QUIET_CORES = 0.10
QUIET_WINDOW_S = 0.5
QUIET_TIMEOUT_S = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

notes: list[str] = []   # lines for the terminal summary: waits for a quiet server, contexts left open


class Server(NamedTuple):
    proc: subprocess.Popen
    url: str


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/browser gets the ``browser`` marker automatically."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for line in notes:
        terminalreporter.write_line(line)
    if browser_helpers.screenshot_dir_used():
        terminalreporter.write_line(f"browser screenshots: {browser_helpers.SCREENSHOT_DIR}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200 and resp.read().decode().strip() == "ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=SERVER_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=SERVER_STOP_GRACE_S)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from ``/proc/<pid>/task/*/children``."""
    tree, todo = [], [pid]
    while todo:
        parent = todo.pop()
        tree.append(parent)
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                todo += [int(child) for child in children.read_text().split()]
            except OSError:   # the thread or process has just ended
                pass
    return tree


def _cpu_ticks(pids: list[int]) -> dict[tuple[int, str], int]:
    """utime + stime of each process, keyed by (pid, start time) so that a reused pid counts as a new process."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:   # the process has just ended
            continue
        ticks[(pid, fields[19])] = int(fields[11]) + int(fields[12])
    return ticks


def _tree_cpu_seconds(pid: int, window: float) -> float:
    """CPU seconds used by ``pid`` and its descendants over the next ``window`` seconds (a process that ends
    within the window is left out; one that starts in it counts from its start)."""
    before = _cpu_ticks(_process_tree(pid))
    time.sleep(window)
    after = _cpu_ticks(_process_tree(pid))
    return sum(ticks - before.get(key, 0) for key, ticks in after.items()) / CLOCK_TICKS


@pytest.fixture(scope="session")
def app_server_process(tmp_path_factory: pytest.TempPathFactory):
    """Start ``streamlit run app.py`` on a free loopback port; yield it as a ``Server``."""
    if not APP_FILE.is_file():
        pytest.fail(f"{APP_FILE} does not exist: nothing to serve")

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    cmd = streamlit_command(port)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=PROJECT_ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )

    def server_output() -> str:
        return log_path.read_text(errors="replace")

    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while not _healthy(f"{base_url}/_stcore/health"):
            if proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with code {proc.returncode} before becoming healthy.\n"
                    f"command: {' '.join(cmd)}\n--- server output ---\n{server_output()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit not healthy at {base_url} after {SERVER_START_TIMEOUT_S:.0f} s.\n"
                    f"--- server output ---\n{server_output()}"
                )
            time.sleep(0.25)
    except BaseException:
        _stop(proc)
        raise

    print(f"\n[browser] streamlit serving {APP_FILE.name} at {base_url} (log: {log_path})")
    try:
        yield Server(proc, base_url)
    finally:
        _stop(proc)
        if proc.returncode not in (0, -15):  # -15: ended by our SIGTERM
            print(f"[browser] streamlit exited with {proc.returncode}:\n{server_output()[-4000:]}")


@pytest.fixture(scope="session")
def app_server(app_server_process: Server) -> str:
    """Base URL of the running app."""
    return app_server_process.url


@pytest.fixture(scope="module")   # Playwright's sync API runs an event loop: gone before later tests
def browser():
    """Headless Debian Chromium via Playwright (never Playwright's own download)."""
    if not Path(CHROMIUM).exists():
        reason = (
            f"{CHROMIUM} not found: install Debian's chromium "
            "(apt-get install -y chromium); never `playwright install`"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}", pytrace=False)
        pytest.skip(reason)

    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            print(f"\n[browser] chromium {browser.version}")
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser):
    """A fresh browser context (1400x1000 viewport) and page for one test."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _note(line: str) -> None:
    """Print a line now and again in the terminal summary."""
    print(line)
    notes.append(line)


@pytest.fixture(autouse=True)
def quiet_server(request: pytest.FixtureRequest, browser, app_server_process: Server) -> None:
    """Start each browser test on a quiet server and without contexts left open by earlier tests.

    What earlier tests left running (a session keeps training up to 3 s after its page closes, in the server
    process or its children) would compete with this test for the 2 cores: wait until the server's process
    tree used less than QUIET_CORES of one core over QUIET_WINDOW_S, at most QUIET_TIMEOUT_S (then warn and go on).
    """
    for context in browser.contexts:
        _note(f"[browser] WARNING {request.node.name}: closing a context an earlier test left open")
        context.close()
    t0, busy_windows = time.monotonic(), 0
    while _tree_cpu_seconds(app_server_process.proc.pid, QUIET_WINDOW_S) >= QUIET_CORES * QUIET_WINDOW_S:
        busy_windows += 1
        if time.monotonic() - t0 > QUIET_TIMEOUT_S:
            _note(f"[browser] WARNING {request.node.name}: the server was still busy after "
                  f"{time.monotonic() - t0:.1f} s; going on")
            return
    if busy_windows:
        _note(f"[browser] {request.node.name}: waited {time.monotonic() - t0:.1f} s for a quiet server")
