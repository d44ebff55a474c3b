"""The pace of live frames (ui/services/pace.py): each watching session's share of the server's time for frames."""

from __future__ import annotations

import pytest

from ui.services import pace


def students(n: int) -> list[pace.Watcher]:
    return [pace.Watcher(0.0, pace.STUDENT_FRAME, 0.1, False) for _ in range(n)]


@pytest.mark.parametrize("n", [0, 1, 5, 14])
def test_a_small_class_draws_at_its_fastest(n):
    assert pace.interval(0.1, pace.STUDENT_FRAME, others=students(n)) == 0.1


@pytest.mark.parametrize("n", [30, 60, 200])
def test_a_large_class_shares_the_budget_evenly(n):
    others = students(n - 1)
    t = pace.interval(0.1, pace.STUDENT_FRAME, others=others)
    assert t > 0.1
    assert n * pace.STUDENT_FRAME / t == pytest.approx(pace.BUDGET)   # the server's frame time, fully used


def test_followers_cost_less_and_the_teacher_keeps_its_pace():
    followers = [pace.Watcher(0.0, pace.FOLLOWER_FRAME, 0.25, False) for _ in range(99)]
    teacher = pace.Watcher(0.0, pace.STUDENT_FRAME, 0.1, True)
    assert pace.interval(0.1, pace.STUDENT_FRAME, first=True, others=followers) == 0.1
    t = pace.interval(0.25, pace.FOLLOWER_FRAME, others=[*followers, teacher])
    used = 100 * pace.FOLLOWER_FRAME / t + pace.STUDENT_FRAME / 0.1
    assert used == pytest.approx(pace.BUDGET) and 1 / t >= 2


def test_only_sessions_with_a_recent_frame_count(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(pace.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(pace, "_watchers", {
        "a": pace.Watcher(1000.0, 1.0, 0.1, False), "b": pace.Watcher(999.0, 1.0, 0.1, False),
        "c": pace.Watcher(1000.0 - pace.WINDOW - 0.1, 1.0, 0.1, False)})
    assert len(pace._others()) == 2 and "c" not in pace._watchers
    now[0] += pace.WINDOW - 0.5
    assert len(pace._others()) == 1                  # b's last frame is now older than WINDOW
    now[0] += 1.0
    assert pace._others() == []


def test_keep_pace_outside_a_fragment_does_nothing(monkeypatch):
    monkeypatch.setattr(pace, "_watchers", {})
    pace.keep_pace(0.1, pace.STUDENT_FRAME)          # no script run here: nothing to pace, no error
    assert pace._watchers == {}
