"""Presentation mode at a projector's 1280x720 in headless Chromium: the sidebar starts collapsed, the buttons,
status, loss chart and μ flow fit the first screen with axis titles of 18 px or more, and the keyboard drives
training (Right steps, Space plays and pauses). Screenshot: present_train.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import assert_no_exception, save_screenshot, wait_for_app_run

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
LONG = 60_000


@pytest.fixture
def projector(browser):
    context = browser.new_context(viewport=PROJECTOR)
    try:
        yield context.new_page()
    finally:
        context.close()


def button(page, label: str):
    """A button by its label (its name also holds its shortcut key)."""
    return page.get_by_role("button", name=re.compile(f"^{label}"))


def steps(page) -> int:
    return int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))


def chart(page, title: str):
    return page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text=title))


def test_present_fits_the_first_screen_and_the_keyboard_drives_training(projector, app_server):
    page = projector
    page.goto(f"{app_server}/?present=1&epochs=100000")
    wait_for_app_run(page, timeout=LONG)
    expect(chart(page, "Adjoint flow").locator(".main-svg").first).to_be_attached(timeout=LONG)
    page.wait_for_timeout(500)
    assert_no_exception(page)
    assert page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true"
    assert page.get_by_text("Train a small network by gradient descent").count() == 0

    save_screenshot(page, "present_train", full_page=False)
    shown = {"Play": button(page, "Play"),
             "Step": button(page, "Step"),
             "status": page.get_by_test_id("stMetric").first,
             "loss chart": chart(page, "Loss"), "μ flow": chart(page, "Adjoint flow")}
    for name, element in shown.items():
        box = element.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], (name, box)

    page.locator("body").press("ArrowRight")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1", timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    page.wait_for_timeout(500)
    sizes = page.evaluate("""() => [...document.querySelectorAll('.g-xtitle text, .g-ytitle text')]
        .map(t => parseFloat(getComputedStyle(t).fontSize))""")
    assert sizes and min(sizes) >= 18, sizes
    page.locator("body").press("Space")
    expect(button(page, "Pause")).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stMetricValue").first).not_to_have_text("1", timeout=LONG)
    page.locator("body").press("Space")
    expect(button(page, "Play")).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    assert steps(page) > 1
    assert_no_exception(page)
