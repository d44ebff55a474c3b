"""Replay snapshots (adjoint_core/snapshots.py): bounded and thinned, exact theta, carried by a run's Snapshot."""

from __future__ import annotations

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.adjoint_field import fixed_batch
from adjoint_core.replay import model_at, replay
from adjoint_core.snapshots import (
    ARRAY_SPACING,
    ARRAY_STEPS,
    ARRAY_THETA,
    BUDGET_BYTES,
    MAX_SNAPSHOTS,
    MIN_SNAPSHOTS,
    ThetaSnapshots,
    capacity_for,
)

TINY = ac.RunConfig(target="quadratic", samples=26, test_fraction=0.3, hidden=(5, 3), activation="tanh",
                    init="xavier", init_scale=1.0, optimiser="momentum", lr=0.05, beta=0.9, batch_size=4, epochs=1)


def trained(steps: int, config: ac.RunConfig = TINY) -> tuple[ac.TrainingRun, list[np.ndarray]]:
    """A run after ``steps`` steps, and theta after each step (index = step; 0 = initial)."""
    run = ac.TrainingRun(config, seed=3)
    thetas = [run.net.theta.copy()]
    for _ in range(steps):
        run.step()
        thetas.append(run.net.theta.copy())
    return run, thetas


def test_first_steps_are_all_kept_until_full():
    run, _ = trained(MAX_SNAPSHOTS - 1)
    s = run.theta_snapshots
    np.testing.assert_array_equal(s.steps, np.arange(MAX_SNAPSHOTS))
    assert s.spacing == 1 and s.due == MAX_SNAPSHOTS


def test_when_full_every_other_is_dropped_and_the_spacing_doubles():
    run, _ = trained(MAX_SNAPSHOTS)
    s = run.theta_snapshots
    np.testing.assert_array_equal(s.steps, np.arange(0, MAX_SNAPSHOTS + 1, 2))
    assert s.spacing == 2 and s.due == MAX_SNAPSHOTS + 2


@pytest.mark.parametrize("steps", [1, 200, 1000])
def test_count_is_bounded_and_spread_over_the_run_with_exact_theta(steps):
    run, thetas = trained(steps)
    s = run.theta_snapshots
    kept = s.steps
    assert len(kept) <= MAX_SNAPSHOTS and kept[0] == 0
    assert steps - kept[-1] < s.spacing                       # the newest is at most one spacing old
    assert len(kept) > MAX_SNAPSHOTS // 2 or steps < MAX_SNAPSHOTS // 2
    assert (np.diff(kept) == s.spacing).all()
    for step in kept:
        np.testing.assert_array_equal(s.theta_at(int(step)), thetas[step], err_msg=f"step {step}")


def test_theta_at_a_step_not_kept_is_a_key_error_and_a_copy_is_returned():
    run, _ = trained(100)
    s = run.theta_snapshots
    with pytest.raises(KeyError):
        s.theta_at(1)
    s.theta_at(0)[:] = 1e9
    assert (s.theta_at(0) != 1e9).all()


def test_capacity_stays_within_the_memory_budget():
    assert capacity_for(4417) == MAX_SNAPSHOTS                # the wave's 2-64-64-1
    assert capacity_for(ac.limits.MAX_PARAMS) == MIN_SNAPSHOTS   # the largest network allowed
    for p in (1, 10_000, 60_000, 123_457, ac.limits.MAX_PARAMS):
        assert capacity_for(p) % 2 == 0 and capacity_for(p) * p * 8 <= BUDGET_BYTES, p


def test_snapshots_survive_snapshot_and_restore_like_the_training_process_round_trip():
    run, thetas = trained(150)
    copy = ac.TrainingRun.from_snapshot(run.snapshot())
    np.testing.assert_array_equal(copy.theta_snapshots.steps, run.theta_snapshots.steps)
    assert copy.theta_snapshots.spacing == run.theta_snapshots.spacing
    for step in copy.theta_snapshots.steps:
        np.testing.assert_array_equal(copy.theta_snapshots.theta_at(int(step)), thetas[step])
    copy.run_steps(100)
    run.run_steps(100)   # the copy keeps thinning exactly as the original does
    np.testing.assert_array_equal(copy.theta_snapshots.steps, run.theta_snapshots.steps)


