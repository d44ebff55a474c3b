"""Play's trainer: the server's side of the training process (``training_process.py``), spoken to in the
messages of ``protocol.py``.  Importing this starts nothing: the app calls ``start()`` once.

One training process serves every session of the server: Play sends it the session's run, each redraw of the
page asks it for the run's progress (``Trainer.sync``: parameters, counters, new history rows) and copies that
into the session's run, and Pause (``Trainer.stop``) takes the full run back.  The process trains the playing
runs in equal turns, so sessions share it evenly, and it drops a run (sending it back) at its epoch limit, on
divergence, or when no redraw has asked for it for a few seconds (tab closed or hidden, another page opened).

Between Play and Pause the session's run has the trained parameters, history and replay snapshots after each
sync, but not the optimiser state, data order or random state: only redraws read it then, and Pause brings the
rest back.  The replay snapshots live only in the session's run: the process hands each over with the next sync.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path

from threadpoolctl import threadpool_limits

import adjoint_core as ac
from adjoint_core.runfile import Snapshot
from adjoint_core.snapshots import NewSnapshots

from .. import streamlit_private
from . import memory
from .protocol import Copied, Copy, Left, Play, SetRate, Stop, Sync, Synced

ROOT = Path(__file__).resolve().parents[2]   # the project: the training process runs from it
IDLE = 3.0             # seconds without a sync (a redraw) before a run stops training by itself ...
IDLE_FRAMES = 3        # ... or this many of its page's frame intervals, when the pace sets them further apart
REPLY_TIMEOUT = 10.0   # seconds; only reached when the training process is stuck
log = logging.getLogger(__name__)


class TrainingProcess:
    """The training process and the thread that reads its messages."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "ui.services.training_process", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(ours.detach())
        self._send_lock = threading.Lock()
        self._ids = itertools.count()
        self._replies: dict[int, Future] = {}
        self._trainers: dict[str, Trainer] = {}   # sid -> trainer whose run is in the process
        self.alive = True
        threading.Thread(target=self._read, name="training-process-reader", daemon=True).start()

    @property
    def training(self) -> int:
        """How many runs are in training now."""
        return len(self._trainers)

    def send(self, msg: Play | SetRate | Stop | Sync | Copy) -> None:
        with self._send_lock:
            self.conn.send(msg)

    def play(self, trainer: Trainer, snap: Snapshot, stop_epoch: int | None, rate: float | None) -> None:
        self._trainers[trainer.sid] = trainer
        self.send(Play(trainer.sid, snap, stop_epoch, rate, IDLE))

    def ask(self, request: type[Sync] | type[Copy], sid: str, *args: object) -> Synced | Copied | None:
        """The answer to a Sync or Copy of the run ``sid`` (with the request's other fields ``args``); None if
        the process is gone."""
        request_id, reply = next(self._ids), Future()
        self._replies[request_id] = reply
        self.send(request(request_id, sid, *args))
        return reply.result(REPLY_TIMEOUT)

    def receive(self, msg: object) -> None:
        """Route an answer to its waiting ``ask`` and a run that left to its trainer."""
        match msg:
            case Synced(request_id) | Copied(request_id) if request_id in self._replies:
                self._replies.pop(request_id).set_result(msg)
            case Left(sid, finished, snapshot, snapshots):
                trainer = self._trainers.pop(sid, None)
                if trainer is not None:
                    trainer.left(finished, snapshot, snapshots)
            case _:
                log.warning("the server refused a message from the training process it does not know: %r", msg)

    def _read(self) -> None:
        """``receive`` each message until the process ends."""
        try:
            while True:
                self.receive(self.conn.recv())
        except (EOFError, OSError):
            pass
        self.alive = False
        for reply in self._replies.values():
            reply.set_result(None)
        for trainer in self._trainers.values():
            trainer.left("error: the training process stopped", None, None)


_process: TrainingProcess | None = None
_process_lock = threading.Lock()
_started = False


