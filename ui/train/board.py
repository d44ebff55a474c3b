"""The live board: the status and every chart in one element, redrawn in place (``live_board.js``).

Playing, a page's board fetches its frames as files (``follow``; ui/services/frame_files.py): a playing page's own
(ui/train/feeds.py) or a room's (ui/classroom/room_files.py), so a frame costs no script run. A ``Board`` holds
what those frames need: the layout (each chart's height, so it stays put between frames), the schedule (the fast
charts on every frame, the heavier groups one at a time on every HEAVY_EVERY-th frame, nothing when no step was
taken), the status, and the JSON of each chart group's latest figures with a version, so that one board serves
one page or a room's many with each figure turned into JSON once. Each figure carries its version (``v``): the
page redraws only the charts it has not drawn, and a heavy group's figures say so (``heavy``): a slow browser
draws them after the fast charts (live_board.js).
"""

from __future__ import annotations

import itertools
import json
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


def preload() -> None:
    """An empty board, shown while paused: it makes the browser fetch plotly.js once the page is idle, so the first
    Play does not wait for it."""
    serve_plotly()
    _component(key="plotly_preload", data=PRELOAD, height="content")


def follow(frames: str, key: str) -> None:
    """A live board element: it fetches its frames from the URL path ``frames`` (frame_files.py) and reruns the
    page, or the fragment it is in, (its ``gone`` trigger) once they are gone."""
    serve_plotly()
    _component(key=key, data=json.dumps({"plotly": PLOTLY_URL, "frames": frames}).encode(), height="content",
               on_gone_change=lambda: None)   # the trigger's rerun is all it asks for


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
    alike for every follower whichever follower's frame builds them) carry neither."""
    built = chart_groups.SHARED_GROUPS if shared else chart_groups.GROUPS
    return {key: {**(fig if shared else for_screen(fig)), "config": theme.STATIC, "name": describe.name(fig),
                  describe.SUMMARY: fig.get(describe.SUMMARY, "")}
            for group in groups for key, fig in built[group](run).items()}


def layout_rows(heights: dict[str, int]) -> list[list]:
    """LAYOUT's rows as the board draws them: [[key, width weight, height], ...] for the charts in ``heights``."""
    rows = [[[key, weight, heights[key]] for key, weight in row if key in heights] for row in LAYOUT]
    return [row for row in rows if row]


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class Board:
    """One live board of one run. ``update`` takes the status and builds the due groups' JSON. A ``shared`` board
    (a room's) draws the run alone, the same for every page (``live_figures``)."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self.frame, self.step = 0, -1                  # frames updated so far; the run's step at the last one
        self.heights: dict[str, int] = {}
        self.groups: dict[str, tuple[int, str]] = {}   # group -> (version, its figures as "key":{...},...)
        self.rows = _json([])                          # the layout, as JSON
        self.status: list[tuple[str, str]] = []

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
        self.status = status

    def load(self, status: list[tuple[str, str]], rows: str, groups: dict[str, tuple[int, str]]) -> None:
        """Take the state of a board built elsewhere (a room's, on the teacher's replica: room_bus.py): its
        status, layout JSON and the groups that changed, each (version, figures JSON without braces)."""
        self.rows = rows
        self.groups.update(groups)
        self.status = status
