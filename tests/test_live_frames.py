"""The Train page's frame schedule while playing: fast charts every frame, heavy chart groups in turn.

AppTest cannot show this (every AppTest run is a full run, and run_every never fires), so the scheduler in
ui/live.py runs here against a recording stand-in for Streamlit's session state and chart calls.
"""

from __future__ import annotations

import contextlib

import pytest

import adjoint_core as ac
from ui import live

HEAVY_KEYS = {"fit_chart": "fit", "slice_chart": "fit", "mu_heatmap": "mu_heatmap", "grad_chart": "grad"}


@pytest.fixture
def frames(monkeypatch):
    """Run frames of heavy_charts; each returns {key: "draw" | "keep" | "still"} for that frame."""
    state: dict = {"playing": True}
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(live, "ss", state)
    monkeypatch.setattr(live, "_plot", lambda fig, key: sent.append((key, "draw")))
    monkeypatch.setattr(live, "_live_chart", lambda key, data, height: sent.append(
        (key, "keep" if data == live.KEEP else "data")))
    monkeypatch.setattr(live, "_paused_chart", lambda fig, key: sent.append((key, "still")))
    monkeypatch.setattr(live, "_preload_plotly", lambda: None)
    monkeypatch.setattr(live, "_serve_plotly", lambda: None)
    monkeypatch.setattr(live.st, "columns", lambda n: [contextlib.nullcontext() for _ in range(n)])
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(3)

    def frame(r: ac.TrainingRun = run) -> dict[str, str]:
        sent.clear()
        live.heavy_charts(r)
        return dict(sent)
    live.new_page_run()
    return state, frame


def test_after_play_heavy_groups_are_drawn_one_per_frame_then_in_turn(frames):
    state, frame = frames
    first = [frame() for _ in range(3)]
    # frame 0 draws the fit group and holds the others as empty charts of their height; 1 and 2 draw those
    assert first[0] == {"fit_chart": "draw", "slice_chart": "draw", "mu_heatmap": "keep", "grad_chart": "keep"}
    assert first[1] == {"fit_chart": "keep", "slice_chart": "keep", "mu_heatmap": "draw", "grad_chart": "keep"}
    assert first[2] == {"fit_chart": "keep", "slice_chart": "keep", "mu_heatmap": "keep", "grad_chart": "draw"}
    later = [frame() for _ in range(4 * len(live.HEAVY_GROUPS) * live.HEAVY_EVERY)]
    for f in later:
        drawn = {HEAVY_KEYS[k] for k, v in f.items() if v == "draw"}
        assert len(drawn) <= 1, f"more than one heavy group in a frame: {f}"
        assert set(f) == set(HEAVY_KEYS), "every heavy chart is sent each frame, drawn or kept"
    turns = [HEAVY_KEYS[k] for f in later for k, v in f.items() if v == "draw" and k != "slice_chart"]
    assert turns[:4] == ["fit", "mu_heatmap", "grad", "fit"], "the turns go on after the group drawn last"
    per_cycle = len(live.HEAVY_GROUPS) * live.HEAVY_EVERY
    for start in range(0, len(later), per_cycle):
        cycle = later[start:start + per_cycle]
        assert {HEAVY_KEYS[k] for f in cycle for k, v in f.items() if v == "draw"} == set(live.HEAVY_GROUPS)


def test_a_new_page_run_draws_afresh_and_pausing_draws_everything(frames):
    state, frame = frames
    for _ in range(5):
        frame()
    live.new_page_run()
    assert frame()["fit_chart"] == "draw"
    state["playing"] = False
    assert set(frame().values()) == {"draw"}


def test_play_on_a_paused_page_keeps_each_heavy_chart_until_its_turn(frames):
    state, frame = frames
    state["playing"] = False
    assert set(frame().values()) == {"draw"}        # paused: every chart drawn
    state["playing"] = True                          # Play reruns the controls only: no new page run
    seen = [frame() for _ in range(len(live.HEAVY_GROUPS) * live.HEAVY_EVERY)]
    assert set(seen[0].values()) == {"still"}, "the first frame after Play touched a heavy chart"
    for key, group in HEAVY_KEYS.items():
        states = [f[key] for f in seen]
        first = states.index("draw")
        assert set(states[:first]) == {"still"} and "still" not in states[first:], (key, states)
    turns = [HEAVY_KEYS[k] for f in seen for k, v in f.items() if v == "draw" and k != "slice_chart"]
    assert turns == list(live.HEAVY_GROUPS), "each group's turn comes once, in order"


def test_play_at_step_0_replaces_the_placeholders_one_group_per_frame(frames):
    state, frame = frames
    fresh = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    state["playing"] = False
    frame(fresh)                                     # paused at step 0: "No training steps yet" everywhere
    state["playing"] = True
    first = [frame(fresh) for _ in range(len(live.HEAVY_GROUPS))]
    drawn = [[HEAVY_KEYS[k] for k, v in f.items() if v == "draw" and k != "slice_chart"] for f in first]
    assert drawn == [[g] for g in live.HEAVY_GROUPS]
