"""A run's state as a ``Snapshot`` and back: ``capture`` and ``restore`` (TrainingRun.snapshot / restore).

The meta holds the setup and counters (JSON-ready), the arrays every array: theta, the optimiser's state
arrays ``slot0``, ``slot1``, ..., the batch order, the history's rows, the data and the replay snapshots (none
when the run has handed them over: ``ThetaSnapshots.hand_over``).
runfile.py writes them as a run's two files and checks them when read back.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import numpy as np

from . import changes as hp
from .batching import Batches
from .changes import TUNABLE
from .config import RunConfig
from .errors import ConfigError
from .history import History
from .network import MLP
from .optimisers import Optimiser
from .rollback import Rollback, optimiser_slots
from .runfile import Snapshot
from .snapshots import ThetaSnapshots
from .targets import Dataset, shared_data


class Run(Protocol):
    """The parts of a TrainingRun that its Snapshot holds."""

    config: RunConfig
    seed: int
    rng: np.random.Generator
    data: Dataset
    net: MLP
    optimiser: Optimiser
    batches: Batches
    history: History
    rollback: Rollback
    theta_snapshots: ThetaSnapshots
    changes: list[hp.Change]
    step_count: int
    epoch_count: int
    diverged: str | None
    divergence_steps: tuple[int, ...]

    def set_hyperparameters(self, **changes: Any) -> None: ...


def capture(run: Run) -> Snapshot:
    """A copy of the full state: parameters, optimiser, data order, rng, counters, history; the data and the
    order are read-only (shared.py), so the snapshot holds them as they are."""
    slots, batches, history = optimiser_slots(run.optimiser), run.batches, run.history
    meta = {"config": run.config.to_dict(), "seed": run.seed,
            "step_count": run.step_count, "epoch_count": run.epoch_count, "pos": batches.pos,
            "epoch_sum": history.epoch_sum, "epoch_steps": history.epoch_steps,
            "optimiser_t": run.optimiser.t, "n_slots": len(slots),
            "rng": run.rng.bit_generator.state, "diverged": run.diverged,
            "divergence_steps": list(run.divergence_steps), "changes": hp.to_json(run.changes)}
    arrays = {"theta": run.net.theta.copy(), "perm": batches.perm,   # read-only (shared.py): no copy needed
              "history_steps": history.steps.rows(), "history_epochs": history.epochs.rows(),
              "x": run.data.x, "y": run.data.y, "x_test": run.data.x_test, "y_test": run.data.y_test}
    for i, s in enumerate(slots):
        arrays[f"slot{i}"] = s.copy()
    arrays.update(run.theta_snapshots.arrays())
    return Snapshot(json.loads(json.dumps(meta)), arrays)


def restore(run: Run, snap: Snapshot) -> None:
    """Set ``run``'s state from a snapshot of a run with the same config structure; one that does not fit
    raises ConfigError."""
    meta, arrays = snap.meta, snap.arrays
    theta = arrays["theta"]
    if theta.shape != run.net.theta.shape:
        raise ConfigError("run file", f"{theta.size} parameters do not fit this network's {run.net.theta.size}",
                          "a run saved from the same architecture")
    config = RunConfig.from_mapping(meta["config"])
    run.data = shared_data(Dataset(x=arrays["x"], y=arrays["y"], x_test=arrays["x_test"], y_test=arrays["y_test"],
                                   target=run.data.target))
    run.set_hyperparameters(**{k: getattr(config, k) for k in TUNABLE})
    run.changes = hp.from_json(meta.get("changes", []))   # run files from before the record have none
    opt, n_slots = run.optimiser, int(meta["n_slots"])
    if n_slots not in (0, opt.n_slots):
        raise ConfigError("run file", f"{n_slots} optimiser state arrays for {config.optimiser}",
                          f"0 or {opt.n_slots}")
    diverged = meta.get("diverged")
    if diverged is not None and not isinstance(diverged, str):
        raise ConfigError("run file", "field 'diverged' is not text", "a saved run")
    np.copyto(run.net.theta, theta)
    opt.state = ([[arrays[f"slot{j}"].copy() for j in range(i, i + opt.n_slots)]
                  for i in range(0, n_slots, opt.n_slots)] if n_slots else [])
    opt.t = int(meta["optimiser_t"])
    run.batches = Batches(run.data.x, run.data.y, run.rng, arrays["perm"], int(meta["pos"]))
    run.step_count, run.epoch_count = int(meta["step_count"]), int(meta["epoch_count"])
    history = run.history
    history.epoch_sum, history.epoch_steps = float(meta["epoch_sum"]), int(meta["epoch_steps"])
    try:
        run.rng.bit_generator.state = meta["rng"]
    except (TypeError, ValueError, KeyError, OverflowError):
        raise ConfigError("run file", "the random generator state is malformed", "a saved run") from None
    try:
        history.steps.load(arrays["history_steps"])
        history.epochs.load(arrays["history_epochs"])
    except ValueError as e:
        raise ConfigError("run file", str(e), "a run saved from the same architecture") from None
    run.theta_snapshots.load(arrays, run.net.theta, run.step_count)
    run.diverged = diverged
    run.divergence_steps = tuple(int(k) for k in meta.get("divergence_steps", []))   # none in older files
    run.rollback.clear()
