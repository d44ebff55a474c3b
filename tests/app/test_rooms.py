"""Follow the teacher (ui/classroom/rooms.py, room_files.py, follow.py): a room's frames are built once per tick for
all its followers and written as files (a head with what is new, a file per chart group version, old ones removed,
only what a follower sees; the folder goes with the room or its followers), rooms expire with the teacher's
session, followers are told when the teacher pauses or leaves (and the room closes), a code can be typed in,
and a follower can read the teacher's run, take a copy, but never change the teacher's run."""

from __future__ import annotations

import gc
import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import adjoint_core as ac
from apptest_helpers import W, app, run_of, step_count
from ui import streamlit_private
from ui.classroom import room_files, rooms
from ui.plots import figures
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
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 0.0)   # every write may build: the tests set the clock
    r = rooms.open_room(connected)
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(3)
    r.attach(run, None, "wave2d-relu")
    yield r
    rooms.close_room(r)


def charts(payload: bytes) -> set[str]:
    return set(json.loads(payload)["charts"])


def read(folder: Path, name: str = room_files.HEAD) -> dict:
    return json.loads(gzip.decompress((folder / name).read_bytes()))


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A room's files in a folder of the test's own (a Files the writer thread never sees)."""
    monkeypatch.setattr(room_files, "FOLDER", tmp_path)
    return room_files.Files


def test_a_rooms_head_has_every_chart_first_then_only_what_is_new(room, files):
    f = files(room.code)
    f.write(room, room_files.FOLLOW_TICK)
    head = read(f.folder)
    assert set(head) == {"status", "note", "rows", "versions", "every", "charts"}, "only what a follower sees"
    assert set(head["charts"]) == ALL_KEYS and dict(head["status"])["Step"] == "3"
    assert head["versions"] == {g: v for g, (v, _) in room.wire()[1].items()}
    assert set(head["versions"]) == set(chart_groups.GROUPS)
    for group, version in head["versions"].items():   # each version as a file too, for a page that missed it
        assert {fig["v"] for fig in read(f.folder, f"{group}-{version}.json.gz").values()} == {version}
    f.written = {g: (when - 60, text) for g, (when, text) in f.written.items()}   # a minute later
    room.run.run_steps(1)
    f.write(room, room_files.FOLLOW_TICK)
    head = read(f.folder)
    assert set(head["charts"]) == {"loss_chart", "mu_bar"} and dict(head["status"])["Step"] == "4"
    assert not [p.name for p in f.folder.iterdir() if p.name.startswith(".")], "no file left half-written"


def test_a_superseded_group_file_is_removed_after_a_while(room, files, monkeypatch):
    f = files(room.code)
    f.write(room, 0.25)
    first = read(f.folder)["versions"]["fast"]
    room.run.run_steps(1)
    f.write(room, 0.25)
    assert (f.folder / f"fast-{first}.json.gz").exists(), "kept for a page that read an older head"
    monkeypatch.setattr(room_files, "KEEP", 0.0)
    f.write(room, 0.25)
    assert not (f.folder / f"fast-{first}.json.gz").exists()
    assert (f.folder / f"fast-{read(f.folder)['versions']['fast']}.json.gz").exists()


def test_a_large_audience_fetches_less_often():
    assert room_files.every(1) == room_files.every(100) == room_files.FOLLOW_TICK
    assert 1 / room_files.every(300) >= 1, "300 followers: still a frame a second each"
    assert room_files.every(3000) > room_files.every(300)


def test_frames_are_built_once_per_tick_for_any_number_of_followers(room, monkeypatch, tmp_path):
    built = []
    real = board.live_figures
    monkeypatch.setattr(board, "live_figures",
                        lambda run, groups, shared: built.append(groups) or real(run, groups, shared))
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 3600.0)
    monkeypatch.setattr(room_files, "FOLDER", tmp_path)
    monkeypatch.setattr(room_files, "_files", {})
    monkeypatch.setattr(room_files, "_followers", {str(i): (room.code, connected) for i in range(100)})
    room_files.write_all()
    room_files.write_all()
    assert len(built) == len(chart_groups.GROUPS), "one build of each group, not one per follower"
    assert set(read(tmp_path / room.code)["charts"]) == ALL_KEYS


def test_a_rooms_folder_goes_when_it_closes_or_its_followers_leave(monkeypatch, tmp_path):
    monkeypatch.setattr(room_files, "FOLDER", tmp_path)
    monkeypatch.setattr(room_files, "_files", {})
    monkeypatch.setattr(room_files, "_followers", {})
    here = {"a": True, "b": True}
    kept, closed = rooms.open_room(connected), rooms.open_room(connected)
    for session, r in (("a", kept), ("b", closed)):
        room_files._followers[session] = (r.code, lambda s=session: here[s])
    room_files.write_all()
    assert (tmp_path / kept.code / room_files.HEAD).exists() and (tmp_path / closed.code / room_files.HEAD).exists()
    rooms.close_room(closed)
    room_files.write_all()
    assert not (tmp_path / closed.code).exists(), "its head is gone: the page reruns and says why"
    assert "b" not in room_files._followers
    here["a"] = False   # the follower's page closed
    room_files.write_all()
    assert (tmp_path / kept.code).exists() and room_files._followers == {}, "kept a while"
    monkeypatch.setattr(room_files, "KEEP", 0.0)
    room_files.write_all()
    assert not (tmp_path / kept.code).exists()
    rooms.close_room(kept)


def test_a_rooms_frames_carry_no_followers_kept_runs_or_screen_layout(room, monkeypatch):
    """Whichever follower's frame builds the room's board, nothing of that follower's session (kept runs, phone
    or projector layout) reaches the others: the room draws the teacher's run alone."""
    def personal(*_):
        raise AssertionError("a room's board read a follower's session")
    monkeypatch.setattr(chart_groups.compare, "overlays", personal)
    monkeypatch.setattr(board, "for_screen", personal)
    assert len(room.wire()[1]) == len(chart_groups.GROUPS)
    own = board.Board()
    with pytest.raises(AssertionError, match="follower's session"):   # a session's own board does read them
        own.update(room.run, [])


