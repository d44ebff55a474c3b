"""The dense layer phi(x) = sigma(x W + b): its forward pass beside its vector-Jacobian product.

``forward`` returns the residuals the backward pass needs instead of storing them, in the style of
JAX's ``custom_vjp`` (``f_fwd(x) -> (out, res)``, ``f_bwd(res, g)``).
"""

from __future__ import annotations

import numpy as np

from .activations import Activation

Array = np.ndarray
Cache = tuple[Array, Array, Array]  # (x, a, z): input, pre-activation, output

_ONES: dict[int, Array] = {}


def batch_sum(d: Array, out: Array | None = None) -> Array:
    """sum_batch d = 1^T d, (batch, width) -> (width,) (into ``out`` if given): a product with a kept vector of
    ones, 2.5x faster than d.sum(axis=0) at these shapes."""
    ones = _ONES.get(len(d))
    if ones is None:
        ones = _ONES[len(d)] = np.ones(len(d))
    return np.dot(ones, d, out=out)


class Dense:
    """phi(x) = sigma(x W + b) with W (d_in, d_out) and b (d_out,), both views into the network's theta."""

    def __init__(self, W: Array, b: Array, activation: Activation) -> None:
        self.W, self.b, self.activation = W, b, activation

    def forward(self, x: Array) -> tuple[Array, Cache]:
        """x (batch, d_in) -> z = sigma(a) (batch, d_out), cache (x, a, z) with a = x W + b."""
        a = np.dot(x, self.W)     # np.dot: faster than @ for the shapes (batch, 1) and (1, width)
        a += self.b
        z = self.activation.forward(a)
        return z, (x, a, z)

    def delta(self, cache: Cache, mu: Array) -> Array:
        """delta = mu * sigma'(a), (batch, d_out): the adjoint of the pre-activation a."""
        x, a, z = cache
        return mu * self.activation.derivative(a, z)

    def vjp(self, cache: Cache, mu: Array) -> tuple[Array, Array, Array]:
        """mu (batch, d_out) = -dL/dz -> (mu_prev (batch, d_in), dL/dW (d_in, d_out), dL/db (d_out,)).

        delta = mu * sigma'(a),  mu_prev = delta W^T,  dL/dW = -x^T delta,  dL/db = -sum_batch delta.
        """
        x = cache[0]
        delta = self.delta(cache, mu)
        minus_delta = -delta    # one negation for both gradients
        return np.dot(delta, self.W.T), np.dot(x.T, minus_delta), batch_sum(minus_delta)
