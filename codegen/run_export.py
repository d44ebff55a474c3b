"""What an export holds: the run's setup, seed, length, mid-run changes and data, and the engine's losses to check.

``from_run`` describes a session's run; it replays the run on the engine from step 0 (with the same setup,
seed, data and changes) to read its first batch losses exactly (the history averages old steps of a long run)
and to prove that the description rebuilds the run: the replay must end with bit-identical parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import adjoint_core as ac
from adjoint_core.changes import TUNABLE, trajectory
from adjoint_core.datafile import DATA_TARGET, split_data

MAX_EXPORT_STEPS = 100_000                  # training steps the exported code replays (minutes of plain NumPy)
MAX_EXPORT_ROWS = ac.limits.MAX_CSV_ROWS    # uploaded data points embedded in the code: the upload limit
CHECKED_STEPS = 100                         # the first batch losses the exported code checks, with the last one

Change = tuple[int, str, object]   # (steps taken when it was made, field of TUNABLE, new value)


@dataclass(frozen=True, eq=False)
class RunExport:
    """A run to write out as code.

    ``config`` is the setup at step 0; each change (s, field, value) sets a TUNABLE field after s steps.
    ``data`` is the uploaded (x (n, d), y (n, 1)) in upload order for a run on uploaded data, else None.
    ``first_losses`` are the engine's first batch losses (at most CHECKED_STEPS), ``last_loss`` its last.
    """

    config: ac.RunConfig
    seed: int
    steps: int
    changes: tuple[Change, ...]
    data: tuple[np.ndarray, np.ndarray] | None
    first_losses: tuple[float, ...]
    last_loss: float


def uploaded_data(run: ac.TrainingRun) -> tuple[np.ndarray, np.ndarray]:
    """The uploaded data of a run on it, in upload order: its training and test rows put back where the seed's
    split (``split_data``, the run's first random draw) took them from."""
    d = run.data
    n = len(d.x) + len(d.x_test)
    index = np.arange(n, dtype=float)[:, None]
    where = split_data(index, index, run.config.test_fraction, np.random.default_rng(run.seed))
    x, y = np.empty((n, d.x.shape[1])), np.empty((n, 1))
    for rows, xs, ys in ((where.x, d.x, d.y), (where.x_test, d.x_test, d.y_test)):
        x[rows[:, 0].astype(int)], y[rows[:, 0].astype(int)] = xs, ys
    return x, y


def refusal(run: ac.TrainingRun) -> str | None:
    """Why this run cannot be exported (a sentence naming the limit), or None; cheap, for the UI to show."""
    if run.step_count == 0:
        return "Take at least one training step first: the exported code reproduces the run's losses."
    if run.step_count > MAX_EXPORT_STEPS:
        return (f"This run has {run.step_count:,} steps; the exported code replays at most {MAX_EXPORT_STEPS:,} "
                "(plain NumPy would take too long). Reset and export a shorter run.")
    rows = len(run.data.x) + len(run.data.x_test)
    if run.config.target == DATA_TARGET and rows > MAX_EXPORT_ROWS:
        return (f"This run's data has {rows:,} points; the exported code embeds at most {MAX_EXPORT_ROWS:,} "
                "(the upload limit).")
    if run.diverged:
        return f"The run diverged ({run.diverged}): Reset or lower the learning rate, then export."
    return None


def from_run(run: ac.TrainingRun) -> RunExport:
    """The export of ``run``: its setup at step 0 and the hyperparameter changes its record holds (``run.changes``,
    replayed after the same numbers of steps).  Raises ConfigError("export", ...) when it cannot be exported or
    the description does not rebuild the run (a record that lost changes, e.g. past its bound)."""
    why = refusal(run)
    if why:
        raise ac.ConfigError("export", why)
    config = run.config.replace(**{name: trajectory(run.config, run.changes, name)[0][1] for name in TUNABLE})
    changes = tuple((c.step, c.field, c.new) for c in run.changes)
    data = uploaded_data(run) if config.target == DATA_TARGET else None
    replay = ac.TrainingRun(config, run.seed, data=data)
    first: list[float] = []
    done = 0
    for until in sorted({0, *(s for s, _, _ in changes), min(CHECKED_STEPS, run.step_count), run.step_count}):
        if until > done:
            if replay.run_steps(until - done) != until - done or replay.diverged:
                raise ac.ConfigError("export", f"the replay diverged ({replay.diverged})")
            done = until
            if len(first) < CHECKED_STEPS:
                first = list(replay.history.loss[:CHECKED_STEPS])
        for s, f, v in changes:
            if s == done:
                replay.set_hyperparameters(**{f: v})
    if not np.array_equal(replay.net.theta, run.net.theta):
        raise ac.ConfigError("export", "the run's record of its setting changes does not rebuild it, so code cannot "
                                       "replay it", "Reset, then export before changing a setting mid-run")
    return RunExport(config, run.seed, run.step_count, changes, data, tuple(first), float(replay.history.loss[-1]))
