"""Fixtures for real-browser tests: a live ``streamlit run app.py`` server and
headless Debian Chromium driven by Playwright's sync API.

Modelled on the approach of Streamlit's own ``e2e_playwright/conftest.py``
(start the server on a free port, poll ``/_stcore/health``, wait on the
``stApp`` data attributes), written for this project.

* ``app_server`` (session): base URL of the running app, e.g. ``http://127.0.0.1:41234``.
* ``browser``    (session): a Playwright ``Browser`` (Debian ``/usr/bin/chromium``).
* ``page``       (function): a fresh context (1400x1000) and page, closed afterwards.

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

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # make `import browser_helpers` work from test modules
    sys.path.insert(0, str(HERE))

import browser_helpers  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = PROJECT_ROOT / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # The machines only reach package registries: without these flags Chromium
    # keeps trying (and failing) to reach Google services at every start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_GRACE_S = 10.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/browser gets the ``browser`` marker automatically."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
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


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory):
    """Start ``streamlit run app.py`` on a free loopback port; yield its base URL."""
    if not APP_FILE.is_file():
        pytest.fail(f"{APP_FILE} does not exist: nothing to serve")

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
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
        yield base_url
    finally:
        _stop(proc)
        if proc.returncode not in (0, -15):  # -15: ended by our SIGTERM
            print(f"[browser] streamlit exited with {proc.returncode}:\n{server_output()[-4000:]}")


@pytest.fixture(scope="session")
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
