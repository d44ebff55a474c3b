"""A playing page's own frames (ui/train/feeds.py): written by one thread from the trainer's run, fetched by the
page as files; a feed ends with its trainer or its page, and a page that stops beating is not synced."""

from __future__ import annotations

import gzip
import json
import threading
from types import SimpleNamespace

import pytest

import adjoint_core as ac
from ui import streamlit_private
from ui.services import frame_files
from ui.train import compare, feeds, live


class Trainer:
    """A trainer whose run trains in the test: it counts the syncs the writer makes."""

    def __init__(self) -> None:
        self.run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
        self.alive, self.finished, self.steps_per_second = True, None, 0.0
        self.lock = threading.Lock()
        self.syncs = 0

    def ask_sync(self) -> None:
        return None

    def sync(self, asked: None = None) -> None:
        self.syncs += 1


@pytest.fixture
def session(monkeypatch, tmp_path):
    """Feeds of the test's own (the writer thread never starts), written under tmp_path, for session "me"."""
    for module in (live, compare):
        monkeypatch.setattr(module, "ss", {"playing": True})
    monkeypatch.setattr(feeds, "FOLDER", tmp_path)
    monkeypatch.setattr(feeds, "_feeds", {})
    monkeypatch.setattr(feeds, "_round", 0.0)
    monkeypatch.setattr(feeds, "_writer", threading.current_thread())   # as if started: no thread in a test
    here = {"me": True}
    monkeypatch.setattr(feeds.streamlit_private, "session_id", lambda: "me")
    monkeypatch.setattr(feeds.streamlit_private, "connected", lambda s: lambda: here[s])
    return here


def head(feed: feeds.Feed) -> dict:
    return json.loads(gzip.decompress((feed.files.folder / frame_files.HEAD).read_bytes()))


def test_play_writes_the_first_frame_at_once_and_the_writer_follows_the_run(session):
    trainer = Trainer()
    path = feeds.watch(trainer)
    feed = feeds._feeds["me"]
    assert path.endswith(f"own/{feed.name}/") and trainer.syncs == 1
    assert dict(head(feed)["status"])["Step"] == "0" and head(feed)["note"] is None
    trainer.run.run_steps(3)
    feeds.write_all()
    assert trainer.syncs == 2 and dict(head(feed)["status"])["Step"] == "3"
    assert feeds.watch(trainer) == path and trainer.syncs == 2, "a beat of the same Play: the same feed"


def test_a_feed_ends_with_its_trainer_and_its_folder_goes(session):
    trainer = Trainer()
    feeds.watch(trainer)
    feed = feeds._feeds["me"]
    trainer.alive = False   # Pause, the epoch limit or divergence
    feeds.write_all()
    assert not feed.files.folder.exists(), "the page's fetch of the head gets 404 and its fragment reruns"
    assert feeds._feeds == {}


def test_a_closed_page_ends_its_feed_without_a_sync(session):
    trainer = Trainer()
    feeds.watch(trainer)
    feed = feeds._feeds["me"]
    session["me"] = False
    feeds.write_all()
    assert trainer.syncs == 1 and not feed.files.folder.exists() and feeds._feeds == {}


def test_a_page_that_stops_beating_is_not_synced_so_its_run_goes_idle(session):
    trainer = Trainer()
    feeds.watch(trainer)
    feed = feeds._feeds["me"]
    feed.beat -= feeds.BEAT_LOST * feeds.beat_every() + 1
    feeds.write_all()
    assert trainer.syncs == 1, "no sync: the training process stops the run after worker.IDLE"
    assert feeds._feeds == {"me": feed}, "kept: the page may come back"
    feeds.watch(trainer)
    feeds.write_all()
    assert trainer.syncs == 2


def test_a_new_play_starts_a_new_feed_and_ends_the_old_one(session):
    first = feeds.watch(Trainer())
    old = feeds._feeds["me"]
    second = feeds.watch(Trainer())
    assert second != first and not old.files.folder.exists() and feeds._feeds["me"].files.folder.exists()


def test_pages_are_told_when_the_class_is_full(session, monkeypatch):
    feeds.watch(Trainer())
    monkeypatch.setattr(feeds, "_round", 1.5 * feeds.FULL)   # the writer's last round of the class took 1.5 s
    feeds.write_all()
    assert head(feeds._feeds["me"])["note"] == feeds.FULL_NOTE
    assert head(feeds._feeds["me"])["every"] >= 1.2 * feeds.FULL, "no page fetches much faster than its frames come"


def test_the_live_fragment_runs_slower_when_many_pages_play(session, monkeypatch):
    assert feeds.beat_every() == feeds.BEAT_EVERY
    monkeypatch.setattr(feeds, "_feeds", {str(i): None for i in range(int(feeds.BEATS * 3))})
    assert feeds.beat_every() == pytest.approx(3.0), "all pages' fragments together run at most BEATS times a second"


def test_one_pages_trouble_does_not_stop_the_others(session, monkeypatch):
    broken, fine = Trainer(), Trainer()
    feeds.watch(broken)
    monkeypatch.setattr(feeds.streamlit_private, "session_id", lambda: "you")
    session["you"] = True
    feeds.watch(fine)
    broken.sync = lambda asked=None: 1 / 0
    fine.run.run_steps(2)
    feeds.write_all()
    assert "me" not in feeds._feeds and dict(head(feeds._feeds["you"])["status"])["Step"] == "2"


def test_the_writer_leaves_a_new_feed_to_its_first_frame(session):
    """A trainer's syncs come in order only from one syncer: a feed whose first frame watch() is still writing is
    not the writer's yet."""
    trainer = Trainer()
    feeds.watch(trainer)
    feed = feeds._feeds["me"]
    feed.files.head = ""   # as while watch() writes it
    feeds.write_all()
    assert trainer.syncs == 1 and feeds._feeds == {"me": feed}
    feed.files.head = "written"
    feeds.write_all()
    assert trainer.syncs == 2


def test_the_writer_holds_the_sessions_state_lock_while_it_draws_a_page():
    """A Pause stops the trainer from a callback, which Streamlit runs holding the session state's lock: the writer
    draws a page (taking the trainer's lock) inside ``session_context``, which takes the state's lock first, so the
    two never wait for each other."""
    lock = threading.RLock()
    context = SimpleNamespace(session_state=SimpleNamespace(_lock=lock),
                              pages_manager=SimpleNamespace(main_script_hash=""))
    with streamlit_private.session_context(context):
        assert lock._is_owned()
    assert not lock._is_owned()
