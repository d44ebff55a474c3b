"""The notebook's two gradient traps (adjoint_core/notebook_traps.py), pinned down against our engine.

``notebook_gradient`` below is a deliberately naive per-sample reference written from the maths:
for each sample k it runs the chain forward, starts from mu_N = -(z_k - y_k) / B, and walks back
with delta = mu * sigma'(.), per-sample terms -z_{i-1} delta^T and -delta, mu_prev = W delta.
Two switches reproduce the traps:

- ``at_output=True``  evaluates sigma' at the layer's output sigma(a) instead of at a (trap 1);
- ``average=True``    averages the per-sample terms over the batch although mu_N carries 1/B (trap 2).

With both switches off it is the true gradient dL/dtheta, which the tests check first, so the
reference itself is validated before it is used to characterise the notebook.
"""

from __future__ import annotations

import numpy as np
import pytest

import adjoint_core as ac


def sigma(name: str, u: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(u, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-u))
    if name == "identity":
        return u.copy()
    raise ValueError(name)


def sigma_prime(name: str, u: np.ndarray) -> np.ndarray:
    if name == "relu":
        return (u > 0).astype(float)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-u))
        return s * (1.0 - s)
    if name == "identity":
        return np.ones_like(u)
    raise ValueError(name)


def notebook_gradient(params, names, x, y, at_output=True, average=True):
    """Per-sample loops. params [(W (d_in, d_out), b (d_out,))], names one per layer (output included)."""
    B = len(x)
    total = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    for k in range(B):
        z = [x[k]]
        a = []
        for (W, b), name in zip(params, names):
            a.append(z[-1] @ W + b)
            z.append(sigma(name, a[-1]))
        mu = -(z[-1] - y[k]) / B
        for i in reversed(range(len(params))):
            W, _ = params[i]
            where = z[i + 1] if at_output else a[i]
            delta = mu * sigma_prime(names[i], where)
            total[i][0][...] += -np.outer(z[i], delta)
            total[i][1][...] += -delta
            mu = W @ delta
    if average:
        total = [(gW / B, gb / B) for gW, gb in total]
    return total


def flat(pairs) -> np.ndarray:
    return np.concatenate([np.concatenate([W.ravel(), b.ravel()]) for W, b in pairs])


def engine_gradient(net: ac.MLP, x, y) -> np.ndarray:
    loss, mu = ac.MSELoss()(net.forward(x), y)
    grads, _ = net.backward(mu)
    return flat(grads)


def make(sizes, activation, seed, B):
    rng = np.random.default_rng(seed)
    net = ac.MLP(sizes, activation=activation, init="notebook", init_scale=1.0, rng=rng)
    x = rng.uniform(0.0, 1.0, size=(B, sizes[0]))
    y = 10.0 * (x[:, :1] - x[:, :1] ** 2) + rng.standard_normal((B, sizes[-1]))
    return net, x, y


def copy_params(net: ac.MLP):
    return [(W.copy(), b.copy()) for W, b in net.params]


def assert_close(actual, desired, what):
    scale = np.max(np.abs(desired))
    np.testing.assert_allclose(actual, desired, rtol=1e-10, atol=1e-13 * scale,
                               err_msg=f"{what}: reference (actual) vs engine (desired)")


SHAPES = [[1, 8, 1], [1, 16, 12, 1], [2, 10, 10, 1], [1, 64, 64, 1]]


# --- the reference is right when the traps are switched off ------------------------------------

