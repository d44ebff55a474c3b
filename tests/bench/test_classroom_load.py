"""A class on one server (benchmarks/bench_classroom.py's simulated students): every playing session trains and
redraws, tabs that stop asking for frames stop training, followers see the teacher's run, and after a class the
server gives its memory back.  Bounds are deadlines and ratios far from the measured figures (README), never
speeds: the machine may be busy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import bench_classroom as bc  # noqa: E402
from benchmarks.local_server import Server  # noqa: E402
from ui.services import worker  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    s = Server(ttl=2)   # disconnected sessions are dropped 2 s after they leave
    yield s
    s.stop()


def test_tabs_that_stop_asking_for_frames_stop_training_under_load(server):
    r = bc.run_class(server.url, 10, duration=6.0, idle=True, server_pid=server.pid)   # the server is cold
    assert [s.error for s in r.students] == [""] * 10
    assert all(s.frames > 0 and s.step_at_end > s.step_at_play for s in r.students)
    assert r.idle_after_s is not None, "training went on after every tab had stopped asking"
    assert r.idle_after_s <= worker.IDLE + 5


def test_every_playing_student_gets_frames_and_a_fair_share(server):
    r = bc.run_class(server.url, 10, duration=6.0, server_pid=server.pid)
    assert [s.error for s in r.students] == [""] * 10
    shared = [s.shared_steps_per_s for s in r.students]
    assert all(v is not None and v > 0 for v in shared)
    assert max(shared) / min(shared) < 3, shared
    assert all(s.pause_ack_s is not None for s in r.students)


def test_followers_watch_the_teachers_run(server):
    r = bc.run_follow(server.url, 10, duration=4.0, server_pid=server.pid)
    teacher, followers = r.students[0], r.students[1:]
    assert [s.error for s in r.students] == [""] * 11
    assert teacher.pause_ack_s is not None
    for f in followers:
        assert f.frames > 0 and f.step_at_end is not None and f.step_at_end > 0


def test_memory_returns_after_a_class(server):
    bc.run_class(server.url, 10, duration=3.0, server_pid=server.pid)   # the server has taught a class before
    r = bc.run_class(server.url, 10, duration=3.0, settle=70, server_pid=server.pid)
    assert r.rss_peak_mb > r.rss_before_mb
    assert r.rss_settled_mb <= 1.2 * r.rss_before_mb, (r.rss_before_mb, r.rss_peak_mb, r.rss_settled_mb)
