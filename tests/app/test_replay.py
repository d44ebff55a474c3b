"""Replay (ui/train/replay.py): after pausing, a slider over the kept snapshots shows an earlier step's fit, mu bars
and heatmaps, computed by the engine, and never changes the run; the snapshots come back from Play's
training process."""

from __future__ import annotations

import time

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.replay import model_at
from apptest_helpers import W, app, figure, run_of
from ui.services.worker import Trainer
from ui.train import chart_groups


def has_slider(at) -> bool:
    return any(s.key == "replay_step" for s in at.select_slider)


def prediction(fig: dict) -> np.ndarray:
    """The prediction the fit chart draws: the 1D line or the 2D heatmap."""
    trace = next(t for t in fig["data"] if t["name"] == "prediction")
    return np.asarray(trace["z"] if trace["type"] == "heatmap" else trace["y"])


@pytest.mark.parametrize("preset", ["nonlinear-relu", "wave2d-relu"])
def test_replay_shows_an_earlier_step_and_leaves_the_run_alone(preset):
    at = app()
    at.selectbox(key=W + "preset").set_value(preset).run()
    assert not has_slider(at)   # nothing to replay at step 0
    for _ in range(2):
        at.button(key="btn_epoch").click().run()
    run = run_of(at)
    steps, theta, rows = run.step_count, run.net.theta.copy(), run.history.steps.rows()
    now = {key: figure(at, key) for key in ("fit_chart", "mu_bar")}
    slider = at.select_slider(key="replay_step")
    assert slider.value == "now" and slider.options[0] == "step 0" and slider.options[-1] == f"now (step {steps:,})"

    slider.set_value(0).run()
    assert not at.exception
    fit, bars = figure(at, "fit_chart"), figure(at, "mu_bar")
    assert fit["layout"]["title"]["text"].endswith("step 0") and "step 0" in bars["layout"]["title"]["text"]
    assert not np.allclose(prediction(fit), prediction(now["fit_chart"]))
    grid = chart_groups.fit_grid(run.data.target)[1]   # the points the fit is drawn on
    initial = model_at(run.net, ac.TrainingRun(run.config, seed=run.seed).net.theta)
    np.testing.assert_allclose(prediction(fit).ravel(), initial.predict(grid).ravel().astype(np.float32), rtol=1e-5)
    assert not np.allclose(bars["data"][0]["y"], now["mu_bar"]["data"][0]["y"])
    assert [s["x0"] for s in figure(at, "loss_chart")["layout"]["shapes"]] == [0]   # the step, marked
    assert run_of(at) is run and run.step_count == steps
    np.testing.assert_array_equal(run.net.theta, theta)
    np.testing.assert_array_equal(run.history.steps.rows(), rows)

    at.select_slider(key="replay_step").set_value("now").run()
    np.testing.assert_array_equal(prediction(figure(at, "fit_chart")), prediction(now["fit_chart"]))
    assert "shapes" not in figure(at, "loss_chart")["layout"]


def test_after_a_replay_step_goes_on_from_the_run_as_it_was_and_shows_it():
    at = app()
    at.selectbox(key=W + "preset").set_value("nonlinear-relu").run()
    for _ in range(5):
        at.button(key="btn_step").click().run()
    at.select_slider(key="replay_step").set_value(2).run()
    at.select_slider(key=W + "lr").set_value(0.01).run()   # a full page run, no new step: still step 2
    assert figure(at, "fit_chart")["layout"]["title"]["text"].endswith("step 2")
    at.button(key="btn_step").click().run()
    run = run_of(at)
    alone = ac.TrainingRun(run.config.replace(lr=ac.presets["nonlinear-relu"].lr), seed=run.seed)
    alone.run_steps(5)
    alone.set_hyperparameters(lr=0.01)
    alone.run_steps(1)
    np.testing.assert_array_equal(run.net.theta, alone.net.theta)
    assert at.select_slider(key="replay_step").value == "now"   # the new step is what the page shows
    assert "step" not in figure(at, "fit_chart")["layout"]["title"]["text"]


def test_snapshots_come_back_from_the_training_process():
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    t = Trainer(run, stop_epoch=300)
    end = time.monotonic() + 30
    while t.alive and time.monotonic() < end:
        t.sync()
        time.sleep(0.01)
    t.stop()
    alone = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    alone.run_epochs(300)
    assert run.step_count == alone.step_count == 300 * alone.steps_per_epoch
    assert alone.theta_snapshots.spacing > 1   # thinned in the process as here
    np.testing.assert_array_equal(run.theta_snapshots.steps, alone.theta_snapshots.steps)
    for step in map(int, alone.theta_snapshots.steps):
        np.testing.assert_array_equal(run.theta_snapshots.theta_at(step), alone.theta_snapshots.theta_at(step))
