"""The pace of live frames (ui/pace.py): each watching session's share of the server's frames."""

from __future__ import annotations

import pytest

from ui import pace


@pytest.mark.parametrize("fastest, sessions, expected", [
    (0.1, 1, 0.1), (0.1, 15, 0.1), (0.1, 30, 30 / pace.FRAMES_PER_SECOND), (0.25, 100, 100 / pace.FRAMES_PER_SECOND),
    (0.25, 2, 0.25)])
def test_a_session_gets_its_share_of_the_servers_frames_never_faster_than_its_own_interval(fastest, sessions,
                                                                                          expected):
    assert pace.interval(fastest, sessions) == pytest.approx(expected)
    assert sessions / pace.interval(fastest, sessions) <= pace.FRAMES_PER_SECOND + 1e-9


def test_only_sessions_with_a_recent_frame_count_as_watching(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(pace.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(pace, "_last_frame", {"a": 1000.0, "b": 999.0, "c": 1000.0 - pace.WINDOW - 0.1})
    assert pace.watching() == 2 and "c" not in pace._last_frame
    now[0] += pace.WINDOW - 0.5
    assert pace.watching() == 1                      # b's last frame is now older than WINDOW
    now[0] += 1.0
    assert pace.watching() == 0


def test_keep_pace_outside_a_fragment_does_nothing(monkeypatch):
    monkeypatch.setattr(pace, "_last_frame", {})
    pace.keep_pace(0.1)                              # no script run here: nothing to pace, no error
    assert pace._last_frame == {}
