"""Rooms through Redis (ui/classroom/room_bus.py), in one process against a real redis-server: a room published by
"the teacher's replica" (a Room that is not in this process's registry) is followed through a Mirror exactly as a
local room is; Take a copy comes through Redis; a follower's page only ever reads Redis; a closed or expired room
says why; a lost Redis says so and the room comes back with it; hostile or huge entries are refused unread, and a
hostile chart group's name writes no file."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
import redis

import adjoint_core as ac
from apptest_helpers import app, run_of
from ui.classroom import room_bus, room_files, rooms, roster

READS = {"hstrlen", "hget", "hmget", "get", "exists"}
CONNECT = {"client|setinfo", "hello", "ping"}


@pytest.fixture
def bus(redis_server, monkeypatch):
    """Redis configured for this process; every read of a mirror goes to Redis (no tick)."""
    monkeypatch.setenv(room_bus.URL_ENV, redis_server.url)
    monkeypatch.setattr(room_bus, "_client", None)
    monkeypatch.setattr(room_bus, "_mirrors", {})
    monkeypatch.setattr(room_bus, "FOLLOW_TICK", 0.0)
    monkeypatch.setattr(rooms, "FOLLOW_TICK", 0.0)
    return room_bus.client()


def connected() -> bool:
    return True


@pytest.fixture
def remote(bus):
    """A room of another replica: built here, published to Redis, not in this process's registry."""
    room = rooms.Room("K7QXM", connected)
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(3)
    room.attach(run, None, "wave2d-relu")
    done = room_bus._Published()
    room_bus.publish(bus, room, done)
    room.done = done
    return room


def command_counts(r: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in r.info("commandstats").items()}


def test_a_mirror_draws_what_the_teachers_replica_built(bus, remote):
    mirror = rooms.find_room(remote.code.lower())
    assert isinstance(mirror, room_bus.Mirror)
    (here, here_groups, _), (there, there_groups, _) = mirror.wire(), remote.wire()
    assert here_groups == there_groups and here["rows"] == there["rows"] and here["versions"] == there["versions"]
    assert here["status"] == there["status"]
    assert mirror.note() == remote.note() == ("info", "The teacher's run is paused: the charts show it as it is now.")
    before = mirror.wire()[1]
    remote.run.run_steps(1)
    room_bus.publish(bus, remote, remote.done)
    rooms.find_room(remote.code)
    after = mirror.wire()[1]
    assert {g for g in after if after[g] != before[g]} == {"fast"}, "only the groups that changed"
    assert dict(mirror.wire()[0]["status"])["Step"] == "4"


def test_take_a_copy_on_another_replica_is_the_teachers_run_bit_for_bit(bus, remote):
    run, preset = rooms.find_room(remote.code).copy()
    assert preset == "wave2d-relu" and run.step_count == 3
    assert np.array_equal(run.net.theta, remote.run.net.theta)
    follower = app({"follow": remote.code})
    follower.button(key="btn_take_copy").click().run()
    assert not follower.exception and run_of(follower).step_count == 3
    assert np.array_equal(run_of(follower).net.theta, remote.run.net.theta)


class Student:
    """A joined student of this replica, as join.py's seat is to the class."""

    def __init__(self, code: str, seat: str) -> None:
        self.id, self.code, self.number, self.card = seat, code, 0, None

    def connected(self) -> bool:
        return True

    def post(self, room: room_bus.Mirror) -> None:
        self.card = roster.Card(self.id, self.number, "", {}, 0, math.nan, (), (), math.nan, False, True,
                                roster.clock())
        room.post_card(self.card)


def test_a_full_class_counts_each_student_of_another_replica_once(bus, remote, monkeypatch):
    monkeypatch.setattr(ac.limits, "MAX_CLASS", 3)
    mirror = rooms.find_room(remote.code)
    students = [Student(remote.code, f"seat {i}") for i in range(4)]
    for student in students[:2]:
        student.number = mirror.join_class(student)
        student.post(mirror)
    assert len(remote.cards()) == 2   # the teacher's Class page counts them ...
    room_bus.publish(bus, remote, remote.done)
    assert rooms.find_room(remote.code).orders.size == 2    # ... and every replica reads the count
    students[2].number = mirror.join_class(students[2])   # 2 in the class, not 2 counted twice
    students[2].post(mirror)
    assert [s.number for s in students[:3]] == [1, 2, 3]
    with pytest.raises(rooms.RoomError, match="the class is full"):
        mirror.join_class(students[3])


def test_no_card_goes_into_a_class_that_has_closed(bus, remote):
    mirror = rooms.find_room(remote.code)
    student = Student(remote.code, "seat 0")
    student.number = mirror.join_class(student)
    student.post(mirror)
    assert bus.exists(room_bus._class_key(remote.code))
    room_bus.announce_closed(remote.code, "the teacher closed it")
    mirror.post_card(student.card)    # a page that has not yet seen the closing
    room_bus.renew_seats(bus)         # this replica's renewal of its seats
    assert not bus.exists(room_bus._class_key(remote.code)), "Redis holds nothing of a closed class"
    assert student.id not in room_bus._seats


def test_a_followers_page_only_reads_redis(bus, remote):
    bus.config_resetstat()
    follower = app({"follow": remote.code})
    for _ in range(3):
        follower.run()
    follower.button(key="btn_take_copy").click().run()
    assert not follower.exception
    used = set(command_counts(bus))
    assert used & READS and used <= READS | CONNECT | {"config|resetstat"}, used


