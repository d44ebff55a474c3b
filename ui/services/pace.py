"""The drawing of pages, one at a time: a page's charts drawn while paused take turns in the server.

With a class on one server, many pages can draw at once (a class pressing Pause together).  Threads that draw
Python-heavy figures side by side hand the GIL to each other every switch interval, and each page then takes as
long as all of them; drawn one at a time, each page runs at full speed, and what runs beside it (a click's
callback and buttons, the event loop sending what was drawn) never waits behind a crowd.  A page waiting for its
turn gives way to a click of its own session.  A playing page's frames take turns in one thread
(ui/train/feeds.py), which waits while a page draws here or waits to (``drawing``): a page drawn after a click
(Pause) comes before the next frames.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .. import streamlit_private

POLL = 0.25               # seconds between looks for a click while a page waits for its turn to draw
_turn = threading.Lock()  # held while a page's charts are drawn (``turn``)
_drawing = 0              # pages drawing or waiting to
_count = threading.Lock()  # _drawing


def drawing() -> bool:
    """Whether a page draws its charts or waits to."""
    return _drawing > 0


def _counted(change: int) -> None:
    global _drawing
    with _count:
        _drawing += change


@contextmanager
def turn() -> Iterator[bool]:
    """The drawing of a page's charts, one page at a time in the server: the threads waiting here do not hand the
    GIL to each other, so the drawing page runs at full speed.  Yields True with the turn, or False without it when
    a click of this session came while it waited (the click's run waits for this one: the page then draws
    nothing)."""
    _counted(1)
    try:
        while not _turn.acquire(timeout=POLL):
            if streamlit_private.click_waiting():
                yield False
                return
        try:
            yield True
        finally:
            _turn.release()
    finally:
        _counted(-1)
