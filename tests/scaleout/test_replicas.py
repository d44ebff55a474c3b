"""Two replicas of the app behind HAProxy (deploy/haproxy.cfg), driven in a real Chromium: a session sticks
to its replica through Play, Pause, a CSV upload and the run download; new sessions spread over both
replicas; a replica killed mid-session takes only its own sessions down (their tabs grey out, reconnect by
themselves and come back on the live replica as new sessions), while new sessions and the other replica's
sessions carry on; with no replica left, tabs show Streamlit's "Connection error"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import BrowserContext, Page, expect
from scaleout_cluster import Cluster, wait_until

import adjoint_core as ac
from adjoint_core.datafile import DATA_TARGET
from adjoint_core.runfile import unpack_run
from browser_helpers import assert_charts_drawn

LONG = 120_000          # ms: two replicas, HAProxy and Chromium share 2 cores with whatever else runs
VIEWPORT = {"width": 1400, "height": 1000}
APP_CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
APP_NOT_RUNNING = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'


# --- the page ---------------------------------------------------------------------------------------------------

def wait_for_app_run(page: Page) -> None:
    """The websocket is connected and the script run finished (see tests/browser/browser_helpers.py)."""
    page.wait_for_timeout(150)
    page.locator(APP_CONNECTED).wait_for(state="attached", timeout=LONG)
    page.locator(APP_NOT_RUNNING).wait_for(state="attached", timeout=LONG)


def assert_no_exception(page: Page) -> None:
    boxes = page.locator(EXCEPTION)
    assert boxes.count() == 0, "\n---\n".join(boxes.all_inner_texts())


def open_app(page: Page, url: str) -> None:
    page.goto(url + "/", timeout=LONG)
    page.get_by_test_id("stMetricValue").first.wait_for(timeout=LONG)
    wait_for_app_run(page)
    assert_no_exception(page)


def steps(page: Page) -> int:
    return int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))


def step(page: Page, expected: int) -> None:
    """Press Step and wait for the step counter to read ``expected``."""
    page.get_by_role("button", name="Step", exact=True).dispatch_event("click", timeout=LONG)
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{expected:,}", timeout=LONG)


def serverid(context: BrowserContext) -> str:
    """The replica HAProxy pinned this browser to (its SERVERID cookie), "" before the first response."""
    return next((c["value"] for c in context.cookies() if c["name"] == "SERVERID"), "")


def new_session(chromium, url: str) -> tuple[BrowserContext, Page]:
    """A fresh browser (own cookies: a new visitor) with the app open."""
    context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    open_app(page, url)
    return context, page


def assert_sticky(cluster: Cluster) -> None:
    """Every request that carried an affinity cookie went to the replica it names (while all are up; a
    request aborted before HAProxy picked a server, e.g. by closing the tab, is logged as <NOSRV>)."""
    wrong = [r for r in cluster.requests() if r.cookie and r.server not in (r.cookie, "<NOSRV>")]
    assert not wrong, f"requests sent to another replica than their cookie names: {wrong[:5]}"


# --- tests ---------------------------------------------------------------------------------------------------------

def test_a_session_sticks_to_its_replica_through_play_pause_upload_and_download(chromium, cluster, tmp_path):
    context, page = new_session(chromium, cluster.url)
    try:
        home = serverid(context)
        assert home in {"r1", "r2"}, f"no affinity cookie from HAProxy: {context.cookies()}"

        page.get_by_role("button", name="Play", exact=True).dispatch_event("click", timeout=LONG)
        expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)
        wait_until(lambda: steps(page) > 0, 120, "training under Play")
        assert_charts_drawn(page, 5, timeout=LONG)   # the live board, its plotly.js fetched through HAProxy
        page.get_by_role("button", name="Pause", exact=True).dispatch_event("click", timeout=LONG)
        expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
        wait_for_app_run(page)
        assert steps(page) > 0
        assert_no_exception(page)
        assert_charts_drawn(page, 5, timeout=LONG)

        # Your own data: the upload (an HTTP PUT) must reach the replica that holds the session.
        x = np.linspace(0.0, 1.0, 400)
        csv_file = tmp_path / "class-data.csv"
        csv_file.write_text("x,target\n" + "".join(f"{a:.6f},{np.sin(2 * np.pi * a):.6f}\n" for a in x))
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("combobox", name="Target function").click()
        page.get_by_role("option", name="Your own data (CSV)…").click()
        wait_for_app_run(page)
        uploader = sidebar.get_by_test_id("stFileUploader").filter(has_text="CSV file")
        uploader.locator('input[type="file"]').set_input_files(str(csv_file))
        expect(uploader).to_contain_text("class-data.csv", timeout=LONG)
        wait_for_app_run(page)
        expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
        step(page, 1)   # the first step of a new run on the uploaded data

        # The run download: built by the session's replica on the click, fetched from the same replica.
        sidebar.get_by_text("Save / load run").click()
        with page.expect_download(timeout=LONG) as info:
            sidebar.get_by_role("button", name="Download run").click()
        run = ac.TrainingRun.load(*unpack_run(Path(info.value.path()).read_bytes()))
        assert run.config.target == DATA_TARGET
        assert run.step_count == 1
        assert set(np.round(run.data.x[:, 0], 6)) <= set(np.round(x, 6))
        assert_no_exception(page)
        assert serverid(context) == home, "the session's browser was moved to another replica"
    finally:
        context.close()

    # Once the tab is closed HAProxy has logged its websocket too: everything went to the same replica.
    def logged():
        reqs = [r for r in cluster.requests() if r.cookie == home]
        kinds = {"websocket": any(r.path.startswith("/_stcore/stream") and r.status == 101 for r in reqs),
                 "upload": any(r.method == "PUT" and r.path.startswith("/_stcore/upload_file/") for r in reqs),
                 "download": any(r.path.startswith("/media/") for r in reqs)}
        return all(kinds.values()) and kinds
    wait_until(logged, 30, f"HAProxy's log of the session's websocket, upload and download on {home}",
               on_fail=cluster.diagnostics)
    assert_sticky(cluster)


def test_new_sessions_spread_over_both_replicas(chromium, cluster):
    sessions = []
    try:
        for _ in range(4):
            context, page = new_session(chromium, cluster.url)
            sessions.append((context, page))
            step(page, 1)
        homes = [serverid(context) for context, _ in sessions]
        assert set(homes) == {"r1", "r2"}, f"sessions went to {homes}"
        # HAProxy's own count: each replica holds open connections (the sessions' websockets).
        stats = cluster.stats()
        assert all(int(stats[name]["scur"]) >= 1 for name in ("r1", "r2")), stats
        for _, page in sessions:   # still each on its own replica, still working
            step(page, 2)
            assert_no_exception(page)
    finally:
        for context, _ in sessions:
            context.close()
    assert_sticky(cluster)


def test_a_killed_replica_takes_down_only_its_own_sessions(chromium, new_cluster):
    cluster = new_cluster(2)
    sessions: list[tuple[BrowserContext, Page]] = []
    try:
        while len({serverid(c) for c, _ in sessions}) < 2:   # a session on each replica (leastconn: two tabs)
            assert len(sessions) < 6, f"no session on both replicas: {[serverid(c) for c, _ in sessions]}"
            sessions.append(new_session(chromium, cluster.url))
        (doomed_ctx, doomed), (other_ctx, other) = [
            next(s for s in sessions if serverid(s[0]) == name) for name in ("r1", "r2")]
        dead, live = "r1", "r2"
        step(doomed, 1)
        step(other, 1)
        step(other, 2)
        # Record what the doomed tab shows from now on: its connection state, whether its buttons are
        # disabled, and the "Connecting" label (shown only where Streamlit shows its toolbar: this app's
        # client.toolbarMode "minimal" hides it, so the label is recorded but not required).
        doomed.evaluate("""() => {
          window.__seen = {states: [], stepDisabled: false, labels: []};
          const app = document.querySelector('[data-testid="stApp"]');
          const note = () => {
            const s = app.dataset.testConnectionState;
            if (window.__seen.states.at(-1) !== s) window.__seen.states.push(s);
            const stepButton = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Step');
            if (s !== 'CONNECTED' && stepButton && stepButton.disabled) window.__seen.stepDisabled = true;
            const label = document.querySelector('[data-testid="stConnectionStatus"]');
            if (label && !window.__seen.labels.includes(label.innerText)) window.__seen.labels.push(label.innerText);
          };
          new MutationObserver(note).observe(document.body, {attributes: true, childList: true, subtree: true});
        }""")

        cluster.kill(dead)

        # The doomed tab notices at once and says so instead of hanging: it leaves CONNECTED, greys out its
        # widgets (Step disabled) and tries to reconnect.
        seen = wait_until(lambda: (lambda s: s["stepDisabled"] and s)(doomed.evaluate("window.__seen")), 60,
                          "the killed replica's tab shows it lost its connection", interval_s=0.1)
        assert {"PINGING_SERVER", "CONNECTING"} & set(seen["states"]), seen
        print(f"\n[scaleout] the killed replica's tab went through {seen['states']} (labels: {seen['labels']})")
        wait_until(lambda: cluster.server_status(dead).startswith("DOWN"), 60,
                   "HAProxy marks the killed replica DOWN", on_fail=cluster.diagnostics)

        # New visitors get the live replica.
        context, page = new_session(chromium, cluster.url)
        sessions.append((context, page))
        assert serverid(context) == live
        step(page, 1)

        # The other replica's session did not notice anything: same replica, same run, Step still works.
        step(other, 3)
        assert serverid(other_ctx) == live
        assert_no_exception(other)

        # The doomed tab reconnects by itself through HAProxy to the live replica, as a new session (the run
        # it had lived in the killed process): it is usable again.
        doomed.locator(APP_CONNECTED).wait_for(state="attached", timeout=LONG)
        wait_until(lambda: serverid(doomed_ctx) == live, 60, "the doomed tab's cookie names the live replica")
        wait_for_app_run(doomed)
        step(doomed, steps(doomed) + 1)
        assert_no_exception(doomed)

        # With no replica left, every tab says so: Streamlit's "Connection error" dialog (HAProxy answers 503).
        cluster.kill(live)
        dialog = other.get_by_role("dialog")
        expect(dialog).to_contain_text("Connection error", timeout=LONG)
        expect(other.locator(APP_CONNECTED)).to_have_count(0)
    finally:
        for context, _ in sessions:
            context.close()
    # After the kill, requests with the killed replica's cookie were answered by the live one (HAProxy's
    # cookie flag "D": the cookie named a DOWN server), which gave the browser its own cookie ("I").
    moved = [r for r in cluster.requests() if r.cookie == dead and r.server == live]
    assert any(r.flags[2:] == "DI" for r in moved), moved[:5]
