"""benchmarks/bench_classroom.py end to end: two simulated students on a real ``streamlit run app.py``, and a teacher
with two followers who fetch the room's frames over HTTP; and its parts alone: the headless client's protocol
pieces (streamlit_client.py) and the /proc sampler (proc_monitor.py).

Checks what a broken harness would get wrong (no frames, a Step metric that never moves, a Pause that is never
acknowledged, no first page, no server figures), never the numbers themselves (they depend on machine load).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import bench_classroom as bc  # noqa: E402
from benchmarks import proc_monitor as pm  # noqa: E402
from benchmarks import streamlit_client as sc  # noqa: E402
from benchmarks.local_server import Server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.mark.slow
def test_two_students_play_and_pause(server):
    r = bc.run_class(server.url, 2, duration=3.0, server_pid=server.pid)
    assert [s.error for s in r.students] == ["", ""]
    for s in r.students:
        assert s.first_page_s is not None and s.first_page_s > 0
        assert s.frames > 0 and s.frames_per_s > 0
        assert s.step_at_play is not None and s.step_at_end is not None and s.step_at_end > s.step_at_play
        assert s.steps_per_s > 0
        assert s.pause_ack_s is not None
        assert s.stopped_by_itself_s is None
    assert r.frames_total == sum(s.frames for s in r.students)
    assert r.server_cpu_tree_s > 0 and r.server_cpu_tree_s >= r.server_cpu_own_s - 0.05
    assert r.cpu_per_frame_tree_ms > 0
    assert 0 < r.rss_before_mb <= r.rss_peak_mb


@pytest.mark.slow
def test_a_class_playing_on_the_train_page_never_loads_pandas():
    """pandas with pyarrow is ~65 MB of each server process's memory; only a shown table needs it, so a class
    that loads the Train page, plays and pauses maps none of their libraries in the server or its training
    process."""
    own = Server()   # a server of its own: other tests here may show a table
    try:
        r = bc.run_class(own.url, 2, duration=2.0, server_pid=own.pid)
        assert [s.error for s in r.students] == ["", ""] and all(s.frames > 0 for s in r.students)
        maps = {pid: Path(f"/proc/{pid}/maps").read_text() for pid in pm.tree_pids(own.pid)}
    finally:
        own.stop()
    assert len(maps) >= 2, maps.keys()   # the server and its training process
    assert not any("site-packages/pandas/" in m or "site-packages/pyarrow/" in m for m in maps.values())


class RunRecorder(sc.StreamlitClient):
    """A client that keeps each run's elements: ``runs[-1]`` fills until its run finishes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[list] = [[]]

    def on_element(self, kind: str, w, fragment_id: str) -> None:
        self.runs[-1].append((kind, w.label) if kind == "button" else kind)

    def on_finished(self, status: int, now: float) -> None:
        self.runs.append([])


@pytest.mark.slow
def test_a_pause_click_riding_on_the_live_views_timer_draws_the_paused_page_once(server):
    """A browser sends a click's trigger with the next rerun it sends, often the live view's timer tick just
    before the click's own rerun of the controls: the paused page is drawn once, not by both."""
    async def scenario() -> list[list]:
        c = RunRecorder(sc.ws_url_of(server.url), query="epochs=10000")
        try:
            assert await c.connect(30)
            assert await c.wait_until(lambda: "Play" in c.buttons, 60)
            await c.click("Play")
            assert await c.wait_until(lambda: bool(c.timers), 60), c.error
            live = next(iter(c.timers))
            c.stop_timers([live])   # the ticks are sent by hand from here
            await asyncio.sleep(1.0)  # the frames in flight come in
            pause, controls = c.buttons["Pause"]
            n = len(c.runs)
            await c.rerun(live, auto=True, trigger=pause)   # the tick, carrying the click
            await c.rerun(controls, trigger=pause)          # the click's own rerun
            assert await c.wait_until(lambda: any(("button", "Play") in r for r in c.runs[n - 1:-1]), 60)
            await asyncio.sleep(2.0)  # anything drawn after it
            assert not c.error, c.error
            return c.runs[n - 1:]
        finally:
            await c.close()

    runs = asyncio.run(scenario())
    paused = [r for r in runs if "plotly_chart" in r]
    assert len(paused) == 1, runs
    assert ("button", "Play") in paused[0] and paused[0].count("plotly_chart") >= 4
    before = {e for r in runs[:runs.index(paused[0])] for e in r}
    assert before <= {"bidi_component"}, runs   # the tick: the board as it stood, or nothing (cut by the click's rerun)


