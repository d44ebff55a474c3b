"""Bounded training history: recent rows exact, older rows averaged in pairs as the run grows.

A ``Trace`` holds at most ``capacity`` rows of (position, values...).  When it is full, the older half
is averaged in pairs, so the newest ``capacity // 2`` rows are always exact and memory stays fixed
for runs of any length (after 2^k compactions the oldest rows are means of 2^k steps).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


class Trace:
    """A table of rows [position, v_1, ..., v_width] with bounded memory."""

    def __init__(self, width: int, capacity: int = 8192) -> None:
        if capacity < 4 or capacity % 4:
            raise ValueError("capacity must be a positive multiple of 4")
        self.data = np.empty((capacity, width + 1))
        self.n = 0
        self.compactions = 0   # how often the older half was averaged (rows before n moved)

    def next_row(self) -> Array:
        """The (width + 1,) row to fill for the next record; compacts first when full."""
        if self.n == len(self.data):
            self._compact()
        row = self.data[self.n]
        self.n += 1
        return row

    def _compact(self) -> None:
        half = len(self.data) // 2
        old = self.data[:half]
        self.data[:half // 2] = 0.5 * (old[0::2] + old[1::2])
        self.data[half // 2:half // 2 + half] = self.data[half:]
        self.n = half // 2 + half
        self.compactions += 1

    def rows(self) -> Array:
        """A copy of the filled rows, (n, width + 1)."""
        return self.data[:self.n].copy()

    def load(self, rows: Array, start: int = 0) -> None:
        """Replace the rows from ``start`` on with ``rows`` (k, width + 1), start <= n, start + k <= capacity."""
        if rows.ndim != 2 or rows.shape[1] != self.data.shape[1] or not 0 <= start <= self.n \
                or start + len(rows) > len(self.data):
            raise ValueError(f"history rows of shape {rows.shape} from row {start} do not fit {self.data.shape}")
        self.data[start:start + len(rows)] = rows
        self.n = start + len(rows)


class History:
    """What a TrainingRun records.

    Per step (columns of ``steps``): the step number, train loss, the squared Frobenius norms
    ||mu_i||_F^2 = sum over the batch and units of mu_i^2 for i = N..0, and ||dL/dW_i||_F^2 for
    i = 1..N.  Per epoch: the step it ended at, the epoch-mean train loss and the test loss (NaN
    without a test set).
    """

    def __init__(self, n_layers: int, capacity: int = 8192) -> None:
        self.n_layers = n_layers
        self.steps = Trace(1 + (n_layers + 1) + n_layers, capacity)
        self.epochs = Trace(3, capacity)

    # --- per step -------------------------------------------------------------------------
    @property
    def step(self) -> Array:
        """Step number of each recorded row (a mean for averaged rows), (n,)."""
        return self.steps.data[:self.steps.n, 0].copy()

    @property
    def loss(self) -> Array:
        """Train loss on the mini-batch of each step, (n,)."""
        return self.steps.data[:self.steps.n, 1].copy()

    @property
    def mu_norms(self) -> Array:
        """||mu_i||_F over the batch, (n, N + 1), columns in backward order mu_N, ..., mu_0."""
        return np.sqrt(self.steps.data[:self.steps.n, 2:3 + self.n_layers])

    @property
    def mu_ratio(self) -> Array:
        """||mu_0|| / ||mu_N|| of each step, (n,): the share of the output's adjoint that reaches the input."""
        rows = self.steps.data[:self.steps.n]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(rows[:, 2 + self.n_layers] / rows[:, 2])

    @property
    def grad_norms(self) -> Array:
        """||dL/dW_i||_F, (n, N), columns input side first (W_1, ..., W_N)."""
        return np.sqrt(self.steps.data[:self.steps.n, 3 + self.n_layers:])

    # --- per epoch ------------------------------------------------------------------------
    @property
    def epoch(self) -> Array:
        """Epoch number (1-based) of each per-epoch row, (m,)."""
        return self.epochs.data[:self.epochs.n, 0].copy()

    @property
    def epoch_step(self) -> Array:
        """The step count at the end of each epoch, (m,)."""
        return self.epochs.data[:self.epochs.n, 1].copy()

    @property
    def epoch_loss(self) -> Array:
        """Mean train loss over each epoch's steps, (m,)."""
        return self.epochs.data[:self.epochs.n, 2].copy()

    @property
    def test_loss(self) -> Array:
        """Loss on the test set at the end of each epoch, (m,)."""
        return self.epochs.data[:self.epochs.n, 3].copy()
