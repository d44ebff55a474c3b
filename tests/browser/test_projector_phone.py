"""The app at a projector's 1280x720 and on a phone (390x844, a phone's user agent), in headless Chromium.

Every page (Train, Backward pass, Gradient check, Theory) opens without an exception, with no equation, button
label or sidebar label cut off; the fit heatmaps' titles and colour bars and the network diagram's labels do
not overlap; the gradient chart's legend stays clear of its title; the exploding preset diverges on its
default seed; on a phone, choosing a page closes the sidebar and no chart shows a mode bar, the Train page's
first chart is within 1.2 screens, its buttons and status two per row, the fit heatmaps' colour bars lie under
their maps, and in a lesson Play is on the first screen; the Backward page's Previous and Next sit in a row.
Screenshots: <size>_<page>.png for every page, <size>_sidebar.png, <size>_exploding_diverged.png,
phone_train_paused.png, phone_lesson.png, <size>_backward_stepper.png.
"""

from __future__ import annotations

import itertools
import time

import pytest
from playwright.sync_api import Locator, Page, expect

import adjoint_core as ac
from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

pytestmark = pytest.mark.browser

PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36")
SIZES = {"projector": {"viewport": {"width": 1280, "height": 720}},
         "phone": {"viewport": {"width": 390, "height": 844}, "user_agent": PHONE_UA, "is_mobile": True,
                   "has_touch": True}}
PAGES = {"train": "", "backward": "backward", "gradcheck": "gradcheck", "theory": "theory"}
MAX_SHOT_HEIGHT = 12_000
LONG = 60_000

# Elements whose text is cut: display equations wider than their box (they would need a sideways scroll),
# button labels and sidebar widget labels shortened with an ellipsis, combobox values wider than their box.
CUT = """(selector) => [...document.querySelectorAll(selector)]
    .filter(e => e.scrollWidth > e.clientWidth + 2).map(e => (e.value || e.textContent).slice(0, 60))"""
EQUATIONS = "[data-testid=stMain] .katex-display"
BUTTON_LABELS = "[data-testid=stMain] button [data-testid=stMarkdownContainer]"
SIDEBAR_TEXT = ("[data-testid=stSidebar] input[role=combobox], "
                "[data-testid=stSidebar] [data-testid=stWidgetLabel] [data-testid=stMarkdownContainer]")
# Width of each text in the font of the sidebar's first combobox (the preset box) against its text width.
TOO_WIDE = """(labels) => {
    const box = document.querySelector("[data-testid=stSidebar] input[role=combobox]");
    const s = getComputedStyle(box), room = box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    return labels.filter(t => ctx.measureText(t).width > room).map(t => [t, ctx.measureText(t).width, room]);
}"""


@pytest.fixture(params=list(SIZES))
def device(request, browser):
    """(size name, page, page errors) in a fresh browser context of that size."""
    context = browser.new_context(**SIZES[request.param])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield request.param, page, errors
    finally:
        context.close()


SHOWN = "els => els.filter(e => e.getClientRects().length).map(e => e.className)"   # drawn (not display: none)


def open_page(page: Page, base: str, path: str) -> None:
    page.goto(f"{base}/{path}")
    wait_for_app_run(page, timeout=LONG)
    assert_charts_drawn(page, timeout=LONG)
    page.wait_for_timeout(500)   # KaTeX and Plotly lay out after the script run


def cut(page: Page, selector: str) -> list[str]:
    return page.evaluate(CUT, selector)


def chart(page: Page, title: str) -> Locator:
    """The Plotly chart whose title starts with ``title``."""
    return page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text=title))


def boxes(loc: Locator) -> list[dict]:
    return [loc.nth(i).bounding_box() for i in range(loc.count())]


def overlap(a: dict, b: dict, slack: float = 1.0) -> bool:
    return (a["x"] + slack < b["x"] + b["width"] and b["x"] + slack < a["x"] + a["width"]
            and a["y"] + slack < b["y"] + b["height"] and b["y"] + slack < a["y"] + a["height"])


