"""Read-only arrays shared by content (shared.py): runs of the same setup and seed hold one copy of their data and
of their first batch order, nothing writes into it, and it goes when no run holds it."""

from __future__ import annotations

import gc
import pickle

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.shared import count, shared

SMALL = ac.presets["nonlinear-relu"]


def data_arrays(run: ac.TrainingRun) -> list[np.ndarray]:
    return [run.data.x, run.data.y, run.data.x_test, run.data.y_test]


def test_equal_content_gives_one_read_only_copy_and_leaves_the_given_array_as_it_was():
    a = np.arange(12.0).reshape(3, 4)
    first = shared(a)
    assert first is not a and a.flags.writeable and not first.flags.writeable
    assert shared(a.copy()) is first and shared(np.asfortranarray(a)) is first   # content, not layout
    np.testing.assert_array_equal(first, a)
    with pytest.raises(ValueError):
        first[0, 0] = 1.0
    a[0, 0] = 99.0   # the caller's array is its own
    assert first[0, 0] == 0.0 and shared(a) is not first


def test_dtype_and_shape_are_part_of_the_content():
    a = np.arange(6.0)
    assert shared(a) is not shared(a.reshape(2, 3)) and shared(a) is not shared(a.view(np.int64))
    assert shared(np.zeros((0, 2))).shape == (0, 2)


def test_a_shared_array_goes_when_nothing_holds_it():
    before = count()
    held = shared(np.full(1000, 3.25))
    assert count() == before + 1
    del held
    gc.collect()
    assert count() == before


def test_runs_of_one_setup_and_seed_share_their_data_and_first_order():
    runs = [ac.TrainingRun(SMALL, seed=4) for _ in range(3)]
    for a, b in zip(data_arrays(runs[0]), data_arrays(runs[1]), strict=True):
        assert a is b and not a.flags.writeable
    np.testing.assert_array_equal(runs[0].batches.perm, runs[2].batches.perm)   # 80 points: not shared
    assert not runs[0].batches.perm.flags.writeable
    wave = [ac.TrainingRun(ac.presets["wave2d-relu"], seed=0) for _ in range(2)]
    assert wave[0].batches.perm is wave[1].batches.perm and wave[0].data.x is wave[1].data.x
    other = ac.TrainingRun(SMALL, seed=5)
    assert other.data.x is not runs[0].data.x


def test_training_writes_nothing_into_the_shared_arrays_and_runs_stay_identical():
    """Two runs on one copy of the data train exactly as a run alone; the data is unchanged after hundreds of
    epochs, and every array a run shares stays read-only (writing into one would raise)."""
    alone = ac.TrainingRun(SMALL, seed=6)
    expected = [a.copy() for a in data_arrays(alone)]
    alone.run_steps(400)
    a, b = ac.TrainingRun(SMALL, seed=6), ac.TrainingRun(SMALL, seed=6)
    for _ in range(4):
        a.run_steps(50)
        b.run_steps(50)
        a.run_steps(50)   # a ahead of b: they share nothing they write
    b.run_steps(200)
    np.testing.assert_array_equal(a.history.loss, alone.history.loss)
    np.testing.assert_array_equal(b.history.loss, alone.history.loss)
    np.testing.assert_array_equal(a.net.theta, alone.net.theta)
    for arr, exp in zip(data_arrays(a), expected, strict=True):
        np.testing.assert_array_equal(arr, exp)
        assert not arr.flags.writeable
    assert not a.batches.perm.flags.writeable


def test_a_restored_run_shares_the_data_and_order_of_its_snapshot_and_a_snapshot_copies_neither():
    """A snapshot holds the run's read-only data and order as they are (nobody can write into them); a run
    restored from it, here or after a pickle round trip (the training process), holds the process's copy (an
    epoch's order drawn by a shuffle is read-only but the run's own)."""
    run = ac.TrainingRun(SMALL, seed=7)
    run.run_steps(5)
    snap = run.snapshot()
    assert snap.arrays["x"] is run.data.x and snap.arrays["perm"] is run.batches.perm
    again = ac.TrainingRun.from_snapshot(pickle.loads(pickle.dumps(snap)))
    for a, b in zip(data_arrays(again), data_arrays(run), strict=True):
        assert a is b
    assert again.batches.perm is ac.TrainingRun.from_snapshot(snap).batches.perm   # a shuffle's order: not shared
    np.testing.assert_array_equal(again.batches.perm, run.batches.perm)
    again.run_steps(300)
    run.run_steps(300)
    np.testing.assert_array_equal(again.net.theta, run.net.theta)


def test_a_run_on_uploaded_data_shares_its_split_and_leaves_the_upload_writable():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (80, 1))
    y = 3 * x
    run = ac.TrainingRun(SMALL.replace(target="data", samples=80), seed=1, data=(x, y))
    assert not run.data.x.flags.writeable and x.flags.writeable
    assert ac.TrainingRun(SMALL.replace(target="data", samples=80), seed=1, data=(x, y)).data.x is run.data.x


def test_long_orders_drawn_at_the_same_epoch_are_shared_short_ones_are_the_runs_own():
    from adjoint_core.batching import SHARED_ORDER, Batches

    x = np.zeros((SHARED_ORDER, 1))
    a, b = Batches(x, x, np.random.default_rng(2)), Batches(x, x, np.random.default_rng(2))
    a.shuffle()
    assert a.perm is not b.perm
    b.shuffle()
    assert a.perm is b.perm and not a.perm.flags.writeable
    short = np.zeros((SHARED_ORDER - 1, 1))
    c, d = Batches(short, short, np.random.default_rng(2)), Batches(short, short, np.random.default_rng(2))
    c.shuffle()
    d.shuffle()
    assert c.perm is not d.perm and not c.perm.flags.writeable
    np.testing.assert_array_equal(c.perm, d.perm)


def test_a_run_keeps_no_residuals_between_steps_and_no_backup_before_it_trains():
    """What a step needs only while it runs is not held between steps, and a run that has not trained here (a
    session's, trained by Play's process) holds no backup copy of theta; taking back a step still works."""
    run = ac.TrainingRun(SMALL, seed=1)
    assert run.rollback._theta is None
    run.run_steps(3)
    assert run.net.caches() == [] and run.rollback._theta is not None
    again = ac.TrainingRun.from_snapshot(run.snapshot())
    assert again.rollback._theta is None and not again.rollback.armed
