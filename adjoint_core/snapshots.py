"""Parameter snapshots for replay: copies of theta at a thinned set of steps, in bounded memory.

``ThetaSnapshots`` keeps theta at steps 0, k, 2k, ... (k = ``spacing``, starting at 1).  When it is full, every
other snapshot is dropped and k doubles, like the history's compaction, so a run of any length keeps at most
``capacity`` snapshots spread over its whole course, and each step pays only a comparison except every k-th,
which copies theta.  ``replay.py`` rebuilds what a kept step looked like.

A run trained elsewhere (Play's training process) hands its snapshots over to the copy that keeps them
(``hand_over``, ``receive``): afterwards it holds only the thetas it keeps after the hand-over, and still its
steps, so that both thin alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

Array = np.ndarray
MAX_SNAPSHOTS = 64
MIN_SNAPSHOTS = 2          # the first step and one more
BUDGET_BYTES = 4 * 2**20   # per run: wide networks keep fewer snapshots (the largest allowed: 2, 3.2 MB)
ARRAY_STEPS, ARRAY_THETA, ARRAY_SPACING = "replay_steps", "replay_theta", "replay_spacing"   # in Snapshot.arrays


def capacity_for(n_params: int) -> int:
    """Snapshots kept for a theta of n_params float64: at most MAX_SNAPSHOTS within BUDGET_BYTES, even, and at
    least MIN_SNAPSHOTS (within the budget up to limits.MAX_PARAMS)."""
    fit = BUDGET_BYTES // (8 * max(1, n_params))
    return max(MIN_SNAPSHOTS, min(MAX_SNAPSHOTS, fit) // 2 * 2)


@dataclass(frozen=True)
class NewSnapshots:
    """The snapshots of a run trained elsewhere, for the copy that keeps them (``ThetaSnapshots.receive``): its
    kept steps (n,) and spacing, and the thetas (k, P) of the last k steps; the copy holds the first n - k."""

    steps: Array
    spacing: int
    thetas: Array


class ThetaSnapshots:
    """Copies of theta (P,) at thinned steps; ``due`` is the next step to keep (the step path compares to it).

    The thetas of the first ``held_from`` kept steps were handed over (``hand_over``); row i of the store
    (capacity, P) holds the theta of kept step ``held_from + i``.  Thinning, loading, handing over and receiving
    thinned snapshots start a fresh store, so that only the rows in use take memory.
    """

    def __init__(self, theta: Array, step: int = 0) -> None:
        self.capacity = capacity_for(theta.size)
        self._theta = np.empty((self.capacity, theta.size))
        self._steps = np.empty(self.capacity, dtype=np.int64)
        self.n, self.spacing, self.due, self.held_from = 0, 1, 0, 0
        self.add(step, theta)

    def add(self, step: int, theta: Array) -> None:
        """Keep a copy of theta (P,) as the state after ``step``; thins first when full."""
        if self.n == self.capacity:   # keep the even kept steps; of their thetas, those held here
            keep, held = self.capacity // 2, self.held_from
            self._new_store(self._theta[held % 2:self.n - held:2])   # the dropped rows' pages go with the old
            self._steps[:keep] = self._steps[0:self.capacity:2]
            self.n, self.spacing, self.held_from = keep, 2 * self.spacing, (held + 1) // 2
        self._theta[self.n - self.held_from] = theta
        self._steps[self.n] = step
        self.n += 1
        self._set_due(step)

    def drop_from(self, step: int) -> None:
        """Forget the snapshots of ``step`` and later (a step taken back), keeping the first."""
        while self.n > 1 and self._steps[self.n - 1] >= step:
            self.n -= 1
        self.held_from = min(self.held_from, self.n)
        self._set_due(int(self._steps[self.n - 1]))

    def pending(self) -> NewSnapshots:
        """The kept steps, the spacing and copies of the thetas held here (those kept since the last hand-over)."""
        return NewSnapshots(self.steps, self.spacing, self._theta[:self.n - self.held_from].copy())

    def hand_over(self) -> NewSnapshots:
        """``pending``, after which this holds none of those thetas (the copy that ``receive``s them does)."""
        new = NewSnapshots(self.steps, self.spacing, self._theta[:self.n - self.held_from])
        self._new_store(new.thetas[:0])   # the handed-over rows' pages leave with the old store
        self.held_from = self.n
        return new

    def receive(self, new: NewSnapshots) -> None:
        """Become the snapshots of the run that handed ``new`` over: its steps, the thetas held here for the
        first n - k of them and its k new thetas."""
        n, k = new.steps.size, len(new.thetas)
        rows = self._rows_of(new)
        if not np.array_equal(rows, np.arange(n - k)):   # thinned there: the kept rows to a fresh store
            self._new_store(self._theta[rows])
        self._theta[n - k:n] = new.thetas
        self._steps[:n] = new.steps
        self.n, self.spacing = n, new.spacing
        self._set_due(int(new.steps[-1]))

    def merged(self, new: NewSnapshots) -> dict[str, Array]:
        """The ``arrays`` these snapshots would give after ``receive(new)``; these stay as they are."""
        thetas = np.concatenate([self._theta[self._rows_of(new)], new.thetas])
        return {ARRAY_STEPS: new.steps, ARRAY_THETA: thetas, ARRAY_SPACING: np.array([new.spacing])}

    def _rows_of(self, new: NewSnapshots) -> Array:
        """The rows (n - k,) holding the thetas of the first n - k steps of ``new``; ValueError when not all of them
        are held here (every theta must be: none handed over from here)."""
        held, steps = self._steps[:self.n], new.steps[:new.steps.size - len(new.thetas)]
        rows = np.searchsorted(held, steps)
        if self.held_from or not np.array_equal(held[np.minimum(rows, self.n - 1)], steps):
            raise ValueError("the snapshots handed over do not follow those held here")
        return rows

    def _new_store(self, thetas: Array) -> None:
        """Hold ``thetas`` (m, P) in the first m rows of a fresh store: its other rows take no memory until written
        (with malloc's mmap threshold at 128 kB, as the app sets it, a store that large is a mapping of its own)."""
        store = np.empty_like(self._theta)
        store[:len(thetas)] = thetas
        self._theta = store

    def _set_due(self, last: int) -> None:
        """The next step to keep after ``last``: the next multiple of the spacing."""
        self.due = (last // self.spacing + 1) * self.spacing

    @property
    def steps(self) -> Array:
        """The kept steps, ascending, (n,) int."""
        return self._steps[:self.n].copy()

    def theta_at(self, step: int) -> Array:
        """A copy of theta (P,) kept at ``step``; KeyError when that step is not kept."""
        i = np.searchsorted(self._steps[:self.n], step)
        if i == self.n or self._steps[i] != step or i < self.held_from:
            raise KeyError(f"no snapshot at step {step}")
        return self._theta[i - self.held_from].copy()

    def arrays(self) -> dict[str, Array]:
        """Copies of the kept steps (n,), thetas (n, P) and the spacing (1,), for a run's Snapshot; none once
        some were handed over (their copy holds them)."""
        if self.held_from:
            return {}
        return {ARRAY_STEPS: self.steps, ARRAY_THETA: self._theta[:self.n].copy(),
                ARRAY_SPACING: np.array([self.spacing])}

    def load(self, arrays: dict[str, Array], theta: Array, step_count: int) -> None:
        """Take the snapshots of ``arrays`` (from ``arrays``); without them keep only theta at step_count.

        Steps must ascend within 0..step_count and thetas match (P,): anything else raises ConfigError.
        """
        if ARRAY_STEPS not in arrays:
            self.n, self.spacing, self.held_from = 0, 1, 0
            self.add(step_count, theta)
            return
        steps, thetas = arrays[ARRAY_STEPS], arrays.get(ARRAY_THETA)
        spacing = arrays.get(ARRAY_SPACING, np.zeros(0))
        n = steps.size
        if thetas is None or steps.ndim != 1 or thetas.shape != (n, theta.size) or not 0 < n <= self.capacity \
                or spacing.shape != (1,) or not 1 <= spacing[0] <= 2**62 or spacing[0] != int(spacing[0]) \
                or (steps != np.round(steps)).any() or (np.diff(steps) <= 0).any() \
                or steps[0] < 0 or steps[-1] > step_count or not np.isfinite(thetas).all():
            raise ConfigError("run file", "the replay snapshots do not fit the run",
                              "a run saved from the same architecture")
        self.n, self.spacing, self.held_from = n, int(spacing[0]), 0
        self._steps[:n] = steps
        self._new_store(thetas)
        self._set_due(int(steps[-1]))

