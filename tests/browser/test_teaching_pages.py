"""The teaching pages in real headless Chromium: Backward pass, Gradient check, Theory.

Each page is opened by its URL path (Streamlit 1.67 derives it from the file name: /backward, /gradcheck,
/theory), checked for exceptions, charts and rendered LaTeX, and saved as a full-length screenshot.

Pages live in ``app_pages/``, not ``pages/``: Streamlit would serve a ``pages/`` folder as old-style (v1)
pages until app.py first ran, so a deep link opened first after a restart would skip the navigation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

pytestmark = pytest.mark.browser

PAGES = [("backward", "Backward pass"), ("gradcheck", "Gradient check"), ("theory", "Theory")]
MAX_SHOT_HEIGHT = 12_000


def open_url(page: Page, base: str, path: str) -> None:
    page.goto(f"{base}/{path}")
    wait_for_app_run(page)
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("Gradient check")


def full_screenshot(page: Page, name: str):
    """Grow the viewport to the app's full height (the app scrolls inside its own container), then shoot."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, MAX_SHOT_HEIGHT)})
    page.mouse.move(5, 5)                  # no tooltip left over from a click
    page.wait_for_timeout(1200)            # charts re-layout to the new size
    path = save_screenshot(page, name)
    print(f"[browser] screenshot: {path}")
    return path


@pytest.mark.parametrize("path,title", PAGES)
def test_teaching_page_by_url(page, app_server, path, title):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    open_url(page, app_server, path)
    assert page.url.rstrip("/").endswith("/" + path)
    assert_no_exception(page)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text(title, exact=True)).to_be_visible()       # app.py's st.navigation is in charge
    main = page.get_by_test_id("stMain")
    expect(main.locator("h1").first).to_be_visible()
    expect(main.locator(".katex").first).to_be_visible()
    assert_charts_drawn(page)
    full_screenshot(page, f"teaching_{path}")
    assert_no_exception(page)
    assert not errors, errors


def test_backward_walk_in_browser(page, app_server):
    open_url(page, app_server, "backward")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Layer 3 of 3", exact=False)).to_be_visible()      # default run: 2-64-64-1
    for layer in (2, 1):
        page.get_by_role("button", name="Next").click()
        wait_for_app_run(page)
        expect(main.get_by_text(f"Layer {layer} of 3", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    assert_no_exception(page)
    assert_charts_drawn(page)
    full_screenshot(page, "teaching_backward_layer1")


@pytest.mark.parametrize("preset,layers", [("deep-sigmoid-vanishing", 9), ("large-init-exploding", 7)])
def test_health_presets_across_pages(page, app_server, preset, layers):
    """Pick a preset on Train through its URL, then move to the teaching pages in the same session."""
    page.goto(f"{app_server}/?preset={preset}")
    wait_for_app_run(page)
    assert_no_exception(page)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_text("Backward pass", exact=True).click()
    wait_for_app_run(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(f"Layer {layers} of {layers}", exact=False)).to_be_visible()
    assert_no_exception(page)
    assert_charts_drawn(page)
    full_screenshot(page, f"teaching_backward_{preset}")
    page.set_viewport_size({"width": 1400, "height": 1000})
    nav.get_by_text("Gradient check", exact=True).click()
    wait_for_app_run(page)
    assert_no_exception(page)
    assert_charts_drawn(page)
    full_screenshot(page, f"teaching_gradcheck_{preset}")


def test_theory_sigmoid_demo_in_browser(page, app_server):
    open_url(page, app_server, "theory")
    page.get_by_text("A fresh sigmoid network", exact=False).click()
    wait_for_app_run(page)
    assert_no_exception(page)
    expect(page.get_by_test_id("stMain").get_by_text("Trap 1 alone", exact=False)).to_be_visible()
    assert_charts_drawn(page)
    full_screenshot(page, "teaching_theory_sigmoid")
