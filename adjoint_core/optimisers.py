"""Optimisers: small in-place update rules with explicit state, kept apart from differentiation.

``step(params, grads)`` takes matching sequences of arrays, or of (W, b) pairs, and updates the arrays
in place.  Each optimiser is one ``update(w, g, *slots)`` rule for one array w, its gradient g (weight
decay already added: g = dL/dw + wd * w, L2 regularisation) and its ``n_slots`` state arrays, which it
also updates in place.  g is the optimiser's own array, which the rule may overwrite: the rules work in
place, since a temporary the size of theta (over 128 KB) maps fresh pages from the OS at every step.
lr, beta and weight_decay are plain attributes, checked when set, and may be changed between steps.

To add an optimiser, add a subclass to ``OPTIMISERS`` here: the sidebar reads its ``label`` and the run
files its ``n_slots``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .limits import check, check_choice

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
        self._g: list[Array] = []            # the decayed gradient of each parameter array, kept between steps

    def __setattr__(self, name: str, value: object) -> None:
        """lr, beta and weight_decay are checked whenever they are set."""
        super().__setattr__(name, check(name, value) if name in ("lr", "beta", "weight_decay") else value)

    def step(self, params: Sequence, grads: Sequence) -> None:
        """Update every parameter array in place from its gradient (which is left unchanged)."""
        ps, gs = _leaves(params), _leaves(grads)
        if len(self.state) != len(ps):
            self.state = [[np.zeros_like(p) for _ in range(self.n_slots)] for p in ps]
        if len(self._g) != len(ps):
            self._g = [np.empty_like(p) for p in ps]
        self.t += 1
        for w, grad, g, slots in zip(ps, gs, self._g, self.state):
            if self.weight_decay:
                np.multiply(w, self.weight_decay, out=g)
                g += grad                                  # g = dL/dw + wd w
            else:
                np.copyto(g, grad)
            self.update(w, g, *slots)

    def update(self, w: Array, g: Array, *slots: Array) -> None:
        """Update w and its state slots in place from g (with weight decay; g may be overwritten)."""
        raise NotImplementedError


class SGD(Optimiser):
    """w <- w - lr g.  (beta is ignored.)"""

    name, label = "sgd", "SGD"

    def update(self, w: Array, g: Array) -> None:
        g *= self.lr
        w -= g


class Momentum(Optimiser):
    """The notebook's EMA momentum: m <- beta m + (1 - beta) g;  w <- w - lr m."""

    name, label, n_slots = "momentum", "Momentum (EMA)", 1

    def update(self, w: Array, g: Array, m: Array) -> None:
        m *= self.beta
        g *= 1.0 - self.beta
        m += g                              # m = beta m + (1 - beta) g
        np.multiply(m, self.lr, out=g)
        w -= g                              # w = w - lr m


class Nesterov(Optimiser):
    """Nesterov momentum in EMA form: m <- beta m + (1 - beta) g;  w <- w - lr (beta m + (1 - beta) g)."""

    name, label, n_slots = "nesterov", "Nesterov", 1

    def update(self, w: Array, g: Array, m: Array) -> None:
        g *= 1.0 - self.beta
        m *= self.beta
        m += g                              # m = beta m + (1 - beta) g
        g += self.beta * m
        g *= self.lr
        w -= g                              # w = w - lr (beta m + (1 - beta) g): the look-ahead


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
        g *= g
        g *= 1.0 - self.beta2
        v += g                                          # second moment
        np.sqrt(v / (1.0 - self.beta2 ** self.t), out=g)   # sqrt(v_hat)
        g += self.eps
        np.divide(m, g, out=g)
        g *= self.lr / (1.0 - self.beta ** self.t)      # lr m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - beta^t)
        w -= g


OPTIMISERS: dict[str, type[Optimiser]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam)}


def make_optimiser(name: str, lr: float, beta: float = 0.9, weight_decay: float = 0.0) -> Optimiser:
    """An optimiser by name (a key of ``OPTIMISERS``); bad values raise ConfigError."""
    return OPTIMISERS[check_choice("optimiser", name, OPTIMISERS)](lr=lr, beta=beta, weight_decay=weight_decay)
