"""The Train page's status and charts: Streamlit elements while paused, one live board while playing.

Paused, the status is a row of st.metric and each chart an interactive st.plotly_chart.  Playing, a frame every
TICK seconds sends a single element, the live board (``live_board.js``): the status and the charts whose turn it
is, drawn in place with Plotly.react.  One element per frame instead of one per metric and chart keeps the
server's work per frame small (each element is a message of its own through Streamlit's event loop): with
a class on one server, that cost is what limits the frames every student gets.  The fast charts (loss, mu bars)
are redrawn on every frame, the heavier groups one at a time on every HEAVY_EVERY-th frame, and nothing when
no step was taken since the last frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly
import streamlit as st
import streamlit.components.v1 as components_v1
from streamlit.components.v1.custom_component import CustomComponent

import adjoint_core as ac
from adjoint_core.targets import grid

from . import compare, figures, messages, theme
from .charts import for_screen
from .charts import show as show_chart
from .worker import Trainer

ss = st.session_state
FIT_RESOLUTION = 50     # heatmap grid side; 1D fits use 4x as many points
TICK = 0.1              # seconds between frames while playing
HEAVY_GROUPS = ("fit", "mu_heatmap", "grad")
HEAVY_EVERY = 2
# The charts in rows, as (key, width weight) pairs; a key without a figure (1D: no slice; no kept runs: no ratio
# chart, ui/compare.py) is left out.
LAYOUT = ((("loss_chart", 3), ("mu_bar", 2)), (("ratio_chart", 1),), (("fit_chart", 1),), (("slice_chart", 1),),
          (("mu_heatmap", 1), ("grad_chart", 1)))

_board = st.components.v2.component("abp_live_board", js=(Path(__file__).parent / "live_board.js").read_text(),
                                    isolate_styles=False)


def _fmt_loss(v: float) -> str:
    """A loss in at most 8 characters (a metric on a 1280-pixel projector): 0.2834, 550.4, 5.12e-4, 1.40e+6."""
    if not math.isfinite(v):
        return "–"
    if 1e-3 <= abs(v) < 1e4 or v == 0:
        return f"{v:.4g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


def status_values(run: ac.TrainingRun, trainer: Trainer | None) -> list[tuple[str, str, str]]:
    """(label, value, help) of the status metrics: step, epoch, train and test loss, speed."""
    h = run.history
    loss, test = h.loss, h.test_loss
    return [("Step", f"{run.step_count:,}", "Training steps (mini-batches) so far."),
            ("Epoch", f"{run.epoch_count:,}", f"{run.steps_per_epoch} steps per epoch"),
            ("Train loss", _fmt_loss(float(np.mean(loss[-run.steps_per_epoch:])) if len(loss) else math.nan),
             "Mean batch loss over the last epoch's worth of steps."),
            ("Test loss", _fmt_loss(float(test[-1]) if len(test) else math.nan),
             "Loss on the held-out points at the end of the last epoch."),
            ("Steps / s", f"{trainer.steps_per_second:,.0f}" if trainer and trainer.steps_per_second else "–",
             "Training speed while playing (training runs in its own process between redraws).")]


def status(run: ac.TrainingRun) -> None:
    """The status as a row of metrics; a divergence warning when there is one."""
    for col, (label, value, help_text) in zip(st.columns(5), status_values(run, ss.get("trainer"))):
        col.metric(label, value, help=help_text)
    if run.diverged:
        st.warning(messages.divergence_message(run), icon=":material/warning:")


# --- figures -----------------------------------------------------------------------------------------
def _grid_cache(run: ac.TrainingRun) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(axis (r,), grid points (r^dim, dim), target values (r^dim, 1)) for the run's target, cached per run."""
    key = (id(run.data.target), run.data.target.domain)
    cached = ss.get("_grid")
    if cached is None or cached[0] != key:
        target = run.data.target
        r = FIT_RESOLUTION if target.dim == 2 else 4 * FIT_RESOLUTION
        pts = grid(target, r)
        with np.errstate(all="ignore"):
            values = target.fn(pts)
        ss["_grid"] = cached = (key, pts[:r, 0].copy(), pts, values)
    return cached[1], cached[2], cached[3]


