r"""The MLP and its backward pass, written as the adjoint method.

The network is a chain z_i = phi_i(z_{i-1}), i = 1..N, with z_0 = x and z_N the prediction.
Training minimises L(z_N) subject to these constraints; with Lagrange multipliers mu_i the
stationarity conditions are the adjoint equations

    mu_N = -dL/dz_N
    mu_i = (d phi_{i+1} / d z_i)^T mu_{i+1}          i = N-1, ..., 0
    dL/dtheta_i = -mu_i^T (d phi_i / d theta_i)

so the gradient needs one backward sweep of vector-Jacobian products and never a Jacobian
matrix.  For the dense layer phi(x) = sigma(x W + b) these read delta = mu * sigma'(a),
mu_prev = delta W^T, dL/dW = -x^T delta, dL/db = -sum_batch delta (see ``layers.Dense.vjp``).
The minus sign is where dL/dtheta is formed from mu: at the end of ``MLP.backward_into`` (and in
``Dense.vjp`` for a single layer).

All parameters live in one flat float64 vector ``theta`` and every (W, b) is a view into it, so an
optimiser can update the whole network with a handful of vector operations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .activations import get_activation
from .errors import ConfigError
from .layers import Cache, Dense, overflow_guard

Array = np.ndarray

MAX_HIDDEN_LAYERS = 10
MAX_WIDTH = 1024
MAX_PARAMS = 200_000   # about 11 MB of parameter and optimiser state: 30 classroom sessions fit 1 GB
INIT_SCHEMES = ("notebook", "xavier", "he")


def validate_sizes(sizes: Sequence[int]) -> list[int]:
    """Check the layer sizes [d_in, hidden..., d_out]; return them as ints or raise ConfigError."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ConfigError("sizes", f"need at least an input and an output size, got {sizes!r}",
                          "a list of positive whole numbers")
    out = []
    for s in sizes:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise ConfigError("sizes", f"{s!r} is not a whole number", f"1 to {MAX_WIDTH}")
        if not 1 <= s <= MAX_WIDTH:
            raise ConfigError("sizes", f"width {s} is out of range", f"1 to {MAX_WIDTH}")
        out.append(int(s))
    if len(out) - 2 > MAX_HIDDEN_LAYERS:
        raise ConfigError("sizes", f"{len(out) - 2} hidden layers is too many", f"0 to {MAX_HIDDEN_LAYERS}")
    n_params = sum((i + 1) * o for i, o in zip(out[:-1], out[1:]))
    if n_params > MAX_PARAMS:
        raise ConfigError("sizes", f"{n_params:,} parameters is too many", f"at most {MAX_PARAMS:,}")
    return out


def layer_activations(activation: str | Sequence[str], n_hidden: int) -> list[str]:
    """One activation name per layer: the hidden ones as given, the output layer 'identity'."""
    if not isinstance(activation, (str, list, tuple)):
        raise ConfigError("activation", f"{activation!r} is not a name", "a name, or one name per hidden layer")
    names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(names) != n_hidden:
        raise ConfigError("activation", f"{len(names)} names for {n_hidden} hidden layers",
                          "one name, or one per hidden layer")
    for name in names:
        get_activation(name)
    return names + ["identity"]


