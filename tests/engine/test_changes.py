"""The record of hyperparameters changed on a running model (adjoint_core/changes.py): what set_hyperparameters
records, which value each step trained with, and that run files and the training process carry it."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.changes import Change, in_force, trajectory
from adjoint_core.limits import MAX_CHANGES

SMALL = "nonlinear-relu"   # lr 0.002, momentum, 2 steps per epoch


def small_run() -> ac.TrainingRun:
    return ac.TrainingRun(ac.presets[SMALL], seed=0)


def test_each_change_is_recorded_at_its_step_and_repeats_at_one_step_merge():
    run = small_run()
    run.set_hyperparameters(lr=0.05)              # step 0: nothing trained with 0.002
    assert run.changes == []
    run.run_steps(10)
    run.set_hyperparameters(lr=0.01)
    run.set_hyperparameters(lr=0.02)              # dragged on: one change 0.05 -> 0.02
    run.set_hyperparameters(optimiser="adam", batch_size=10)
    run.run_steps(5)
    run.set_hyperparameters(lr=0.05, beta=0.5)
    run.set_hyperparameters(lr=0.02)              # back where it was at step 15: only beta changed
    assert run.changes == [Change(10, "lr", 0.05, 0.02), Change(10, "optimiser", "momentum", "adam"),
                           Change(10, "batch_size", 50, 10), Change(15, "beta", 0.9, 0.5)]
    assert trajectory(run.config, run.changes, "lr") == [(0, 0.05), (10, 0.02)]
    assert trajectory(run.config, run.changes, "loss") == [(0, "mse")]


def test_in_force_gives_the_value_each_step_trained_with():
    run = small_run()
    run.run_steps(4)
    run.set_hyperparameters(lr=0.01)
    run.run_steps(3)
    run.set_hyperparameters(lr=0.001)
    run.run_steps(2)
    steps = run.history.step
    assert list(steps) == list(range(1, 10))
    assert in_force(run.config, run.changes, "lr", steps) == [0.002] * 4 + [0.01] * 3 + [0.001] * 2
    assert in_force(run.config, run.changes, "optimiser", steps) == ["momentum"] * 9


def test_the_record_is_bounded():
    run = small_run()
    run.run_steps(1)
    for i in range(MAX_CHANGES + 5):
        run.step_count = i + 1   # a change per step, without training them
        run.set_hyperparameters(lr=0.01 if i % 2 else 0.02)
    assert len(run.changes) == MAX_CHANGES and run.changes[-1].step == MAX_CHANGES + 5


def test_run_files_keep_the_changes_and_old_files_without_them_still_load():
    run = small_run()
    run.run_steps(6)
    run.set_hyperparameters(lr=0.01, optimiser="adam")
    run.run_steps(2)
    meta, npz = run.export()
    loaded = ac.TrainingRun.load(meta, npz)
    assert loaded.changes == run.changes and len(loaded.changes) == 2
    loaded.run_steps(3)
    run.run_steps(3)
    np.testing.assert_array_equal(loaded.net.theta, run.net.theta)
    old = json.loads(meta)
    del old["changes"]                            # a file saved before runs recorded changes
    assert ac.TrainingRun.load(json.dumps(old), npz).changes == []


@pytest.mark.parametrize("changes", [
    "lr", [[1, "lr", 0.1]], [[1, "hidden", 1, 2]], [[-1, "lr", 0.1, 0.2]], [[True, "lr", 0.1, 0.2]],
    [[5, "lr", 0.1, 0.2], [4, "lr", 0.2, 0.3]], [[1, "lr", "big", 0.2]], [[1, "lr", 0.1, 1e9]],
    [[1, "optimiser", "momentum", "lbfgs"]], [[1, "lr", 0.1, 0.2]] * (MAX_CHANGES + 1)])
def test_run_files_with_malformed_changes_are_refused(changes):
    run = small_run()
    run.run_steps(2)
    meta, npz = run.export()
    bad = {**json.loads(meta), "changes": changes}
    with pytest.raises(ac.ConfigError, match="run file: the hyperparameter changes"):
        ac.TrainingRun.load(json.dumps(bad), npz)


def test_the_training_process_brings_the_changes_back():
    from ui.services.worker import Trainer
    run = small_run()
    run.run_steps(4)
    run.set_hyperparameters(lr=0.01)
    t = Trainer(run, stop_epoch=20)
    end = time.monotonic() + 30
    while t.alive and time.monotonic() < end:
        t.sync()
        time.sleep(0.01)
    t.stop()
    assert run.epoch_count == 20 and run.changes == [Change(4, "lr", 0.002, 0.01)]