def _fast(run: ac.TrainingRun) -> dict[str, dict]:
    """The loss and the latest adjoint flow; with kept runs (ui/compare.py), their lines on the loss chart and
    the ||mu_0|| / ||mu_N|| chart. The smoothed train loss averages an epoch, at most 200 steps."""
    h, (losses, ratios) = run.history, compare.overlays(run)
    mu = h.mu_norms
    figs = {"loss_chart": figures.loss_figure(h.step, h.loss, h.epoch_step, h.test_loss,
                                              max(1, min(run.steps_per_epoch, 200)), losses),
            "mu_bar": figures.mu_bar_figure(mu[-1] if len(mu) else np.full(run.net.n_layers + 1, np.nan))}
    if ratios:
        figs["ratio_chart"] = figures.ratio_figure(ratios)
    return figs


def _fit(run: ac.TrainingRun) -> dict[str, dict]:
    """The run's own fit."""
    return fit_figures(run, run.net)


def fit_figures(run: ac.TrainingRun, net: ac.MLP) -> dict[str, dict]:
    """The fit of ``net`` (the run's, or a replayed one) to the run's target: 1D curve or 2D heatmaps and, for
    a 2D target, the slice through the centre."""
    axis, pts, target_vals = _grid_cache(run)
    with np.errstate(all="ignore"):
        pred = net.predict(pts)
    if run.data.target.dim == 1:
        return {"fit_chart": figures.fit_1d_figure(run.data.x, run.data.y, pts, target_vals, pred)}
    r = len(axis)
    t2, p2 = target_vals.reshape(r, r), pred.reshape(r, r)
    if not np.isfinite(t2).all():
        return {"fit_chart": figures.data_2d_figure(axis, p2, run.data.x, run.data.y)}
    c = r // 2
    return {"fit_chart": figures.fit_2d_figure(axis, t2, p2, (float(t2.min()), float(t2.max()))),
            "slice_chart": figures.slice_figure(axis, t2[c], p2[c], float(axis[c]))}


def _mu_heatmap(run: ac.TrainingRun) -> dict[str, dict]:
    return {"mu_heatmap": figures.mu_heatmap_figure(run.history.step, run.history.mu_norms)}


def _grad(run: ac.TrainingRun) -> dict[str, dict]:
    return {"grad_chart": figures.grad_norm_figure(run.history.step, run.history.grad_norms)}


GROUPS: dict[str, Callable[[ac.TrainingRun], dict[str, dict]]] = {
    "fast": _fast, "fit": _fit, "mu_heatmap": _mu_heatmap, "grad": _grad}


# --- paused ------------------------------------------------------------------------------------------
def all_figures(run: ac.TrainingRun) -> dict[str, dict]:
    """Every chart's figure of the run as it is now, by key."""
    return {key: fig for build in GROUPS.values() for key, fig in build(run).items()}


def charts(figs: dict[str, dict]) -> None:
    """The charts ``figs`` (``all_figures``, or as ui/compare.py and ui/replay.py change them), interactive
    (st.plotly_chart), in LAYOUT's rows; and an empty board that makes the browser fetch plotly.js while paused,
    so the first Play does not wait for it."""
    for row in LAYOUT:
        shown = [(key, weight) for key, weight in row if key in figs]
        cols = st.columns([w for _, w in shown]) if len(shown) > 1 else [st.container() for _ in shown]
        for col, (key, _) in zip(cols, shown):
            show_chart(figs[key], key, col)
    show_board(figures.to_json({"plotly": PLOTLY_URL}).encode(), key="plotly_preload")


