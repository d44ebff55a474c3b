"""Presentation mode at a projector's 1280x720 in headless Chromium: the sidebar starts collapsed, the buttons,
status, loss chart and μ flow fit the first screen with axis titles of 18 px or more, and the keyboard drives
training (Right steps, Space plays and pauses). Screenshot: present_train.png."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from browser_helpers import PROJECT_ROOT, assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run
from ui.classroom.lesson_book import LESSONS

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
LONG = 60_000
DOCS = PROJECT_ROOT / "docs"


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


def assert_first_screen(page) -> None:
    """The buttons, status, loss chart and μ flow are within a projector's first screen."""
    shown = {"Play": button(page, "Play"), "Step": button(page, "Step"),
             "status": page.get_by_test_id("stMetric").first,
             "loss chart": chart(page, "Loss"), "μ flow": chart(page, "Adjoint flow")}
    for name, element in shown.items():
        box = element.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], (name, box)


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
    assert_first_screen(page)

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
    assert_charts_drawn(page, 6, timeout=LONG)   # the live board
    page.locator("body").press("Space")
    expect(button(page, "Play")).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    assert steps(page) > 1
    assert_charts_drawn(page, 6, timeout=LONG)
    assert_no_exception(page)


def test_a_lesson_in_present_mode_starts_folded_then_opens_screenshot_for_the_readme(projector, app_server):
    """The vanishing-μ lesson in presentation mode: its panel starts folded, so the first screen holds the
    buttons, status and first charts; opened after 20 epochs and answered, it is the README's screenshot (at a
    projector's width, tall enough for the panel and the first charts; docs/ when UPDATE_DOCS=1)."""
    page = projector
    page.goto(f"{app_server}/?lesson=vanishing&present=1")
    wait_for_app_run(page, timeout=LONG)
    expect(chart(page, "Adjoint flow").locator(".main-svg").first).to_be_attached(timeout=LONG)
    page.wait_for_timeout(500)
    expect(page.get_by_text("Lesson 7 of")).to_be_visible(timeout=LONG)
    expect(page.get_by_text("How does ‖μ₀‖ compare")).to_be_hidden()
    assert_first_screen(page)
    for epoch in range(1, 21):
        page.get_by_role("button", name="Epoch", exact=True).dispatch_event("click")
        expect(page.get_by_test_id("stMetricValue").nth(1)).to_have_text(str(epoch), timeout=LONG)
    page.locator(".st-key-lesson_panel summary").dispatch_event("click")   # (under the page's toolbar)
    page.get_by_text("10⁴ or more times smaller").click()
    expect(page.get_by_text("Right.")).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    page.set_viewport_size({"width": PROJECTOR["width"], "height": 1250})
    page.evaluate("""() => { window.scrollTo(0, 0);
        document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')
            .forEach(e => e.scrollTo(0, 0)); }""")
    page.wait_for_timeout(500)
    assert_no_exception(page)
    assert_charts_drawn(page, 5, timeout=LONG)
    path = save_screenshot(page, "present_lesson", full_page=False)
    if os.environ.get("UPDATE_DOCS") == "1":
        shutil.copyfile(path, DOCS / "lesson_present.png")


# --- issue 20, item 6: paused, larger text, no focus frame, the Backward page ------------------------------
VISIBLE_SIZE = "(els) => els.filter(e => e.getClientRects().length).map(e => parseFloat(getComputedStyle(e).fontSize))"


def assert_within_first_screen(name: str, box: dict | None) -> None:
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], (name, box)


