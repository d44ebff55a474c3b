"""Fixtures for the scale-out tests: replicas of ``streamlit run app.py`` behind Debian's HAProxy, configured
from the same template as the deployment recipes (``deploy/haproxy.cfg``), and headless Debian Chromium.

* ``haproxy``     (session): path of the HAProxy binary (skipped locally without it, a failure when CI is set).
* ``chromium``    (session): a Playwright ``Browser`` (Debian ``/usr/bin/chromium``, never Playwright's download).
* ``cluster``     (module): two replicas and HAProxy, shared by a module's tests; stopped at the module's end.
* ``new_cluster`` (function): a factory for a private cluster (e.g. one whose replica a test kills).
* ``redis_server`` (function): Debian's redis-server on a free loopback port, stopped after the test.

Everything listens on 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent, HERE.parent / "browser"):  # `import scaleout_cluster`, `local_app`, `browser_helpers`
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from scaleout_cluster import REDIS_SERVER, Cluster, RedisServer, free_port, start_cluster  # noqa: E402

from local_app import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

HAPROXY = "/usr/sbin/haproxy"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/scaleout gets the ``scaleout`` marker."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.scaleout)


def _missing(what: str, reason: str) -> None:
    reason = f"{what} not found: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def haproxy() -> str:
    if not Path(HAPROXY).exists():
        _missing(HAPROXY, "install Debian's haproxy (apt-get install -y haproxy)")
    return HAPROXY


@pytest.fixture(scope="module")   # Playwright's sync API runs an event loop: gone before later tests
def chromium():
    """Headless Debian Chromium via Playwright (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        _missing(CHROMIUM, "install Debian's chromium (apt-get install -y chromium); never `playwright install`")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def cluster(haproxy, tmp_path_factory):
    c = start_cluster(haproxy, tmp_path_factory.mktemp("cluster"))
    print(f"\n[scaleout] HAProxy at {c.url} -> " + ", ".join(f"{r.name}=:{r.port}" for r in c.replicas))
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def new_cluster(haproxy, tmp_path_factory):
    """``new_cluster(n=2)`` starts a private cluster, stopped after the test."""
    started: list[Cluster] = []

    def make(n: int = 2, extra_env: dict[str, str] | None = None) -> Cluster:
        started.append(start_cluster(haproxy, tmp_path_factory.mktemp("cluster"), n, extra_env))
        return started[-1]
    try:
        yield make
    finally:
        for c in started:
            c.stop()


@pytest.fixture
def redis_server(tmp_path):
    if not Path(REDIS_SERVER).exists():
        _missing(REDIS_SERVER, "install Debian's redis-server (apt-get install -y redis-server)")
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