# --- playing -----------------------------------------------------------------------------------------
def serve_plotly() -> CustomComponent:
    """The installed plotly package's plotly.js folder, registered as a v1 component that is never mounted, so
    that the server serves plotly.min.js at ``component/<its name>/`` (nothing is copied into the repository).

    Streamlit names the component after the calling module (``ui.live.plotly_js``), which is why PLOTLY_URL takes
    the name from the component itself. A registration needs a script run and lasts the server's life;
    registering again changes nothing, so every board element does it (``show_board``), whatever page shows it
    first: a follower's page, which has no Streamlit chart, included.

    The board (live_board.js) draws with the page's own ``window.Plotly`` when a paused st.plotly_chart has
    defined it, else loads this file. That shortcut is safe: both are plotly.js of the same major version
    (Streamlit 1.67 bundles 4.2.0, plotly 7.1 ships 4.1.1; tests/test_plotly_js.py checks the majors agree),
    so they draw the same figure JSON, the one st.plotly_chart draws while paused; it saves a teacher's page the
    4.8 MB download.
    """
    return components_v1.declare_component("plotly_js", path=str(Path(plotly.__file__).parent / "package_data"))


PLOTLY_URL = f"component/{serve_plotly().name}/plotly.min.js"   # relative to the app's root


def due_groups(frame: int) -> list[str]:
    """The chart groups a live frame redraws: all on the first frame (the board is new), then the fast charts
    on every frame and the heavy groups in turn, one on every HEAVY_EVERY-th frame."""
    if frame == 0:
        return list(GROUPS)
    k = frame - 1
    if k % HEAVY_EVERY == HEAVY_EVERY - 1:
        return ["fast", HEAVY_GROUPS[(k // HEAVY_EVERY) % len(HEAVY_GROUPS)]]
    return ["fast"]


def live_figures(run: ac.TrainingRun, groups: list[str]) -> dict[str, dict]:
    """The figures of these chart groups, static (no hover or zoom layers to build on every redraw)."""
    return {key: {**for_screen(fig), "config": theme.STATIC}
            for group in groups for key, fig in GROUPS[group](run).items()}


def board_rows(heights: dict[str, int]) -> list[list]:
    """LAYOUT's rows as the board draws them: [[key, width weight, height], ...] for the charts in ``heights``."""
    rows = [[[key, weight, heights[key]] for key, weight in row if key in heights] for row in LAYOUT]
    return [row for row in rows if row]


def board_status(run: ac.TrainingRun, trainer: Trainer | None) -> list[tuple[str, str]]:
    return [(label, value) for label, value, _ in status_values(run, trainer)]


class Schedule:
    """What a live board's frames redraw: every chart group on its first frame, then the fast charts on each
    frame and the heavy groups in turn (``due_groups``), nothing when no step was taken since the last frame;
    and each chart's height, so the board's layout stays put between frames."""

    def __init__(self) -> None:
        self.frame, self.step = 0, -1
        self.heights: dict[str, int] = {}

    def next(self, run: ac.TrainingRun) -> dict[str, dict[str, dict]]:
        """The next frame's figures by group, {group: {key: figure}} (empty: nothing new to draw)."""
        if self.frame and run.step_count == self.step:   # a frame that draws nothing keeps the turns as they were
            return {}
        groups = {group: live_figures(run, [group]) for group in due_groups(self.frame)}
        self.heights.update({key: fig["layout"]["height"] for figs in groups.values() for key, fig in figs.items()})
        self.frame, self.step = self.frame + 1, run.step_count
        return groups


def board_payload(run: ac.TrainingRun, schedule: Schedule) -> dict:
    """One frame of the live board: the status and the figures ``schedule`` says are due."""
    figs = {key: fig for group in schedule.next(run).values() for key, fig in group.items()}
    return {"plotly": PLOTLY_URL, "status": board_status(run, ss.get("trainer")),
            "rows": board_rows(schedule.heights), "charts": figs}


def show_board(payload: bytes, key: str = "live_board") -> None:
    """The live board element with this frame's payload (JSON bytes); plotly.js is served for it."""
    serve_plotly()
    _board(key=key, data=payload, height="content")


def board(run: ac.TrainingRun) -> None:
    """A live frame: the board, drawn from the run as the last sync left it."""
    schedule = ss.setdefault("_board", Schedule())
    show_board(figures.to_json(board_payload(run, schedule)).encode())


def new_board() -> None:
    """The next live frame starts a new board (after Play, or a full page run while playing)."""
    ss["_board"] = Schedule()
