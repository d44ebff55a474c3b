"""Optimisers: small in-place update rules with explicit state, kept apart from differentiation.

``step(params, grads)`` takes matching sequences of arrays, or of (W, b) pairs, and updates the arrays
in place.  Each optimiser is one ``update(w, g, *slots)`` rule for one array w, its gradient g (weight
decay already added: g = dL/dw + wd * w, L2 regularisation) and its ``n_slots`` state arrays, which it
also updates in place.  lr, beta and weight_decay are plain attributes and may be changed between steps.

To add an optimiser, add a subclass to ``OPTIMISERS`` here: the sidebar reads its ``label`` and the run
files its ``n_slots``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ConfigError
from .limits import check

Array = np.ndarray


def _leaves(tree: Sequence) -> list[Array]:
    """[(W, b), ...] or [array, ...] -> flat list of arrays."""
    out: list[Array] = []
    for item in tree:
        out.extend(item if isinstance(item, (tuple, list)) else (item,))
    return out


class Optimiser:
    """Base class: hyperparameters, step count t and per-array state created on the first step."""

    name = ""
    label = ""
    n_slots = 0  # state arrays per parameter array

    def __init__(self, lr: float = 1e-3, beta: float = 0.9, weight_decay: float = 0.0) -> None:
        self.lr, self.beta, self.weight_decay = lr, beta, weight_decay
        self.t = 0
        self.state: list[list[Array]] = []   # n_slots arrays per parameter array (empty before the first step)

    def __setattr__(self, name: str, value: object) -> None:
        """lr, beta and weight_decay are checked whenever they are set."""
        super().__setattr__(name, check(name, value) if name in ("lr", "beta", "weight_decay") else value)

    def step(self, params: Sequence, grads: Sequence) -> None:
        """Update every parameter array in place from its gradient (which is left unchanged)."""
        ps, gs = _leaves(params), _leaves(grads)
        if len(self.state) != len(ps):
            self.state = [[np.zeros_like(p) for _ in range(self.n_slots)] for p in ps]
        self.t += 1
        wd = self.weight_decay
        for w, g, slots in zip(ps, gs, self.state):
            self.update(w, w * wd + g if wd else g, *slots)

    def update(self, w: Array, g: Array, *slots: Array) -> None:
        """Update w and its state slots in place from g (with weight decay)."""
        raise NotImplementedError


class SGD(Optimiser):
    """w <- w - lr g.  (beta is ignored.)"""

    name, label = "sgd", "SGD"

    def update(self, w: Array, g: Array) -> None:
        w -= g * self.lr


class Momentum(Optimiser):
    """The notebook's EMA momentum: m <- beta m + (1 - beta) g;  w <- w - lr m."""

    name, label, n_slots = "momentum", "Momentum (EMA)", 1

    def update(self, w: Array, g: Array, m: Array) -> None:
        m *= self.beta
        m += g * (1.0 - self.beta)
        w -= m * self.lr


class Nesterov(Optimiser):
    """Nesterov momentum in EMA form: m <- beta m + (1 - beta) g;  w <- w - lr (beta m + (1 - beta) g)."""

    name, label, n_slots = "nesterov", "Nesterov", 1

    def update(self, w: Array, g: Array, m: Array) -> None:
        g = g * (1.0 - self.beta)
        m *= self.beta
        m += g
        w -= (g + self.beta * m) * self.lr      # look ahead


class Adam(Optimiser):
    """Adam with beta1 = beta, beta2 = 0.999, eps = 1e-8 and bias correction:
    m <- beta m + (1 - beta) g;  v <- beta2 v + (1 - beta2) g^2;  w <- w - lr m_hat / (sqrt(v_hat) + eps)."""

    name, label, n_slots = "adam", "Adam", 2
    beta2 = 0.999
    eps = 1e-8

    def update(self, w: Array, g: Array, m: Array, v: Array) -> None:
        m *= self.beta
        m += (1.0 - self.beta) * g                      # first moment
        v *= self.beta2
        v += g * g * (1.0 - self.beta2)                 # second moment
        v_hat = v / (1.0 - self.beta2 ** self.t)
        w -= m / (np.sqrt(v_hat) + self.eps) * (self.lr / (1.0 - self.beta ** self.t))   # m_hat = m / (1 - beta^t)


OPTIMISERS: dict[str, type[Optimiser]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam)}


def make_optimiser(name: str, lr: float, beta: float = 0.9, weight_decay: float = 0.0) -> Optimiser:
    """An optimiser by name (a key of ``OPTIMISERS``); bad values raise ConfigError."""
    if not isinstance(name, str) or name not in OPTIMISERS:
        raise ConfigError("optimiser", f"unknown optimiser {name!r}", ", ".join(OPTIMISERS))
    return OPTIMISERS[name](lr=lr, beta=beta, weight_decay=weight_decay)
