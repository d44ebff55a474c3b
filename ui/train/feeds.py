"""A playing page's own live frames, written as files that its board fetches (ui/services/frame_files.py): while a
page plays, a frame costs the server no script run.

One thread, the writer, takes the playing pages in turn every TICK seconds: for each, it syncs the trainer with
the training process, updates the page's ``Board`` (board.py) in the session's context (its figures follow the
session's screen and kept runs) and writes the chart groups that changed. One writer serves every page, so the
pages' frames come in turn: a class shares the server evenly by construction, and no crowd of script threads
contends for the interpreter. The writer gives way to a page drawn after a click (ui/services/pace.py), so a
Pause is shown before the next frames. When a round of the class takes longer than FULL seconds, each page is
told that the class is full on this server (its frames come less than once a second).

The page's live fragment (app_pages/train.py) still runs, every ``beat_every`` seconds, for what needs the
session: a stop at the epoch limit or on divergence, the class bar, the teacher's room. Each of its runs is a
beat (``watch``). A page whose beats stop (a closed tab, or one hidden long enough for the browser to hold its
timers) is no longer synced, so its run stops training by itself (worker.IDLE) and starts again when the page
comes back. A feed ends when its trainer has left (Pause, the epoch limit, divergence) or its page has closed: its
folder goes, and the board's fetch of the head (404) reruns the fragment, which shows the paused page.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from .. import streamlit_private
from ..services import frame_files, pace
from ..services.worker import Trainer
from . import live
from .board import Board

TICK = live.TICK      # seconds between a page's frames, at most
BEAT_EVERY = 1.0      # seconds between a page's live fragment runs, at least ...
BEATS = 10.0          # ... and at most this many runs a second for all playing pages together
BEAT_LOST = 3         # beats missed before a page counts as gone
SWITCH = 0.001        # seconds: the interpreter's switch interval once the writer runs (the default 0.005 makes
                      # the event loop wait that long for the lock after each of its many short system calls)
FULL = 1.0            # seconds: a round of the class longer than this, and each page is told the class is full
FULL_NOTE = ["info", "The class is full on this server: your page redraws less than once a second, and your "
                     "run trains at a slower pace while everyone plays."]
KIND = "own"   # the feeds' folder under frame_files.ROOT, and its URL's part
FOLDER = frame_files.ROOT / KIND
log = logging.getLogger(__name__)


class Feed:
    """One playing page's frames: its trainer, its board and files, the session's context and connection, and
    when its live fragment last ran (``beat``)."""

    def __init__(self, trainer: Trainer, context: object, connected: Callable[[], bool]) -> None:
        self.trainer, self.context, self.connected = trainer, context, connected
        self.name = uuid.uuid4().hex   # its folder's name: one page's, not guessable from another's
        self.board = Board()
        self.files = frame_files.Files(FOLDER / self.name, TICK)
        self.beat = time.monotonic()
        self.lock = threading.Lock()   # one write at a time (the writer's, or the first in ``watch``)
        self.ended = False

    def write(self, every: float, note: list[str] | None, asked: Future | None = None) -> None:
        """Sync the trainer (with the answer to its ``ask_sync`` if ``asked``), update the board and write its frame;
        once the trainer has left, end the feed."""
        with self.lock:
            if self.ended:
                return
            trainer = self.trainer
            trainer.sync(asked)
            with streamlit_private.session_context(self.context), trainer.lock:   # not while a stop restores the run
                if trainer.alive:
                    self.board.update(trainer.run, live.board_status(trainer.run, trainer))
            if not trainer.alive:
                self._end()
                return
            self.files.write_frame({"status": self.board.status, "note": note, "rows": self.board.rows},
                                   self.board.groups, every)

    def end(self) -> None:
        with self.lock:
            self._end()

    def _end(self) -> None:
        self.ended = True
        self.files.remove()


_feeds: dict[str, Feed] = {}   # session id -> its playing page's feed
_lock = threading.Lock()       # _feeds
_writer: threading.Thread | None = None
_round = 0.0                   # seconds the writer's last round took


def beat_every() -> float:
    """Seconds between a playing page's live fragment runs: BEAT_EVERY, or slower when many pages play."""
    with _lock:
        return max(BEAT_EVERY, len(_feeds) / BEATS)


def write_all() -> None:
    """One round: every feed whose page beats gets its next frame; a feed whose page has closed ends."""
    now, lost = time.monotonic(), BEAT_LOST * beat_every()
    with _lock:
        feeds = list(_feeds.items())
    beating = {session for session, feed in feeds   # (a new feed's first frame is watch's: one syncer at a time)
               if feed.files.head and feed.connected() and now - feed.beat <= lost}
    every = frame_files.every(len(beating), 0.9 * max(TICK, _round))   # a page sees every frame
    note = FULL_NOTE if _round > FULL else None
    asked = {session: feed.trainer.ask_sync() for session, feed in feeds if session in beating}   # all at once
    for session, feed in feeds:
        while pace.drawing():   # a paused page (Pause) first
            time.sleep(pace.POLL / 4)
        if not feed.connected():
            feed.end()
        elif session in beating:
            try:
                feed.write(every, note, asked[session])
            except Exception:   # one page's trouble never stops the others' frames
                log.exception("a live page's frame could not be written")
                feed.end()
        if feed.ended:
            with _lock:
                if _feeds.get(session) is feed:
                    del _feeds[session]


def _loop() -> None:
    global _round
    sys.setswitchinterval(SWITCH)
    while True:
        start = time.monotonic()
        write_all()
        _round = time.monotonic() - start
        time.sleep(max(0.0, TICK - _round))


def watch(trainer: Trainer) -> str:
    """This script run's page plays ``trainer``'s run: count the beat, set the live fragment's timer to
    ``beat_every`` and return the URL path of the frames' folder (relative to the app's root). A new trainer (Play)
    starts a new feed, whose first frame is written here so that the page's first fetch finds it."""
    global _writer
    session = streamlit_private.session_id() or ""
    with _lock:
        feed = _feeds.get(session)
        old = feed if feed is not None and feed.trainer is not trainer else None
        if feed is None or old is not None:
            feed = _feeds[session] = Feed(trainer, streamlit_private.script_context(),
                                          streamlit_private.connected(session))
        feed.beat, fresh = time.monotonic(), not feed.files.head
        if _writer is None:
            _writer = threading.Thread(target=_loop, name="live-frames", daemon=True)
            _writer.start()
    if old is not None:
        old.end()
    streamlit_private.fragment_timer(beat_every())
    if fresh:
        feed.write(frame_files.every(len(_feeds), TICK), None)
    return frame_files.url(KIND, feed.name)
