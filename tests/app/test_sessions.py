"""Session isolation: two AppTest sessions in one process (as two browser tabs share one server process)
never see each other's run, widgets, uploads or background trainer."""

from __future__ import annotations

import time

import numpy as np

import adjoint_core as ac
from apptest_helpers import W, app, errors, run_of, step_count


def state(at) -> tuple[int, np.ndarray]:
    run = run_of(at)
    return run.step_count, run.net.theta.copy()


def assert_unchanged(at, before: tuple[int, np.ndarray]) -> None:
    steps, theta = before
    assert run_of(at).step_count == steps
    np.testing.assert_array_equal(run_of(at).net.theta, theta)


def two_sessions():
    a = app()                                           # the 2D wave
    b = app({"preset": "nonlinear-relu", "seed": "3"})  # a different setup and seed
    assert not a.exception and not b.exception
    return a, b


def test_two_sessions_train_different_setups_independently():
    a, b = two_sessions()
    assert run_of(a) is not run_of(b)
    assert run_of(a).config == ac.presets["wave2d-relu"] and run_of(b).config == ac.presets["nonlinear-relu"]
    assert run_of(a).seed == 0 and run_of(b).seed == 3
    for _ in range(3):
        a.button(key="btn_step").click().run()
    b_before = state(b)
    assert b_before[0] == 0
    b.button(key="btn_epoch").click().run()
    b.button(key="btn_epoch").click().run()
    assert step_count(a) == 3 and step_count(b) == 2 * run_of(b).steps_per_epoch
    a.run()                                             # a redraw of A after B trained
    assert step_count(a) == 3 and run_of(a).step_count == 3
    # each equals the same run trained alone
    alone_a = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    alone_a.run_steps(3)
    alone_b = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=3)
    alone_b.run_epochs(2)
    np.testing.assert_array_equal(run_of(a).net.theta, alone_a.net.theta)
    np.testing.assert_array_equal(run_of(b).net.theta, alone_b.net.theta)


def test_reset_in_one_session_does_not_touch_the_other():
    a, b = two_sessions()
    a.button(key="btn_epoch").click().run()
    b.button(key="btn_epoch").click().run()
    b.button(key="btn_step").click().run()
    b_before = state(b)
    a.button(key="btn_reset").click().run()
    assert step_count(a) == 0 and run_of(a).history.steps.n == 0
    b.run()
    assert_unchanged(b, b_before)
    assert step_count(b) == b_before[0]
    b.button(key="btn_reset").click().run()
    assert step_count(b) == 0
    assert step_count(a) == 0 and run_of(a).step_count == 0


def test_widget_changes_stay_in_their_session():
    a, b = two_sessions()
    a_run = run_of(a)
    b.select_slider(key=W + "lr").set_value(0.001).run()
    b.selectbox(key=W + "optimiser").set_value("adam").run()
    b.text_input(key=W + "hidden").set_value("8, 8").run()
    assert run_of(b).config.hidden == (8, 8) and run_of(b).config.optimiser == "adam"
    a.run()
    assert run_of(a) is a_run
    assert a_run.config == ac.presets["wave2d-relu"] and a_run.optimiser.name == "momentum"
    assert a.text_input(key=W + "hidden").value == "64, 64"
    assert a.select_slider(key=W + "lr").value == ac.presets["wave2d-relu"].lr
    assert a.query_params.get("hidden") != b.query_params.get("hidden")


def test_an_upload_stays_in_its_session():
    a, b = two_sessions()
    rows = "\n".join(f"{x:.3f},{2 * x:.3f}" for x in np.linspace(0, 1, 100))
    a.selectbox(key=W + "target").set_value("data").run()
    a.file_uploader(key=W + "upload").set_value(("d.csv", f"x,target\n{rows}".encode(), "text/csv")).run()
    assert not errors(a) and run_of(a).config.target == "data"
    b.run()
    assert "uploaded" not in b.session_state and run_of(b).config.target == "quadratic"
    b.selectbox(key=W + "target").set_value("data").run()
    assert errors(b) and "upload a CSV" in errors(b)[0]     # B must upload its own file
    assert run_of(b).config.target == "quadratic"


def test_play_in_one_session_leaves_the_other_still():
    a, b = two_sessions()
    b.button(key="btn_step").click().run()
    b_before = state(b)
    a.button(key="btn_play").click().run()
    assert a.session_state["playing"] is True
    trainer = a.session_state["trainer"]
    deadline = time.monotonic() + 30
    while run_of(a).step_count < 50 and time.monotonic() < deadline:
        trainer.sync()
        time.sleep(0.02)
    assert run_of(a).step_count >= 50
    b.run()
    assert_unchanged(b, b_before)
    assert b.session_state["playing"] is False and "trainer" not in b.session_state
    b.button(key="btn_step").click().run()                  # B steps while A plays
    assert run_of(b).step_count == b_before[0] + 1
    a.button(key="btn_play").click().run()
    assert a.session_state["playing"] is False
    paused_at = run_of(a).step_count
    time.sleep(0.1)
    assert run_of(a).step_count == paused_at
    assert run_of(b).step_count == b_before[0] + 1