@pytest.mark.slow
def test_students_whose_reruns_carry_no_widget_states_play_and_pause(server):
    r = bc.run_class(server.url, 2, duration=3.0, server_pid=server.pid, widget_states=False)
    assert [s.error for s in r.students] == ["", ""]
    assert all(s.frames > 0 and s.steps_per_s > 0 and s.pause_ack_s is not None for s in r.students)


@pytest.mark.slow
def test_two_students_join_a_class_whose_page_the_teacher_watches(server):
    r = bc.run_class(server.url, 2, duration=3.0, server_pid=server.pid, join=True)
    assert [s.error for s in r.students] == ["", ""]
    assert all(s.frames > 0 and s.pause_ack_s is not None for s in r.students)
    assert r.class_size_seen == 2, "the Class page showed both students"
    assert r.class_updates_per_s > 0


@pytest.mark.slow
def test_followers_fetch_the_rooms_frames_over_http(server):
    r = bc.run_follow(server.url, 2, 3.0, server_pid=server.pid)
    assert [s.error for s in r.students] == ["", "", ""]
    for s in r.students[1:]:   # the teacher's frames as heads with a new status, never a script run of their own
        assert s.frames > 0 and s.step_at_end > s.step_at_play and s.dropped == 0
        assert s.mb_received > 0


def test_only_loopback_servers():
    assert sc.ws_url_of("http://127.0.0.1:8501") == "ws://127.0.0.1:8501/_stcore/stream"
    assert sc.ws_url_of("http://localhost:8501/app/") == "ws://localhost:8501/app/_stcore/stream"
    for url in ("http://10.0.0.1:8501", "http://example.com", "ftp://127.0.0.1"):
        with pytest.raises(ValueError):
            sc.ws_url_of(url)


def test_widget_states_are_the_mounted_or_the_server_set_values():
    el = Element()
    el.checkbox.id, el.checkbox.default = "c", True
    assert sc.widget_state("checkbox", el.checkbox).bool_value is True
    el.checkbox.value, el.checkbox.set_value = False, True
    assert sc.widget_state("checkbox", el.checkbox).bool_value is False
    el.selectbox.id, el.selectbox.default = "s", 1
    el.selectbox.options.extend(["relu", "sigmoid"])
    assert sc.widget_state("selectbox", el.selectbox).string_value == "sigmoid"
    el.number_input.id, el.number_input.default, el.number_input.data_type = "n", 3.0, el.number_input.INT
    state = sc.widget_state("number_input", el.number_input)
    assert state.WhichOneof("value") == "int_value" and state.int_value == 3
    assert sc.widget_state("button", el.button) is None


@pytest.mark.parametrize("widget_states", [True, False])
def test_a_rerun_carries_the_widget_states_unless_the_client_sends_none(widget_states):
    sent = []

    class Socket:
        async def send(self, data: bytes) -> None:
            sent.append(BackMsg.FromString(data).rerun_script)

    c = sc.StreamlitClient("ws://127.0.0.1:1/_stcore/stream", widget_states=widget_states)
    c.ws, c.widgets["c"] = Socket(), sc.WidgetState(id="c", bool_value=True)
    asyncio.run(c.rerun("fragment", trigger="play"))
    assert [w.id for w in sent[0].widget_states.widgets] == (["c", "play"] if widget_states else ["play"])


