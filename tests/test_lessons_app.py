"""Lessons and hide= with AppTest: the Lessons page, a lesson link's panel and its reveal, Previous / Next,
Restart and Leave, hidden controls, share links that keep them, and bad input (one warning, a working page)."""

from __future__ import annotations

import math
import re
import time
import tomllib

import pytest

import adjoint_core as ac
from apptest_helpers import W, app, errors, run_of
from ui import lesson_book
from ui.lesson_book import LESSONS, LessonError
from ui.urlstate import CONTROLS

IDS = list(LESSONS)


def params(at) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def hide_css(at) -> str:
    """The sidebar's hiding rules ('' when nothing is hidden)."""
    return "".join(h.proto.body for h in at.get("html") if "{display: none}" in h.proto.body)


def hidden_keys(at) -> set[str]:
    """The widget keys the hiding rules name."""
    return set(re.findall(r"\.st-key-([\w-]+)", hide_css(at).split("{display: none}")[0]))


def panel_text(at) -> str:
    return "\n".join([e.label for e in at.expander] + [m.value for m in at.markdown])


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def no_trouble(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not errors(at)


# --- the lesson data ------------------------------------------------------------------------------------

def test_at_least_eight_lessons_cover_the_issue():
    assert len(LESSONS) >= 8
    assert {"mu-flow", "notebook-sigmoid-line", "notebook-relu-line", "notebook-parabola", "notebook-wave",
            "vanishing", "exploding", "large-lr", "tiny-output-init", "optimisers", "gradient-traps"} <= set(IDS)
    assert {LESSONS[i].preset for i in IDS if i.startswith("notebook-")} == \
        {"linear-sigmoid", "linear-relu", "nonlinear-relu", "wave2d-relu"}
    assert {"backward"} <= set(LESSONS["mu-flow"].pages) and {"gradcheck", "theory"} <= set(
        LESSONS["gradient-traps"].pages)


@pytest.mark.parametrize("lesson_id", IDS)
def test_a_lesson_has_a_two_sentence_goal_and_a_real_question(lesson_id):
    lesson = LESSONS[lesson_id]
    assert len(re.findall(r"[.!?](?:\s|$)", lesson.goal.strip())) == 2, lesson.goal
    assert len(set(lesson.choices)) == len(lesson.choices) >= 3
    assert lesson.checks and lesson.hide


@pytest.mark.parametrize("change, phrase", [
    ({"preset": "nope"}, "unknown preset"),
    ({"setup": {"lr": -1}}, "setup: lr"),
    ({"hide": ["lr", "colour"]}, "hide must list"),
    ({"answer": 5}, "answer must be"),
    ({"choices": ["only one"]}, "choices must be"),
    ({"id": "Bad Id"}, "id must be"),
    ({"pages": ["settings"]}, "pages must list"),
    ({"check": []}, "at least one"),
    ({"colour": "red"}, "unknown field"),
], ids=lambda v: str(v)[:30])
def test_a_broken_lesson_file_is_refused_with_its_reason(tmp_path, change, phrase):
    with open(lesson_book.FILE, "rb") as f:
        raw = tomllib.load(f)["lesson"][0]
    raw.update(change)
    path = tmp_path / "lessons.toml"
    path.write_text(_toml(raw), encoding="utf-8")
    with pytest.raises(LessonError, match=re.escape(phrase)):
        lesson_book.load(path)


def test_a_repeated_id_is_refused(tmp_path):
    with open(lesson_book.FILE, "rb") as f:
        raw = tomllib.load(f)["lesson"][0]
    path = tmp_path / "lessons.toml"
    path.write_text(_toml(raw) + _toml(raw), encoding="utf-8")
    with pytest.raises(LessonError, match="used twice"):
        lesson_book.load(path)


def _toml(lesson: dict) -> str:
    """A [[lesson]] block (enough TOML for these tests: text, numbers, lists, inline tables, checks)."""
    def value(v):
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return repr(v) if math.isfinite(v) else str(v)   # TOML writes inf and nan as Python prints them
    lines = ["[[lesson]]"] + [f"{k} = {value(v)}" for k, v in lesson.items() if k != "check"]
    for check in lesson.get("check", []):
        lines += ["[[lesson.check]]"] + [f"{k} = {value(v)}" for k, v in check.items()]
    return "\n".join(lines) + "\n"


# --- the Lessons page -----------------------------------------------------------------------------------

def test_lessons_page_links_every_lesson_to_the_train_page():
    at = app()
    at.switch_page("app_pages/lessons.py").run()
    no_trouble(at)
    links = at.get("page_link")
    assert [link.proto.query_string for link in links] == [f"lesson={i}" for i in IDS]
    assert [link.proto.label for link in links] == [f"{k}. {LESSONS[i].title}" for k, i in enumerate(IDS, 1)]
    assert {link.proto.page_script_hash for link in links} == {links[0].proto.page_script_hash}
    assert at.title[0].value == "Lessons"


def test_following_a_lesson_link_in_a_running_session_opens_it():
    """What clicking a link on the Lessons page does: the same session, the Train page with ?lesson=ID."""
    at = app()
    at.button(key="btn_step").click().run()
    at.switch_page("app_pages/lessons.py").run()
    for key in list(at.query_params):   # a page link's address has only its own parameters (AppTest keeps them)
        del at.query_params[key]
    at.query_params["lesson"] = "vanishing"
    at.switch_page("app_pages/train.py").run()
    no_trouble(at)
    assert run_of(at).config == LESSONS["vanishing"].config and run_of(at).step_count == 0
    assert "Lesson 7 of" in panel_text(at) and not warnings(at)


# --- a lesson's panel -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson_id", IDS)
def test_a_lesson_link_opens_its_setup_panel_and_hidden_controls(lesson_id):
    lesson = LESSONS[lesson_id]
    at = app({"lesson": lesson_id})
    no_trouble(at)
    assert not warnings(at)
    run = run_of(at)
    assert (run.config, run.seed, run.step_count) == (lesson.config, lesson.seed, 0)
    text = panel_text(at)
    assert lesson.title in text and lesson.goal in text and lesson.watch in text
    assert lesson.explanation not in text and not at.success and not at.info   # nothing revealed before a choice
    question = at.radio(key=f"lesson_q_{lesson_id}")
    assert question.value is None and question.label == lesson.question
    assert question.options == list(lesson.choices)
    assert hidden_keys(at) >= {W + name for name in lesson.hide}
    assert params(at) == {"lesson": lesson_id}                  # the address bar is the lesson's link
    assert [link.proto.label for link in at.get("page_link")] == [
        f"Open the {lesson_book.PAGES[p][1]} page" for p in lesson.pages]


@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_the_answer_and_explanation_appear_only_after_a_choice(right):
    lesson = LESSONS["exploding"]
    at = app({"lesson": lesson.id})
    pick = lesson.answer if right else (lesson.answer + 1) % len(lesson.choices)
    at.radio(key=f"lesson_q_{lesson.id}").set_value(pick).run()
    no_trouble(at)
    if right:
        assert [s.value for s in at.success] == [f"**Right.** {lesson.explanation}"] and not at.info
    else:
        assert [i.value for i in at.info] == [
            f"**Not quite: the answer is “{lesson.choices[lesson.answer]}”.** {lesson.explanation}"]
        assert not at.success
    assert not warnings(at)


def test_the_controls_work_in_a_lesson_and_the_lesson_stays():
    lesson = LESSONS["large-lr"]
    at = app({"lesson": lesson.id})
    at.radio(key=f"lesson_q_{lesson.id}").set_value(lesson.answer).run()
    for key in ("btn_step", "btn_epoch"):
        at.button(key=key).click().run()
        no_trouble(at)
    run = run_of(at)
    assert run.diverged and run.step_count < 10                  # the lesson's promise, as the page shows it
    # the question's premise
    assert any("Training diverged" in w and "gradients overflowed" in w for w in warnings(at))
    at.select_slider(key=W + "lr").set_value(2e-4).run()        # a smaller lr alone: diverges again at once
    at.button(key="btn_step").click().run()
    assert any("diverged again" in w and "Reset" in w for w in warnings(at)), warnings(at)
    at.button(key="btn_reset").click().run()                     # the lesson's fix: a smaller lr, then Reset
    at.button(key="btn_epoch").click().run()
    no_trouble(at)
    assert run_of(at).config.lr == 2e-4 and not run_of(at).diverged and run_of(at).epoch_count == 1
    assert lesson.explanation in at.success[0].value and params(at) == {"lesson": lesson.id}


def test_play_in_a_lesson_keeps_its_promise_the_exploding_run_pauses_itself():
    lesson = LESSONS["exploding"]
    at = app({"lesson": lesson.id})
    at.radio(key=f"lesson_q_{lesson.id}").set_value(lesson.answer).run()
    at.button(key="btn_play").click().run()
    trainer = at.session_state.get("trainer")   # None if the run diverged and paused within Play's own page run
    deadline = time.time() + 60
    while trainer is not None and trainer.alive and time.time() < deadline:
        trainer.sync()                    # stands in for the page's redraws
        time.sleep(0.05)
    at.run()                              # the redraw that notices the divergence and pauses
    no_trouble(at)
    run = run_of(at)
    assert at.session_state["playing"] is False and run.diverged and run.step_count < 10
    assert any("Training diverged" in w for w in warnings(at))
    assert at.radio(key=f"lesson_q_{lesson.id}").value == lesson.answer and params(at) == {"lesson": lesson.id}


def test_previous_and_next_walk_the_lessons():
    at = app({"lesson": IDS[0]})
    assert at.button(key="lesson_prev").disabled and not at.button(key="lesson_next").disabled
    at.radio(key=f"lesson_q_{IDS[0]}").set_value(0).run()
    at.button(key="lesson_next").click().run()
    no_trouble(at)
    second = LESSONS[IDS[1]]
    assert run_of(at).config == second.config and f"Lesson 2 of {len(IDS)}: {second.title}" in panel_text(at)
    assert at.radio(key=f"lesson_q_{second.id}").value is None and params(at) == {"lesson": second.id}
    at.button(key="lesson_prev").click().run()
    no_trouble(at)
    assert run_of(at).config == LESSONS[IDS[0]].config and params(at) == {"lesson": IDS[0]}
    assert at.radio(key=f"lesson_q_{IDS[0]}").value is None     # back to an unanswered question
    last = app({"lesson": IDS[-1]})
    assert last.button(key="lesson_next").disabled and not last.button(key="lesson_prev").disabled


def test_restart_brings_back_the_lessons_setup():
    lesson = LESSONS["optimisers"]
    at = app({"lesson": lesson.id})
    at.selectbox(key=W + "optimiser").set_value("adam").run()
    at.button(key="btn_step").click().run()
    assert run_of(at).config.optimiser == "adam"
    at.button(key="lesson_restart").click().run()
    no_trouble(at)
    assert (run_of(at).config, run_of(at).step_count) == (lesson.config, 0)
    assert at.selectbox(key=W + "optimiser").value == "sgd"


def test_a_lesson_stays_open_on_other_pages():
    at = app({"lesson": "mu-flow"})
    at.button(key="btn_step").click().run()
    at.switch_page("app_pages/backward.py").run()
    no_trouble(at)
    at.switch_page("app_pages/train.py").run()                  # the navigation's link carries no parameters
    no_trouble(at)
    assert "What μ is" in panel_text(at) and run_of(at).step_count == 1 and params(at) == {"lesson": "mu-flow"}


def test_leave_lesson_shows_every_control_and_keeps_the_run():
    at = app({"lesson": "vanishing"})
    at.button(key="btn_step").click().run()
    at.button(key="lesson_leave").click().run()
    no_trouble(at)
    assert "Lesson 7" not in panel_text(at) and "lesson_q_vanishing" not in [r.key for r in at.radio]
    assert hide_css(at) == "" and run_of(at).step_count == 1
    p = params(at)
    assert "lesson" not in p and "hide" not in p and p["preset"] == "deep-sigmoid-vanishing"


# --- hide= ----------------------------------------------------------------------------------------------

def test_hide_leaves_the_named_controls_out_and_share_links_keep_it():
    at = app({"preset": "nonlinear-relu", "hide": "lr,optimiser"})
    no_trouble(at)
    assert not warnings(at)
    assert hidden_keys(at) == {W + "lr", W + "optimiser"}
    assert params(at)["hide"] == "optimiser,lr" and params(at)["preset"] == "nonlinear-relu"
    at.select_slider(key=W + "beta").set_value(0.5).run()      # a visible control: the link keeps hide
    assert params(at)["hide"] == "optimiser,lr" and params(at)["beta"] == "0.5"
    assert run_of(at).config.lr == ac.presets["nonlinear-relu"].lr
    at.button(key="btn_open_room").click().run()                # the room's link too
    assert at.code[0].value.endswith("&hide=optimiser,lr")
    at.button(key="btn_close_room").click().run()
    reopened = app(params(at))                                   # and a reload
    assert hidden_keys(reopened) == {W + "lr", W + "optimiser"} and not warnings(reopened)


def test_hiding_the_activation_hides_the_per_layer_boxes():
    at = app({"hide": "activation"})
    css = hide_css(at)
    assert ".st-key-w_activation" in css and ".st-key-w_per_layer" in css and 'st-key-w_act_"' in css


def test_an_expander_left_empty_is_hidden_too():
    at = app({"hide": ",".join(CONTROLS)})
    no_trouble(at)
    css = hide_css(at)
    assert '[data-testid="stExpander"]:not(:has(' in css and all(f".st-key-{W}{c}" in css for c in CONTROLS)


def test_a_link_hide_replaces_the_lessons_own():
    at = app({"lesson": "optimisers", "hide": "seed"})
    no_trouble(at)
    assert hidden_keys(at) == {W + "seed"} and params(at) == {"lesson": "optimisers", "hide": "seed"}
    shown = app({"lesson": "optimisers", "hide": ""})
    assert hide_css(shown) == ""


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson_id", ["nope", "", "__class__", "x" * 400, "Vanishing"])
def test_an_unknown_lesson_warns_once_and_the_page_works_without_it(lesson_id):
    at = app({"lesson": lesson_id, "preset": "linear-relu"})
    no_trouble(at)
    assert len(warnings(at)) == 1 and "Unknown lesson" in warnings(at)[0] and len(warnings(at)[0]) < 200
    assert run_of(at).config == ac.presets["linear-relu"] and "lesson" not in params(at)
    assert "Lesson " not in panel_text(at)
    at.button(key="btn_step").click().run()
    no_trouble(at)
    assert run_of(at).step_count == 1


@pytest.mark.parametrize("hide, kept, warned", [("lr,colour", {"lr"}, True), ("colour", set(), True),
                                                (" lr , , seed ", {"lr", "seed"}, False), ("x" * 400, set(), True),
                                                ("LR", set(), True)], ids=lambda v: str(v)[:20])
def test_unknown_control_names_warn_once_and_the_rest_is_hidden(hide, kept, warned):
    at = app({"hide": hide})
    no_trouble(at)
    assert hidden_keys(at) == {W + k for k in kept}
    assert len(warnings(at)) == warned, warnings(at)
    if warned:
        assert "hide" in warnings(at)[0] and "\n" not in warnings(at)[0] and len(warnings(at)[0]) < 400
    assert params(at).get("hide", "") == ",".join(k for k in CONTROLS if k in kept)
    at.button(key="btn_step").click().run()
    no_trouble(at)
    assert run_of(at).step_count == 1


def test_a_lesson_link_with_setup_parameters_keeps_the_lessons_setup_and_says_what_it_ignored():
    lesson = LESSONS["tiny-output-init"]
    at = app({"lesson": lesson.id, "lr": "0.5", "preset": "linear-relu", "seed": "9", "hidden": "8"})
    no_trouble(at)
    warning, = warnings(at)
    assert warning.startswith("The lesson sets up its own run: ignored the link's ")
    assert sorted(warning.rsplit("link's ", 1)[1].rstrip(".").split(", ")) == ["hidden", "lr", "preset", "seed"]
    assert (run_of(at).config, run_of(at).seed) == (lesson.config, lesson.seed)
    assert params(at) == {"lesson": lesson.id}
