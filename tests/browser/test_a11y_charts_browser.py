"""Charts, status and controls without sight or mouse, in real headless Chromium: each chart's accessible name
and summary checked against the run's status numbers (paused and on the live board), the status announced
politely, the keyboard-only walkthrough, and the live charts' pace with prefers-reduced-motion.

Screenshot: a11y_show_data.png (a chart's "Show data" table open).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run
from ui.classroom.lesson_book import LESSONS

LONG = 60_000
LONG_RUN = "?epochs=2000"   # Play does not reach its epoch limit while a test watches
NUMBER = r"[-+0-9.e]+"
ACTIVE = """() => { const e = document.activeElement;
  return {tag: e.tagName, type: e.type || "", role: e.getAttribute("role") || "",
          name: (e.getAttribute("aria-label") || e.innerText || "").trim()}; }"""


def status(page: Page) -> dict[str, str]:
    """The status metrics by label (paused: st.metric; playing: the board's boxes, which carry its test ids)."""
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    values = page.get_by_test_id("stMetricValue").all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values)}


def open_train(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/{query}")
    wait_for_app_run(page)
    assert_charts_drawn(page, 5)
    assert_no_exception(page)


def test_paused_charts_are_named_described_by_the_runs_numbers_and_show_their_data(page, app_server):
    open_train(page, app_server)
    for _ in range(2):
        page.get_by_role("button", name="Epoch", exact=True).click()
        wait_for_app_run(page)
    assert_charts_drawn(page, 6)
    s = status(page)
    assert s["Epoch"] == "2", s

    loss = page.get_by_role("img", name="Chart: Loss", exact=True)
    expect(loss).to_have_accessible_description(re.compile(
        rf"^Train loss {re.escape(s['Train loss'])} at step {s['Step']}, {NUMBER} times (lower|higher) than "
        rf"{NUMBER} steps before; test loss {re.escape(s['Test loss'])}\.$"))
    mu = page.get_by_role("img", name=re.compile(r"^Chart: Adjoint flow"))
    expect(mu).to_have_accessible_description(re.compile(
        rf"^‖μ‖ (falls|grows) from {NUMBER} at the output to {NUMBER} at the input \(ratio {NUMBER}\): "
        r"(vanishing|healthy|exploding)\.$"))

    charts = page.get_by_test_id("stPlotlyChart")
    named = page.get_by_role("img", name=re.compile(r"^Chart: "))
    assert named.count() == charts.count() == 6
    for i in range(named.count()):   # every chart has a sentence, and Plotly's tick numbers are hidden
        expect(named.nth(i)).to_have_accessible_description(re.compile(r"^\S.*\.$"))
    assert page.evaluate("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] svg.main-svg')]
                              .every((svg) => svg.getAttribute("aria-hidden") === "true")""")

    announced = page.get_by_role("status").filter(has_text="Paused at step")
    expect(announced).to_have_text(f"Paused at step {s['Step']}, epoch 2: train loss {s['Train loss']}, "
                                   f"test loss {s['Test loss']}.")

    page.get_by_text("Show data: Loss", exact=True).click()
    table = page.locator(".st-key-abp_chart_loss_chart").get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    save_screenshot(page, "a11y_show_data", full_page=False)
    assert_no_exception(page)


BOARD_STATE = """() => {
  const board = document.querySelector(".abp-board");
  if (!board) return null;
  const boxes = [...board.querySelectorAll('[data-testid="stMetric"]')];
  const charts = [...board.querySelectorAll("div[data-chart]")].map((d) => ({
    key: d.dataset.chart, role: d.getAttribute("role"), name: d.getAttribute("aria-label"),
    summary: document.getElementById(d.getAttribute("aria-describedby"))?.textContent || "",
    drawn: Boolean(d.querySelector("svg.main-svg"))}));
  return {status: Object.fromEntries(boxes.map((b) => [b.children[0].textContent, b.children[1].textContent])),
          charts};
}"""

WATCH_LIVE = """(ms) => new Promise((resolve) => {
  const region = document.querySelector('.abp-board [role="status"][aria-live="polite"]');
  const times = [];
  const seen = new MutationObserver(() => times.push(performance.now()));
  seen.observe(region, {childList: true, characterData: true, subtree: true});
  setTimeout(() => { seen.disconnect(); resolve({times, text: region.textContent}); }, ms);
})"""


def test_the_live_board_names_and_describes_each_chart_and_announces_the_status_every_5_s(page, app_server):
    open_train(page, app_server, LONG_RUN)
    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)
    page.wait_for_function(f"() => {{ const s = ({BOARD_STATE})(); return s && s.charts.length >= 6 && "
                           "s.charts.every((c) => c.drawn && c.summary) && s.status.Step !== '0'; }", timeout=LONG)
    board = page.evaluate(BOARD_STATE)   # status and summaries of one frame, read at once
    s = board["status"]
    assert all(c["role"] == "img" and c["name"].startswith("Chart: ") for c in board["charts"]), board["charts"]
    loss = next(c for c in board["charts"] if c["key"] == "loss_chart")
    assert loss["name"] == "Chart: Loss"
    assert loss["summary"].startswith(f"Train loss {s['Train loss']} at step {s['Step']}"), (loss, s)
    assert_charts_drawn(page, 6)

    live = page.evaluate(WATCH_LIVE, 11_000)
    gaps = [b - a for a, b in zip(live["times"], live["times"][1:])]
    assert 2 <= len(live["times"]) <= 3 and all(g >= 4_900 for g in gaps), live
    assert re.fullmatch(r"Step [0-9,]+, Epoch [0-9,]+, Train loss \S+, Test loss \S+, Steps / s \S+\.", live["text"])

    page.get_by_role("button", name="Pause", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
    wait_for_app_run(page)
    s = status(page)
    expect(page.get_by_role("status").filter(has_text="Paused at step")).to_have_text(
        f"Paused at step {s['Step']}, epoch {s['Epoch']}: train loss {s['Train loss']}, test loss {s['Test loss']}.")


def test_with_reduced_motion_the_live_charts_redraw_at_most_once_a_second(page, app_server):
    page.emulate_media(reduced_motion="reduce")
    open_train(page, app_server, LONG_RUN)
    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    page.locator('div[data-chart="loss_chart"] svg.main-svg').first.wait_for(timeout=LONG)
    counts = page.evaluate("""(ms) => new Promise((resolve) => {
      const chart = document.querySelector('div[data-chart="loss_chart"]');
      const step = document.querySelector('.abp-status [data-testid="stMetricValue"]');
      const draws0 = Number(chart.dataset.draws);
      let steps = 0;
      const seen = new MutationObserver(() => steps++);
      seen.observe(step, {childList: true, characterData: true, subtree: true});
      setTimeout(() => { seen.disconnect(); resolve({draws: Number(chart.dataset.draws) - draws0, steps}); }, ms);
    })""", 6_000)
    assert 1 <= counts["draws"] <= 7, counts             # at most once a second over 6 s
    assert counts["steps"] > counts["draws"], counts     # the status stays live
    page.get_by_role("button", name="Pause", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)


def tab_to(page: Page, matches, most: int, back: bool = False) -> dict:
    """Press Tab (Shift+Tab when ``back``) until the focused element satisfies ``matches``; at most ``most``."""
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        active = page.evaluate(ACTIVE)
        if matches(active):
            return active
    raise AssertionError(f"no match within {most} presses; focus on {page.evaluate(ACTIVE)}")


def settled(page: Page) -> None:
    """Wait out a rerun a key press may have started (and the time for a shortcut to start one)."""
    page.wait_for_timeout(700)
    wait_for_app_run(page)


def test_keyboard_only_walkthrough(page, app_server):
    open_train(page, app_server)
    steps = lambda: int(status(page)["Step"].replace(",", ""))  # noqa: E731

    page.keyboard.press("Tab")                                   # the skip link
    assert page.evaluate(ACTIVE)["name"] == "Skip to main content"
    page.keyboard.press("Enter")
    tab_to(page, lambda a: a["tag"] == "BUTTON" and a["name"] == "Play", 6)
    page.keyboard.press("Enter")                                 # Play
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)
    page.wait_for_timeout(1500)
    page.keyboard.press("Space")                                 # Pause: the focused button, or its shortcut
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
    settled(page)
    before = steps()
    assert before > 0
    page.keyboard.press("ArrowRight")                            # Step's shortcut
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{before + 1:,}", timeout=LONG)
    settled(page)

    tab_to(page, lambda a: a["type"] == "range" and a["name"] == "Speed", 6)   # named once
    speed = page.locator(".st-key-speed input[type=range]")
    expect(speed).to_have_accessible_name("Speed")
    page.keyboard.press("ArrowRight")                            # the slider's key, not Step's shortcut
    page.keyboard.press("ArrowLeft")
    settled(page)
    expect(speed).not_to_have_attribute("aria-valuetext", "Max")
    assert steps() == before + 1

    tab_to(page, lambda a: a["tag"] == "A" and a["name"].endswith("Lessons"), 80, back=True)
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    tab_to(page, lambda a: a["tag"] == "A" and re.match(r"(\S+\s+)?1\. ", a["name"]), 90)
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    panel = page.locator(".st-key-lesson_panel")
    expect(panel).to_contain_text("Lesson 1 of")
    assert_charts_drawn(page, 5)
    lesson_steps = steps()

    page.keyboard.press("Tab")                                   # the skip link again
    page.keyboard.press("Enter")
    choices = next(iter(LESSONS.values())).choices
    tab_to(page, lambda a: a["tag"] == "BUTTON" and a["name"] in choices, 40)   # the answers: buttons
    page.keyboard.press("Space")                                 # answers, and only that: no Play
    settled(page)
    expect(panel.get_by_test_id("stAlert")).to_be_visible()       # an answer shows its explanation
    assert steps() == lesson_steps
    page.keyboard.press("ArrowRight")                            # once answered, → is Step's again
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{lesson_steps + 1:,}", timeout=LONG)
    settled(page)

    tab_to(page, lambda a: a["tag"] == "BUTTON" and re.search(r"\bNext\b", a["name"]), 60)
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    expect(panel).to_contain_text("Lesson 2 of")
    assert_no_exception(page)


def test_in_presentation_mode_buttons_are_named_by_their_labels(page, app_server):
    open_train(page, app_server, "?present=1")
    for name, keys in (("Play", "Space"), ("Step", "ArrowRight")):
        button = page.get_by_role("button", name=name, exact=True)
        expect(button).to_have_attribute("aria-keyshortcuts", keys)
        expect(button.locator("kbd")).to_be_visible()             # the badge is still shown on a projector
    expect(page.get_by_role("button", name=re.compile("Shortcut"))).to_have_count(0)


def test_space_on_a_focused_button_presses_that_button_only(page, app_server):
    """Streamlit's own filter lets a shortcut fire from a focused button: Space on Step also started Play."""
    open_train(page, app_server)
    page.locator(".st-key-btn_step button").first.focus()
    page.keyboard.press("Space")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1", timeout=LONG)
    settled(page)
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
