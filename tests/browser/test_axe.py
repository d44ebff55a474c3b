"""axe-core (bundled by axe-playwright-python) audits every page and state in headless Chromium against the WCAG
2.0, 2.1 and 2.2 A and AA rules: Train paused and playing, a lesson answered, presentation mode, a follower's page,
Lessons, Backward pass, Gradient check, Theory, Train on a phone, the Class page and a student's page in a class.
Any violation fails the test, which prints each one's rule id, impact, help and the selectors of the nodes it found.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from test_follow_browser import BOARD_SLOTS, open_room

from browser_helpers import assert_charts_drawn, assert_no_exception, wait_for_app_run
from ui.classroom.lesson_book import LESSONS
from ui.plots import theme

pytestmark = pytest.mark.browser

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
LONG = 90_000
PRESET = "/?preset=wave2d-relu&epochs=100000"   # all six kinds of Train chart, and Play runs until Pause
PAUSED_CHARTS = 5
AXE = Axe()


def report(violations: list[dict]) -> str:
    """One paragraph per violation: rule id, impact, help (and its link), then each node's target selectors."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        lines += [f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1].strip()}"
                  for node in v["nodes"]]
    return "\n".join(lines)


def assert_accessible(page: Page, state: str) -> None:
    """Fail with axe's report if the page in its present state (its accessibility script set up, which can be a
    second or two after the script run; its web fonts loaded: KaTeX's equations are laid out anew then) breaks any
    WCAG A/AA rule axe checks."""
    page.wait_for_function("window.__abpA11y === true", timeout=LONG)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")   # laid out
    violations = AXE.run(page, options=OPTIONS).response["violations"]
    assert not violations, f"axe: {len(violations)} WCAG violation(s) on {state}:\n{report(violations)}"


def open_page(page: Page, url: str, charts: int = 0) -> None:
    """Open url, wait for its script run, its page CSS and accessibility script (app.py puts them first on every
    page; they can be set up a second or two after the script run) and (if any) its charts; no exception on it."""
    page.goto(url)
    wait_for_app_run(page, timeout=LONG)
    page.wait_for_function("window.__abpA11y === true", timeout=LONG)
    if charts:
        assert_charts_drawn(page, charts, timeout=LONG)
    assert_no_exception(page)


@pytest.mark.parametrize("path,charts", [("lessons", 0), ("backward", 1), ("gradcheck", 1), ("theory", 0)])
def test_pages(page, app_server, path, charts):
    open_page(page, f"{app_server}/{path}", charts)
    expect(page.get_by_test_id("stMain").locator("h1").first).to_be_visible()
    assert_accessible(page, f"/{path}")


def test_train_paused_and_playing(page, app_server):
    open_page(page, app_server + PRESET, PAUSED_CHARTS)
    page.get_by_role("button", name="Epoch", exact=True).click()   # lines and heatmaps instead of "no steps" notes
    wait_for_app_run(page, timeout=LONG)
    assert_charts_drawn(page, PAUSED_CHARTS, timeout=LONG)
    assert_accessible(page, "Train, paused")

    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)
    expect(page.locator("div[data-chart]")).to_have_count(BOARD_SLOTS, timeout=LONG)
    assert_charts_drawn(page, BOARD_SLOTS, timeout=LONG)   # the live board's slots, each drawn
    assert_accessible(page, "Train, playing")
    page.get_by_role("button", name="Pause", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)


