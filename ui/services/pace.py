"""The pace of live frames: every watching session's share of the server's time for frames.

Each browser tab with a live fragment asks for a rerun every ``run_every`` seconds, whatever the server's load.
When more frames are asked for than one interpreter can draw, the script runs pile up, the event loop that
sends their output gets the GIL ever more rarely, and a run's output is dropped unsent when the next run of the
same fragment starts (measured with benchmarks/bench_classroom.py: 30 students at 0.1 s, 548 of 588 frames
dropped).  So each live frame sets its own timer.  The server spends about BUDGET of one core on frames; a
frame costs about its kind's seconds of server time (a student's frame with its own charts, or a follower's,
assembled from its room's shared figures; measured, Streamlit's own work included).  A teacher with an open
room draws at its own fastest pace; every other session that watched in the last WINDOW seconds gets the same
share of the rest, never faster than its own fastest interval.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .. import streamlit_private

BUDGET = 0.75             # of one core: the server's time for live frames, over every watching session
STUDENT_FRAME = 0.005     # seconds of server time per frame of a playing student
FOLLOWER_FRAME = 0.002    # ... of a follower of a room
WINDOW = 2.0              # seconds: a session whose last frame is older no longer counts as watching


@dataclass
class Watcher:
    last: float        # time of its last live frame
    cost: float        # server seconds per frame
    fastest: float     # its own shortest interval
    first: bool        # drawn at its fastest pace (a teacher with an open room)


_watchers: dict[str, Watcher] = {}   # session id -> its latest frame
_lock = threading.Lock()


def _others(session_id: str | None = None) -> list[Watcher]:
    """The sessions other than ``session_id`` that drew a live frame in the last WINDOW seconds."""
    now = time.monotonic()
    with _lock:
        for sid in [s for s, w in _watchers.items() if now - w.last > WINDOW]:
            del _watchers[sid]
        return [w for sid, w in _watchers.items() if sid != session_id]


def interval(fastest: float, cost: float, first: bool = False, others: list[Watcher] | None = None) -> float:
    """Seconds between frames of a session (``cost`` server seconds each) among ``others`` (default: every
    other watching session): its fastest if ``first``, else an even share of what the firsts leave of BUDGET."""
    if first:
        return fastest
    others = _others(streamlit_private.session_id()) if others is None else others
    reserved = sum(w.cost / w.fastest for w in others if w.first)
    shared = cost + sum(w.cost for w in others if not w.first)
    return max(fastest, shared / max(BUDGET - reserved, BUDGET / 4))


def keep_pace(fastest: float, cost: float, first: bool = False) -> None:
    """Called by each live frame, inside its fragment: counts this session as watching and sets the fragment's
    timer in the browser to this session's share (an AutoRerun message for the running fragment, as
    ``st.fragment(run_every=...)`` sends when it is declared; the browser ignores one that changes nothing).
    Sent with every frame: a frame's output can be dropped unsent, and with it the message."""
    seconds = interval(fastest, cost, first)
    if streamlit_private.fragment_timer(seconds):
        with _lock:
            _watchers[streamlit_private.session_id()] = Watcher(time.monotonic(), cost, fastest, first)