def test_metric_found_in_a_components_json():
    el = Element()
    el.bidi_component.json = json.dumps({"status": [["Epoch", "3"], ["Step", "1,234"]], "charts": []})
    assert sc.component_metric(el.bidi_component, "Step") == 1234
    el.bidi_component.json = json.dumps([{"label": "Step", "value": 7}])
    assert sc.component_metric(el.bidi_component, "Step") == 7
    assert sc.component_metric(el.bidi_component, "Epoch") is None


def test_message_cache_resolves_references_and_expires_old_entries():
    cache = sc.MessageCache()
    full = ForwardMsg(hash="h1")
    full.metadata.cacheable = True
    full.delta.new_element.markdown.body = "cached"
    assert cache.resolve(full) is full and list(cache.entries) == ["h1"]
    ref = ForwardMsg(ref_hash="h1")
    ref.metadata.delta_path.extend([0, 4])
    got = cache.resolve(ref)
    assert got.delta.new_element.markdown.body == "cached" and list(got.metadata.delta_path) == [0, 4]
    assert cache.hits == 1
    for _ in range(3):
        cache.end_run(max_age=2, fragment_ids=[])
    assert cache.entries == {}
    with pytest.raises(RuntimeError, match="cache"):
        cache.resolve(ref)


def test_client_counts_frames_that_showed_the_metric_while_counting():
    client = sc.StreamlitClient("ws://127.0.0.1:1/_stcore/stream", metric="Step")

    def run(step: int | None, status=sc.Finished.FINISHED_FRAGMENT_RUN_SUCCESSFULLY) -> None:
        if step is not None:
            msg = ForwardMsg()
            msg.delta.new_element.metric.label, msg.delta.new_element.metric.body = "Step", f"{step:,}"
            client._handle(msg)
        done = ForwardMsg(script_finished=status)
        client._handle(done)

    run(10)                       # before counting
    client.counting = True
    run(1200)
    run(None)                     # a run without the metric is no frame
    run(2500, sc.Finished.FINISHED_EARLY_FOR_RERUN)
    run(3000)
    assert [v for _, v in client.frames] == [1200, 3000] and client.dropped == 1 and client.value == 3000


def test_process_tree_cpu_rss_and_listener():
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.3: pass\ntime.sleep(30)"])
    try:
        time.sleep(1.0)
        assert child.pid in pm.tree_pids(os.getpid())
        cpu, rss = pm.tree_usage(os.getpid())
        assert cpu >= pm.own_cpu(os.getpid()) + 0.2 and rss > pm.status_kb(os.getpid(), "VmRSS") / 1024
    finally:
        child.kill()
        child.wait()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert pm.listener_pid(s.getsockname()[1]) == os.getpid()


def test_monitor_interpolates_cpu_and_finds_the_idle_moment():
    m = pm.TreeMonitor(None)
    t0 = time.monotonic() - 5.0
    # (time, tree CPU, own CPU, RSS) over the last 5 s: one core busy for 2 s, then idle
    m.samples = [(t0 + t / 10, min(t / 10, 2.0), min(t / 20, 1.0), 100.0 + t, 50.0 + t % 7) for t in range(0, 50)]
    assert m.cpu_at(t0 + 0.55) == pytest.approx((0.55, 0.275))
    assert m.peak_rss() == 149.0 and m.last_rss() == 149.0
    assert m.peak_rss(own=True) == 56.0 and m.last_rss(own=True) == 50.0
    assert m.idle_since(t0 + 1.0) == pytest.approx(1.0)
    assert asyncio.run(m.wait_idle(t0 + 1.0, timeout=10.0)) == pytest.approx(1.0)
    m.samples = m.samples[:20]   # busy up to the last sample: never idle
    assert m.idle_since(t0) is None
    assert asyncio.run(m.wait_idle(t0, timeout=0.0)) is None
