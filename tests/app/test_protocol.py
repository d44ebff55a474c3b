"""The training process's protocol (ui/services/protocol.py): every message crosses a Connection intact, each side
dispatches every message meant for it and refuses an unknown one without stopping, and what crosses comes
from the engine (History.since/load, TrainingRun.progress/apply)."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
import threading
import time
from multiprocessing import Pipe
from pathlib import Path

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.history import History
from adjoint_core.runfile import Snapshot
from adjoint_core.snapshots import ARRAY_THETA
from ui.services import protocol, worker
from ui.services.protocol import Copied, Copy, Left, Play, SetRate, Stop, Sync, Synced
from ui.services.training_process import serve

ROOT = Path(__file__).resolve().parents[2]
SMALL = "nonlinear-relu"
TIMEOUT = 30.0   # seconds; only reached when something is wrong


def small_run() -> ac.TrainingRun:
    return ac.TrainingRun(ac.presets[SMALL], seed=0)


def assert_same(a: object, b: object) -> None:
    """Equal values, dataclasses and snapshots field by field, arrays element by element."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b)
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    else:
        assert a == b


def every_message() -> list[object]:
    run = small_run()
    run.run_steps(5)
    snap, progress = run.snapshot(), run.progress()
    new = progress.snapshots
    return [Play("s", snap, 40, 100.0, 3.0), Sync(1, "s", 3.0), Copy(2, "s"), SetRate("s", None), Stop("s"),
            Synced(1, progress, 12.5), Synced(3, None), Copied(2, snap, new), Copied(4, None, None),
            Left("s", "limit", snap, new), Left("s", "error: bad", None, None)]


def test_every_message_type_is_covered_and_frozen():
    messages = every_message()
    assert {type(m) for m in messages} == {*protocol.TO_PROCESS, *protocol.TO_SERVER}
    with pytest.raises(dataclasses.FrozenInstanceError):
        messages[1].sid = "other"


