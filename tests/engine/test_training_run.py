"""TrainingRun: determinism, counters, history, snapshots, run files, divergence, optimisers."""

from __future__ import annotations

import copy
import io
import json
import math
import warnings

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core import history
from adjoint_core.history import History, Trace
from safety_helpers import UNPICKLED, Evil

OPTIMISERS = ["sgd", "momentum", "nesterov", "adam"]

# 26 training points, batch 4: 6 steps per epoch, 2 points skipped per epoch; 8 test points.
TINY = ac.RunConfig(target="quadratic", samples=26, test_fraction=0.3, hidden=(5, 3), activation="tanh",
                    init="xavier", init_scale=1.0, optimiser="momentum", lr=0.05, beta=0.9,
                    weight_decay=1e-3, batch_size=4, epochs=1)


def tiny(optimiser="momentum", **changes) -> ac.RunConfig:
    return TINY.replace(optimiser=optimiser, **changes)


def history_arrays(run: ac.TrainingRun) -> dict[str, np.ndarray]:
    h = run.history
    return {"steps": h.steps.rows(), "epochs": h.epochs.rows()}


def assert_same_history(a: ac.TrainingRun, b: ac.TrainingRun):
    for key, x in history_arrays(a).items():
        y = history_arrays(b)[key]
        assert x.shape == y.shape, (key, x.shape, y.shape)
        np.testing.assert_array_equal(x, y, err_msg=key)


def slots(run: ac.TrainingRun) -> list[np.ndarray]:
    return [s for group in run.optimiser.state for s in group]


# --- determinism and counters --------------------------------------------------------------------

@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_same_seed_is_bit_identical(optimiser):
    cfg = tiny(optimiser)
    a, b = ac.TrainingRun(cfg, seed=3), ac.TrainingRun(cfg, seed=3)
    a.run_steps(300)
    b.run_steps(300)
    assert a.step_count == b.step_count == 300
    np.testing.assert_array_equal(a.net.theta, b.net.theta)
    assert_same_history(a, b)
    c = ac.TrainingRun(cfg, seed=4)
    c.run_steps(300)
    assert not np.array_equal(a.net.theta, c.net.theta)
    assert not np.array_equal(a.history.loss, c.history.loss)


def test_step_and_epoch_counters():
    run = ac.TrainingRun(TINY, seed=0)
    assert run.n_train == 26 and run.steps_per_epoch == 6
    assert run.step_count == 0 and run.epoch_count == 0
    loss = run.step()
    assert isinstance(loss, float) and math.isfinite(loss)
    assert run.step_count == 1 and run.epoch_count == 0
    assert run.history.loss[-1] == loss
    for expected in range(2, 5):
        run.step()
        assert run.step_count == expected
    # from mid-epoch: one epoch's worth of steps crosses exactly one epoch boundary
    assert run.run_epochs(1) == 6
    assert run.step_count == 10 and run.epoch_count == 1
    assert run.run_epochs(1) == 6
    assert run.step_count == 16 and run.epoch_count == 2
    fresh = ac.TrainingRun(TINY, seed=0)
    assert fresh.run_epochs(1) == 6 and fresh.step_count == 6 and fresh.epoch_count == 1
    assert fresh.run_epochs(3) == 18 and fresh.step_count == 24 and fresh.epoch_count == 4
    np.testing.assert_array_equal(fresh.history.epoch, [1, 2, 3, 4])


def test_run_for_respects_max_steps():
    run = ac.TrainingRun(TINY, seed=0)
    assert run.run_for(10.0, max_steps=7) == 7 and run.step_count == 7
    assert run.run_for(0.0) == 1


def test_epoch_history_is_mean_train_loss_and_test_loss():
    run = ac.TrainingRun(TINY, seed=2)
    for epoch in range(1, 4):
        run.run_epochs(1)
        losses = run.history.loss[-6:]
        assert run.history.epoch[-1] == epoch
        assert run.history.epoch_loss[-1] == pytest.approx(losses.mean(), rel=1e-14)
        expected_test = ac.MSELoss()(run.net.predict(run.data.x_test), run.data.y_test)[0]
        assert run.history.test_loss[-1] == pytest.approx(expected_test, rel=1e-14)
        assert run.test_loss() == pytest.approx(expected_test, rel=1e-14)


def test_each_epoch_uses_every_batch_once():
    """Batches walk a fresh permutation: an epoch covers n_train // B * B distinct points."""
    run = ac.TrainingRun(TINY, seed=5)
    for _ in range(2):
        seen = []
        for _ in range(run.steps_per_epoch):
            snap = run.snapshot()
            pos = snap.meta["pos"]
            seen.extend(snap.arrays["perm"][pos:pos + 4].tolist())
            run.step()
        assert len(seen) == 24 and len(set(seen)) == 24
        assert set(seen) <= set(range(26))


# --- history: what is recorded --------------------------------------------------------------------

