"""Follow the teacher (ui/classroom/rooms.py, ui/classroom/follow.py): a room's frames are built once per tick for
all its followers, a follower gets every chart once and then only what changed, rooms expire with the teacher's
session, followers are told when the teacher pauses or leaves (and the room closes), a code can be typed in,
and a follower can read the teacher's run, take a copy, but never change the teacher's run."""

from __future__ import annotations

import gc
import json
from types import SimpleNamespace

import pytest

import adjoint_core as ac
from apptest_helpers import W, app, run_of, step_count
from ui import streamlit_private
from ui.classroom import rooms
from ui.train import board, chart_groups

ALL_KEYS = {"loss_chart", "mu_bar", "fit_chart", "slice_chart", "mu_heatmap", "grad_chart"}


def connected() -> bool:
    return True


class Teacher:
    """A teacher's connection that a test drops and restores, and the rooms' clock that a test moves."""

    def __init__(self, monkeypatch) -> None:
        self.online, self.now = True, 1000.0
        monkeypatch.setattr(rooms, "clock", lambda: self.now)

    def connected(self) -> bool:
        return self.online


@pytest.fixture
def room(monkeypatch):
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 0.0)   # every payload call may build: the tests set the clock
    r = rooms.open_room(connected)
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(3)
    r.attach(run, None, "wave2d-relu")
    yield r
    rooms.close_room(r)


def charts(payload: bytes) -> set[str]:
    return set(json.loads(payload)["charts"])


def test_a_follower_gets_every_chart_first_then_only_new_groups(room):
    seen: dict = {}
    first = json.loads(room.payload(seen))
    assert set(first["charts"]) == ALL_KEYS and dict(first["status"])["Step"] == "3"
    assert charts(room.payload(seen)) == set(), "no step since: nothing to redraw"
    room.run.run_steps(1)
    assert charts(room.payload(seen)) == {"loss_chart", "mu_bar"}
    late: dict = {}
    assert charts(room.payload(late)) == ALL_KEYS, "a follower who joins later gets every chart"


def test_a_page_that_lost_its_frames_gets_every_chart_in_a_keyframe_after_a_quiet_second(room, monkeypatch):
    """Streamlit may drop a frame's output unsent: a paused teacher's follower would keep a blank board."""
    now = [0.0]
    monkeypatch.setattr(board, "clock", lambda: now[0])
    seen: dict = {}
    assert charts(room.payload(seen)) == ALL_KEYS   # ... and dropped on the way
    assert charts(room.payload(seen)) == set()
    now[0] += board.KEYFRAME_FIRST
    keyframe = json.loads(room.payload(seen))["charts"]
    assert set(keyframe) == ALL_KEYS, "every chart again"
    assert len({fig["v"] for fig in keyframe.values()}) == len(chart_groups.GROUPS), "each with its group's version"
    gaps = []
    for _ in range(12):   # then ever rarer: 2 s, 4 s, ... up to KEYFRAME_MAX, while nothing changes
        start = now[0]
        while not charts(room.payload(seen)):
            now[0] += 0.5
        gaps.append(now[0] - start)
    assert gaps[:5] == [2.0, 4.0, 8.0, 16.0, 32.0] and set(gaps[5:]) == {board.KEYFRAME_MAX}
    room.run.run_steps(1)
    assert charts(room.payload(seen)) == {"loss_chart", "mu_bar"}, "something new: only that"
    now[0] += board.KEYFRAME_FIRST
    assert charts(room.payload(seen)) == ALL_KEYS, "and a keyframe a quiet second later"


def test_frames_are_built_once_per_tick_for_any_number_of_followers(room, monkeypatch):
    built = []
    real = board.live_figures
    monkeypatch.setattr(board, "live_figures",
                        lambda run, groups, shared: built.append(groups) or real(run, groups, shared))
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 3600.0)
    followers = [{} for _ in range(100)]
    payloads = {room.payload(seen) for seen in followers}
    assert len(built) == len(chart_groups.GROUPS), "one build of each group, not one per follower"
    assert len(payloads) == 1 and charts(payloads.pop()) == ALL_KEYS


