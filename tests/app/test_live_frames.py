"""The Train page's live board while playing (ui/train/board.py, ui/train/live.py): which charts each frame redraws
and what it sends.

AppTest cannot show this (every AppTest run is a full run, and run_every never fires), so the frame schedule
and the board's payloads are checked here directly, against a plain dict standing in for the session state.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import adjoint_core as ac
from ui.train import board, chart_groups, compare, live

HEAVY_KEYS = {"fit_chart": "fit", "slice_chart": "fit", "mu_heatmap": "mu_heatmap", "grad_chart": "grad"}
ALL_KEYS = {"loss_chart", "mu_bar", *HEAVY_KEYS}


@pytest.fixture
def state(monkeypatch):
    state: dict = {"playing": True}
    for module in (live, compare):
        monkeypatch.setattr(module, "ss", state)
    return state


def wave(steps: int = 3) -> ac.TrainingRun:
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(steps)
    return run


def frame(run: ac.TrainingRun, own: board.Board) -> dict:
    """The board's next frame for its owner's page, as the browser reads it (strict JSON: no NaN)."""
    own.update(run, live.board_status(run, None))
    return json.loads(own.payload(own.drawn), parse_constant=lambda c: pytest.fail(f"{c} in the payload"))


def test_the_first_frame_draws_everything_then_fast_charts_every_frame_and_heavy_groups_in_turn():
    assert board.due_groups(0) == list(chart_groups.GROUPS)
    later = [board.due_groups(f) for f in range(1, 1 + 4 * len(board.HEAVY_GROUPS) * board.HEAVY_EVERY)]
    assert all(groups[0] == "fast" and len(groups) <= 2 for groups in later)
    turns = [groups[1] for groups in later if len(groups) == 2]
    assert turns[:4] == ["fit", "mu_heatmap", "grad", "fit"]
    per_cycle = len(board.HEAVY_GROUPS) * board.HEAVY_EVERY
    for start in range(0, len(later), per_cycle):
        assert {g for groups in later[start:start + per_cycle] for g in groups[1:]} == set(board.HEAVY_GROUPS)


def test_a_frame_sends_the_status_and_the_charts_due(state):
    run, own = wave(), board.Board()
    first = frame(run, own)
    assert set(first["charts"]) == ALL_KEYS and set(own.heights) == ALL_KEYS
    assert [[key for key, _, _ in row] for row in first["rows"]] == [
        ["loss_chart", "mu_bar"], ["fit_chart"], ["slice_chart"], ["mu_heatmap", "grad_chart"]]
    assert dict(first["status"])["Step"] == "3" and dict(first["status"])["Epoch"] == "0"
    assert all(fig["config"] == {"staticPlot": True} for fig in first["charts"].values())
    assert {key for key, fig in first["charts"].items() if fig.get("heavy")} == set(HEAVY_KEYS), \
        "the browser draws the heavy groups' charts after the fast ones (live_board.js)"
    run.run_steps(2)
    second = frame(run, own)
    assert set(second["charts"]) == {"loss_chart", "mu_bar"} and dict(second["status"])["Step"] == "5"
    assert second["rows"] == first["rows"], "the layout stays put"
    steps = second["charts"]["loss_chart"]["data"][0]["x"]   # plotly.js's typed-array form
    assert np.frombuffer(base64.b64decode(steps["bdata"]), steps["dtype"]).tolist() == [1, 2, 3, 4, 5]


def test_a_frame_without_a_new_step_sends_only_the_status(state):
    run, own = wave(), board.Board()
    frame(run, own)
    own.update(run, live.board_status(run, None))   # no step since
    idle = own.payload(own.drawn)
    assert len(idle) < 1000
    assert json.loads(idle)["charts"] == {} and dict(json.loads(idle)["status"])["Step"] == "3"


def test_a_still_frame_sends_the_status_alone_even_when_a_keyframe_is_due(state, monkeypatch):
    run, own = wave(), board.Board()
    frame(run, own)
    seen = dict(own.drawn)
    monkeypatch.setattr(board, "clock", lambda: 1e9)   # long past the page's next keyframe
    still = json.loads(own.still())
    assert still["charts"] == {} and still["rows"] == json.loads(own.payload({}))["rows"]
    assert dict(still["status"])["Step"] == "3" and own.drawn == seen
    assert set(json.loads(own.payload(own.drawn))["charts"]) == ALL_KEYS, "the keyframe is still due"


def test_pages_on_one_board_each_get_what_they_have_not_drawn(state):
    run, own = wave(), board.Board()
    early: dict = {}
    frame(run, own)
    assert set(json.loads(own.payload(early))["charts"]) == ALL_KEYS
    run.run_steps(1)
    frame(run, own)                                  # the fast charts: the owner's page draws them
    run.run_steps(1)
    frame(run, own)                                  # the fast charts and the fit
    assert set(json.loads(own.payload(early))["charts"]) == {"loss_chart", "mu_bar", "fit_chart", "slice_chart"}
    assert set(json.loads(own.payload({}))["charts"]) == ALL_KEYS, "a new page gets every chart"
    again = board.Board()                            # a new board of the same layout: every chart is new
    frame(run, again)
    assert set(json.loads(again.payload(early))["charts"]) == ALL_KEYS


def test_a_board_not_yet_updated_sends_an_empty_board():
    assert json.loads(board.Board().payload({})) == {"plotly": board.PLOTLY_URL, "status": [], "rows": [],
                                                     "charts": {}}


def test_board_skips_charts_when_no_step_was_taken_and_restarts_after_new_board(state, monkeypatch):
    sent = []
    monkeypatch.setattr(board, "_component", lambda key, data, height: sent.append(json.loads(data)))
    run = wave()
    live.new_board()
    live.board(run)
    live.board(run)                                  # the trainer took no step in between
    run.run_steps(1)
    live.board(run)
    assert [set(p["charts"]) for p in sent] == [ALL_KEYS, set(), {"loss_chart", "mu_bar"}]
    live.new_board()                                 # a full page run: the board is drawn afresh
    live.board(run)
    assert set(sent[-1]["charts"]) == ALL_KEYS


def test_a_1d_target_has_no_slice_row(state):
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    run.run_steps(2)
    payload = frame(run, board.Board())
    assert [[key for key, _, _ in row] for row in payload["rows"]] == [
        ["loss_chart", "mu_bar"], ["fit_chart"], ["mu_heatmap", "grad_chart"]]


def test_kept_runs_stay_on_the_live_board(state):
    kept = wave(40)
    compare.keep(kept)
    run = wave(5)
    payload = frame(run, board.Board())
    assert [key for key, _, _ in payload["rows"][1]] == ["ratio_chart"]
    loss, ratio = payload["charts"]["loss_chart"], payload["charts"]["ratio_chart"]
    assert [t["name"] for t in ratio["data"]] == ["this run", "step 40"]
    assert loss["data"][-1]["name"] == "step 40"