class MLP:
    """A multilayer perceptron z_N = phi_N(... phi_1(x)) with dense layers.

    ``init``: "notebook" draws hidden W, b ~ N(0, 1) and the output layer's W, b ~ init_scale * N(0, 1);
    "xavier" (W ~ N(0, 2/(d_in+d_out))) and "he" (W ~ N(0, 2/d_in)) scale every W by init_scale, b = 0.
    """

    def __init__(self, sizes: Sequence[int], activation: str | Sequence[str] = "relu", seed: int = 0,
                 init: str = "notebook", init_scale: float = 1.0,
                 rng: np.random.Generator | None = None) -> None:
        self.sizes = validate_sizes(sizes)
        self.activations = layer_activations(activation, len(self.sizes) - 2)
        if init not in INIT_SCHEMES:
            raise ConfigError("init", f"unknown scheme {init!r}", ", ".join(INIT_SCHEMES))
        if not (isinstance(init_scale, (int, float)) and np.isfinite(init_scale) and 0 < init_scale <= 100):
            raise ConfigError("init_scale", f"{init_scale!r} is out of range", "0 < scale <= 100")
        if rng is None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
                raise ConfigError("seed", f"{seed!r} is not allowed", "a whole number >= 0")
            rng = np.random.default_rng(seed)
        shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.theta = np.empty(sum((i + 1) * o for i, o in shapes))
        self.params: list[tuple[Array, Array]] = self.views(self.theta)
        last = len(shapes) - 1
        for k, (W, b) in enumerate(self.params):
            d_in, d_out = W.shape
            if init == "notebook":
                scale = init_scale if k == last else 1.0
                W[...] = scale * rng.standard_normal((d_in, d_out))
                b[...] = scale * rng.standard_normal(d_out)
            else:
                var = 2.0 / (d_in + d_out) if init == "xavier" else 2.0 / d_in
                W[...] = init_scale * np.sqrt(var) * rng.standard_normal((d_in, d_out))
                b[...] = 0.0
        self.layers = [Dense(W, b, get_activation(name)) for (W, b), name in zip(self.params, self.activations)]
        self._caches: list[Cache] = []
        self._bound = {id(self.theta): (self.theta, self.params)}   # views of recently used theta vectors
        self._overflows = any(layer.overflows for layer in self.layers)

    def use_theta(self, theta: Array) -> None:
        """Make the (P,) vector ``theta`` the network's parameters: every (W, b) view is rebound, nothing copied.

        ``TrainingRun`` alternates between two such vectors so that the previous step's parameters stay intact.
        """
        if theta.shape != self.theta.shape:
            raise ValueError(f"theta of shape {theta.shape} does not fit {self.theta.shape}")
        bound = self._bound.get(id(theta))
        if bound is None or bound[0] is not theta:
            if len(self._bound) >= 2:
                self._bound.clear()
            bound = self._bound[id(theta)] = (theta, self.views(theta))
        self.theta, self.params = bound
        for layer, (W, b) in zip(self.layers, self.params):
            layer.W, layer.b = W, b

    @property
    def n_layers(self) -> int:
        """N, the number of dense layers (hidden layers + output)."""
        return len(self.layers)

    def views(self, flat: Array) -> list[tuple[Array, Array]]:
        """Split a flat (P,) vector into per-layer (W (d_in, d_out), b (d_out,)) views, input side first."""
        out, start = [], 0
        for d_in, d_out in zip(self.sizes[:-1], self.sizes[1:]):
            W = flat[start:start + d_in * d_out].reshape(d_in, d_out)
            start += d_in * d_out
            out.append((W, flat[start:start + d_out]))
            start += d_out
        return out

    def forward(self, x: Array) -> Array:
        """x (batch, d_in) -> z_N (batch, d_out); keeps the residuals for ``backward``.  Overflow is silent."""
        with overflow_guard(self._overflows):
            return self.forward_unguarded(x)

    def forward_unguarded(self, x: Array) -> Array:
        """``forward`` for a caller that silences floating-point overflow itself, as TrainingRun does for its
        steps (an np.errstate per pass costs about 2% of a sigmoid network's step, measured)."""
        caches = []
        z = x
        for layer in self.layers:
            z, cache = layer.forward_unguarded(z)
            caches.append(cache)
        self._caches = caches
        return z

    def predict(self, x: Array) -> Array:
        """x (batch, d_in) -> z_N (batch, d_out) without keeping residuals (plots, test loss)."""
        with overflow_guard(self._overflows):
            return self.predict_unguarded(x)

    def predict_unguarded(self, x: Array) -> Array:
        """``predict`` for a caller that silences floating-point overflow itself (see ``forward_unguarded``)."""
        z = x
        for layer in self.layers:
            z = layer.forward_unguarded(z)[0]
        return z

    def zs(self, x: Array) -> list[Array]:
        """Every intermediate state [z_0 = x, z_1, ..., z_N] for x (batch, d_in); keeps the residuals."""
        self.forward(x)
        return [self._caches[0][0]] + [c[2] for c in self._caches]

    def caches(self) -> list[Cache]:
        """The residuals (x, a, z) of each layer from the last ``forward``, input side first."""
        return list(self._caches)

    def backward_into(self, mu: Array, grads: list[tuple[Array, Array]], flat: Array | None = None) -> list[Array]:
        """mu_N (batch, d_out) = -dL/dz_N; writes dL/dW, dL/db into ``grads`` (views, see ``views``).

        Each layer yields mu^T d phi/d theta = -dL/dtheta; the sign is applied at the end, in one pass
        over ``flat`` when the (P,) vector that ``grads`` view is given.
        Returns the adjoints [mu_N, ..., mu_0], mu_i of shape (batch, sizes[i]).
        """
        if not self._caches:
            raise RuntimeError("call forward(x) before backward(mu)")
        mus = [mu]
        for layer, cache, (dW, db) in zip(reversed(self.layers), reversed(self._caches), reversed(grads)):
            mu = layer.vjp_negated(cache, mu, dW, db)[0]
            mus.append(mu)
        for g in (flat,) if flat is not None else (g for pair in grads for g in pair):
            np.negative(g, out=g)   # dL/dtheta = -mu^T d phi / d theta
        return mus

    def backward(self, mu: Array) -> tuple[list[tuple[Array, Array]], list[Array]]:
        """mu_N (batch, d_out) -> (grads [(dL/dW, dL/db), ...] input side first, mus [mu_N, ..., mu_0])."""
        flat = np.empty_like(self.theta)
        grads = self.views(flat)
        return grads, self.backward_into(mu, grads, flat)

    def n_params(self) -> int:
        """P, the number of parameters."""
        return self.theta.size
