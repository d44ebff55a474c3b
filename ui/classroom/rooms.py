"""Follow the teacher: a teacher's session opens a room, and followers (``?follow=CODE``) watch its run live.

A room's frames are built once per FOLLOW_TICK for all its followers, not once per follower: the room holds one
live ``Board`` (ui/train/board.py) that turns each chart group's figures into JSON once, with a version number, and a
follower's frame is the status plus the groups whose version it has not seen yet.  A room lives as long as the
teacher's session holds it (the registry keeps only weak references): it expires when that session ends or the
teacher closes it.

Followers are told what the teacher is doing (``Room.note``).  A teacher who paused (or whose page stopped
drawing frames, e.g. a hidden tab) is still connected: the room says "paused" and stays open.  A teacher whose
page is gone (closed, reloaded, offline) is told apart by the server: their session is no longer connected
(``teacher_connected``, Streamlit's own view of the websocket).  Followers are told at once; a teacher who
does not come back within CLOSE_AFTER seconds (a short network loss reconnects to the same session) has left,
and the room is closed.  Streamlit keeps a disconnected session for two minutes, so without this a room
stayed followable, frozen, that long.
"""

from __future__ import annotations

import contextlib
import math
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable

import adjoint_core as ac

from ..services.worker import Trainer
from ..train import live
from ..train.board import Board

FOLLOW_TICK = 0.25   # seconds between a follower's frames
MAX_ROOMS = 50
CLOSE_AFTER = 10.0   # seconds a teacher's page may be disconnected before the room closes
CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O or 1/I to misread on a projector
CODE_LENGTH = 5
_CODE = re.compile(f"[{CODE_CHARS}]{{{CODE_LENGTH}}}")
clock = time.monotonic   # the rooms' clock (a test sets its own)


class RoomError(ValueError):
    """A room cannot be opened or found; the message says why."""


class Room:
    """The teacher's run as followers see it."""

    def __init__(self, code: str, teacher_connected: Callable[[], bool]) -> None:
        self.code = code
        self._connected = teacher_connected
        self._gone_since: float | None = None   # when the teacher's page was first seen disconnected
        self.run: ac.TrainingRun | None = None
        self.trainer: Trainer | None = None
        self.preset: str | None = None
        self._lock = threading.Lock()
        self._built_at = -math.inf
        self._board = Board(shared=True)

    def attach(self, run: ac.TrainingRun, trainer: Trainer | None, preset: str | None) -> None:
        """The teacher's page: this is the run (and its trainer, while playing) that followers see."""
        self.trainer, self.preset = trainer, preset
        if run is not self.run:   # a new board, built on the next follower's frame
            with self._lock:
                self.run, self._board, self._built_at = run, Board(shared=True), -math.inf

    def teacher_gone_for(self) -> float | None:
        """Seconds since the teacher's page was first seen disconnected; None while it is connected."""
        with self._lock:
            if self._connected():
                self._gone_since = None
                return None
            now = clock()
            if self._gone_since is None:
                self._gone_since = now
            return now - self._gone_since

    def note(self) -> tuple[str, str] | None:
        """What followers are told about the teacher, as (kind: "warning" or "info", text); None while the
        teacher's run plays."""
        if (gone := self.teacher_gone_for()) is not None:
            return "warning", (f"The teacher has left: their page is closed or lost its connection. This room "
                               f"closes in {math.ceil(max(CLOSE_AFTER - gone, 1))} s unless they come back; "
                               "Take a copy to keep the run.")
        if self.trainer is None or not self.trainer.alive:
            return "info", "The teacher's run is paused: the charts show it as it is now."
        return None

    def _refresh(self) -> None:
        """Update the board, at most once per FOLLOW_TICK whatever the number of followers; holds _lock."""
        now = clock()
        if now - self._built_at < FOLLOW_TICK or self.run is None:
            return
        self._built_at = now
        run, trainer = self.run, self.trainer
        with trainer.lock if trainer is not None else contextlib.nullcontext():   # not while a sync writes
            self._board.update(run, live.board_status(run, trainer))

    def payload(self, seen: dict[str, object]) -> bytes:
        """A follower's next frame (JSON bytes): the status and the chart groups newer than ``seen`` (what the
        follower's page has drawn: updated in place, empty for a new page)."""
        with self._lock:
            self._refresh()
            return self._board.payload(seen)


_rooms: dict[str, weakref.ref[Room]] = {}
_closed: dict[str, str] = {}   # code -> why, for the codes of the last rooms closed (a follower is told why)
_rooms_lock = threading.Lock()
TEACHER_LEFT = "the teacher left"


def _left(room: Room | None) -> bool:
    return room is not None and (room.teacher_gone_for() or 0.0) >= CLOSE_AFTER


def open_room(teacher_connected: Callable[[], bool]) -> Room:
    """A new room with a fresh code; the caller (the teacher's session) must keep it to keep it open, and
    ``teacher_connected`` says whether the teacher's page is still connected."""
    with _rooms_lock:
        for code, ref in list(_rooms.items()):
            if (room := ref()) is None or _left(room):
                _close(code, TEACHER_LEFT)
        if len(_rooms) >= MAX_ROOMS:
            raise RoomError(f"this server already has {MAX_ROOMS} live rooms open; close one first")
        while (code := "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))) in _rooms:
            pass
        room = Room(code, teacher_connected)
        _rooms[code] = weakref.ref(room)
        _closed.pop(code, None)
        return room


def _close(code: str, why: str) -> None:
    """Drop a room from the registry and remember why (for the last 4 * MAX_ROOMS codes); holds _rooms_lock."""
    _rooms.pop(code, None)
    _closed[code] = why
    while len(_closed) > 4 * MAX_ROOMS:
        del _closed[next(iter(_closed))]


def close_room(room: Room, why: str = "the teacher closed it") -> None:
    with _rooms_lock:
        ref = _rooms.get(room.code)
        if ref is not None and ref() is room:
            _close(room.code, why)


def find_room(code: str) -> Room:
    """The open room with this code (case and spaces ignored); RoomError when there is none, or when its
    teacher has left (the room is then closed)."""
    code = str(code).strip().upper()
    if not _CODE.fullmatch(code):
        raise RoomError(f"'{code[:20]}' is not a room code: a room code is {CODE_LENGTH} letters and digits")
    with _rooms_lock:
        ref = _rooms.get(code)
        room = ref() if ref is not None else None
    if _left(room):
        close_room(room, TEACHER_LEFT)
        room = None
    if room is None:
        with _rooms_lock:
            why = _closed.get(code)
        if why:
            raise RoomError(f"room {code} has closed: {why}")
        raise RoomError(f"there is no live room {code}: the teacher may have closed it, or the code is mistyped")
    return room
