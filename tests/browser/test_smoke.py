"""Smoke test: the app's root URL loads in real headless Chromium without errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

pytestmark = pytest.mark.browser


def test_root_page_loads(page, app_server):
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))

    page.goto(app_server + "/")
    wait_for_app_run(page)

    shot = save_screenshot(page, "smoke_root")
    print(f"[browser] screenshot: {shot}")
    if page_errors:
        print("[browser] JavaScript errors on the page:\n" + "\n".join(page_errors))

    assert_no_exception(page)
    assert_charts_drawn(page, 5)   # the Train page's charts
    assert page.title().strip(), "document has no <title>"
    heading = page.locator('[data-testid="stMain"]').locator("h1, h2, h3").first
    expect(heading).to_be_visible()
    assert heading.inner_text().strip(), "first heading on the page is empty"
