"""A class in a real browser: a teacher opens a room, three students join in their own browser contexts (a link, a
link, a typed code with a nickname), train, and appear on the teacher's Class page with their numbers and the class
charts drawn; the teacher pauses the class, spotlights a student and sends a lesson."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from test_follow_browser import open_room

from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

pytestmark = pytest.mark.browser

LONG = 90_000


def join_by_code(page, url: str, code: str, nickname: str) -> None:
    page.goto(f"{url}/?preset=nonlinear-relu&epochs=100000")
    wait_for_app_run(page, timeout=LONG)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Join a class").click()
    sidebar.get_by_role("textbox", name="Nickname (optional)").fill(nickname)
    box = sidebar.get_by_role("textbox", name="Class code")
    box.fill(code.lower())
    box.press("Enter")
    expect(page.get_by_text(f"In class {code} as {nickname}")).to_be_visible(timeout=LONG)


def assert_redrawn_in_place(page) -> None:
    """The class charts take the students' new losses into the charts already drawn: a slow browser that
    mounted a new chart on every update of the page could take longer to draw it than the gap between updates."""
    marked = page.evaluate("""() => [...document.querySelectorAll("div[data-chart] svg.main-svg")].map((svg) => {
        svg.dataset.mark = "kept"; svg.closest("div[data-chart]").dataset.before = svg.closest("div[data-chart]")
            .dataset.draws; }).length""")
    page.wait_for_function("""() => [...document.querySelectorAll("div[data-chart]")].every(
        (div) => Number(div.dataset.draws) > Number(div.dataset.before))""", timeout=LONG)
    assert marked >= 2 and page.locator('div[data-chart] svg.main-svg[data-mark="kept"]').count() == marked


def assert_class_page_aligned(page) -> None:
    """The cards start at the charts' left edge (a list's indent once pushed them right), and the card sort's
    last choice lies inside its column (it was cut off at 1280 px). Each measured in one evaluation: the page's
    updates replace the cards' element several times a second."""
    edges = page.wait_for_function("""() => {
        const card = document.querySelector("li.abp-card");
        const row = document.querySelector('[data-testid="stMain"] [data-testid="stExpander"]');  // under a chart
        return card && row && [card.getBoundingClientRect().x, row.getBoundingClientRect().x]; }""",
                                   timeout=LONG).json_value()
    assert abs(edges[0] - edges[1]) <= 1, f"the first card starts at {edges[0]} px, the charts at {edges[1]} px"
    overflow = page.wait_for_function("""() => {
        const col = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stColumn"]')]
            .find((c) => c.textContent.includes("Sort cards by"));
        const buttons = col ? [...col.querySelectorAll("button")] : [];
        return buttons.length > 0 && [Math.max(...buttons.map((b) => b.getBoundingClientRect().right))
                                      - col.getBoundingClientRect().right]; }""", timeout=LONG).json_value()[0]
    assert overflow <= 0.5, f"the last sort choice sticks out of its column by {overflow:.1f} px"


def test_a_teacher_sees_three_students_train_pauses_them_spotlights_one_and_sends_a_lesson(browser, app_server):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(4)]
    try:
        teacher = contexts[0].new_page()
        code = open_room(teacher, app_server)
        students = [ctx.new_page() for ctx in contexts[1:]]
        for page in students[:2]:
            page.goto(f"{app_server}/?join={code}&preset=nonlinear-relu&epochs=100000")
            expect(page.get_by_text(f"In class {code} as Student")).to_be_visible(timeout=LONG)
        join_by_code(students[2], app_server, code, "Ada")
        students[0].get_by_role("button", name="Epoch", exact=True).click()
        wait_for_app_run(students[0], timeout=LONG)
        for page in students[1:]:
            page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
            expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)

        teacher.get_by_role("link", name="Class").click()
        cards = teacher.locator("li.abp-card")
        expect(cards).to_have_count(3, timeout=LONG)
        expect(teacher.get_by_text("3 students in class (2 playing")).to_be_visible(timeout=LONG)
        expect(cards.filter(has_text="Ada")).to_contain_text("playing")
        expect(cards.filter(has_text="Student 1")).to_contain_text("step 2 ")   # one epoch: 2 steps
        assert_charts_drawn(teacher, 2, timeout=LONG)                       # the class's loss curves and sweep
        assert_redrawn_in_place(teacher)
        expect(teacher.get_by_text("Chart error")).to_have_count(0)
        expect(cards.filter(has_text="Ada").get_by_role("img", name=re.compile("Ada's loss from"))).to_be_visible(
        timeout=LONG)
        assert_class_page_aligned(teacher)
        save_screenshot(teacher, "class_page_1280x720", full_page=False)
        save_screenshot(teacher, "class_page_full")

        teacher.get_by_role("button", name="Pause the class").click()
        for page in students[1:]:
            expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
            expect(page.get_by_text("Your teacher paused the class")).to_be_visible(timeout=LONG)
        expect(teacher.get_by_text("3 students in class (0 playing")).to_be_visible(timeout=LONG)

        teacher.get_by_role("combobox", name="Spotlight").click()
        teacher.get_by_role("option", name="Ada").click()
        expect(teacher.get_by_text("Spotlight: Ada")).to_be_visible(timeout=LONG)
        assert_charts_drawn(teacher, 2 + 5, timeout=LONG)                   # and Ada's run on the live board

        teacher.get_by_role("combobox", name="Lesson").click()
        teacher.get_by_role("option", name=re.compile("learning-rate sweep")).click()
        teacher.get_by_role("button", name="Send", exact=True).click()
        for page in students:
            expect(page.get_by_text(re.compile(r"Lesson \d+ of \d+: Class: a learning-rate sweep"))).to_be_visible(
                timeout=LONG)
            expect(page.get_by_text(re.compile(r"gave you, student \d, lr ="))).to_be_visible(timeout=LONG)
            assert_no_exception(page)
        save_screenshot(students[2], "class_student_in_lesson")
        assert_no_exception(teacher)
    finally:
        for ctx in contexts:
            ctx.close()


def test_in_presentation_mode_the_join_link_and_class_charts_fill_the_projectors_first_screen(browser, app_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher = ctx.new_page()
        teacher.goto(f"{app_server}/?present=1&preset=nonlinear-relu")
        wait_for_app_run(teacher, timeout=LONG)
        teacher.get_by_test_id("stExpandSidebarButton").click()   # presentation mode starts with it collapsed
        sidebar = teacher.get_by_test_id("stSidebar")
        sidebar.get_by_text("Share live with the class").click()
        teacher.get_by_role("button", name="Open a room").click()
        sidebar.get_by_role("link", name="Class").click()
        expect(teacher.get_by_text("0 students in class")).to_be_visible(timeout=LONG)
        teacher.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        teacher.wait_for_function("() => document.querySelector('[data-testid=stSidebar]')"
                                  ".getBoundingClientRect().right <= 0", timeout=LONG)   # slid away
        assert_charts_drawn(teacher, 2, timeout=LONG)
        expect(teacher.get_by_role("button", name="Pause the class")).to_be_hidden()   # folded away
        chart_slots = teacher.locator("div[data-chart]")
        expect(chart_slots).to_have_count(2)
        for chart in chart_slots.all():
            box = chart.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 720, box
        save_screenshot(teacher, "class_page_present", full_page=False)
        teacher.get_by_text("Teacher's controls").click()
        expect(teacher.get_by_role("button", name="Pause the class")).to_be_visible(timeout=LONG)
        assert_no_exception(teacher)
    finally:
        ctx.close()
