"""Optimisers: small in-place updates with explicit state, kept apart from differentiation.

``step(params, grads)`` takes matching sequences of arrays, or of (W, b) pairs, and updates the
arrays in place, using one scratch array per parameter array (kept between steps, not part of the state)
instead of fresh temporaries.  Weight decay is L2 regularisation added to the gradient: g' = g + wd * w.
lr, beta and weight_decay are plain attributes and may be changed between steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .errors import ConfigError

Array = np.ndarray


def _leaves(tree: Sequence) -> list[Array]:
    """[(W, b), ...] or [array, ...] -> flat list of arrays."""
    out: list[Array] = []
    for item in tree:
        out.extend(item if isinstance(item, (tuple, list)) else (item,))
    return out


def _check(name: str, value: float, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        bound = f"{low} < {name} <= {high}" if low_open else f"{low} <= {name} <= {high}"
        raise ConfigError(name, f"{value!r} is not allowed", bound)
    return float(value)


class Optimiser:
    """Base class: validated hyperparameters, per-array state created on the first step."""

    name = ""
    n_slots = 0  # state arrays per parameter array

    def __init__(self, lr: float = 1e-3, beta: float = 0.9, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.beta = beta
        self.weight_decay = weight_decay
        self.t = 0
        self.state: list[list[Array]] = []
        self._scratch: list[Array] = []

    lr = property(lambda self: self._lr, lambda self, v: setattr(self, "_lr", _check("lr", v, 0, 10, True)))
    beta = property(lambda self: self._beta,
                    lambda self, v: setattr(self, "_beta", _check("beta", v, 0, 0.999)))
    weight_decay = property(lambda self: self._wd,
                            lambda self, v: setattr(self, "_wd", _check("weight_decay", v, 0, 10)))

    def step(self, params: Sequence, grads: Sequence) -> None:
        """Update every parameter array in place from its gradient."""
        ps, gs = _leaves(params), _leaves(grads)
        if len(self.state) != len(ps):
            self.state = [[np.zeros_like(p) for _ in range(self.n_slots)] for p in ps]
        if len(self._scratch) != len(ps) or self._scratch[0].shape != ps[0].shape:
            self._scratch = [np.empty_like(p) for p in ps]
        self.t += 1
        for p, g, s, u in zip(ps, gs, self.state, self._scratch):
            self._update(p, g, s, u)

    def _update(self, w: Array, g: Array, s: list[Array], u: Array) -> None:
        """Update w in place from g and its state slots s; u is scratch of w's shape."""
        raise NotImplementedError

    def _decayed(self, w: Array, g: Array, u: Array) -> Array:
        """u = g + wd * w (the same rounding as that expression), returned."""
        if self.weight_decay:
            np.multiply(w, self.weight_decay, out=u)
            u += g
        else:
            np.copyto(u, g)
        return u


class SGD(Optimiser):
    """w <- w - lr (g + wd w).  (beta is ignored.)"""

    name = "sgd"

    def _update(self, w: Array, g: Array, s: list[Array], u: Array) -> None:
        u = self._decayed(w, g, u)
        u *= self.lr
        w -= u


class Momentum(Optimiser):
    """The notebook's EMA momentum: m <- beta m + (1 - beta)(g + wd w);  w <- w - lr m."""

    name = "momentum"
    n_slots = 1

    def _update(self, w: Array, g: Array, s: list[Array], u: Array) -> None:
        (m,) = s
        u = self._decayed(w, g, u)
        m *= self.beta
        u *= 1.0 - self.beta
        m += u                      # m = beta m + (1 - beta) g'
        np.multiply(m, self.lr, out=u)
        w -= u                      # w = w - lr m


class Nesterov(Optimiser):
    """Nesterov momentum in EMA form: m <- beta m + (1 - beta) g';  w <- w - lr (beta m + (1 - beta) g')."""

    name = "nesterov"
    n_slots = 1

    def _update(self, w: Array, g: Array, s: list[Array], u: Array) -> None:
        (m,) = s
        u = self._decayed(w, g, u)
        u *= 1.0 - self.beta        # (1 - beta) g'
        m *= self.beta
        m += u                      # m = beta m + (1 - beta) g'
        u += self.beta * m          # look ahead: beta m + (1 - beta) g'
        u *= self.lr
        w -= u


class Adam(Optimiser):
    """Adam with beta1 = beta, beta2 = 0.999, eps = 1e-8 and bias correction; g' = g + wd w."""

    name = "adam"
    n_slots = 2
    beta2 = 0.999
    eps = 1e-8

    def _update(self, w: Array, g: Array, s: list[Array], u: Array) -> None:
        m, v = s
        u = self._decayed(w, g, u)
        m *= self.beta
        m += (1.0 - self.beta) * u                  # first moment
        v *= self.beta2
        u *= u
        u *= 1.0 - self.beta2
        v += u                                       # second moment
        c1 = 1.0 - self.beta ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        np.sqrt(v / c2, out=u)
        u += self.eps
        np.divide(m, u, out=u)
        u *= self.lr / c1
        w -= u                                       # w = w - lr m_hat / (sqrt(v_hat) + eps)


OPTIMISERS: dict[str, type[Optimiser]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam)}


def make_optimiser(name: str, lr: float, beta: float = 0.9, weight_decay: float = 0.0) -> Optimiser:
    """An optimiser by name ("sgd", "momentum", "nesterov", "adam"); bad values raise ConfigError."""
    if not isinstance(name, str) or name not in OPTIMISERS:
        raise ConfigError("optimiser", f"unknown optimiser {name!r}", ", ".join(OPTIMISERS))
    return OPTIMISERS[name](lr=lr, beta=beta, weight_decay=weight_decay)