@pytest.mark.parametrize("msg", every_message(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_a_connection(msg):
    ours, theirs = Pipe()
    sender = threading.Thread(target=ours.send, args=(msg,))   # a snapshot is larger than the pipe's buffer
    sender.start()
    assert theirs.poll(TIMEOUT)
    assert_same(msg, theirs.recv())
    sender.join(TIMEOUT)


@pytest.fixture
def process_side():
    """``serve`` in a thread on one end of a pipe; the test speaks on the other end."""
    ours, theirs = Pipe()
    thread = threading.Thread(target=serve, args=(theirs,), daemon=True)
    thread.start()

    def ask(msg: object) -> object:
        ours.send(msg)
        assert ours.poll(TIMEOUT), "the training process did not answer"
        return ours.recv()

    yield ours, ask, thread
    ours.close()
    thread.join(TIMEOUT)


def test_the_process_side_answers_every_message_and_refuses_an_unknown_one(process_side, caplog):
    ours, ask, thread = process_side
    run = small_run()
    ours.send(Play("a", run.snapshot(), None, None, 60.0))
    ours.send(SetRate("a", 1e6))
    ours.send(("sync", 7, "a"))   # the old tuple form: not a message any more
    synced = ask(Sync(7, "a", 3.0))
    assert isinstance(synced, Synced) and synced.request_id == 7 and synced.progress is not None
    copied = ask(Copy(8, "a"))
    assert isinstance(copied, Copied) and copied.request_id == 8
    assert ac.TrainingRun.from_snapshot(copied.snapshot).step_count >= synced.progress.step_count
    left = ask(Stop("a"))
    assert isinstance(left, Left) and (left.sid, left.finished) == ("a", None)
    assert_same(ask(Sync(9, "a", 3.0)), Synced(9, None))       # the run has left
    assert_same(ask(Copy(10, "a")), Copied(10, None, None))
    ours.send(Stop("a"))                                  # nothing to stop: ignored
    ours.send(SetRate("a", 1.0))
    assert_same(ask(Sync(11, "a", 3.0)), Synced(11, None))
    assert thread.is_alive()
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == ["the training process refused a message it does not know: ('sync', 7, 'a')"]


def test_the_process_holds_only_the_replay_snapshots_it_has_not_handed_over(process_side):
    """Each Synced hands the newly kept snapshots over and the process keeps none it has sent: Copy shows what it
    still holds (those kept after the last sync), Left brings the rest and a snapshot without them; the session's
    run then has the snapshots of the run trained here."""
    ours, ask, thread = process_side
    session = small_run()
    ours.send(Play("a", session.snapshot(), None, None, 60.0))
    requests = itertools.count()
    end = time.monotonic() + TIMEOUT
    while session.step_count < 300 and time.monotonic() < end:   # thinned several times while handed over
        session.apply(ask(Sync(next(requests), "a", 3.0)).progress)
        copied = ask(Copy(next(requests), "a"))
        held = copied.snapshots
        assert ARRAY_THETA not in copied.snapshot.arrays
        assert len(held.thetas) == (held.steps > session.step_count).sum()   # kept since the sync only
    left = ask(Stop("a"))
    assert ARRAY_THETA not in left.snapshot.arrays
    session.restore(Snapshot(left.snapshot.meta, {**left.snapshot.arrays,
                                                  **session.theta_snapshots.merged(left.snapshots)}))
    assert session.theta_snapshots.spacing > 4
    here = small_run()
    here.run_steps(session.step_count)
    np.testing.assert_array_equal(session.theta_snapshots.steps, here.theta_snapshots.steps)
    for step in map(int, here.theta_snapshots.steps):
        np.testing.assert_allclose(session.theta_snapshots.theta_at(step), here.theta_snapshots.theta_at(step),
                                   rtol=0, atol=1e-12)


def test_the_server_side_routes_answers_and_leavers_and_refuses_an_unknown_one(caplog):
    worker.start()
    process = worker.training_process()
    run = small_run()
    t = worker.Trainer(run, stop_epoch=None)
    process.receive(("state", t.sid, "limit", None))   # the old tuple form
    process.receive(Synced(10**9, None))               # an answer nobody waits for
    assert t.alive
    t.sync()
    snap = run.snapshot()
    process.receive(Left(t.sid, "idle", snap, run.theta_snapshots.pending()))   # as if the process had sent it
    assert not t.alive and t.finished == "idle"
    t.stop()
    assert process.alive and process.proc.poll() is None
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 2 and "('state'," in refused[0] and "Synced(request_id=1000000000" in refused[1]


def test_history_since_a_mark_copies_rows_through_compactions():
    """A copy fed the rows since the last mark holds exactly the source's rows, before and after the
    source's older half is averaged (capacity 8: many compactions)."""
    src, copy = History(2, capacity=8), History(2, capacity=8)
    rng = np.random.default_rng(0)
    mark = None
    for step in range(1, 60):
        assert src.record_step(step, float(step), [rng.normal(size=3) for _ in range(5)])
        if step % 4 == 0:
            src.record_epoch(step // 4, step, 0.5)
        if step % 3 == 0:
            rows = src.since(mark)
            copy.load(rows)
            mark = rows.mark
            np.testing.assert_array_equal(copy.steps.rows(), src.steps.rows())
            np.testing.assert_array_equal(copy.epochs.rows(), src.epochs.rows())
    assert src.steps.compactions > 2
    mark = src.since(mark).mark
    assert src.since(mark).steps.shape == (0, src.steps.data.shape[1])   # nothing new since the last mark


def test_apply_brings_a_copy_to_the_progress_of_the_run_trained_elsewhere():
    run = ac.TrainingRun(ac.presets[SMALL].replace(lr=10.0), seed=0)   # diverges within a few dozen steps
    copy = ac.TrainingRun(run.config, seed=0)
    mark = None
    while not run.diverged:
        run.run_steps(7)
        progress = run.progress(mark)
        copy.apply(progress)
        mark = progress.rows.mark
    assert run.divergence_steps and copy.divergence_steps == run.divergence_steps
    assert (copy.step_count, copy.epoch_count, copy.diverged) == (run.step_count, run.epoch_count, run.diverged)
    np.testing.assert_array_equal(copy.net.theta, run.net.theta)
    np.testing.assert_array_equal(copy.history.steps.rows(), run.history.steps.rows())
    np.testing.assert_array_equal(copy.history.epochs.rows(), run.history.epochs.rows())


def test_importing_the_worker_starts_nothing():
    code = ("import threading, ui.services.worker, ui.train.session, ui.services.training_process; "
            "print(sorted(t.name for t in threading.enumerate()), ui.services.worker._process)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['MainThread'] None"


def test_start_is_once_per_process():
    worker.start()
    worker.start()
    assert [t.name for t in threading.enumerate()].count("memory-release") == 1
