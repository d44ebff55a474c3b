"""A deliberately straightforward per-sample-loop MLP trainer: an independent oracle for the engine's gradient
(tests/bench/test_loop_reference.py).

This is the style of a first implementation that follows the adjoint equations literally: Python loops
over the samples of a batch and over the layers, forming each layer's Jacobian d phi / d z
= diag(sigma'(a)) W^T for the sample and multiplying mu by its transpose, as the notebook did.  It is
slow on purpose but mathematically correct (sigma' at the pre-activation a; mu_N = -(z - y) / B and
the per-sample terms summed, not averaged), so it computes exactly the gradient that ``adjoint_core``
computes, by another route.
"""

from __future__ import annotations

import numpy as np

import adjoint_core as ac

Array = np.ndarray


class LoopMLP:
    """A copy of an ``ac.MLP``'s parameters and activations, trained one sample at a time."""

    def __init__(self, net: ac.MLP) -> None:
        self.params = [(W.copy(), b.copy()) for W, b in net.params]
        self.acts = [ac.get_activation(name) for name in net.activations]
        self.momentum = [(np.zeros_like(W), np.zeros_like(b)) for W, b in self.params]

    def loss_and_grads(self, x: Array, y: Array) -> tuple[float, list[tuple[Array, Array]]]:
        """x (B, d_in), y (B, d_out) -> (L = 0.5 mean_k ||z_k - y_k||^2, [(dL/dW, dL/db), ...])."""
        B = len(x)
        grads = [(np.zeros_like(W), np.zeros_like(b)) for W, b in self.params]
        loss = 0.0
        for k in range(B):
            zs, pre = [x[k]], []                    # z_0 = x_k; pre-activations a_i
            for (W, b), act in zip(self.params, self.acts):
                a = zs[-1] @ W + b
                pre.append(a)
                zs.append(act.forward(a))
            r = zs[-1] - y[k]
            loss += 0.5 * float(r @ r) / B
            mu = -r / B                             # mu_N = -dL/dz_N for this sample
            for i in reversed(range(len(self.params))):
                W = self.params[i][0]
                sigma_prime = self.acts[i].derivative(pre[i], zs[i + 1])
                delta = mu * sigma_prime            # diag(sigma'(a_i)) mu
                dW, db = grads[i]
                dW -= np.outer(zs[i], delta)        # dL/dW += -z_{i-1}^T delta
                db -= delta                         # dL/db += -delta
                jacobian = sigma_prime[:, None] * W.T   # d phi_i / d z_{i-1}, (d_out, d_in)
                mu = jacobian.T @ mu                # mu_{i-1} = (d phi_i / d z_{i-1})^T mu_i
        return loss, grads

    def gradient(self, x: Array, y: Array) -> Array:
        """dL/dtheta as a flat (P,) vector in ``MLP.theta`` order (per layer W.ravel(), then b)."""
        grads = self.loss_and_grads(x, y)[1]
        return np.concatenate([p.ravel() for pair in grads for p in pair])

    def train_step(self, x: Array, y: Array, lr: float, beta: float, wd: float) -> float:
        """One EMA-momentum step, m = beta m + (1 - beta)(g + wd w), w -= lr m; returns the batch loss."""
        loss, grads = self.loss_and_grads(x, y)
        for pair, gpair, mpair in zip(self.params, grads, self.momentum):
            for w, g, m in zip(pair, gpair, mpair):
                m *= beta
                m += (1.0 - beta) * (g + wd * w)
                w -= lr * m
        return loss
