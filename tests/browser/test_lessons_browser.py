"""Lessons and hide= in real headless Chromium: the Lessons page's link opens a lesson's panel on the Train page,
an answer reveals the explanation, and the lesson's (or a link's) hidden controls are gone from the sidebar.

Screenshots: lessons_page.png, lesson_panel_before.png, lesson_panel_answered.png, hide_sidebar.png.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from playwright.sync_api import Page, expect

from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run
from ui.classroom.lesson_book import LESSONS

pytestmark = pytest.mark.browser

LESSON = LESSONS["vanishing"]
NUMBER = list(LESSONS).index(LESSON.id) + 1
LONG = 60_000   # ms: the machine may be busy


def control(page: Page, name: str):
    """A sidebar control by its URL parameter name (its widget key is w_<name>)."""
    return page.get_by_test_id("stSidebar").locator(f".st-key-w_{name}")


def test_lessons_page_opens_a_lesson_whose_answer_appears_after_a_choice(page, app_server):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{app_server}/lessons")
    wait_for_app_run(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stPageLink-NavLink")).to_have_count(len(LESSONS))
    save_screenshot(page, "lessons_page")
    main.get_by_role("link", name=f"{NUMBER}. {LESSON.title}").click()
    wait_for_app_run(page)
    panel = page.locator(".st-key-lesson_panel")
    expect(panel).to_contain_text(f"Lesson {NUMBER} of {len(LESSONS)}: {LESSON.title}")
    expect(panel).to_contain_text(LESSON.question)
    assert page.url.endswith(f"/?lesson={LESSON.id}"), page.url
    expect(panel.get_by_text(LESSON.explanation[:40])).to_have_count(0)
    for name in LESSON.hide:                                   # the lesson's hidden controls
        expect(control(page, name)).to_be_hidden()
    expect(control(page, "init_scale")).to_be_visible()         # and the ones it leaves to the class
    assert_charts_drawn(page, 5)
    page.mouse.move(5, 5)
    save_screenshot(page, "lesson_panel_before", full_page=False)

    panel.get_by_test_id("stButtonGroup").get_by_text(LESSON.choices[LESSON.answer]).click()
    wait_for_app_run(page)
    expect(panel.get_by_text(LESSON.explanation[:40])).to_be_visible()
    expect(panel.get_by_test_id("stAlertContentSuccess")).to_contain_text("Right.")
    assert_no_exception(page)
    page.mouse.move(5, 5)
    page.wait_for_timeout(500)
    save_screenshot(page, "lesson_panel_answered", full_page=False)
    assert not errors, errors


def assert_lesson_open(page: Page, lesson) -> None:
    """The Train page shows ``lesson``: its panel, its learning rate in the sidebar, and every chart drawn."""
    wait_for_app_run(page, timeout=LONG)
    number = list(LESSONS).index(lesson.id) + 1
    expect(page.locator(".st-key-lesson_panel")).to_contain_text(f"Lesson {number} of {len(LESSONS)}: {lesson.title}",
                                                                 timeout=LONG)
    expect(control(page, "lr")).to_contain_text(f"{lesson.config.lr:g}", timeout=LONG)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.first.locator(".main-svg").first).to_be_attached(timeout=LONG)
    assert charts.count() >= 4, charts.count()
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached(timeout=LONG)
    expect(page.get_by_text("Chart error")).to_have_count(0)
    assert_no_exception(page)


def test_a_copied_lesson_link_opens_the_lesson_in_a_new_browser(browser, page, app_server):
    """The Lessons page's link, as "Copy link address" gives it, opens the lesson in a browser that has never
    seen the app; so does the Lessons page's own address with ?lesson= (links of that form were shared)."""
    lesson = LESSONS["exploding"]
    number = list(LESSONS).index(lesson.id) + 1
    page.goto(f"{app_server}/lessons")
    wait_for_app_run(page)
    link = page.get_by_test_id("stMain").get_by_role("link", name=f"{number}. {lesson.title}")
    href = link.evaluate("a => a.href")                     # what "Copy link address" copies
    for url in (href, f"{app_server}/lessons?lesson={lesson.id}"):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            fresh = context.new_page()
            fresh.goto(url)
            assert_lesson_open(fresh, lesson)
            assert f"lesson={lesson.id}" in fresh.url and "/lessons" not in fresh.url, fresh.url
        finally:
            context.close()
    assert link.get_attribute("href").startswith(app_server + "/"), "the link must not depend on the page it is on"


def test_hide_removes_controls_and_empty_expanders(page, app_server):
    page.goto(f"{app_server}/?preset=nonlinear-relu&hide=lr,optimiser,seed,epochs")
    wait_for_app_run(page)
    assert_no_exception(page)
    sidebar = page.get_by_test_id("stSidebar")
    for name in ("lr", "optimiser"):
        expect(control(page, name)).to_be_hidden()
    expect(sidebar.get_by_text("Learning rate", exact=True)).to_be_hidden()
    expect(control(page, "beta")).to_be_visible()
    expect(sidebar.get_by_test_id("stExpander").filter(has_text="Optimiser")).to_be_visible()
    expect(sidebar.locator('[data-testid="stExpander"]:visible')).to_have_count(
        sidebar.get_by_test_id("stExpander").count() - 1)      # "Run" had only the seed and the epoch limit
    assert "hide=optimiser,lr,epochs,seed" in unquote(page.url), page.url   # the sidebar's order
    page.set_viewport_size({"width": 1400, "height": 1700})    # the whole sidebar on the screenshot
    assert_charts_drawn(page, 5)
    expect(sidebar.get_by_role("textbox", name="Hidden layer sizes")).to_have_value("64, 64")
    page.mouse.move(5, 5)
    page.wait_for_timeout(500)
    save_screenshot(page, "hide_sidebar", full_page=False)


def test_a_long_answer_wraps_in_its_pill_on_a_phone_before_and_after_the_choice(browser, app_server):
    lesson = max(LESSONS.values(), key=lambda ls: max(len(c) for c in ls.choices))
    cut = """(group) => [...group.querySelectorAll("button p")].filter((p) => p.scrollWidth > p.clientWidth + 1
        || p.scrollHeight > p.clientHeight + 1).map((p) => p.textContent)"""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(f"{app_server}/?lesson={lesson.id}")
        wait_for_app_run(page, timeout=LONG)
        group = page.locator(".st-key-lesson_panel").get_by_test_id("stButtonGroup")
        for choice in lesson.choices:
            expect(group.get_by_text(choice, exact=True)).to_be_visible(timeout=LONG)
        assert group.evaluate(cut) == [], "choices cut off"
        group.get_by_text(lesson.choices[lesson.answer], exact=True).click()
        expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Right.", timeout=LONG)
        assert page.locator(".st-key-lesson_panel").get_by_test_id("stButtonGroup").evaluate(cut) == []
        save_screenshot(page, "lesson_long_answer_phone", full_page=False)
    finally:
        ctx.close()
