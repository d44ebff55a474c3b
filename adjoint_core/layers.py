"""The dense layer phi(x) = sigma(x W + b): its forward pass beside its vector-Jacobian product.

``forward`` returns the residuals the backward pass needs instead of storing them, in the style of
JAX's ``custom_vjp`` (``f_fwd(x) -> (out, res)``, ``f_bwd(res, g)``).
"""

from __future__ import annotations

import numpy as np

from .activations import Activation

Array = np.ndarray
Cache = tuple[Array, Array, Array]  # (x, a, z): input, pre-activation, output


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
        ones = np.ones(len(x))  # the sum over the batch as 1^T (-delta): faster than .sum(axis=0) for these shapes
        return np.dot(delta, self.W.T), np.dot(x.T, minus_delta), np.dot(ones, minus_delta)
