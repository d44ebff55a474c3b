"""The pace of live frames (ui/services/pace.py): each watching session's share of the server's time for frames,
measured rather than assumed, and never nothing."""

from __future__ import annotations

import pytest

from ui.services import pace


def students(n: int) -> list[pace.Watcher]:
    return [pace.Watcher(0.0, pace.STUDENT_FRAME.cost, 0.1, False) for _ in range(n)]


class Clocks:
    """A wall clock and a process CPU clock that a test moves by hand."""

    def __init__(self) -> None:
        self.now, self.cpu = 1000.0, 50.0

    def meter(self) -> pace.Meter:
        return pace.Meter(clock=lambda: self.now, cpu=lambda: self.cpu)


def period(clocks: Clocks, meter: pace.Meter, frames: int, cpu_per_frame: float, extra_cpu: float = 0.0) -> None:
    """One PERIOD of ``frames`` student frames, each costing the process ``cpu_per_frame`` seconds, plus
    ``extra_cpu`` seconds of other work."""
    for _ in range(frames):
        clocks.now += pace.PERIOD / frames
        clocks.cpu += cpu_per_frame + extra_cpu / frames
        meter.frame(pace.STUDENT_FRAME.cost)


@pytest.mark.parametrize("n", [0, 1, 5, 14])
def test_a_small_class_draws_at_its_fastest(n):
    assert pace.interval(0.1, pace.STUDENT_FRAME, others=students(n), scale=1.0) == 0.1


@pytest.mark.parametrize("n", [30, 60, 200])
@pytest.mark.parametrize("scale", [1.0, 1.6])
def test_a_large_class_shares_the_budget_evenly_at_the_measured_cost(n, scale):
    t = pace.interval(0.1, pace.STUDENT_FRAME, others=students(n - 1), scale=scale)
    assert t > 0.1
    assert n * pace.STUDENT_FRAME.cost * scale / t == pytest.approx(pace.BUDGET)   # the frame time, fully used


def test_every_share_shrinks_with_the_class_and_never_reaches_zero():
    shares = [1 / pace.interval(0.1, pace.STUDENT_FRAME, others=students(n - 1), scale=pace.SCALE_RANGE[1])
              for n in (1, 10, 100, 1000, 10_000)]
    assert all(a >= b > 0 for a, b in zip(shares, shares[1:]))


def test_the_teacher_keeps_its_pace_and_the_class_shares_the_rest():
    class_ = students(59)
    teacher = pace.Watcher(0.0, pace.STUDENT_FRAME.cost, 0.1, True)
    assert pace.interval(0.1, pace.STUDENT_FRAME, first=True, others=class_, scale=3.0) == 0.1
    t = pace.interval(0.1, pace.STUDENT_FRAME, others=[*class_, teacher], scale=1.0)
    used = 60 * pace.STUDENT_FRAME.cost / t + pace.STUDENT_FRAME.cost / 0.1
    assert used == pytest.approx(pace.BUDGET)


def test_the_meter_measures_the_cost_of_a_frame():
    clocks = Clocks()
    meter = clocks.meter()
    assert meter.scale == 1.0   # nothing measured yet: the nominal costs
    for _ in range(3):
        period(clocks, meter, 40, 2 * pace.STUDENT_FRAME.cost)
    assert meter.scale == pytest.approx(2.0, rel=0.1)


def test_other_work_in_a_period_does_not_slow_the_frames():
    clocks = Clocks()
    meter = clocks.meter()
    period(clocks, meter, 40, pace.STUDENT_FRAME.cost)
    period(clocks, meter, 40, pace.STUDENT_FRAME.cost, extra_cpu=0.5)   # forty Pauses redraw their pages
    period(clocks, meter, 40, pace.STUDENT_FRAME.cost)
    assert meter.scale == pytest.approx(1.0, rel=0.1)


def test_a_slower_server_is_seen_within_kept_periods():
    clocks = Clocks()
    meter = clocks.meter()
    period(clocks, meter, 40, pace.STUDENT_FRAME.cost)
    for _ in range(pace.KEPT + 1):
        period(clocks, meter, 40, 3 * pace.STUDENT_FRAME.cost)
    assert meter.scale == pytest.approx(3.0, rel=0.1)


def test_a_period_with_too_few_frames_is_not_measured_and_the_scale_is_bounded():
    clocks = Clocks()
    meter = clocks.meter()
    clocks.now, clocks.cpu = clocks.now + 5 * pace.PERIOD, clocks.cpu + 4.0   # a page load, no frames
    meter.frame(pace.STUDENT_FRAME.cost)
    assert meter.scale == 1.0
    for _ in range(pace.KEPT):
        period(clocks, meter, 2, 1.0)
    assert meter.scale == pace.SCALE_RANGE[1]


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


@pytest.mark.parametrize(("n", "told"), [(10, False), (400, True)])
def test_a_session_under_one_frame_a_second_is_told_the_class_is_full(monkeypatch, n, told):
    shown = []
    monkeypatch.setattr(pace.streamlit_private, "fragment_timer", lambda seconds: True)
    monkeypatch.setattr(pace.streamlit_private, "session_id", lambda: "me")
    monkeypatch.setattr(pace.st, "info", lambda text, icon: shown.append(text))
    monkeypatch.setattr(pace, "meter", Clocks().meter())
    monkeypatch.setattr(pace, "_watchers", {str(i): pace.Watcher(pace.time.monotonic(), pace.STUDENT_FRAME.cost,
                                                                0.1, False) for i in range(n - 1)})
    pace.keep_pace(0.1, pace.STUDENT_FRAME)
    assert shown == ([pace.STUDENT_FRAME.full] if told else [])
    assert "me" in pace._watchers


def test_one_page_draws_at_a_time():
    with pace.turn() as drawn:
        assert drawn and not pace._turn.acquire(blocking=False)
    assert pace._turn.acquire(blocking=False)
    pace._turn.release()


def test_a_page_waiting_for_its_turn_gives_way_to_a_click(monkeypatch):
    clicks = iter([False, True])   # the click arrives while the page waits
    monkeypatch.setattr(pace.streamlit_private, "click_waiting", lambda: next(clicks))
    with pace._turn:               # another page draws
        with pace.turn() as drawn:
            assert not drawn
    assert pace._turn.acquire(blocking=False)   # the page that gave way never took the turn
    pace._turn.release()


def test_a_crowd_declaring_its_live_fragments_at_once_starts_at_its_share(monkeypatch):
    session = ["0"]
    monkeypatch.setattr(pace.streamlit_private, "session_id", lambda: session[0])
    monkeypatch.setattr(pace, "meter", Clocks().meter())
    monkeypatch.setattr(pace, "_watchers", {})
    for i in range(300):   # 300 students load the page before any of them has drawn a frame
        session[0] = str(i)
        last = pace.interval(0.1, pace.STUDENT_FRAME)
    assert len(pace._watchers) == 300
    assert 300 * pace.STUDENT_FRAME.cost / last == pytest.approx(pace.BUDGET)
