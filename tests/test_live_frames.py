"""The Train page's live board while playing (ui/live.py): which charts each frame redraws and what it sends.

AppTest cannot show this (every AppTest run is a full run, and run_every never fires), so the frame schedule
and the board's payloads are checked here directly, against a plain dict standing in for the session state.
"""

from __future__ import annotations

import json

import pytest

import adjoint_core as ac
from ui import compare, figures, live

HEAVY_KEYS = {"fit_chart": "fit", "slice_chart": "fit", "mu_heatmap": "mu_heatmap", "grad_chart": "grad"}
ALL_KEYS = {"loss_chart", "mu_bar", *HEAVY_KEYS}


@pytest.fixture
def state(monkeypatch):
    state: dict = {"playing": True}
    monkeypatch.setattr(live, "ss", state)
    monkeypatch.setattr(compare, "ss", state)
    return state


def wave(steps: int = 3) -> ac.TrainingRun:
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(steps)
    return run


def test_the_first_frame_draws_everything_then_fast_charts_every_frame_and_heavy_groups_in_turn():
    assert live.due_groups(0) == list(live.GROUPS)
    later = [live.due_groups(f) for f in range(1, 1 + 4 * len(live.HEAVY_GROUPS) * live.HEAVY_EVERY)]
    assert all(groups[0] == "fast" and len(groups) <= 2 for groups in later)
    turns = [groups[1] for groups in later if len(groups) == 2]
    assert turns[:4] == ["fit", "mu_heatmap", "grad", "fit"]
    per_cycle = len(live.HEAVY_GROUPS) * live.HEAVY_EVERY
    for start in range(0, len(later), per_cycle):
        assert {g for groups in later[start:start + per_cycle] for g in groups[1:]} == set(live.HEAVY_GROUPS)


def test_a_frame_sends_the_status_and_the_charts_due(state):
    run, schedule = wave(), live.Schedule()
    first = live.board_payload(run, schedule)
    assert set(first["charts"]) == ALL_KEYS and set(schedule.heights) == ALL_KEYS
    assert [[key for key, _, _ in row] for row in first["rows"]] == [
        ["loss_chart", "mu_bar"], ["fit_chart"], ["slice_chart"], ["mu_heatmap", "grad_chart"]]
    assert dict(first["status"])["Step"] == "3" and dict(first["status"])["Epoch"] == "0"
    assert all(fig["config"] == {"staticPlot": True} for fig in first["charts"].values())
    run.run_steps(2)
    second = live.board_payload(run, schedule)
    assert set(second["charts"]) == {"loss_chart", "mu_bar"} and dict(second["status"])["Step"] == "5"
    assert second["rows"] == first["rows"], "the layout stays put"
    loss = second["charts"]["loss_chart"]["data"][0]
    assert len(loss["x"]) == 5                       # the new steps are on the chart
    json.loads(figures.to_json(second))              # one JSON document, as sent


def test_a_frame_without_a_new_step_sends_only_the_status(state):
    run, schedule = wave(), live.Schedule()
    live.board_payload(run, schedule)
    idle = live.board_payload(run, schedule)        # no step since
    assert idle["charts"] == {} and dict(idle["status"])["Step"] == "3"
    assert len(figures.to_json(idle)) < 1000


def test_board_skips_charts_when_no_step_was_taken_and_restarts_after_new_board(state, monkeypatch):
    sent = []
    monkeypatch.setattr(live, "_board", lambda key, data, height: sent.append(json.loads(data)))
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
    payload = live.board_payload(run, live.Schedule())
    assert [[key for key, _, _ in row] for row in payload["rows"]] == [
        ["loss_chart", "mu_bar"], ["fit_chart"], ["mu_heatmap", "grad_chart"]]


def test_kept_runs_stay_on_the_live_board(state):
    kept = wave(40)
    compare.keep(kept)
    run = wave(5)
    payload = live.board_payload(run, live.Schedule())
    assert [key for key, _, _ in payload["rows"][1]] == ["ratio_chart"]
    loss, ratio = payload["charts"]["loss_chart"], payload["charts"]["ratio_chart"]
    assert [t["name"] for t in ratio["data"]] == ["this run", "step 40"]
    assert loss["data"][-1]["name"] == "step 40"
    json.loads(figures.to_json(payload))   # the board's JSON
