"""Play's trainer (ui/services/worker.py and the training process, ui/services/training_process.py): a run trained
there is exactly the run trained here, each sync brings a consistent state, and training ends at the limit, on
divergence, on stop() and when no redraw asks for it.

No timing assertions that could flake on a busy machine: waits have generous deadlines, and the rate limit
is checked as an upper bound (steps <= rate * elapsed + slack).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import adjoint_core as ac
from ui.services import worker
from ui.services.worker import Trainer

SMALL = "nonlinear-relu"   # 1-64-64-1, a couple of steps per epoch
DEADLINE = 30.0            # seconds; only reached when something is wrong


def small_run(**changes) -> ac.TrainingRun:
    return ac.TrainingRun(ac.presets[SMALL].replace(**changes), seed=0)


def sync_until(t: Trainer, done, beat: bool = True) -> None:
    """Sync (as the page's redraws do; or only wait when not ``beat``) until ``done()`` or the deadline."""
    end = time.monotonic() + DEADLINE
    while not done() and time.monotonic() < end:
        if beat:
            t.sync()
        time.sleep(0.01)
    assert done(), "the trainer did not get there"


def assert_same_run(a: ac.TrainingRun, b: ac.TrainingRun) -> None:
    """Bit-identical parameters, counters, history and replay snapshots."""
    assert (a.step_count, a.epoch_count) == (b.step_count, b.epoch_count)
    np.testing.assert_array_equal(a.net.theta, b.net.theta)
    np.testing.assert_array_equal(a.history.steps.rows(), b.history.steps.rows())
    np.testing.assert_array_equal(a.history.epochs.rows(), b.history.epochs.rows())
    np.testing.assert_array_equal(a.theta_snapshots.steps, b.theta_snapshots.steps)
    assert a.theta_snapshots.spacing == b.theta_snapshots.spacing
    for step in map(int, b.theta_snapshots.steps):
        np.testing.assert_array_equal(a.theta_snapshots.theta_at(step), b.theta_snapshots.theta_at(step))


@pytest.fixture
def trainers():
    """Trainers made by a test; any still training afterwards are stopped."""
    made: list[Trainer] = []
    yield made
    for t in made:
        t.stop()


def test_stops_exactly_at_the_epoch_limit_with_the_run_trained_here(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=40)
    trainers.append(t)
    sync_until(t, lambda: not t.alive)
    t.sync()   # takes the run back
    assert t.finished == "limit"
    here = small_run()
    here.run_epochs(40)
    assert_same_run(run, here)
    assert run.step_count == 40 * run.steps_per_epoch and not run.diverged


def test_stop_takes_the_whole_run_back_and_training_continues_exactly(trainers):
    run = small_run(optimiser="adam")
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: run.step_count >= 50)
    t.stop()
    assert not t.alive and t.finished is None   # stopped from outside, not by itself
    steps = run.step_count
    time.sleep(0.1)
    t.sync()
    assert run.step_count == steps              # nothing trains after stop() returned
    here = small_run(optimiser="adam")
    here.run_steps(steps)
    assert_same_run(run, here)
    assert run.step() == here.step()            # optimiser state, data order and rng came back too
    np.testing.assert_array_equal(run.net.theta, here.net.theta)


def test_play_pause_and_play_again_keep_every_replay_snapshot(trainers):
    """The session's run holds the replay snapshots (the training process hands each over with the next sync):
    after Pause, Play again and Pause they are those of the run trained here, thinned alike."""
    run = small_run()
    for stop_epoch in (30, 300):
        t = Trainer(run, stop_epoch=stop_epoch)
        trainers.append(t)
        sync_until(t, lambda t=t: not t.alive)
        t.sync()
    here = small_run()
    here.run_epochs(300)
    assert here.theta_snapshots.spacing > 4
    assert_same_run(run, here)


def test_each_sync_gives_a_consistent_run(trainers):
    """After a sync the last history row is the current step, the last epoch row the current epoch, and the
    parameters are those after that step (the run's own test loss says so)."""
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    seen = set()
    end = time.monotonic() + DEADLINE
    while len(seen) < 5 and time.monotonic() < end:
        t.sync()
        assert run.history.step[-1:].tolist() == ([run.step_count] if run.step_count else [])
        assert run.history.epoch[-1:].tolist() == ([run.epoch_count] if run.epoch_count else [])
        seen.add(run.step_count)
        time.sleep(0.005)
    assert len(seen) >= 5, "training did not move"


def test_syncs_after_the_history_is_compacted_match_the_run(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: run.step_count > 20_000)   # more than the 8,192 rows kept: compacted at least twice
    t.stop()
    here = small_run()
    here.run_steps(run.step_count)
    assert_same_run(run, here)


