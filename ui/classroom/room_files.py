"""A room's frames as files that its followers' pages fetch over plain HTTP: a follower's frame costs no script run.

Once per FOLLOW_TICK a thread writes every room followed on this server (a local ``rooms.Room``, or another
replica's through its ``room_bus.Mirror``) into ``FOLDER/CODE/``, a temporary folder of this process that Streamlit
serves as the files of a v1 component (``serve``):

- ``head.json.gz``: the status, what followers are told (``note``), the layout (``rows``), each chart group's
  version, ``every`` (seconds between a page's fetches) and the figures of the groups new in the last ``every``
  seconds and a tick, so that a page's fetch is one request;
- ``GROUP-VERSION.json.gz``: each chart group's figures, kept KEEP seconds after a newer version, for a page that
  fetched no head while that version was new (one that just opened).

A page (live_board.js) fetches the head, and the group versions it has neither drawn nor found in the head. Each
file is compressed once when written and served as it is (Streamlit gzips other responses on every request), and
is written under a temporary name then renamed, so a page never reads half a file. Only what a follower's page
shows is written. A room's folder goes when the room closes (its head gone, 404: the page reruns to say why), and
KEEP seconds after its last follower's page stopped following or was closed.

An HTTP request costs this server's event loop about 1 ms, so followers are counted (their sessions, while
connected) and fetch every ``max(FOLLOW_TICK, followers / POLLS)`` seconds: a larger audience slows its own
fetches, not the teacher's frames.
"""

from __future__ import annotations

import atexit
import gzip
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

from .. import streamlit_private
from . import room_bus, rooms
from .room_bus import FOLLOW_TICK

POLLS = 400.0   # fetches of a head per second that this server gives all its followers together
KEEP = 5.0      # seconds a chart group's file outlives its next version
HEAD = "head.json.gz"
FOLDER = Path(tempfile.mkdtemp(prefix="abp-rooms-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
_GROUP = re.compile(r"[a-z_]{1,40}")   # a chart group's name, as part of a file name
log = logging.getLogger(__name__)


def serve() -> str:
    """The URL path of FOLDER's files, relative to the app's root (registered in the first script run that asks)."""
    return streamlit_private.serve_folder("room_files", str(FOLDER))


def _write(path: Path, text: str) -> None:
    """Write ``text`` gzip-compressed to ``path``, atomically."""
    temp = path.with_name(f".{path.name}.{threading.get_ident()}")
    temp.write_bytes(gzip.compress(text.encode(), 6, mtime=0))
    os.replace(temp, path)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class Files:
    """The files of one room: each group's version and when it was written, the last head, and the group files a
    newer version superseded (with when)."""

    def __init__(self, code: str) -> None:
        self.folder = FOLDER / code
        self.versions: dict[str, int] = {}
        self.written: dict[str, tuple[float, str]] = {}   # group -> (when its version was written, its figures)
        self.head = ""
        self.old: deque[tuple[float, Path]] = deque()
        self.unfollowed: float | None = None   # when its last follower's page stopped following

    def write(self, room: rooms.Room | room_bus.Mirror, every: float) -> None:
        """Write the room's new group versions and its head (when it changed: the groups written within the last
        ``every`` + FOLLOW_TICK seconds are in it, so a page fetching every ``every`` seconds needs nothing else);
        remove superseded files after KEEP."""
        meta, groups, _ = room.wire()
        self.folder.mkdir(exist_ok=True)
        now = time.monotonic()
        for group, (version, text) in groups.items():
            if self.versions.get(group) == version or not _GROUP.fullmatch(group):
                continue
            _write(self.folder / f"{group}-{version}.json.gz", "{" + text + "}")
            if group in self.versions:
                self.old.append((now, self.folder / f"{group}-{self.versions[group]}.json.gz"))
            self.versions[group], self.written[group] = version, (now, text)
        while self.old and now - self.old[0][0] >= KEEP:
            self.old.popleft()[1].unlink(missing_ok=True)
        recent = [text for when, text in self.written.values() if now - when <= every + FOLLOW_TICK]
        head = (f'{{"status":{_json(meta["status"])},"note":{_json(meta["note"])},"rows":{meta["rows"]},'
                f'"versions":{_json(self.versions)},"every":{every:.3f},"charts":{{{",".join(recent)}}}}}')
        if head != self.head:
            _write(self.folder / HEAD, head)
            self.head = head

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


_followers: dict[str, tuple[str, Callable[[], bool]]] = {}   # session id -> (room code, whether its page is connected)
_files: dict[str, Files] = {}
_lock = threading.Lock()         # _followers
_write_lock = threading.Lock()   # _files and the folders
_writer: threading.Thread | None = None


def every(followers: int) -> float:
    """Seconds between the fetches of each page when this server has ``followers``."""
    return max(FOLLOW_TICK, followers / POLLS)


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
    return f"{serve()}{code}/"


def unfollow() -> None:
    """The page of this script run follows no room any more."""
    with _lock:
        _followers.pop(streamlit_private.session_id() or "", None)
