"""Play's trainer: a per-session background thread that trains in short slices while the page redraws.

Training does not wait for the browser: the thread trains slice after slice (SLICE seconds each,
holding ``lock``), and every redraw reads the run under the same lock, so it sees a consistent state.
The thread ends itself at the epoch limit, on divergence, or when no redraw has asked for it for
IDLE seconds (tab closed or another page opened), so an abandoned session never trains forever.
"""

from __future__ import annotations

import threading
import time

from threadpoolctl import threadpool_limits

import adjoint_core as ac

# One BLAS thread for the whole server: the engine's matrices are small (batch x 64), where a second
# BLAS thread gains nothing, and on a busy 2-core machine (the browser, other sessions) OpenBLAS's
# spinning worker threads made each training step 2-3x slower (measured).
threadpool_limits(limits=1, user_api="blas")

SLICE = 0.02   # seconds of training per lock hold
IDLE = 3.0     # seconds without a heartbeat before the thread stops by itself


class Trainer:
    """Trains ``run`` in the background until ``stop()``, ``stop_epoch``, divergence or idleness."""

    def __init__(self, run: ac.TrainingRun, stop_epoch: int | None, rate: float | None = None) -> None:
        self.run, self.stop_epoch = run, stop_epoch
        self.rate = rate                      # steps per second, or None for as fast as possible
        self.lock = threading.Lock()
        self.finished: str | None = None      # "limit", "diverged" or "idle" when the thread ended itself
        self.steps_per_second = 0.0
        self._halt = threading.Event()
        self._beat = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="adjoint-trainer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def heartbeat(self) -> None:
        """Called by each redraw: the page is still watching."""
        self._beat = time.monotonic()

    def stop(self) -> None:
        """Stop after the current slice and wait for the thread (at most one slice)."""
        self._halt.set()
        self._thread.join()

    def _due(self, since: float, done: int) -> int | None:
        """Steps owed at the current rate limit (None: no limit)."""
        if self.rate is None:
            return None
        return int(self.rate * (time.perf_counter() - since)) - done

    def _loop(self) -> None:
        run = self.run
        t0, steps0 = time.perf_counter(), run.step_count
        start, done = t0, 0
        while not self._halt.is_set():
            if time.monotonic() - self._beat > IDLE:
                self.finished = "idle"
                return
            due = self._due(start, done)
            if due is not None and due <= 0:
                time.sleep(min(1.0 / self.rate, 0.05))
                continue
            with self.lock:
                done += run.run_for(SLICE, max_steps=due, until_epoch=self.stop_epoch)
                elapsed = time.perf_counter() - t0
                if elapsed > 0.5 and run.step_count > steps0:   # the rate over the last half second or so
                    self.steps_per_second = (run.step_count - steps0) / elapsed
                    t0, steps0 = time.perf_counter(), run.step_count
                if run.diverged:
                    self.finished = "diverged"
                elif self.stop_epoch is not None and run.epoch_count >= self.stop_epoch:
                    self.finished = "limit"
            if self.finished:
                return
            time.sleep(0.0005)   # let a waiting redraw take the lock
