"""Follow the teacher in a real browser, on a server of its own (fresh: nothing served or drawn before): a follower
whose page has never shown a Streamlit chart draws the live board's charts with plotly.js served by the app."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from benchmarks.local_server import Server
from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

pytestmark = pytest.mark.browser

LONG = 90_000
BOARD_SLOTS = 6   # wave2d-relu: loss, mu bars, fit, slice, mu heatmap, gradient norms


@pytest.fixture(scope="module")
def fresh_server():
    """The app on a server no other test has used."""
    server = Server()
    try:
        yield server.url
    finally:
        server.stop()


def open_room(page, url: str) -> str:
    """The teacher's page: the wave preset, a room opened; returns the room's code."""
    page.goto(f"{url}/?preset=wave2d-relu&epochs=100000")
    wait_for_app_run(page, timeout=LONG)
    page.get_by_test_id("stSidebar").get_by_text("Share live with the class").click()
    page.get_by_role("button", name="Open a room").click()
    wait_for_app_run(page, timeout=LONG)
    code = page.get_by_test_id("stSidebar").get_by_text(re.compile(r"Room code")).inner_text()
    return re.search(r"Room code (\w{5})", code).group(1)


def test_a_follower_draws_the_charts_on_a_fresh_server(browser, fresh_server):
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    follower_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        teacher = teacher_ctx.new_page()
        code = open_room(teacher, fresh_server)
        teacher.get_by_role("button", name="Play", exact=True).dispatch_event("click")
        expect(teacher.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)

        follower = follower_ctx.new_page()   # opened while the teacher plays, before any pause
        follower.goto(f"{fresh_server}/?follow={code}")
        expect(follower.get_by_text(f"Following room {code}")).to_be_visible(timeout=LONG)
        assert follower.evaluate("window.Plotly === undefined"), "a follower's page has no Streamlit chart"
        assert_charts_drawn(follower, BOARD_SLOTS, timeout=LONG)
        assert follower.locator("div[data-chart]").count() == BOARD_SLOTS
        assert_no_exception(follower)
        save_screenshot(follower, "follower_fresh_server_phone")

        assert_charts_drawn(teacher, BOARD_SLOTS, timeout=LONG)   # the teacher's own board, playing
        save_screenshot(teacher, "teacher_room_playing")
    finally:
        teacher_ctx.close()
        follower_ctx.close()
