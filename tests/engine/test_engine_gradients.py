"""The adjoint gradient against central finite differences, and the contract of the backward pass.

Numeric gradients come from ``ac.check_gradients`` (central differences) at steps h and 2h, combined
by Richardson extrapolation, (4 D(h) - D(2h)) / 3, which removes the O(h^2) error: with h = 1e-3
(smooth) or 1e-4 (ReLU-type) this resolves gradients to ~1e-12 absolute, so a correct adjoint
gradient agrees to ~1e-9 relative and a wrong one (sigma' at the wrong point, a missing 1/B) misses
by 1e-2 or more.  The plain default-eps central difference cannot do this on deep sigmoid nets whose
first-layer gradients are ~1e-5 of the loss (round-off ~1e-16 L / eps ~ 1e-10 absolute).

Relative errors are per tensor, ||adjoint - numeric|| / max(||adjoint||, ||numeric||, GRAD_FLOOR):
tensors whose gradient is exactly or nearly zero (dead ReLUs, cancelling Huber clips) are thus
compared absolutely, to TOL * GRAD_FLOOR = 1e-11.

ReLU-type activations and the Huber loss have kinks; each case first checks that no pre-activation
(resp. residual |r| - d) is within 10 h of a kink, so the differences never straddle one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adjoint_core as ac
from adjoint_core import gradcheck
from adjoint_core.network import Dense, Record

ACT_NAMES = list(ac.ACTIVATIONS)
LOSS_NAMES = ["mse", "huber"]
TOL = 1e-6
GRAD_FLOOR = 1e-5
HIDDEN_WIDTHS = (5, 4, 6, 3)       # depth d uses the first d of these
D_IN, D_OUT, BATCH = 3, 2, 5
KINKED = {"relu", "leaky_relu"}


def test_required_activations_are_present():
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"} <= set(ACT_NAMES)


# --- helpers ---------------------------------------------------------------------------------

def kink_margin(net: ac.MLP, x: np.ndarray, y: np.ndarray, loss_name: str) -> float:
    """Distance of the nearest pre-activation / residual to a kink of the function (inf if none)."""
    margin = np.inf
    z = net.forward(x)
    for (_, a, _), name in zip(net.caches(), net.activations):
        if name in KINKED:
            margin = min(margin, float(np.min(np.abs(a))))
    if loss_name == "huber":
        d = ac.HuberLoss().d
        margin = min(margin, float(np.min(np.abs(np.abs(z - y) - d))))
    return margin


def step_for(net: ac.MLP) -> float:
    """Finite-difference step h: small where a ReLU kink is near, larger for smooth nets."""
    return 1e-4 if KINKED & set(net.activations) else 1e-3


def away_from_kinks(net, x, y, loss_name) -> bool:
    return kink_margin(net, x, y, loss_name) > 10 * step_for(net)


def make_case(sizes, activation, loss_name, batch, seed):
    """A small xavier net, inputs x ~ N(0, 1) and targets y ~ 1.5 N(0, 1) away from all kinks."""
    for attempt in range(100):
        rng = np.random.default_rng([seed, attempt])
        net = ac.MLP(sizes, activation=activation, init="xavier", init_scale=1.0, rng=rng)
        x = rng.standard_normal((batch, sizes[0]))
        y = 1.5 * rng.standard_normal((batch, sizes[-1]))
        if away_from_kinks(net, x, y, loss_name):
            return net, x, y
    raise AssertionError("could not draw a case away from the kinks")  # pragma: no cover


def error(adjoint, numeric) -> float:
    scale = max(np.linalg.norm(adjoint), np.linalg.norm(numeric), GRAD_FLOOR)
    return float(np.linalg.norm(adjoint - numeric) / scale)


def richardson_checks(net, loss_fn, x, y):
    """[(name, adjoint, numeric, n_total)] per tensor and mu_0; numeric from check_gradients at h and 2h."""
    h = step_for(net)
    fine = ac.check_gradients(net, loss_fn, x, y, eps=h)
    coarse = ac.check_gradients(net, loss_fn, x, y, eps=2 * h)
    out = []
    for f, c in zip(fine, coarse):
        assert f.name == c.name and np.array_equal(f.adjoint, c.adjoint)
        out.append((f.name, f.adjoint, (4.0 * f.numeric - c.numeric) / 3.0, f.n_total))
    return out


def format_checks(checks) -> str:
    lines = []
    for name, adjoint, numeric, _ in checks:
        lines.append(f"{name}: error {error(adjoint, numeric):.3e}\n"
                     f"  adjoint {np.array2string(adjoint.ravel()[:6], precision=10)}\n"
                     f"  numeric {np.array2string(numeric.ravel()[:6], precision=10)}")
    return "\n".join(lines)


def assert_gradients_match(net, loss_fn, x, y, tol=TOL):
    checks = richardson_checks(net, loss_fn, x, y)
    names = [c[0] for c in checks]
    expected = [f"{k}{i}" for i in range(1, net.n_layers + 1) for k in ("W", "b")] + ["mu_0"]
    assert names == expected, names
    worst = max(error(a, n) for _, a, n, _ in checks)
    assert worst <= tol, f"sizes {net.sizes}, activations {net.activations}\n" + format_checks(checks)
    return checks


# --- finite differences: every activation x loss x depth ---------------------------------------

@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("loss_name", LOSS_NAMES)
@pytest.mark.parametrize("activation", ACT_NAMES)
def test_gradients_match_finite_differences(activation, loss_name, depth):
    sizes = [D_IN, *HIDDEN_WIDTHS[:depth], D_OUT]
    net, x, y = make_case(sizes, activation, loss_name, BATCH, seed=depth)
    checks = assert_gradients_match(net, ac.get_loss(loss_name), x, y)
    # the check must have looked at every entry, and the gradient must not be trivially zero
    assert sum(n for name, _, _, n in checks if name != "mu_0") == net.n_params()
    assert all(a.size == n for _, a, _, n in checks)
    assert np.linalg.norm(checks[-2][1]) > GRAD_FLOOR  # output bias gradient


@pytest.mark.parametrize("loss_name", LOSS_NAMES)
@pytest.mark.parametrize("activations", [
    ("sigmoid", "relu"),
    ("tanh", "softplus", "leaky_relu"),
    ("relu", "identity", "sigmoid", "tanh"),
    ("softplus", "sigmoid", "sigmoid", "leaky_relu"),
])
def test_gradients_per_layer_activations(activations, loss_name):
    sizes = [D_IN, *HIDDEN_WIDTHS[:len(activations)], D_OUT]
    net, x, y = make_case(sizes, activations, loss_name, BATCH, seed=7)
    assert net.activations == [*activations, "identity"]
    assert [layer.activation.name for layer in net.layers] == [*activations, "identity"]
    assert_gradients_match(net, ac.get_loss(loss_name), x, y)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d_in=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=4),
    d_out=st.integers(1, 6),
    batch=st.integers(1, 8),
    activation=st.sampled_from(ACT_NAMES),
    loss_name=st.sampled_from(LOSS_NAMES),
    seed=st.integers(0, 2**32 - 1),
)
def test_gradients_random_shapes(d_in, hidden, d_out, batch, activation, loss_name, seed):
    sizes = [d_in, *hidden, d_out]
    rng = np.random.default_rng(seed)
    net = ac.MLP(sizes, activation=activation, init="xavier", init_scale=1.0, rng=rng)
    x = rng.standard_normal((batch, d_in))
    y = 1.5 * rng.standard_normal((batch, d_out))
    assume(away_from_kinks(net, x, y, loss_name))
    assert_gradients_match(net, ac.get_loss(loss_name), x, y)


@settings(max_examples=20, deadline=None)
@given(
    activations=st.lists(st.sampled_from(ACT_NAMES), min_size=1, max_size=4),
    loss_name=st.sampled_from(LOSS_NAMES),
    batch=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_gradients_random_per_layer_activations(activations, loss_name, batch, seed):
    sizes = [2, *HIDDEN_WIDTHS[:len(activations)], 2]
    rng = np.random.default_rng(seed)
    net = ac.MLP(sizes, activation=tuple(activations), init="xavier", init_scale=1.0, rng=rng)
    x = rng.standard_normal((batch, 2))
    y = 1.5 * rng.standard_normal((batch, 2))
    assume(away_from_kinks(net, x, y, loss_name))
    assert_gradients_match(net, ac.get_loss(loss_name), x, y)


# --- the checker itself is checked ----------------------------------------------------------------

def my_fd_loss_gradient(net: ac.MLP, loss_fn, x, y, eps=1e-6):
    """An independent central-difference loop over theta and over x, using only forward passes."""
    def loss_of(theta, xx):
        saved = net.theta.copy()
        net.theta[...] = theta
        try:
            z = net.predict(xx)
        finally:
            net.theta[...] = saved
        return loss_fn(z, y)[0]

    theta0 = net.theta.copy()
    g_theta = np.zeros_like(theta0)
    for j in range(theta0.size):
        e = np.zeros_like(theta0)
        e[j] = eps
        g_theta[j] = (loss_of(theta0 + e, x) - loss_of(theta0 - e, x)) / (2 * eps)
    g_x = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        g_x[idx] = (loss_of(theta0, x + e) - loss_of(theta0, x - e)) / (2 * eps)
    assert np.array_equal(net.theta, theta0)
    return g_theta, g_x


@pytest.mark.parametrize("activation, loss_name", [("tanh", "mse"), ("sigmoid", "huber"), ("relu", "mse")])
def test_independent_fd_loop_agrees_with_engine_and_checker(activation, loss_name):
    net, x, y = make_case([2, 4, 3, 2], activation, loss_name, 4, seed=11)
    loss_fn = ac.get_loss(loss_name)
    mine_theta, mine_x = my_fd_loss_gradient(net, loss_fn, x, y)

    # engine: forward + backward, via the public API only
    z = net.forward(x)
    loss, mu = loss_fn(z, y)
    grads, mus = net.backward(mu)
    flat = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
    err = ac.relative_error(flat, mine_theta)
    assert err <= TOL, f"dL/dtheta: adjoint {flat[:6]} vs my FD {mine_theta[:6]}, rel error {err:.3e}"
    err = ac.relative_error(-mus[-1], mine_x)
    assert err <= TOL, f"dL/dx: -mu_0 {(-mus[-1]).ravel()[:6]} vs my FD {mine_x.ravel()[:6]}, rel error {err:.3e}"

    # the library's numeric gradients agree with mine to FD round-off
    lib_theta = ac.numeric_gradient(net, loss_fn, x, y)
    lib_x = gradcheck.numeric_input_gradient(net, loss_fn, x, y)
    assert ac.relative_error(lib_theta, mine_theta) <= 1e-8, (lib_theta[:6], mine_theta[:6])
    assert ac.relative_error(lib_x, mine_x) <= 1e-8, (lib_x.ravel()[:6], mine_x.ravel()[:6])
    # a subset by index is the same numbers
    idx = np.array([0, 3, net.n_params() - 1])
    np.testing.assert_allclose(ac.numeric_gradient(net, loss_fn, x, y, indices=idx), lib_theta[idx], rtol=1e-12)


def test_checker_catches_a_wrong_gradient():
    """Sigma' evaluated at the output (the notebook's trap) must be caught by check_gradients."""
    net, x, y = make_case([2, 4, 3, 1], "sigmoid", "mse", 5, seed=3)
    sig = ac.ACTIVATIONS["sigmoid"]
    wrong = ac.Activation("sigmoid", sig.formula, sig.derivative_formula, sig.forward,
                          lambda a, z: sig.forward(z) * (1.0 - sig.forward(z)))
    for k in range(2):
        W, b = net.params[k]
        net.layers[k] = Dense(W, b, wrong)
    checks = ac.check_gradients(net, ac.MSELoss(), x, y)
    worst = max(c.rel_error for c in checks)
    assert worst > 1e-2, "\n".join(f"{c.name}: {c.rel_error:.3e}" for c in checks)
    assert max(error(a, n) for _, a, n, _ in richardson_checks(net, ac.MSELoss(), x, y)) > 1e-2


def test_checker_subset_and_restores_theta():
    net, x, y = make_case([3, 6, 6, 2], "tanh", "mse", 4, seed=5)
    theta0 = net.theta.copy()
    checks = ac.check_gradients(net, ac.MSELoss(), x, y, max_per_tensor=3, rng=np.random.default_rng(1))
    assert np.array_equal(net.theta, theta0)
    for c in checks[:-1]:
        assert c.adjoint.size == min(3, c.n_total) and len(c.indices) == c.adjoint.size
        assert c.rel_error <= 1e-5, f"{c.name}: adjoint {c.adjoint} vs numeric {c.numeric}"


def test_relative_error():
    assert ac.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert ac.relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert ac.relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == pytest.approx(1.0)
    assert ac.relative_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 1.1)


# --- dot-product (adjoint) test of each dense layer --------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("activation", ACT_NAMES)
def test_dot_product_test_per_activation(activation, seed):
    rng = np.random.default_rng(seed)
    d_in, d_out, batch = 4, 3, 5
    W = rng.standard_normal((d_in, d_out)) / 2
    b = rng.standard_normal(d_out) / 2
    layer = Dense(W, b, ac.get_activation(activation))
    x = rng.standard_normal((batch, d_in))
    a = x @ W + b
    if activation in KINKED:
        assert np.min(np.abs(a)) > 1e-3, "draw away from the kink"
    W0 = W.copy()
    results = ac.dot_product_test(layer, x, rng)
    assert np.array_equal(layer.W, W0), "dot_product_test must restore W"
    assert sorted(r.wrt for r in results) == ["W", "x"]
    for r in results:
        assert abs(r.forward_side) > 1e-8, f"degenerate test wrt {r.wrt}"
        assert r.rel_error <= TOL, (f"wrt {r.wrt}: <u, J v> (FD) = {r.forward_side!r}, "
                                    f"<J^T u, v> (adjoint) = {r.adjoint_side!r}, rel error {r.rel_error:.3e}")


# --- the backward pass: shapes and contract ---------------------------------------------------

@pytest.mark.parametrize("sizes", [[3, 2], [2, 5, 1], [4, 3, 6, 2], [1, 2, 3, 4, 5, 6]])
@pytest.mark.parametrize("batch", [1, 7])
def test_backward_contract(sizes, batch):
    rng = np.random.default_rng(0)
    net = ac.MLP(sizes, activation="tanh", init="xavier", rng=rng)
    x = rng.standard_normal((batch, sizes[0]))
    y = rng.standard_normal((batch, sizes[-1]))
    z = net.forward(x)
    assert z.shape == (batch, sizes[-1]) and z.dtype == np.float64
    loss, mu = ac.MSELoss()(z, y)
    grads, mus = net.backward(mu)

    assert net.n_layers == len(sizes) - 1
    assert len(grads) == net.n_layers == len(net.params)
    for (dW, db), (W, b), d_in, d_out in zip(grads, net.params, sizes[:-1], sizes[1:]):
        assert W.shape == dW.shape == (d_in, d_out)
        assert b.shape == db.shape == (d_out,)
    assert len(mus) == net.n_layers + 1
    assert mus[0] is mu
    for k, m in enumerate(mus):          # mus[k] = mu_{N-k}, of shape (batch, sizes[N-k])
        assert m.shape == (batch, sizes[len(sizes) - 1 - k])

    # same numbers as gradcheck.adjoint_gradient (flat theta layout, input side first)
    flat, mus2 = gradcheck.adjoint_gradient(net, ac.MSELoss(), x, y)
    assert flat.shape == net.theta.shape
    ours = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
    np.testing.assert_array_equal(ours, flat)
    assert len(mus2) == len(mus)
    for m1, m2 in zip(mus, mus2):
        np.testing.assert_array_equal(m1, m2)
    # and each per-layer gradient is a view of the flat vector in net.views order
    for (dW, db), (vW, vb) in zip(grads, net.views(flat)):
        np.testing.assert_array_equal(dW, vW)
        np.testing.assert_array_equal(db, vb)


def test_params_are_views_into_theta():
    net = ac.MLP([2, 3, 1], activation="relu", seed=0)
    W, b = net.params[0]
    W[0, 0] = 123.0
    b[1] = -7.0
    assert net.theta[0] == 123.0
    assert net.theta[2 * 3 + 1] == -7.0
    assert net.n_params() == 2 * 3 + 3 + 3 * 1 + 1 == net.theta.size


def test_backward_with_a_hand_computed_one_layer_net():
    """Depth 0 (identity output): dL/dW = -x^T mu, dL/db = -sum mu, mu_0 = mu W^T."""
    net = ac.MLP([2, 1], activation=(), init="xavier", seed=0)
    W, b = net.params[0]
    W[...] = [[2.0], [-1.0]]
    b[...] = [0.5]
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([[1.0], [0.0]])
    z = net.forward(x)
    np.testing.assert_array_equal(z, [[0.5], [7.5]])
    loss, mu = ac.MSELoss()(z, y)
    assert loss == pytest.approx(0.5 * (0.25 + 56.25) / 2)
    np.testing.assert_allclose(mu, [[0.25], [-3.75]])
    (dW, db), = net.backward(mu)[0]
    np.testing.assert_allclose(dW, [[0.25 * -1 + 3.75 * 3], [0.25 * -2 - 3.75]], rtol=1e-14)
    np.testing.assert_allclose(db, [3.5], rtol=1e-14)
    mus = net.backward(mu)[1]
    np.testing.assert_allclose(mus[1], mu @ W.T, rtol=1e-14)


def test_backward_before_forward_raises():
    net = ac.MLP([2, 3, 1], seed=0)
    with pytest.raises(RuntimeError):
        net.backward(np.zeros((1, 1)))


def test_zs_and_predict_agree_with_forward():
    rng = np.random.default_rng(4)
    net = ac.MLP([2, 5, 3, 1], activation=("tanh", "relu"), init="xavier", rng=rng)
    x = rng.standard_normal((6, 2))
    zs = net.zs(x)
    assert [z.shape for z in zs] == [(6, 2), (6, 5), (6, 3), (6, 1)]
    np.testing.assert_array_equal(zs[0], x)
    np.testing.assert_array_equal(zs[-1], net.forward(x))
    np.testing.assert_array_equal(net.predict(x), net.forward(x))
    W1, b1 = net.params[0]
    np.testing.assert_allclose(zs[1], np.tanh(x @ W1 + b1), rtol=1e-14)


# --- activations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sigmoid", "softplus", "tanh"])
def test_smooth_activations_are_stable_at_extremes(name):
    act = ac.ACTIVATIONS[name]
    a = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    # exp(1000) overflows to inf in sigmoid (silenced by TrainingRun, as here): the result must stay exact
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        z = act.forward(a)
        d = act.derivative(a, z)
        jac = act.jacobian(a)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(d)) and np.all(np.isfinite(jac))
    if name == "sigmoid":
        assert np.all((z >= 0) & (z <= 1)), z
        assert z[0, 0] == pytest.approx(0.0, abs=1e-300) and z[0, -1] == 1.0 and z[0, 2] == 0.5
        assert d[0, 0] == pytest.approx(0.0, abs=1e-300) and d[0, 2] == 0.25
    if name == "softplus":
        assert z[0, -1] == 1000.0 and z[0, 0] == pytest.approx(0.0, abs=1e-300)
        assert z[0, 2] == pytest.approx(np.log(2.0), rel=1e-15)


def test_sigmoid_network_is_stable_at_huge_pre_activations():
    net = ac.MLP([1, 3, 1], activation="sigmoid", init="xavier", seed=0)
    net.params[0][0][...] = 1000.0
    x = np.array([[-1.0], [1.0]])
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        z = net.forward(x)
        loss, mu = ac.MSELoss()(z, np.zeros_like(z))
        grads, mus = net.backward(mu)
    assert all(np.all(np.isfinite(g)) for pair in grads for g in pair)
    assert all(np.all(np.isfinite(m)) for m in mus)


@pytest.mark.parametrize("name", ACT_NAMES)
def test_activation_jacobian_is_diagonal_derivative(name):
    act = ac.ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    a = 2.0 * rng.standard_normal((4, 5))
    a[np.abs(a) < 1e-2] = 0.5   # away from the ReLU kinks
    jac = act.jacobian(a)
    assert jac.shape == (4, 5, 5)
    off = jac * (1.0 - np.eye(5))
    assert np.all(off == 0.0), "Jacobian of an element-wise activation must be diagonal"
    diag = np.einsum("kii->ki", jac)
    eps = 1e-6
    fd = (act.forward(a + eps) - act.forward(a - eps)) / (2 * eps)
    err = ac.relative_error(diag, fd)
    assert err <= TOL, f"{name}: analytic sigma'(a) {diag[0]} vs FD {fd[0]}, rel error {err:.3e}"
    np.testing.assert_array_equal(diag, act.derivative(a, act.forward(a)))


@pytest.mark.parametrize("name, a, z, d", [
    ("relu", [-2.0, 3.0], [0.0, 3.0], [0.0, 1.0]),
    ("leaky_relu", [-2.0, 3.0], [-0.02, 3.0], [0.01, 1.0]),
    ("identity", [-2.0, 3.0], [-2.0, 3.0], [1.0, 1.0]),
    ("tanh", [0.0], [0.0], [1.0]),
    ("sigmoid", [0.0], [0.5], [0.25]),
    ("softplus", [0.0], [np.log(2.0)], [0.5]),
])
def test_activation_values(name, a, z, d):
    act = ac.get_activation(name)
    a = np.array([a])
    np.testing.assert_allclose(act.forward(a), [z], rtol=1e-15)
    np.testing.assert_allclose(act.derivative(a, act.forward(a)), [d], rtol=1e-15)


# --- losses ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch, width", [(1, 1), (3, 2), (4, 3), (8, 1), (7, 5)])
def test_mse_value_and_mu(batch, width):
    rng = np.random.default_rng(batch * 10 + width)
    z = rng.standard_normal((batch, width))
    y = rng.standard_normal((batch, width))
    z0, y0 = z.copy(), y.copy()
    loss, mu = ac.MSELoss()(z, y)
    assert np.array_equal(z, z0) and np.array_equal(y, y0), "the loss must not modify its inputs"
    expected = 0.5 * np.mean(np.sum((z - y) ** 2, axis=1))
    assert loss == pytest.approx(expected, rel=1e-14), (loss, expected)
    assert isinstance(loss, float)
    assert mu.shape == z.shape
    expected_mu = -(z - y) / batch
    if batch & (batch - 1) == 0:           # 1/B exact: bit-identical
        np.testing.assert_array_equal(mu, expected_mu)
    else:                                  # x * (1/B) vs x / B may differ in the last bit
        np.testing.assert_array_max_ulp(mu, expected_mu, maxulp=1)


@pytest.mark.parametrize("batch", [1, 4, 6])
def test_huber_equals_mse_for_small_residuals(batch):
    rng = np.random.default_rng(batch)
    y = rng.standard_normal((batch, 3))
    z = y + rng.uniform(-0.9, 0.9, size=y.shape)        # |r| < d = 1
    l_h, mu_h = ac.HuberLoss()(z, y)
    l_m, mu_m = ac.MSELoss()(z, y)
    assert l_h == pytest.approx(l_m, rel=1e-13), (l_h, l_m)
    np.testing.assert_allclose(mu_h, mu_m, rtol=1e-15)


@pytest.mark.parametrize("d", [0.5, 1.0, 2.0])
def test_huber_mu_is_clipped(d):
    B = 4
    z = np.array([[10.0, -10.0], [0.1, -0.2], [d + 3, 0.0], [-(d + 0.5), 0.3]])
    y = np.zeros_like(z)
    loss, mu = ac.HuberLoss(d)(z, y)
    r = z - y
    expected_mu = -np.clip(r, -d, d) / B
    np.testing.assert_allclose(mu, expected_mu, rtol=1e-15)
    assert np.max(np.abs(mu)) == pytest.approx(d / B, rel=1e-15)
    assert mu[0, 0] == pytest.approx(-d / B) and mu[0, 1] == pytest.approx(d / B)
    h = np.where(np.abs(r) <= d, 0.5 * r ** 2, d * (np.abs(r) - d / 2))
    assert loss == pytest.approx(h.sum() / B, rel=1e-14)


@pytest.mark.parametrize("loss_name", LOSS_NAMES)
def test_loss_mu_is_minus_dl_dz(loss_name):
    rng = np.random.default_rng(2)
    z = 1.5 * rng.standard_normal((5, 2))
    y = np.zeros_like(z)
    loss_fn = ac.get_loss(loss_name)
    _, mu = loss_fn(z, y)
    eps = 1e-6
    fd = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = eps
        fd[idx] = (loss_fn(z + e, y)[0] - loss_fn(z - e, y)[0]) / (2 * eps)
    err = ac.relative_error(-mu, fd)
    assert err <= TOL, f"-mu_N {(-mu).ravel()} vs FD {fd.ravel()}, rel error {err:.3e}"


@pytest.mark.parametrize("activation", ACT_NAMES)
@pytest.mark.parametrize("sizes", [[3, 2], [2, 7, 1], [1, 5, 6, 4, 2]])
def test_backward_into_a_buffer_and_its_record(sizes, activation):
    """``out``: dL/dtheta written into it, the grads its views; ``record``: sigma'(a_i) and delta_i, input side
    first; neither changes a number of the plain backward."""
    net = ac.MLP(sizes, activation=activation, seed=1)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((9, sizes[0])), rng.standard_normal((9, sizes[-1]))
    _, mu = ac.MSELoss()(net.forward(x), y)
    grads, mus = net.backward(mu)
    first, second = np.full_like(net.theta, np.nan), np.full_like(net.theta, np.nan)
    for out in (first, second, first):       # a second buffer between two calls with the first
        record = Record()
        out_grads, out_mus = net.backward(mu, out=out, record=record)
        np.testing.assert_array_equal(out, net.flat(grads))
        assert all(np.shares_memory(a, out) for pair in out_grads for a in pair)
        for a, b in zip(out_mus, mus, strict=True):
            np.testing.assert_array_equal(a, b)
    N = net.n_layers
    assert len(record.sigma_primes) == len(record.deltas) == N
    for i, ((_, a, z), layer) in enumerate(zip(net.caches(), net.layers), start=1):
        np.testing.assert_array_equal(record.sigma_primes[i - 1], layer.activation.derivative(a, z))
        np.testing.assert_array_equal(record.deltas[i - 1], mus[N - i] * record.sigma_primes[i - 1])


def test_backward_over_given_residuals():
    """``caches``: the backward pass of another forward's residuals, as if that forward were the last."""
    net = ac.MLP([2, 5, 3, 1], activation=("tanh", "sigmoid"), seed=3)
    rng = np.random.default_rng(4)
    x1, x2, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    _, mu = ac.MSELoss()(net.forward(x1), y)
    caches = net.caches()
    want_grads, want_mus = net.backward(mu)
    net.forward(x2)
    grads, mus = net.backward(mu, caches=caches)
    np.testing.assert_array_equal(net.flat(grads), net.flat(want_grads))
    for a, b in zip(mus, want_mus, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(net.flat(net.backward(mu)[0]), net.flat(grads))   # the last forward's differ
