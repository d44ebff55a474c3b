"""Replay: what a run looked like after a kept step (snapshots.py): a model with that step's theta, and its
adjoints on a fixed batch, computed by the engine.  The run is untouched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .adjoint_field import backward_trace, fixed_batch
from .network import MLP
from .training import TrainingRun

Array = np.ndarray


def model_at(net: MLP, theta: Array) -> MLP:
    """A new MLP with ``net``'s layers and activations and the parameters theta (P,) (copied)."""
    model = MLP(net.sizes, net.activations[:-1], rng=np.random.default_rng(0))
    np.copyto(model.theta, theta)
    return model


@dataclass
class Replay:
    """What the run looked like after ``step``: its model, and the adjoints on ``run``'s fixed batch."""

    step: int
    net: MLP
    mu_norms: Array   # (N + 1,) ||mu_i|| over the batch, backward order mu_N, ..., mu_0


def replay(run: TrainingRun, step: int) -> Replay:
    """The model after ``step`` (a kept snapshot, KeyError otherwise) and its ||mu_i|| on a fixed batch of
    batch_size training points (the same batch at every step, drawn with the run's seed)."""
    net = model_at(run.net, run.theta_snapshots.theta_at(step))
    idx = fixed_batch(run.n_train, run.config.batch_size, seed=run.seed)
    trace = backward_trace(net, run.loss_fn, run.data.x[idx], run.data.y[idx])
    return Replay(step, net, trace.mu_norms()[::-1].copy())
