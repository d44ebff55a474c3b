"""The live board: the status and every chart in one element, redrawn in place (``live_board.js``).

Playing, a frame sends a single element instead of one per metric and chart: each element is a message of its
own through Streamlit's event loop, and with a class on one server that cost is what limits the frames every
student gets.  A ``Board`` holds what its frames need: the layout (each chart's height, so it stays put between
frames), the schedule (the fast charts on every frame, the heavier groups one at a time on every HEAVY_EVERY-th
frame, nothing when no step was taken) and the JSON of each chart group's latest figures, with a version.  A
frame for a page is the status plus the groups whose version that page has not been sent yet, so one board serves
one page (a session's own, live.py) or many (a room's followers, ui/classroom/rooms.py, whose pages fetch the
room's frames as files: ``follow``) with each figure turned into JSON once.

Streamlit can drop a fragment run's output unsent (when the next run of the fragment starts first), and with it
charts a page was counted as sent. While frames bring something new that heals by itself; a page whose frames
bring nothing new (a slow Speed's frames between steps) gets every chart again in a keyframe, 1 s after the last new
one, then at doubling intervals up to KEYFRAME_MAX. Each figure carries its version (``v``): the page redraws
only the charts it has not drawn, and a heavy group's figures say so (``heavy``): a slow browser draws them
after the fast charts (live_board.js).
"""

from __future__ import annotations

import itertools
import json
import math
import time
import zlib
from pathlib import Path

import plotly
import streamlit as st

import adjoint_core as ac

from .. import streamlit_private
from ..plots import describe, figures, theme
from ..screen.charts import for_screen
from . import chart_groups

HEAVY_GROUPS = ("fit", "mu_heatmap", "grad")
HEAVY_EVERY = 2
KEYFRAME_FIRST, KEYFRAME_MAX = 1.0, 32.0   # seconds of quiet before a page's first keyframe; the longest gap
clock = time.monotonic   # the keyframes' clock (a test sets its own)
# The charts in rows, as (key, width weight) pairs; a key without a figure (1D: no slice; no kept runs: no ratio
# chart, ui/train/compare.py) is left out.
LAYOUT = ((("loss_chart", 3), ("mu_bar", 2)), (("ratio_chart", 1),), (("fit_chart", 1),), (("slice_chart", 1),),
          (("mu_heatmap", 1), ("grad_chart", 1)))

_component = st.components.v2.component("abp_live_board", js=(Path(__file__).parent / "live_board.js").read_text(),
                                        isolate_styles=False)
_versions = itertools.count(1)   # process-wide, so a page's versions stay comparable when a room's board is new


PLOTLY_FOLDER = Path(plotly.__file__).parent / "package_data"


def serve_plotly() -> str:
    """The URL path of the installed plotly package's plotly.min.js, relative to the app's root: its folder served
    as a v1 component's files (streamlit_private.serve_folder; nothing is copied into the repository). Every board
    element asks (``show``, ``follow``): the first script run to show one registers it, whatever page it is (a
    follower's page, which has no Streamlit chart, included).

    The board (live_board.js) draws with the page's own ``window.Plotly`` when a paused st.plotly_chart has
    defined it, else loads this file. That shortcut is safe: both are plotly.js of the same major version
    (Streamlit 1.67 bundles 4.2.0, plotly 7.1 ships 4.1.1; tests/app/test_plotly_js.py checks the majors agree),
    so they draw the same figure JSON, the one st.plotly_chart draws while paused; it saves a teacher's page the
    4.8 MB download.
    """
    return streamlit_private.serve_folder("plotly_js", str(PLOTLY_FOLDER)) + "plotly.min.js"


PLOTLY_URL = serve_plotly()
PRELOAD = json.dumps({"plotly": PLOTLY_URL}).encode()             # a board that only fetches plotly.js


def show(payload: bytes, key: str) -> None:
    """The board element with this frame's payload (JSON bytes); plotly.js is served for it."""
    serve_plotly()
    _component(key=key, data=payload, height="content")


def follow(frames: str, key: str) -> None:
    """A follower's board element: it fetches the room's frames from the URL path ``frames`` (room_files.py) and
    reruns the page (its ``gone`` trigger) once they are gone."""
    serve_plotly()
    _component(key=key, data=json.dumps({"plotly": PLOTLY_URL, "frames": frames}).encode(), height="content",
               on_gone_change=lambda: None)   # the trigger's rerun is all it asks for


def show_figures(figs: dict[str, dict], key: str) -> None:
    """Figures side by side in one board element, each redrawn in place only when it changed (its version is a
    hash of its JSON): a page that rebuilds its charts every second or so (the Class page). An st.plotly_chart
    whose figure changed is a new element, mounted and drawn from scratch, and a slow browser that takes longer
    than the gap between updates never shows it drawn. Each figure as ``board_figure`` shapes it."""
    charts = {name: board_figure(fig) for name, fig in figs.items()}
    for fig in charts.values():
        fig["v"] = zlib.crc32(figures.to_json(fig).encode())
    rows = [[[name, 1, fig["layout"]["height"]] for name, fig in charts.items()]]
    show(figures.to_json({"plotly": PLOTLY_URL, "status": [], "rows": rows, "charts": charts}).encode(), key)


