"""Live frames as files that a page's board fetches over plain HTTP: a frame costs the server no script run.

A board's frames (a room's for its followers, ui/classroom/room_files.py; a playing page's own,
ui/train/feeds.py) are written into a folder under ROOT, a temporary folder of this process that Streamlit serves
as the files of a v1 component (``serve``):

- ``head.json.gz``: the status, a note for the page (``note``: null or [kind, text]), the layout (``rows``), each
  chart group's version, ``every`` (seconds between a page's fetches) and the figures of the groups new in the
  last ``every`` seconds and a tick, so that a page's fetch is one request;
- ``GROUP-VERSION.json.gz``: each chart group's figures, kept KEEP seconds after a newer version, for a page that
  fetched no head while that version was new (one that just opened).

A page (live_board.js) fetches the head, and the group versions it has neither drawn nor found in the head; once
the head is gone (404) it stops and reruns the page's fragment, which says why. Each file is compressed once
when written and served as it is (Streamlit gzips other responses on every request), and is written under a
temporary name then renamed, so a page never reads half a file.

An HTTP request costs the server's event loop about 1 ms, so pages fetch every ``every(pages, tick)`` seconds:
a larger audience slows its own fetches, never the frames.
"""

from __future__ import annotations

import atexit
import gzip
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from .. import streamlit_private

POLLS = 400.0   # fetches of a head per second that this server gives all its pages together
KEEP = 5.0      # seconds a chart group's file outlives its next version
HEAD = "head.json.gz"
ROOT = Path(tempfile.mkdtemp(prefix="abp-frames-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
_GROUP = re.compile(r"[a-z_]{1,40}")   # a chart group's name, as part of a file name


def serve() -> str:
    """The URL path of ROOT's files, relative to the app's root (registered in the first script run that asks)."""
    return streamlit_private.serve_folder("frame_files", str(ROOT))


def url(kind: str, name: str) -> str:
    """The URL path, relative to the app's root, of the folder ``ROOT/kind/name``."""
    return f"{serve()}{kind}/{name}/"


def every(pages: int, tick: float) -> float:
    """Seconds between the fetches of each page when this server has ``pages`` fetching, frames every ``tick``."""
    return max(tick, pages / POLLS)


def _write(path: Path, text: str) -> None:
    """Write ``text`` gzip-compressed to ``path``, atomically."""
    temp = path.with_name(f".{path.name}.{threading.get_ident()}")
    temp.write_bytes(gzip.compress(text.encode(), 1, mtime=0))   # level 1: a third of level 6's time, 15% larger
    os.replace(temp, path)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class Files:
    """The files of one board in ``folder``, written every ``tick`` seconds: each group's version and when it was
    written, the last head, and the group files a newer version superseded (with when)."""

    def __init__(self, folder: Path, tick: float) -> None:
        self.folder, self.tick = folder, tick
        self.versions: dict[str, int] = {}
        self.written: dict[str, tuple[float, str]] = {}   # group -> (when its version was written, its figures)
        self.head = ""
        self.old: deque[tuple[float, Path]] = deque()

    def write_frame(self, meta: dict[str, object], groups: dict[str, tuple[int, str]], every: float) -> None:
        """Write the board's new group versions (``groups``: group -> (version, figures JSON without braces)) and
        its head (when it changed: ``meta``'s status, note and rows, and the groups written within the last
        ``every`` + tick seconds, so a page fetching every ``every`` seconds needs nothing else); remove superseded
        files after KEEP."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = time.monotonic()
        for group, (version, text) in groups.items():
            if self.versions.get(group) == version or not _GROUP.fullmatch(group):
                continue
            _write(self.folder / f"{group}-{version}.json.gz", "{" + text + "}")
            if group in self.versions:
                self.old.append((now, self.folder / f"{group}-{self.versions[group]}.json.gz"))
            self.versions[group], self.written[group] = version, (now, text)
        while self.old and now - self.old[0][0] >= KEEP:
            self.old.popleft()[1].unlink(missing_ok=True)
        recent = [text for when, text in self.written.values() if now - when <= every + self.tick]
        head = (f'{{"status":{_json(meta["status"])},"note":{_json(meta["note"])},"rows":{meta["rows"]},'
                f'"versions":{_json(self.versions)},"every":{every:.3f},"charts":{{{",".join(recent)}}}}}')
        if head != self.head:
            _write(self.folder / HEAD, head)
            self.head = head

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
