"""Losses L(z_N, y) over a batch, each returning the loss and the final adjoint mu_N = -dL/dz_N together.

To add a loss, add a ``Loss`` subclass to ``LOSSES`` here: the sidebar reads its ``label``, the Backward
page its formulas, and the gradient check its ``increment`` (the default works for any loss).
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .limits import check_choice

Array = np.ndarray


class Loss:
    """A batch loss: ``loss(z, y) -> (L, mu_N)`` with z, y and mu_N of shape (batch, d_out)."""

    name = ""
    label = ""        # shown in the sidebar
    formula = ""      # LaTeX of L
    mu_formula = ""   # LaTeX of -dL/dz_N with the tokens {B} (batch size) and {z} (z_N) for the page to fill in

    def __call__(self, z: Array, y: Array) -> tuple[float, Array]:
        """z, y (batch, d_out) -> (L, mu_N (batch, d_out))."""
        raise NotImplementedError

    def increment(self, z: Array, z_ref: Array, y: Array) -> float:
        """L(z, y) - L(z_ref, y), z and z_ref (batch, d_out); subclasses give a form without cancellation."""
        return float(self(z, y)[0] - self(z_ref.copy(), y)[0])


class MSELoss(Loss):
    """L = 0.5 * mean_k ||z_k - y_k||^2 over the batch; mu_N = -(z - y) / B."""

    name, label = "mse", "MSE ½‖z−y‖²"
    formula = r"\mathcal{L} = \frac{1}{2B}\sum_{k=1}^{B} \lVert z_{N,k} - y_k \rVert^2"
    mu_formula = r"-\frac{1}{B}\,\bigl({z} - y\bigr)"

    def __call__(self, z: Array, y: Array) -> tuple[float, Array]:
        r = z - y
        B = z.shape[0]
        loss = 0.5 * float(np.vdot(r, r)) / B
        r *= -1.0 / B
        return loss, r

    def increment(self, z: Array, z_ref: Array, y: Array) -> float:
        """1/(2B) sum_k (z_k - z_ref,k) . (z_k + z_ref,k - 2 y_k): no large target values subtracted."""
        return 0.5 * float(np.sum((z - z_ref) * (z + z_ref - 2.0 * y))) / z.shape[0]


class HuberLoss(Loss):
    """L = mean_k sum_j h(z_kj - y_kj), h quadratic for |r| <= d and linear beyond; mu_N = -clip(r, -d, d) / B.

    Robust to outliers: mu_N never exceeds d / B per entry, unlike the MSE's.
    """

    name, label = "huber", "Huber (d = 1)"
    formula = (r"\mathcal{L} = \frac{1}{B}\sum_{k,j} h(r_{kj}),\ "
               r"h(r) = \begin{cases}\tfrac12 r^2 & |r|\le d\\ d(|r|-\tfrac d2) & |r|>d\end{cases}")
    mu_formula = r"-\frac{1}{B}\,\mathrm{clip}\bigl({z} - y, -d, d\bigr)"

    def __init__(self, d: float = 1.0) -> None:
        if not (np.isfinite(d) and d > 0):
            raise ConfigError("huber_delta", f"must be a positive number, got {d!r}", "> 0")
        self.d = float(d)

    def __call__(self, z: Array, y: Array) -> tuple[float, Array]:
        r = z - y
        B = z.shape[0]
        absr = np.abs(r)
        quad = np.minimum(absr, self.d)
        loss = float(np.sum(quad * (absr - 0.5 * quad))) / B  # 0.5 r^2 inside, d(|r| - d/2) outside
        return loss, np.clip(r, -self.d, self.d) * (-1.0 / B)

    def h(self, r: Array) -> Array:
        """h(r) per entry."""
        return np.where(np.abs(r) <= self.d, 0.5 * r * r, self.d * (np.abs(r) - 0.5 * self.d))

    def increment(self, z: Array, z_ref: Array, y: Array) -> float:
        """The MSE's factorisation where both residuals are quadratic, d sign(r) (z - z_ref) where both lie on
        the same linear side, h(r) - h(r_ref) elsewhere."""
        d, dz = self.d, z - z_ref
        r, r0 = z - y, z_ref - y
        quad = (np.abs(r) <= d) & (np.abs(r0) <= d)
        lin = (np.abs(r) > d) & (np.abs(r0) > d) & (np.sign(r) == np.sign(r0))
        rest = ~(quad | lin)
        total = (np.sum(0.5 * dz[quad] * (r[quad] + r0[quad])) + np.sum(d * np.sign(r[lin]) * dz[lin])
                 + np.sum(self.h(r[rest]) - self.h(r0[rest])))
        return float(total) / z.shape[0]


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (MSELoss, HuberLoss)}


def get_loss(name: str) -> Loss:
    """A loss instance by name; unknown names raise ConfigError."""
    return LOSSES[check_choice("loss", name, LOSSES)]()
