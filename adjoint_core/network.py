r"""The MLP and its backward pass, written as the adjoint method.

The network is a chain z_i = phi_i(z_{i-1}), i = 1..N, with z_0 = x and z_N the prediction.
Training minimises L(z_N) subject to these constraints; with Lagrange multipliers mu_i the
stationarity conditions are the adjoint equations

    mu_N = -dL/dz_N
    mu_{i-1} = (d phi_i / d z_{i-1})^T mu_i          i = N, ..., 1
    dL/dtheta_i = -mu_i^T (d phi_i / d theta_i)

so the gradient needs one backward sweep of vector-Jacobian products and never a Jacobian
matrix.  For the dense layer phi(x) = sigma(x W + b) these read

    delta_i = mu_i * sigma'(a_i),   mu_{i-1} = delta_i W_i^T,
    dL/dW_i = -z_{i-1}^T delta_i,   dL/db_i = -sum_batch delta_i,

the first the activation's rule and the rest the affine map's (``Dense.vjp``), and ``MLP.backward`` is the
loop i = N, ..., 1 over them, the one every caller uses: training (into one flat gradient vector, negated
once), the gradient check, the notebook's traps and the teaching pages (recording sigma'(a_i) and delta_i).

All parameters live in one flat float64 vector ``theta`` and every (W, b) is a view into it, so an
optimiser can update the whole network with a handful of vector operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .activations import ACTIVATIONS, Activation, get_activation
from .errors import ConfigError
from .limits import check, check_choice, check_seed, check_sizes

Array = np.ndarray
Cache = tuple[Array, Array, Array]  # (x, a, z): input, pre-activation, output

_ONES: dict[int, Array] = {}


def batch_sum(d: Array, out: Array | None = None) -> Array:
    """sum_batch d = 1^T d, (batch, width) -> (width,) (into ``out`` if given): a product with a kept vector of
    ones, 2.5x faster than d.sum(axis=0) at these shapes."""
    ones = _ONES.get(len(d))
    if ones is None:
        ones = _ONES[len(d)] = np.ones(len(d))
    return np.dot(ones, d, out=out)


class Dense:
    """phi(x) = sigma(x W + b) with W (d_in, d_out) and b (d_out,), both views into the network's theta."""

    def __init__(self, W: Array, b: Array, activation: Activation) -> None:
        self.W, self.b, self.activation = W, b, activation

    def forward(self, x: Array) -> tuple[Array, Cache]:
        """x (batch, d_in) -> z = sigma(a) (batch, d_out), cache (x, a, z) with a = x W + b."""
        a = np.dot(x, self.W)     # np.dot: faster than @ for the shapes (batch, 1) and (1, width)
        a += self.b
        z = self.activation.forward(a)
        return z, (x, a, z)

    def vjp(self, x: Array, delta: Array, dW: Array | None = None,
            db: Array | None = None) -> tuple[Array, Array, Array]:
        """The affine map's VJP: delta = -dL/da (batch, d_out) at input x (batch, d_in) ->
        (mu_prev = delta W^T (batch, d_in), x^T delta = -dL/dW (d_in, d_out), sum_batch delta = -dL/db (d_out,)),
        the last two written into ``dW``, ``db`` when given."""
        return np.dot(delta, self.W.T), np.dot(x.T, delta, out=dW), batch_sum(delta, out=db)


@dataclass
class Record:
    """What ``MLP.backward`` keeps of each layer when handed one, input side first (entry i-1 for layer i)."""

    sigma_primes: list[Array] = field(default_factory=list)   # sigma_i'(a_i), (batch, d_i)
    deltas: list[Array] = field(default_factory=list)         # delta_i = mu_i * sigma_i'(a_i), (batch, d_i)


INIT_SCHEMES = ("notebook", "xavier", "he")


def layer_activations(activation: str | Sequence[str], n_hidden: int) -> list[str]:
    """One checked activation name per layer: the hidden ones as given, the output layer 'identity'."""
    if isinstance(activation, (list, tuple)):
        names = [check_choice("activation", name, ACTIVATIONS) for name in activation]
        if len(names) != n_hidden:
            raise ConfigError("activation", f"{len(names)} names for {n_hidden} hidden layers",
                              "one name, or one per hidden layer")
    else:
        names = [check_choice("activation", activation, ACTIVATIONS)] * n_hidden
    return names + ["identity"]


