"""Presentation mode (``?present=1``, for a projector): the sidebar starts collapsed, page intros are hidden and
charts get larger fonts (theme.PROJECTOR). It lasts for the session, across pages, until ``?present=0``."""

from __future__ import annotations

import streamlit as st

from .urlstate import PRESENT_PARAM as PARAM

KEY = "present"
# A page without a title starts under Streamlit's header bar: the first element (the lesson panel) moves below it.
BELOW_HEADER = '<style>[data-testid="stMainBlockContainer"] { padding-top: 4rem; }</style>'


def init() -> str | None:
    """Read ``present`` from the URL into the session; returns a warning for a value other than 0 or 1."""
    if PARAM not in st.query_params:
        return None
    raw = st.query_params[PARAM]
    if raw not in ("0", "1"):
        return (f"Ignored URL parameter present={raw[:40]!r}: use present=1 for presentation mode, "
                "present=0 to leave it.")
    st.session_state[KEY] = raw == "1"
    return None


def active() -> bool:
    """True in presentation mode."""
    return bool(st.session_state.get(KEY))


def url_params() -> dict[str, str]:
    """The address bar's part: present=1 in presentation mode (a reload of the projector's tab keeps it)."""
    return {PARAM: "1"} if active() else {}


def intro(text: str) -> None:
    """A page's introduction, left out in presentation mode (the teacher says it)."""
    if not active():
        st.caption(text)
