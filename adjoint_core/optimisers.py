"""Optimisers: small updates with explicit state, kept apart from differentiation.

``step(params, grads)`` takes matching sequences of arrays, or of (W, b) pairs, and updates the
arrays in place, using one scratch array per parameter array (kept between steps, not part of the state)
instead of fresh temporaries.  ``step(params, grads, out=new_params)`` writes the update into ``out``
instead and moves the state to a second set of arrays, so that the previous parameters and state stay
as they were: ``undo`` returns the state (and t) to them, and the caller goes back to the previous
parameters itself.  A backup that costs no copying (``TrainingRun`` uses it to undo a step that diverged).
Weight decay is L2 regularisation added to the gradient: g' = g + wd * w.  lr, beta and weight_decay are
plain attributes and may be changed between steps.
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
        self.state = []
        self._scratch: list[Array] = []
        self._previous: list[list[Array]] = []   # the state before the last out-of-place step

    lr = property(lambda self: self._lr, lambda self, v: setattr(self, "_lr", _check("lr", v, 0, 10, True)))
    beta = property(lambda self: self._beta,
                    lambda self, v: setattr(self, "_beta", _check("beta", v, 0, 0.999)))
    weight_decay = property(lambda self: self._wd,
                            lambda self, v: setattr(self, "_wd", _check("weight_decay", v, 0, 10)))

    @property
    def state(self) -> list[list[Array]]:
        """The state arrays: one list of ``n_slots`` arrays per parameter array (empty before the first step)."""
        return self._state

    @state.setter
    def state(self, value: list[list[Array]]) -> None:
        self._state = value
        self._undoable = False   # a state set from outside (a restored run) has no previous step to go back to

    def step(self, params: Sequence, grads: Sequence, out: Sequence | None = None) -> None:
        """Update every parameter array from its gradient: in place, or into ``out`` (same shapes as params,
        which then stay unchanged, as does the state before this step until the next out-of-place step)."""
        ps, gs = _leaves(params), _leaves(grads)
        if len(self.state) != len(ps):
            self.state = [[np.zeros_like(p) for _ in range(self.n_slots)] for p in ps]
        if len(self._scratch) != len(ps) or self._scratch[0].shape != ps[0].shape:
            self._scratch = [np.empty_like(p) for p in ps]
        if out is None:
            outs, state_out = ps, self.state
            self._undoable = False
        else:
            outs = _leaves(out)
            prev = self._previous
            if len(prev) != len(self.state) or (self.n_slots and prev[0][0].shape != self.state[0][0].shape):
                self._previous = [[np.empty_like(a) for a in slots] for slots in self.state]
            state_out = self._previous
        self.t += 1
        for p, g, s, u, p_out, s_out in zip(ps, gs, self.state, self._scratch, outs, state_out):
            self._update(p, g, s, u, p_out, s_out)
        if out is not None:
            self.state, self._previous = state_out, self.state
            self._undoable = True

    def undo(self) -> bool:
        """Return the state (and t) to before the last out-of-place ``step``; False when there is none to undo."""
        if not self._undoable:
            return False
        self.state, self._previous = self._previous, self.state
        self.t -= 1
        self._undoable = False
        return True

    def _update(self, w: Array, g: Array, s: list[Array], u: Array, w_out: Array, s_out: list[Array]) -> None:
        """Write the update of w, with state slots s, into w_out and s_out (which may be w and s themselves);
        u is scratch of w's shape."""
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

    def _update(self, w: Array, g: Array, s: list[Array], u: Array, w_out: Array, s_out: list[Array]) -> None:
        u = self._decayed(w, g, u)
        u *= self.lr
        np.subtract(w, u, out=w_out)


class Momentum(Optimiser):
    """The notebook's EMA momentum: m <- beta m + (1 - beta)(g + wd w);  w <- w - lr m."""

    name = "momentum"
    n_slots = 1

    def _update(self, w: Array, g: Array, s: list[Array], u: Array, w_out: Array, s_out: list[Array]) -> None:
        (m,), (m_out,) = s, s_out
        u = self._decayed(w, g, u)
        np.multiply(m, self.beta, out=m_out)
        u *= 1.0 - self.beta
        m_out += u                  # m = beta m + (1 - beta) g'
        np.multiply(m_out, self.lr, out=u)
        np.subtract(w, u, out=w_out)   # w = w - lr m


class Nesterov(Optimiser):
    """Nesterov momentum in EMA form: m <- beta m + (1 - beta) g';  w <- w - lr (beta m + (1 - beta) g')."""

    name = "nesterov"
    n_slots = 1

    def _update(self, w: Array, g: Array, s: list[Array], u: Array, w_out: Array, s_out: list[Array]) -> None:
        (m,), (m_out,) = s, s_out
        u = self._decayed(w, g, u)
        u *= 1.0 - self.beta        # (1 - beta) g'
        np.multiply(m, self.beta, out=m_out)
        m_out += u                  # m = beta m + (1 - beta) g'
        u += self.beta * m_out      # look ahead: beta m + (1 - beta) g'
        u *= self.lr
        np.subtract(w, u, out=w_out)


class Adam(Optimiser):
    """Adam with beta1 = beta, beta2 = 0.999, eps = 1e-8 and bias correction; g' = g + wd w."""

    name = "adam"
    n_slots = 2
    beta2 = 0.999
    eps = 1e-8

    def _update(self, w: Array, g: Array, s: list[Array], u: Array, w_out: Array, s_out: list[Array]) -> None:
        (m, v), (m_out, v_out) = s, s_out
        u = self._decayed(w, g, u)
        np.multiply(m, self.beta, out=m_out)
        m_out += (1.0 - self.beta) * u              # first moment
        np.multiply(v, self.beta2, out=v_out)
        u *= u
        u *= 1.0 - self.beta2
        v_out += u                                   # second moment
        c1 = 1.0 - self.beta ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        np.sqrt(v_out / c2, out=u)
        u += self.eps
        np.divide(m_out, u, out=u)
        u *= self.lr / c1
        np.subtract(w, u, out=w_out)                 # w = w - lr m_hat / (sqrt(v_hat) + eps)


OPTIMISERS: dict[str, type[Optimiser]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam)}


def make_optimiser(name: str, lr: float, beta: float = 0.9, weight_decay: float = 0.0) -> Optimiser:
    """An optimiser by name ("sgd", "momentum", "nesterov", "adam"); bad values raise ConfigError."""
    if not isinstance(name, str) or name not in OPTIMISERS:
        raise ConfigError("optimiser", f"unknown optimiser {name!r}", ", ".join(OPTIMISERS))
    return OPTIMISERS[name](lr=lr, beta=beta, weight_decay=weight_decay)
