"""Element-wise activations sigma: value, derivative at the pre-activation, and Jacobian.

Each activation works on a pre-activation ``a`` of shape (batch, width).  ``derivative(a, z)`` is
sigma'(a), the diagonal of the Jacobian d sigma / d a; ``z = sigma(a)`` is passed in so that
activations whose derivative is cheapest from their value (sigmoid, tanh) can reuse it.  The value
is always that of sigma' *at a*, never sigma' applied to z (the notebook's first trap).

To add an activation, add it to ``ACTIVATIONS`` here: the sidebar, the run files and the Theory page
read everything they need from its entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .limits import check_choice

Array = np.ndarray

LEAKY_SLOPE = 0.01


def _sigmoid(a: Array) -> Array:
    """1 / (1 + exp(-a)); for a < -709 exp overflows to inf (a floating-point warning) and the result is 0."""
    t = np.exp(-a)
    t += 1.0
    return np.divide(1.0, t, out=t)


def _softplus(a: Array) -> Array:
    """log(1 + exp(a)) computed as max(a, 0) + log1p(exp(-|a|)), which never overflows."""
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))


@dataclass(frozen=True)
class Activation:
    """An element-wise activation: ``forward(a) -> z`` and ``derivative(a, z) -> sigma'(a)``."""

    name: str
    formula: str  # LaTeX of sigma(a), shown by the app
    derivative_formula: str  # LaTeX of sigma'(a)
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    piecewise: bool = False  # piecewise linear: sigma'(a) depends only on the sign of a

    def jacobian(self, a: Array) -> Array:
        """Full Jacobian d sigma(a_k) / d a_k per sample: (batch, width) -> (batch, width, width), diagonal."""
        d = self.derivative(a, self.forward(a))
        return d[:, :, None] * np.eye(a.shape[1])


ACTIVATIONS: dict[str, Activation] = {
    act.name: act
    for act in (
        Activation("sigmoid", r"\frac{1}{1+e^{-a}}", r"\sigma(a)\,(1-\sigma(a))",
                   _sigmoid, lambda a, z: z * (1.0 - z)),
        Activation("tanh", r"\tanh a", r"1-\tanh^2 a", np.tanh, lambda a, z: 1.0 - z * z),
        Activation("relu", r"\max(a, 0)", r"\mathbb{1}[a > 0]",
                   lambda a: np.maximum(a, 0.0), lambda a, z: (a > 0).astype(a.dtype), piecewise=True),
        Activation("leaky_relu", rf"\max(a, {LEAKY_SLOPE}\,a)", rf"1 \text{{ if }} a>0 \text{{ else }} {LEAKY_SLOPE}",
                   lambda a: np.where(a > 0, a, LEAKY_SLOPE * a), lambda a, z: np.where(a > 0, 1.0, LEAKY_SLOPE),
                   piecewise=True),
        Activation("softplus", r"\log(1+e^{a})", r"\frac{1}{1+e^{-a}}", _softplus, lambda a, z: _sigmoid(a)),
        Activation("identity", r"a", r"1", lambda a: a, lambda a, z: np.ones_like(a), piecewise=True),
    )
}


def get_activation(name: str) -> Activation:
    """Look an activation up by name; unknown names raise ConfigError."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
