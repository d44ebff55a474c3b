"""Mini-batches: each epoch a fresh permutation of the training set, walked in slices of ``batch_size``.

An epoch is ``n_train // batch_size`` batches; the remainder is skipped, as in the notebook.  The order is
drawn from the run's random generator, so the same seed gives the same batches.
"""

from __future__ import annotations

import numpy as np

from .shared import shared

Array = np.ndarray
SHARED_ORDER = 4096   # points: a drawn order this long is shared by content (80 kB for the 2D wave's 10,000)


class Batches:
    """The training set x (n, d_in), y (n, d_out) in this epoch's order ``perm`` (n,), and the position ``pos``
    in it; without ``perm`` a fresh order is drawn from ``rng``.  ``perm`` is read-only (a run's snapshot holds
    it without a copy); one given is the process's shared copy of it (``shared.py``: runs of the same setup and
    seed at the same epoch have the same order)."""

    def __init__(self, x: Array, y: Array, rng: np.random.Generator, perm: Array | None = None,
                 pos: int = 0) -> None:
        self.x, self.y, self.rng = x, y, rng
        if perm is None:
            self.shuffle()
        else:
            self.perm, self.pos = shared(perm), pos

    def shuffle(self) -> None:
        """Start an epoch: a fresh permutation of the training points, position 0.  Runs of one setup and seed
        draw the same order at the same epoch: one of SHARED_ORDER points or more is the process's shared copy
        (hashing it takes ~0.4 of the permutation's time; a smaller one is the run's own, read-only)."""
        perm = self.rng.permutation(len(self.x))
        if len(perm) >= SHARED_ORDER:
            perm = shared(perm)
        else:
            perm.flags.writeable = False
        self.perm, self.pos = perm, 0

    def at_end(self, size: int) -> bool:
        """No full batch of ``size`` points is left in this epoch."""
        return self.pos + size > len(self.perm)

    def batch(self, size: int) -> tuple[Array, Array]:
        """The next batch: xb (size, d_in), yb (size, d_out), fresh contiguous arrays of the points at this
        position of the order (``advance`` moves past it once it has trained).  Taken batch by batch, not as
        the whole epoch's data in order: a batch is a few kB, the data in order as large as the data."""
        idx = self.perm[self.pos:self.pos + size]
        return np.take(self.x, idx, axis=0), np.take(self.y, idx, axis=0)

    def advance(self, size: int) -> None:
        self.pos += size
