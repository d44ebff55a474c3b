"""Presentation mode (``?present=1``, for a projector): the sidebar starts collapsed, page intros are hidden, the
page's text is larger (CSS) and charts get larger fonts (theme.PROJECTOR). It lasts for the session, across pages,
until ``?present=0``."""

from __future__ import annotations

import streamlit as st

from ..plots import theme
from .urlstate import PRESENT_PARAM as PARAM

KEY = "present"
# A page without a title starts under Streamlit's header bar: the first element (the lesson panel) moves below it.
BELOW_HEADER = '<style>[data-testid="stMainBlockContainer"] { padding-top: 4rem; }</style>'
# Text a class reads from the back (Streamlit's 14 px labels, buttons, captions and status names: 18 px; 16 px text
# and messages: 20 px; the status values keep their 36 px), a smaller page title and closer rows, so that at
# 1280x720 the Train page's buttons, status, loss chart and mu flow still fit the first screen once paused (with
# the Replay slider's row). The title clears Streamlit's header bar (3.75rem).
CSS = """<style>
[data-testid="stMain"] :is([data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"]) {
  font-size: 1.125rem; }
[data-testid="stMain"] :is([data-testid="stMarkdown"], [data-testid="stAlert"]) [data-testid="stMarkdownContainer"] {
  font-size: 1.25rem; }
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] { font-size: inherit; }
[data-testid="stMainBlockContainer"] { padding-top: 3.25rem; }
[data-testid="stMain"] h1 { font-size: 2rem; padding: 0.25rem 0; }
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.5rem; }
</style>"""


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


def page_css() -> str:
    """Every page's CSS (theme.PAGE_CSS), and presentation mode's."""
    return theme.PAGE_CSS + (CSS if active() else "")


def intro(text: str, caption: bool = True) -> None:
    """A page's introduction (a caption, or text), left out in presentation mode (the teacher says it); on a
    narrow screen it shows its first lines (theme.PAGE_CSS)."""
    if active():
        return
    box = st.container(key=theme.INTRO_KEY)
    if caption:
        box.caption(text)
    else:
        box.markdown(text)