@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("sizes", SHAPES[:3])
def test_reference_without_traps_is_the_true_gradient(sizes, activation):
    net, x, y = make(sizes, activation, seed=1, B=7)
    ref = flat(notebook_gradient(net.params, net.activations, x, y, at_output=False, average=False))
    assert_close(ref, engine_gradient(net, x, y), "dL/dtheta")
    # and the engine's gradient is dL/dtheta: a few central differences
    idx = np.array([0, 1, net.n_params() // 2, net.n_params() - 1])
    fd = ac.numeric_gradient(net, ac.MSELoss(), x, y, eps=1e-6, indices=idx)
    np.testing.assert_allclose(ref[idx], fd, rtol=1e-6, atol=1e-9, err_msg="reference vs finite differences")


# --- trap 2: for ReLU the notebook's gradient is exactly dL/dtheta / B --------------------------

@pytest.mark.parametrize("B", [1, 5, 50])
@pytest.mark.parametrize("sizes", SHAPES)
def test_notebook_relu_gradient_is_true_gradient_over_B(sizes, B):
    net, x, y = make(sizes, "relu", seed=len(sizes) + B, B=B)
    nb = flat(notebook_gradient(net.params, net.activations, x, y))
    ours = engine_gradient(net, x, y)
    assert np.linalg.norm(ours) > 0
    assert_close(nb * B, ours, f"B * notebook gradient, B = {B}")
    # for ReLU, sigma' at the output equals sigma' at a: relu(a) > 0 <=> a > 0
    nb_at_a = flat(notebook_gradient(net.params, net.activations, x, y, at_output=False))
    np.testing.assert_array_equal(nb, nb_at_a)


# --- the conversion lr' = lr / B, wd' = wd * B reproduces the notebook's momentum ---------------

def notebook_momentum_step(params, m, g, lr, beta, wd):
    """m <- beta m + (1 - beta)(g + wd w); w <- w - lr m, per array, in place."""
    for (W, b), (mW, mb), (gW, gb) in zip(params, m, g):
        for w, mm, gg in ((W, mW, gW), (b, mb, gb)):
            mm[...] = beta * mm + (1.0 - beta) * (gg + wd * w)
            w[...] = w - lr * mm


@pytest.mark.parametrize("lr, beta, wd", [(0.1, 0.9, 1e-4), (1e-2, 0.9, 1e-3), (0.05, 0.5, 0.0)])
def test_notebook_momentum_equals_converted_momentum(lr, beta, wd):
    B = 10
    rng = np.random.default_rng(3)
    net = ac.MLP([1, 16, 16, 1], activation="relu", init="notebook", init_scale=1.0, rng=rng)
    nb_params = copy_params(net)
    nb_m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in nb_params]
    opt = ac.Momentum(lr=lr / B, beta=beta, weight_decay=wd * B)
    theta0 = net.theta.copy()
    for step in range(8):
        x = rng.uniform(0.0, 1.0, size=(B, 1))
        y = 10.0 * (x - x * x)
        g_nb = notebook_gradient(nb_params, net.activations, x, y)
        notebook_momentum_step(nb_params, nb_m, g_nb, lr, beta, wd)

        loss, mu = ac.MSELoss()(net.forward(x), y)
        grads, _ = net.backward(mu)
        opt.step(net.params, grads)

        assert not np.array_equal(net.theta, theta0)
        assert_close(flat(nb_params), net.theta, f"weights after step {step + 1}")
        # our momentum buffer is B times the notebook's
        ours_m = np.concatenate([s[0].ravel() for s in opt.state])
        assert_close(B * flat(nb_m), ours_m, f"momentum after step {step + 1}")


@pytest.mark.parametrize("name", ["linear-relu", "nonlinear-relu"])
def test_relu_presets_follow_the_notebook_updates(name):
    """A TrainingRun on the preset takes the notebook's steps (same init, same batches)."""
    cfg = ac.presets[name]
    B = cfg.batch_size
    assert B == 50
    notebook_lr = {"linear-relu": 1e-2, "nonlinear-relu": 0.1}[name]
    notebook_wd = {"linear-relu": 1e-3, "nonlinear-relu": 1e-4}[name]
    assert cfg.lr == pytest.approx(notebook_lr / B, rel=1e-15)
    assert cfg.weight_decay == pytest.approx(notebook_wd * B, rel=1e-15)
    assert cfg.optimiser == "momentum" and cfg.beta == 0.9

    run = ac.TrainingRun(cfg, seed=0)
    nb_params = [(W.copy(), b.copy()) for W, b in run.net.params]
    nb_m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in nb_params]
    for step in range(6):
        snap = run.snapshot()
        pos = snap.meta["pos"]
        if pos + B > run.n_train:      # the run starts a new epoch (new permutation) first
            run.step()
            break
        batch = snap.arrays["perm"][pos:pos + B]
        x, y = run.data.x[batch], run.data.y[batch]
        g_nb = notebook_gradient(nb_params, run.net.activations, x, y)
        notebook_momentum_step(nb_params, nb_m, g_nb, notebook_lr, 0.9, notebook_wd)
        run.step()
        assert_close(flat(nb_params), run.net.theta, f"{name}: weights after step {step + 1}")
    assert run.step_count >= 2


# --- trap 1: for sigmoid the notebook's gradient is not a multiple of the true one ---------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", [[1, 8, 1], [1, 16, 12, 1], [1, 64, 128, 64, 1]])
def test_notebook_sigmoid_gradient_is_not_proportional(sizes, seed):
    B = 20
    net, x, y = make(sizes, "sigmoid", seed=seed, B=B)
    nb = flat(notebook_gradient(net.params, net.activations, x, y))
    ours = engine_gradient(net, x, y)
    n_out = sizes[-2] * sizes[-1] + sizes[-1]          # output layer (identity) entries, at the end
    # best scalar c in ours ~ c * nb over the hidden layers, and what it leaves unexplained
    h_ours, h_nb = ours[:-n_out], nb[:-n_out]
    c = float(h_ours @ h_nb / (h_nb @ h_nb))
    residual = np.linalg.norm(h_ours - c * h_nb) / np.linalg.norm(h_ours)
    assert residual > 0.05, f"notebook sigmoid gradient looks proportional: c = {c:.4g}, residual {residual:.3e}"
    # entry-wise ratio ours / notebook over the first layer varies (not the constant B)
    W1_size = sizes[0] * sizes[1]
    r = ours[:W1_size] / nb[:W1_size]
    r = r[np.isfinite(r) & (np.abs(nb[:W1_size]) > 1e-8 * np.max(np.abs(nb[:W1_size])))]
    assert r.size >= 2
    assert np.ptp(r) > 0.1 * B, f"ratios ours/notebook on W1 vary too little: {np.sort(r)[[0, -1]]}"
    # the trap is sigma' at the output: evaluating at a instead restores exact proportionality (ratio B)
    fixed = flat(notebook_gradient(net.params, net.activations, x, y, at_output=False))
    assert_close(fixed * B, ours, "sigma' at a, averaged")
    # the output layer is identity: its gradient is only scaled by B even in the notebook
    assert_close(nb[-n_out:] * B, ours[-n_out:], "output layer")
