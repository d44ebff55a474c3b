"""The parts a TrainingRun is made of: the epoch's batches (batching.py) and the history's recording of
finite rows only (history.py); the rollback is tested through the run in test_training_run.py."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from adjoint_core.batching import CHUNK_BYTES, SHARED_ORDER, Batches
from adjoint_core.history import History


def points(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(2 * n, dtype=float).reshape(n, 2)
    return x, x[:, :1] * 10


def test_an_epoch_is_a_permutation_walked_in_full_batches_remainder_skipped():
    x, y = points(10)
    batches = Batches(x, y, np.random.default_rng(0))
    expected = np.random.default_rng(0).permutation(10)
    np.testing.assert_array_equal(batches.perm, expected)
    seen = []
    while not batches.at_end(3):
        xb, yb = batches.batch(3)
        np.testing.assert_array_equal(batches.batch(3)[0], xb)   # the same batch until it has trained
        batches.advance(3)
        assert xb.shape == (3, 2) and yb.shape == (3, 1)
        np.testing.assert_array_equal(yb[:, 0], xb[:, 0] * 10)   # x and y stay paired
        seen.append(xb[:, 0] // 2)
    assert len(seen) == 3 and batches.pos == 9                    # 10 // 3 batches; the tenth point skipped
    np.testing.assert_array_equal(np.concatenate(seen), expected[:9])


def test_shuffle_draws_the_next_order_from_the_generator_and_a_given_order_draws_nothing():
    x, y = points(10)
    rng, ref = np.random.default_rng(1), np.random.default_rng(1)
    batches = Batches(x, y, rng)
    batches.advance(4)
    batches.shuffle()
    ref.permutation(10)
    np.testing.assert_array_equal(batches.perm, ref.permutation(10))
    assert batches.pos == 0
    state = rng.bit_generator.state
    again = Batches(x, y, rng, batches.perm.copy(), 4)
    assert rng.bit_generator.state == state
    np.testing.assert_array_equal(again.batch(2)[0], x[batches.perm[4:6]])


def test_batches_hold_no_copy_of_the_whole_data_in_order():
    """The points in order are copied a chunk at a time: walking a whole epoch holds at most one chunk of
    CHUNK_BYTES beside the order (n,), and a Batches that takes no batch holds none."""
    x, y = points(5000)
    seen, k = np.empty(5000), 0
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        batches = Batches(x, y, np.random.default_rng(0))
        held = tracemalloc.get_traced_memory()[0] - start   # the order and the object
        most = 0
        while not batches.at_end(8):
            xb, yb = batches.batch(8)
            np.testing.assert_array_equal(batches.batch(8)[0], xb)   # the same batch until it has trained
            seen[k:k + 8], k = xb[:, 0] // 2, k + 8
            batches.advance(8)
            most = max(most, tracemalloc.get_traced_memory()[0] - start)
    finally:
        tracemalloc.stop()
    assert held < batches.perm.nbytes + 4096
    assert most - held < CHUNK_BYTES + 4096 < (x.nbytes + y.nbytes) / 2   # an ordered copy: 120 kB
    np.testing.assert_array_equal(seen[:k], batches.perm[:k])


def test_the_batch_order_is_read_only_and_shared_by_equal_content():
    """Nothing can write into the order a snapshot holds without a copy; two Batches that draw the same long
    order, or are given equal orders, hold one array (shared.py), and the caller's array is left as it was."""
    x, y = points(SHARED_ORDER)
    a, b = Batches(x, y, np.random.default_rng(3)), Batches(x, y, np.random.default_rng(3))
    assert a.perm is b.perm and not a.perm.flags.writeable
    given = a.perm.copy()
    c = Batches(x, y, np.random.default_rng(9), given, 5)
    assert c.perm is a.perm and c.pos == 5 and given.flags.writeable
    with pytest.raises(ValueError):
        a.perm[0] = 1
    a.shuffle()
    assert not a.perm.flags.writeable and b.perm is c.perm is not a.perm


def layer_arrays(scale: float = 1.0) -> list[np.ndarray]:
    """mu_2, mu_1, mu_0, dW_1, dW_2 of a 2-layer network: squared norms 4, 9, 16, 1, 25 (times scale^2)."""
    return [scale * np.array([[2.0]]), scale * np.array([[3.0]]), scale * np.array([[4.0]]),
            scale * np.array([[1.0]]), scale * np.array([[3.0, 4.0]])]


def test_a_finite_step_is_recorded_with_its_squared_norms_and_counts_towards_the_epoch_mean():
    h = History(2, capacity=8)
    assert h.record_step(1, 0.5, layer_arrays())
    assert h.record_step(2, 1.5, layer_arrays(2.0))
    np.testing.assert_array_equal(h.steps.rows(), [[1, 0.5, 4, 9, 16, 1, 25], [2, 1.5, 16, 36, 64, 4, 100]])
    assert (h.epoch_sum, h.epoch_steps) == (2.0, 2)
    h.record_epoch(1, 2, 0.25)
    np.testing.assert_array_equal(h.epochs.rows(), [[1, 2, 1.0, 0.25]])
    assert (h.epoch_sum, h.epoch_steps) == (0.0, 0)


@pytest.mark.parametrize("bad", [1e155, math.inf, math.nan])
def test_a_step_whose_norms_overflow_adds_no_row_and_no_loss(bad):
    """mu ~ 1e155 is finite but its square is not: the step leaves the history exactly as it was."""
    h = History(2, capacity=8)
    for step in range(1, 5):
        h.record_step(step, 0.5, layer_arrays())
    before = h.steps.rows()
    arrays = layer_arrays()
    arrays[1] = np.array([[bad]])
    assert not h.record_step(5, 0.5, arrays)
    np.testing.assert_array_equal(h.steps.rows(), before)
    assert (h.epoch_sum, h.epoch_steps) == (2.0, 4)
    assert h.record_step(5, 0.25, layer_arrays())   # the next finite step takes the row
    np.testing.assert_array_equal(h.steps.rows()[-1], [5, 0.25, 4, 9, 16, 1, 25])


def test_an_epoch_without_recorded_steps_has_a_nan_mean_and_a_dropped_epoch_no_row():
    h = History(2)
    h.record_step(1, 0.5, layer_arrays())
    h.drop_epoch()
    assert h.epochs.n == 0 and (h.epoch_sum, h.epoch_steps) == (0.0, 0)
    h.record_epoch(2, 1, math.nan)
    assert h.epochs.n == 1 and np.isnan(h.epoch_loss[0]) and np.isnan(h.test_loss[0])
