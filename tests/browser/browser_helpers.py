"""Helpers for the real-browser (Playwright + Debian Chromium) tests.

Import them in a test module under ``tests/browser`` with::

    from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

(``tests/browser/conftest.py`` puts this folder on ``sys.path``.)

Streamlit publishes its own state on the root element, and these helpers
wait on it instead of sleeping::

    <div data-testid="stApp"
         data-test-connection-state="CONNECTED"
         data-test-script-state="notRunning">

``data-test-script-state`` is ``initial`` before the first run, then
``running`` / ``rerunRequested`` / ``stopRequested`` / ``compilationError`` /
``notRunning`` (checked in the Streamlit 1.67 frontend bundle).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"

APP_CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
APP_NOT_RUNNING = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'

_screenshot_dir_announced = False


def wait_for_app_run(page: Page, timeout: float = 60_000, *, initial_wait: float = 150) -> None:
    """Block until the websocket is connected and the script run has finished.

    Call it after ``page.goto`` and after every interaction that triggers a
    rerun (click, slider change, ...), before asserting on the result.
    ``initial_wait`` (ms) gives a just-triggered rerun time to flip the state
    away from ``notRunning`` so the wait does not pass against the stale page.

    Don't use it while a ``st.fragment(run_every=...)`` loop is ticking: wait
    for the visible change instead (``expect(loc).not_to_have_text(old)``).
    """
    if initial_wait > 0:
        page.wait_for_timeout(initial_wait)
    page.locator(APP_CONNECTED).wait_for(state="attached", timeout=timeout)
    page.locator(APP_NOT_RUNNING).wait_for(state="attached", timeout=timeout)


def assert_no_exception(page: Page) -> None:
    """Fail if the app shows any ``st.exception`` / uncaught-exception box."""
    boxes = page.locator(EXCEPTION)
    count = boxes.count()
    if count:
        texts = "\n---\n".join(boxes.all_inner_texts())
        print(f"[browser] {count} exception element(s) on {page.url}:\n{texts}")
        raise AssertionError(f"{count} stException element(s) on {page.url}:\n{texts}")


# Every chart on the page (st.plotly_chart, and each chart slot of the live board, ui/train/live_board.js) and how many
# of them Plotly has drawn (an svg.main-svg inside); whether the board wrote "Chart error" anywhere.
_CHARTS_STATE = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"], div[data-chart]')];
  const undrawn = charts.filter((c) => !c.querySelector("svg.main-svg"));
  return {charts: charts.length, drawn: charts.length - undrawn.length,
          undrawn: undrawn.map((c) => [c.closest('[class*="st-key-"]')?.className.match(/st-key-[\\w-]+/)?.[0] || "",
                                       Math.round(c.getBoundingClientRect().top), c.getBoundingClientRect().width]),
          errors: (document.body.innerText.match(/Chart error[^\\n]*/g) || [])};
}"""


def assert_charts_drawn(page: Page, n_min: int = 1, timeout: float = 60_000) -> None:
    """Fail unless the page shows at least ``n_min`` charts and every one of them is drawn (an svg.main-svg in
    each st.plotly_chart and each live-board chart slot), with no "Chart error" text on the page. Waits up to
    ``timeout`` ms for the drawing; a "Chart error" fails at once."""
    done = f"""() => {{ const s = ({_CHARTS_STATE})();
        return s.errors.length > 0 || (s.charts >= {n_min} && s.drawn === s.charts); }}"""
    try:
        page.wait_for_function(done, timeout=timeout, polling=200)
    except PlaywrightTimeout:   # the assertions below say what is missing
        pass
    state = page.evaluate(_CHARTS_STATE)
    assert not state["errors"], f"chart errors on {page.url}: {state['errors']}"
    assert state["charts"] >= n_min, f"{state['charts']} charts on {page.url}, expected at least {n_min}"
    assert state["drawn"] == state["charts"], \
        f"only {state['drawn']} of {state['charts']} charts drawn on {page.url}; not drawn (key, top, width): " \
        f"{state['undrawn']}"


def screenshot_dir() -> Path:
    """Folder for screenshots (gitignored), created on demand; printed once."""
    global _screenshot_dir_announced
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    if not _screenshot_dir_announced:
        _screenshot_dir_announced = True
        print(f"\n[browser] screenshots are saved in {SCREENSHOT_DIR}")
    return SCREENSHOT_DIR


def screenshot_dir_used() -> bool:
    return _screenshot_dir_announced


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as ``<screenshot_dir>/<name>.png`` and return its path."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    path = screenshot_dir() / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
