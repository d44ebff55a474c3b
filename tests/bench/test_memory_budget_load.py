"""A class on a server over its memory budget (ui/services/memory.py), through Streamlit's own protocol
(benchmarks/bench_classroom.py's simulated students): every Play is refused with the message on that student's
page, nothing trains, and every student can still step by hand."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import bench_classroom as bc  # noqa: E402
from benchmarks.local_server import Server  # noqa: E402
from ui.services import memory  # noqa: E402

pytestmark = pytest.mark.slow
STUDENTS = 6
WAIT = 60.0   # s: a deadline for each answer, never a speed


class Student(bc.Student):
    """A simulated tab that also keeps the warnings its page shows."""

    def __init__(self, index: int, ws_url: str, query: str) -> None:
        super().__init__(index, ws_url, query)
        self.warnings: list[str] = []

    def on_element(self, kind: str, w, fragment_id: str) -> None:
        super().on_element(kind, w, fragment_id)
        if kind == "alert":
            self.warnings.append(w.body)


@pytest.fixture(scope="module")
def full_server():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(memory.BUDGET_ENV, "1")   # any server is over 1 MB: every Play finds it full
        s = Server()
    yield s
    s.stop()


async def play_then_step(s: Student) -> tuple[bool, str, int | None, int | None]:
    """Load, press Play, wait for the page's answer, press Step: (told it is full, the button's label after Play,
    the Step metric before and after Step)."""
    assert await s.load(WAIT), s.error
    await s.click("Play")
    told = await s.wait_until(lambda: any("This server is full" in w for w in s.warnings), WAIT)
    label, before = s.play_label, s.value
    await s.click("Step")
    await s.wait_until(lambda: s.value is not None and before is not None and s.value > before, WAIT)
    return told, label, before, s.value


def test_a_class_on_a_full_server_is_told_so_and_steps_by_hand(full_server):
    async def lesson():
        students = [Student(i, bc.ws_url_of(full_server.url), "epochs=10000") for i in range(STUDENTS)]
        try:
            return await asyncio.gather(*(play_then_step(s) for s in students))
        finally:
            await asyncio.gather(*(s.close() for s in students))

    results = asyncio.run(asyncio.wait_for(lesson(), 4 * WAIT))
    for told, label, before, after in results:
        assert told, "no 'server is full' message after Play"
        assert label == "Play"   # still paused: the button offers Play again
        assert (before, after) == (0, 1)
