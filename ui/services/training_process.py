"""The training process: every playing session's run, trained in turns, outside the web server's interpreter.

The server (``ui/services/worker.py``) starts one such process and talks to it over a socket with pickled tuples:

    server -> here                                here -> server
    ("play", sid, snapshot, stop_epoch, rate, idle)("reply", request_id, Progress or None)   to "sync"
    ("sync", request_id, sid)                     ("reply", request_id, Snapshot or None)   to "copy"
    ("copy", request_id, sid)                     ("state", sid, finished, Snapshot)        the run leaves
    ("rate", sid, rate)
    ("stop", sid)

A run arrives with Play as a full snapshot and leaves as one, on "stop" (Pause) or by itself at its epoch
limit, on divergence, or when no "sync" (a page redraw) has asked for it for ``idle`` seconds.  In between, each
"sync" returns what a redraw needs: the counters, the parameters and the history rows added since the last
sync.  The runs take turns of SLICE seconds each, so every playing session gets the same share of the
process, and messages are answered between turns.

Training here rather than in a thread of the server keeps the GIL convoy out: in the server, a step's NumPy
calls release the GIL and the trainer then waits a whole switch interval for it after each call while other
sessions' threads run Python (see benchmarks/README.md).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

import adjoint_core as ac

from . import memory

SLICE = 0.01   # seconds of training per turn


@dataclass
class Progress:
    """What a redraw needs from a run in training: counters, parameters and the new history rows.

    ``steps_from``/``epochs_from``: the row index where ``steps``/``epochs`` start in the run's history
    tables (0 and the whole table after the history was compacted).
    """

    step_count: int
    epoch_count: int
    diverged: str | None
    steps_per_second: float
    theta: np.ndarray
    steps_from: int
    steps: np.ndarray
    epochs_from: int
    epochs: np.ndarray


class Playing:
    """One run in training: its limits and what its last sync has already received."""

    def __init__(self, run: ac.TrainingRun, stop_epoch: int | None, rate: float | None, idle: float) -> None:
        self.run, self.stop_epoch, self.rate, self.idle = run, stop_epoch, rate, idle
        self.finished: str | None = None
        self.last_sync = time.monotonic()   # Play counts as the first sync
        self.start, self.done = time.perf_counter(), 0          # for the rate limit
        self.rate_t0, self.rate_steps0 = time.perf_counter(), run.step_count
        self.steps_per_second = 0.0
        self.sent = (-1, 0, 0)   # (compactions, step rows, epoch rows) already sent

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

    def progress(self) -> Progress:
        """The state since the last sync (all history rows after a compaction)."""
        self.last_sync = time.monotonic()
        run, h = self.run, self.run.history
        compactions, n_steps, n_epochs = self.sent
        if h.steps.compactions + h.epochs.compactions != compactions:
            n_steps = n_epochs = 0
        self.sent = (h.steps.compactions + h.epochs.compactions, h.steps.n, h.epochs.n)
        return Progress(run.step_count, run.epoch_count, run.diverged, self.steps_per_second,
                        run.net.theta.copy(), n_steps, h.steps.rows(n_steps), n_epochs, h.epochs.rows(n_epochs))


def serve(conn: Connection) -> None:
    """Answer the server's messages and train the playing runs in turns, until the server hangs up."""
    playing: dict[str, Playing] = {}

    def leave(sid: str, finished: str | None) -> None:
        p = playing.pop(sid)
        conn.send(("state", sid, finished, p.run.snapshot()))
        del p
        if not playing:   # the last run left: the class's memory goes back to the OS
            memory.release()

    def handle(msg: tuple) -> None:
        kind = msg[0]
        if kind == "play":
            _, sid, snap, stop_epoch, rate, idle = msg
            try:
                playing[sid] = Playing(ac.TrainingRun.from_snapshot(snap), stop_epoch, rate, idle)
            except ac.ConfigError as e:   # not expected: the snapshot comes from a valid run
                conn.send(("state", sid, f"error: {e}", snap))
        elif kind == "sync":
            p = playing.get(msg[2])
            conn.send(("reply", msg[1], p.progress() if p else None))
        elif kind == "copy":
            p = playing.get(msg[2])
            conn.send(("reply", msg[1], p.run.snapshot() if p else None))
        elif kind == "rate" and msg[1] in playing:
            p = playing[msg[1]]
            p.rate, p.start, p.done = msg[2], time.perf_counter(), 0
        elif kind == "stop" and msg[1] in playing:
            leave(msg[1], None)

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
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":   # this file runs as __main__: serve from the module imported by its name, so that
    import ui.services.training_process  # what it pickles is that module's Progress, not __main__.Progress
    ui.services.training_process.main()
