"""Mini-batches: each epoch a fresh permutation of the training set, walked in slices of ``batch_size``.

An epoch is ``n_train // batch_size`` batches; the remainder is skipped, as in the notebook.  The order is
drawn from the run's random generator, so the same seed gives the same batches.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


class Batches:
    """The training set x (n, d_in), y (n, d_out) in this epoch's order ``perm`` (n,), and the position ``pos``
    in it; without ``perm`` a fresh order is drawn from ``rng``.  The epoch's x, y in that order are copied at its
    first batch (a run that trains elsewhere, Play's, never pays for them here)."""

    def __init__(self, x: Array, y: Array, rng: np.random.Generator, perm: Array | None = None,
                 pos: int = 0) -> None:
        self.x, self.y, self.rng = x, y, rng
        if perm is None:
            self.shuffle()
        else:
            self._take(perm, pos)

    def shuffle(self) -> None:
        """Start an epoch: a fresh permutation of the training points, position 0."""
        self._take(self.rng.permutation(len(self.x)), 0)

    def _take(self, perm: Array, pos: int) -> None:
        self.perm, self.pos = perm, pos
        self._xs: Array | None = None   # the epoch's x, y in order, from its first batch
        self._ys: Array | None = None

    def at_end(self, size: int) -> bool:
        """No full batch of ``size`` points is left in this epoch."""
        return self.pos + size > len(self.perm)

    def batch(self, size: int) -> tuple[Array, Array]:
        """The next batch: views xb (size, d_in), yb (size, d_out) of this epoch's order (``advance`` moves past
        it once it has trained)."""
        if self._xs is None:   # contiguous copies in order (np.take: faster than x[perm] for these shapes)
            self._xs, self._ys = np.take(self.x, self.perm, axis=0), np.take(self.y, self.perm, axis=0)
        return self._xs[self.pos:self.pos + size], self._ys[self.pos:self.pos + size]

    def advance(self, size: int) -> None:
        self.pos += size
