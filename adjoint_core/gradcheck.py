"""Checking the adjoint gradient: central finite differences and the dot-product (adjoint) test.

Relative errors are norm-wise per tensor, ||adjoint - numeric|| / max(||adjoint||, ||numeric||),
which stays meaningful when single entries are near zero.  In float64 with central differences
a correct gradient gives about 1e-8 to 1e-11; a wrong one gives 1e-2 or more.

The decision rule: a tensor passes when its relative error is at most RTOL, or when every entry's
difference stays within the rounding floor of central differences.  Rounding L moves a difference
quotient with step eps by up to about u S / eps (u: float64's machine epsilon, S: ``rounding_scale``),
which can exceed RTOL |g| for tiny gradients (vanishing adjoints): such a tensor passes "round-off limited".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import MLP, Dense, Record

Array = np.ndarray
RTOL = 1e-6   # relative error at or below which a check passes
# The rounding floor is ROUNDING S / eps: the differences measured over every preset (seeds 0-1, 0 and 3 epochs,
# eps = 1e-5 to 1e-8, the loss and its increment) stayed below 0.9 u S / eps.
ROUNDING = 4 * np.finfo(np.float64).eps


def relative_error(a: Array, b: Array) -> float:
    """||a - b|| / max(||a||, ||b||), 0 when both are 0, NaN when either holds a NaN."""
    with np.errstate(all="ignore"):   # inf/inf for a diverged run's gradients gives NaN, silently
        scale = np.maximum(np.linalg.norm(a), np.linalg.norm(b))
        return float(np.linalg.norm(a - b) / scale) if scale != 0 else 0.0


def loss_at(net: MLP, loss_fn, x: Array, y: Array) -> float:
    """L(net(x), y) without touching the network's residuals."""
    return loss_fn(net.predict(x), y)[0]


def adjoint_gradient(net: MLP, loss_fn, x: Array, y: Array) -> tuple[Array, list[Array]]:
    """(dL/dtheta (P,), [mu_N, ..., mu_0]) by one forward and one backward pass."""
    loss, mu = loss_fn(net.forward(x), y)
    grad = np.empty(net.theta.size)
    return grad, net.backward(mu, out=grad)[1]


def rounding_scale(net: MLP, loss_fn, x: Array, y: Array) -> float:
    """S such that rounding moves a float64 evaluation of L by about u S at most (first order, by the adjoints).

    Rounding a_i = z_{i-1} W_i + b_i moves it by up to u (|z_{i-1}| |W_i| + |b_i|) per entry, and L by
    delta_i times that; rounding z_N moves L by mu_N |z_N|:
    S = |L| + sum |mu_N| |z_N| + sum_i sum |delta_i| (|z_{i-1}| |W_i| + |b_i|).
    """
    with np.errstate(all="ignore"):
        z = net.forward(x)
        loss, mu = loss_fn(z, y)
        record = Record()
        net.backward(mu, record=record)
        total = abs(loss) + np.sum(np.abs(mu * z))
        for (W, b), (z_prev, _, _), delta in zip(net.params, net.caches(), record.deltas):
            total += np.sum(np.abs(delta) * (np.abs(z_prev) @ np.abs(W) + np.abs(b)))
    return float(total)


def _central_differences(values: Array, positions, f, eps: float) -> Array:
    """(f(v + eps e_j) - f(v - eps e_j)) / (2 eps) for each j in positions, perturbing ``values`` in place."""
    out = np.empty(len(positions))
    for n, j in enumerate(positions):
        keep = values[j]
        values[j] = keep + eps
        up = f()
        values[j] = keep - eps
        down = f()
        values[j] = keep
        out[n] = (up - down) / (2 * eps)
    return out


def numeric_gradient(net: MLP, loss_fn, x: Array, y: Array, eps: float = 1e-6,
                     indices: Array | None = None) -> Array:
    """Central differences of L in theta[j] for j in indices (default: all), (k,)."""
    idx = np.arange(net.theta.size) if indices is None else np.asarray(indices)
    return _central_differences(net.theta, idx, lambda: loss_at(net, loss_fn, x, y), eps)


