"""A minimal vectorised NumPy training step, the speed reference for ``bench_core.py``.

The same network, MSE loss and EMA momentum as an ``ac.MLP`` trained by ``ac.TrainingRun``, written the
shortest way NumPy allows and without anything the engine adds: no history, no divergence backup, no
validation.  It keeps its own copy of the parameters and computes the usual dL/dz backward pass.
"""

from __future__ import annotations

import numpy as np

import adjoint_core as ac

Array = np.ndarray


def _sigmoid(a: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-a))


# name -> (sigma(a), sigma'(a) from a and z)
ACTIVATIONS = {
    "relu": (lambda a: np.maximum(a, 0.0), lambda a, z: a > 0),
    "sigmoid": (_sigmoid, lambda a, z: z * (1.0 - z)),
    "tanh": (np.tanh, lambda a, z: 1.0 - z * z),
    "identity": (lambda a: a, lambda a, z: 1.0),
}


class NumpyStep:
    """One training step of a copy of ``net``: forward, L = 0.5 mean ||z - y||^2, backward, momentum."""

    def __init__(self, net: ac.MLP, lr: float, beta: float, weight_decay: float) -> None:
        self.params = [(W.copy(), b.copy()) for W, b in net.params]
        self.acts = [ACTIVATIONS[name] for name in net.activations]
        self.momenta = [(np.zeros_like(W), np.zeros_like(b)) for W, b in self.params]
        self.lr, self.beta, self.wd = lr, beta, weight_decay

    def __call__(self, x: Array, y: Array) -> float:
        """x (B, d_in), y (B, d_out) -> the batch loss before the update."""
        zs, pre = [x], []
        for (W, b), (f, _) in zip(self.params, self.acts):
            pre.append(zs[-1] @ W + b)
            zs.append(f(pre[-1]))
        r = zs[-1] - y
        loss = 0.5 * float(np.sum(r * r)) / len(x)
        g = r / len(x)                                   # dL/dz_N
        for i in reversed(range(len(self.params))):
            W, b = self.params[i]
            d = g * self.acts[i][1](pre[i], zs[i + 1])   # dL/da_i
            grads = (zs[i].T @ d, d.sum(axis=0))
            g = d @ W.T
            for w, gw, m in zip((W, b), grads, self.momenta[i]):
                m *= self.beta
                m += (1.0 - self.beta) * (gw + self.wd * w)
                w -= self.lr * m
        return loss