def due_groups(frame: int) -> list[str]:
    """The chart groups a frame redraws: all on the first frame (the board is new), then the fast charts on
    every frame and the heavy groups in turn, one on every HEAVY_EVERY-th frame."""
    if frame == 0:
        return list(chart_groups.GROUPS)
    k = frame - 1
    if k % HEAVY_EVERY == HEAVY_EVERY - 1:
        return ["fast", HEAVY_GROUPS[(k // HEAVY_EVERY) % len(HEAVY_GROUPS)]]
    return ["fast"]


def live_figures(run: ac.TrainingRun, groups: list[str], shared: bool = False) -> dict[str, dict]:
    """The figures of these chart groups, static (no hover or zoom layers to build on every redraw), each with its
    accessible name and summary (ui/plots/describe.py; live_board.js gives them to its chart). A session's
    own figures carry its kept runs and its screen's layout (phone, projector); ``shared`` ones (a room's, drawn
    alike for every follower whichever follower's frame builds them) carry neither, and a note for watchers."""
    built = chart_groups.SHARED_GROUPS if shared else chart_groups.GROUPS
    return {key: board_figure(figures.watched(fig) if shared else fig, screen=not shared)
            for group in groups for key, fig in built[group](run).items()}


def board_figure(fig: dict, screen: bool = True) -> dict:
    """``fig`` as the board draws it: static (no hover or zoom layers to build on every redraw), with its accessible
    name and summary, laid out for this session's screen (``for_screen``) unless ``screen`` is False."""
    return {**(for_screen(fig) if screen else fig), "config": theme.STATIC, "name": describe.name(fig),
            describe.SUMMARY: fig.get(describe.SUMMARY, "")}


def layout_rows(heights: dict[str, int]) -> list[list]:
    """LAYOUT's rows as the board draws them: [[key, width weight, height], ...] for the charts in ``heights``."""
    rows = [[[key, weight, heights[key]] for key, weight in row if key in heights] for row in LAYOUT]
    return [row for row in rows if row]


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class Board:
    """One live board of one run. ``update`` builds the due groups' JSON and takes the status; ``payload``
    makes a page's next frame from them. A page's ``seen`` dict records what it has drawn: the layout and each
    group's version (``drawn`` is the owner's, a room's followers keep their own). A ``shared`` board (a room's)
    draws the run alone, the same for every page (``live_figures``)."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self.frame, self.step = 0, -1                  # frames updated so far; the run's step at the last one
        self.heights: dict[str, int] = {}
        self.groups: dict[str, tuple[int, str]] = {}   # group -> (version, its figures as "key":{...},...)
        self.rows = _json([])                          # the layout, as JSON
        self.status: list[tuple[str, str]] = []
        self._head = self._frame_head([])
        self.drawn: dict[str, object] = {}

    def _frame_head(self, status: list[tuple[str, str]]) -> str:
        return f'"plotly":{_json(PLOTLY_URL)},"status":{_json(status)},"rows":{self.rows}'

    def update(self, run: ac.TrainingRun, status: list[tuple[str, str]]) -> None:
        """Take the status, and build the chart groups due (none when no step was taken since the last update:
        the turns then stay as they were)."""
        if not self.frame or run.step_count != self.step:
            for group in due_groups(self.frame):
                version = next(_versions)
                heavy = {"heavy": True} if group in HEAVY_GROUPS else {}
                figs = {key: {**fig, "v": version, **heavy}
                        for key, fig in live_figures(run, [group], self.shared).items()}
                self.heights.update({key: fig["layout"]["height"] for key, fig in figs.items()})
                self.groups[group] = (version, figures.to_json(figs)[1:-1])   # without its braces
            self.frame, self.step = self.frame + 1, run.step_count
            self.rows = _json(layout_rows(self.heights))
        self.status, self._head = status, self._frame_head(status)

    def load(self, status: list[tuple[str, str]], rows: str, groups: dict[str, tuple[int, str]]) -> None:
        """Take the state of a board built elsewhere (a room's, on the teacher's replica: room_bus.py): its
        status, layout JSON and the groups that changed, each (version, figures JSON without braces)."""
        self.rows = rows
        self.groups.update(groups)
        self.status, self._head = status, self._frame_head(status)

    def payload(self, seen: dict[str, object]) -> bytes:
        """A page's next frame (JSON bytes): the status and the chart groups newer than ``seen`` (updated in
        place; empty for a new page), or every group when a keyframe is due."""
        now = clock()
        if seen.get("rows") != self.rows:   # a new layout: the page builds the board afresh and needs every chart
            seen.clear()
            seen["rows"] = self.rows
        new = [(group, version, text) for group, (version, text) in self.groups.items()
               if version > int(seen.get(group, 0))]
        if new:
            seen.update({group: version for group, version, _ in new})
            seen["keyframe_at"], seen["keyframe_gap"] = now + KEYFRAME_FIRST, KEYFRAME_FIRST
            parts = [text for _, _, text in new]
        elif now >= float(seen.get("keyframe_at", math.inf)):
            gap = min(2 * float(seen["keyframe_gap"]), KEYFRAME_MAX)
            seen["keyframe_at"], seen["keyframe_gap"] = now + gap, gap
            parts = [text for _, text in self.groups.values()]
        else:
            parts = []
        return self._frame(parts)

    def still(self) -> bytes:
        """A frame of the status alone: the page's board as it stands."""
        return self._frame([])

    def _frame(self, parts: list[str]) -> bytes:
        return ("{" + self._head + ',"charts":{' + ",".join(parts) + "}}").encode()
