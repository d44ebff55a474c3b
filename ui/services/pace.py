"""The pace of live frames: every watching session's share of the server's time for frames.

Each browser tab with a live fragment asks for a rerun every ``run_every`` seconds, whatever the server's load.
When more frames are asked for than one interpreter can draw, the script runs pile up, the event loop that
sends their output gets the GIL ever more rarely, and a run's output is dropped unsent when the next run of the
same fragment starts.  So each live frame sets its own timer.  The server spends about BUDGET of one core on
frames.  A frame's cost is its kind's nominal seconds (``Kind.cost``: a student's frame with its own charts; a
room's followers fetch theirs as files, room_files.py) times ``meter.scale``, the server process's CPU time
per nominal second of the frames drawn, measured over the last few seconds (the same page costs more on a
slower or busier machine, and under load).  A teacher with an open room draws at its own fastest pace; every
other session that watched in the last WINDOW seconds gets the same share of the rest, never faster than its
own fastest interval, and never nothing: a larger class only makes every share smaller.  A session whose
share is under one frame a second is told so on its page (``Kind.full``).  Pages draw their charts one at a
time (``turn``), and a page waiting for its turn gives way to a click of its own session.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from .. import streamlit_private

BUDGET = 0.75             # of one core: the server's time for live frames, over every watching session
WINDOW = 2.0              # seconds: a session whose last frame is older no longer counts as watching
PERIOD = 1.0              # seconds of each measurement of the scale ...
KEPT = 10                 # ... of which the last KEPT count
SCALE_RANGE = (0.5, 20.0)  # the scale's bounds
FULL = 1.0                # seconds: a session drawing less often than this is told the server is full
POLL = 0.02               # seconds between looks for a click while a page waits for its turn to draw


@dataclass(frozen=True)
class Kind:
    """A kind of live frame: its nominal server seconds per frame, and what a session of this kind is told when
    its share is under one frame a second."""

    cost: float
    full: str


STUDENT_FRAME = Kind(0.005, "The class is full on this server: your page redraws less than once a second, and "
                            "your run trains at a slower pace while everyone plays.")


@dataclass
class Watcher:
    last: float        # time of its last live frame
    cost: float        # nominal server seconds per frame
    fastest: float     # its own shortest interval
    first: bool        # drawn at its fastest pace (a teacher with an open room)


class Meter:
    """The server process's CPU seconds per nominal second of live frames (``scale``), measured over each
    PERIOD: the lowest of the last KEPT periods, since the process's CPU time also pays for other work (Play and
    Pause, page loads) that a period with frames only leaves out.  The clocks are arguments so that a test can
    drive them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 cpu: Callable[[], float] = time.process_time) -> None:
        self.clock, self.cpu = clock, cpu
        self.periods: deque[float] = deque(maxlen=KEPT)   # the last periods' CPU per nominal second
        self._t0, self._cpu0, self._nominal = clock(), cpu(), 0.0

    @property
    def scale(self) -> float:
        """CPU seconds per nominal second; 1 until a period has been measured."""
        low, high = SCALE_RANGE
        return min(high, max(low, min(self.periods))) if self.periods else 1.0

    def frame(self, cost: float) -> None:
        """Count a frame of ``cost`` nominal seconds; at the end of a PERIOD, measure it.  A period that ran
        past two PERIODs had too few frames to load the server: it starts again unmeasured."""
        self._nominal += cost
        now = self.clock()
        if now - self._t0 < PERIOD:
            return
        cpu = self.cpu()
        if now - self._t0 < 2 * PERIOD:
            self.periods.append((cpu - self._cpu0) / self._nominal)
        self._t0, self._cpu0, self._nominal = now, cpu, 0.0


_watchers: dict[str, Watcher] = {}   # session id -> its latest frame
_lock = threading.Lock()
_turn = threading.Lock()   # held while a page's charts are drawn (``turn``)
meter = Meter()


@contextmanager
def turn() -> Iterator[bool]:
    """The drawing of a page's charts (a live frame's board, the paused page's figures), one page at a time in
    the server: the threads waiting here do not hand the GIL to each other, so the drawing page runs at full
    speed, and what runs beside it (a click's callback and buttons, the event loop sending what was drawn)
    never waits behind a crowd of frames.  Yields True with the turn, or False without it when a click of this
    session came while it waited (the click's run waits for this one: the page then draws nothing)."""
    while not _turn.acquire(timeout=POLL):
        if streamlit_private.click_waiting():
            yield False
            return
    try:
        yield True
    finally:
        _turn.release()


def _others(session_id: str | None = None) -> list[Watcher]:
    """The sessions other than ``session_id`` that drew a live frame in the last WINDOW seconds."""
    now = time.monotonic()
    with _lock:
        for sid in [s for s, w in _watchers.items() if now - w.last > WINDOW]:
            del _watchers[sid]
        return [w for sid, w in _watchers.items() if sid != session_id]


def _watching(kind: Kind, fastest: float, first: bool) -> list[Watcher]:
    """Count the session of this script run (if any) as watching from now on; the other sessions watching."""
    session = streamlit_private.session_id()
    if session is not None:
        with _lock:
            _watchers[session] = Watcher(time.monotonic(), kind.cost, fastest, first)
    return _others(session)


def interval(fastest: float, kind: Kind, first: bool = False, others: list[Watcher] | None = None,
             scale: float | None = None) -> float:
    """Seconds between frames of a session of ``kind`` among ``others`` (default: every other watching
    session, this one counted as watching from now on, so that a crowd declaring its live fragments at once
    starts at its share) at ``scale`` (default: the measured one): its fastest if ``first``, else an even share
    of what the firsts leave of BUDGET."""
    others = _watching(kind, fastest, first) if others is None else others
    if first:
        return fastest
    scale = meter.scale if scale is None else scale
    reserved = scale * sum(w.cost / w.fastest for w in others if w.first)
    shared = scale * (kind.cost + sum(w.cost for w in others if not w.first))
    return max(fastest, shared / max(BUDGET - reserved, BUDGET / 4))


def keep_pace(fastest: float, kind: Kind, first: bool = False) -> float:
    """Called by each live frame, inside its fragment: counts the frame as measured, sets the fragment's timer
    in the browser to this session's share (an AutoRerun message for the running fragment, as
    ``st.fragment(run_every=...)`` sends when it is declared; the browser ignores one that changes nothing), and
    says so on the page when that share is under one frame a second.  Sent with every frame: a frame's output
    can be dropped unsent, and with it the message.  Returns the seconds to the next frame."""
    seconds = interval(fastest, kind, first)
    if streamlit_private.fragment_timer(seconds):
        with _lock:
            meter.frame(kind.cost)
        if seconds > FULL:
            st.info(kind.full, icon=":material/groups:")
    return seconds