@pytest.mark.parametrize("url", ["?present=1", "?present=1&lesson=vanishing"])
def test_present_paused_with_the_replay_row_fits_the_first_screen_in_larger_text(projector, app_server, url):
    """After a Step (the Keep / Download / Replay row is there) the buttons, status, loss chart with its axis
    titles and the μ bars with their labels are on a projector's first screen; the page's labels, buttons and
    status names are 18 px; a click leaves no frame around the page while a focused button keeps its ring."""
    page = projector
    page.goto(f"{app_server}/{url}")
    wait_for_app_run(page, timeout=LONG)
    button(page, "Step").dispatch_event("click")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1", timeout=LONG)
    expect(page.get_by_text("Replay", exact=True)).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    for title in ("Loss", "Adjoint flow"):
        expect(chart(page, title).locator(".main-svg").first).to_be_attached(timeout=LONG)
    page.wait_for_timeout(500)
    assert_no_exception(page)
    assert page.get_by_text("Chart error").count() == 0
    assert_first_screen(page)
    loss, mu = chart(page, "Loss"), chart(page, "Adjoint flow")
    assert_within_first_screen("loss axis title", loss.locator(".g-ytitle").bounding_box())
    assert_within_first_screen("loss step title", loss.locator(".g-xtitle").bounding_box())
    labels = mu.locator(".xtick text")
    assert labels.count() >= 4
    for k in range(labels.count()):
        assert_within_first_screen(f"μ bar label {k}", labels.nth(k).bounding_box())
    main = page.get_by_test_id("stMain")
    for what in ("button p", "[data-testid=stMetricLabel] p", "[data-testid=stWidgetLabel] p"):
        sizes = main.locator(what).evaluate_all(VISIBLE_SIZE)
        assert sizes and min(sizes) >= 18, (what, sizes)
    value = page.get_by_test_id("stMetricValue").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert value >= 30    # the status values stay large

    page.mouse.click(20, PROJECTOR["height"] // 2)     # in the left margin: on the page, off any control
    page.keyboard.press("Shift")                     # keyboard use: :focus-visible applies from here on
    frame = main.evaluate("e => [document.activeElement === e, getComputedStyle(e).outlineStyle]")
    assert frame == [True, "none"], frame
    step = button(page, "Step")
    step.focus()
    page.keyboard.press("Shift")
    ring = step.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).boxShadow]")
    assert ring != ["none", "none"], ring
    save_screenshot(page, "present_paused" + ("_lesson" if "lesson" in url else ""), full_page=False)


def test_present_backward_page_hides_its_intro_and_every_chart_title_fits(projector, app_server):
    """With the sidebar open too (the narrowest charts): no chart title runs past its chart's right edge."""
    page = projector
    page.goto(f"{app_server}/backward?present=1")
    wait_for_app_run(page, timeout=LONG)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.first.locator(".main-svg").first).to_be_attached(timeout=LONG)
    assert page.get_by_text("One mini-batch of the current run goes forward").count() == 0
    for sidebar in ("closed", "open"):
        if sidebar == "open":
            page.get_by_test_id("stExpandSidebarButton").click()
            expect(page.get_by_test_id("stSidebar")).to_be_in_viewport()
        page.wait_for_timeout(1000)   # Plotly redraws at the new width
        for i in range(charts.count()):
            expect(charts.nth(i).locator(".main-svg").first).to_be_attached(timeout=LONG)
        clipped = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
            const t = p.querySelector('.gtitle'), svg = p.querySelector('.main-svg');
            return t && t.getBoundingClientRect().right > svg.getBoundingClientRect().right + 1 ? t.textContent : null;
        }).filter(Boolean)""")
        assert clipped == [], (sidebar, clipped)
    assert page.get_by_text("Chart error").count() == 0
    assert_no_exception(page)
    save_screenshot(page, "present_backward", full_page=False)
def test_after_answering_a_lesson_question_the_keys_step_and_play_and_never_change_the_answer(projector, app_server):
    """Presentation mode, a lesson's panel open: after a click on an answer, → steps and Space plays and pauses
    (the keys go to the page's shortcuts, not to the answer, which stays as chosen)."""
    page = projector
    lesson = LESSONS["vanishing"]
    wrong = (lesson.answer + 1) % len(lesson.choices)
    page.goto(f"{app_server}/?lesson={lesson.id}&present=1")
    wait_for_app_run(page, timeout=LONG)
    page.locator(".st-key-lesson_panel summary").dispatch_event("click")
    answers = page.locator(".st-key-lesson_panel").get_by_test_id("stButtonGroup")
    answers.get_by_text(lesson.choices[wrong]).click()
    not_quite = page.get_by_text(f"Not quite: the answer is “{lesson.choices[lesson.answer]}”")
    expect(not_quite).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    page.keyboard.press("ArrowRight")                  # to whatever has the focus after the click
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1", timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    page.keyboard.press("Space")
    expect(button(page, "Pause")).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stMetricValue").first).not_to_have_text("1", timeout=LONG)
    page.keyboard.press("Space")
    expect(button(page, "Play")).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    assert steps(page) > 1
    expect(not_quite).to_be_visible()
    chosen = answers.locator("button").filter(has_text=lesson.choices[wrong])
    expect(chosen).to_have_attribute("aria-checked", "true")          # still the chosen answer
    for choice in lesson.choices:
        expect(answers.locator("button").filter(has_text=choice)).to_be_disabled()
    expect(page.get_by_text("Chart error")).to_have_count(0)
    assert_no_exception(page)
