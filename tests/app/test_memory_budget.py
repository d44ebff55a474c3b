"""The memory budget (ui/services/memory.py): what it reads and measures, and a Play refused on a server near it
while Step, Epoch and the runs already playing carry on; and the disconnected sessions dropped once past their
time to live (streamlit_private.drop_expired_sessions)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import SimpleNamespace
from unittest import mock

import pytest
from streamlit.runtime.caching.ttl_cache import TTLCache

from apptest_helpers import app, run_of, step_count
from ui import streamlit_private
from ui.services import memory

FULL = "This server is full"


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.parametrize(("value", "budget"), [(None, 600.0), ("250", 250.0), ("1.5", 1.5), ("lots", 600.0),
                                               ("0", 600.0), ("-20", 600.0)])
def test_the_budget_comes_from_the_environment_or_the_default(monkeypatch, value, budget):
    if value is None:
        monkeypatch.delenv(memory.BUDGET_ENV, raising=False)
    else:
        monkeypatch.setenv(memory.BUDGET_ENV, value)
    assert memory.budget_mb() == budget


def test_used_memory_counts_this_process_and_its_children():
    alone = memory.used_mb()
    assert alone >= memory._rss_kb("self") / 1024 > 10
    child = subprocess.Popen([sys.executable, "-c", "import sys; b = bytearray(200 * 2**20); sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while memory._rss_kb(child.pid) < 150 * 1024 and time.monotonic() < deadline:   # it fills its 200 MB
            time.sleep(0.02)
        assert memory.used_mb() >= alone + 150
    finally:
        child.communicate(b"")


def test_room_to_play_follows_the_budget(monkeypatch):
    used = memory.used_mb()
    monkeypatch.setenv(memory.BUDGET_ENV, str(used / memory.NEAR + 100))
    assert memory.room_to_play()
    monkeypatch.setenv(memory.BUDGET_ENV, str(used))   # already past NEAR of it
    assert not memory.room_to_play()


def test_play_on_a_full_server_says_so_and_step_still_works(monkeypatch):
    at = app()
    monkeypatch.setenv(memory.BUDGET_ENV, "1")   # every process is over 1 MB
    at.button(key="btn_play").click().run()
    assert not at.exception
    assert at.session_state["playing"] is False and "trainer" not in at.session_state
    assert at.button(key="btn_play").label == "Play"
    [message] = [w for w in warnings(at) if FULL in w]
    assert "1 MB memory budget" in message and "step by hand" in message and "follow the teacher" in message
    at.button(key="btn_step").click().run()
    assert step_count(at) == 1 and run_of(at).step_count == 1
    assert not any(FULL in w for w in warnings(at))   # said once, on the Play that was refused
    at.button(key="btn_epoch").click().run()
    assert run_of(at).step_count == 1 + run_of(at).steps_per_epoch


def test_a_run_already_playing_keeps_playing_when_the_server_fills(monkeypatch):
    at = app()
    at.button(key="btn_play").click().run()
    assert at.session_state["playing"] is True
    trainer = at.session_state["trainer"]
    monkeypatch.setenv(memory.BUDGET_ENV, "1")
    at.run()   # a live frame on a server now over its budget
    assert at.session_state["playing"] is True and at.session_state["trainer"] is trainer and trainer.alive
    assert not any(FULL in w for w in warnings(at))
    other = app()
    other.button(key="btn_play").click().run()   # a new Play is refused meanwhile
    assert other.session_state["playing"] is False
    assert any(FULL in w for w in warnings(other))
    at.button(key="btn_play").click().run()   # Pause
    assert at.session_state["playing"] is False


def test_only_the_disconnected_sessions_past_their_ttl_are_shut_down(monkeypatch):
    now = [0.0]
    kept = TTLCache(maxsize=128, ttl=120, timer=lambda: now[0])   # Streamlit's store of disconnected sessions
    infos = {sid: SimpleNamespace(session=mock.Mock()) for sid in ("left early", "left too", "left late")}
    kept["left early"], kept["left too"] = infos["left early"], infos["left too"]
    now[0] = 100.0
    kept["left late"] = infos["left late"]
    now[0] = 130.0   # the first two are past their 120 s, the last is not
    manager = SimpleNamespace(_session_storage=SimpleNamespace(_cache=kept), _storage_lock=threading.Lock())
    server = SimpleNamespace(_session_mgr=manager)
    monkeypatch.setattr(streamlit_private, "runtime", SimpleNamespace(exists=lambda: True, get_instance=lambda: server))
    assert streamlit_private.drop_expired_sessions() == 2
    assert infos["left early"].session.shutdown.called and infos["left too"].session.shutdown.called
    assert not infos["left late"].session.shutdown.called and "left late" in kept
    assert streamlit_private.drop_expired_sessions() == 0


def test_without_a_server_there_is_nothing_to_drop():
    assert streamlit_private.drop_expired_sessions() == 0   # AppTest: no runtime
