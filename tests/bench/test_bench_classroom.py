"""benchmarks/bench_classroom.py end to end: two simulated students on a real ``streamlit run app.py``.

Checks what a broken harness would get wrong (no frames, a Step metric that never moves, a Pause that is never
acknowledged, no first page, no server figures), never the numbers themselves (they depend on machine load).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import bench_classroom as bc  # noqa: E402


@pytest.fixture(scope="module")
def server():
    s = bc.Server()
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


def test_only_loopback_servers():
    assert bc.ws_url_of("http://127.0.0.1:8501") == "ws://127.0.0.1:8501/_stcore/stream"
    assert bc.ws_url_of("http://localhost:8501/app/") == "ws://localhost:8501/app/_stcore/stream"
    for url in ("http://10.0.0.1:8501", "http://example.com", "ftp://127.0.0.1"):
        with pytest.raises(ValueError):
            bc.ws_url_of(url)
