"""The Train page's side of the lessons (lesson_book.py): opening one from a link, its panel, hidden controls.

A lesson opened from a ``?lesson=ID`` link (or Previous / Next) replaces the run with the lesson's setup and
seed; the link's own setup parameters are ignored, and the page says which. It stays open across pages until
"Leave lesson". ``hide=`` names sidebar controls by their URL parameter names; a lesson hides its own list unless
the link gives one. Hidden controls are left out of view with CSS on their widget keys (Streamlit's ``st-key-*``
classes), so the sidebar code stays one list and the setup is still read from the session's widget values.
"""

from __future__ import annotations

from urllib.parse import urlencode, urljoin

import streamlit as st

import adjoint_core as ac

from .. import streamlit_private
from ..screen import present, urlstate
from ..train import session, settings
from .lesson_book import LESSONS, PAGES, Lesson

ss = st.session_state
TRAIN_PAGE = "app_pages/train.py"
OPEN = "lesson"   # session key: the open lesson's id
CLASS_NUMBER = "class_number"   # session key: the student's number in a class (join.py), for a class lesson
EXTRA_KEYS = {"activation": [settings.W + "per_layer"]}        # widgets that go with a control
KEY_PREFIXES = {"activation": [settings.W + "act_"]}            # and the per-layer boxes


def _open(lesson: Lesson, hide: tuple[str, ...]) -> None:
    """Make ``lesson`` the open lesson: its run from step 0, the sidebar set to it, its question unanswered,
    Play at its speed."""
    ss[OPEN], ss[session.HIDDEN], ss[session.SPEED] = lesson.id, hide, lesson.speed
    ss.pop(_question_key(lesson), None)
    ss.pop(_answer_key(lesson), None)
    config, seed = lesson.setup(ss.get(CLASS_NUMBER))
    settings.adopt_run(ac.TrainingRun(config, seed), lesson.preset)


def from_url() -> list[str]:
    """Before the sidebar is drawn: open the lesson the URL names (unless it is open) and read ``hide=`` (on the
    session's first Train page or with a lesson). Returns one-line warnings for the page."""
    params = st.query_params.to_dict()
    hide, hide_warnings = urlstate.parse_hide(params[urlstate.HIDE_PARAM]) if urlstate.HIDE_PARAM in params \
        else (None, [])
    lesson_id = params.get(urlstate.LESSON_PARAM)
    warnings: list[str] = []
    if lesson_id is not None and lesson_id != ss.get(OPEN):
        lesson = LESSONS.get(lesson_id)
        if lesson is None:
            warnings.append(f"Unknown lesson {str(lesson_id)[:40]!r}: the Lessons page lists them all.")
            del st.query_params[urlstate.LESSON_PARAM]
        else:
            _open(lesson, lesson.hide if hide is None else hide)
            ignored = urlstate.setup_params(params) + urlstate.unknown_params(params)
            if ignored:
                warnings.append(f"The lesson sets up its own run: ignored the link's {', '.join(ignored)}.")
            return hide_warnings + warnings
    if session.HIDDEN not in ss:
        ss[session.HIDDEN] = hide or ()
        return hide_warnings + warnings
    return warnings


def linked_or_open() -> bool:
    """A lesson is open, or the URL opens one (before ``from_url`` has read it)."""
    return ss.get(OPEN) is not None or urlstate.LESSON_PARAM in st.query_params


def url_params() -> dict[str, str]:
    """The address bar's lesson part: the open lesson, and hide= when it differs from the lesson's own."""
    lesson, hide = current(), session.hidden()
    params = {urlstate.LESSON_PARAM: lesson.id} if lesson else {}
    if hide != (lesson.hide if lesson else ()):
        params[urlstate.HIDE_PARAM] = ",".join(hide)
    return params


def hide_controls() -> None:
    """Leave the hidden controls out of view, and any sidebar expander left with nothing to show."""
    names = session.hidden()
    if not names:
        return
    selectors = [f".st-key-{key}" for name in names for key in [settings.W + name, *EXTRA_KEYS.get(name, [])]]
    selectors += [f'[class*="st-key-{prefix}"]' for name in names for prefix in KEY_PREFIXES.get(name, [])]
    sidebar = '[data-testid="stSidebar"]'
    controls = ", ".join(f"{sidebar} {s}" for s in selectors)
    only_hidden = "".join(f":not({s})" for s in selectors)   # an expander with no other keyed element
    expanders = f'{sidebar} [data-testid="stExpander"]:not(:has([class*="st-key-"]{only_hidden}))'
    st.sidebar.html(f"<style>{controls} {{display: none}} {expanders} {{display: none}}</style>")


def _question_key(lesson: Lesson) -> str:
    """The question's widget, until it is answered."""
    return f"lesson_q_{lesson.id}"


def _answer_key(lesson: Lesson) -> str:
    """The chosen answer's index (kept apart from the widget, which a locked copy replaces once answered)."""
    return f"lesson_a_{lesson.id}"


def _answer(lesson: Lesson) -> None:
    ss[_answer_key(lesson)] = ss[_question_key(lesson)]


def _go(lesson_id: str) -> None:
    """Previous / Next: open that lesson with its own hidden controls."""
    lesson = LESSONS[lesson_id]
    _open(lesson, lesson.hide)
    st.query_params.from_dict({urlstate.LESSON_PARAM: lesson.id})


