"""The training process: every playing session's run, trained in turns, outside the web server's interpreter.

The server (``worker.py``) starts one such process and talks to it over a socket in the messages of
``protocol.py``.  The runs take turns of SLICE seconds each, so every playing session gets the same share
of the process, and messages are answered between turns.  A run here holds the thetas of its replay snapshots
only until the next sync hands them over to the session's run, which keeps them (``protocol.py``).

Training here rather than in a thread of the server keeps the GIL convoy out: in the server, a step's NumPy
calls release the GIL and the trainer then waits a whole switch interval for it after each call while other
sessions' threads run Python (see benchmarks/README.md).
"""

from __future__ import annotations

import logging
import sys
import time
from multiprocessing.connection import Connection

import numpy as np

import adjoint_core as ac
from adjoint_core.history import Mark

from . import memory
from .protocol import Copied, Copy, Left, Play, SetRate, Stop, Sync, Synced

SLICE = 0.01   # seconds of training per turn
log = logging.getLogger(__name__)


class Playing:
    """One run in training: its limits and what its last sync has already received."""

    def __init__(self, run: ac.TrainingRun, stop_epoch: int | None, rate: float | None, idle: float) -> None:
        self.run, self.stop_epoch, self.rate, self.idle = run, stop_epoch, rate, idle
        self.finished: str | None = None
        self.last_sync = time.monotonic()   # Play counts as the first sync
        self.start, self.done = time.perf_counter(), 0          # for the rate limit
        self.rate_t0, self.rate_steps0 = time.perf_counter(), run.step_count
        self.steps_per_second = 0.0
        self.sent: Mark | None = None   # where the history rows already sent end
        run.theta_snapshots.hand_over()   # the session's run holds the replay snapshots it played from

    def train(self) -> bool:
        """One turn: up to SLICE seconds of steps, within the rate limit and the epoch limit, stopping at
        divergence; sets ``finished`` when the run is done.  Returns whether it took any step."""
        run = self.run
        if time.monotonic() - self.last_sync > self.idle:
            self.finished = "idle"
            return False
        due = None if self.rate is None else int(self.rate * (time.perf_counter() - self.start)) - self.done
        if due is not None and due <= 0:
            return False
        taken = run.run_for(SLICE, max_steps=due, until_epoch=self.stop_epoch)
        self.done += taken
        elapsed = time.perf_counter() - self.rate_t0
        if elapsed > 0.5:
            self.steps_per_second = (run.step_count - self.rate_steps0) / elapsed
            self.rate_t0, self.rate_steps0 = time.perf_counter(), run.step_count
        if run.diverged:
            self.finished = "diverged"
        elif self.stop_epoch is not None and run.epoch_count >= self.stop_epoch:
            self.finished = "limit"
        return taken > 0

    def sync(self, request_id: int) -> Synced:
        """The answer to a Sync: the progress since the last one."""
        self.last_sync = time.monotonic()
        progress = self.run.progress(self.sent)
        self.sent = progress.rows.mark
        return Synced(request_id, progress, self.steps_per_second)


def serve(conn: Connection) -> None:
    """Answer the server's messages and train the playing runs in turns, until the server hangs up."""
    playing: dict[str, Playing] = {}

    def leave(sid: str, finished: str | None) -> None:
        p = playing.pop(sid)
        conn.send(Left(sid, finished, p.run.snapshot(), p.run.theta_snapshots.hand_over()))
        del p
        if not playing:   # the last run left: the class's memory goes back to the OS
            memory.release()

    def handle(msg: object) -> None:
        match msg:
            case Play(sid, snapshot, stop_epoch, rate, idle):
                try:
                    playing[sid] = Playing(ac.TrainingRun.from_snapshot(snapshot), stop_epoch, rate, idle)
                except ac.ConfigError as e:   # not expected: the snapshot comes from a valid run
                    conn.send(Left(sid, f"error: {e}", None, None))
            case Sync(request_id, sid, idle):
                p = playing.get(sid)
                if p:
                    p.idle = idle
                conn.send(p.sync(request_id) if p else Synced(request_id, None))
            case Copy(request_id, sid):
                p = playing.get(sid)
                conn.send(Copied(request_id, p.run.snapshot(), p.run.theta_snapshots.pending()) if p
                          else Copied(request_id, None, None))
            case SetRate(sid, rate) if sid in playing:
                p = playing[sid]
                p.rate, p.start, p.done = rate, time.perf_counter(), 0
            case Stop(sid) if sid in playing:
                leave(sid, None)
            case SetRate() | Stop():   # for a run that has already left
                pass
            case _:
                log.warning("the training process refused a message it does not know: %r", msg)

    def answer(timeout: float | None) -> None:
        """Handle every message that is waiting, or arrives within ``timeout`` seconds (None: forever)."""
        while conn.poll(timeout):
            handle(conn.recv())
            timeout = 0

    with np.errstate(all="ignore"):
        try:
            while True:
                answer(None if not playing else 0)
                worked = False
                for sid in list(playing):
                    p = playing.get(sid)
                    if p is None:   # stopped while another run had its turn
                        continue
                    worked |= p.train()
                    if p.finished:
                        leave(sid, p.finished)
                    answer(0)
                if playing and not worked:   # only rate-limited runs, none due yet
                    answer(SLICE / 2)
        except (EOFError, OSError):   # the server has gone
            return


def main() -> None:
    """``python -m ui.services.training_process FD``: serve the socket inherited as file descriptor FD."""
    sys.stdout = sys.stderr   # nothing of ours may write into the server's output as if it were its own
    memory.configure_allocator()
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
