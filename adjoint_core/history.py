"""Bounded training history: recent rows exact, older rows averaged in pairs as the run grows.

A ``Trace`` holds at most ``capacity`` rows of named columns, the first one the row's position (a step or
epoch number).  When it is full, the older half is averaged in pairs, so the newest ``capacity // 2`` rows
are always exact and memory stays fixed for runs of any length (after 2^k compactions the oldest rows are
means of 2^k steps).

What a run records is declared once, in ``step_columns`` and ``EPOCH_COLUMNS``: a recorded metric is a name
and a shape there, and one line in ``History.record_step`` or ``record_epoch`` that writes it; everything else
reads it by name.  Only finite step rows are written: a step whose squared norms overflow adds no row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
Columns = Sequence[tuple[str, tuple[int, ...]]]   # (name, shape): () one number per row, (k,) k numbers
Mark = tuple[int, int, int]   # a position in a History: (compactions of both tables, step rows, epoch rows)


def step_columns(n_layers: int) -> Columns:
    """What each training step records, in row order, for a network of N = n_layers layers."""
    return (("step", ()),                  # step number
            ("loss", ()),                  # train loss on the mini-batch
            ("mu_sq", (n_layers + 1,)),    # ||mu_i||_F^2 (sum over the batch and units of mu_i^2), i = N, ..., 0
            ("grad_sq", (n_layers,)))      # ||dL/dW_i||_F^2, i = 1, ..., N


EPOCH_COLUMNS: Columns = (("epoch", ()),       # epoch number, 1-based
                          ("step", ()),        # the step count at the end of the epoch
                          ("loss", ()),        # mean train loss over the epoch's steps
                          ("test_loss", ()))   # loss on the test set at the end of the epoch (NaN without one)


class Trace:
    """A table of rows of named columns (the first the position) with bounded memory."""

    def __init__(self, columns: Columns, capacity: int = 8192) -> None:
        if capacity < 4 or capacity % 4:
            raise ValueError("capacity must be a positive multiple of 4")
        self.index: dict[str, int | slice] = {}   # where each name sits in a row: a column, or a slice for (k,)
        width = 0
        for name, shape in columns:
            self.index[name] = slice(width, width + shape[0]) if shape else width
            width += shape[0] if shape else 1
        self.data = np.empty((capacity, width))
        self.n = 0
        self.compactions = 0   # how often the older half was averaged (rows before n moved)

    def column(self, name: str) -> Array:
        """A view of the named column of the filled rows: (n,), or (n, k) for shape (k,)."""
        return self.data[:self.n, self.index[name]]

    def next_row(self) -> Array:
        """The (width,) row to fill for the next record, counted at once; compacts first when full."""
        row = self.pending_row()
        self.n += 1
        return row

    def pending_row(self) -> Array:
        """The (width,) row after the filled ones, to fill and then ``commit``; until then it is not part of the
        table.  Compacts first when full."""
        if self.n == len(self.data):
            self._compact()
        return self.data[self.n]

    def commit(self) -> None:
        """Count the pending row as the newest record."""
        self.n += 1

    def _compact(self) -> None:
        half = len(self.data) // 2
        old = self.data[:half]
        self.data[:half // 2] = 0.5 * (old[0::2] + old[1::2])
        self.data[half // 2:half // 2 + half] = self.data[half:]
        self.n = half // 2 + half
        self.compactions += 1

    def rows(self, start: int = 0) -> Array:
        """A copy of the filled rows from ``start`` on, (n - start, width)."""
        return self.data[start:self.n].copy()

    def load(self, rows: Array, start: int = 0) -> None:
        """Replace the rows from ``start`` on with ``rows`` (k, width), start <= n, start + k <= capacity."""
        if rows.ndim != 2 or rows.shape[1] != self.data.shape[1] or not 0 <= start <= self.n \
                or start + len(rows) > len(self.data):
            raise ValueError(f"history rows of shape {rows.shape} from row {start} do not fit {self.data.shape}")
        self.data[start:start + len(rows)] = rows
        self.n = start + len(rows)


@dataclass(frozen=True)
class NewRows:
    """The history rows after a mark (``History.since``), for a copy of the history that holds the rows up to
    it (``History.load``): step rows from row ``steps_from`` on and epoch rows from ``epochs_from`` on (0, the
    whole tables, when the history was compacted since the mark); ``mark`` is where these rows end."""

    steps_from: int
    steps: Array
    epochs_from: int
    epochs: Array
    mark: Mark


class History:
    """What a TrainingRun records: ``steps`` with the columns of ``step_columns(N)``, ``epochs`` with
    ``EPOCH_COLUMNS``, and the running sum of this epoch's step losses for its mean.  The properties below
    read them by name; ``steps.column(name)`` reads any column."""

    def __init__(self, n_layers: int, capacity: int = 8192) -> None:
        self.n_layers = n_layers
        self.steps = Trace(step_columns(n_layers), capacity)
        self.epochs = Trace(EPOCH_COLUMNS, capacity)
        self.epoch_sum, self.epoch_steps = 0.0, 0   # this epoch's recorded step losses: sum and count
        columns = range(self.steps.data.shape[1])
        # the columns of ||mu_N||^2, ..., ||mu_0||^2, ||dL/dW_1||^2, ..., ||dL/dW_N||^2 in a step's row
        self._sq_at = [*columns[self.steps.index["mu_sq"]], *columns[self.steps.index["grad_sq"]]]

    # --- recording ------------------------------------------------------------------------
    def record_step(self, step: int, loss: float, arrays: Sequence[Array]) -> bool:
        """Add a step's row: ``step``, its (finite) ``loss`` and the squared norms of ``arrays`` (mu_N, ...,
        mu_0, dL/dW_1, ..., dL/dW_N), and count the loss towards the epoch's mean.  When a norm is not finite
        (mu ~ 1e155 is finite, its square is not) the row is not added and it returns False."""
        row, at = self.steps.pending_row(), self.steps.index
        row[at["step"]], row[at["loss"]] = step, loss
        total = 0.0
        for k, a in zip(self._sq_at, arrays, strict=True):
            row[k] = v = np.vdot(a, a)
            total += v
        if not math.isfinite(total):
            return False
        self.steps.commit()
        self.epoch_sum += loss
        self.epoch_steps += 1
        return True

    def take_back_step(self, loss: float) -> None:
        """Remove the newest step's row, whose ``loss`` counted towards the epoch's mean (a step taken back: its
        update led the model to diverge)."""
        self.steps.n -= 1
        self.epoch_sum -= loss
        self.epoch_steps -= 1

    def record_epoch(self, epoch: int, step: int, test_loss: float) -> None:
        """Add an epoch's row: its number, the step count, the mean loss of its recorded steps (NaN without
        any) and ``test_loss``; the next epoch's mean starts empty."""
        row, at = self.epochs.next_row(), self.epochs.index
        row[at["epoch"]], row[at["step"]], row[at["test_loss"]] = epoch, step, test_loss
        row[at["loss"]] = self.epoch_sum / self.epoch_steps if self.epoch_steps else math.nan
        self.drop_epoch()

    def drop_epoch(self) -> None:
        """End the epoch without a row (its model is not kept); the next epoch's mean starts empty."""
        self.epoch_sum, self.epoch_steps = 0.0, 0

    # --- copying rows to another history --------------------------------------------------
    def since(self, mark: Mark | None = None) -> NewRows:
        """The rows added after ``mark`` (the ``mark`` of the last ``since``; None: every row), from the newest
        row left when a step was taken back since."""
        compactions = self.steps.compactions + self.epochs.compactions
        n_steps, n_epochs = mark[1:] if mark is not None and mark[0] == compactions else (0, 0)
        n_steps, n_epochs = min(n_steps, self.steps.n), min(n_epochs, self.epochs.n)
        return NewRows(n_steps, self.steps.rows(n_steps), n_epochs, self.epochs.rows(n_epochs),
                       (compactions, self.steps.n, self.epochs.n))

    def load(self, rows: NewRows) -> None:
        """Add ``rows`` from another history's ``since``, replacing any rows of this one after their start."""
        self.steps.load(rows.steps, rows.steps_from)
        self.epochs.load(rows.epochs, rows.epochs_from)

    # --- per step -------------------------------------------------------------------------
    @property
    def step(self) -> Array:
        """Step number of each recorded row (a mean for averaged rows), (n,)."""
        return self.steps.column("step").copy()

    @property
    def loss(self) -> Array:
        """Train loss on the mini-batch of each step, (n,)."""
        return self.steps.column("loss").copy()

    @property
    def mu_norms(self) -> Array:
        """||mu_i||_F over the batch, (n, N + 1), columns in backward order mu_N, ..., mu_0."""
        return np.sqrt(self.steps.column("mu_sq"))

    @property
    def mu_ratio(self) -> Array:
        """||mu_0|| / ||mu_N|| of each step, (n,): the share of the output's adjoint that reaches the input."""
        mu_sq = self.steps.column("mu_sq")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(mu_sq[:, -1] / mu_sq[:, 0])

    @property
    def grad_norms(self) -> Array:
        """||dL/dW_i||_F, (n, N), columns input side first (W_1, ..., W_N)."""
        return np.sqrt(self.steps.column("grad_sq"))

    # --- per epoch ------------------------------------------------------------------------
    @property
    def epoch(self) -> Array:
        """Epoch number (1-based) of each per-epoch row, (m,)."""
        return self.epochs.column("epoch").copy()

    @property
    def epoch_step(self) -> Array:
        """The step count at the end of each epoch, (m,)."""
        return self.epochs.column("step").copy()

    @property
    def epoch_loss(self) -> Array:
        """Mean train loss over each epoch's steps, (m,)."""
        return self.epochs.column("loss").copy()

    @property
    def test_loss(self) -> Array:
        """Loss on the test set at the end of each epoch, (m,)."""
        return self.epochs.column("test_loss").copy()
