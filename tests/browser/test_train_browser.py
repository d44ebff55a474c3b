"""The Train page in a real headless Chromium: load, Play, Pause, Step, a preset, and the README screenshot."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from playwright.sync_api import expect

import adjoint_core as ac
from adjoint_core.runfile import unpack_run
from browser_helpers import PROJECT_ROOT, assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

DOCS_SCREENSHOT = PROJECT_ROOT / "docs" / "train_page.png"
LONG = 60_000


def metric(page, index: int) -> str:
    return page.get_by_test_id("stMetricValue").nth(index).inner_text()


def steps(page) -> int:
    return int(metric(page, 0).replace(",", ""))


def open_train(page, base_url: str, query: str = "") -> float:
    """Open the Train page (``query``: a share link's ``?...``); returns seconds from navigation to the first
    chart drawn."""
    t0 = time.perf_counter()
    page.goto(base_url + "/" + query)
    page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first.wait_for(timeout=LONG)
    first_chart = time.perf_counter() - t0
    wait_for_app_run(page)
    assert_no_exception(page)
    assert_charts_drawn(page, 5)
    return first_chart


def runs_started(page, within_ms: int, enough: int | None = None) -> int:
    """How many script runs (full or fragment) the page starts within the next ``within_ms`` milliseconds;
    returns as soon as ``enough`` have started."""
    return page.evaluate("""([ms, enough]) => new Promise((resolve) => {
      const app = document.querySelector('[data-testid="stApp"]');
      let runs = 0;
      const done = () => { seen.disconnect(); clearTimeout(timer); resolve(runs); };
      const seen = new MutationObserver((records) => {
        // each record holds the state before its change: the states changed to are the next records' old
        // values and, for the last one, the current state
        const states = records.slice(1).map((r) => r.oldValue).concat(app.dataset.testScriptState);
        runs += states.filter((state) => state === "running").length;
        if (enough && runs >= enough) done();
      });
      seen.observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ["data-test-script-state"]});
      const timer = setTimeout(done, ms);
    })""", [within_ms, enough])


def wait_for_pause(page) -> None:
    """Press Pause and wait until it has landed: the Play button is back and no script run has started for
    0.5 s (at most 30 s: a live view still redrawing itself keeps starting runs)."""
    page.get_by_role("button", name="Pause", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
    wait_for_app_run(page)
    deadline = time.monotonic() + 30
    while runs_started(page, 500, enough=1) and time.monotonic() < deadline:
        pass


def play_until(page, done) -> None:
    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)
    deadline = time.monotonic() + 120
    while not done() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert done(), "training did not get there within 2 minutes"


def test_play_pause_step_on_the_wave(page, app_server):
    first_chart = open_train(page, app_server, "?epochs=100000")   # an epoch limit Play never reaches here
    print(f"\n[browser] Train page: first chart drawn {first_chart:.2f} s after navigation")
    assert steps(page) == 0
    play_until(page, lambda: int(metric(page, 1).replace(",", "")) >= 3)    # epoch 3
    assert runs_started(page, 5000, enough=3) >= 3, "the live view did not redraw itself 3 times in 5 s of playing"
    assert_charts_drawn(page, 6)   # the live board's six chart slots
    wait_for_pause(page)
    paused_at = steps(page)
    assert paused_at >= 3 * 160
    assert runs_started(page, 1500) == 0, "the live view's timer went on after Pause"
    assert steps(page) == paused_at, "training went on after Pause"
    assert_charts_drawn(page, 6)
    assert page.locator(".heatmaplayer image, .hm image, canvas").count() > 0 or \
        page.locator("g.hm").count() > 0, "no heatmap drawn"
    assert_no_exception(page)
    page.get_by_role("button", name="Step", exact=True).dispatch_event("click")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{paused_at + 1:,}", timeout=LONG)
    save_screenshot(page, "train_paused")
    assert_no_exception(page)


def test_preset_switch_and_bad_sizes(page, app_server):
    open_train(page, app_server)
    page.get_by_test_id("stSidebar").get_by_role("combobox", name="Preset").click()
    page.get_by_role("option", name=ac.presets["nonlinear-relu"].label).click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stSidebar").get_by_role("textbox", name="Hidden layer sizes")).to_have_value("64, 64")
    notice = page.get_by_test_id("stAlertContentInfo")
    expect(notice).to_contain_text("Started a new run")
    page.get_by_role("button", name="Step", exact=True).dispatch_event("click")   # reruns the controls only
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1", timeout=LONG)
    expect(notice).to_have_count(0)                                               # the one-off notice is gone
    box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Hidden layer sizes")
    box.fill("64, x")
    box.press("Enter")
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text(
        "Hidden layer sizes: 'x' is not a positive whole number")
    assert_no_exception(page)
    save_screenshot(page, "train_bad_sizes")


def test_trained_wave_screenshot_for_the_readme(browser, app_server):
    """Play the 2D wave to its 100-epoch limit and save a tall screenshot (docs/ when UPDATE_DOCS=1)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1900})
    page = context.new_page()
    try:
        open_train(page, app_server)
        t0 = time.perf_counter()
        play_until(page, lambda: page.get_by_role("button", name="Play", exact=True).count() == 1
                   and page.get_by_role("button", name="Pause", exact=True).count() == 0)
        wait_for_app_run(page)
        print(f"\n[browser] 100 epochs of the 2D wave with live charts: {time.perf_counter() - t0:.1f} s wall")
        assert metric(page, 1) == "100"
        assert_charts_drawn(page, 6)
        train_loss = float(metric(page, 2))   # mean batch loss over the last epoch, as the notebook reports
        assert train_loss < 2.5 * 0.2834, f"train loss {train_loss} after 100 epochs (notebook: 0.2834)"
        assert_no_exception(page)
        path = save_screenshot(page, "train_wave_100_epochs")
        if os.environ.get("UPDATE_DOCS") == "1":
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOT)
    finally:
        context.close()


def test_download_after_steps_holds_the_current_run(page, app_server):
    # Step reruns only the controls fragment, not the sidebar with the Download button: the file must still
    # be built at click time from the run as it is then, not from the run of the last full page run.
    open_train(page, app_server)
    for n in (1, 2, 3):
        page.get_by_role("button", name="Step", exact=True).dispatch_event("click")
        expect(page.get_by_test_id("stMetricValue").first).to_have_text(str(n), timeout=LONG)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Save / load run").click()
    with page.expect_download(timeout=LONG) as info:
        sidebar.get_by_role("button", name="Download run").click()
    run = ac.TrainingRun.load(*unpack_run(Path(info.value.path()).read_bytes()))
    assert run.step_count == 3
    assert run.config == ac.presets["wave2d-relu"]
    assert_no_exception(page)
