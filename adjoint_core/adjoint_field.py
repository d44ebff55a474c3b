r"""What the teaching pages show of the adjoints: one batch's backward pass, and adjoints over input space.

Nothing here is a second implementation of the backward pass: ``backward_trace`` runs ``MLP.forward``,
the loss and ``MLP.backward`` and keeps what they return, with the two intermediate quantities a student
wants to see per layer, sigma'(a_i) and delta_i = mu_i * sigma'(a_i), recorded by ``MLP.backward``.

``adjoint_field`` evaluates the adjoint of a *single-sample* loss at every point of an input grid:
l_k, the run's loss on point k alone, with the adjoint mu_N,k = -dl_k/dz_k (for the MSE -(z_k - y_k), for
the Huber loss -clip(z_k - y_k, -d, d)).  The losses of ``losses.py`` are means over the batch and return
mu_N = -(1/B) dl_k/dz_k for each row, so B * mu_N holds the per-point adjoints, and because the adjoint
recursion acts on each row separately (mu_{i-1} = (mu_i * sigma'(a_i)) W_i^T, row by row), a single
backward pass over the whole grid as one batch yields every point's own mu_i: the row norms of mu_i are the
per-point adjoint norms ||mu_i(x)||.  A point where they vanish is one whose error signal does not reach that
layer (dead ReLU units, saturated sigmoids).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import MLP, Cache, Record

Array = np.ndarray


def fixed_batch(n: int, size: int, index: int = 0, seed: int = 0) -> Array:
    """Indices of batch ``index`` of size ``size`` in a fixed permutation of range(n) (rng ``seed``), (size,).

    Batches are taken cyclically, so every index gives a full batch; ``size`` is capped at n.
    """
    size = max(1, min(int(size), n))
    perm = np.random.default_rng(seed).permutation(n)
    n_batches = max(1, n // size)
    start = (int(index) % n_batches) * size
    return perm[start:start + size]


@dataclass
class BackwardTrace:
    """One forward and backward pass on a batch, everything indexed like the maths.

    ``mus`` are [mu_N, ..., mu_0] exactly as ``MLP.backward`` returns them; the per-layer lists
    (``grads``, ``caches``, ``sigma_primes``, ``deltas``) are input side first, entry i-1 for layer i.
    """

    x: Array                         # (B, d_0) the batch, z_0
    y: Array                         # (B, d_N) targets
    z_N: Array                       # (B, d_N) prediction
    loss: float
    mus: list[Array]                 # [mu_N, ..., mu_0], mu_i (B, d_i)
    grads: list[tuple[Array, Array]]  # [(dL/dW_i (d_{i-1}, d_i), dL/db_i (d_i,)), ...] i = 1..N
    caches: list[Cache]              # [(z_{i-1}, a_i, z_i), ...] i = 1..N
    sigma_primes: list[Array]        # sigma_i'(a_i), (B, d_i), i = 1..N
    deltas: list[Array]              # delta_i = mu_i * sigma_i'(a_i), (B, d_i), i = 1..N

    @property
    def n_layers(self) -> int:
        """N."""
        return len(self.caches)

    @property
    def batch_size(self) -> int:
        """B."""
        return len(self.x)

    def mu(self, i: int) -> Array:
        """mu_i, (B, d_i), for i = 0..N."""
        return self.mus[self.n_layers - i]

    def mu_norms(self) -> Array:
        """Frobenius norms [||mu_0||, ..., ||mu_N||] over the batch, (N + 1,), input side first."""
        with np.errstate(over="ignore"):   # a diverged run's huge adjoints: inf, not a warning
            return np.array([np.linalg.norm(m) for m in reversed(self.mus)])

    def mean_abs_mu(self, i: int) -> Array:
        """|mu_i| of each unit averaged over the batch, (d_i,)."""
        return np.mean(np.abs(self.mu(i)), axis=0)


def backward_trace(net: MLP, loss_fn, x: Array, y: Array) -> BackwardTrace:
    """Forward x (B, d_0), the loss against y (B, d_N), and one backward pass; see ``BackwardTrace``.

    Only the network's residual cache changes; parameters are untouched.
    """
    with np.errstate(all="ignore"):
        z_N = net.forward(x)
        loss, mu_N = loss_fn(z_N, y)
        record = Record()
        grads, mus = net.backward(mu_N, record=record)
    return BackwardTrace(x=x, y=y, z_N=z_N, loss=float(loss), mus=mus, grads=grads, caches=net.caches(),
                         sigma_primes=record.sigma_primes, deltas=record.deltas)


def adjoint_field(net: MLP, loss_fn, x_grid: Array, y_grid: Array) -> list[Array]:
    """Per-point adjoint norms over an input grid: [||mu_N(x)||, ..., ||mu_0(x)||], each (n,).

    x_grid (n, d_0), y_grid (n, d_N).  mu is the adjoint of ``loss_fn`` on each point alone (n times the
    batch loss's mu_N); one vectorised forward and backward pass over
    the grid as a batch (see the module docstring).  Points with a non-finite target give NaN.
    """
    n = len(x_grid)
    with np.errstate(all="ignore"):
        z = net.forward(x_grid)
        _, mu = loss_fn(z, y_grid)
        mu = mu * n  # the batch loss divides by n; the single-sample loss does not
        _, mus = net.backward(mu)
        return [np.sqrt(np.sum(m * m, axis=1)) for m in mus]