def numeric_input_gradient(net: MLP, loss_fn, x: Array, y: Array, eps: float = 1e-6) -> Array:
    """Central differences of L with respect to every entry of x, (batch, d_in); compare with -mu_0."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)   # a view: perturbing it perturbs x
    return _central_differences(flat, range(x.size), lambda: loss_at(net, loss_fn, x, y), eps).reshape(x.shape)


@dataclass
class TensorCheck:
    """The check of one parameter tensor (or of mu_0)."""

    name: str            # "W1", "b1", ..., "mu_0"
    adjoint: Array       # the checked entries, adjoint method
    numeric: Array       # the same entries, finite differences
    indices: Array       # positions in the flat theta (empty for mu_0)
    n_total: int         # entries in the tensor
    floor: float = 0.0   # per entry: the difference central differences can show from rounding alone

    @property
    def rel_error(self) -> float:
        return relative_error(self.adjoint, self.numeric)

    @property
    def max_error(self) -> float:
        """max |adjoint - numeric| over the checked entries (0 for none)."""
        with np.errstate(invalid="ignore"):
            return float(np.max(np.abs(self.adjoint - self.numeric))) if len(self.adjoint) else 0.0

    @property
    def passed(self) -> bool:
        """Relative error at most RTOL, or every entry within the rounding floor."""
        return self.rel_error <= RTOL or self.max_error <= self.floor

    @property
    def roundoff_limited(self) -> bool:
        """Passed only by the rounding floor: the gradient is too small for finite differences to resolve."""
        return self.passed and not self.rel_error <= RTOL

    @property
    def verdict(self) -> str:
        """One of VERDICTS."""
        return "fail" if not self.passed else "pass (round-off limited)" if self.roundoff_limited else "pass"


VERDICTS = ("fail", "pass (round-off limited)", "pass")   # worst first


def verdict(checks: list[TensorCheck]) -> str:
    """The worst verdict of the checks ("pass" for none)."""
    found = {c.verdict for c in checks}
    return next((v for v in VERDICTS if v in found), "pass")


def check_gradients(net: MLP, loss_fn, x: Array, y: Array, eps: float = 1e-6, max_per_tensor: int | None = None,
                    rng: np.random.Generator | None = None, with_input: bool = True) -> list[TensorCheck]:
    """Compare dL/dW_i, dL/db_i (and -mu_0 = dL/dx) with central differences.

    ``max_per_tensor`` checks a random subset of that many entries of each tensor (all when None).
    Each check's rounding floor is ROUNDING * rounding_scale / eps (0 when that scale overflows).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    scale = rounding_scale(net, loss_fn, x, y)
    floor = ROUNDING * scale / eps if math.isfinite(scale) else 0.0
    grad, mus = adjoint_gradient(net, loss_fn, x, y)
    checks = []
    start = 0
    for i, (W, b) in enumerate(net.params, start=1):
        for name, size in ((f"W{i}", W.size), (f"b{i}", b.size)):
            idx = np.arange(start, start + size)
            if max_per_tensor is not None and size > max_per_tensor:
                idx = np.sort(rng.choice(idx, max_per_tensor, replace=False))
            checks.append(TensorCheck(name, grad[idx], numeric_gradient(net, loss_fn, x, y, eps, idx), idx, size,
                                      floor))
            start += size
    if with_input:
        checks.append(TensorCheck("mu_0", -mus[-1], numeric_input_gradient(net, loss_fn, x, y, eps),
                                  np.empty(0, int), x.size, floor))
    return checks


@dataclass
class DotProductTest:
    """<u, J v> (forward, by central differences) against <J^T u, v> (the VJP) for one layer."""

    wrt: str              # "x" or "W"
    forward_side: float   # <u, J v>
    adjoint_side: float   # <J^T u, v>

    @property
    def rel_error(self) -> float:
        return abs(self.forward_side - self.adjoint_side) / max(abs(self.forward_side), abs(self.adjoint_side), 1e-300)

    @property
    def passed(self) -> bool:
        return self.rel_error <= RTOL


def dot_product_test(layer: Dense, x: Array, rng: np.random.Generator, eps: float = 1e-6) -> list[DotProductTest]:
    """The adjoint test of the layer's VJP as ``MLP.backward`` applies it (delta = u * sigma'(a), then
    ``layer.vjp``) at x (batch, d_in), with respect to the input and to W."""
    z, (_, a, _) = layer.forward(x)
    u = rng.standard_normal(z.shape)
    mu_prev, JW_u, _ = layer.vjp(x, u * layer.activation.derivative(a, z))   # J_x^T u, J_W^T u
    v = rng.standard_normal(x.shape)
    jv_x = (layer.forward(x + eps * v)[0] - layer.forward(x - eps * v)[0]) / (2 * eps)
    V = rng.standard_normal(layer.W.shape)
    W0 = layer.W.copy()
    layer.W += eps * V
    up = layer.forward(x)[0]
    layer.W[...] = W0 - eps * V
    down = layer.forward(x)[0]
    layer.W[...] = W0
    jv_w = (up - down) / (2 * eps)
    return [DotProductTest("x", float(np.sum(u * jv_x)), float(np.sum(mu_prev * v))),
            DotProductTest("W", float(np.sum(u * jv_w)), float(np.sum(JW_u * V)))]
