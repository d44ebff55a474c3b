"""A step that does not train does not count: after a divergence, trying again (Step, Epoch, Play) leaves the
step count, the position in the epoch and the history as they were, and the run remembers where it diverged
(for the page's "diverged again" message), also through a run file."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import adjoint_core as ac


def diverged_run() -> ac.TrainingRun:
    """The exploding preset on its default seed: its loss overflows within ten steps."""
    run = ac.TrainingRun(ac.presets["large-init-exploding"])
    run.run_epochs(1)
    assert run.diverged
    return run


def test_a_diverged_step_does_not_count():
    """The exploding run's loss overflows at step 6: its update 5 led there, so the run is set back to step 4,
    and every Epoch press after that repeats steps 5 and 6 exactly: nothing counts on, nothing changes."""
    run = diverged_run()
    assert run.diverged == "the loss became inf at step 6" and run.step_count == 4
    assert list(run.history.step) == [1, 2, 3, 4] and run.divergence_steps == (6,)
    state = (run.step_count, run.epoch_count, run.batches.pos, run.history.steps.n, run.net.theta.copy(),
             [s.copy() for group in run.optimiser.state for s in group], run.theta_snapshots.steps)
    for _ in range(5):
        run.run_epochs(1)
        assert run.diverged == "the loss became inf at step 6"
        assert (run.step_count, run.epoch_count, run.batches.pos, run.history.steps.n) == state[:4]
        np.testing.assert_array_equal(run.net.theta, state[4])
        for a, b in zip([s for group in run.optimiser.state for s in group], state[5], strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(run.theta_snapshots.steps, state[6])
    assert run.divergence_steps == (6, 6)


def test_an_overflowing_gradient_step_does_not_count():
    run = ac.TrainingRun(ac.presets["nonlinear-relu"])
    run.run_steps(20)
    run.set_hyperparameters(lr=10.0)
    run.run_steps(200)
    assert "overflowed" in run.diverged
    k = run.step_count
    assert f"at step {k + 1}" in run.diverged and run.history.step[-1] == k
    for _ in range(3):
        assert run.run_steps(10) == 1 and run.step_count == k and run.history.step[-1] == k
    assert run.divergence_steps == (k + 1, k + 1)


def test_a_run_that_recovers_counts_on_and_keeps_its_last_two_divergences():
    """Weights thrown far off make the next loss overflow: the run goes back to the state before the last
    update (and step), the overflowing step is not counted, and the run trains on from there."""
    run = ac.TrainingRun(ac.presets["linear-relu"])
    run.run_steps(3)
    run.net.theta *= 1e200
    run.step()
    assert "loss became" in run.diverged and run.step_count == 2 and run.divergence_steps == (4,)
    assert run.run_steps(5) == 5 and run.diverged is None and run.step_count == 7
    assert list(run.history.step) == list(range(1, 8)) and run.divergence_steps == (4,)
    assert list(run.theta_snapshots.steps) == list(range(8))
    run.net.theta *= 1e200
    run.step()
    assert run.step_count == 6 and run.divergence_steps == (4, 8)


def test_divergence_steps_survive_a_run_file_and_bad_ones_are_refused():
    run = diverged_run()
    run.run_epochs(1)
    meta_json, npz = run.export()
    back = ac.TrainingRun.load(meta_json, npz)
    assert back.divergence_steps == run.divergence_steps and back.step_count == run.step_count
    meta = json.loads(meta_json)
    older = copy.deepcopy(meta)
    del older["divergence_steps"]                               # a file saved before the field existed
    assert ac.TrainingRun.load(json.dumps(older), npz).divergence_steps == ()
    for bad in ([1, 2, 3], ["7"], [-1], [True], 7):
        meta["divergence_steps"] = bad
        with pytest.raises(ac.ConfigError, match="divergence_steps"):
            ac.TrainingRun.load(json.dumps(meta), npz)


def test_a_setting_changed_before_a_step_taken_back_counts_from_the_retried_step():
    """β changed after step 5, whose update then led to the divergence at step 6: step 5 is taken back, so the
    change now stands after step 4 (the retried step 5 trains with it), the record stays in step order through
    later changes and a run file."""
    run = ac.TrainingRun(ac.presets["large-init-exploding"])
    run.run_steps(5)
    run.set_hyperparameters(beta=0.5)
    run.run_steps(1)
    assert run.diverged and run.step_count == 4
    assert [(c.step, c.field, c.new) for c in run.changes] == [(4, "beta", 0.5)]
    run.set_hyperparameters(weight_decay=0.001)
    assert [c.step for c in run.changes] == [4, 4]
    again = ac.TrainingRun.load(*run.export())
    assert again.changes == run.changes
    assert ac.changes.rewind(run.changes, 0) == []   # back at step 0: the settings are the run's from the start
