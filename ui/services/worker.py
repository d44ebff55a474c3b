"""Play's trainer: the server's side of the training process (``ui/services/training_process.py``).

One training process serves every session of the server: Play sends it the session's run, each redraw of the
page asks it for the run's progress (``Trainer.sync``: parameters, counters, new history rows) and copies that
into the session's run, and Pause (``Trainer.stop``) takes the full run back.  The process trains the playing
runs in equal turns, so sessions share it evenly, and it drops a run (sending it back) at its epoch limit, on
divergence, or when no redraw has asked for it for a few seconds (tab closed or hidden, another page opened).

Between Play and Pause the session's run has the trained parameters and history after each sync, but not the
optimiser state, data order or random state: only redraws read it then, and Pause brings the rest back.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import adjoint_core as ac
from adjoint_core.runfile import Snapshot

from . import memory
from .training_process import Progress

# One BLAS thread in the server (and the training process): the engine's matrices are small (batch x 64),
# where a second BLAS thread gains nothing, and OpenBLAS's spinning threads slow a busy 2-core machine.
threadpool_limits(limits=1, user_api="blas")

ROOT = Path(__file__).resolve().parents[2]   # the project: the training process runs from it
IDLE = 3.0             # seconds without a sync (a redraw) before a run stops training by itself
REPLY_TIMEOUT = 10.0   # seconds; only reached when the training process is stuck


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

    def send(self, *msg: object) -> None:
        with self._send_lock:
            self.conn.send(msg)

    def play(self, trainer: Trainer, snap: Snapshot, stop_epoch: int | None, rate: float | None) -> None:
        self._trainers[trainer.sid] = trainer
        self.send("play", trainer.sid, snap, stop_epoch, rate, IDLE)

    def ask(self, kind: str, sid: str) -> Progress | Snapshot | None:
        """The reply to "sync" (progress since the last sync) or "copy" (a full snapshot) for the run ``sid``;
        None once it has left the process."""
        request_id, reply = next(self._ids), Future()
        self._replies[request_id] = reply
        self.send(kind, request_id, sid)
        return reply.result(REPLY_TIMEOUT)

    def _read(self) -> None:
        """Route replies to the waiting ``sync`` and returned runs to their trainer, until the process ends."""
        try:
            while True:
                msg = self.conn.recv()
                if msg[0] == "reply":
                    self._replies.pop(msg[1]).set_result(msg[2])
                else:   # ("state", sid, finished, snapshot)
                    trainer = self._trainers.pop(msg[1], None)
                    if trainer is not None:
                        trainer.left(msg[2], msg[3])
        except (EOFError, OSError):
            pass
        self.alive = False
        for reply in self._replies.values():
            reply.set_result(None)
        for trainer in self._trainers.values():
            trainer.left("error: the training process stopped", None)


_process: TrainingProcess | None = None
_process_lock = threading.Lock()
memory.release_when_idle(lambda: _process is None or not _process.training)   # sessions that ended


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
        self._returned: Snapshot | None = None
        self._left = threading.Event()
        self.lock = threading.Lock()       # held while the run is written: one sync or stop at a time
        self._process = training_process()
        self._process.play(self, run.snapshot(), stop_epoch, rate)

    @property
    def alive(self) -> bool:
        """Still training (or about to tell that it ended)."""
        return not self._left.is_set()

    def left(self, finished: str | None, snap: Snapshot | None) -> None:
        """Called by the reader thread when the run comes back (``snap`` None if the process died)."""
        self.finished, self._returned = finished, snap
        self._left.set()

    def set_rate(self, rate: float | None) -> None:
        """Steps per second from now on (None: as fast as possible)."""
        self._process.send("rate", self.sid, rate)

    def sync(self) -> None:
        """Bring the session's run up to date with the training; each redraw calls it (it also tells the
        process that the page is still watching)."""
        with self.lock:
            progress = self._process.ask("sync", self.sid) if self.alive else None
            if progress is None:
                self._left.wait(REPLY_TIMEOUT)   # it is on its way back
                self._take_back()
                return
            run = self.run
            np.copyto(run.net.theta, progress.theta)
            run.step_count, run.epoch_count, run.diverged = progress.step_count, progress.epoch_count, progress.diverged
            run.history.steps.load(progress.steps, progress.steps_from)
            run.history.epochs.load(progress.epochs, progress.epochs_from)
            self.steps_per_second = progress.steps_per_second

    def copy(self) -> ac.TrainingRun:
        """A copy of the run as it is in training now (for a download while playing)."""
        snap = self._process.ask("copy", self.sid) if self.alive else None
        if snap is None:
            self.stop()
            return self.run
        return ac.TrainingRun.from_snapshot(snap)

    def stop(self) -> None:
        """Take the run back (Pause): on return the session's run is exactly the trained run."""
        with self.lock:
            if self.alive:
                self._process.send("stop", self.sid)
                self._left.wait(REPLY_TIMEOUT)
            self._take_back()

    def _take_back(self) -> None:
        if self._returned is not None:
            self.run.restore(self._returned)
            self._returned = None