@pytest.mark.parametrize("hidden", [(), (5,), (5, 3), (4, 4, 4)])
def test_history_shapes_and_values_of_one_step(hidden):
    cfg = TINY.replace(hidden=hidden, activation="relu")
    run = ac.TrainingRun(cfg, seed=1)
    run.run_steps(3)
    N = len(hidden) + 1
    h = run.history
    assert h.loss.shape == (3,) and h.step.shape == (3,)
    assert h.mu_norms.shape == (3, N + 1)
    assert h.grad_norms.shape == (3, N)
    np.testing.assert_array_equal(h.step, [1, 2, 3])

    # recompute the 4th step by hand from the same state and batch
    snap = run.snapshot()
    pos, B = snap.meta["pos"], cfg.batch_size
    assert pos + B <= run.n_train
    idx = snap.arrays["perm"][pos:pos + B]
    xb, yb = run.data.x[idx], run.data.y[idx]
    z = run.net.forward(xb)
    loss, mu = ac.MSELoss()(z, yb)
    grads, mus = run.net.backward(mu)
    run.step()

    assert run.history.loss[-1] == loss
    mu_norms, grad_norms = run.history.mu_norms[-1], run.history.grad_norms[-1]
    # column 0 is ||mu_N||_F = ||-(z - y) / B||_F = sqrt(2 L / B) for the MSE
    expected_mu_n = np.linalg.norm(-(z - yb) / B)
    assert mu_norms[0] == pytest.approx(expected_mu_n, rel=1e-12), (mu_norms[0], expected_mu_n)
    assert mu_norms[0] == pytest.approx(math.sqrt(2 * loss / B), rel=1e-12)
    # all columns in backward order mu_N, ..., mu_0
    np.testing.assert_allclose(mu_norms, [np.linalg.norm(m) for m in mus], rtol=1e-12)
    # grad norms input side first
    np.testing.assert_allclose(grad_norms, [np.linalg.norm(dW) for dW, _ in grads], rtol=1e-12)


def test_history_properties_return_copies():
    run = ac.TrainingRun(TINY, seed=0)
    run.run_steps(5)
    run.history.loss[:] = -1
    run.history.step[:] = -1
    assert np.all(run.history.loss > 0) and np.all(run.history.step > 0)


def test_history_memory_is_bounded():
    run = ac.TrainingRun(TINY.replace(hidden=(2,)), seed=0)
    run.step()
    steps_bytes, epochs_bytes = run.history.steps.data.nbytes, run.history.epochs.data.nbytes
    capacity = len(run.history.steps.data)
    run.run_steps(50_000 - 1)
    assert run.step_count == 50_000 and run.diverged is None
    h = run.history
    assert h.steps.data.nbytes == steps_bytes and h.epochs.data.nbytes == epochs_bytes
    n = h.steps.n
    assert n <= capacity
    step = h.step
    assert step[-1] == run.step_count
    half = capacity // 2
    assert n >= half
    np.testing.assert_array_equal(step[-half:], np.arange(run.step_count - half + 1, run.step_count + 1))
    assert np.all(np.diff(step) > 0), "recorded steps must stay in order"
    assert step[0] > 1, "old rows must have been averaged (a mean step number)"
    assert np.all(np.isfinite(h.loss)) and np.all(np.isfinite(h.mu_norms)) and np.all(np.isfinite(h.grad_norms))
    # epochs: 50_000 // 6 = 8333 epochs > capacity, so that trace was compacted too
    assert run.epoch_count == 50_000 // 6
    ep = h.epoch
    assert len(ep) <= capacity and ep[-1] == run.epoch_count
    np.testing.assert_array_equal(ep[-half:], np.arange(run.epoch_count - half + 1, run.epoch_count + 1))


def test_trace_compaction_by_hand():
    t = Trace([("step", ()), ("v", (2,))], capacity=8)
    for i in range(8):
        row = t.next_row()
        row[:] = [i + 1, 10.0 * (i + 1), -(i + 1)]
    assert t.n == 8
    np.testing.assert_array_equal(t.rows()[:, 0], np.arange(1, 9))
    row = t.next_row()                  # full: compacts the older half in pairs first
    row[:] = [9, 90, -9]
    expected = np.array([
        [1.5, 15.0, -1.5],              # mean of rows 1 and 2
        [3.5, 35.0, -3.5],              # mean of rows 3 and 4
        [5, 50, -5], [6, 60, -6], [7, 70, -7], [8, 80, -8],
        [9, 90, -9],
    ])
    np.testing.assert_array_equal(t.rows(), expected)
    # keep going: the next compaction averages the (already averaged) oldest rows again
    t.next_row()[:] = [10, 100, -10]
    assert t.n == 8
    t.next_row()[:] = [11, 110, -11]     # compacts: [1.5, 3.5] -> 2.5, [5, 6] -> 5.5
    assert t.n == 7
    t.next_row()[:] = [12, 120, -12]
    expected = np.array([[2.5, 25.0, -2.5], [5.5, 55.0, -5.5], [7, 70, -7], [8, 80, -8], [9, 90, -9],
                         [10, 100, -10], [11, 110, -11], [12, 120, -12]])
    np.testing.assert_array_equal(t.rows(), expected)
    assert t.data.shape == (8, 3)