def test_a_new_layout_sends_every_chart_again(room, files):
    f = files(room.code)
    f.write(room, 0.25)
    room.attach(ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0), None, "nonlinear-relu")   # 1D: no slice
    f.write(room, 0.25)
    head = read(f.folder)
    assert set(head["charts"]) == ALL_KEYS - {"slice_chart"}
    assert [k for row in head["rows"] for k, _, _ in row] == ["loss_chart", "mu_bar", "fit_chart", "mu_heatmap",
                                                              "grad_chart"]


def test_a_new_run_of_the_same_setup_sends_every_chart_again(room, files):
    f = files(room.code)
    f.write(room, 0.25)
    before = read(f.folder)["versions"]
    room.attach(ac.TrainingRun(ac.presets["wave2d-relu"], seed=0), None, "wave2d-relu")   # Reset: the same layout
    f.write(room, 0.25)
    head = read(f.folder)
    assert all(head["versions"][g] != v for g, v in before.items()) and set(head["charts"]) == ALL_KEYS
    assert dict(head["status"])["Step"] == "0"

def test_a_page_that_lost_its_frames_gets_every_chart_in_a_keyframe_after_a_quiet_second(room, monkeypatch):
    """Streamlit may drop a frame's output unsent: a page whose frames bring nothing new would keep a blank board."""
    own = board.Board(shared=True)

    def payload(seen: dict) -> bytes:
        own.update(room.run, [])
        return own.payload(seen)
    now = [0.0]
    monkeypatch.setattr(board, "clock", lambda: now[0])
    seen: dict = {}
    assert charts(payload(seen)) == ALL_KEYS   # ... and dropped on the way
    assert charts(payload(seen)) == set()
    now[0] += board.KEYFRAME_FIRST
    keyframe = json.loads(payload(seen))["charts"]
    assert set(keyframe) == ALL_KEYS, "every chart again"
    assert len({fig["v"] for fig in keyframe.values()}) == len(chart_groups.GROUPS), "each with its group's version"
    gaps = []
    for _ in range(12):   # then ever rarer: 2 s, 4 s, ... up to KEYFRAME_MAX, while nothing changes
        start = now[0]
        while not charts(payload(seen)):
            now[0] += 0.5
        gaps.append(now[0] - start)
    assert gaps[:5] == [2.0, 4.0, 8.0, 16.0, 32.0] and set(gaps[5:]) == {board.KEYFRAME_MAX}
    room.run.run_steps(1)
    assert charts(payload(seen)) == {"loss_chart", "mu_bar"}, "something new: only that"
    now[0] += board.KEYFRAME_FIRST
    assert charts(payload(seen)) == ALL_KEYS, "and a keyframe a quiet second later"


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
    monkeypatch.setattr(streamlit_private, "connected", lambda session_id: connected)   # the followers' pages stay
    follower = app({"follow": code})
    folder = room_files.FOLDER / code
    room_files.write_all()
    kind, text = read(folder)["note"]
    assert kind == "info" and "paused" in text and not follower.warning
    clock.online = False
    room_files.write_all()
    assert "teacher has left" in read(folder)["note"][1]
    clock.now += rooms.CLOSE_AFTER
    room_files.write_all()
    assert not folder.exists(), "the head is gone: the follower's board reruns its page"
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


def test_a_watcher_is_told_the_run_has_not_started_not_asked_to_press_buttons_it_has_not():
    def notes(shared: bool) -> set[str]:
        figs = board.live_figures(run, list(chart_groups.GROUPS), shared=shared)
        return {note["text"] for fig in figs.values() for note in fig["layout"].get("annotations", [])}
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    assert figures.NOT_STARTED in notes(shared=True) and figures.NO_STEPS not in notes(shared=True)
    assert figures.NO_STEPS in notes(shared=False) and figures.NOT_STARTED not in notes(shared=False)
    run.run_steps(1)
    assert figures.NOT_STARTED not in notes(shared=True)