def overlapping(loc: Locator) -> list[tuple[str, str]]:
    """Pairs of elements in ``loc`` whose boxes overlap, by their text."""
    items = [(loc.nth(i).text_content(), box) for i, box in enumerate(boxes(loc))]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(items, 2) if overlap(ba, bb)]


def open_sidebar(page: Page) -> None:
    """On a phone the sidebar starts closed."""
    expand = page.get_by_test_id("stExpandSidebarButton")
    if expand.is_visible():
        expand.click()
    expect(page.get_by_test_id("stSidebar")).to_be_in_viewport()


def full_screenshot(page: Page, name: str) -> None:
    """Grow the viewport to the page's full height at the same width (the app scrolls inside its own
    container), then shoot."""
    width = page.viewport_size["width"]
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, MAX_SHOT_HEIGHT)})
    page.mouse.move(1, 1)
    page.wait_for_timeout(1200)
    print(f"[browser] screenshot: {save_screenshot(page, name)}")


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_with_nothing_cut_off(device, app_server, name):
    size, page, errors = device
    open_page(page, app_server, PAGES[name])
    assert_no_exception(page)
    assert cut(page, EQUATIONS) == []
    assert cut(page, BUTTON_LABELS) == []            # e.g. the Backward page's "Previous" read "Prev…"
    if size == "phone":                              # Plotly's mode bar never hides on a touch screen
        chart_box = page.get_by_test_id("stPlotlyChart").first.bounding_box()
        page.mouse.move(chart_box["x"] + 50, chart_box["y"] + 50)
        assert page.locator("[data-testid=stMain] .modebar").evaluate_all(SHOWN) == []
    if name == "backward":                           # the network diagram's column labels
        assert overlapping(chart(page, "Network").locator(".annotation-text")) == []
    if name == "gradcheck" and size == "projector":  # the dot-product table shows its last ("pass") column
        table = page.get_by_test_id("stDataFrame").last.locator(".dvn-scroller")
        expect(table).to_be_attached()
        assert table.evaluate("e => e.scrollWidth <= e.clientWidth"), "the dot-product table scrolls sideways"
    full_screenshot(page, f"{size}_{name}")
    if name == "backward":                           # a hidden layer's rows of numbers fit too
        page.set_viewport_size(SIZES[size]["viewport"])
        page.get_by_role("button", name="Next").click()
        wait_for_app_run(page, timeout=LONG)
        expect(page.get_by_text("hidden layer 2", exact=False)).to_be_visible()
        assert cut(page, EQUATIONS) == []
    assert_no_exception(page)
    assert not errors, errors


def test_sidebar_labels_are_not_cut(device, app_server):
    """Per-layer activations (eight boxes), the longest option names and every preset's label fit."""
    size, page, _ = device
    acts = ["leaky_relu", "softplus", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]
    open_page(page, app_server, "?preset=deep-sigmoid-vanishing&activation=" + ",".join(acts))
    open_sidebar(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Layer 8")).to_have_value("softplus")
    expect(sidebar.get_by_role("combobox", name="Optimiser")).to_have_value("Momentum (EMA)")
    assert cut(page, SIDEBAR_TEXT) == []
    assert page.evaluate(TOO_WIDE, [p.label for p in ac.presets.values()]) == []
    sidebar.get_by_role("combobox", name="Layer 1").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    save_screenshot(page, f"{size}_sidebar", full_page=False)
    assert_no_exception(page)


def test_fit_heatmaps_titles_and_colour_bars_do_not_overlap(device, app_server):
    """The default 2D wave's target, prediction and error panels at step 0."""
    size, page, _ = device
    open_page(page, app_server, "")
    fit = chart(page, "Fit")   # on a phone: "Fit (error = ...)", in two rows
    titles = fit.locator(".annotation-text")
    expect(titles).to_have_count(3)
    assert overlapping(titles) == []
    colour_bar = fit.locator("g.cbcoloraxis").bounding_box()          # the target/prediction scale
    error_panel = fit.locator(".draglayer > g.x3y3 rect.nsewdrag").bounding_box()
    assert not overlap(colour_bar, error_panel)
    if size == "projector":                                           # between the prediction and the error
        assert colour_bar["x"] + colour_bar["width"] <= error_panel["x"] + 1, (colour_bar, error_panel)


def test_many_layers_keep_the_gradient_legend_and_mu_labels_readable(device, app_server):
    """Nine layers after one Step: the legend of ‖∂L/∂Wᵢ‖ stays off its title; bar labels are not shrunk."""
    size, page, _ = device
    open_page(page, app_server, "?preset=deep-sigmoid-vanishing")
    page.get_by_role("button", name="Step", exact=True).click()
    grads = chart(page, "Parameter gradients")
    expect(grads.locator(".legend")).to_be_attached(timeout=LONG)
    page.wait_for_timeout(500)
    assert not overlap(grads.locator(".gtitle").bounding_box(), grads.locator(".legend").bounding_box())
    sizes = chart(page, "Adjoint flow").locator(".bartext").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert all(s >= 10 for s in sizes), sizes
    assert_no_exception(page)


def test_exploding_preset_diverges_on_its_default_seed(device, app_server):
    size, page, _ = device
    open_page(page, app_server, "?preset=large-init-exploding")
    page.get_by_role("button", name="Play", exact=True).click()
    warning = page.get_by_test_id("stAlertContentWarning")   # (the screen-reader status says it too, unseen)
    expect(warning.get_by_text("Training diverged", exact=False)).to_be_visible(timeout=LONG)
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)   # paused itself
    assert_no_exception(page)
    save_screenshot(page, f"{size}_exploding_diverged", full_page=False)