def test_a_rooms_frames_carry_no_followers_kept_runs_or_screen_layout(room, monkeypatch):
    """Whichever follower's frame builds the room's board, nothing of that follower's session (kept runs, phone
    or projector layout) reaches the others: the room draws the teacher's run alone."""
    def personal(*_):
        raise AssertionError("a room's board read a follower's session")
    monkeypatch.setattr(chart_groups.compare, "overlays", personal)
    monkeypatch.setattr(board, "for_screen", personal)
    assert charts(room.payload({})) == ALL_KEYS
    own = board.Board()
    with pytest.raises(AssertionError, match="follower's session"):   # a session's own board does read them
        own.update(room.run, [])


def test_a_new_layout_sends_every_chart_again(room):
    seen: dict = {}
    room.payload(seen)
    room.attach(ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0), None, "nonlinear-relu")   # 1D: no slice
    payload = json.loads(room.payload(seen))
    assert set(payload["charts"]) == ALL_KEYS - {"slice_chart"}
    assert [k for row in payload["rows"] for k, _, _ in row] == ["loss_chart", "mu_bar", "fit_chart", "mu_heatmap",
                                                                 "grad_chart"]


def test_a_new_run_of_the_same_setup_sends_every_chart_again(room):
    seen: dict = {}
    room.payload(seen)
    room.attach(ac.TrainingRun(ac.presets["wave2d-relu"], seed=0), None, "wave2d-relu")   # Reset: the same layout
    assert charts(room.payload(seen)) == ALL_KEYS
    assert dict(json.loads(room.payload(seen))["status"])["Step"] == "0"


def test_a_room_expires_when_the_teacher_lets_it_go():
    r = rooms.open_room(connected)
    code = r.code
    assert rooms.find_room(code.lower()) is r
    del r
    gc.collect()
    with pytest.raises(rooms.RoomError, match="no live room"):
        rooms.find_room(code)


@pytest.mark.parametrize("code", ["", "ABC", "ABCDEFG", "AB CD", "ABCD0", "../x", "A" * 500, "ÄBCDE"])
def test_malformed_codes_say_what_a_code_is(code):
    with pytest.raises(rooms.RoomError, match="not a room code"):
        rooms.find_room(code)


def test_rooms_are_bounded(monkeypatch):
    monkeypatch.setattr(rooms, "MAX_ROOMS", 3)
    kept = [rooms.open_room(connected) for _ in range(3 - len([1 for ref in rooms._rooms.values() if ref()]))]
    with pytest.raises(rooms.RoomError, match="already has 3 live rooms"):
        rooms.open_room(connected)
    rooms.close_room(kept[0])
    kept.append(rooms.open_room(connected))
    for r in kept:
        rooms.close_room(r)


def teacher_with_room():
    teacher = app({"preset": "nonlinear-relu"})
    teacher.button(key="btn_step").click().run()
    teacher.button(key="btn_open_room").click().run()
    assert not teacher.exception
    return teacher, teacher.session_state["room"].code


def test_a_follower_sees_the_room_and_none_of_the_setup_controls():
    teacher, code = teacher_with_room()
    assert any(code in m.value for m in teacher.sidebar.markdown)
    follower = app({"follow": code})
    assert not follower.exception
    assert any(code in c.value for c in follower.caption)
    assert not follower.sidebar.selectbox and not follower.sidebar.text_input, "a follower has no setup controls"
    assert "run" not in follower.session_state, "a follower trains nothing of its own"
    teacher.button(key="btn_close_room").click().run()
    follower.run()
    assert any(f"room {code} has closed: the teacher closed it" in w.value for w in follower.warning)
    assert follower.selectbox(key=W + "preset") is not None, "the page works as a normal run again"


def test_a_follower_can_take_a_copy_but_never_change_the_teachers_run():
    teacher, code = teacher_with_room()
    before = run_of(teacher).snapshot()
    follower = app({"follow": code, "lr": "5", "preset": "linear-relu", "seed": "9"})   # ignored while following
    follower.button(key="btn_take_copy").click().run()
    assert not follower.exception
    copy = run_of(follower)
    assert copy is not run_of(teacher) and copy.step_count == 1 and copy.config == run_of(teacher).config
    follower.button(key="btn_step").click().run()
    follower.button(key="btn_step").click().run()
    assert step_count(follower) == 3
    teacher.run()
    after = run_of(teacher).snapshot()
    assert after.meta == before.meta
    assert all((after.arrays[k] == before.arrays[k]).all() for k in before.arrays)


