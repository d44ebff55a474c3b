"""Play's background trainer (ui/worker.py): when it stops by itself, stop(), the lock and the rate limit.

No timing assertions that could flake on a busy machine: waits have generous deadlines, and the rate limit
is checked as an upper bound (steps <= rate * elapsed + slack).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import adjoint_core as ac
from ui import worker
from ui.worker import Trainer

SMALL = "nonlinear-relu"   # 1-64-64-1, a couple of steps per epoch
DEADLINE = 30.0            # seconds; only reached when something is wrong


def small_run(**changes) -> ac.TrainingRun:
    return ac.TrainingRun(ac.presets[SMALL].replace(**changes), seed=0)


def wait_until_done(t: Trainer, beat: bool = True) -> None:
    """Wait for the thread to end by itself, sending heartbeats (like the page's redraws) when ``beat``."""
    end = time.monotonic() + DEADLINE
    while t.alive and time.monotonic() < end:
        if beat:
            t.heartbeat()
        time.sleep(0.01)
    assert not t.alive, "the trainer did not stop by itself"


@pytest.fixture
def trainers():
    """Trainers made by a test; any still running afterwards are stopped."""
    made: list[Trainer] = []
    yield made
    for t in made:
        t.stop()


def test_stops_exactly_at_the_epoch_limit(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=40)
    trainers.append(t)
    wait_until_done(t)
    assert t.finished == "limit"
    assert run.epoch_count == 40
    assert run.step_count == 40 * run.steps_per_epoch
    assert not run.diverged


def test_stops_on_divergence_with_the_last_finite_state(trainers):
    run = small_run(lr=10.0)   # overflows within a few dozen steps
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    wait_until_done(t)
    assert t.finished == "diverged"
    assert run.diverged
    assert np.isfinite(run.net.theta).all()


def test_stop_ends_the_thread_and_training(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    end = time.monotonic() + DEADLINE
    while run.step_count < 50 and time.monotonic() < end:
        t.heartbeat()
        time.sleep(0.01)
    t.stop()
    assert not t.alive
    assert t.finished is None   # stopped from outside, not by itself
    steps = run.step_count
    assert steps >= 50
    time.sleep(0.1)
    assert run.step_count == steps   # nothing trains after stop() returned


def test_ends_itself_without_heartbeats(trainers, monkeypatch):
    monkeypatch.setattr(worker, "IDLE", 0.2)
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    wait_until_done(t, beat=False)
    assert t.finished == "idle"
    assert run.step_count > 0


def test_the_lock_gives_a_consistent_run(trainers):
    """A redraw holding the lock sees a whole step: the last history row is the current step, and the last
    epoch row the current epoch."""
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    seen = set()
    end = time.monotonic() + DEADLINE
    while len(seen) < 5 and time.monotonic() < end:
        t.heartbeat()
        with t.lock:
            assert run.history.step[-1:].tolist() == ([run.step_count] if run.step_count else [])
            assert run.history.epoch[-1:].tolist() == ([run.epoch_count] if run.epoch_count else [])
            seen.add(run.step_count)
        time.sleep(0.005)
    assert len(seen) >= 5, "training did not move while the lock was free"


@pytest.mark.parametrize("rate", [50.0, 400.0])
def test_rate_limit_is_an_upper_bound(trainers, rate):
    run = small_run()
    t0 = time.perf_counter()
    t = Trainer(run, stop_epoch=None, rate=rate)
    trainers.append(t)
    while time.perf_counter() - t0 < 0.6:
        t.heartbeat()
        time.sleep(0.01)
    t.stop()
    elapsed = time.perf_counter() - t0
    assert 0 < run.step_count <= rate * elapsed + 2


def test_reports_its_speed(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    end = time.monotonic() + DEADLINE
    while not t.steps_per_second and time.monotonic() < end:
        t.heartbeat()
        time.sleep(0.02)
    assert t.steps_per_second > 0


def test_a_waiting_redraw_gets_the_lock_at_the_end_of_a_slice(trainers):
    """Fair hand-over: redraws never queue behind slice after slice (the bound is loose: 20 slices)."""
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    waits = []
    for _ in range(10):
        t.heartbeat()
        t0 = time.perf_counter()
        with t.lock:
            waits.append(time.perf_counter() - t0)
        time.sleep(0.01)
    assert sorted(waits)[len(waits) // 2] < 20 * worker.SLICE, waits


def test_give_way_returns_at_once_without_waiting_redraws():
    lock = worker.RunLock()
    t0 = time.perf_counter()
    lock.give_way(timeout=5.0)
    assert time.perf_counter() - t0 < 1.0
    with lock:                       # a redraw's hold
        pass
    with lock.training():            # the trainer's
        pass


def test_a_trainer_waiting_for_the_page_trains_only_after_release(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=5, wait_for_page=True)
    trainers.append(t)
    time.sleep(0.3)
    assert run.step_count == 0 and t.alive, "it must not train before the page's first frame"
    t.release()
    wait_until_done(t)
    assert t.finished == "limit" and run.epoch_count == 5


def test_a_trainer_never_released_stops_cleanly(trainers, monkeypatch):
    monkeypatch.setattr(worker, "IDLE", 0.2)
    run = small_run()
    idle = Trainer(run, stop_epoch=None, wait_for_page=True)
    wait_until_done(idle, beat=False)
    assert idle.finished == "idle" and run.step_count == 0
    paused = Trainer(run, stop_epoch=None, wait_for_page=True)
    paused.stop()   # Pause before the first frame
    assert not paused.alive and paused.finished is None and run.step_count == 0