def test_a_closed_room_says_why_on_every_replica(bus, remote):
    mirror = rooms.find_room(remote.code)
    room_bus.announce_closed(remote.code, "the teacher closed it")
    with pytest.raises(rooms.RoomError, match=f"room {remote.code} has closed: the teacher closed it"):
        rooms.find_room(remote.code)
    assert mirror.gone == "the teacher closed it"
    assert bus.keys("abp:room:*") == [], "Redis holds nothing of a closed room but why it closed"


def test_a_room_whose_replica_stopped_publishing_expires_and_its_followers_are_told(bus, remote):
    assert bus.pttl(room_bus._key(remote.code)) <= room_bus.ROOM_TTL * 1000
    follower = app({"follow": remote.code})
    bus.delete(room_bus._key(remote.code))   # what its expiry does ROOM_TTL s after its replica died
    follower.run()
    assert any(f"room {remote.code} has closed: {room_bus.SERVER_STOPPED}" in w.value for w in follower.warning)


def test_a_lost_redis_is_told_and_the_room_comes_back_with_it(bus, remote, redis_server):
    follower = app({"follow": remote.code})

    def told() -> str:   # what the follower's page is told, as its room's head carries it
        note = rooms.find_room(remote.code).wire()[0]["note"]
        return note[1] if note else ""
    redis_server.stop()
    follower.run()
    assert told().startswith("Room connection lost") and not follower.exception
    with pytest.raises(redis.RedisError):   # the publisher's loop catches this and publishes in full next time
        room_bus.publish(bus, remote, remote.done)
    fresh = rooms.Room("ZZZZZ", connected)
    with pytest.raises(rooms.RoomError, match="out of reach"):
        rooms.find_room(fresh.code)
    redis_server.start()   # empty: until the teacher's replica publishes everything again, the room is not gone
    follower.run()
    assert told().startswith("Room connection lost")
    assert not any("has closed" in w.value for w in follower.warning)
    room_bus.publish(bus, remote, room_bus._Published())
    follower.run()
    assert not follower.exception and "connection lost" not in told()


@pytest.mark.parametrize("spoil", ["wrong type", "huge meta", "bad meta", "huge group", "bad group"])
def test_hostile_or_huge_entries_are_refused_unread(bus, remote, spoil):
    key = room_bus._key(remote.code)
    mirror = rooms.find_room(remote.code)
    good = mirror.wire()[:2]
    meta = json.loads(bus.hget(key, "meta"))
    meta["versions"]["fast"] += 1000
    if spoil == "wrong type":
        bus.delete(key)
        bus.set(key, "x")
    elif spoil == "huge meta":
        bus.hset(key, "meta", b"[" * (100 * 2**20))
    elif spoil == "bad meta":
        bus.hset(key, "meta", json.dumps({**meta, "status": "<script>"}))
    else:
        bus.hset(key, mapping={"meta": json.dumps(meta),
                               "g:fast": b" " * (100 * 2**20) if spoil == "huge group" else '"loss_chart":[1]'})
    bus.config_resetstat()
    rooms.find_room(remote.code)
    assert mirror.note() == room_bus.UNREADABLE
    assert mirror.wire()[1] == good[1] and mirror.wire()[0]["status"] == good[0]["status"], "the last good frame stays"
    if spoil.startswith("huge"):   # the meta is read with HGET, chart groups with HMGET
        reader = "hget" if spoil == "huge meta" else "hmget"
        assert reader not in command_counts(bus), "a field too large is never read"
    follower = app({"follow": remote.code})
    assert not follower.exception


def test_a_hostile_group_name_writes_no_file(bus, remote, tmp_path, monkeypatch):
    monkeypatch.setattr(room_files, "FOLDER", tmp_path / "rooms")
    key = room_bus._key(remote.code)
    meta = json.loads(bus.hget(key, "meta"))
    meta["versions"]["../../evil"] = 1
    bus.hset(key, mapping={"meta": json.dumps(meta), "g:../../evil": '"evil":{"data":[],"layout":{}}'})
    files = room_files.Files(remote.code)
    (tmp_path / "rooms").mkdir()
    files.write(rooms.find_room(remote.code), 0.25)
    head = json.loads(gzip.decompress((files.folder / room_files.HEAD).read_bytes()))
    assert "../../evil" not in head["versions"] and "evil" not in head["charts"]
    assert not list(tmp_path.rglob("*evil*")), "no file of that name, anywhere"


def test_a_hostile_entry_for_a_new_code_is_refused_with_a_message(bus):
    bus.set(room_bus._key("QQQQQ"), "x")
    follower = app({"follow": "QQQQQ"})
    assert not follower.exception
    assert any("room QQQQQ sends frames this app cannot read" in w.value for w in follower.warning)


def test_a_copy_refuses_a_run_that_is_not_a_run_file(bus, remote):
    bus.hset(room_bus._key(remote.code), "run", b"PK\x03\x04 not a zip")
    with pytest.raises(rooms.RoomError, match="could not be copied"):
        rooms.find_room(remote.code).copy()


def test_without_redis_rooms_stay_in_their_process(monkeypatch):
    monkeypatch.delenv(room_bus.URL_ENV, raising=False)
    monkeypatch.setattr(room_bus, "_client", None)
    assert room_bus.client() is None and room_bus.find("K7QXM") is None and room_bus.claim("K7QXM")
