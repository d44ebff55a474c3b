"""The Train page's live board while playing (ui/train/board.py, ui/train/live.py): which charts each frame redraws
and what the page fetches (the head of its frames' files, ui/services/frame_files.py).

AppTest cannot show this (every AppTest run is a full run, and run_every never fires), so the frame schedule
and the board's frames are checked here directly, against a plain dict standing in for the session state.
"""

from __future__ import annotations

import base64
import gzip
import json

import numpy as np
import pytest

import adjoint_core as ac
from ui.services import frame_files
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


@pytest.fixture
def files(tmp_path) -> frame_files.Files:
    return frame_files.Files(tmp_path / "page", 0.1)


def frame(run: ac.TrainingRun, own: board.Board, files: frame_files.Files) -> dict:
    """The board's next frame, as the page fetches it a while after the last (strict JSON: no NaN): the head."""
    files.written = {group: (when - 60, text) for group, (when, text) in files.written.items()}
    own.update(run, live.board_status(run, None))
    files.write_frame({"status": own.status, "note": None, "rows": own.rows}, own.groups, 0.1)
    return json.loads(gzip.decompress((files.folder / frame_files.HEAD).read_bytes()),
                      parse_constant=lambda c: pytest.fail(f"{c} in the frame"))


def test_the_first_frame_draws_everything_then_fast_charts_every_frame_and_heavy_groups_in_turn():
    assert board.due_groups(0) == list(chart_groups.GROUPS)
    later = [board.due_groups(f) for f in range(1, 1 + 4 * len(board.HEAVY_GROUPS) * board.HEAVY_EVERY)]
    assert all(groups[0] == "fast" and len(groups) <= 2 for groups in later)
    turns = [groups[1] for groups in later if len(groups) == 2]
    assert turns[:4] == ["fit", "mu_heatmap", "grad", "fit"]
    per_cycle = len(board.HEAVY_GROUPS) * board.HEAVY_EVERY
    for start in range(0, len(later), per_cycle):
        assert {g for groups in later[start:start + per_cycle] for g in groups[1:]} == set(board.HEAVY_GROUPS)


def test_a_frame_sends_the_status_and_the_charts_due(state, files):
    run, own = wave(), board.Board()
    first = frame(run, own, files)
    assert set(first["charts"]) == ALL_KEYS and set(own.heights) == ALL_KEYS
    assert [[key for key, _, _ in row] for row in first["rows"]] == [
        ["loss_chart", "mu_bar"], ["fit_chart"], ["slice_chart"], ["mu_heatmap", "grad_chart"]]
    assert dict(first["status"])["Step"] == "3" and dict(first["status"])["Epoch"] == "0"
    assert all(fig["config"] == {"staticPlot": True} for fig in first["charts"].values())
    assert {key for key, fig in first["charts"].items() if fig.get("heavy")} == set(HEAVY_KEYS), \
        "the browser draws the heavy groups' charts after the fast ones (live_board.js)"
    run.run_steps(2)
    second = frame(run, own, files)
    assert set(second["charts"]) == {"loss_chart", "mu_bar"} and dict(second["status"])["Step"] == "5"
    assert second["rows"] == first["rows"], "the layout stays put"
    steps = second["charts"]["loss_chart"]["data"][0]["x"]   # plotly.js's typed-array form
    assert np.frombuffer(base64.b64decode(steps["bdata"]), steps["dtype"]).tolist() == [1, 2, 3, 4, 5]


def test_a_frame_without_a_new_step_sends_only_the_status(state, files):
    run, own = wave(), board.Board()
    frame(run, own, files)
    idle = frame(run, own, files)   # no step since
    assert len((files.folder / frame_files.HEAD).read_bytes()) < 1000
    assert idle["charts"] == {} and dict(idle["status"])["Step"] == "3"


def test_a_1d_target_has_no_slice_row(state, files):
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    run.run_steps(2)
    payload = frame(run, board.Board(), files)
    assert [[key for key, _, _ in row] for row in payload["rows"]] == [
        ["loss_chart", "mu_bar"], ["fit_chart"], ["mu_heatmap", "grad_chart"]]


def test_kept_runs_stay_on_the_live_board(state, files):
    kept = wave(40)
    compare.keep(kept)
    run = wave(5)
    payload = frame(run, board.Board(), files)
    assert [key for key, _, _ in payload["rows"][1]] == ["ratio_chart"]
    loss, ratio = payload["charts"]["loss_chart"], payload["charts"]["ratio_chart"]
    assert [t["name"] for t in ratio["data"]] == ["this run", "step 40"]
    assert loss["data"][-1]["name"] == "step 40"