def start() -> None:
    """Start the server's shared training services, once per process (later calls do nothing): the allocator
    set up for many sessions (``memory.configure_allocator``), one BLAS thread (the engine's matrices are small,
    batch x 64, where a second BLAS thread gains nothing, and OpenBLAS's spinning threads slow a busy 2-core
    machine; the training process gets one too) and a thread that shuts down the disconnected sessions past
    their time to live and gives memory back while no run trains.  The training process itself starts on the
    first Play."""
    global _started
    with _process_lock:
        if _started:
            return
        _started = True
    memory.configure_allocator()
    threadpool_limits(limits=1, user_api="blas")
    memory.release_when_idle(lambda: _process is None or not _process.training, streamlit_private.drop_expired_sessions)


def training_process() -> TrainingProcess:
    """The server's training process, started on first use (and again if it ever died)."""
    global _process
    with _process_lock:
        if _process is None or not _process.alive or _process.proc.poll() is not None:
            _process = TrainingProcess()
        return _process


class Trainer:
    """A session's run while it trains in the training process, from Play until it comes back."""

    def __init__(self, run: ac.TrainingRun, stop_epoch: int | None, rate: float | None = None) -> None:
        self.run, self.sid = run, uuid.uuid4().hex
        self.finished: str | None = None   # "limit", "diverged", "idle" or "error: ..." once it ended by itself
        self.steps_per_second = 0.0
        self._returned: tuple[Snapshot, NewSnapshots] | None = None
        self._left = threading.Event()
        self.lock = threading.Lock()       # held while the run is written: one sync or stop at a time
        self.idle = IDLE                   # seconds without a sync before the run stops by itself
        self._process = training_process()
        self._process.play(self, run.snapshot(), stop_epoch, rate)

    @property
    def alive(self) -> bool:
        """Still training (or about to tell that it ended)."""
        return not self._left.is_set()

    def left(self, finished: str | None, snap: Snapshot | None, new: NewSnapshots | None) -> None:
        """Called by the reader thread when the run comes back: its snapshot and the replay snapshots the session
        has not received yet (None if it never started or the process died)."""
        self.finished = finished
        self._returned = (snap, new) if snap is not None else None
        self._left.set()

    def set_rate(self, rate: float | None) -> None:
        """Steps per second from now on (None: as fast as possible)."""
        self._process.send(SetRate(self.sid, rate))

    def sync(self) -> None:
        """Bring the session's run up to date with the training; each redraw calls it (it also tells the
        process that the page is still watching)."""
        with self.lock:
            synced = self._process.ask(Sync, self.sid, self.idle) if self.alive else None
            if synced is None or synced.progress is None:
                self._left.wait(REPLY_TIMEOUT)   # it is on its way back
                self._take_back()
                return
            self.run.apply(synced.progress)
            self.steps_per_second = synced.steps_per_second

    def watched_every(self, seconds: float) -> None:
        """The page's frames (each a sync) come every ``seconds``: the run waits IDLE_FRAMES of them, at least
        IDLE, before it stops by itself. Without it a class whose pace sets frames more than IDLE apart would
        have every run stop between frames and be sent again at the next, a cost that slows the pace further."""
        self.idle = max(IDLE, IDLE_FRAMES * seconds)

    def copy(self) -> ac.TrainingRun:
        """A copy of the run as it is in training now (for a download while playing)."""
        with self.lock:   # no sync in between: the session's run holds every replay snapshot handed over
            copied = self._process.ask(Copy, self.sid) if self.alive else None
            if copied is not None and copied.snapshot is not None:
                return ac.TrainingRun.from_snapshot(self._whole(copied.snapshot, copied.snapshots))
        self.stop()   # it has just left the process: copy it here
        return ac.TrainingRun.from_snapshot(self.run.snapshot())

    def stop(self) -> None:
        """Take the run back (Pause): on return the session's run is exactly the trained run."""
        with self.lock:
            if self.alive:
                self._process.send(Stop(self.sid))
                self._left.wait(REPLY_TIMEOUT)
            self._take_back()

    def _take_back(self) -> None:
        if self._returned is not None:
            self.run.restore(self._whole(*self._returned))
            self._returned = None

    def _whole(self, snap: Snapshot, new: NewSnapshots) -> Snapshot:
        """The full snapshot of the run in the process: ``snap``, with the replay snapshots of the session's run
        brought up to ``new``."""
        return Snapshot(snap.meta, {**snap.arrays, **self.run.theta_snapshots.merged(new)})
