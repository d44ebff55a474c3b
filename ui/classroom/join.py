"""The Train page's side of a class (roster.py): a student joins the teacher's room and trains their own run.

A student joins with a ``?join=CODE`` link or the code typed under "Join a class"; a nickname is optional
("Student 7" otherwise). The session then holds a ``Seat``. About once per CARD_EVERY seconds, and at once on Play
or Pause (from the live frames while playing, from the class bar otherwise: it runs seldom while playing) the page
posts its run's card and reads the teacher's orders: a
pause stops Play, a sent setup or lesson opens (a class lesson with the value the room gives this student), each
said in the class bar. The student leaves with one button, or when the class ends (the teacher closed it or left):
the run stays theirs either way. Nothing a student types or clicks reaches another student's run or the teacher's:
a seat only posts its own card.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

import adjoint_core as ac

from .. import streamlit_private
from ..screen import urlstate
from ..services.worker import Trainer
from ..train import session, settings
from . import follow, lessons, rooms, roster
from .lesson_book import LESSONS

ss = st.session_state
SEAT = "seat"            # session key: this session's Seat while it is in a class
ENDED = "class_ended"    # session key: why the class ended, told once
BAR_EVERY = 2.0          # seconds between the class bar's runs (its card, the orders) while paused
BAR_PLAYING = 10.0       # ... while playing, when the live frames post the card and read the orders


@dataclass(eq=False)
class Seat:
    """A student's place in a class: where, who, and the run the teacher may spotlight."""

    code: str
    id: str
    connected: Callable[[], bool]   # whether this student's page is still connected
    number: int = 0                 # 0 until seated
    nickname: str = ""
    card: roster.Card | None = None  # the latest card posted
    run: ac.TrainingRun | None = None
    trainer: Trainer | None = None
    paused: int = 0          # the orders' pause count acted on
    sent: int = 0            # the orders' sent count acted on
    posted_at: float = -math.inf
    told: str = ""           # the teacher's last order, as the class bar says it
    bar: str | None = None   # the class bar's fragment, and its timer's interval
    bar_every: float = BAR_EVERY

    def name(self, hidden: bool = False) -> str:
        return f"Student {self.number}" if hidden or not self.nickname else self.nickname


def seat() -> Seat | None:
    return ss.get(SEAT)


def join(code: str, nickname: str = "") -> None:
    """Join the class of room ``code``; RoomError (unknown, closed or full room, or this session's own) or
    ConfigError (a bad nickname) says why. A setup or lesson the teacher sent before opens now."""
    nickname = ac.limits.check_nickname(nickname)
    room = rooms.find_room(code)
    own = ss.get("room")
    if own is not None and own.code == room.code:
        raise rooms.RoomError("this is your own room: students join it from their own devices")
    leave()
    new = Seat(room.code, secrets.token_urlsafe(12), streamlit_private.connected(streamlit_private.session_id()),
               nickname=nickname, paused=room.orders.pause)
    new.number = room.join_class(new)
    rooms.serve()
    ss[SEAT], ss[lessons.CLASS_NUMBER], ss["class_nickname"] = new, new.number, nickname
    ss.pop(ENDED, None)


def leave() -> None:
    """Leave the class (if in one); the run stays."""
    old = ss.pop(SEAT, None)
    ss.pop(lessons.CLASS_NUMBER, None)
    st.query_params.pop(urlstate.JOIN_PARAM, None)
    if old is not None:
        try:
            rooms.find_room(old.code).leave_class(old.id)
        except rooms.RoomError:
            pass


def from_url() -> list[str]:
    """Before the sidebar: join the class a ``?join=`` link names (unless already in it), then open what the
    teacher sent since (a setup or lesson changes the sidebar's widgets, so only here); returns warnings."""
    code = st.query_params.get(urlstate.JOIN_PARAM)
    current = seat()
    if code is not None and (current is None or current.code != str(code).strip().upper()):
        try:
            join(code)
        except (rooms.RoomError, ac.ConfigError) as e:
            st.query_params.pop(urlstate.JOIN_PARAM, None)
            return [f"Cannot join the class: {e}. This page works as your own run."]
    current = seat()
    if current is not None:
        try:
            orders = rooms.find_room(current.code).orders
        except rooms.RoomError:   # the class bar says the class ended
            return []
        if orders.sent > current.sent:
            current.sent = orders.sent
            _receive(orders.params)
    return []


def url_params() -> dict[str, str]:
    """The address bar's class part: the room joined."""
    current = seat()
    return {urlstate.JOIN_PARAM: current.code} if current is not None else {}


def _ended(why: str) -> None:
    code = ss[SEAT].code
    ss.pop(SEAT)
    ss.pop(lessons.CLASS_NUMBER, None)
    st.query_params.pop(urlstate.JOIN_PARAM, None)
    ss[ENDED] = f"The class {code} has ended: {why}. Your run is yours to keep."


