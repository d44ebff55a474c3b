"""Mini-batches: each epoch a fresh permutation of the training set, walked in slices of ``batch_size``.

An epoch is ``n_train // batch_size`` batches; the remainder is skipped, as in the notebook.  The order is
drawn from the run's random generator, so the same seed gives the same batches.
"""

from __future__ import annotations

import numpy as np

from .shared import shared

Array = np.ndarray
SHARED_ORDER = 4096   # points: a drawn order this long is shared by content (80 kB for the 2D wave's 10,000)
CHUNK_BYTES = 32 * 1024   # of x and y copied in order at a time (below malloc's 128 kB mmap threshold)


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
            self._drop_chunk()

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
        self._drop_chunk()

    def _drop_chunk(self) -> None:
        """Forget the points copied in order (a new order)."""
        self._chunk_at: int | None = None   # the position of the order where _xs, _ys start
        self._xs = self._ys = np.empty((0, 0))

    def at_end(self, size: int) -> bool:
        """No full batch of ``size`` points is left in this epoch."""
        return self.pos + size > len(self.perm)

    def batch(self, size: int) -> tuple[Array, Array]:
        """The next batch: views xb (size, d_in), yb (size, d_out) of x, y in this epoch's order (``advance``
        moves past it once it has trained).  The points in order are copied a chunk at a time, CHUNK_BYTES or one
        batch, from the batch that first needs them: a run holds no ordered copy of its whole data, and a run
        that trains elsewhere (Play's) none at all."""
        start, at = self.pos, self._chunk_at
        if at is None or start < at or start + size > at + len(self._xs):   # not within the chunk copied
            row_bytes = (self.x.shape[1] + self.y.shape[1]) * self.x.itemsize
            idx = self.perm[start:start + max(size, CHUNK_BYTES // row_bytes)]
            self._xs, self._ys = np.take(self.x, idx, axis=0), np.take(self.y, idx, axis=0)
            self._chunk_at = start
        i = start - self._chunk_at
        return self._xs[i:i + size], self._ys[i:i + size]

    def advance(self, size: int) -> None:
        self.pos += size
