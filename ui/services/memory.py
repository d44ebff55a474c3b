"""Giving freed memory back to the operating system.

glibc's allocator keeps the pages it got for freed objects and arrays (a class's runs and sessions: ~150 MB for
30 students), so a server's RSS never shrinks by itself; ``malloc_trim(0)`` returns every free page (measured:
69 MB -> 34 MB after 30 wave runs were dropped).  Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import time
from collections.abc import Callable

try:
    _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
except (OSError, AttributeError):   # not glibc
    _malloc_trim = None


def release() -> None:
    """Collect garbage and return free memory to the OS."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


def release_when_idle(idle: Callable[[], bool], every: float = 30.0) -> None:
    """A daemon thread that calls ``release`` every ``every`` seconds while ``idle()`` (a full collection holds
    the GIL for tens of milliseconds: not while anyone is watching training)."""
    def loop() -> None:
        while True:
            time.sleep(every)
            if idle():
                release()
    threading.Thread(target=loop, name="memory-release", daemon=True).start()
