"""The Train page's two sides of a room (ui/classroom/rooms.py): the teacher's sharing panel and the follower's view.

A follower's page runs its script only when it loads, on a click, and once its room has closed: its board element
fetches the room's frames over HTTP (room_files.py)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urljoin

import streamlit as st

import adjoint_core as ac

from .. import streamlit_private
from ..screen import urlstate
from ..train import board as live_board
from ..train import session, settings
from . import room_files, rooms, roster

ss = st.session_state


# --- the teacher ---------------------------------------------------------------------------------------
def _open() -> None:
    ss.pop("room_error", None)
    try:
        ss["room"] = rooms.open_room(streamlit_private.connected(streamlit_private.session_id()))
    except rooms.RoomError as e:
        ss["room_error"] = str(e)


def _close() -> None:
    rooms.close_room(ss.pop("room"))


def share_panel() -> None:
    """Sidebar: open a room the class can follow live (a code and a link), or close it; below it, while this
    session has no room, a box to type the code of a room to follow."""
    room = ss.get("room")
    with st.sidebar.expander("Share live with the class", expanded=room is not None):
        if room is None:
            st.button("Open a room", on_click=_open, key="btn_open_room", width="stretch",
                      help="Students open its follow link (or type the code under *Follow a room*) to watch this "
                           "run live, read-only, or its join link (or the code under *Join a class*) to train their "
                           "own runs while you watch the class on the Class page.")
            if ss.get("room_error"):
                st.error(ss["room_error"])
        else:
            st.markdown(f"Room code **{room.code}**. Followers see this run live; nothing they do changes it.")
            st.code(room_link(room.code, urlstate.FOLLOW_PARAM), language=None)
            st.markdown("Students who **join** train their own runs, and you see them all on the **Class** page:")
            st.code(room_link(room.code, urlstate.JOIN_PARAM), language=None)
            st.button("Close the room", on_click=_close, key="btn_close_room", width="stretch",
                      help="Followers and students are told; students keep their runs.")
    if room is None:
        st.sidebar.text_input("Follow a room", key="follow_code", on_change=typed_code, args=("follow", _follow),
                              max_chars=20, placeholder="The teacher's code, e.g. K7QXM",
                              help="Type the five-letter code of the teacher's room to watch their run live.")
        if ss.get("follow_error"):
            st.sidebar.error(ss["follow_error"], icon=":material/link_off:")


def room_link(code: str, param: str) -> str:
    """The link that follows (``param`` FOLLOW_PARAM) or joins (JOIN_PARAM) room ``code``; a follower's link hides
    what the teacher's page hides (a copy taken keeps it)."""
    query = {param: code}
    if param == urlstate.FOLLOW_PARAM and session.hidden():
        query[urlstate.HIDE_PARAM] = ",".join(session.hidden())
    root = urljoin(st.context.url, "./") if st.context.url else "./"   # the app's address, the Train page's
    return root + "?" + urlencode(query, safe=",")


def typed_code(verb: str, act: Callable[[str], object]) -> None:
    """A code typed in the ``{verb}_code`` box: ``act(code)`` and the box is emptied; a RoomError or ConfigError is
    kept as "Cannot {verb}: ..." under ``{verb}_error`` for the box to show, and the typed code stays."""
    ss.pop(f"{verb}_error", None)
    code = ss[f"{verb}_code"].strip()
    if not code:
        return
    try:
        act(code)
    except (rooms.RoomError, ac.ConfigError) as e:
        ss[f"{verb}_error"] = f"Cannot {verb}: {e}."
        return
    ss[f"{verb}_code"] = ""


def _follow(code: str) -> None:
    st.query_params[urlstate.FOLLOW_PARAM] = rooms.find_room(code).code


def attach(run: ac.TrainingRun) -> None:
    """Show this run (and its training, while playing) in the teacher's room, if one is open."""
    room = ss.get("room")
    if room is not None:
        room.attach(run, session.trainer(), ss.get(settings.W + "preset"))


# --- a follower ----------------------------------------------------------------------------------------
def _take_copy(code: str) -> None:
    """The room's run, as it is now, becomes this session's own run; following ends."""
    try:
        run, preset = rooms.find_room(code).copy()
    except rooms.RoomError as e:   # closed meanwhile (the page says so), or no run to copy yet
        st.toast(f"Cannot take a copy: {e}.", icon=":material/link_off:")
        return
    settings.adopt_run(run, preset)
    _stop_following()
    st.toast(f"Copied the teacher's run at step {run.step_count:,}: it is now your own run, and nothing you do "
             "changes the teacher's.", icon=":material/content_copy:",
             duration="long")   # 10 s: a slow laptop may take seconds to draw the copy's charts first


def _stop_following() -> None:
    room_files.unfollow()
    del st.query_params[urlstate.FOLLOW_PARAM]


def follower_view(code: str) -> bool:
    """The page of a follower of room ``code``: the teacher's status and charts, live and read-only (the board
    element fetches them; it reruns the page when the room has closed). Returns False (after a warning) when there
    is no such room: the page then works as a normal run."""
    try:
        room = rooms.find_room(code)
    except rooms.RoomError as e:
        st.warning(f"Cannot follow: {e}. This page works as your own run.", icon=":material/link_off:")
        return False
    st.caption(f"Following room **{room.code}**: the teacher's run, live and read-only"
               + (f" ({roster.as_markdown(room.label)})" if room.label else "") + ".")
    cols = st.columns([1, 1, 3])
    cols[0].button("Take a copy", on_click=_take_copy, args=(room.code,), key="btn_take_copy", width="stretch",
                   help="Copy the teacher's run as it is now and go on with it alone.")
    cols[1].button("Stop following", on_click=_stop_following, key="btn_stop_following", width="stretch")
    live_board.follow(room_files.follow(room.code), key="follow_board")
    return True
