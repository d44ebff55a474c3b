"""The per-sample loop reference computes adjoint_core's gradient (an independent oracle), and the benchmark's
minimal NumPy step trains exactly as the engine does, so bench_core compares equal work."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import adjoint_core as ac  # noqa: E402
from benchmarks import bench_core  # noqa: E402
from benchmarks.loop_reference import LoopMLP  # noqa: E402
from benchmarks.numpy_reference import NumpyStep  # noqa: E402


def batch(sizes, seed=1, B=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, sizes[0])), rng.standard_normal((B, sizes[-1]))


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("sizes", [[1, 8, 16, 8, 1], [2, 8, 8, 1], [3, 5, 2]])
def test_gradient_matches_engine(sizes, activation):
    net = ac.MLP(sizes, activation=activation, seed=0)
    x, y = batch(sizes)
    grads, _ = net.backward(ac.MSELoss()(net.forward(x), y)[1])
    engine = np.concatenate([p.ravel() for pair in grads for p in pair])
    loop = LoopMLP(net).gradient(x, y)
    assert loop.shape == net.theta.shape
    np.testing.assert_allclose(loop, engine, rtol=1e-10, atol=1e-14 * np.abs(engine).max(),
                               err_msg="loop reference (actual) vs adjoint_core (desired)")


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_train_steps_match_momentum(activation):
    net = ac.MLP([2, 8, 8, 1], activation=activation, seed=0)
    loop, opt = LoopMLP(net), ac.Momentum(lr=0.05, beta=0.9, weight_decay=1e-3)
    for seed in range(3):
        x, y = batch(net.sizes, seed)
        loss, mu = ac.MSELoss()(net.forward(x), y)
        grads, _ = net.backward(mu)
        opt.step(net.params, grads)
        assert loop.train_step(x, y, 0.05, 0.9, 1e-3) == pytest.approx(loss, rel=1e-12)
    theta = np.concatenate([p.ravel() for pair in loop.params for p in pair])
    np.testing.assert_allclose(theta, net.theta, rtol=1e-10)


def test_bench_quick_prints_every_preset(capsys):
    assert bench_core.main(["--quick"]) == 0
    rows = capsys.readouterr().out.splitlines()
    for name in ("linear-sigmoid", "linear-relu", "nonlinear-relu", "wave2d-relu"):
        assert any(row.startswith(name + " ") for row in rows), f"no table row for {name}"


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_the_minimal_numpy_step_trains_as_the_engine(activation):
    net = ac.MLP([2, 8, 8, 1], activation=activation, seed=0)
    step, opt = NumpyStep(net, 0.05, 0.9, 1e-3), ac.Momentum(lr=0.05, beta=0.9, weight_decay=1e-3)
    for seed in range(5):
        x, y = batch(net.sizes, seed, B=50)
        loss, mu = ac.MSELoss()(net.forward(x), y)
        opt.step(net.params, net.backward(mu)[0])
        assert step(x, y) == pytest.approx(loss, rel=1e-12)
    theta = np.concatenate([p.ravel() for pair in step.params for p in pair])
    np.testing.assert_allclose(theta, net.theta, rtol=1e-10)
