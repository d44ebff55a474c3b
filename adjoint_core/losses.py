"""Losses L(z_N, y) over a batch, each returning the loss and the final adjoint mu_N = -dL/dz_N together."""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

Array = np.ndarray


class MSELoss:
    """L = 0.5 * mean_k ||z_k - y_k||^2 over the batch; mu_N = -(z - y) / B."""

    name = "mse"
    formula = r"\mathcal{L} = \frac{1}{2B}\sum_{k=1}^{B} \lVert z_{N,k} - y_k \rVert^2"
    mu_formula = r"\mu_N = -\frac{\partial \mathcal{L}}{\partial z_N} = -\frac{1}{B}(z_N - y)"

    def __call__(self, z: Array, y: Array) -> tuple[float, Array]:
        """z, y (batch, d_out) -> (L, mu_N (batch, d_out))."""
        r = z - y
        B = z.shape[0]
        loss = 0.5 * float(np.vdot(r, r)) / B
        r *= -1.0 / B
        return loss, r


class HuberLoss:
    """L = mean_k sum_j h(z_kj - y_kj), h quadratic for |r| <= d and linear beyond; mu_N = -clip(r, -d, d) / B.

    Robust to outliers: mu_N never exceeds d / B per entry, unlike the MSE's.
    """

    name = "huber"
    formula = (r"\mathcal{L} = \frac{1}{B}\sum_{k,j} h(r_{kj}),\ "
               r"h(r) = \begin{cases}\tfrac12 r^2 & |r|\le d\\ d(|r|-\tfrac d2) & |r|>d\end{cases}")
    mu_formula = r"\mu_N = -\frac{1}{B}\,\mathrm{clip}(z_N - y, -d, d)"

    def __init__(self, d: float = 1.0) -> None:
        if not (np.isfinite(d) and d > 0):
            raise ConfigError("huber_delta", f"must be a positive number, got {d!r}", "> 0")
        self.d = float(d)

    def __call__(self, z: Array, y: Array) -> tuple[float, Array]:
        """z, y (batch, d_out) -> (L, mu_N (batch, d_out))."""
        r = z - y
        B = z.shape[0]
        absr = np.abs(r)
        quad = np.minimum(absr, self.d)
        loss = float(np.sum(quad * (absr - 0.5 * quad))) / B  # 0.5 r^2 inside, d(|r| - d/2) outside
        return loss, np.clip(r, -self.d, self.d) * (-1.0 / B)


LOSSES = {"mse": MSELoss, "huber": HuberLoss}


def get_loss(name: str) -> MSELoss | HuberLoss:
    """A loss instance by name; unknown names raise ConfigError."""
    try:
        return LOSSES[name]()
    except (KeyError, TypeError):
        raise ConfigError("loss", f"unknown loss {name!r}", ", ".join(LOSSES)) from None
