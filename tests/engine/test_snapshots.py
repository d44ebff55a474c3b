"""Replay snapshots (adjoint_core/snapshots.py): bounded and thinned, exact theta, carried by a run's Snapshot."""

from __future__ import annotations

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.adjoint_field import fixed_batch
from adjoint_core.replay import model_at, replay
from adjoint_core.runfile import Snapshot
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


def assert_same_snapshots(a: ThetaSnapshots, b: ThetaSnapshots) -> None:
    """The same kept steps, spacing and next step due, and the same theta at each kept step (to 1e-12)."""
    np.testing.assert_array_equal(a.steps, b.steps)
    assert (a.spacing, a.due) == (b.spacing, b.due)
    for step in map(int, b.steps):
        np.testing.assert_allclose(a.theta_at(step), b.theta_at(step), rtol=0, atol=1e-12, err_msg=f"step {step}")


def steps(n: int):
    return lambda run: run.run_steps(n)


def blow_up(run: ac.TrainingRun) -> None:
    """Weights thrown far off: the next step's loss overflows and the step before it is taken back."""
    np.multiply(run.net.theta, 1e200, out=run.net.theta)


@pytest.mark.parametrize("preset, actions", [
    ("nonlinear-relu", [steps(n) for n in (1, 2, 3, 5, 8, 13, 40, 7, 130, 1, 400, 64, 65, 3)]),   # thinnings
    ("large-init-exploding", [steps(1)] * 12),   # step 5 taken back again and again after it was handed over
    ("linear-relu", [steps(3), blow_up, steps(1), lambda run: run.set_hyperparameters(lr=0.01), steps(70)])],
    ids=["thinning", "diverging", "retried-differently"])
def test_a_run_that_hands_its_snapshots_over_holds_only_the_new_ones_and_its_copy_has_them_all(preset, actions):
    """A run trained elsewhere hands its snapshots over with each Progress; the copy it is applied to keeps
    exactly the snapshots of a run trained alone with the same calls, and the run itself holds no theta it has
    handed over."""
    there, copy, alone = (ac.TrainingRun(ac.presets[preset], seed=0) for _ in range(3))
    there.theta_snapshots.hand_over()   # as Play's training process does: the copy holds the first one
    mark = None
    for act in actions:
        before = {int(s): copy.theta_snapshots.theta_at(int(s)) for s in copy.theta_snapshots.steps}
        act(there)
        act(alone)
        held, kept = there.theta_snapshots, alone.theta_snapshots
        new = [s for s in map(int, held.steps) if s not in before or not np.array_equal(before[s], kept.theta_at(s))]
        assert held.n - held.held_from == len(new) and held.arrays() == {}
        snap = there.snapshot()   # as it leaves the training process: the copy's snapshots and those held there
        whole = Snapshot(snap.meta, {**snap.arrays, **copy.theta_snapshots.merged(held.pending())})
        assert_same_snapshots(ac.TrainingRun.from_snapshot(whole).theta_snapshots, kept)
        progress = there.progress(mark)
        copy.apply(progress)
        mark = progress.rows.mark
        assert held.held_from == held.n and len(progress.snapshots.thetas) == len(new)
        with pytest.raises(KeyError):
            held.theta_at(int(held.steps[-1]))   # handed over: only the copy holds it
        assert_same_snapshots(copy.theta_snapshots, alone.theta_snapshots)
    assert there.step_count == alone.step_count == copy.step_count
    assert alone.divergence_steps or preset == "nonlinear-relu"


def test_pending_leaves_the_thetas_where_they_are_and_a_copy_of_the_copy_receives_them():
    there, alone = ac.TrainingRun(TINY, seed=3), ac.TrainingRun(TINY, seed=3)
    there.run_steps(70)
    alone.run_steps(70)
    session = ac.TrainingRun(TINY, seed=3)
    session.apply(there.progress())
    there.run_steps(9)
    alone.run_steps(9)
    pending = there.theta_snapshots.pending()
    assert len(pending.thetas) == there.theta_snapshots.n - there.theta_snapshots.held_from > 0
    np.testing.assert_array_equal(there.theta_snapshots.pending().thetas, pending.thetas)   # still held there
    session.theta_snapshots.receive(pending)
    assert_same_snapshots(session.theta_snapshots, alone.theta_snapshots)


def test_snapshots_that_do_not_follow_those_held_are_refused():
    there = ac.TrainingRun(TINY, seed=3)
    there.run_steps(5)
    there.progress()
    there.run_steps(5)
    late = ac.TrainingRun(TINY, seed=3)   # missed the first hand-over
    with pytest.raises(ValueError, match="do not follow"):
        late.apply(there.progress())
