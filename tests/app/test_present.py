"""Presentation mode (?present=1): no intro, projector fonts on every chart, keyboard shortcuts; bad values warn."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from apptest_helpers import app, errors
from ui.plots import backward_figures as bf
from ui.plots import teaching, theme

INTRO = "Train a small network by gradient descent"


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def axis_title_sizes(fig: dict) -> list[int]:
    layout = fig["layout"]
    return [layout[k]["title"]["font"]["size"] for k in layout if k[1:5] == "axis" and k[0] in "xy"]


def test_present_hides_the_intro_and_lasts_for_the_session():
    at = app({"present": "1"})
    assert not at.exception and not errors(at)
    assert at.session_state["present"] is True
    assert INTRO not in captions(at)
    at.query_params.clear()            # another page's address carries no present=
    at.run()
    assert INTRO not in captions(at)
    at.query_params["present"] = "0"
    at.run()
    assert INTRO in captions(at)


def test_without_present_the_intro_shows():
    at = app()
    assert INTRO in captions(at)
    assert not at.warning


@pytest.mark.parametrize("raw", ["2", "yes", "", "1; drop"])
def test_a_bad_present_value_warns_in_one_line_and_the_page_works(raw):
    at = app({"present": raw})
    assert not at.exception and not errors(at)
    warnings = [w.value for w in at.warning]
    assert any("present=" in w and "\n" not in w for w in warnings), warnings
    assert INTRO in captions(at)


def badges_hidden(at) -> bool:
    return any(".st-key-btn_play kbd" in h.proto.body for h in at.get("html"))


def test_play_and_step_have_keyboard_shortcuts_shown_as_badges_only_in_present_mode():
    for at, badges in ((app(), False), (app({"present": "1"}), True)):
        assert at.button(key="btn_play").proto.shortcut.lower() == "space"
        assert at.button(key="btn_step").proto.shortcut.lower() == "right"
        assert "Shortcut: Space" in at.button(key="btn_play").proto.help
        assert badges_hidden(at) is not badges


def teaching_figures() -> list[dict]:
    """A figure of each builder outside ui/plots/figures.py, as a dict."""
    mu = [np.random.default_rng(0).normal(size=(8, n)) for n in (2, 4, 4, 1)]
    figs = [bf.network_diagram([2, 4, 4, 1], [np.abs(m).mean(0) for m in mu], 1),
            bf.norm_bars(np.array([1.0, 0.5, 0.1, 0.01]), 1),
            bf.matrix_heatmap(mu[1], "μ", "unit", "sample", signed=True)]
    return [f.to_dict() for f in figs]


def test_projector_fonts_reach_every_axis_title_and_the_title():
    import adjoint_core as ac
    from ui.train import board, chart_groups

    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(5)
    figs = list(board.live_figures(run, list(chart_groups.GROUPS)).values()) + teaching_figures()
    for fig in figs:
        big = theme.projector(fig)
        sizes = axis_title_sizes(big)
        assert sizes and min(sizes) >= 18, sizes
        assert big["layout"]["title"]["font"]["size"] > fig["layout"]["title"]["font"]["size"]
        assert big["layout"]["font"]["size"] > fig["layout"]["font"]["size"]
        json.dumps(go.Figure(big).to_plotly_json(), default=str)   # still a valid figure


def test_every_chart_shares_one_style():
    import adjoint_core as ac

    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    checks = ac.check_gradients(run.net, run.loss_fn, run.data.x[:4], run.data.y[:4])
    for fig in teaching_figures() + [teaching.check_scatter(checks).to_dict()]:
        assert fig["layout"]["template"]["layout"]["font"]["family"] == theme.FONT
        assert fig["layout"]["title"]["font"]["size"] == theme.FONT_SIZE + 1


def test_present_fonts_reach_the_train_pages_charts():
    from apptest_helpers import figure

    at = app({"present": "1"})
    at.button(key="btn_step").click().run()
    for key in ("loss_chart", "mu_bar", "fit_chart"):
        sizes = axis_title_sizes(figure(at, key))
        assert sizes and min(sizes) >= 18, (key, sizes)
    at = app()
    at.button(key="btn_step").click().run()
    assert max(axis_title_sizes(theme.projector(figure(at, "loss_chart")))) >= 18
    assert "font" not in figure(at, "loss_chart")["layout"]["xaxis"].get("title", {})


def test_the_address_bar_keeps_present_with_a_lesson_too():
    at = app({"present": "1"})
    assert at.query_params["present"] == "1" and at.query_params["preset"] == "wave2d-relu"
    at = app({"present": "1", "lesson": "vanishing"})
    assert dict(at.query_params).keys() >= {"present", "lesson"}
    assert not at.title   # the folded lesson panel names the page on a projector


def html_bodies(at) -> str:
    return "".join(h.proto.body for h in at.get("html"))


def test_present_css_reaches_the_page_only_in_present_mode():
    """Presentation mode's larger text (18 px labels, status values kept large) and every page's CSS."""
    from ui.screen import present

    shown = html_bodies(app({"present": "1"}))
    assert present.CSS in shown and theme.PAGE_CSS in shown
    assert "1.125rem" in present.CSS and "stMetricValue" in present.CSS
    plain = html_bodies(app())
    assert theme.PAGE_CSS in plain and present.CSS not in plain


def test_every_page_css_drops_the_page_frame_and_has_phone_rules():
    css = theme.PAGE_CSS
    assert '[data-testid="stMain"]:focus-visible { outline: none; }' in css   # the page's frame, not a control's
    assert css.count("outline: none") == 1                                     # no control loses its focus
    assert f":focus-visible {{ outline: 2px solid {theme.PRIMARY}; outline-offset: 2px; }}" in css   # ring, 3:1
    assert "@media (hover: none), (max-width: 640px) { .modebar-container { display: none; } }" in css
    assert f".st-key-{theme.INTRO_KEY} p" in css and "min-width: calc(50% - 0.5rem)" in css


def test_the_backward_page_hides_its_intro_in_present_mode():
    intro = "One mini-batch of the current run goes forward"
    for query, shown in (({}, True), ({"present": "1"}, False)):
        at = app(query)
        at.switch_page("app_pages/backward.py").run()
        assert not at.exception
        assert any(intro in m.value for m in at.markdown) is shown, query
