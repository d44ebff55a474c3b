r"""The loss increment L(z) - L(z_ref), written so that finite differences of it do not drown in rounding.

A central difference (L(theta + eps) - L(theta - eps)) / (2 eps) subtracts two loss values of size |L|,
each rounded to about 1e-16 |L|, so its rounding error is about 1e-16 |L| / (eps |dL/dtheta|).  When the
gradient is tiny next to the loss (the notebook's 2D wave starts with an output layer of scale 1e-6,
so |L| ~ 1e3 while hidden-layer gradients are ~ 1e-4) that error reaches 1e-3 for every usable eps.

The increment dL(z) = L(z) - L(z_ref) around the unperturbed prediction z_ref differs from L by a
constant, so it has the same gradient, and for the MSE it factors without the large target values:

    dL(z) = 1/(2B) sum_k (z_k - z_ref,k) . (z_k + z_ref,k - 2 y_k)

where z - z_ref is exact to rounding of z itself.  Finite differences of dL then reach the
1e-8..1e-11 a correct gradient should show.  The Huber loss uses the same factorisation in its
quadratic zone and d sign(r) (z - z_ref) where both residuals lie on the same linear side.
Each loss holds its own form (``Loss.increment``).  ``LossIncrement`` returns the base loss's mu_N unchanged
(the adjoint gradient is the same).
"""

from __future__ import annotations

import numpy as np

from .losses import Loss
from .network import MLP

Array = np.ndarray


class LossIncrement:
    """Callable (z, y) -> (L(z, y) - L(z_ref, y), mu_N of the base loss); z_ref (B, d_N) fixed."""

    def __init__(self, base: Loss, z_ref: Array) -> None:
        self.base = base
        self.z_ref = np.array(z_ref, dtype=float)
        self.name, self.formula, self.mu_formula = base.name, base.formula, base.mu_formula

    def value(self, z: Array, y: Array) -> float:
        """L(z, y) - L(z_ref, y) without forming either loss (``Loss.increment``)."""
        return self.base.increment(z, self.z_ref, y)

    def __call__(self, z: Array, y: Array) -> tuple[float, Array]:
        """z, y (B, d_N) -> (L(z) - L(z_ref), mu_N (B, d_N) of the base loss)."""
        return self.value(z, y), self.base(z, y)[1]


def increment_loss(net: MLP, loss_fn: Loss, x: Array) -> LossIncrement:
    """The increment of ``loss_fn`` around the network's current prediction for x (B, d_0)."""
    return LossIncrement(loss_fn, net.predict(x))
