"""Presentation mode at a projector's 1280x720 in headless Chromium: the sidebar starts collapsed, the buttons,
status, loss chart and μ flow fit the first screen with axis titles of 18 px or more, and the keyboard drives
training (Right steps, Space plays and pauses). Screenshot: present_train.png."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from browser_helpers import PROJECT_ROOT, assert_no_exception, save_screenshot, wait_for_app_run
from ui.lesson_book import LESSONS

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
    page.locator("body").press("Space")
    expect(button(page, "Play")).to_be_visible(timeout=LONG)
    wait_for_app_run(page, timeout=LONG)
    assert steps(page) > 1
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
    path = save_screenshot(page, "present_lesson", full_page=False)
    if os.environ.get("UPDATE_DOCS") == "1":
        shutil.copyfile(path, DOCS / "lesson_present.png")


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
