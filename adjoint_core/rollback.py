"""Rollback: the parameters and optimiser state before the last update, to go back to when the model diverges.

Before each update the run copies theta, the optimiser's state arrays and its step count t (``save``); a step
whose loss is not finite puts them back (``restore``), once, so the model returns to the last state whose
loss was finite.  The copies go into arrays kept between steps: allocating arrays over 128 KB at every step
maps fresh pages from the OS, several times slower.
"""

from __future__ import annotations

import numpy as np

from .optimisers import Optimiser

Array = np.ndarray


def optimiser_slots(optimiser: Optimiser) -> list[Array]:
    """The optimiser's state arrays, n_slots per parameter array in order (none before its first update)."""
    return [a for slots in optimiser.state for a in slots]


class Rollback:
    """A backup of theta (P,) (the run's, updated in place) and an optimiser's state, restorable once."""

    def __init__(self, theta: Array) -> None:
        self.theta = theta
        self._theta: Array | None = None              # the copy of theta, from the first save (a run that
                                                      # trains elsewhere, Play's, never needs it here)
        self._state: list[Array] = []                 # the copies of ...
        self._slots: list[Array] = []                 # ... the optimiser's state arrays, read from ...
        self._source: list | None = None              # ... this state list (an optimiser replaces it to resize)
        self._t, self._for = 0, None   # the optimiser's t, and the optimiser the backup belongs to
        self.armed = False             # a backup is there to go back to
        self.step: tuple[int, int, float, int] = (0, 0, 0.0, 0)   # the backed-up step, batch position, loss, epoch

    def save(self, optimiser: Optimiser, step: tuple[int, int, float, int]) -> None:
        """Copy theta and the optimiser's state and t, before the update of ``step`` (its number, batch position,
        loss and epoch: what taking it back needs)."""
        if self._theta is None:
            self._theta = np.empty_like(self.theta)
        if optimiser is not self._for or optimiser.state is not self._source:
            self._source, self._slots = optimiser.state, optimiser_slots(optimiser)
            self._state = [np.empty_like(a) for a in self._slots]
        np.copyto(self._theta, self.theta)
        for saved, a in zip(self._state, self._slots):
            np.copyto(saved, a)
        self._t, self._for, self.armed, self.step = optimiser.t, optimiser, True, step

    def restore(self, optimiser: Optimiser) -> None:
        """Go back to theta and the optimiser state of the last ``save``, once.  An optimiser chosen since
        keeps its fresh state."""
        if not self.armed:   # armed only by a save, which made the copy
            return
        np.copyto(self.theta, self._theta)
        if optimiser is self._for:
            if self._state:
                for a, saved in zip(optimiser_slots(optimiser), self._state):
                    np.copyto(a, saved)
            else:   # the first update: the state did not exist yet
                optimiser.state = []
            optimiser.t = self._t
        self.armed = False

    def clear(self) -> None:
        """Forget the backup (the run's state was replaced: nothing to go back to)."""
        self.armed = False