def _restart() -> None:
    _open(LESSONS[ss[OPEN]], session.hidden())


def _leave() -> None:
    """Close the lesson and show every control; the run stays."""
    ss.pop(OPEN, None)
    ss[session.HIDDEN] = ()
    for key in (urlstate.LESSON_PARAM, urlstate.HIDE_PARAM):
        st.query_params.pop(key, None)


def speed_note(lesson: Lesson) -> str:
    """What the panel says about Play's speed in ``lesson``."""
    if lesson.speed == session.DEMO:   # the whole run in DEMO_SECONDS (session.rate)
        return (f"**Play** runs at Demo speed: the whole run, {lesson.config.epochs:,} epochs, in about "
                f"{session.DEMO_SECONDS:g} s (the **Speed** control changes it).")
    return f"**Play** runs at {lesson.speed} (the **Speed** control changes it)."


def class_note(lesson: Lesson, number: int | None) -> str:
    """What the panel of a class lesson says about the value this student was given."""
    config, seed = lesson.setup(number)
    value = seed if lesson.sweep == "seed" else getattr(config, lesson.sweep)
    given = (f"The class's room gave you, student {number}, {lesson.sweep} = {value:g}." if number is not None
             else f"Alone you train with the first, {lesson.sweep} = {value:g}; in a class (*Join a class*) the "
                  "room gives each student their own.")
    return (f"A class lesson: each student trains with a different {lesson.sweep}, from "
            f"{', '.join(f'{v:g}' for v in lesson.values)}. {given}")


def train_link(label: str, params: dict[str, str]) -> None:
    """A link to the Train page with ``params``: a click opens it in this session (a room and presentation mode
    stay), and its address is absolute, so "Copy link address" gives a link that opens it anywhere.
    (st.page_link writes the default page's address as a bare "?query", which the browser resolves against the
    current page's address: /lessons?lesson=ID, /backward?lesson=ID.)"""
    root = urljoin(st.context.url, "./") if st.context.url else "./"   # the app's address, the Train page's
    streamlit_private.page_link(st.Page(TRAIN_PAGE), root, urlencode(params), label, ":material/school:")


def back_link() -> None:
    """On the other pages while a lesson is open: which lesson, and a link back to it on the Train page."""
    lesson = current()
    if lesson is not None:
        train_link(f"Lesson {list(LESSONS).index(lesson.id) + 1}: {lesson.title} — back to the lesson", url_params())


def current() -> Lesson | None:
    """The open lesson, if any."""
    return LESSONS.get(ss.get(OPEN))


def panel() -> None:
    """The hidden controls, and the open lesson above the buttons: goal, what to watch, the question (answered
    only after a choice), links to other pages, and Previous / Next. The choices are pills (buttons: the arrow
    keys and Space stay the page's shortcuts, where a radio group would take them), locked once one is chosen
    until Restart lesson. The panel folds away; in presentation mode it starts folded, so the buttons, status
    and first charts fit a projector's screen until the teacher opens it."""
    hide_controls()
    lesson = current()
    if lesson is None:
        return
    ids = list(LESSONS)
    k = ids.index(lesson.id)
    with st.expander(f"**Lesson {k + 1} of {len(ids)}: {lesson.title}**", expanded=not present.active(),
                     key="lesson_panel"):
        left, right = st.columns([3, 2], gap="medium")
        with left:
            st.markdown(lesson.goal)
            st.markdown(f"**Watch:** {lesson.watch}")
            st.caption(speed_note(lesson))
            if lesson.sweep:
                st.caption(class_note(lesson, ss.get(CLASS_NUMBER)))
            for page in lesson.pages:
                path, title = PAGES[page]
                st.page_link(path, label=f"Open the {title} page", icon=":material/arrow_forward:")
        with right:
            choice = ss.get(_answer_key(lesson))
            pills = {"label": lesson.question, "options": range(len(lesson.choices)), "wrap": True,
                     "format_func": lambda i: lesson.choices[i]}
            if choice is None:
                st.pills(**pills, key=_question_key(lesson), on_change=_answer, args=(lesson,))
            else:
                st.pills(**pills, default=choice, disabled=True, key=f"lesson_answered_{lesson.id}")
        if choice == lesson.answer:   # the answer across the panel, readable on a projector
            st.success(f"**Right.** {lesson.explanation}", icon=":material/check_circle:")
        elif choice is not None:
            st.info(f"**Not quite: the answer is “{lesson.choices[lesson.answer]}”.** {lesson.explanation}",
                    icon=":material/lightbulb:")
        nav = st.columns(4)
        nav[0].button("Previous", on_click=_go, args=(ids[max(k - 1, 0)],), disabled=k == 0, width="stretch",
                      icon=":material/arrow_back:", key="lesson_prev")
        nav[1].button("Next", on_click=_go, args=(ids[min(k + 1, len(ids) - 1)],), disabled=k == len(ids) - 1,
                      width="stretch", icon=":material/arrow_forward:", icon_position="right", key="lesson_next")
        nav[2].button("Restart lesson", on_click=_restart, width="stretch", key="lesson_restart",
                      help="The lesson's setup again, from step 0.")
        nav[3].button("Leave lesson", on_click=_leave, width="stretch", key="lesson_leave",
                      help="Close the lesson and show every control; the run stays as it is.")