def tick(run: ac.TrainingRun) -> None:
    """While in a class: post this run's card (at most once per CARD_EVERY seconds) and act on the teacher's new
    orders; the page runs again when an order changed it or the class ended."""
    current = seat()
    if current is None:
        return
    current.run, current.trainer = run, session.trainer()
    playing = bool(ss.get("playing"))
    if current.bar is not None and current.bar_every != (every := BAR_PLAYING if playing else BAR_EVERY):
        current.bar_every = every   # Play or Pause: the bar runs seldom while the live frames do its work
        streamlit_private.fragment_timer(every, current.bar)
    now = time.monotonic()
    if now - current.posted_at < roster.CARD_EVERY and (current.card is None or current.card.playing == playing):
        return
    current.posted_at = now
    try:
        room = rooms.find_room(current.code)
    except rooms.RoomError as e:
        _ended(str(e).removeprefix(f"room {current.code} has closed: "))
        st.rerun(scope="app")
    current.card = roster.card_of(run, current.id, current.number, current.nickname, playing)
    if not room.post_card(current.card):   # dropped while the page was disconnected: seated again, same number
        try:
            room.join_class(current)
        except rooms.RoomError as e:
            _ended(str(e))
            st.rerun(scope="app")
        room.post_card(current.card)
    orders = room.orders
    if orders.pause > current.paused:
        current.paused = orders.pause
        current.told = "Your teacher paused the class: press Play to go on."
        if ss.get("playing"):
            session.pause()
            st.rerun(scope="app")
    if orders.sent > current.sent:   # opened by the page's next run, before its sidebar (from_url)
        st.rerun(scope="app")


def _receive(params: dict[str, str]) -> None:
    """Open what the teacher sent: a lesson (``lesson=ID``: the lesson's setup, in a class lesson this
    student's value), or a setup (URL parameters, as a share link gives them)."""
    current = seat()
    lesson = LESSONS.get(params.get(urlstate.LESSON_PARAM, ""))
    if lesson is not None:
        ss.pop(lessons.OPEN, None)   # sent again: from step 0
        st.query_params.from_dict({urlstate.LESSON_PARAM: lesson.id, **url_params()})
        current.told = f"Your teacher opened the lesson “{lesson.title}” for the class."
        return
    preset, config, seed, _ = urlstate.params_to_config(params, session.DEFAULT_PRESET)
    ss.pop(lessons.OPEN, None)
    ss[session.HIDDEN] = ()
    settings.adopt_run(ac.TrainingRun(config, seed), preset if urlstate.PRESET_PARAM in params else None)
    st.query_params.from_dict(url_params())
    current.told = f"Your teacher sent the class a setup: {config.label}."


def _bar() -> None:
    """The class bar: where this student is and the teacher's last order, with Leave; it also posts the card."""
    current = seat()
    if current is None:
        return
    current.bar, current.bar_every = streamlit_private.fragment_id(), BAR_EVERY   # as declared (``bar``)
    tick(session.get_run())
    cols = st.columns([4, 1], vertical_alignment="center")
    cols[0].markdown(f"In class **{current.code}** as **{roster.as_markdown(current.name())}**. The teacher sees "
                     "your run's numbers "
                     "and loss curve, nothing else." + (f"  \n{current.told}" if current.told else ""))
    cols[1].button("Leave the class", on_click=leave, key="btn_leave_class", width="stretch",
                   help="Your run stays as it is; the teacher no longer sees it.")


def bar() -> None:
    """Above the Train page's controls: the class bar while in a class (its own fragment, every BAR_EVERY
    seconds, BAR_PLAYING while playing), or why the class ended."""
    if ENDED in ss:
        st.warning(ss.pop(ENDED), icon=":material/logout:")
    if seat() is not None:
        st.fragment(_bar, run_every=BAR_EVERY)()


def _join_typed(code: str) -> None:
    join(code, ss.get("join_nickname", ""))


def _rename() -> None:
    ss.pop("join_error", None)
    try:
        seat().nickname = ac.limits.check_nickname(ss["class_nickname"])
    except ac.ConfigError as e:
        ss["join_error"] = str(e)


def join_panel() -> None:
    """Sidebar, for a session with no room of its own: join a class (a nickname, then the code), or, once in
    one, change the nickname or leave."""
    current = seat()
    with st.sidebar.expander("Join a class", expanded=current is not None):
        if current is None:
            st.text_input("Nickname (optional)", key="join_nickname", max_chars=ac.limits.MAX_NICKNAME,
                          placeholder="e.g. Ada", help="What your teacher sees on the Class page; plain text.")
            st.text_input("Class code", key="join_code", on_change=follow.typed_code, args=("join", _join_typed),
                          max_chars=20, placeholder="The teacher's code, e.g. K7QXM",
                          help="Train your own run; your teacher sees its numbers and loss curve.")
        else:
            st.text_input("Nickname", key="class_nickname", on_change=_rename, max_chars=ac.limits.MAX_NICKNAME,
                          placeholder=current.name(hidden=True))
            st.button("Leave the class", on_click=leave, key="btn_leave_sidebar", width="stretch")
        if ss.get("join_error"):
            st.error(ss["join_error"], icon=":material/link_off:")
