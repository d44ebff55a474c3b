"""Rooms across replicas, through Redis (``ADJOINT_REDIS_URL``; without it every room stays in its process).

The teacher's replica publishes each of its rooms once per FOLLOW_TICK (a thread, ``start``) into the Redis hash
``abp:room:CODE``: ``meta`` (JSON: the status, the board's layout, each chart group's version, what followers are
told, the run's label and preset), one field per chart group (``g:NAME``: its figures' JSON, written only when its
version changed) and ``run`` (the run as a run file, .zip, written at most every RUN_EVERY seconds while it
changes: what Take a copy adopts on another replica). The hash expires ROOM_TTL seconds after the last publish,
so a replica that dies takes its rooms with it; a room closed on purpose leaves ``abp:closed:CODE`` (why).

A room's followers on another replica share one ``Mirror``: it reads the hash at most once per FOLLOW_TICK (the
meta, then only the groups whose version changed) into a Board of its own, which serves every follower there as a
local room's board does (``wire``, written out by room_files.py). Nothing read is trusted: each field's size is
asked (HSTRLEN) before it is read, the JSON must have the shapes written here, and a run goes through
adjoint_core's run-file checks (never a pickle). A follower's page only reads: the Mirror has no way to write.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Protocol

import redis

import adjoint_core as ac
from adjoint_core.runfile import pack_run, unpack_run

from ..train.board import Board
from . import roster

URL_ENV = "ADJOINT_REDIS_URL"   # e.g. redis://127.0.0.1:6379/0
FOLLOW_TICK = 0.25   # seconds between a room's publishes, and between a mirror's reads
ROOM_TTL = 5.0       # seconds a room's hash outlives its last publish
CLOSED_TTL = 600     # seconds a closed room's reason is kept
RUN_EVERY = 5.0      # seconds between publishes of a changing run
MAX_META = 64 * 1024                  # bytes of a room's meta
MAX_GROUP = 8 * 1024 * 1024           # ... of one chart group's figures
MAX_WHY = 300                         # characters of a closed room's reason
KEEP_MIRROR = 60.0   # seconds a mirror nobody reads is kept
TIMEOUT = 1.0        # seconds for any Redis call
LOST = ("warning", "Room connection lost: this server cannot reach the teacher's room just now. The charts show "
                   "the last frame received and go on as soon as the connection is back.")
UNREADABLE = ("warning", "This room's latest frame could not be read, so it was left out: the charts show the last "
                         "good one.")
SERVER_STOPPED = "the teacher left (their server stopped)"
log = logging.getLogger(__name__)


class RoomError(ValueError):
    """A room cannot be opened, found or copied; the message says why."""


class ClassSeat(Protocol):
    """A joined student of this replica (join.py's seat), as the class's cards need it."""
    id: str
    code: str
    number: int
    card: roster.Card | None   # its latest card

    def connected(self) -> bool: ...


class PublishedRoom(Protocol):
    """What the publisher needs of a room (rooms.Room)."""
    code: str

    def wire(self) -> tuple[dict[str, object], dict[str, tuple[int, str]], int]: ...
    def copy(self) -> tuple[ac.TrainingRun, str | None]: ...


def _key(code: str) -> str:
    return f"abp:room:{code}"


def _closed_key(code: str) -> str:
    return f"abp:closed:{code}"


def _class_key(code: str) -> str:
    """The hash of a class's cards posted on replicas other than the teacher's: seat -> card JSON."""
    return f"abp:class:{code}"


_client: redis.Redis | None = None
_client_lock = threading.Lock()


def client() -> redis.Redis | None:
    """This process's Redis client, or None when ``ADJOINT_REDIS_URL`` is not set."""
    global _client
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        return _client


# --- the teacher's replica -------------------------------------------------------------------------------
def claim(code: str) -> bool:
    """Reserve a new room's code in Redis; False if another replica holds it. With Redis out of reach the code
    is taken (the room works on this replica, and is published once Redis is back)."""
    r = client()
    if r is None:
        return True
    try:
        taken = r.set(_key(code) + ":claim", 1, nx=True, ex=int(ROOM_TTL)) is None or r.exists(_key(code))
    except redis.RedisError:
        return True
    return not taken


class _Published:
    """What has been written of one room: each group's version, and the run's step and time."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.run_step, self.run_at = -1, -float("inf")


def publish(r: redis.Redis, room: PublishedRoom, done: _Published) -> None:
    """Write the room's meta and changed groups (and its run, when due), and renew its expiry."""
    meta, groups, step = room.wire()
    fresh = {group: text for group, (version, text) in groups.items() if done.versions.get(group) != version}
    fields: dict[str, str | bytes] = {f"g:{group}": text for group, text in fresh.items()}
    now = time.monotonic()
    if step >= 0 and step != done.run_step and now - done.run_at >= RUN_EVERY:
        run, _ = room.copy()
        packed = pack_run(*run.export())
        if len(packed) <= ac.limits.MAX_RUN_BYTES:
            fields["run"] = packed
        done.run_step, done.run_at = step, now
    fields["meta"] = json.dumps(meta, separators=(",", ":"))
    pipe = r.pipeline(transaction=True)
    pipe.hset(_key(room.code), mapping=fields)
    pipe.pexpire(_key(room.code), int(ROOM_TTL * 1000))
    pipe.execute()
    done.versions.update({group: groups[group][0] for group in fresh})


def announce_closed(code: str, why: str) -> None:
    """A room closed on purpose: its hash goes, and its reason stays for CLOSED_TTL."""
    r = client()
    if r is None:
        return
    try:
        pipe = r.pipeline(transaction=True)
        pipe.delete(_key(code), _key(code) + ":claim", _class_key(code), _class_key(code) + ":n")
        pipe.set(_closed_key(code), why[:MAX_WHY], ex=CLOSED_TTL)
        pipe.execute()
    except redis.RedisError as e:   # the hash expires by itself
        log.warning("room %s: could not announce its closing: %s", code, e)


_seats: weakref.WeakValueDictionary[str, ClassSeat] = weakref.WeakValueDictionary()   # in other replicas' classes


def _post(r: redis.Redis, code: str, card: roster.Card) -> bool:
    """A card into class ``code``'s hash, which expires when no replica posts; False (nothing written) when the
    class has closed."""
    if r.exists(_closed_key(code)):
        return False
    pipe = r.pipeline(transaction=True)
    pipe.hset(_class_key(code), card.seat, card.to_json())
    pipe.pexpire(_class_key(code), int(roster.GONE_AFTER * 2000))
    pipe.execute()
    return True


def renew_seats(r: redis.Redis) -> None:
    """Post again the latest card of each student of this replica in another replica's class while their page is
    connected (a hidden tab's timers slow down; the card must stay younger than GONE_AFTER), and take out those
    whose page has gone or whose class has closed."""
    for seat in list(_seats.values()):
        try:
            if not seat.connected():
                _seats.pop(seat.id, None)
                r.hdel(_class_key(seat.code), seat.id)
            elif seat.card is not None and not _post(r, seat.code, replace(seat.card, at=roster.clock())):
                _seats.pop(seat.id, None)
        except redis.RedisError:
            return


def next_number(code: str) -> int | None:
    """The next student number of class ``code`` from its counter in Redis (every replica's students counted
    alike); None without Redis or when it is out of reach."""
    r = client()
    if r is None:
        return None
    try:
        pipe = r.pipeline(transaction=True)
        pipe.incr(_class_key(code) + ":n")
        pipe.expire(_class_key(code) + ":n", CLOSED_TTL)
        return int(pipe.execute()[0])
    except redis.RedisError:
        return None


def remote_seats(code: str) -> int:
    """How many students of other replicas than the teacher's hold a seat in class ``code`` (their cards in Redis,
    read or not); 0 without Redis or when it is out of reach."""
    r = client()
    if r is None:
        return 0
    try:
        return int(r.hlen(_class_key(code)))
    except redis.RedisError:
        return 0


def read_cards(code: str) -> list[roster.Card]:
    """The cards students of other replicas posted for class ``code``, each checked (a field too big or not a
    card is left out); [] without Redis or when it is out of reach."""
    r = client()
    if r is None:
        return []
    key = _class_key(code)
    try:
        seats = r.hkeys(key)[: 2 * ac.limits.MAX_CLASS]
        pipe = r.pipeline(transaction=False)
        for seat in seats:
            pipe.hstrlen(key, seat)
        seats = [seat for seat, size in zip(seats, pipe.execute(), strict=True) if 0 < size <= roster.MAX_CARD]
        texts = r.hmget(key, seats) if seats else []
    except redis.RedisError:
        return []
    cards = []
    for text in texts:
        try:
            cards.append(roster.Card.from_json(text or b""))
        except (ValueError, UnicodeDecodeError) as e:
            log.warning("class %s: card refused: %s", code, e)
    return cards


_publisher: threading.Thread | None = None


def start(rooms: Callable[[], Iterable[PublishedRoom]]) -> None:
    """Publish ``rooms()`` (this replica's live rooms, swept of closed ones) once per FOLLOW_TICK, and renew this
    replica's students' cards once per CARD_EVERY (``renew_seats``), from a daemon thread, started once per
    process and only with Redis configured. A failed publish is tried again in full
    on the next tick (Redis restarted empty gets every room back)."""
    global _publisher
    r = client()
    with _client_lock:
        if r is None or _publisher is not None:
            return

        def loop() -> None:
            done: dict[str, _Published] = {}
            renewed = -float("inf")
            while True:
                time.sleep(FOLLOW_TICK)
                if time.monotonic() - renewed >= roster.CARD_EVERY:
                    renew_seats(r)
                    renewed = time.monotonic()
                live = list(rooms())
                for code in set(done) - {room.code for room in live}:
                    del done[code]
                for room in live:
                    try:
                        publish(r, room, done.setdefault(room.code, _Published()))
                    except redis.RedisError:
                        done.pop(room.code, None)
                    except Exception:   # one room's trouble never stops the others' publishing
                        log.exception("room %s: publish failed", room.code)
                        done.pop(room.code, None)

        _publisher = threading.Thread(target=loop, name="room-publisher", daemon=True)
        _publisher.start()


# --- another replica's followers ----------------------------------------------------------------------------
def _status(value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in value):
        raise ValueError("status")
    return [(label, text) for label, text in value]


def _meta(text: bytes) -> dict[str, object]:
    """A room's meta, checked: the shapes ``Room.wire`` writes, else ValueError."""
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise ValueError("meta")
    versions, note, rows = meta.get("versions"), meta.get("note"), meta.get("rows")
    if not (isinstance(versions, dict) and all(isinstance(g, str) and type(v) is int for g, v in versions.items())
            and isinstance(rows, str) and isinstance(json.loads(rows), list)
            and isinstance(meta.get("label"), str) and isinstance(meta.get("preset"), (str, type(None)))
            and (note is None or (isinstance(note, list) and len(note) == 2 and note[0] in ("info", "warning")
                                  and isinstance(note[1], str)))):
        raise ValueError("meta")
    return {**meta, "status": _status(meta.get("status")), "class": roster.Orders.from_json(meta.get("class"))}


def _group(text: bytes) -> str:
    """One chart group's figures (JSON of key -> figure, without its braces), checked."""
    inner = text.decode()
    figures = json.loads("{" + inner + "}")
    if not all(isinstance(f, dict) and isinstance(f.get("data"), list) and isinstance(f.get("layout"), dict)
               for f in figures.values()):
        raise ValueError("group")
    return inner


class Mirror:
    """A room published by another replica, as this replica's followers see it: the same ``note``,
    ``wire`` and ``copy`` as a local room, read from Redis at most once per FOLLOW_TICK."""

    def __init__(self, code: str, r: redis.Redis) -> None:
        self.code, self._r = code, r
        self._board = Board(shared=True)
        self._versions: dict[str, int] = {}
        self._meta: dict[str, object] | None = None
        self._trouble: tuple[str, str] | None = None   # LOST or UNREADABLE, until a read succeeds
        self._lost_at = -float("inf")                  # when Redis was last out of reach
        self.gone: str | None = None                   # why the room is no more
        self._lock = threading.Lock()
        self._read_at = self.used_at = -float("inf")

    def refresh(self) -> None:
        """Read the room, at most once per FOLLOW_TICK."""
        with self._lock:
            now = time.monotonic()
            self.used_at = now
            if now - self._read_at < FOLLOW_TICK or self.gone is not None:
                return
            self._read_at = now
            try:
                self._read()
                self._trouble = None
            except (redis.ConnectionError, redis.TimeoutError):
                self._trouble, self._lost_at = LOST, now
            except (redis.RedisError, ValueError, UnicodeDecodeError) as e:   # WRONGTYPE, a bad size, bad JSON
                log.warning("room %s: frame refused: %s", self.code, e)
                self._trouble = UNREADABLE

    def _read(self) -> None:
        key = _key(self.code)
        size = self._r.hstrlen(key, "meta")
        if size == 0 and time.monotonic() - self._lost_at < ROOM_TTL:   # Redis is back, empty: not republished yet
            raise redis.ConnectionError("the room is not published again yet")
        if size == 0:
            why = self._r.get(_closed_key(self.code))
            self.gone = why.decode(errors="replace")[:MAX_WHY] if why else SERVER_STOPPED
            return
        if size > MAX_META:
            raise ValueError(f"meta of {size} bytes")
        meta = _meta(self._r.hget(key, "meta") or b"")
        versions: dict[str, int] = meta["versions"]   # type: ignore[assignment]
        due = [g for g, v in versions.items() if self._versions.get(g) != v]
        if due:
            pipe = self._r.pipeline(transaction=False)
            for g in due:
                pipe.hstrlen(key, f"g:{g}")
            sizes = pipe.execute()
            if any(s == 0 or s > MAX_GROUP for s in sizes):
                raise ValueError(f"chart groups of {sizes} bytes")
            texts = self._r.hmget(key, [f"g:{g}" for g in due])
            groups = {g: (versions[g], _group(t or b"")) for g, t in zip(due, texts, strict=True)}
        else:
            groups = {}
        self._board.load(meta["status"], meta["rows"], groups)   # type: ignore[arg-type]
        self._versions.update({g: versions[g] for g in due})
        self._meta = meta

    @property
    def read_once(self) -> bool:
        """Whether a frame of the room was ever read here."""
        return self._meta is not None

    @property
    def label(self) -> str:
        return str(self._meta["label"]) if self._meta else ""

    def note(self) -> tuple[str, str] | None:
        """What followers are told: the teacher's replica's note, or why this replica cannot follow it just now."""
        if self._trouble is not None:
            return self._trouble
        note = self._meta.get("note") if self._meta else None
        return (note[0], note[1]) if note else None

    def wire(self) -> tuple[dict[str, object], dict[str, tuple[int, str]], int]:
        """As ``Room.wire``, what this replica's followers are shown: the meta (status, layout, group versions,
        note), every group's (version, figures JSON), and no step (-1)."""
        note = self.note()
        with self._lock:
            board = self._board
            meta = {"status": board.status, "rows": board.rows, "note": note,
                    "versions": {g: v for g, (v, _) in board.groups.items()}}
            return meta, dict(board.groups), -1

    @property
    def orders(self) -> roster.Orders:
        return self._meta["class"] if self._meta else roster.Orders()   # type: ignore[return-value]

    def join_class(self, seat: ClassSeat) -> int:
        """Seat a student of this replica in the class (its cards go through Redis, renewed by this replica while
        the student's page is connected): its number; RoomError when the class is full or Redis cannot count it."""
        if not seat.number and max(self.orders.size, remote_seats(self.code)) >= ac.limits.MAX_CLASS:
            raise RoomError(roster.full())   # the whole class as the teacher's replica last counted it, or more
        number = seat.number or next_number(self.code)
        if number is None:
            raise RoomError("rooms on the other servers of this class are out of reach just now: try again shortly")
        _seats[seat.id] = seat
        return number

    def post_card(self, card: roster.Card) -> bool:
        """Post a card for the teacher's replica (True: a card that does not reach Redis is posted again with the
        next one)."""
        with contextlib.suppress(redis.RedisError):
            _post(self._r, self.code, card)
        return True

    def leave_class(self, seat: str) -> None:
        _seats.pop(seat, None)
        with contextlib.suppress(redis.RedisError):
            self._r.hdel(_class_key(self.code), seat)

    def copy(self) -> tuple[ac.TrainingRun, str | None]:
        """The room's run as last published (at most RUN_EVERY seconds old while it trains), checked as any run
        file is; RoomError when there is none or it cannot be read."""
        try:
            size = self._r.hstrlen(_key(self.code), "run")
            if not 0 < size <= ac.limits.MAX_RUN_BYTES:
                raise RoomError("the teacher's run is not available to copy yet: try again in a few seconds")
            run = ac.TrainingRun.load(*unpack_run(self._r.hget(_key(self.code), "run") or b""))
        except (redis.RedisError, ac.ConfigError) as e:
            raise RoomError(f"the teacher's run could not be copied ({e})") from None
        preset = self._meta.get("preset") if self._meta else None
        return run, preset if isinstance(preset, str) else None


_mirrors: dict[str, Mirror] = {}
_mirrors_lock = threading.Lock()


def find(code: str) -> Mirror | None:
    """The mirror of room ``code`` published by another replica (one per code on this replica), read afresh;
    None without Redis or when Redis has no such room; RoomError when it has closed or cannot be reached."""
    r = client()
    if r is None:
        return None
    with _mirrors_lock:
        now = time.monotonic()
        for old in [c for c, m in _mirrors.items() if now - m.used_at > KEEP_MIRROR]:
            del _mirrors[old]
        mirror = _mirrors.get(code)
        if mirror is None:
            mirror = _mirrors[code] = Mirror(code, r)
    mirror.refresh()
    if mirror.gone is not None:
        if not mirror.read_once:   # never followed here: forgotten at once
            with _mirrors_lock:
                _mirrors.pop(code, None)
            if mirror.gone == SERVER_STOPPED:
                return None
        raise RoomError(f"room {code} has closed: {mirror.gone}")
    if not mirror.read_once:
        with _mirrors_lock:
            _mirrors.pop(code, None)
        raise RoomError("rooms on the other servers of this class are out of reach just now: try again shortly"
                        if mirror.note() == LOST else f"room {code} sends frames this app cannot read")
    return mirror