def test_stops_on_divergence_with_the_last_finite_state(trainers):
    run = small_run(lr=10.0)   # overflows within a few dozen steps
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: not t.alive)
    t.sync()
    assert t.finished == "diverged"
    assert run.diverged
    assert np.isfinite(run.net.theta).all()
    here = small_run(lr=10.0)
    here.run_steps(10**6)   # stops at the same divergence
    assert_same_run(run, here)


def test_ends_itself_when_no_redraw_asks(trainers, monkeypatch):
    monkeypatch.setattr(worker, "IDLE", 0.2)
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: not t.alive, beat=False)
    t.sync()
    assert t.finished == "idle"
    assert run.step_count > 0


def test_a_run_whose_frames_come_further_apart_waits_for_them(trainers, monkeypatch):
    monkeypatch.setattr(worker, "IDLE", 0.2)
    t = Trainer(small_run(), stop_epoch=None)
    trainers.append(t)
    t.watched_every(0.5)   # a class's pace: frames 0.5 s apart, longer than IDLE
    assert t.idle == pytest.approx(worker.IDLE_FRAMES * 0.5)
    t.sync()               # the sync says so
    for _ in range(3):
        time.sleep(0.6)    # a frame interval and then some, three times IDLE
        t.sync()
        assert t.alive and t.finished is None
    t.watched_every(0.01)  # under IDLE: IDLE again
    assert t.idle == worker.IDLE
    t.sync()
    sync_until(t, lambda: not t.alive, beat=False)
    t.sync()
    assert t.finished == "idle"


@pytest.mark.parametrize("rate", [50.0, 400.0])
def test_rate_limit_is_an_upper_bound(trainers, rate):
    run = small_run()
    t0 = time.perf_counter()
    t = Trainer(run, stop_epoch=None, rate=rate)
    trainers.append(t)
    while time.perf_counter() - t0 < 0.6:
        t.sync()
        time.sleep(0.01)
    t.stop()
    elapsed = time.perf_counter() - t0
    assert 0 < run.step_count <= rate * elapsed + 2


def test_a_new_rate_applies_to_the_running_trainer(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None, rate=1.0)
    trainers.append(t)
    t.set_rate(None)
    sync_until(t, lambda: run.step_count > 100)


def test_reports_its_speed(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: t.steps_per_second > 0)


def test_copy_while_training_is_a_whole_run(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: run.step_count > 10)
    copy = t.copy()
    assert t.alive and copy is not run
    here = small_run()
    here.run_steps(copy.step_count)
    assert_same_run(copy, here)


def test_sessions_train_side_by_side_and_each_gets_its_own_run_back(trainers):
    runs = [small_run(), small_run(lr=1e-3), ac.TrainingRun(ac.presets["wave2d-relu"], seed=1)]
    ts = [Trainer(r, stop_epoch=None) for r in runs]
    trainers.extend(ts)
    sync_until(ts[0], lambda: all(t.sync() or r.step_count > 30 for t, r in zip(ts, runs)))
    for t in ts:
        t.stop()
    for r in runs:
        here = ac.TrainingRun(r.config, seed=r.seed)
        here.run_steps(r.step_count)
        assert_same_run(r, here)


def test_a_lost_training_process_ends_its_trainers_and_a_new_one_starts(trainers):
    run = small_run()
    t = Trainer(run, stop_epoch=None)
    trainers.append(t)
    sync_until(t, lambda: run.step_count > 10)
    worker.training_process().proc.kill()
    sync_until(t, lambda: not t.alive, beat=False)
    assert t.finished.startswith("error")
    t.sync()   # keeps the last synced state, its replay snapshots among it
    assert run.theta_snapshots.steps[-1] <= run.step_count
    assert_same_run(ac.TrainingRun.from_snapshot(run.snapshot()), run)
    again = small_run()
    t2 = Trainer(again, stop_epoch=2)
    trainers.append(t2)
    sync_until(t2, lambda: not t2.alive)
    assert t2.finished == "limit"


def test_copy_of_a_run_that_has_just_left_is_still_a_copy(trainers):
    """A run that reached its epoch limit has left the process: its copy (a follower's "Take a copy") is a run of
    its own, never the trained run itself."""
    run = small_run()
    t = Trainer(run, stop_epoch=1)
    trainers.append(t)
    sync_until(t, lambda: not t.alive)
    copy = t.copy()
    assert copy is not run and copy.step_count == run.step_count
    copy.run_steps(3)
    assert run.step_count == copy.step_count - 3
