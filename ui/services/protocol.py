"""The messages between the server (``worker.py``) and the training process (``training_process.py``).

Each message is a frozen dataclass, sent pickled over a ``multiprocessing`` Connection between our own two
processes, and each side dispatches on its type.  A run arrives with ``Play`` as a full snapshot and leaves
with ``Left``: on ``Stop`` (Pause), or by itself at its epoch limit, on divergence, or when no ``Sync`` (a page
redraw) has asked for it for ``idle`` seconds.  In between, ``Sync`` asks for what a redraw needs (``Synced``: the
engine's Progress since the last sync) and ``Copy`` for the whole run (``Copied``).  The replay snapshots stay
with the session: each Progress hands over those kept since the last one, and the training process keeps none it
has handed over; ``Left`` and ``Copied`` carry a snapshot without them and the ones not handed over yet.
A side that receives a message it does not know refuses it: it logs it and carries on.

Imports only the engine; imported by the two sides.
"""

from __future__ import annotations

from dataclasses import dataclass

from adjoint_core.runfile import Snapshot
from adjoint_core.snapshots import NewSnapshots
from adjoint_core.training import Progress


# --- server -> training process ---------------------------------------------------------------
@dataclass(frozen=True)
class Play:
    """Train the run ``snapshot`` as ``sid`` until epoch ``stop_epoch`` (None: no limit) at ``rate`` steps
    per second (None: as fast as possible); it leaves after ``idle`` seconds without a Sync."""

    sid: str
    snapshot: Snapshot
    stop_epoch: int | None
    rate: float | None
    idle: float


@dataclass(frozen=True)
class Sync:
    """Request ``request_id``: the progress of run ``sid`` since its last Sync (answered by Synced); from now on
    it leaves after ``idle`` seconds without a Sync."""

    request_id: int
    sid: str
    idle: float


@dataclass(frozen=True)
class Copy:
    """Request ``request_id``: a full snapshot of run ``sid`` as it is now (answered by Copied)."""

    request_id: int
    sid: str


@dataclass(frozen=True)
class SetRate:
    """Run ``sid`` trains at ``rate`` steps per second from now on (None: as fast as possible)."""

    sid: str
    rate: float | None


@dataclass(frozen=True)
class Stop:
    """Send run ``sid`` back (it answers with Left)."""

    sid: str


# --- training process -> server ---------------------------------------------------------------
@dataclass(frozen=True)
class Synced:
    """The answer to Sync ``request_id``: the run's progress and training speed; None once it has left."""

    request_id: int
    progress: Progress | None
    steps_per_second: float = 0.0


@dataclass(frozen=True)
class Copied:
    """The answer to Copy ``request_id``: the run's snapshot and its replay snapshots since the last sync (the
    session's run holds the others; the process still holds these); None once it has left."""

    request_id: int
    snapshot: Snapshot | None
    snapshots: NewSnapshots | None


@dataclass(frozen=True)
class Left:
    """Run ``sid`` has left the process, as ``snapshot`` and its replay snapshots since the last sync (the
    session's run holds the others), both None when it could not start: ``finished`` is None on Stop, else why it
    ended by itself ("limit", "diverged", "idle" or "error: ...")."""

    sid: str
    finished: str | None
    snapshot: Snapshot | None
    snapshots: NewSnapshots | None


TO_PROCESS = (Play, Sync, Copy, SetRate, Stop)
TO_SERVER = (Synced, Copied, Left)