@pytest.mark.parametrize("code", ["nope", "ZZZZZ", "<script>"])
def test_an_unknown_or_malformed_code_leaves_a_normal_page(code):
    at = app({"follow": code})
    assert not at.exception
    assert any("Cannot follow" in w.value for w in at.warning)
    at.button(key="btn_step").click().run()
    assert step_count(at) == 1


def test_followers_are_told_when_the_teacher_pauses(monkeypatch):
    teacher = Teacher(monkeypatch)
    r = rooms.open_room(teacher.connected)
    r.attach(ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0), SimpleNamespace(alive=True), None)
    assert r.note() is None, "playing: nothing to say"
    r.attach(r.run, None, None)                                      # Pause: no trainer
    kind, text = r.note()
    assert kind == "info" and "paused" in text
    teacher.now += 3600                                              # paused for an hour, still connected
    assert rooms.find_room(r.code) is r and r.note()[0] == "info"
    rooms.close_room(r)


def test_a_room_whose_teacher_left_says_so_then_closes(monkeypatch):
    teacher = Teacher(monkeypatch)
    r = rooms.open_room(teacher.connected)
    r.attach(ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0), SimpleNamespace(alive=True), None)
    teacher.online = False
    kind, text = r.note()
    assert kind == "warning" and "teacher has left" in text and f"closes in {rooms.CLOSE_AFTER:.0f} s" in text
    teacher.now += rooms.CLOSE_AFTER - 1
    assert rooms.find_room(r.code) is r and "closes in 1 s" in r.note()[1]
    teacher.online = True                                            # a short network loss: back in time
    assert r.note() is None
    teacher.online = False
    assert r.note()[0] == "warning"                                  # a follower's frame sees it
    teacher.now += rooms.CLOSE_AFTER - 0.5
    assert rooms.find_room(r.code) is r, "the time away starts again at each disconnection"
    teacher.now += 0.5
    with pytest.raises(rooms.RoomError, match=f"room {r.code} has closed: the teacher left"):
        rooms.find_room(r.code)
    teacher.online = True
    with pytest.raises(rooms.RoomError, match="has closed: the teacher left"):
        rooms.find_room(r.code)                                      # closed for good


def test_a_room_closed_by_its_teacher_says_so():
    r = rooms.open_room(connected)
    rooms.close_room(r)
    with pytest.raises(rooms.RoomError, match=f"room {r.code} has closed: the teacher closed it"):
        rooms.find_room(r.code)


def test_a_follower_page_tells_that_the_teacher_left(monkeypatch):
    clock = Teacher(monkeypatch)
    monkeypatch.setattr(streamlit_private, "connected", lambda session_id: clock.connected)
    teacher, code = teacher_with_room()
    follower = app({"follow": code})
    assert not follower.warning and any("paused" in i.value for i in follower.info)
    clock.online = False
    follower.run()
    assert any("teacher has left" in w.value for w in follower.warning)
    clock.now += rooms.CLOSE_AFTER
    follower.run()
    assert any(f"room {code} has closed: the teacher left" in w.value for w in follower.warning)
    assert follower.selectbox(key=W + "preset") is not None, "the page works as a normal run again"


def test_a_typed_code_follows_the_room_and_bad_codes_say_why():
    teacher, code = teacher_with_room()
    student = app()
    box = student.sidebar.text_input(key="follow_code")
    box.input("nope").run()
    assert [e.value for e in student.sidebar.error] == [
        "Cannot follow: 'NOPE' is not a room code: a room code is 5 letters and digits."]
    unknown = "ZZZZZ" if code != "ZZZZZ" else "YYYYY"
    student.sidebar.text_input(key="follow_code").input(unknown).run()
    assert [e.value for e in student.sidebar.error] == [
        f"Cannot follow: there is no live room {unknown}: the teacher may have closed it, or the code is mistyped."]
    student.sidebar.text_input(key="follow_code").input(f" {code.lower()} ").run()
    assert not student.exception and student.query_params["follow"] == code
    assert any(code in c.value for c in student.caption), "the follower's page"
    assert not student.sidebar.error


def test_take_a_copy_says_the_copy_is_now_the_students_own():
    teacher, code = teacher_with_room()
    follower = app({"follow": code})
    follower.button(key="btn_take_copy").click().run()
    assert [t.value for t in follower.toast] == [
        "Copied the teacher's run at step 1: it is now your own run, and nothing you do changes the teacher's."]
