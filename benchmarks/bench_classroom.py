"""Classroom load: N simulated students on one Streamlit server, no browser (issue 12, item 1).

    python benchmarks/bench_classroom.py [--students N [N ...]] [--duration S] [--url URL] [--query Q]
                                         [--spread S] [--idle] [--settle S] [--ttl S] [--reuse-server]
                                         [--root CHECKOUT] [--seed K] [--follow N [N ...]] [--join N [N ...]]
                                         [--json FILE]

Each student is a headless tab on the Train page (``streamlit_client.StreamlitClient``: a websocket client
speaking Streamlit's own protocol as the browser's frontend does); the server's CPU and memory come from /proc
(``proc_monitor``), the server itself from ``local_server``.

A class: the server (started here with ``streamlit run app.py`` on a free loopback port unless ``--url``) gets
one page load first (the teacher checks the app), then every student opens the page (``?epochs=10000`` by
default, so Play runs until Pause), waits until all have loaded, presses Play (spread over ``--spread`` s),
lets it play ``--duration`` s (default: 8-15 s at random for each student), and presses Pause (once the button
says Pause). Per student: time to the first page (connect to the first finished full run that drew charts),
frames per second (finished runs that drew the Step metric while playing: an st.metric, or a [label, value]
pair in a custom component's JSON data), training steps per second from the Step metric of those frames (and,
as trained/s, from the paused page's Step over Play click to Pause ack), and the Pause acknowledgement (Pause
click to a Play button coming back). For the server: CPU seconds of its process tree (the process and every
descendant, /proc) and of the server process alone from the first Play to the last Pause, per live frame of
all students, and the tree's RSS (and the server process's own) before the students, at its peak and after they
leave (and ``--settle`` s later, with one more page load halfway: a disconnected session is dropped ``--ttl`` s
after it left, within the 10 s of the server's memory thread, which then gives freed memory back).
Before the class, the teacher loads the page and plays two seconds (the server warm). ``--idle``: instead of
Pause, the students stop sending timer reruns (as hidden tabs do), and the harness reports how long the
process tree takes to go idle (training stopped).  ``--follow N``: a teacher opens
a room (sidebar, "Open a room") and plays while N followers (``?follow=CODE``) watch it; the table's
student 0 is the teacher.  ``--join N``: a teacher opens a room and its Class page, and a class of N joins it
(``?join=CODE``) and plays as above; the report adds the Class page's updates per second while they played.
Only loopback servers are accepted; every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.local_server import Server  # noqa: E402
from benchmarks.proc_monitor import IDLE_CORES, IDLE_WINDOW, TreeMonitor, listener_pid, load_average  # noqa: E402
from benchmarks.streamlit_client import Finished, HttpConnection, StreamlitClient, whole_number, ws_url_of  # noqa: E402

LOAD_TIMEOUT = 180.0      # s: every student's first page
PAUSE_TIMEOUT = 60.0      # s: a Play button back after Pause
IDLE_TIMEOUT = 60.0       # s: the server tree idle after the timers stop


# --- one student: a headless tab on the Train page -------------------------------------------------------

@dataclasses.dataclass
class StudentResult:
    index: int
    first_page_s: float | None = None   # connect -> first finished full run with charts
    play_s: float = 0.0                 # Play click -> Pause click (or timers stopped)
    frames: int = 0                     # finished runs that drew the Step metric while playing
    dropped: int = 0                    # runs while playing whose output the server dropped unsent (finished
                                        # early: the next run of the same fragment started before it was sent)
    frames_per_s: float = 0.0
    step_at_play: int | None = None
    step_at_end: int | None = None      # Step metric of the last frame
    steps_per_s: float = 0.0            # (step_at_end - step_at_play) / (last frame - Play click)
    pause_ack_s: float | None = None    # Pause click -> a Play button back
    step_after_pause: int | None = None  # Step metric of the paused page
    trained_steps_per_s: float | None = None   # (step_after_pause - step_at_play) / (Play click -> Pause ack)
    shared_steps_per_s: float | None = None    # from the frames while the whole class played (see _shared_rates)
    stopped_by_itself_s: float | None = None   # a Play button came back before Pause, this long after Play
    cache_refs: int = 0                 # ForwardMsgs the server sent as references to the cache
    mb_received: float = 0.0
    error: str = ""



class Student(StreamlitClient):
    """One simulated browser tab on the Train page: Play, Pause or a hidden tab, a follower's watch; its
    figures in ``result``."""

    def __init__(self, index: int, ws_url: str, query: str, widget_states: bool = True) -> None:
        super().__init__(ws_url, query, metric="Step", widget_states=widget_states)
        self.result = StudentResult(index)
        self.play_label = ""                             # what the Play/Pause button says now
        self.t_play = self.t_pause = 0.0
        self.room_code: str | None = None  # a teacher's room, once its sidebar shows the code
        self.frames_path: str | None = None   # a follower's: the URL path of its room's files
        self.fetcher: asyncio.Task | None = None

    # what the page shows

    def on_element(self, kind: str, w, fragment_id: str) -> None:
        if kind == "button" and w.label in ("Play", "Pause"):
            if w.label == "Play" and self.play_label == "Pause":
                self._play_button_back()
            self.play_label = w.label
        elif kind == "markdown" and (code := re.search(r"Room code \*\*(\w+)\*\*", w.body)):
            self.room_code = code.group(1)
        elif kind == "bidi_component" and w.WhichOneof("data") == "bytes" and b'"frames"' in w.bytes:
            self.frames_path = json.loads(w.bytes)["frames"]

    def on_metric(self, value: int) -> None:
        if self.result.pause_ack_s is not None and self.result.step_after_pause is None:
            self.result.step_after_pause = value

    def on_finished(self, status: int, now: float) -> None:
        if status == Finished.FINISHED_SUCCESSFULLY and self.charts_seen and self.result.first_page_s is None:
            self.result.first_page_s = now - self.t_connect

    def _play_button_back(self) -> None:
        now = time.monotonic()
        if self.t_pause and self.result.pause_ack_s is None:
            self.result.pause_ack_s = now - self.t_pause
        elif self.counting and self.result.stopped_by_itself_s is None:
            self.result.stopped_by_itself_s = now - self.t_play

    # the student's actions

    async def load(self, timeout: float, follower: bool = False) -> bool:
        """Open the page; True once its first page (with charts and a Play button, or a follower's board and the
        room's first frame) is complete."""
        if not await self.connect(timeout):
            return False
        ok = await self.wait_until(lambda: self.result.first_page_s is not None
                                   and (follower or "Play" in self.buttons),
                                   timeout - (time.monotonic() - self.t_connect))
        if not ok:
            self.fail("no first page" + (" (connection closed)" if self.closed else f" in {timeout:.0f} s"))
        elif follower and self.frames_path is not None:   # (an app whose followers' frames are script runs: none)
            http_url = self.ws_url.replace("ws", "http", 1).removesuffix("/_stcore/stream")
            self.fetcher = asyncio.create_task(self._fetch_frames(HttpConnection(http_url)))
            deadline = time.monotonic() + timeout
            while self.value is None and not self.fetcher.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self.value is None:
                self.fail(self.error or f"no frame of the room in {timeout:.0f} s")
                return False
        return ok

    async def _fetch_frames(self, http: HttpConnection) -> None:
        """A follower's board: the room's head every ``every`` seconds, and the chart groups it has neither drawn
        nor found in the head; a head with a new status is a frame (while counting)."""
        drawn: dict[str, int] = {}
        status = None
        try:
            while True:
                started = time.monotonic()
                code, body = await http.get(self.frames_path + "head.json.gz")
                if code != 200:
                    self.fail(f"the room's head: HTTP {code}")
                    return
                head = json.loads(gzip.decompress(body))
                have = {fig["v"] for fig in head["charts"].values()}
                for group, v in head["versions"].items():
                    if drawn.get(group) != v and v not in have:
                        code, _ = await http.get(f"{self.frames_path}{group}-{v}.json.gz")
                        if code != 200:
                            continue
                    drawn[group] = v
                if head["status"] != status:
                    status = head["status"]
                    self.value = whole_number(dict(status).get("Step"))
                    if self.counting:
                        self.frames.append((time.monotonic(), self.value))
                await asyncio.sleep(max(0.0, head["every"] * random.uniform(0.9, 1.1) - (time.monotonic() - started)))
        except (OSError, ValueError, KeyError, asyncio.IncompleteReadError) as e:
            self.fail(f"the room's frames: {e!r}"[:300])
        finally:
            self.mb_received += http.bytes_in / 1e6
            await http.close()

    async def session(self, delay: float, duration: float, idle: bool) -> None:
        """Play after delay, for duration; then Pause (and wait for Play back), or only stop the timers (idle)."""
        await asyncio.sleep(delay)
        self.result.step_at_play = self.value
        self.t_play, self.counting = time.monotonic(), True
        try:
            await self.click("Play")
            await asyncio.sleep(duration)
            self.counting = False
            end = time.monotonic()
            if idle:
                self.hidden = True
            elif self.result.stopped_by_itself_s is None:
                await self._pause()
        except ConnectionClosed as e:
            self.fail(f"connection closed: {e}")
            end = time.monotonic()
        self.counting = False
        self._summarise(end)

    async def watch(self, duration: float) -> None:
        """A follower: count the room's frames for duration seconds."""
        self.result.step_at_play = self.value
        self.t_play, self.counting = time.monotonic(), True
        await asyncio.sleep(duration)
        self.counting = False
        self._summarise(time.monotonic())

    async def _pause(self) -> None:
        """Press Pause (once the button says so); wait for the paused page (a Play button and its Step metric)."""
        if not await self.wait_until(lambda: self.play_label == "Pause", PAUSE_TIMEOUT):
            self.fail(f"no Pause button within {PAUSE_TIMEOUT:.0f} s of play")
            return
        self.t_pause = time.monotonic()
        await self.click("Pause")
        if not await self.wait_until(lambda: self.result.step_after_pause is not None, PAUSE_TIMEOUT):
            self.fail(f"no paused page in {PAUSE_TIMEOUT:.0f} s after Pause")

    def _summarise(self, end: float) -> None:
        r = self.result
        r.play_s = end - self.t_play
        r.frames, r.dropped = len(self.frames), self.dropped
        r.frames_per_s = r.frames / r.play_s if r.play_s > 0 else 0.0
        r.cache_refs = self.cache.hits
        steps = [(t, s) for t, s in self.frames if s is not None]
        if steps and r.step_at_play is not None:
            r.step_at_end = steps[-1][1]
            r.steps_per_s = (r.step_at_end - r.step_at_play) / max(steps[-1][0] - self.t_play, 1e-9)
        if r.step_after_pause is not None and r.step_at_play is not None:
            trained_s = self.t_pause + r.pause_ack_s - self.t_play
            r.trained_steps_per_s = (r.step_after_pause - r.step_at_play) / trained_s

    async def close(self) -> None:
        if self.fetcher is not None:
            self.fetcher.cancel()
            await asyncio.gather(self.fetcher, return_exceptions=True)
        await super().close()
        self.result.error, self.result.mb_received = self.error, self.mb_received


class ClassTeacher(Student):
    """The teacher of a class on the Class page: the page's updates (its fragment's finished runs) while
    ``counting``, and the class's size as the page says it."""

    def __init__(self, index: int, ws_url: str, query: str) -> None:
        super().__init__(index, ws_url, query)
        self.updates: list[float] = []
        self.class_size = -1

    def on_element(self, kind: str, w, fragment_id: str) -> None:
        super().on_element(kind, w, fragment_id)
        if kind == "markdown" and (size := re.search(r"\*\*(\d+)\*\* students? in class", w.body)):
            self.class_size = int(size.group(1))

    def on_finished(self, status: int, now: float) -> None:
        super().on_finished(status, now)
        if self.counting and status == Finished.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.updates.append(now)


# --- a class -------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class ClassResult:
    students: list[StudentResult]
    n: int
    server_pid: int | None
    load_average: str
    play_wall_s: float = 0.0              # first Play click -> last Pause click (or timers stopped)
    frames_total: int = 0
    server_cpu_tree_s: float | None = None
    server_cpu_own_s: float | None = None
    cpu_per_frame_tree_ms: float | None = None
    cpu_per_frame_own_ms: float | None = None
    rss_before_mb: float | None = None
    rss_peak_mb: float | None = None
    rss_after_mb: float | None = None
    rss_settled_mb: float | None = None   # --settle s after the students left
    server_rss_mb: tuple[float | None, ...] = ()   # the server process alone: before, peak, after (, settled)
    settle_s: float = 0.0
    idle: bool = False                    # --idle: timers stopped instead of Pause
    idle_after_s: float | None = None     # --idle: last timer stopped -> the tree idle (None: not within timeout)
    class_updates_per_s: float | None = None   # --join: the teacher's Class page, while the students played
    class_size_seen: int | None = None         # --join: the most students the Class page said were in class
    harness_cpu_s: float = 0.0            # this process, during play



async def _teacher_load(ws_url: str, query: str) -> None:
    """The teacher checks the app before the class: a page load and two seconds of Play (imports, caches and
    the training process warm, so the class's RSS figures compare like with like)."""
    teacher = Student(-1, ws_url, query)
    if await teacher.load(LOAD_TIMEOUT):
        await teacher.session(0.0, 2.0, False)
    await teacher.close()


@dataclasses.dataclass
class _Measured:
    """One measured class: the pages to close at the end, those whose results are reported, in order."""
    ws_url: str
    result: ClassResult
    monitor: TreeMonitor
    pages: list[Student] = dataclasses.field(default_factory=list)
    counted: list[Student] = dataclasses.field(default_factory=list)


@contextlib.asynccontextmanager
async def _measured(url: str, n: int, query: str, server_pid: int | None,
                    **fields: object) -> AsyncIterator[_Measured]:
    """The teacher's warm-up, then the server watched (RSS, CPU) while the class runs; at the end every page is
    closed and the result gets the counted pages' figures, memory and CPU per frame."""
    ws_url = ws_url_of(url)
    await _teacher_load(ws_url, query)
    monitor = TreeMonitor(server_pid)
    monitor.sample()
    m = _Measured(ws_url, ClassResult([], n, server_pid, load_average(), rss_before_mb=monitor.last_rss(), **fields),
                  monitor)
    monitor.start()
    try:
        yield m
    finally:
        await asyncio.gather(*(s.close() for s in m.pages))
        await monitor.stop()
    m.result.students = [s.result for s in m.counted]
    m.result.frames_total = sum(s.frames for s in m.result.students)
    _memory(m.result, monitor)
    _per_frame(m.result)


async def _run_class(url: str, n: int, durations: list[float], delays: list[float], query: str, idle: bool,
                     settle: float, server_pid: int | None, widget_states: bool) -> ClassResult:
    async with _measured(url, n, query, server_pid, settle_s=settle, idle=idle) as m:
        m.pages = m.counted = students = [Student(i + 1, m.ws_url, query, widget_states) for i in range(n)]
        loaded = await asyncio.gather(*(s.load(LOAD_TIMEOUT) for s in students))
        class_ = [s for s, ok in zip(students, loaded, strict=True) if ok]
        cpu0 = time.process_time()
        await asyncio.gather(*(s.session(delays[s.result.index - 1], durations[s.result.index - 1], idle)
                               for s in class_))
        m.result.harness_cpu_s = time.process_time() - cpu0
        _server_cpu(m.result, m.monitor, class_)
        _shared_rates(class_)
        if idle and class_:
            m.result.idle_after_s = await m.monitor.wait_idle(max(s.t_play + s.result.play_s for s in class_),
                                                              IDLE_TIMEOUT)
    result = m.result
    if settle > 0:   # halfway, a later visitor: the end of its session drops the sessions past their TTL
        await asyncio.sleep(settle / 2)
        later = Student(-2, m.ws_url, query)
        await later.load(LOAD_TIMEOUT)
        await later.close()
        await asyncio.sleep(settle / 2)
        m.monitor.sample()
        result.rss_settled_mb = m.monitor.last_rss()
        result.server_rss_mb += (m.monitor.last_rss(own=True),)
    return result


async def _open_room(teacher: Student) -> str:
    """The teacher's page loads and opens a room; its code."""
    if not await teacher.load(LOAD_TIMEOUT):
        raise RuntimeError(f"the teacher's page did not load: {teacher.error}")
    await teacher.click("Open a room")
    if not await teacher.wait_until(lambda: teacher.room_code is not None, LOAD_TIMEOUT):
        raise RuntimeError("no room code on the teacher's page")
    return teacher.room_code


async def _run_join(url: str, n: int, durations: list[float], delays: list[float], query: str,
                    server_pid: int | None) -> ClassResult:
    """A teacher opens a room and its Class page; n students join it (``?join=CODE``) and play as a class does,
    while the teacher's page counts its updates."""
    async with _measured(url, n, query, server_pid) as m:
        teacher = ClassTeacher(0, m.ws_url, query)
        m.pages = [teacher]
        code = await _open_room(teacher)
        await teacher.open_page("class")
        if not await teacher.wait_until(lambda: teacher.class_size == 0, LOAD_TIMEOUT):
            raise RuntimeError("the teacher's Class page did not load")
        m.counted = students = [Student(i + 1, m.ws_url, f"join={code}&{query}") for i in range(n)]
        m.pages += students
        loaded = await asyncio.gather(*(s.load(LOAD_TIMEOUT) for s in students))
        class_ = [s for s, ok in zip(students, loaded, strict=True) if ok]
        cpu0 = time.process_time()
        teacher.counting, t0, seen = True, time.monotonic(), []

        async def watch_size() -> None:
            while teacher.counting:
                seen.append(teacher.class_size)
                await asyncio.sleep(0.25)

        watcher = asyncio.create_task(watch_size())
        await asyncio.gather(*(s.session(delays[s.result.index - 1], durations[s.result.index - 1], False)
                               for s in class_))
        teacher.counting = False
        await watcher
        m.result.harness_cpu_s = time.process_time() - cpu0
        m.result.class_updates_per_s = len(teacher.updates) / (time.monotonic() - t0)
        m.result.class_size_seen = max(seen, default=None)
        _server_cpu(m.result, m.monitor, class_)
        _shared_rates(class_)
    return m.result


async def _run_follow(url: str, n: int, duration: float, query: str, server_pid: int | None) -> ClassResult:
    """A teacher opens a room and plays for duration seconds while n followers (``?follow=CODE``) watch."""
    async with _measured(url, n, query, server_pid) as m:
        teacher = Student(0, m.ws_url, query)
        m.pages = [teacher]
        await _open_room(teacher)
        followers = [Student(i + 1, m.ws_url, f"follow={teacher.room_code}") for i in range(n)]
        m.pages = m.counted = [teacher, *followers]
        await asyncio.gather(*(f.load(LOAD_TIMEOUT, follower=True) for f in followers))
        cpu0 = time.process_time()
        await asyncio.gather(teacher.session(0.0, duration, False), *(f.watch(duration) for f in followers))
        m.result.harness_cpu_s = time.process_time() - cpu0
        _server_cpu(m.result, m.monitor, [teacher, *followers])
    return m.result


def run_follow(url: str, n: int, duration: float = 10.0, *, query: str = "epochs=10000",
               server_pid: int | None = None) -> ClassResult:
    """A teacher playing for duration seconds with n followers of its room (students[0] is the teacher)."""
    if server_pid is None:
        server_pid = listener_pid(urllib.parse.urlsplit(url).port or 80)
    budget = 2 * LOAD_TIMEOUT + duration + 2 * PAUSE_TIMEOUT + 60
    return asyncio.run(asyncio.wait_for(_run_follow(url, n, duration, query, server_pid), budget))


def _server_cpu(result: ClassResult, monitor: TreeMonitor, class_: list[Student]) -> None:
    """Server CPU from the first Play click to the last Pause click (or timers stopped)."""
    if not class_:
        return
    t0 = min(s.t_play for s in class_)
    t1 = max(s.t_play + s.result.play_s for s in class_)
    result.play_wall_s = t1 - t0
    if monitor.samples:
        monitor.sample()
        (a0, b0), (a1, b1) = monitor.cpu_at(t0), monitor.cpu_at(t1)
        result.server_cpu_tree_s, result.server_cpu_own_s = a1 - a0, b1 - b0


def _shared_rates(class_: list[Student]) -> None:
    """Each student's training rate while every student was playing: from one second after the last Play click
    (the first to press Play train alone for a moment) to the first Pause click."""
    if not class_:
        return
    t0 = max(s.t_play for s in class_) + 1.0
    t1 = min(s.t_play + s.result.play_s for s in class_)
    for s in class_:
        s.result.shared_steps_per_s = s.steps_between(t0, t1)


def _memory(result: ClassResult, monitor: TreeMonitor) -> None:
    """The tree's peak and last RSS, and the server process's own before, peak and last."""
    result.rss_peak_mb, result.rss_after_mb = monitor.peak_rss() or None, monitor.last_rss()
    result.server_rss_mb = (monitor.samples[0][4] if monitor.samples else None, monitor.peak_rss(own=True) or None,
                            monitor.last_rss(own=True))


def _per_frame(result: ClassResult) -> None:
    if result.frames_total and result.server_cpu_tree_s is not None:
        result.cpu_per_frame_tree_ms = 1000 * result.server_cpu_tree_s / result.frames_total
        result.cpu_per_frame_own_ms = 1000 * result.server_cpu_own_s / result.frames_total


def run_class(url: str, n: int, duration: float | None = None, *, query: str = "epochs=10000", spread: float = 0.5,
              idle: bool = False, settle: float = 0.0, server_pid: int | None = None, seed: int = 0,
              join: bool = False, widget_states: bool = True) -> ClassResult:
    """One class of n students on the server at url (loopback only). duration: seconds of Play for everyone,
    or None for 8-15 s at random per student. server_pid: the server's process for the CPU and RSS figures
    (default: the process listening on the URL's port, when readable). join: the students join a teacher's
    room, whose Class page is open (``_run_join``). widget_states: False for students whose reruns carry no
    widget states (a simpler client)."""
    rng = random.Random(seed)
    durations = [duration if duration is not None else rng.uniform(8, 15) for _ in range(n)]
    delays = [rng.uniform(0, spread) for _ in range(n)]
    if server_pid is None:
        server_pid = listener_pid(urllib.parse.urlsplit(url).port or 80)
    budget = 3 * LOAD_TIMEOUT + spread + max(durations, default=0) + 2 * PAUSE_TIMEOUT + IDLE_TIMEOUT + settle + 60
    run = _run_join(url, n, durations, delays, query, server_pid) if join else \
        _run_class(url, n, durations, delays, query, idle, settle, server_pid, widget_states)
    return asyncio.run(asyncio.wait_for(run, budget))


# --- the report ----------------------------------------------------------------------------------------------

def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    return "-" if v is None else f"{v:{spec}}{unit}"


def _spread(values: list[float | None], spec: str, unit: str = "") -> str:
    xs = [v for v in values if v is not None]
    if not xs:
        return "-"
    return " / ".join(_fmt(v, spec, unit) for v in (min(xs), statistics.median(xs), max(xs)))


def report(r: ClassResult) -> None:
    """The class's table and summary lines."""
    print(f"\n== {r.n} student(s): server pid {r.server_pid}, load average {r.load_average} at the start")
    print(f"{'student':>7} {'first page':>10} {'frames/s':>8} {'steps/s':>9} {'Pause ack':>9} {'trained/s':>9} "
          f"{'frames':>6} {'dropped':>7} {'play':>6} {'refs':>5} {'MB in':>6}  note")
    for s in r.students:
        note = s.error or (f"stopped by itself {s.stopped_by_itself_s:.1f} s after Play"
                           if s.stopped_by_itself_s is not None else "")
        print(f"{s.index:>7} {_fmt(s.first_page_s, '.2f', ' s'):>10} {s.frames_per_s:>8.1f} {s.steps_per_s:>9,.0f} "
              f"{_fmt(s.pause_ack_s, '.2f', ' s'):>9} {_fmt(s.trained_steps_per_s, ',.0f'):>9} {s.frames:>6} "
              f"{s.dropped:>7} "
              f"{s.play_s:>5.1f}s {s.cache_refs:>5} "
              f"{s.mb_received:>6.1f}  {note}")
    ss = r.students
    print(f"min / median / max: first page {_spread([s.first_page_s for s in ss], '.2f', ' s')}; "
          f"frames/s {_spread([s.frames_per_s for s in ss], '.1f')}; "
          f"steps/s {_spread([s.steps_per_s for s in ss], ',.0f')}; "
          f"Pause ack {_spread([s.pause_ack_s for s in ss], '.2f', ' s')}")
    steps = [s.steps_per_s for s in ss if s.first_page_s is not None]
    ratio = (max(steps) / min(steps) if min(steps) > 0 else float("inf")) if steps else None
    trained = [s.trained_steps_per_s for s in ss if s.trained_steps_per_s is not None]
    by_pause = f" ({sum(trained):,.0f} by the paused pages' Step)" if trained else ""
    print(f"class: {sum(steps):,.0f} training steps/s in total as the frames showed them{by_pause}; max/min steps/s "
          f"ratio {_fmt(ratio, '.1f')}; {r.frames_total} live frames in {r.play_wall_s:.1f} s of play")
    shared = [s.shared_steps_per_s for s in ss if s.shared_steps_per_s is not None]
    if shared and min(shared) > 0:
        print(f"while all played: {sum(shared):,.0f} training steps/s in total, per student "
              f"{_spread(shared, ',.0f')}, max/min ratio {max(shared) / min(shared):.2f} "
              f"({len(shared)} of {len(ss)} students with frames enough to tell)")
    if r.server_cpu_tree_s is not None:
        wall = max(r.play_wall_s, 1e-9)
        print(f"server CPU during play: process tree {r.server_cpu_tree_s:.1f} s ({r.server_cpu_tree_s / wall:.2f} "
              f"cores), server process alone {r.server_cpu_own_s:.1f} s ({r.server_cpu_own_s / wall:.2f} cores); "
              f"per live frame: tree {_fmt(r.cpu_per_frame_tree_ms, '.1f', ' ms')}, "
              f"server process {_fmt(r.cpu_per_frame_own_ms, '.1f', ' ms')}")
        settled = f", {r.settle_s:g} s later {_fmt(r.rss_settled_mb, '.0f', ' MB')}" if r.settle_s else ""
        print(f"server RSS (tree): before {_fmt(r.rss_before_mb, '.0f', ' MB')}, "
              f"peak {_fmt(r.rss_peak_mb, '.0f', ' MB')}, after the students left {_fmt(r.rss_after_mb, '.0f', ' MB')}"
              f"{settled}; the server process alone {' / '.join(_fmt(v, '.0f') for v in r.server_rss_mb)} MB")
    else:
        print("server CPU and RSS: unknown (no readable server process)")
    if r.class_updates_per_s is not None:
        print(f"the teacher's Class page: {r.class_updates_per_s:.2f} updates/s while the class played; it showed "
              f"at most {_fmt(r.class_size_seen, 'd')} of the {r.n} students")
    if r.idle:
        when = f"{r.idle_after_s:.1f} s" if r.idle_after_s is not None else f"not within {IDLE_TIMEOUT:.0f} s"
        print(f"idle: the server tree used < {IDLE_CORES:g} cores over {IDLE_WINDOW:g} s {when} after the last "
              f"student stopped sending timer reruns")
    print(f"harness CPU during play: {r.harness_cpu_s:.1f} s ({r.harness_cpu_s / max(r.play_wall_s, 1e-9):.2f} cores)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, nargs="+", default=[1, 3, 10, 30], help="class sizes, run one after another")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds of Play for every student (default: 8-15 s at random for each)")
    p.add_argument("--url", help="a running server (loopback only); default: start `streamlit run app.py` here")
    p.add_argument("--query", default="epochs=10000", help="the page's URL query (default: %(default)s)")
    p.add_argument("--spread", type=float, default=0.5, help="Play clicks spread over this many seconds")
    p.add_argument("--idle", action="store_true",
                   help="stop sending timer reruns instead of Pause; report when the server tree goes idle")
    p.add_argument("--settle", type=float, default=0.0,
                   help="read the RSS again this many seconds after the class (and one later page load)")
    p.add_argument("--ttl", type=float, default=None,
                   help="server.disconnectedSessionTTL of the server started here (Streamlit's default: 120 s)")
    p.add_argument("--reuse-server", action="store_true", help="one server for every class size (default: fresh)")
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random durations and Play delays")
    p.add_argument("--follow", type=int, nargs="+", metavar="N",
                   help="instead of classes: a teacher opens a room and plays while N followers watch it")
    p.add_argument("--join", type=int, nargs="+", metavar="N",
                   help="instead of --students: N students join a teacher's room, whose Class page is open")
    p.add_argument("--no-widget-states", action="store_true",
                   help="students whose rerun requests carry no widget states (a simpler client; the clicked "
                        "button's trigger only)")
    p.add_argument("--json", metavar="FILE", help="also write every result to FILE")
    args = p.parse_args(argv)
    sizes = args.follow or args.join or args.students
    kind = "rooms with followers" if args.follow else "classes joined to a room" if args.join else "classes"
    print(f"bench_classroom: {args.url or args.root}, ?{args.query}, {kind} of {sizes}, "
          f"{os.cpu_count()} CPUs, load average {load_average()}", flush=True)
    results: list[ClassResult] = []
    server, keep_log = None, False
    try:
        for n in sizes:
            if args.url is None and (server is None or not args.reuse_server):
                if server is not None:
                    server.stop(keep_log)
                server, keep_log = Server(args.root.resolve(), ttl=args.ttl), True
            url, pid = (server.url, server.pid) if server else (args.url, None)
            if args.follow:
                r = run_follow(url, n, args.duration or 10.0, query=args.query, server_pid=pid)
            else:
                r = run_class(url, n, args.duration, query=args.query, spread=args.spread, idle=args.idle,
                              settle=args.settle, server_pid=pid, seed=args.seed, join=bool(args.join),
                              widget_states=not args.no_widget_states)
            report(r)
            results.append(r)
            keep_log = any(s.error for x in results if x.server_pid == pid for s in x.students)
    finally:
        if server is not None:
            server.stop(keep_log)
    if args.json:
        Path(args.json).write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=1))
    return 0 if all(not s.error for r in results for s in r.students) else 1


if __name__ == "__main__":
    sys.exit(main())