def test_on_a_phone_choosing_a_page_closes_the_sidebar(browser, app_server):
    """Streamlit 1.67 closes it after a page link is tapped when the user agent is a phone's (not by width)."""
    context = browser.new_context(**SIZES["phone"])
    try:
        page = context.new_page()
        open_page(page, app_server, "")
        open_sidebar(page)
        page.get_by_test_id("stSidebarNav").get_by_text("Theory", exact=True).click()
        wait_for_app_run(page, timeout=LONG)
        expect(page.get_by_test_id("stSidebar")).not_to_be_in_viewport()
        assert page.url.rstrip("/").endswith("/theory")
    finally:
        context.close()


# --- issue 20, items 7 and 10 -------------------------------------------------------------------------------
PHONE_HEIGHT = SIZES["phone"]["viewport"]["height"]


def rows_of(loc: Locator) -> list[int]:
    """How many of ``loc``'s elements share each row (by their top edge), top to bottom."""
    tops = sorted(round(b["y"]) for b in boxes(loc))
    return [len(list(g)) for _, g in itertools.groupby(tops)]


def charts_drawn(page: Page) -> None:
    charts = page.get_by_test_id("stPlotlyChart")
    assert charts.count() > 0
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached(timeout=LONG)
    assert page.get_by_text("Chart error").count() == 0


def phone_page(browser, base: str, path: str) -> tuple:
    context = browser.new_context(**SIZES["phone"])
    page = context.new_page()
    open_page(page, base, path)
    return context, page


