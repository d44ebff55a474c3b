"""The dense layer phi(x) = sigma(x W + b): its forward pass beside its vector-Jacobian product.

``forward`` returns the residuals the backward pass needs instead of storing them, in the style of
JAX's ``custom_vjp`` (``f_fwd(x) -> (out, res)``, ``f_bwd(res, g)``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .activations import ACTIVATIONS, Activation, _sigmoid_unguarded

Array = np.ndarray
Cache = tuple[Array, Array, Array]  # (x, a, z): input, pre-activation, output


_ONES: dict[int, Array] = {}


def _ones(n: int) -> Array:
    """A cached (n,) vector of ones."""
    if n not in _ONES:
        _ONES[n] = np.ones(n)
    return _ONES[n]


def overflow_guard(overflows: bool) -> contextlib.AbstractContextManager:
    """np.errstate silencing overflow for layers whose activation can overflow (sigmoid), else nothing."""
    return np.errstate(over="ignore") if overflows else contextlib.nullcontext()


class Dense:
    """phi(x) = sigma(x W + b) with W (d_in, d_out) and b (d_out,), both views into the network's theta."""

    def __init__(self, W: Array, b: Array, activation: Activation) -> None:
        self.W, self.b, self.activation = W, b, activation
        self._linear = activation.name == "identity"
        # The library's own sigmoid and tanh get a fused sigma' * mu (same values, fewer temporaries).
        self._kind = next((name for name in ("sigmoid", "tanh")
                           if activation.derivative is ACTIVATIONS[name].derivative), None)
        # sigma without its own np.errstate: a network enters one for all its layers (cheaper than one per layer)
        self.overflows = self._kind == "sigmoid"
        self._sigma = _sigmoid_unguarded if self.overflows else activation.forward

    def forward(self, x: Array) -> tuple[Array, Cache]:
        """x (batch, d_in) -> z (batch, d_out), cache (x, a, z) with a = x W + b.  Overflow in exp is silent."""
        with overflow_guard(self.overflows):
            return self.forward_unguarded(x)

    def forward_unguarded(self, x: Array) -> tuple[Array, Cache]:
        """``forward`` for a caller that has silenced floating-point overflow itself (when ``overflows``)."""
        a = np.dot(x, self.W)     # np.dot: faster than @ for these small shapes
        a += self.b
        z = a if self._linear else self._sigma(a)
        return z, (x, a, z)

    def delta(self, cache: Cache, mu: Array) -> Array:
        """delta = mu * sigma'(a), (batch, d_out): the adjoint of the pre-activation a."""
        x, a, z = cache
        if self._linear:
            return mu
        if self._kind == "sigmoid":      # sigma' = z (1 - z)
            d = np.subtract(1.0, z)
            d *= z
            d *= mu
            return d
        if self._kind == "tanh":         # sigma' = 1 - z^2
            d = np.multiply(z, z)
            np.subtract(1.0, d, out=d)
            d *= mu
            return d
        return mu * self.activation.derivative(a, z)

    def vjp(self, cache: Cache, mu: Array, dW: Array | None = None, db: Array | None = None
            ) -> tuple[Array, Array, Array]:
        """mu (batch, d_out) = -dL/dz -> (mu_prev (batch, d_in), dL/dW (d_in, d_out), dL/db (d_out,)).

        mu_prev = delta W^T,  dL/dW = -x^T delta,  dL/db = -sum_batch delta.
        ``dW`` and ``db`` may be given to write the gradients in place.
        """
        mu_prev, dW, db = self.vjp_negated(cache, mu, dW, db)
        np.negative(dW, out=dW)
        np.negative(db, out=db)
        return mu_prev, dW, db

    def vjp_negated(self, cache: Cache, mu: Array, dW: Array | None = None, db: Array | None = None
                    ) -> tuple[Array, Array, Array]:
        """``vjp`` with the gradients' sign left out: (mu_prev, x^T delta = -dL/dW, sum_batch delta = -dL/db).

        For a caller that negates all its layers' gradients at once (one pass over a flat vector).
        """
        x = cache[0]
        delta = self.delta(cache, mu)
        mu_prev = np.dot(delta, self.W.T)
        dW = np.dot(x.T, delta, out=dW)
        db = np.dot(_ones(len(delta)), delta, out=db)   # the sum over the batch, faster as a product
        return mu_prev, dW, db
