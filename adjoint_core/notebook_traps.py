r"""The seed notebook's two gradient mistakes, reproduced on our engine so the app can measure them.

1. sigma' at the output: the notebook evaluates the activation's derivative at the layer's output
   z_i = sigma(a_i) instead of at the pre-activation a_i.  For ReLU (and leaky ReLU) this changes
   nothing, since sigma(a) > 0 exactly when a > 0; for sigmoid, tanh and softplus it is a different
   number, so the gradient is wrong.
2. 1/B twice: mu_N = -(z_N - y)/B already carries the batch mean, and the notebook then averages the
   per-sample parameter terms over the batch again, giving dL/dtheta / B.  The direction is right,
   the length is B times too small, so training with lr and weight decay wd on it equals training on
   the true gradient with lr / B and wd * B.

``notebook_gradient`` computes either variant, or both, with one forward and one ``MLP.backward``; for
trap 1 each layer's residuals (x, a, z) are handed to it as (x, z, sigma(z)), so sigma' is evaluated at z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gradcheck import adjoint_gradient, numeric_gradient, relative_error
from .loss_increment import increment_loss
from .network import MLP

Array = np.ndarray

VARIANTS = (  # (key, sigma_prime_at_output, average_again)
    ("adjoint", False, False),
    ("trap 2: 1/B twice", False, True),
    ("trap 1: sigma' at output", True, False),
    ("both traps (the notebook)", True, True),
)


def notebook_gradient(net: MLP, loss_fn, x: Array, y: Array, sigma_prime_at_output: bool,
                      average_again: bool) -> Array:
    """The flat (P,) gradient with the notebook's mistakes switched on or off (both off: dL/dtheta).

    x (B, d_0), y (B, d_N); the layout is that of ``net.theta``.
    """
    _, mu = loss_fn(net.forward(x), y)
    caches = net.caches()
    if sigma_prime_at_output:
        caches = [(x_in, z, layer.activation.forward(z)) for layer, (x_in, _, z) in zip(net.layers, caches)]
    grad = np.empty(net.theta.size)
    net.backward(mu, out=grad, caches=caches)
    if average_again:
        grad /= len(x)
    return grad


@dataclass
class TrapResult:
    """One gradient variant against central finite differences on the same entries."""

    name: str
    sigma_prime_at_output: bool
    average_again: bool
    gradient: Array        # the variant's checked entries
    numeric: Array         # finite differences at the same entries
    rel_error: float       # ||gradient - numeric|| / max(||gradient||, ||numeric||)
    ratio_median: float    # median of numeric / gradient over entries with |gradient| > 0
    ratio_min: float
    ratio_max: float


def _ratios(numeric: Array, gradient: Array) -> tuple[float, float, float]:
    scale = max(np.max(np.abs(gradient), initial=0.0), 1e-300)
    keep = np.abs(gradient) > 1e-6 * scale
    if not keep.any():
        return (np.nan, np.nan, np.nan)
    r = numeric[keep] / gradient[keep]
    return float(np.median(r)), float(r.min()), float(r.max())


def trap_report(net: MLP, loss_fn, x: Array, y: Array, eps: float = 1e-6, max_entries: int | None = 300,
                rng: np.random.Generator | None = None) -> list[TrapResult]:
    """Each of ``VARIANTS`` against central differences of the loss on one random set of entries.

    The finite differences use the loss increment (``loss_increment``) so their own error is ~1e-9.
    ``max_entries`` random entries of theta are checked (all when None or when P is smaller).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    P = net.theta.size
    if max_entries is None or P <= max_entries:
        idx = np.arange(P)
    else:
        idx = np.sort(rng.choice(P, max_entries, replace=False))
    numeric = numeric_gradient(net, increment_loss(net, loss_fn, x), x, y, eps, idx)
    results = []
    for name, at_output, again in VARIANTS:
        if at_output or again:
            g = notebook_gradient(net, loss_fn, x, y, at_output, again)[idx]
        else:
            g = adjoint_gradient(net, loss_fn, x, y)[0][idx]
        results.append(TrapResult(name, at_output, again, g, numeric, relative_error(g, numeric), *_ratios(numeric, g)))
    return results
