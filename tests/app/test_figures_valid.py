"""Every chart is a valid plotly figure. charts.show hands st.plotly_chart its figure dicts as charts.Built, which
Streamlit sends without validating them again, and the live board's figures go to plotly.js directly: so plotly
validates them here (an unknown or misspelt property raises), for every page and preset, and Built's JSON is
checked to be the JSON Streamlit's own validated path sends."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io
import plotly.tools
import pytest

import adjoint_core as ac
from apptest_helpers import app
from ui.screen import charts
from ui.train import board, chart_groups

TEACHING = ("Backward pass", "Gradient check", "Theory")


def drawn(at) -> list[dict]:
    """The figures of every st.plotly_chart on the page, as sent."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("preset", list(ac.presets))
def test_every_chart_of_the_train_page_and_the_live_board_is_a_valid_figure(preset):
    at = app({"preset": preset})
    at.button(key="btn_step").click().run()
    figures = drawn(at)
    assert len(figures) >= 4
    for fig in figures:
        go.Figure(fig)
    run = ac.TrainingRun(ac.presets[preset], seed=0)
    run.run_steps(3)
    for fig in board.live_figures(run, list(chart_groups.GROUPS)).values():
        go.Figure({k: v for k, v in fig.items() if k in ("data", "layout")})


@pytest.mark.parametrize("page", TEACHING)
def test_every_chart_of_a_teaching_page_is_a_valid_figure(page):
    at = app({"preset": "wave2d-relu"})
    at.switch_page({"Backward pass": "app_pages/backward.py", "Gradient check": "app_pages/gradcheck.py",
                    "Theory": "app_pages/theory.py"}[page]).run()
    assert not at.exception, at.exception
    figures = drawn(at)
    assert figures, page
    for fig in figures:
        go.Figure(fig)


@pytest.mark.parametrize("preset", ["nonlinear-relu", "wave2d-relu"])
def test_a_built_figure_is_sent_as_streamlits_validated_path_sends_it(preset):
    run = ac.TrainingRun(ac.presets[preset], seed=0)
    run.run_steps(40)
    for key, fig in chart_groups.all_figures(run).items():
        fig = {k: v for k, v in fig.items() if k in ("data", "layout")}
        validated = plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(fig, True), validate=False)
        built = plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(charts.Built(fig), True),
                                  validate=False)
        assert json.loads(built) == json.loads(validated), key


def test_a_misspelt_property_fails_validation():
    with pytest.raises(ValueError, match="zsmoth"):
        go.Figure({"data": [{"type": "heatmap", "z": [[1, 2]], "zsmoth": "fast"}]})
