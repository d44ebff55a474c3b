"""Follow the teacher in a real browser, on a server of its own (fresh: nothing served or drawn before): a follower
whose page has never shown a Streamlit chart draws the live board's charts with plotly.js served by the app, gets
its frames as the room's files over HTTP (not through its websocket) and can take a copy; a student types the
code; followers are told when the teacher leaves, and the room closes."""

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
        heads, pushed = [], []   # the room's heads fetched; messages through the page's websocket
        follower.on("response", lambda r: heads.append(r.status) if r.url.endswith(f"/{code}/head.json.gz") else None)
        follower.on("websocket", lambda ws: ws.on("framereceived", lambda _: pushed.append(1)))
        follower.goto(f"{fresh_server}/?follow={code}")
        expect(follower.get_by_text(f"Following room {code}")).to_be_visible(timeout=LONG)
        assert follower.evaluate("window.Plotly === undefined"), "a follower's page has no Streamlit chart"
        assert_charts_drawn(follower, BOARD_SLOTS, timeout=LONG)
        assert follower.locator("div[data-chart]").count() == BOARD_SLOTS
        step = follower.get_by_test_id("stMetricValue").first
        fetched, received = len(heads), len(pushed)
        for _ in range(3):   # three frames of the teacher's run
            shown = step.inner_text()
            expect(step).not_to_have_text(shown, timeout=LONG)
        assert len(heads) > fetched and set(heads) == {200}, "the frames came as the room's head, over HTTP"
        assert len(pushed) - received < 3, "not through the page's websocket"
        assert_no_exception(follower)
        save_screenshot(follower, "follower_fresh_server_phone")

        assert_charts_drawn(teacher, BOARD_SLOTS, timeout=LONG)   # the teacher's own board, playing
        save_screenshot(teacher, "teacher_room_playing")

        follower.get_by_role("button", name="Take a copy").click()
        expect(follower.get_by_text("it is now your own run")).to_be_visible(timeout=LONG)
        assert_charts_drawn(follower, 5, timeout=LONG)            # the copy's own charts, paused
    finally:
        teacher_ctx.close()
        follower_ctx.close()


def test_a_typed_code_follows_and_the_follower_is_told_when_the_teacher_leaves(browser, fresh_server):
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        code = open_room(teacher_ctx.new_page(), fresh_server)
        student = student_ctx.new_page()
        student.goto(f"{fresh_server}/")
        wait_for_app_run(student, timeout=LONG)
        box = student.get_by_test_id("stSidebar").get_by_role("textbox", name="Follow a room")
        box.fill("K7Q")
        box.press("Enter")
        expect(student.get_by_test_id("stSidebar").get_by_text("is not a room code")).to_be_visible(timeout=LONG)
        box.fill(code.lower())
        box.press("Enter")
        expect(student.get_by_text(f"Following room {code}")).to_be_visible(timeout=LONG)
        expect(student.get_by_text("The teacher's run is paused")).to_be_visible(timeout=LONG)
        assert_charts_drawn(student, BOARD_SLOTS, timeout=LONG)
        expect(student.get_by_text("this run has not started").first).to_be_visible()   # the teacher's step 0
        expect(student.get_by_text("press Step")).to_have_count(0)                      # no button of theirs

        teacher_ctx.close()                                    # the teacher's browser closes
        expect(student.get_by_text("The teacher has left")).to_be_visible(timeout=10_000)
        save_screenshot(student, "follower_teacher_left", full_page=False)
        expect(student.get_by_text(f"room {code} has closed: the teacher left")).to_be_visible(timeout=30_000)
        assert_no_exception(student)
    finally:
        teacher_ctx.close()
        student_ctx.close()
