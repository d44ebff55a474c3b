"""Follow the teacher: a teacher's session opens a room, and followers (``?follow=CODE``) watch its run live.

A room's frames are built once per FOLLOW_TICK for all its followers, not once per follower: each chart group's
figures are turned into JSON once, with a version number, and a follower's frame is the status plus the groups
whose version it has not seen yet, joined as text.  A room lives as long as the teacher's session holds it
(the registry keeps only weak references): it expires when that session ends or the teacher closes it.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import secrets
import threading
import time
import weakref

import adjoint_core as ac

from . import figures, live
from .worker import Trainer

FOLLOW_TICK = 0.25   # seconds between a follower's frames
MAX_ROOMS = 50
CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O or 1/I to misread on a projector
CODE_LENGTH = 5
_CODE = re.compile(f"[{CODE_CHARS}]{{{CODE_LENGTH}}}")


class RoomError(ValueError):
    """A room cannot be opened or found; the message says why."""


class Room:
    """The teacher's run as followers see it."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.run: ac.TrainingRun | None = None
        self.trainer: Trainer | None = None
        self.preset: str | None = None
        self._lock = threading.Lock()
        self._built_at = -math.inf
        self._schedule = live.Schedule()
        self._version = 0
        self._groups: dict[str, tuple[int, str]] = {}   # group -> (version, its figures as "key":{...},...)
        self._rows = ""                                  # the board's layout, as JSON
        self._head = ""                                  # the payload's "plotly", "status" and "rows" members

    def attach(self, run: ac.TrainingRun, trainer: Trainer | None, preset: str | None) -> None:
        """The teacher's page: this is the run (and its trainer, while playing) that followers see."""
        if run is not self.run:
            self._schedule = live.Schedule()
        self.run, self.trainer, self.preset = run, trainer, preset

    def _refresh(self) -> None:
        """Build the groups due, at most once per FOLLOW_TICK whatever the number of followers."""
        now = time.monotonic()
        if now - self._built_at < FOLLOW_TICK or self.run is None:
            return
        self._built_at = now
        run, trainer = self.run, self.trainer
        with trainer.lock if trainer is not None else contextlib.nullcontext():   # not while a sync writes
            for group, figs in self._schedule.next(run).items():
                self._version += 1
                self._groups[group] = (self._version, figures.to_json(figs)[1:-1])   # without its braces
            status = live.board_status(run, trainer)
        self._rows = json.dumps(live.board_rows(self._schedule.heights))
        self._head = f'"plotly":{json.dumps(live.PLOTLY_URL)},"status":{json.dumps(status)},"rows":{self._rows}'

    def payload(self, seen: dict[str, object]) -> bytes:
        """A follower's next frame (JSON bytes): the status and the chart groups newer than ``seen``
        (group -> version, and the layout they were drawn in; updated in place, empty for a new board)."""
        with self._lock:
            self._refresh()
            if seen.get("rows") != self._rows:   # a new layout: the board is built afresh and needs every chart
                seen.clear()
                seen["rows"] = self._rows
            parts = []
            for group, (version, text) in self._groups.items():
                if version > int(seen.get(group, 0)):
                    parts.append(text)
                    seen[group] = version
            return ("{" + self._head + ',"charts":{' + ",".join(parts) + "}}").encode()


_rooms: dict[str, weakref.ref[Room]] = {}
_rooms_lock = threading.Lock()


def open_room() -> Room:
    """A new room with a fresh code; the caller (the teacher's session) must keep it to keep it open."""
    with _rooms_lock:
        for code in [c for c, ref in _rooms.items() if ref() is None]:
            del _rooms[code]
        if len(_rooms) >= MAX_ROOMS:
            raise RoomError(f"this server already has {MAX_ROOMS} live rooms open; close one first")
        while (code := "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))) in _rooms:
            pass
        room = Room(code)
        _rooms[code] = weakref.ref(room)
        return room


def close_room(room: Room) -> None:
    with _rooms_lock:
        _rooms.pop(room.code, None)


def find_room(code: str) -> Room:
    """The open room with this code (case and spaces ignored); RoomError when there is none."""
    code = str(code).strip().upper()
    if not _CODE.fullmatch(code):
        raise RoomError(f"'{code[:20]}' is not a room code: a room code is {CODE_LENGTH} letters and digits")
    with _rooms_lock:
        ref = _rooms.get(code)
        room = ref() if ref is not None else None
    if room is None:
        raise RoomError(f"there is no live room {code}: the teacher may have closed it, or the code is mistyped")
    return room