def test_on_a_phone_the_train_page_is_compact(browser, app_server):
    """Paused after a Step: the first chart starts within 1.2 screens; the four buttons and five status numbers
    go two per row; no chart shows its mode bar; the fit's target and prediction share a row over their colour
    bar, the error sits below over its own, and no colour bar is taller than its maps or runs into them."""
    context, page = phone_page(browser, app_server, "")
    try:
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("1", timeout=LONG)
        wait_for_app_run(page, timeout=LONG)
        page.wait_for_timeout(500)
        charts_drawn(page)
        first_chart = page.get_by_test_id("stPlotlyChart").first.bounding_box()
        assert first_chart["y"] < 1.2 * PHONE_HEIGHT, first_chart
        buttons = page.locator(", ".join(f".st-key-{k}" for k in ("btn_step", "btn_epoch", "btn_play", "btn_reset")))
        assert rows_of(buttons) == [2, 2]
        assert rows_of(page.get_by_test_id("stMetric")) == [2, 2, 1]
        tools = [page.locator(f".st-key-{k}").bounding_box()["y"] for k in ("btn_keep", "history_download")]
        assert tools == sorted(tools) and tools[0] < tools[1]   # Keep, then Download, in the page's order
        assert cut(page, BUTTON_LABELS) == []
        fit = chart(page, "Fit")
        page.mouse.move(200, fit.bounding_box()["y"] + 100)   # a mouse over the chart shows no mode bar either
        assert page.locator("[data-testid=stMain] .modebar").evaluate_all(SHOWN) == []
        maps = boxes(fit.locator(".draglayer g.xy rect.nsewdrag, .draglayer g.x2y2 rect.nsewdrag, "
                                 ".draglayer g.x3y3 rect.nsewdrag"))
        target, prediction, error = maps
        assert abs(target["y"] - prediction["y"]) < 1 and error["y"] > target["y"] + target["height"]
        assert min(m["width"] for m in maps) >= 120, maps   # each map a third wider than three in a row
        shared, own = boxes(fit.locator("g.colorbar"))
        for bar, under in ((shared, (target, prediction)), (own, (error,))):
            assert bar["height"] < bar["width"] and bar["height"] <= min(m["height"] for m in under), (bar, under)
            assert bar["y"] >= max(m["y"] + m["height"] for m in under) - 1, (bar, under)
            assert not any(overlap(bar, m) for m in maps), (bar, maps)
        assert overlapping(fit.locator("g.colorbar .ticks text, g.colorbar text.cbtick, .cbaxis text")) == []
        assert_no_exception(page)
        full_screenshot(page, "phone_train_paused")
    finally:
        context.close()


def test_on_a_phone_a_lesson_shows_play_on_the_first_screen(browser, app_server):
    """The lesson's panel folded: Play is on the first screen; open, its four buttons go two per row."""
    context, page = phone_page(browser, app_server, "?lesson=vanishing")
    try:
        expect(page.get_by_text("Lesson 7 of")).to_be_visible(timeout=LONG)
        nav = page.locator(", ".join(f".st-key-lesson_{k}" for k in ("prev", "next", "restart", "leave")))
        assert rows_of(nav) == [2, 2]
        page.locator(".st-key-lesson_panel summary").click()
        expect(nav.first).to_be_hidden()
        play = page.locator(".st-key-btn_play").bounding_box()
        assert play["y"] + play["height"] <= PHONE_HEIGHT, play
        charts_drawn(page)
        assert_no_exception(page)
        save_screenshot(page, "phone_lesson", full_page=False)
    finally:
        context.close()


def test_the_backward_stepper_reads_previous_left_and_next_right(device, app_server):
    """Previous (←) then Next (→) in one row, on both sizes; on a phone the layer slider sits above them; Next
    walks toward the input and moves the slider's thumb to the right."""
    size, page, errors = device
    open_page(page, app_server, "backward")
    prev, nxt = page.locator(".st-key-bp_prev"), page.locator(".st-key-bp_next")
    p, n = prev.bounding_box(), nxt.bounding_box()
    assert abs(p["y"] - n["y"]) < 1 and p["x"] + p["width"] <= n["x"], (p, n)
    assert prev.get_by_role("button").inner_text().split() == ["arrow_back", "Previous"]
    assert nxt.get_by_role("button").inner_text().split() == ["Next", "arrow_forward"]
    thumb = page.get_by_role("slider")
    before = thumb.bounding_box()
    if size == "phone":
        assert before["y"] + before["height"] <= p["y"], (before, p)
    nxt.get_by_role("button").click()
    wait_for_app_run(page, timeout=LONG)
    expect(page.get_by_text("hidden layer 2", exact=False).first).to_be_visible(timeout=LONG)
    deadline = time.monotonic() + 10   # the thumb glides to its new place: on a busy machine it takes a while
    while thumb.bounding_box()["x"] <= before["x"] and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert thumb.bounding_box()["x"] > before["x"]
    charts_drawn(page)
    assert_no_exception(page)
    assert not errors, errors
    save_screenshot(page, f"{size}_backward_stepper", full_page=False)
