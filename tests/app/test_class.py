"""A class (ui/classroom/roster.py, join.py, dashboard.py): students join a teacher's room with ?join=CODE or the
code typed in, train their own runs, and appear on the teacher's Class page; the teacher pauses the class, sends a
setup or a lesson (a class lesson gives each student their own value), hides names, spotlights a student and closes
the class. Sessions are AppTests in this process, so they share the rooms as a server's sessions do."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest

import adjoint_core as ac
from apptest_helpers import app, run_of, step_count
from ui import streamlit_private
from ui.classroom import dashboard, lesson_book, rooms, roster
from ui.plots import class_figures, describe

CLASS_PAGE = "app_pages/class_page.py"


@pytest.fixture(autouse=True)
def every_run_posts(monkeypatch):
    monkeypatch.setattr(roster, "CARD_EVERY", 0.0)   # each page run posts its card and reads the orders


def teacher_with_room(preset: str = "nonlinear-relu"):
    teacher = app({"preset": preset})
    teacher.button(key="btn_open_room").click().run()
    assert not teacher.exception
    return teacher, teacher.session_state["room"]


def student(code: str, nickname: str = "", steps: int = 0, **setup: str):
    at = app({"join": code, **setup})
    assert not at.exception and at.session_state["seat"].code == code
    if nickname:
        at.sidebar.text_input(key="class_nickname").input(nickname).run()
    for _ in range(steps):
        at.button(key="btn_step").click().run()
    return at


def class_page(teacher):
    teacher.switch_page(CLASS_PAGE).run()
    assert not teacher.exception, teacher.exception
    return teacher


def cards_html(teacher) -> str:
    return next(h.proto.body for h in teacher.html if "abp-cards" in h.proto.body)


def class_charts(teacher) -> dict[str, dict]:
    """The class charts' figures as the Class page's board element draws them (ui/train/board.py, show_figures)."""
    board = next(e for e in teacher.get("bidi_component") if e.key == "class_board")
    return json.loads(board.proto.bytes)["charts"]


def test_students_join_train_and_appear_on_the_class_page_with_their_numbers():
    teacher, room = teacher_with_room()
    ada = student(room.code, "Ada", steps=3, preset="nonlinear-relu")
    bob = student(room.code, steps=1, preset="nonlinear-relu")
    cy = student(room.code, preset="nonlinear-relu", lr="0.03")
    cards = cards_html(class_page(teacher))
    assert "Ada" in cards and "Student 2" in cards and "Student 3" in cards
    assert "step 3" in cards and "step 1" in cards and "step 0" in cards
    assert "lr 0.03" in cards and cards.count("your setup") == 2
    assert any("**3** students in class" in m.value for m in teacher.markdown)
    charts = class_charts(teacher)
    assert list(charts) == ["class_losses", "class_sweep"] and "every student" in json.dumps(charts["class_losses"])
    assert [len(charts["class_losses"]["data"])] == [3]   # a loss curve each
    versions = {key: fig["v"] for key, fig in charts.items()}
    assert {key: fig["v"] for key, fig in class_charts(teacher.run()).items()} == versions   # unchanged: not redrawn
    ada.button(key="btn_step").click().run()
    assert {key: fig["v"] for key, fig in class_charts(teacher.run()).items()} != versions   # a new loss: redrawn
    assert [c.nickname for c in room.cards()] == ["Ada", "", ""]
    for at in (ada, bob, cy):
        assert not at.exception


def test_a_nickname_is_plain_text_shown_escaped_and_names_can_be_hidden():
    teacher, room = teacher_with_room()
    student(room.code, "<b>x</b> [a](y)")
    cards = cards_html(class_page(teacher))
    assert "&lt;b&gt;x&lt;/b&gt;" in cards and "<b>x</b>" not in cards
    teacher.toggle(key="class_hide_names").set_value(True).run()
    cards = cards_html(teacher)
    assert "Student 1" in cards and "&lt;b&gt;" not in cards


@pytest.mark.parametrize("text, kept", [("  Ada \n Lovelace\t", "Ada Lovelace"), ("", ""), ("x" * 24, "x" * 24)])
def test_a_nickname_is_one_line_of_plain_text(text, kept):
    assert ac.limits.check_nickname(text) == kept


@pytest.mark.parametrize("text", ["x" * 25, 7, None])
def test_a_nickname_too_long_or_not_text_is_refused(text):
    with pytest.raises(ac.ConfigError, match="nickname"):
        ac.limits.check_nickname(text)


def test_a_typed_code_joins_and_leave_is_one_button():
    teacher, room = teacher_with_room()
    at = app()
    at.sidebar.text_input(key="join_nickname").input("Grace")
    at.sidebar.text_input(key="join_code").input(room.code.lower()).run()
    assert at.session_state["seat"].nickname == "Grace" and at.query_params["join"] == room.code
    assert [c.name for c in room.cards()] == ["Grace"]
    at.button(key="btn_leave_class").click().run()
    assert "seat" not in at.session_state and "join" not in at.query_params
    assert room.cards() == []


def test_pause_the_class_stops_every_students_play_and_says_why():
    teacher, room = teacher_with_room()
    students = [student(room.code) for _ in range(2)]
    for at in students:
        at.button(key="btn_play").click().run()
        assert at.session_state["playing"]
    class_page(teacher).button(key="btn_pause_class").click().run()
    for at in students:
        at.run()
        assert not at.session_state["playing"] and at.session_state.get("trainer") is None
        assert any("Your teacher paused the class" in m.value for m in at.markdown)
        at.button(key="btn_play").click().run()   # and they may play again
        assert at.session_state["playing"]
        at.button(key="btn_play").click().run()


def test_send_my_setup_opens_it_on_every_students_page():
    teacher, room = teacher_with_room("linear-relu")
    at = student(room.code, steps=2)
    class_page(teacher).button(key="btn_send_setup").click().run()
    at.run()
    assert run_of(at).config == run_of(teacher).config and step_count(at) == 0
    assert any("sent the class a setup" in m.value for m in at.markdown)


def test_a_class_lesson_gives_each_student_their_own_value():
    lesson = lesson_book.LESSONS["class-lr-sweep"]
    teacher, room = teacher_with_room()
    students = [student(room.code) for _ in range(3)]
    class_page(teacher).selectbox(key="class_lesson").set_value(lesson.id)
    teacher.button(key="btn_send_lesson").click().run()
    for k, at in enumerate(students):
        at.run()
        assert not at.exception
        assert at.session_state["lesson"] == lesson.id
        assert run_of(at).config.lr == lesson.values[k] and run_of(at).step_count == 0


def test_spotlight_shows_a_students_run_to_the_teacher_and_followers():
    teacher, room = teacher_with_room()
    ada = student(room.code, "Ada", steps=4)
    class_page(teacher).selectbox(key="class_spotlight").set_value(ada.session_state["seat"].id).run()
    assert room.orders.spotlight == ada.session_state["seat"].id
    assert any("Spotlight: Ada" in s.value for s in teacher.subheader)
    follower = app({"follow": room.code})
    assert any(roster.as_markdown("Ada's run") in c.value for c in follower.caption)
    copy, _ = room.copy()
    assert copy.step_count == 4 and copy is not run_of(ada)


def test_the_class_is_full_at_its_limit_and_the_next_student_is_told(monkeypatch):
    monkeypatch.setattr(ac.limits, "MAX_CLASS", 2)
    teacher, room = teacher_with_room()
    student(room.code), student(room.code)
    third = app({"join": room.code})
    assert "seat" not in third.session_state
    assert any("the class is full (2 students)" in w.value and "follow" in w.value for w in third.warning)


@pytest.mark.parametrize("code", ["nope", "ZZZZZ", "<script>", "K7QX M"])
def test_an_unknown_or_malformed_join_code_leaves_a_normal_page(code):
    at = app({"join": code})
    assert not at.exception and "seat" not in at.session_state
    assert any("Cannot join the class" in w.value for w in at.warning)
    at.button(key="btn_step").click().run()
    assert step_count(at) == 1


def test_a_mistyped_class_code_says_why_and_stays_in_its_box():
    at = app()
    at.sidebar.text_input(key="join_code").input("ZZZZZ").run()
    assert [e.value for e in at.sidebar.error] == [
        "Cannot join: there is no live room ZZZZZ: the teacher may have closed it, or the code is mistyped."]
    assert at.sidebar.text_input(key="join_code").value == "ZZZZZ" and "seat" not in at.session_state


def test_a_student_whose_page_closes_disappears_and_a_closed_class_ends_for_everyone(monkeypatch):
    pages = []   # whether each page asked about is connected, in the order asked: the teacher's room first

    def connected(session):
        pages.append(True)
        k = len(pages) - 1
        return lambda: pages[k]

    monkeypatch.setattr(streamlit_private, "connected", connected)
    teacher, room = teacher_with_room()
    student(room.code, "Gone")
    stays = student(room.code, "Stays", steps=2)
    assert [c.name for c in room.cards()] == ["Gone", "Stays"]
    pages[1] = False   # Gone's tab is closed
    assert [c.name for c in room.cards()] == ["Stays"]
    class_page(teacher).button(key="btn_close_class").click().run()
    assert "room" not in teacher.session_state and not teacher.exception
    stays.run()
    assert "seat" not in stays.session_state and step_count(stays) == 2, "the run stays the student's"
    assert any("has ended: the teacher closed the class" in w.value for w in stays.warning)


def test_a_student_never_changes_the_teachers_run():
    teacher, room = teacher_with_room()
    before = run_of(teacher).snapshot()
    at = app({"join": room.code, "lr": "5", "seed": "9"})
    at.button(key="btn_step").click().run()
    at.button(key="btn_reset").click().run()
    teacher.run()
    after = run_of(teacher).snapshot()
    assert after.meta == before.meta and all((after.arrays[k] == before.arrays[k]).all() for k in before.arrays)


def test_cards_carry_the_numbers_the_engine_has_and_nothing_else_of_the_run():
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=3)
    run.run_steps(250)
    card = roster.card_of(run, "seat-id", 4, "", playing=False)
    assert card.step == 250 and card.name == "Student 4"
    assert card.loss == pytest.approx(float(run.history.loss[-run.steps_per_epoch:].mean()), rel=1e-12)
    assert card.mu_ratio == pytest.approx(float(run.history.mu_ratio[-1]), rel=1e-12)
    assert card.spark_step[-1] == 250 and len(card.spark_step) <= roster.SPARK_POINTS
    assert roster.Card.from_json(card.to_json()) == card
    assert set(json.loads(card.to_json())) == set(roster.Card.__dataclass_fields__)
    assert {"lr", "seed", "hidden"} <= set(card.setup) <= {*ac.config.setup_fields(), "seed"}   # no data or weights


def test_the_class_charts_show_the_spread_of_final_losses_the_engine_measures():
    lesson = lesson_book.LESSONS["class-seed-spread"]
    runs = []
    for number in range(1, len(lesson.values) + 1):
        run = ac.TrainingRun(*lesson.setup(number))
        run.run_epochs(lesson.config.epochs)
        runs.append(run)
    cards = [roster.card_of(run, f"s{k}", k + 1, "", playing=False) for k, run in enumerate(runs)]
    curves = dashboard.class_curves(cards, {c.seat: c.name for c in cards}, "seed")
    finals = [run.history.epoch_loss[-1] for run in runs]
    assert [c.latest for c in curves] == pytest.approx(finals, rel=1e-9)
    summary = class_figures.losses(curves, "seed")["summary"]
    assert summary == (f"The 12 students' latest loss ranges from {describe.number(min(finals))} to "
                       f"{describe.number(max(finals))}.")
    sweep = class_figures.sweep(curves, "seed")
    low = int(np.argmin(finals))
    assert f"Lowest latest loss {describe.number(finals[low])} at seed {lesson.values[low]}" in sweep["summary"]
    assert sweep["layout"]["xaxis"].get("type") != "log", "seeds are not a log scale"


def test_a_learning_rate_sweep_is_drawn_on_a_log_axis_with_diverged_runs_marked():
    curves = [class_figures.Curve(f"S{k}", v, [1, 2], [1.0, loss], loss, diverged)
              for k, (v, loss, diverged) in enumerate([("0.0001", 0.3, False), ("0.01", 0.002, False),
                                                      ("0.1", float("inf"), True)])]
    fig = class_figures.sweep(curves, "lr", log_x=True)
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert fig["layout"]["xaxis"]["dtick"] == 1   # labels at whole decades, 1e-5 to 1, with a tenth spare each side
    assert fig["layout"]["xaxis"]["range"] == pytest.approx([-5.5, 0.5])
    assert fig["layout"]["yaxis"]["range"] == [-3.0, 1.0]   # up to the diverged crosses, a decade over the worst
    assert [t["name"] for t in fig["data"]] == ["latest loss", "diverged"]
    assert fig["summary"] == "Lowest latest loss 0.002 at lr 0.01; highest 0.3 at lr 0.0001. 1 run diverged."


def test_a_student_without_a_step_yet_is_left_off_the_sweep_not_drawn_as_diverged():
    curves = [class_figures.Curve("Ada", "0.01", [1, 2], [1.0, 0.5], 0.5, False),
              class_figures.Curve("Bob", "0.03", [], [], float("nan"), False)]
    fig = class_figures.sweep(curves, "lr", log_x=True)
    assert [(t["name"], t["x"]) for t in fig["data"]] == [("latest loss", [0.01])]
    assert fig["summary"] == "Lowest latest loss 0.5 at lr 0.01; highest 0.5 at lr 0.01."
    curves.append(class_figures.Curve("Cy", "0.1", [1], [1e9], float("inf"), True))
    assert [(t["name"], t["x"]) for t in class_figures.sweep(curves, "lr", log_x=True)["data"]] == [
        ("latest loss", [0.01]), ("diverged", [0.1])]


def test_a_teacher_who_leaves_ends_the_class_for_every_student_and_they_keep_their_runs(monkeypatch):
    teacher_page = {"online": True, "now": 1000.0}
    monkeypatch.setattr(rooms, "clock", lambda: teacher_page["now"])
    monkeypatch.setattr(streamlit_private, "connected", lambda session: lambda: teacher_page["online"])
    teacher, room = teacher_with_room()
    at = student(room.code, steps=3)
    teacher_page["online"] = False                 # the teacher's tab closes
    at.run()
    assert "seat" in at.session_state, "a short network loss does not end the class"
    teacher_page["now"] += rooms.CLOSE_AFTER       # ... and does not come back within CLOSE_AFTER seconds
    at.run()
    assert "seat" not in at.session_state and step_count(at) == 3
    assert any(f"The class {room.code} has ended: the teacher left" in w.value for w in at.warning)


@pytest.mark.parametrize("nickname", ["[a](https://x.example)", "<b>x</b>", ":red[x] **y**", "a_b_c \\*"])
def test_a_nickname_shows_as_typed_on_every_page_never_as_markdown_html_or_a_link(nickname):
    teacher, room = teacher_with_room()
    at = student(room.code, nickname, steps=2)
    shown = " ".join(m.value for m in at.markdown)
    assert f"as **{roster.as_markdown(nickname)}**" in shown
    class_page(teacher).selectbox(key="class_spotlight").set_value(at.session_state["seat"].id).run()
    assert [s.value for s in teacher.subheader] == [f"Spotlight: {roster.as_markdown(nickname)}"]
    curves = dashboard.class_curves(room.cards(), {c.seat: c.name for c in room.cards()}, "lr")
    for fig in (class_figures.losses(curves, "lr"), class_figures.sweep(curves, "lr")):
        texts = [t for trace in fig["data"] for t in trace.get("text", [])]
        assert texts and all("<" not in t and t == html.escape(nickname) for t in texts)


def test_as_markdown_escapes_every_punctuation_mark_and_nothing_else():
    assert roster.as_markdown("Ada L. [x](y) <b>") == "Ada L\\. \\[x\\]\\(y\\) \\<b\\>"
    assert roster.as_markdown("Ада 7") == "Ада 7"
