"""Follow the teacher (ui/rooms.py, ui/follow.py): a room's frames are built once per tick for all its
followers, a follower gets every chart once and then only what changed, rooms expire with the teacher's
session, and a follower can read the teacher's run but never change it."""

from __future__ import annotations

import gc
import json

import pytest

import adjoint_core as ac
from apptest_helpers import W, app, run_of, step_count
from ui import live, rooms

ALL_KEYS = {"loss_chart", "mu_bar", "fit_chart", "slice_chart", "mu_heatmap", "grad_chart"}


@pytest.fixture
def room(monkeypatch):
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 0.0)   # every payload call may build: the tests set the clock
    r = rooms.open_room()
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


def test_frames_are_built_once_per_tick_for_any_number_of_followers(room, monkeypatch):
    built = []
    real = live.live_figures
    monkeypatch.setattr(live, "live_figures", lambda run, groups: built.append(groups) or real(run, groups))
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 3600.0)
    followers = [{} for _ in range(100)]
    payloads = {room.payload(seen) for seen in followers}
    assert len(built) == len(live.GROUPS), "one build of each group, not one per follower"
    assert len(payloads) == 1 and charts(payloads.pop()) == ALL_KEYS


def test_a_new_layout_sends_every_chart_again(room):
    seen: dict = {}
    room.payload(seen)
    room.attach(ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0), None, "nonlinear-relu")   # 1D: no slice
    payload = json.loads(room.payload(seen))
    assert set(payload["charts"]) == ALL_KEYS - {"slice_chart"}
    assert [k for row in payload["rows"] for k, _, _ in row] == ["loss_chart", "mu_bar", "fit_chart", "mu_heatmap",
                                                                 "grad_chart"]


def test_a_room_expires_when_the_teacher_lets_it_go():
    r = rooms.open_room()
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
    kept = [rooms.open_room() for _ in range(3 - len([1 for ref in rooms._rooms.values() if ref()]))]
    with pytest.raises(rooms.RoomError, match="already has 3 live rooms"):
        rooms.open_room()
    rooms.close_room(kept[0])
    kept.append(rooms.open_room())
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
    assert any("no live room" in w.value for w in follower.warning)
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