def test_snapshots_survive_a_run_file():
    run, _ = trained(80)
    loaded = ac.TrainingRun.load(*run.export())
    np.testing.assert_array_equal(loaded.theta_snapshots.steps, run.theta_snapshots.steps)
    np.testing.assert_array_equal(loaded.theta_snapshots.theta_at(80), run.net.theta)


def test_a_snapshot_without_replay_arrays_keeps_the_current_theta():
    run, _ = trained(30)
    snap = run.snapshot()
    for key in (ARRAY_STEPS, ARRAY_THETA, ARRAY_SPACING):
        del snap.arrays[key]
    copy = ac.TrainingRun.from_snapshot(snap)
    np.testing.assert_array_equal(copy.theta_snapshots.steps, [30])
    np.testing.assert_array_equal(copy.theta_snapshots.theta_at(30), run.net.theta)


@pytest.mark.parametrize("change", [
    lambda a: a.update({ARRAY_STEPS: a[ARRAY_STEPS][::-1].copy()}),                # not ascending
    lambda a: a.update({ARRAY_STEPS: a[ARRAY_STEPS] + 1000}),                      # past the run's step
    lambda a: a.update({ARRAY_THETA: a[ARRAY_THETA][:, :-1].copy()}),              # wrong width
    lambda a: a.update({ARRAY_THETA: a[ARRAY_THETA] * np.nan}),                    # not finite
    lambda a: a.update({ARRAY_SPACING: np.array([0.0])}),                          # bad spacing
    lambda a: a.pop(ARRAY_THETA),                                                  # thetas missing
    lambda a: a.update({ARRAY_STEPS: np.zeros(0), ARRAY_THETA: np.zeros((0, 38))}),  # empty
    lambda a: a.update({ARRAY_STEPS: np.float64(0.0)}),                            # not a list
])
def test_snapshots_that_do_not_fit_the_run_raise_config_error(change):
    run, _ = trained(10)
    snap = run.snapshot()
    change(snap.arrays)
    with pytest.raises(ac.ConfigError, match="replay snapshots"):
        ac.TrainingRun.from_snapshot(snap)


def test_replay_uses_the_kept_theta_and_leaves_the_run_as_it_was():
    run, thetas = trained(40)
    theta, steps, history = run.net.theta.copy(), run.step_count, run.history.steps.rows()
    r = replay(run, 0)
    np.testing.assert_array_equal(r.net.theta, thetas[0])
    x = run.data.x[:7]
    np.testing.assert_array_equal(r.net.predict(x), model_at(run.net, thetas[0]).predict(x))
    assert not np.allclose(r.net.predict(x), run.net.predict(x))
    assert r.mu_norms.shape == (run.net.n_layers + 1,) and np.isfinite(r.mu_norms).all()
    np.testing.assert_array_equal(run.net.theta, theta)
    np.testing.assert_array_equal(run.history.steps.rows(), history)
    assert run.step_count == steps
    with pytest.raises(KeyError):
        replay(run, 39 if 39 not in run.theta_snapshots.steps else 1000)


def test_replay_mu_norms_are_the_engine_backward_pass_on_the_fixed_batch():
    run, _ = trained(12)
    r = replay(run, 12)
    idx = fixed_batch(run.n_train, run.config.batch_size, seed=run.seed)
    _, mus = r.net.backward(run.loss_fn(r.net.forward(run.data.x[idx]), run.data.y[idx])[1])
    np.testing.assert_allclose(r.mu_norms, [np.linalg.norm(m) for m in mus])   # mus: mu_N first


@pytest.mark.parametrize("n_params, capacity, kept, spacing", [(100_000, 4, [0, 16, 32], 16),
                                                               (ac.limits.MAX_PARAMS, 2, [0, 32], 32)])
def test_a_wide_network_keeps_fewer_snapshots_thinned_alike(n_params, capacity, kept, spacing):
    s = ThetaSnapshots(np.zeros(n_params))
    assert s.capacity == capacity
    for step in range(1, 40):   # as the step path calls it
        if step >= s.due:
            s.add(step, np.full(n_params, float(step)))
    np.testing.assert_array_equal(s.steps, kept)
    assert s.spacing == spacing and s.theta_at(32)[0] == 32
