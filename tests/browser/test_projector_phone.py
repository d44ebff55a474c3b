"""The app at a projector's 1280x720 and on a phone (390x844, a phone's user agent), in headless Chromium.

Every page (Train, Backward pass, Gradient check, Theory) opens without an exception, with no equation, button
label or sidebar label cut off; the fit heatmaps' titles and colour bars and the network diagram's labels do
not overlap; the gradient chart's legend stays clear of its title; the exploding preset diverges on its
default seed; on a phone, choosing a page closes the sidebar and the teaching pages' charts have no mode bar.
Screenshots: <size>_<page>.png for every page, <size>_sidebar.png, <size>_exploding_diverged.png.
"""

from __future__ import annotations

import itertools

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
    if size == "phone" and name != "train":          # Plotly's mode bar never hides on a touch screen
        assert page.locator("[data-testid=stMain] .modebar").count() == 0
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
    fit = chart(page, "Fit over the input plane")
    titles = fit.locator(".annotation-text")
    expect(titles).to_have_count(3)
    assert overlapping(titles) == []
    colour_bar = fit.locator("g.cbcoloraxis").bounding_box()          # the target/prediction scale
    error_panel = fit.locator(".draglayer > g.x3y3 rect.nsewdrag").bounding_box()
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
    expect(page.get_by_text("Training diverged", exact=False)).to_be_visible(timeout=LONG)
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