def test_lesson_answered(page, app_server):
    lesson = next(iter(LESSONS.values()))
    open_page(page, f"{app_server}/?lesson={lesson.id}", PAUSED_CHARTS)
    panel = page.locator(".st-key-lesson_panel")
    panel.get_by_text(lesson.choices[lesson.answer], exact=True).click()
    expect(panel.get_by_test_id("stAlertContentSuccess")).to_contain_text("Right.", timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    assert_accessible(page, f"lesson {lesson.id}, answered")


def test_presentation_mode(page, app_server):
    open_page(page, f"{app_server}{PRESET}&present=1", PAUSED_CHARTS)
    assert_accessible(page, "Train, presentation mode")


@pytest.mark.parametrize("url,charts", [(PRESET, PAUSED_CHARTS), ("/backward", 1), ("/theory", 0)])
def test_phone(browser, app_server, url, charts):
    """Train, and the pages whose equations are widest, on a phone."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_page(page, app_server + url, charts)
        assert_accessible(page, f"{url} on a 390x844 phone")
    finally:
        context.close()


def test_keyboard_focus_outline(page, app_server):
    """Tab to the first link or button: an outline of 2 px in the primary colour (3:1 on white: test_colour.py)."""
    open_page(page, f"{app_server}/lessons")
    for _ in range(10):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return {tag: e.tagName, style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor}; }""")
        if focused["tag"] in ("A", "BUTTON"):
            break
    assert focused["tag"] in ("A", "BUTTON"), focused
    r, g, b = (int(h, 16) for h in (theme.PRIMARY[1:3], theme.PRIMARY[3:5], theme.PRIMARY[5:7]))
    assert focused == {**focused, "style": "solid", "width": "2px", "color": f"rgb({r}, {g}, {b})"}


def test_follower(browser, app_server):
    """A follower of a paused teacher, then of the teacher playing (a follower's first frame can be dropped
    unsent: its charts then come with the board's keyframe)."""
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    follower_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher = teacher_ctx.new_page()
        code = open_room(teacher, app_server)
        follower = follower_ctx.new_page()
        follower.goto(f"{app_server}/?follow={code}")
        expect(follower.get_by_text(f"Following room {code}")).to_be_visible(timeout=LONG)
        assert_charts_drawn(follower, BOARD_SLOTS, timeout=LONG)
        assert_accessible(follower, f"a follower of room {code}, the teacher paused")

        teacher.get_by_role("button", name="Play", exact=True).dispatch_event("click")   # the board live
        expect(teacher.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)
        expect(follower.get_by_text("The teacher's run is paused")).to_have_count(0, timeout=LONG)
        assert_charts_drawn(follower, BOARD_SLOTS, timeout=LONG)
        assert_no_exception(follower)
        assert_accessible(follower, f"a follower of room {code}, the teacher playing")
    finally:
        teacher_ctx.close()
        follower_ctx.close()


def test_an_equation_wider_than_its_column_takes_focus(page, app_server):
    """A display equation that scrolls (here: squeezed to 120 px, as a fallback font or a narrow column can make it)
    can be focused to scroll with the keys, and takes no focus once it fits again."""
    open_page(page, f"{app_server}/theory")
    squeeze = page.add_style_tag(content=".katex-display { max-width: 120px; }")
    first = page.locator(".katex-display").first
    expect(first).to_have_attribute("tabindex", "0")
    assert_accessible(page, "/theory, its equations squeezed")
    squeeze.evaluate("s => s.remove()")
    expect(first).not_to_have_attribute("tabindex", "0")


def test_a_class_page_and_a_students_page(browser, app_server):
    """The teacher's Class page with a student's card, and that student's Train page in the class."""
    teacher_ctx, student_ctx = browser.new_context(), browser.new_context()
    try:
        teacher = teacher_ctx.new_page()
        code = open_room(teacher, app_server)
        student = student_ctx.new_page()
        open_page(student, f"{app_server}/?join={code}&preset=nonlinear-relu", PAUSED_CHARTS)
        student.get_by_role("button", name="Epoch", exact=True).click()
        expect(student.get_by_text(f"In class {code} as Student")).to_be_visible(timeout=LONG)
        assert_accessible(student, "a student's Train page in a class")
        teacher.get_by_role("link", name="Class").click()
        expect(teacher.locator("li.abp-card")).to_have_count(1, timeout=LONG)
        assert_charts_drawn(teacher, 2, timeout=LONG)
        assert_accessible(teacher, "the Class page")
    finally:
        teacher_ctx.close()
        student_ctx.close()
