"""Play's trainer: a per-session background thread that trains in short slices while the page redraws.

Once the page has built its first frame (``release``; the rerun that Play starts then has the CPU to itself),
training does not wait for the browser: the thread trains slice after slice (SLICE seconds each,
holding ``lock``), and every redraw reads the run under the same lock, so it sees a consistent state.
The lock is handed over fairly: a redraw waiting for it gets it as soon as the current slice ends (with a
plain lock the trainer could take it straight back: measured, redraws waited up to 160 ms, now up to 35 ms).
The thread ends itself at the epoch limit, on divergence, or when no redraw has asked for it for
IDLE seconds (tab closed or another page opened), so an abandoned session never trains forever.
"""

from __future__ import annotations

import gc
import threading
import time

from threadpoolctl import threadpool_limits

import adjoint_core as ac

# One BLAS thread for the whole server: the engine's matrices are small (batch x 64), where a second
# BLAS thread gains nothing, and on a busy 2-core machine (the browser, other sessions) OpenBLAS's
# spinning worker threads made each training step 2-3x slower (measured).
threadpool_limits(limits=1, user_api="blas")

# Streamlit's runner.postScriptGC (on by default) runs gc.collect(2) after every script run: with the whole
# of Streamlit, Plotly and NumPy in the heap that took 25-35 ms of the GIL per fragment rerun, several times
# a second while playing (measured: it doubled the server's CPU time and slowed Play's training). The first
# Play freezes every object alive by then (gc.freeze: the imported modules; the page has drawn once), so
# later full collections only walk what was created since (0.1 ms instead of 25 ms). The price: cyclic
# garbage among the objects alive at that moment is never collected (reference counting still frees the
# rest), once per process. Setting runner.postScriptGC = false in .streamlit/config.toml does the same job.
_frozen = False


def _freeze_long_lived_objects() -> None:
    """gc.freeze() once per process, after a full collection (see above)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


SLICE = 0.02   # seconds of training per lock hold
IDLE = 3.0     # seconds without a heartbeat before the thread stops by itself


class RunLock:
    """The run's lock. ``with lock:`` is for redraws and takes precedence over the trainer, which holds the
    lock through ``training()`` and, between slices, lets any waiting redraw in first (``give_way``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turn = threading.Condition()
        self._waiting = 0

    def __enter__(self) -> RunLock:
        with self._turn:
            self._waiting += 1
        self._lock.acquire()
        with self._turn:
            self._waiting -= 1
            self._turn.notify_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def training(self) -> threading.Lock:
        """The lock as the trainer holds it (``with lock.training(): ...``)."""
        return self._lock

    def give_way(self, timeout: float = 0.5) -> None:
        """Wait until no redraw is waiting for the lock (each has taken it), or ``timeout`` seconds."""
        with self._turn:
            self._turn.wait_for(lambda: not self._waiting, timeout)


class Trainer:
    """Trains ``run`` in the background until ``stop()``, ``stop_epoch``, divergence or idleness."""

    def __init__(self, run: ac.TrainingRun, stop_epoch: int | None, rate: float | None = None,
                 wait_for_page: bool = False) -> None:
        """``wait_for_page``: train only once ``release()`` is called (by the page, when its first frame is
        built), so the rerun that Play starts does not compete with training for the CPU."""
        _freeze_long_lived_objects()
        self.run, self.stop_epoch = run, stop_epoch
        self.rate = rate                      # steps per second, or None for as fast as possible
        self.lock = RunLock()
        self.finished: str | None = None      # "limit", "diverged" or "idle" when the thread ended itself
        self.steps_per_second = 0.0
        self._halt = threading.Event()
        self._released = threading.Event()
        if not wait_for_page:
            self._released.set()
        self._beat = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="adjoint-trainer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def heartbeat(self) -> None:
        """Called by each redraw: the page is still watching."""
        self._beat = time.monotonic()

    def release(self) -> None:
        """Let a trainer made with ``wait_for_page`` start (called after each frame; only the first counts)."""
        self._released.set()

    def stop(self) -> None:
        """Stop after the current slice and wait for the thread (at most one slice)."""
        self._halt.set()
        self._released.set()
        self._thread.join()

    def _due(self, since: float, done: int) -> int | None:
        """Steps owed at the current rate limit (None: no limit)."""
        if self.rate is None:
            return None
        return int(self.rate * (time.perf_counter() - since)) - done

    def _loop(self) -> None:
        if not self._released.wait(IDLE) or self._halt.is_set():   # the page never drew a frame, or Pause
            self.finished = None if self._halt.is_set() else "idle"
            return
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
            with self.lock.training():
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
            self.lock.give_way()   # a redraw waiting for the run goes first