def test_trace_rejects_bad_capacity_and_load():
    for cap in (0, 2, 6):
        with pytest.raises(ValueError):
            Trace([("step", ()), ("v", ())], capacity=cap)
    t = Trace([("step", ()), ("v", ())], capacity=4)
    with pytest.raises(ValueError):
        t.load(np.zeros((5, 2)))
    with pytest.raises(ValueError):
        t.load(np.zeros((2, 3)))
    t.load(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(t.rows(), [[1, 2], [3, 4]])


def test_history_columns_layout():
    h = History(n_layers=3, capacity=8)
    assert h.steps.index == {"step": 0, "loss": 1, "mu_sq": slice(2, 6), "grad_sq": slice(6, 9)}
    assert h.epochs.index == {"epoch": 0, "step": 1, "loss": 2, "test_loss": 3}
    h.steps.next_row()[:] = [7, 0.5, 4.0, 9.0, 16.0, 25.0, 1.0, 4.0, 9.0]
    np.testing.assert_array_equal(h.step, [7])
    np.testing.assert_array_equal(h.loss, [0.5])
    np.testing.assert_array_equal(h.mu_norms, [[2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(h.mu_ratio, [2.5])
    np.testing.assert_array_equal(h.grad_norms, [[1.0, 2.0, 3.0]])
    h.epochs.next_row()[:] = [1, 7, 0.25, 0.125]
    np.testing.assert_array_equal([h.epoch, h.epoch_step, h.epoch_loss, h.test_loss], [[1], [7], [0.25], [0.125]])


def test_every_recorded_column_is_written():
    run = ac.TrainingRun(TINY, seed=0)
    run.history.steps.data[:] = np.nan
    run.history.epochs.data[:] = np.nan
    run.run_steps(20)   # 3 epoch ends, each with a test loss
    assert run.history.epochs.n == 3
    assert np.isfinite(run.history.steps.rows()).all() and np.isfinite(run.history.epochs.rows()).all()


def test_a_column_added_to_the_table_moves_nothing_read_by_name(monkeypatch):
    """The layout comes from step_columns alone: a (dummy, unwritten) block before the norms widens the rows and
    changes no property, and the wider rows survive the run file round trip."""
    plain = ac.TrainingRun(TINY, seed=3)
    plain.run_steps(20)
    columns = history.step_columns
    monkeypatch.setattr(history, "step_columns", lambda n: [*columns(n)[:2], ("dummy", (2,)), *columns(n)[2:]])
    run = ac.TrainingRun(TINY, seed=3)
    run.run_steps(20)
    assert run.history.steps.data.shape[1] == plain.history.steps.data.shape[1] + 2
    for name in ("step", "loss", "mu_norms", "mu_ratio", "grad_norms", "epoch", "epoch_step", "epoch_loss",
                 "test_loss"):
        np.testing.assert_array_equal(getattr(run.history, name), getattr(plain.history, name), err_msg=name)
    assert_same_history(ac.TrainingRun.load(*run.export()), run)


# --- snapshot / restore, export / load ---------------------------------------------------------------

@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_snapshot_restore_round_trip(optimiser):
    run = ac.TrainingRun(tiny(optimiser), seed=7)
    run.run_steps(17)                       # mid-epoch
    snap = run.snapshot()
    theta_at_snap = snap.arrays["theta"].copy()
    run.run_steps(100)
    first = (run.net.theta.copy(), history_arrays(run), run.step_count, run.epoch_count,
             [s.copy() for s in slots(run)])
    np.testing.assert_array_equal(snap.arrays["theta"], theta_at_snap)   # the snapshot is a copy
    run.restore(snap)
    assert run.step_count == 17
    np.testing.assert_array_equal(run.net.theta, theta_at_snap)
    run.run_steps(100)
    np.testing.assert_array_equal(run.net.theta, first[0])
    for key, arr in history_arrays(run).items():
        np.testing.assert_array_equal(arr, first[1][key], err_msg=key)
    assert (run.step_count, run.epoch_count) == (first[2], first[3])
    for a, b in zip(slots(run), first[4]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_export_load_round_trip(optimiser):
    run = ac.TrainingRun(tiny(optimiser), seed=11)
    run.run_steps(39)
    json_text, npz = run.export()
    assert isinstance(json_text, str) and isinstance(npz, bytes)
    run2 = ac.TrainingRun.load(json_text, npz)
    assert run2.config == run.config and run2.seed == run.seed
    np.testing.assert_array_equal(run2.net.theta, run.net.theta)
    assert run2.optimiser.name == optimiser and run2.optimiser.t == run.optimiser.t
    assert len(slots(run2)) == len(slots(run)) == {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2}[optimiser]
    for a, b in zip(slots(run2), slots(run)):
        np.testing.assert_array_equal(a, b)
    assert_same_history(run, run2)
    assert (run2.step_count, run2.epoch_count) == (run.step_count, run.epoch_count)
    np.testing.assert_array_equal(run2.data.x, run.data.x)
    np.testing.assert_array_equal(run2.data.y_test, run.data.y_test)
    run.run_steps(200)
    run2.run_steps(200)
    np.testing.assert_array_equal(run2.net.theta, run.net.theta)
    assert_same_history(run, run2)


def test_export_load_round_trip_with_uploaded_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(30, 2))
    y = (x[:, :1] * x[:, 1:]) + 0.1
    cfg = TINY.replace(target="data", hidden=(4,))
    run = ac.TrainingRun(cfg, seed=2, data=(x, y))
    assert run.n_train + len(run.data.x_test) == 30
    run.run_steps(25)
    run2 = ac.TrainingRun.load(*run.export())
    np.testing.assert_array_equal(run2.data.x, run.data.x)
    run.run_steps(50)
    run2.run_steps(50)
    np.testing.assert_array_equal(run2.net.theta, run.net.theta)


def test_export_load_after_set_hyperparameters():
    run = ac.TrainingRun(tiny("momentum"), seed=3)
    run.run_steps(10)
    run.set_hyperparameters(optimiser="adam", lr=0.01, loss="huber", batch_size=3)
    run.run_steps(10)
    run2 = ac.TrainingRun.load(*run.export())
    assert run2.config.optimiser == "adam" and run2.config.loss == "huber" and run2.config.batch_size == 3
    run.run_steps(30)
    run2.run_steps(30)
    np.testing.assert_array_equal(run2.net.theta, run.net.theta)


# --- TrainingRun.load rejects malformed files -----------------------------------------------------

@pytest.fixture(scope="module")
def exported():
    run = ac.TrainingRun(tiny("adam"), seed=1)
    run.run_steps(13)
    json_text, npz = run.export()
    with np.load(io.BytesIO(npz)) as f:
        arrays = {k: f[k] for k in f.files}
    return json_text, npz, json.loads(json_text), arrays


def npz_bytes(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def assert_load_rejects(meta_json, npz, *words):
    with pytest.raises(ac.ConfigError) as info:
        ac.TrainingRun.load(meta_json, npz)
    msg = str(info.value).lower()
    for w in words:
        assert w in msg, msg
    return msg


def test_exported_fixture_loads(exported):
    json_text, npz, meta, arrays = exported
    run = ac.TrainingRun.load(json_text, npz)
    assert run.step_count == 13
    assert ac.TrainingRun.load(json_text.encode(), npz_bytes(arrays)).step_count == 13


@pytest.mark.parametrize("text", ["not json{", "", "[1, 2]", "null", '"run"', "{\"format\": 1}", "\xff\xfe"])
def test_load_rejects_bad_json(exported, text):
    assert_load_rejects(text, exported[1], "run file")


def test_load_rejects_wrong_format(exported):
    meta = dict(exported[2], format="adjoint-backprop-lab/run-v0")
    assert_load_rejects(json.dumps(meta), exported[1], "run file")


@pytest.mark.parametrize("key", ["format", "config", "seed", "step_count", "epoch_count", "pos", "epoch_sum",
                                 "epoch_steps", "optimiser_t", "n_slots", "rng"])
def test_load_rejects_missing_fields(exported, key):
    meta = copy.deepcopy(exported[2])
    del meta[key]
    assert_load_rejects(json.dumps(meta), exported[1], "run file")


@pytest.mark.parametrize("key, value", [
    ("seed", -1), ("seed", "0"), ("seed", 1.5), ("step_count", -3), ("step_count", True), ("pos", 10_000),
    ("n_slots", "2"), ("config", "lr=1"), ("config", {"lr": -1}), ("config", {"hidden": [9]}),
    ("rng", {"bit_generator": "MT19937"}), ("rng", {}),
])
def test_load_rejects_bad_field_values(exported, key, value):
    meta = copy.deepcopy(exported[2])
    meta[key] = value
    with pytest.raises(ac.ConfigError):
        ac.TrainingRun.load(json.dumps(meta), exported[1])


def test_load_rejects_missing_diverged_field(exported):
    # read_run_files requires the field, so restore never meets a KeyError
    meta = copy.deepcopy(exported[2])
    del meta["diverged"]
    with pytest.raises(ac.ConfigError):
        ac.TrainingRun.load(json.dumps(meta), exported[1])


@pytest.mark.parametrize("n_slots, drop, optimiser", [(1, "slot1", "adam"), (3, None, "adam"), (2, None, "sgd")])
def test_load_rejects_slot_count_not_matching_optimiser(exported, n_slots, drop, optimiser):
    # n_slots must be 0 or the optimiser's n_slots, not only match the arrays present
    meta = copy.deepcopy(exported[2])
    arrays = dict(exported[3])
    meta["n_slots"] = n_slots
    meta["config"]["optimiser"] = optimiser
    if drop:
        del arrays[drop]
    if n_slots == 3:
        arrays["slot2"] = arrays["slot0"].copy()
    with pytest.raises(ac.ConfigError):
        ac.TrainingRun.load(json.dumps(meta), npz_bytes(arrays))


@pytest.mark.parametrize("where", ["config.samples", "config.lr", "rng.state"])
def test_load_rejects_out_of_range_integers(exported, where):
    # json.loads gives exact Python ints: float(10**400) and a negative PCG64 state raise OverflowError,
    # which must come out as ConfigError
    meta = copy.deepcopy(exported[2])
    if where == "config.samples":
        meta["config"]["samples"] = 10**400
    elif where == "config.lr":
        meta["config"]["lr"] = -10**400
    else:
        meta["rng"]["state"]["state"] = -5
    with pytest.raises(ac.ConfigError):
        ac.TrainingRun.load(json.dumps(meta), exported[1])


def test_load_rejects_fewer_training_points_than_the_batch(exported):
    # the batch size is checked against the file's training points, not those the constructor generated
    meta = copy.deepcopy(exported[2])
    arrays = dict(exported[3])
    arrays["x"], arrays["y"], arrays["perm"] = arrays["x"][:3], arrays["y"][:3], np.arange(3)
    meta["pos"] = 0
    with pytest.raises(ac.ConfigError):
        ac.TrainingRun.load(json.dumps(meta), npz_bytes(arrays))


@pytest.mark.parametrize("payload", [b"", b"garbage bytes", b"PK\x03\x04 not really a zip", b"\x93NUMPY"])
def test_load_rejects_garbage_npz(exported, payload):
    assert_load_rejects(exported[0], payload, "run file")


def test_load_never_unpickles(exported):
    UNPICKLED.clear()
    arrays = dict(exported[3])
    arrays["theta"] = np.array([Evil(), 1.0], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=True, **arrays)
    assert_load_rejects(exported[0], buf.getvalue(), "run file")
    # an extra object array must not be unpickled either
    arrays = dict(exported[3])
    arrays["extra"] = np.array([Evil()], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=True, **arrays)
    with pytest.raises(ac.ConfigError):
        ac.TrainingRun.load(exported[0], buf.getvalue())
    assert UNPICKLED == [], "TrainingRun.load unpickled an object array"


@pytest.mark.parametrize("change", [
    "theta_short", "theta_long", "theta_nan", "theta_inf", "theta_2d", "theta_complex", "theta_str",
    "perm_duplicate", "perm_out_of_range", "perm_short", "missing_theta", "missing_perm", "slot_shape",
    "missing_slot", "history_width", "history_too_long", "x_nan", "y_shape",
])
def test_load_rejects_bad_arrays(exported, change):
    arrays = dict(exported[3])
    theta = arrays["theta"]
    if change == "theta_short":
        arrays["theta"] = theta[:-1]
        arrays["slot0"], arrays["slot1"] = arrays["slot0"][:-1], arrays["slot1"][:-1]
    elif change == "theta_long":
        arrays["theta"] = np.append(theta, 1.0)
        arrays["slot0"], arrays["slot1"] = np.append(arrays["slot0"], 0.0), np.append(arrays["slot1"], 0.0)
    elif change == "theta_nan":
        arrays["theta"] = theta.copy()
        arrays["theta"][2] = np.nan
    elif change == "theta_inf":
        arrays["theta"] = theta.copy()
        arrays["theta"][0] = -np.inf
    elif change == "theta_2d":
        arrays["theta"] = theta.reshape(1, -1)
    elif change == "theta_complex":
        arrays["theta"] = theta.astype(complex)
    elif change == "theta_str":
        arrays["theta"] = theta.astype(str)
    elif change == "perm_duplicate":
        perm = arrays["perm"].copy()
        perm[0] = perm[1]
        arrays["perm"] = perm
    elif change == "perm_out_of_range":
        perm = arrays["perm"].copy()
        perm[np.argmax(perm)] = len(perm)
        arrays["perm"] = perm
    elif change == "perm_short":
        arrays["perm"] = arrays["perm"][:-1]
    elif change == "missing_theta":
        del arrays["theta"]
    elif change == "missing_perm":
        del arrays["perm"]
    elif change == "slot_shape":
        arrays["slot1"] = arrays["slot1"][:-1]
    elif change == "missing_slot":
        del arrays["slot0"]
    elif change == "history_width":
        arrays["history_steps"] = arrays["history_steps"][:, :-1]
    elif change == "history_too_long":
        arrays["history_steps"] = np.ones((10_000, arrays["history_steps"].shape[1]))
    elif change == "x_nan":
        arrays["x"] = arrays["x"].copy()
        arrays["x"][0, 0] = np.nan
    elif change == "y_shape":
        arrays["y"] = arrays["y"].ravel()
    assert_load_rejects(exported[0], npz_bytes(arrays), "run file")


# --- divergence --------------------------------------------------------------------------------------

def assert_diverged_cleanly(run: ac.TrainingRun, epochs: int = 50):
    planned = epochs * run.steps_per_epoch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        taken = run.run_epochs(epochs)
    assert taken < planned or (taken == planned and run.diverged), (taken, planned)
    assert isinstance(run.diverged, str) and run.diverged, run.diverged
    assert f"step {taken}" in run.diverged
    # a diverged step is not counted, nor the one whose update led to an overflowing loss (unless it ended an
    # epoch); a step whose update made the test loss overflow has ended its epoch: it stays counted
    if "test loss" in run.diverged:
        assert run.step_count == taken
    elif "the loss became" in run.diverged:
        assert run.step_count in (taken - 1, taken - 2)
    else:
        assert run.step_count == taken - 1
    assert np.all(np.isfinite(run.net.theta)), "parameters must stay finite"
    assert all(np.all(np.isfinite(s)) for s in slots(run)), "optimiser state must stay finite"
    # the kept state has a finite loss on the training data
    with np.errstate(all="ignore"):
        loss = ac.MSELoss()(run.net.predict(run.data.x), run.data.y)[0]
    assert math.isfinite(loss)
    # the per-step losses recorded are those of the steps taken
    assert len(run.history.loss) <= taken
    assert np.all(np.isfinite(run.history.loss))
    return taken


def non_finite_history(run: ac.TrainingRun) -> dict[str, list]:
    h = run.history
    out = {}
    for name in ("step", "loss", "mu_norms", "grad_norms", "epoch", "epoch_loss", "test_loss"):
        bad = ~np.isfinite(getattr(h, name))
        if bad.any():
            out[name] = np.argwhere(bad)[:4].tolist()
    return out


def huge_target_config(optimiser):
    return ac.RunConfig(target="custom", formula="1e150*(1+x)", dim=1, samples=100, test_fraction=0.2,
                        hidden=(16, 16), activation="relu", init="he", init_scale=1.0, optimiser=optimiser,
                        lr=10.0 if optimiser == "adam" else 1e-3, batch_size=10, epochs=1)


LR_DIVERGENCE = [(p, lr, o) for p, lr in [("linear-relu", 5.0), ("nonlinear-relu", 10.0)]
                 for o in ("sgd", "momentum", "nesterov")]


@pytest.mark.parametrize("preset, lr, optimiser", LR_DIVERGENCE)
def test_huge_lr_diverges_cleanly(preset, lr, optimiser):
    run = ac.TrainingRun(ac.presets[preset].replace(lr=lr, optimiser=optimiser), seed=0)
    assert_diverged_cleanly(run)


@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_huge_targets_diverge_cleanly(optimiser):
    """Targets of 1e150: the loss is finite at first but the gradients/loss overflow within a few steps.

    Adam's steps are bounded by about lr, so no lr <= 10 makes it diverge on the presets; here it
    overflows at step 4 through the gradient."""
    run = ac.TrainingRun(huge_target_config(optimiser), seed=0)
    taken = assert_diverged_cleanly(run)
    assert taken < 20


@pytest.mark.parametrize("case", [f"{p}-{lr}-{o}" for p, lr, o in LR_DIVERGENCE]
                         + [f"huge-targets-{o}" for o in OPTIMISERS])
def test_divergence_leaves_only_finite_history(case):
    """Every recorded history value stays finite when a run diverges: a step's row is dropped when any squared
    norm ||mu_i||^2 or ||dL/dW_i||^2 overflowed (mu ~ 1e155 is finite, its square is not), and an epoch whose
    test loss is not finite is not recorded (the last update is undone instead)."""
    if case.startswith("huge-targets-"):
        run = ac.TrainingRun(huge_target_config(case.rsplit("-", 1)[1]), seed=0)
    else:
        preset, lr, optimiser = case.rsplit("-", 2)
        run = ac.TrainingRun(ac.presets[preset].replace(lr=float(lr), optimiser=optimiser), seed=0)
    run.run_epochs(50)
    assert run.diverged
    assert non_finite_history(run) == {}, f"non-finite history (name: [row, col]...): {non_finite_history(run)}"


@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_loss_overflow_restores_the_previous_state(optimiser):
    """When the loss is inf at step k, theta and the optimiser go back to their state before step k-1, and the run
    to step k-2."""
    cfg = ac.presets["linear-relu"].replace(lr=5.0, optimiser=optimiser) if optimiser != "adam" else \
        ac.RunConfig(target="custom", formula="exp(709*x**64)", dim=1, samples=100, hidden=(8,), init="he",
                     init_scale=1.0, optimiser="adam", lr=0.01, batch_size=10)
    run = ac.TrainingRun(cfg, seed=0)
    thetas, ts = [run.net.theta.copy()], [run.optimiser.t]
    states = [[s.copy() for s in slots(run)]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(500):
            loss = run.step()
            if run.diverged:
                break
            thetas.append(run.net.theta.copy())
            ts.append(run.optimiser.t)
            states.append([s.copy() for s in slots(run)])
    assert run.diverged, "expected a divergence"
    k = run.divergence_steps[-1]
    if "loss" in run.diverged:
        assert not math.isfinite(loss)
        assert k >= 2
        np.testing.assert_array_equal(run.net.theta, thetas[k - 2])
        assert run.optimiser.t == ts[k - 2]
        if states[k - 2]:
            assert len(slots(run)) == len(states[k - 2])
            for a, b in zip(slots(run), states[k - 2]):
                np.testing.assert_array_equal(a, b)
        else:   # undoing the first update: the optimiser state is back at zero
            assert not any(np.any(a) for a in slots(run))
        assert run.step_count == k - 2 and len(run.history.loss) == len(thetas) - 2   # step k-1 taken back
    else:   # gradient overflow: nothing changed
        np.testing.assert_array_equal(run.net.theta, thetas[k - 1])
        assert run.step_count == k - 1 and len(run.history.loss) == len(thetas) - 1


def test_a_good_run_does_not_diverge():
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.run_epochs(50) == 100
    assert run.diverged is None
    assert run.history.epoch_loss[-1] < run.history.epoch_loss[0]


# --- set_hyperparameters -----------------------------------------------------------------------------

def test_set_lr_keeps_model_and_optimiser_state():
    run = ac.TrainingRun(tiny("adam"), seed=0)
    run.run_steps(20)
    theta, state, t, opt = run.net.theta.copy(), [s.copy() for s in slots(run)], run.optimiser.t, run.optimiser
    run.set_hyperparameters(lr=0.002, beta=0.5, weight_decay=0.01)
    assert run.step_count == 20
    np.testing.assert_array_equal(run.net.theta, theta)
    assert run.optimiser is opt and run.optimiser.t == t
    for a, b in zip(slots(run), state):
        np.testing.assert_array_equal(a, b)
    assert (opt.lr, opt.beta, opt.weight_decay) == (0.002, 0.5, 0.01)
    assert (run.config.lr, run.config.beta, run.config.weight_decay) == (0.002, 0.5, 0.01)
    # the next step uses the new values: compare with a fresh optimiser given the same state
    snap = run.snapshot()
    run.step()
    other = ac.TrainingRun(tiny("adam").replace(lr=0.002, beta=0.5, weight_decay=0.01), seed=0)
    other.restore(snap)
    other.step()
    np.testing.assert_array_equal(run.net.theta, other.net.theta)


def test_changing_optimiser_resets_its_state():
    run = ac.TrainingRun(tiny("momentum"), seed=0)
    run.run_steps(20)
    theta = run.net.theta.copy()
    run.set_hyperparameters(optimiser="adam")
    assert run.step_count == 20 and run.optimiser.name == "adam"
    assert run.optimiser.t == 0 and run.optimiser.state == []
    np.testing.assert_array_equal(run.net.theta, theta)
    assert run.config.optimiser == "adam"
    run.step()
    assert run.optimiser.t == 1 and len(slots(run)) == 2


def test_set_hyperparameters_batch_size_and_loss():
    run = ac.TrainingRun(TINY, seed=0)
    run.run_steps(3)
    run.set_hyperparameters(batch_size=8, loss="huber")
    assert run.steps_per_epoch == 3 and isinstance(run.loss_fn, ac.HuberLoss)
    run.step()
    assert run.step_count == 4


@pytest.mark.parametrize("change", [{"hidden": (3,)}, {"momentum": 0.9}, {"lr": -1.0}, {"optimiser": "sgdd"},
                                    {"batch_size": 100}])
def test_set_hyperparameters_rejects(change):
    run = ac.TrainingRun(TINY, seed=0)
    run.run_steps(2)
    before = (run.config, run.net.theta.copy(), run.optimiser)
    with pytest.raises(ac.ConfigError) as info:
        run.set_hyperparameters(**change)
    assert next(iter(change)) in str(info.value)
    assert run.config == before[0] and run.optimiser is before[2]
    np.testing.assert_array_equal(run.net.theta, before[1])


# --- optimisers: the update formulas by hand -----------------------------------------------------------

def _arrays(seed, n_steps=3):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((3, 2))
    gs = [rng.standard_normal((3, 2)) for _ in range(n_steps)]
    return w0, gs


@pytest.mark.parametrize("wd", [0.0, 0.1])
@pytest.mark.parametrize("name", OPTIMISERS)
def test_optimiser_update_formulas(name, wd):
    lr, beta = 0.05, 0.8
    w0, gs = _arrays(seed=len(name))
    w = w0.copy()
    opt = ac.make_optimiser(name, lr, beta, wd)
    assert isinstance(opt, ac.OPTIMISERS[name])
    ref = w0.copy()
    m = np.zeros_like(w0)
    v = np.zeros_like(w0)
    for t, g in enumerate(gs, start=1):
        g_in = g.copy()
        opt.step([w], [g])
        np.testing.assert_array_equal(g, g_in)          # the gradient is not modified
        gp = g + wd * ref                                # weight decay is L2 added to the gradient
        if name == "sgd":
            ref = ref - lr * gp
        elif name == "momentum":
            m = beta * m + (1 - beta) * gp
            ref = ref - lr * m
        elif name == "nesterov":
            m = beta * m + (1 - beta) * gp
            ref = ref - lr * (beta * m + (1 - beta) * gp)
        else:
            m = beta * m + (1 - beta) * gp
            v = 0.999 * v + 0.001 * gp ** 2
            m_hat = m / (1 - beta ** t)
            v_hat = v / (1 - 0.999 ** t)
            ref = ref - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        np.testing.assert_allclose(w, ref, rtol=1e-13, atol=1e-15,
                                   err_msg=f"{name}, wd={wd}, step {t}: engine (actual) vs formula (desired)")
        assert opt.t == t


def test_divergence_after_an_optimiser_change_restores_theta_and_keeps_the_new_state():
    """The update before the change is undone on theta; the new optimiser's fresh state is kept."""
    run = ac.TrainingRun(tiny("momentum"), seed=0)
    run.run_steps(3)
    before_last = run.net.theta.copy()
    run.run_steps(1)
    run.set_hyperparameters(optimiser="adam")
    run.rollback.restore(run.optimiser)
    np.testing.assert_array_equal(run.net.theta, before_last)
    assert run.optimiser.t == 0 and run.optimiser.state == []
    run.rollback.restore(run.optimiser)   # a second restore has nothing left to restore
    np.testing.assert_array_equal(run.net.theta, before_last)


@pytest.mark.parametrize("optimiser", ["momentum", "adam"])
def test_undoing_the_first_update_leaves_the_initial_parameters_and_a_zero_state(optimiser):
    run = ac.TrainingRun(tiny(optimiser), seed=0)
    theta0 = run.net.theta.copy()
    run.step()
    assert any(np.any(a) for a in slots(run)) and run.optimiser.t == 1
    run.rollback.restore(run.optimiser)
    np.testing.assert_array_equal(run.net.theta, theta0)
    assert not any(np.any(a) for a in slots(run)) and run.optimiser.t == 0


def test_adam_first_step_is_lr_times_sign():
    """With bias correction the first Adam step is lr * g / (|g| + eps) ~ lr * sign(g)."""
    w = np.zeros(4)
    g = np.array([1e-3, -2.0, 50.0, -1e-5])
    ac.Adam(lr=0.1, beta=0.9).step([w], [g])
    np.testing.assert_allclose(w, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_sgd_by_hand_numbers():
    w = np.array([1.0, -2.0])
    ac.SGD(lr=0.5, weight_decay=0.1).step([w], [np.array([0.2, 0.4])])
    np.testing.assert_allclose(w, [1.0 - 0.5 * (0.2 + 0.1), -2.0 - 0.5 * (0.4 - 0.2)], rtol=1e-15)


@pytest.mark.parametrize("name", OPTIMISERS)
def test_step_on_pairs_equals_step_on_flat_theta(name):
    rng = np.random.default_rng(0)
    net = ac.MLP([2, 4, 3, 1], activation="tanh", init="xavier", rng=rng)
    flat_theta = net.theta.copy()
    opt_pairs = ac.make_optimiser(name, 0.01, 0.9, 0.01)
    opt_flat = ac.make_optimiser(name, 0.01, 0.9, 0.01)
    for _ in range(4):
        x = rng.standard_normal((5, 2))
        y = rng.standard_normal((5, 1))
        loss, mu = ac.MSELoss()(net.forward(x), y)
        grads, _ = net.backward(mu)
        g_flat = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
        opt_pairs.step(net.params, grads)
        opt_flat.step([flat_theta], [g_flat])
        np.testing.assert_array_equal(net.theta, flat_theta)
    assert len(opt_pairs.state) == 2 * net.n_layers and len(opt_flat.state) == 1
    for group in opt_pairs.state:
        assert len(group) == ac.OPTIMISERS[name].n_slots


def test_chunked_test_loss_equals_the_whole_set_loss():
    run = ac.TrainingRun(ac.presets["wave2d-relu"].replace(test_fraction=1.0), seed=0)
    run.run_steps(50)
    assert len(run.data.x_test) > run.test_chunk_rows
    whole = run.loss_fn(run.net.predict(run.data.x_test), run.data.y_test)[0]
    assert run.test_loss() == pytest.approx(whole, rel=1e-12)


def test_checks_between_steps_leave_training_unchanged():
    """The step's backward writes into the run's gradient vector even after a gradient check, the traps and the
    Backward page ran their own backward passes on the same network before and between steps."""
    from adjoint_core.adjoint_field import backward_trace
    from adjoint_core.notebook_traps import trap_report

    plain, checked = ac.TrainingRun(tiny(), seed=3), ac.TrainingRun(tiny(), seed=3)
    x, y = checked.data.x[:4], checked.data.y[:4]
    for _ in range(3):
        ac.check_gradients(checked.net, checked.loss_fn, x, y, max_per_tensor=2)
        trap_report(checked.net, checked.loss_fn, x, y, max_entries=5)
        backward_trace(checked.net, checked.loss_fn, x, y)
        plain.step()
        checked.step()
    np.testing.assert_array_equal(checked.net.theta, plain.net.theta)
    np.testing.assert_array_equal(checked.history.mu_norms, plain.history.mu_norms)