class MLP:
    """A multilayer perceptron z_N = phi_N(... phi_1(x)) with dense layers.

    ``init``: "notebook" draws hidden W, b ~ N(0, 1) and the output layer's W, b ~ init_scale * N(0, 1);
    "xavier" (W ~ N(0, 2/(d_in+d_out))) and "he" (W ~ N(0, 2/d_in)) scale every W by init_scale, b = 0.
    """

    def __init__(self, sizes: Sequence[int], activation: str | Sequence[str] = "relu", seed: int = 0,
                 init: str = "notebook", init_scale: float = 1.0,
                 rng: np.random.Generator | None = None) -> None:
        self.sizes = check_sizes(sizes)
        self.activations = layer_activations(activation, len(self.sizes) - 2)
        check_choice("init", init, INIT_SCHEMES)
        init_scale = check("init_scale", init_scale)
        rng = rng or np.random.default_rng(check_seed(seed))
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
        self._kept_views: tuple[Array | None, list[tuple[Array, Array]]] = (None, [])   # see _views_of

    @property
    def n_layers(self) -> int:
        """N, the number of dense layers (hidden layers + output)."""
        return len(self.layers)

    def n_params(self) -> int:
        """P, the number of parameters."""
        return self.theta.size

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
        """x (batch, d_in) -> z_N (batch, d_out); keeps the residuals for ``backward``."""
        self._caches = []
        z = x
        for layer in self.layers:
            z, cache = layer.forward(z)
            self._caches.append(cache)
        return z

    def predict(self, x: Array) -> Array:
        """x (batch, d_in) -> z_N (batch, d_out) without keeping residuals (plots, test loss)."""
        z = x
        for layer in self.layers:
            z = layer.forward(z)[0]
        return z

    def zs(self, x: Array) -> list[Array]:
        """Every intermediate state [z_0 = x, z_1, ..., z_N] for x (batch, d_in); keeps the residuals."""
        self.forward(x)
        return [self._caches[0][0]] + [c[2] for c in self._caches]

    def caches(self) -> list[Cache]:
        """The residuals (x, a, z) of each layer from the last ``forward``, input side first."""
        return list(self._caches)

    def forget(self) -> None:
        """Drop the residuals of the last ``forward`` (a training step's, ~100 kB for a 64-wide network at batch
        50: a run keeps none between its steps)."""
        self._caches = []

    def _views_of(self, flat: Array) -> list[tuple[Array, Array]]:
        """``views(flat)``, kept for the last vector asked about (the training step passes the same one each time;
        building the views takes ~2 us, 3% of a small network's step)."""
        if self._kept_views[0] is not flat:
            self._kept_views = (flat, self.views(flat))
        return self._kept_views[1]

    def backward(self, mu: Array, out: Array | None = None, record: Record | None = None,
                 caches: Sequence[Cache] | None = None) -> tuple[list[tuple[Array, Array]], list[Array]]:
        """mu_N (batch, d_out) = -dL/dz_N -> (grads [(dL/dW_i, dL/db_i), ...] input side first,
        mus [mu_N, ..., mu_0], mu_i (batch, sizes[i])), for the x of the last ``forward``.

        The grads are views into ``out``, dL/dtheta (P,) in ``theta``'s order (a fresh vector when None).
        ``record`` keeps each layer's sigma'(a_i) and delta_i; ``caches`` replaces the residuals (x, a, z)
        of the last ``forward``.
        """
        caches = self._caches if caches is None else caches
        if not caches:
            raise RuntimeError("call forward(x) before backward(mu)")
        grad = np.empty(self.theta.size) if out is None else out
        grads = self.views(grad) if out is None else self._views_of(out)
        mus = [mu]
        for layer, (x, a, z), (dW, db) in zip(reversed(self.layers), reversed(caches), reversed(grads)):
            sigma_prime = layer.activation.derivative(a, z)
            delta = mu * sigma_prime                  # delta_i = mu_i * sigma'(a_i)
            mu = layer.vjp(x, delta, dW, db)[0]       # mu_{i-1} = delta_i W_i^T; x^T delta_i, sum delta_i into grad
            mus.append(mu)
            if record is not None:
                record.sigma_primes.insert(0, sigma_prime)
                record.deltas.insert(0, delta)
        np.negative(grad, out=grad)                   # dL/dtheta = -(x^T delta_i, sum delta_i)_i
        return grads, mus

    def flat(self, pairs: Sequence[tuple[Array, Array]], out: Array | None = None) -> Array:
        """Per-layer (W-shaped, b-shaped) pairs -> one (P,) vector in ``theta``'s order (into ``out`` if given)."""
        return np.concatenate([a.ravel() for pair in pairs for a in pair], out=out)
