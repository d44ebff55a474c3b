"""The live board's schedule in real headless Chromium (ui/train/live_board.js): every chart is drawn once, a chart
scrolled out of view is not redrawn until it is seen again, a hidden tab redraws no chart while the status stays
live, presses on the page hold the charts' redraws (not the status) while the page answers them, a main
thread busy with long tasks gets a chart redraw at most every 1.5 s, and the fast charts redraw more often than the
heavy ones.

Screenshot: live_board_playing.png (the wave playing, every chart in view).
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

LONG = 60_000
LONG_RUN = "?epochs=2000"   # Play does not reach its epoch limit while a test watches
DRAWS = """() => Object.fromEntries([...document.querySelectorAll('div[data-chart]')]
  .map((c) => [c.dataset.chart, Number(c.dataset.draws)]))"""
STEP = """() => document.querySelector('.abp-status [data-testid="stMetricValue"]')?.textContent"""


def play(page: Page, base_url: str) -> None:
    """Open the Train page on the wave, Play, and wait until every chart of the board is drawn."""
    page.goto(f"{base_url}/{LONG_RUN}")
    wait_for_app_run(page)
    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    expect(page.locator("div[data-chart]")).to_have_count(6, timeout=LONG)
    assert_charts_drawn(page, 6)


def pause(page: Page) -> None:
    page.get_by_role("button", name="Pause", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
    assert_no_exception(page)


def draws_after(page: Page, ms: int) -> dict[str, int]:
    """How many times each chart was redrawn over the next ``ms`` milliseconds, and the status's changes
    (``__status``)."""
    before, step = page.evaluate(DRAWS), page.evaluate(STEP)
    changes = 0
    for _ in range(ms // 250):
        page.wait_for_timeout(250)
        now = page.evaluate(STEP)
        changes, step = changes + (now != step), now
    after = page.evaluate(DRAWS)
    return {**{k: after[k] - before[k] for k in after}, "__status": changes}


def test_a_chart_out_of_view_is_redrawn_only_once_seen_again(page, app_server):
    page.set_viewport_size({"width": 1400, "height": 700})   # the gradient chart is below the first screen
    play(page, app_server)
    page.evaluate("() => window.scrollTo(0, 0)")
    grad = page.locator('div[data-chart="grad_chart"]')
    assert grad.bounding_box()["y"] > 700, grad.bounding_box()
    page.wait_for_timeout(1000)   # a redraw begun before the scroll has ended
    hidden = draws_after(page, 4000)
    assert hidden["grad_chart"] == 0 and hidden["mu_heatmap"] == 0, hidden
    assert hidden["loss_chart"] >= 2, hidden   # the charts in view go on
    grad.scroll_into_view_if_needed()
    page.wait_for_function("() => Number(document.querySelector('div[data-chart=\"grad_chart\"]').dataset.draws) > "
                           f"{page.evaluate(DRAWS)['grad_chart']}", timeout=LONG)
    assert_charts_drawn(page, 6)
    pause(page)


def test_a_hidden_tab_redraws_no_chart_and_the_status_stays_live(page, app_server):
    play(page, app_server)
    page.evaluate("() => Object.defineProperty(document, 'hidden', {configurable: true, get: () => true})")
    page.wait_for_timeout(1000)   # a redraw begun before has ended
    hidden = draws_after(page, 3000)
    assert all(hidden[k] == 0 for k in hidden if k != "__status"), hidden
    assert hidden["__status"] >= 3, hidden
    page.evaluate("() => delete document.hidden")   # the tab is shown again: the charts catch up
    page.wait_for_function(f"() => Number(document.querySelector('div[data-chart=\"fit_chart\"]').dataset.draws) > "
                           f"{page.evaluate(DRAWS)['fit_chart']}", timeout=LONG)
    assert_charts_drawn(page, 6)
    pause(page)


def draws_under(page: Page, every_200ms: str, settle_ms: int, window_ms: int, catch_up: str) -> tuple[dict, float]:
    """Chart draws and status changes (``draws_after``) over ``window_ms`` while an in-page script runs every
    200 ms (counted from ``settle_ms`` after it starts), and the seconds they took; then the script stops, the
    ``catch_up`` chart redraws and every chart is drawn."""
    page.evaluate(f"() => {{ window.__load = setInterval(() => {{ {every_200ms} }}, 200); }}")
    page.wait_for_timeout(settle_ms)
    t0 = page.evaluate("() => performance.now()")
    counts = draws_after(page, window_ms)
    seconds = (page.evaluate("() => performance.now()") - t0) / 1000
    page.evaluate("() => clearInterval(window.__load)")
    page.wait_for_function(f"() => Number(document.querySelector('div[data-chart=\"{catch_up}\"]').dataset.draws) > "
                           f"{page.evaluate(DRAWS)[catch_up]}", timeout=LONG)
    assert_charts_drawn(page, 6)
    return counts, seconds


def test_presses_hold_the_charts_redraws_and_the_status_stays_live(page, app_server):
    play(page, app_server)
    held, _ = draws_under(page, "document.querySelector('h1').dispatchEvent("   # a student busy clicking
                          "new PointerEvent('pointerdown', {bubbles: true}))", 2000, 3000, "loss_chart")
    assert sum(held[k] for k in held if k != "__status") <= 2, held   # presses in a row: one redraw in 3 s
    assert held["__status"] >= 3, held
    pause(page)


def test_a_busy_main_thread_gets_few_chart_redraws_and_a_live_status(page, app_server):
    play(page, app_server)
    busy, seconds = draws_under(page, "const t = performance.now(); while (performance.now() - t < 120) {}",
                                3000, 6000, "fit_chart")   # a slow laptop: 60% of the time in long tasks
    assert sum(busy[k] for k in busy if k != "__status") <= seconds / 1.5 + 1, (busy, seconds)   # one every 1.5 s
    assert busy["__status"] >= 3, busy
    pause(page)


def test_the_fast_charts_redraw_more_often_than_the_heavy_ones(page, app_server):
    page.set_viewport_size({"width": 1500, "height": 2000})   # every chart in view
    play(page, app_server)
    counts = draws_after(page, 6000)
    heavy = max(counts[k] for k in ("fit_chart", "slice_chart", "mu_heatmap", "grad_chart"))
    assert counts["loss_chart"] > heavy >= 1, counts
    assert counts["mu_bar"] > heavy, counts
    save_screenshot(page, "live_board_playing")
    assert_charts_drawn(page, 6)
    pause(page)
