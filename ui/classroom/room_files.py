"""A room's frames as files that its followers' pages fetch over plain HTTP (ui/services/frame_files.py).

Once per FOLLOW_TICK a thread writes every room followed on this server (a local ``rooms.Room``, or another
replica's through its ``room_bus.Mirror``) into ``FOLDER/CODE/``: the room's board, and what followers are told
(``note``). Only what a follower's page shows is written. A room's folder goes when the room closes (its head gone,
404: the page reruns to say why), and KEEP seconds after its last follower's page stopped following or was closed.

Followers are counted (their sessions, while connected) and fetch every ``every(followers)`` seconds: a larger
audience slows its own fetches, not the teacher's frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from .. import streamlit_private
from ..services import frame_files
from . import room_bus, rooms
from .room_bus import FOLLOW_TICK

KEEP = frame_files.KEEP   # seconds a room's folder outlives its last follower
HEAD = frame_files.HEAD
KIND = "rooms"   # the rooms' folder under frame_files.ROOT, and its URL's part
FOLDER = frame_files.ROOT / KIND
log = logging.getLogger(__name__)


class Files(frame_files.Files):
    """The files of one room."""

    def __init__(self, code: str) -> None:
        super().__init__(FOLDER / code, FOLLOW_TICK)
        self.unfollowed: float | None = None   # when its last follower's page stopped following

    def write(self, room: rooms.Room | room_bus.Mirror, every: float) -> None:
        """Write the room's frame (``frame_files.Files.write_frame``)."""
        meta, groups, _ = room.wire()
        self.write_frame(meta, groups, every)


_followers: dict[str, tuple[str, Callable[[], bool]]] = {}   # session id -> (room code, whether its page is connected)
_files: dict[str, Files] = {}
_lock = threading.Lock()         # _followers
_write_lock = threading.Lock()   # _files and the folders
_writer: threading.Thread | None = None


def every(followers: int) -> float:
    """Seconds between the fetches of each page when this server has ``followers``."""
    return frame_files.every(followers, FOLLOW_TICK)


def write_all() -> None:
    """Write every room followed from a connected page; remove the folders of the others, and forget the followers
    of a room that has closed (their pages rerun once its head is gone)."""
    with _lock:
        for session in [s for s, (_, on) in _followers.items() if not on()]:
            del _followers[session]
        followed = Counter(code for code, _ in _followers.values())
    seconds, now = every(sum(followed.values())), time.monotonic()
    with _write_lock:
        for code in set(_files) - set(followed):   # KEEP seconds later: a page that just stopped following (Take a
            files = _files[code]                   # copy) is not told its room has closed while it reruns
            files.unfollowed = files.unfollowed or now
            if now - files.unfollowed >= KEEP:
                _files.pop(code).remove()
        for code in followed:
            files = _files.get(code) or _files.setdefault(code, Files(code))
            files.unfollowed = None
            try:
                files.write(rooms.find_room(code), seconds)
            except rooms.RoomError:
                _files.pop(code).remove()
                with _lock:
                    for session in [s for s, (c, _) in _followers.items() if c == code]:
                        del _followers[session]
            except Exception:   # one room's trouble never stops the others' frames
                log.exception("room %s: its files could not be written", code)


def _loop() -> None:
    while True:
        time.sleep(FOLLOW_TICK)
        write_all()


def follow(code: str) -> str:
    """The page of this script run follows room ``code``: count it, write the room's files now if it has none, and
    return the URL path of its folder (relative to the app's root)."""
    global _writer
    session = streamlit_private.session_id() or ""
    with _lock:
        _followers[session] = (code, streamlit_private.connected(session))
        if _writer is None:
            _writer = threading.Thread(target=_loop, name="room-files", daemon=True)
            _writer.start()
    if not (FOLDER / code / HEAD).exists():
        write_all()
    return frame_files.url(KIND, code)


def unfollow() -> None:
    """The page of this script run follows no room any more."""
    with _lock:
        _followers.pop(streamlit_private.session_id() or "", None)
