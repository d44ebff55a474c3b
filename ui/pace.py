"""The pace of live frames: every watching session's share of the server's frames.

Each browser tab with a live fragment asks for a rerun every ``run_every`` seconds, whatever the server's load.
When more frames are asked for than one interpreter can draw, the script runs pile up, the event loop that
sends their output gets the GIL ever more rarely, and a run's output is dropped unsent when the next run of the
same fragment starts (measured with benchmarks/bench_classroom.py: 30 students at 0.1 s, 548 of 588 frames
dropped).  So each live frame sets its own timer: the server draws about FRAMES_PER_SECOND frames in all, shared
evenly by the sessions that watched in the last WINDOW seconds (students playing and followers of a room), and
never faster than the fragment's own interval.
"""

from __future__ import annotations

import threading
import time

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState, get_script_run_ctx

FRAMES_PER_SECOND = 150.0   # the server's live frames per second, over every watching session
WINDOW = 2.0                # seconds: a session whose last frame is older no longer counts as watching

_last_frame: dict[str, float] = {}   # session id -> time of its last live frame
_lock = threading.Lock()


def watching() -> int:
    """Sessions that drew a live frame in the last WINDOW seconds."""
    now = time.monotonic()
    with _lock:
        for sid in [s for s, t in _last_frame.items() if now - t > WINDOW]:
            del _last_frame[sid]
        return len(_last_frame)


def interval(fastest: float, sessions: int) -> float:
    """Seconds between one session's frames when ``sessions`` share the server, at most 1/``fastest`` Hz."""
    return max(fastest, sessions / FRAMES_PER_SECOND)


def keep_pace(fastest: float) -> None:
    """Called by each live frame, inside its fragment: counts this session as watching and sets the fragment's
    timer in the browser to this session's share (an AutoRerun message for the running fragment, as
    ``st.fragment(run_every=...)`` sends when it is declared; the browser ignores one that changes nothing).
    Sent with every frame: a frame's output can be dropped unsent, and with it the message."""
    ctx = get_script_run_ctx(suppress_warning=True)
    fragment_id = ThreadState.get().fragment_id if ctx is not None else None
    if not fragment_id:
        return
    with _lock:
        _last_frame[ctx.session_id] = time.monotonic()
    msg = ForwardMsg()
    msg.auto_rerun.interval, msg.auto_rerun.fragment_id = interval(fastest, watching()), fragment_id
    ctx.enqueue(msg)
