"""A phone's layout of the wide figures (figures.for_phone, through charts.for_screen)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from ui.plots import figures
from ui.screen import charts


def fit_figure() -> dict:
    axis = np.linspace(0, 6, 20)
    t = np.add.outer(axis, axis)
    return figures.fit_2d_figure(axis, t, 0.5 * t, (float(t.min()), float(t.max())))


def test_the_fit_goes_to_two_rows_with_colour_bars_under_their_maps():
    fig = fit_figure()
    before = figures.to_json(fig)
    phone = figures.for_phone(fig)
    assert figures.to_json(fig) == before   # the desktop figure is left as it was
    lay = phone["layout"]
    xs = [lay[f"xaxis{s}"]["domain"] for s in ("", "2", "3")]
    ys = [lay[f"yaxis{s}"]["domain"] for s in ("", "2", "3")]
    assert ys[0] == ys[1] and xs[0][1] < xs[1][0]              # target and prediction side by side
    assert ys[2][1] < ys[0][0] and xs[2] == xs[0]              # the error below
    assert all(not lay[f"xaxis{s}"]["showticklabels"] for s in ("", "2", "3"))
    shared, own = lay["coloraxis"]["colorbar"], lay["coloraxis2"]["colorbar"]
    for bar, below, cols in ((shared, ys[0], (xs[0], xs[1])), (own, ys[2], (xs[2],))):
        assert bar["orientation"] == "h" and bar["yanchor"] == "top" and bar["xanchor"] == "center"
        assert bar["y"] < below[0]                              # under its row
        left, right = bar["x"] - bar["len"] / 2, bar["x"] + bar["len"] / 2
        assert left >= cols[0][0] - 1e-9 and right <= cols[-1][1] + 1e-9   # no wider than its maps
    assert shared["y"] > ys[2][1]                               # the shared bar sits between the rows
    assert own["nticks"] <= 3                                   # three labels fit under one map
    titles = [a["text"] for a in lay["annotations"]]
    assert titles == ["target", "prediction", "error"]
    assert [a["y"] for a in lay["annotations"]] == [ys[0][1], ys[0][1], ys[2][1]]
    assert len(lay["title"]["text"]) < len(fig["layout"]["title"]["text"])
    assert lay["height"] == figures.PHONE_FIT_HEIGHT
    go.Figure(phone)   # a valid figure


def test_other_figures_are_left_as_they_are():
    loss = figures.loss_figure(np.arange(3.0), np.ones(3), np.arange(1.0), np.ones(1), 1)
    assert figures.for_phone(loss) is loss


@pytest.mark.parametrize("phone", [True, False])
def test_for_screen_lays_out_the_fit_for_a_phone_only(monkeypatch, phone):
    monkeypatch.setattr(charts.device, "on_phone", lambda: phone)
    monkeypatch.setattr(charts.present, "active", lambda: False)
    fig = fit_figure()
    shown = charts.for_screen(fig)
    assert (shown["layout"]["height"] == figures.PHONE_FIT_HEIGHT) is phone
    teaching = go.Figure()
    assert charts.for_screen(teaching) is teaching   # a go.Figure (the teaching pages') as it is
