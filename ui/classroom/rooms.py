"""Follow the teacher: a teacher's session opens a room, and followers (``?follow=CODE``) watch its run live.

A room's frames are built once per FOLLOW_TICK for all its followers, not once per follower: the room holds one
live ``Board`` (ui/train/board.py) that turns each chart group's figures into JSON once, with a version number
(``wire``), and room_files.py writes them as files that the followers' pages fetch over HTTP.  A room lives as long
as the teacher's session holds it (the registry keeps only weak references): it expires when that session ends or
the teacher closes it.

Followers are told what the teacher is doing (``Room.note``).  A teacher who paused (or whose page stopped
drawing frames, e.g. a hidden tab) is still connected: the room says "paused" and stays open.  A teacher whose
page is gone (closed, reloaded, offline) is told apart by the server: their session is no longer connected
(``teacher_connected``, Streamlit's own view of the websocket).  Followers are told at once; a teacher who
does not come back within CLOSE_AFTER seconds (a short network loss reconnects to the same session) has left,
and the room is closed.  Streamlit keeps a disconnected session for two minutes, so without this a room
stayed followable, frozen, that long.

With Redis configured (room_bus.py) a room is also published for the other replicas, where its followers see it
through a ``room_bus.Mirror`` with the same ``code``, ``label``, ``note``, ``wire`` and ``copy``.
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
from typing import Protocol

import adjoint_core as ac

from ..services.worker import Trainer
from ..train import live
from ..train.board import Board
from . import room_bus, roster
from .room_bus import FOLLOW_TICK, RoomError

MAX_ROOMS = 50
CLOSE_AFTER = 10.0   # seconds a teacher's page may be disconnected before the room closes
CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O or 1/I to misread on a projector
CODE_LENGTH = 5
_CODE = re.compile(f"[{CODE_CHARS}]{{{CODE_LENGTH}}}")
clock = time.monotonic   # the rooms' clock (a test sets its own)


class Seat(room_bus.ClassSeat, Protocol):
    """What a room needs of a joined student of this replica (join.py's seat): for Spotlight, its run."""
    run: ac.TrainingRun | None
    trainer: Trainer | None

    def name(self, hidden: bool) -> str: ...


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
        self._board, self._board_run = Board(shared=True), None
        self.klass = roster.Class()
        self.seats: weakref.WeakValueDictionary[str, Seat] = weakref.WeakValueDictionary()   # this replica's

    def attach(self, run: ac.TrainingRun, trainer: Trainer | None, preset: str | None) -> None:
        """The teacher's page: this is the run (and its trainer, while playing) that followers see."""
        self.run, self.trainer, self.preset = run, trainer, preset

    def shown(self) -> tuple[ac.TrainingRun | None, Trainer | None, str]:
        """The run followers see, its trainer and whose it is ("" for the teacher's): the spotlit student's
        run while the teacher spotlights one on this replica, else the teacher's."""
        seat = self.seats.get(self.klass.orders.spotlight or "")
        if seat is not None and seat.run is not None:
            return seat.run, seat.trainer, seat.name(self.klass.orders.hide_names)
        return self.run, self.trainer, ""

    @property
    def label(self) -> str:
        run, _, whose = self.shown()
        label = run.config.label if run is not None else ""
        return f"{whose}'s run: {label}" if whose else label

    def copy(self) -> tuple[ac.TrainingRun, str | None]:
        """A copy of the run shown as it is now (in training, if it plays) and its preset."""
        run, trainer, whose = self.shown()
        preset = None if whose else self.preset
        if trainer is not None and trainer.alive:
            return trainer.copy(), preset
        if run is None:
            raise RoomError("the teacher's run is not there yet: try again in a moment")
        return ac.TrainingRun.from_snapshot(run.snapshot()), preset

    # --- the class (roster.py): students who joined with ?join=CODE --------------------------------------
    def join_class(self, seat: Seat) -> int:
        """Seat a student of this replica (again, after a network loss: with its number): its number; RoomError
        when the class is full."""
        others = room_bus.remote_seats(self.code)
        number = self.klass.join(seat.id, seat.connected, others, seat.number or room_bus.next_number(self.code))
        if number is None:
            raise RoomError(roster.full())
        self.seats[seat.id] = seat
        self.klass.order(size=max(self.klass.orders.size, len(self.seats) + others))   # other replicas check it
        return number

    def post_card(self, card: roster.Card) -> bool:
        return self.klass.post(card)

    def leave_class(self, seat: str) -> None:
        self.klass.leave(seat)

    @property
    def orders(self) -> roster.Orders:
        return self.klass.orders

    def cards(self) -> list[roster.Card]:
        """Every joined student's latest card, on any replica; updates the class's size in the orders."""
        cards = self.klass.cards(room_bus.read_cards(self.code))
        if len(cards) != self.klass.orders.size:
            self.klass.order(size=len(cards))
        return cards

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
        _, trainer, whose = self.shown()
        if trainer is None or not trainer.alive:
            return "info", f"{whose or 'The teacher'}'s run is paused: the charts show it as it is now."
        return None

    def _refresh(self) -> None:
        """Update the board (a new one for another run), at most once per FOLLOW_TICK whatever the number of
        followers; holds _lock."""
        now = clock()
        run, trainer, _ = self.shown()
        if run is not self._board_run:
            self._board, self._board_run, self._built_at = Board(shared=True), run, -math.inf
        if now - self._built_at < FOLLOW_TICK or run is None:
            return
        self._built_at = now
        with trainer.lock if trainer is not None else contextlib.nullcontext():   # not while a sync writes
            self._board.update(run, live.board_status(run, trainer))

    def wire(self) -> tuple[dict[str, object], dict[str, tuple[int, str]], int]:
        """What room_bus publishes and room_files writes: the meta (status, layout, group versions, note, label,
        preset), every group's (version, figures JSON) and the run's step (-1: no run yet)."""
        note = self.note()
        with self._lock:
            self._refresh()
            board = self._board
            meta = {"status": board.status, "rows": board.rows, "note": note, "label": self.label,
                    "preset": self.preset, "versions": {g: v for g, (v, _) in board.groups.items()},
                    "class": self.orders.to_json()}
            return meta, dict(board.groups), self._board_run.step_count if self._board_run is not None else -1


_rooms: dict[str, weakref.ref[Room]] = {}
_closed: dict[str, str] = {}   # code -> why, for the codes of the last rooms closed (a follower is told why)
_rooms_lock = threading.Lock()
TEACHER_LEFT = "the teacher left"


def _left(room: Room | None) -> bool:
    return room is not None and (room.teacher_gone_for() or 0.0) >= CLOSE_AFTER


def live_rooms() -> list[Room]:
    """This server's open rooms, after closing those whose teacher has left or whose session has ended."""
    with _rooms_lock:
        refs = list(_rooms.items())
    live = []
    for code, ref in refs:
        if (room := ref()) is None or _left(room):
            _close(code, TEACHER_LEFT, room)
        else:
            live.append(room)
    return live


def open_room(teacher_connected: Callable[[], bool]) -> Room:
    """A new room with a fresh code; the caller (the teacher's session) must keep it to keep it open, and
    ``teacher_connected`` says whether the teacher's page is still connected."""
    if len(live_rooms()) >= MAX_ROOMS:
        raise RoomError(f"this server already has {MAX_ROOMS} live rooms open; close one first")
    while True:
        code = "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))
        with _rooms_lock:
            if code in _rooms:
                continue
        if room_bus.claim(code):
            break
    room = Room(code, teacher_connected)
    with _rooms_lock:
        if len(_rooms) >= MAX_ROOMS:
            raise RoomError(f"this server already has {MAX_ROOMS} live rooms open; close one first")
        _rooms[code] = weakref.ref(room)
        _closed.pop(code, None)
    serve()
    return room


def serve() -> None:
    """With Redis: publish this replica's rooms, and renew its students' cards in other replicas' classes."""
    room_bus.start(live_rooms)


def _close(code: str, why: str, room: Room | None) -> None:
    """Drop ``room`` (None: a room whose session has ended) from the registry, remember why (for the last
    4 * MAX_ROOMS codes) and tell the other replicas."""
    with _rooms_lock:
        ref = _rooms.get(code)
        if ref is None or ref() is not room:
            return
        del _rooms[code]
        _closed[code] = why
        while len(_closed) > 4 * MAX_ROOMS:
            del _closed[next(iter(_closed))]
    room_bus.announce_closed(code, why)


def close_room(room: Room, why: str = "the teacher closed it") -> None:
    _close(room.code, why, room)


def find_room(code: str) -> Room | room_bus.Mirror:
    """The open room with this code (case and spaces ignored): this server's, or another replica's through
    Redis; RoomError when there is none, or when its teacher has left (the room is then closed)."""
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
        if (mirror := room_bus.find(code)) is not None:
            return mirror
        raise RoomError(f"there is no live room {code}: the teacher may have closed it, or the code is mistyped")
    return room
