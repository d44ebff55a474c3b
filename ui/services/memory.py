"""The memory of the server and its training process: how the allocator is set up, giving freed memory back, and
the budget that decides whether another run may train live.

By default glibc raises its threshold for giving an allocation a mapping of its own to the size of any such
block freed (up to 32 MB), so once a run has been dropped, later runs' arrays (replay snapshots 2.3 MB, history
0.9 MB, data) come from the heap, which keeps what it has grown to; and each of the server's many script threads
may get an arena of its own.  ``configure_allocator`` fixes the threshold and caps the arenas; ``release`` returns
what is free in the heap.  Elsewhere than glibc these do nothing.  Measured: benchmarks/README.md, "Memory for a
class".

The budget (``ADJOINT_MEMORY_BUDGET_MB``, default 600 MB, under the ~690 MB that Streamlit Community Cloud
guarantees an app) bounds what the server and its training process use together: ``room_to_play`` refuses a
new live run once they use NEAR of it, so a class that would not fit is told so instead of the app being killed
over its host's limit; runs already playing carry on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

BUDGET_ENV = "ADJOINT_MEMORY_BUDGET_MB"
DEFAULT_BUDGET_MB = 600.0
NEAR = 0.9   # of the budget: past it, no new live run (the runs starting meanwhile, ~4 MB each, fit the rest)
MMAP_THRESHOLD = 128 * 1024   # bytes: larger blocks get a mapping of their own, returned to the OS when freed
ARENAS = 2                    # glibc's malloc arenas for all of a process's threads
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8   # mallopt's parameters (malloc.h)
log = logging.getLogger(__name__)

try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _malloc_trim, _mallopt = _libc.malloc_trim, _libc.mallopt
except (OSError, AttributeError):   # not glibc
    _malloc_trim = _mallopt = None


def configure_allocator() -> None:
    """Every block of MMAP_THRESHOLD or more in a mapping of its own (a fixed threshold: glibc's default one
    grows), and at most ARENAS arenas; for the allocations from now on.  Each process calls it once, first."""
    if _mallopt is not None:
        _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        _mallopt(_M_ARENA_MAX, ARENAS)


def release() -> None:
    """Collect garbage and return free memory to the OS."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


def release_when_idle(idle: Callable[[], bool], drop: Callable[[], object], every: float = 10.0) -> None:
    """A daemon thread that calls ``drop`` (forget what has expired: sessions gone for good) every ``every``
    seconds, then ``release`` while ``idle()`` (a full collection holds the GIL for tens of milliseconds: not
    while anyone is watching training)."""
    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                drop()
                if idle():
                    release()
            except Exception:   # the thread must outlive one bad turn: memory would never come back
                log.exception("giving memory back failed; trying again in %g s", every)
    threading.Thread(target=loop, name="memory-release", daemon=True).start()


def budget_mb() -> float:
    """The memory budget in MB: ``ADJOINT_MEMORY_BUDGET_MB``, or DEFAULT_BUDGET_MB when unset or not a positive
    number."""
    try:
        budget = float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_MB))
    except ValueError:
        return DEFAULT_BUDGET_MB
    return budget if budget > 0 else DEFAULT_BUDGET_MB


def _rss_kb(pid: int | str) -> int:
    """A process's resident memory in kB (/proc/<pid>/status VmRSS); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def used_mb() -> float:
    """Resident memory of this process and its children (the server and its training process) in MB; 0 where
    /proc is missing (not Linux), so the budget never refuses there."""
    children = []
    for task in Path("/proc/self/task").glob("*/children"):
        try:
            children += task.read_text().split()
        except OSError:
            continue
    return sum(_rss_kb(pid) for pid in ["self", *children]) / 1024


def room_to_play() -> bool:
    """Whether a new run may start training live: the server and its training process use less than NEAR of
    the budget."""
    return used_mb() < NEAR * budget_mb()


def full_message() -> str:
    """What a session told there is no room to play reads (Markdown)."""
    return (f"**This server is full**: it is using {used_mb():,.0f} MB of its {budget_mb():,.0f} MB memory budget, "
            "so it cannot train another run live right now. You can still step by hand (**Step**, **Epoch**) or "
            "follow the teacher; press **Play** again in a while.")
