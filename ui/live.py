"""The Train page's live part: the training slice of each frame, the status line and the charts."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly
import streamlit as st
import streamlit.components.v1 as components_v1

import adjoint_core as ac
from adjoint_core.targets import grid

from . import figures, theme

ss = st.session_state
FIT_RESOLUTION = 50     # heatmap grid side; 1D fits use 4x as many points
TICK = 0.1              # seconds between frames while playing
# While playing, every frame redraws the status and the fast charts (loss, mu bars), and every HEAVY_EVERY-th
# frame one group of the heavier charts, in turn: each heavy chart is redrawn about once a second and the
# browser's work per frame stays small and even.  Measured against the earlier design (frames every 0.15 s
# and all heavy charts every 0.5 s in a second fragment), sessions alternating on one machine: fast charts
# 4.7-6.8 instead of 3.2-4.8 redraws per second; the slowest second 3-5 instead of 2-4.
HEAVY_GROUPS = ("fit", "mu_heatmap", "grad")
HEAVY_EVERY = 2
KEEP = b"keep"          # a live chart's payload meaning "leave it as it is"


def _fmt_loss(v: float) -> str:
    """A loss in at most 8 characters (a metric on a 1280-pixel projector): 0.2834, 550.4, 5.12e-4, 1.40e+6."""
    if not math.isfinite(v):
        return "–"
    if 1e-3 <= abs(v) < 1e4 or v == 0:
        return f"{v:.4g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


def status(run: ac.TrainingRun) -> None:
    """Step, epoch, losses and speed as a row of metrics; a divergence warning when there is one."""
    h = run.history
    loss = h.loss
    test = h.test_loss
    cols = st.columns(5)
    cols[0].metric("Step", f"{run.step_count:,}")
    cols[1].metric("Epoch", f"{run.epoch_count:,}", help=f"{run.steps_per_epoch} steps per epoch")
    cols[2].metric("Train loss", _fmt_loss(float(np.mean(loss[-run.steps_per_epoch:])) if len(loss) else math.nan),
                   help="Mean batch loss over the last epoch's worth of steps.")
    cols[3].metric("Test loss", _fmt_loss(float(test[-1]) if len(test) else math.nan),
                   help="Loss on the held-out points at the end of the last epoch.")
    trainer = ss.get("trainer")
    cols[4].metric("Steps / s", f"{trainer.steps_per_second:,.0f}" if trainer and trainer.steps_per_second else "–",
                   help="Training speed while playing (training runs in the background between redraws).")
    if run.diverged:
        st.warning(f"**Training diverged**: {run.diverged}. Paused, and the parameters were set back to the "
                   f"last state with a finite loss. Try a smaller learning rate (now {run.config.lr:g}), a smaller "
                   "init scale, or the Adam optimiser, then press Play again.", icon=":material/warning:")


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


# --- charts ------------------------------------------------------------------------------------------
# Paused, a chart is an ordinary st.plotly_chart (interactive; what AppTest reads). While playing,
# st.plotly_chart would remount every chart on every data change (a full Plotly.newPlot plus React work,
# several times a second per chart), so the live view uses a small component instead: it keeps one Plotly
# div per key and calls Plotly.react with each new figure, and a figure that arrives while the previous one
# is still being drawn replaces any figure waiting, so a slow browser skips frames instead of falling behind.
# plotly.js: the page's own window.Plotly when there is one (Streamlit's chart bundle defines it: plotly.js
# 4.2 in Streamlit 1.67, loaded for the paused charts), else the installed plotly package's
# package_data/plotly.min.js, served through a v1 component registration of that folder that is never
# mounted (nothing is copied into the repository); a hidden element preloads it while paused if needed.
PLOTLY_ASSETS = "plotly_js"
_PLOTLY_DIR = str(Path(plotly.__file__).parent / "package_data")
CHART_JS = """
const ASSET = "component/" + %r + "/plotly.min.js";

function assetUrl() {   // beside Streamlit's own bundle, so a baseUrlPath or a proxy prefix is kept
  const main = [...document.scripts].map((s) => s.src).find((s) => /\\/static\\/js\\/index\\.[^/]*\\.js/.test(s));
  return main ? main.replace(/static\\/js\\/index\\.[^/]*\\.js.*$/, ASSET) : new URL(ASSET, document.baseURI).href;
}

function loadPlotly() {
  if (!window.__abpPlotly) {
    window.__abpPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const s = document.createElement("script");
      s.src = assetUrl();
      s.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly.js did not define Plotly")));
      s.onerror = () => { window.__abpPlotly = null; reject(new Error("could not load " + s.src)); };
      document.head.appendChild(s);
    });
  }
  return window.__abpPlotly;
}

async function draw(div) {
  div.__busy = true;
  try {
    const Plotly = await loadPlotly();
    const stats = (window.__abpChartStats = window.__abpChartStats || {});   // read by benchmarks/bench_app.py
    while (div.__next) {
      const t0 = performance.now();
      const fig = JSON.parse(new TextDecoder().decode(div.__next));
      div.__next = null;
      await Plotly.react(div, fig.data, fig.layout, fig.config);
      const s = (stats[fig.key] = stats[fig.key] || {draws: 0, ms: 0, skipped: 0});
      s.draws += 1;
      s.ms += performance.now() - t0;
      s.skipped = div.__skipped || 0;
    }
  } catch (e) {
    div.textContent = "Chart error: " + e.message;
  } finally {
    div.__busy = false;
  }
}

export default function ({ data, parentElement }) {
  if (!data || !data.byteLength) {   // the preload element: fetch plotly.js once the page is idle
    const later = window.requestIdleCallback || ((f) => setTimeout(f, 1000));
    later(() => loadPlotly().catch(() => {}), { timeout: 3000 });
    return;
  }
  if (data.byteLength === 4 && new TextDecoder().decode(data) === "keep") return;   // not this chart's turn
  let div = parentElement.querySelector(":scope > div.abp-chart");
  if (!div) {
    div = document.createElement("div");
    div.className = "abp-chart";
    div.style.width = "100%%";
    parentElement.appendChild(div);
  }
  if (div.__next) div.__skipped = (div.__skipped || 0) + 1;   // replaced before it was drawn
  div.__next = data;
  if (!div.__busy) draw(div);
}
""" % f"{__name__}.{PLOTLY_ASSETS}"
_live_chart = st.components.v2.component("abp_live_plotly_chart", js=CHART_JS, isolate_styles=False)


def _serve_plotly() -> None:
    """Register plotly.js's folder for serving (needs a script run; registering it again changes nothing)."""
    components_v1.declare_component(PLOTLY_ASSETS, path=_PLOTLY_DIR)


def _plot(fig: dict, key: str) -> None:
    """Draw a figure: interactive while paused; while playing, static and updated in place."""
    if ss.get("playing"):
        _live_chart(key=key, data=figures.to_json({**fig, "config": theme.STATIC, "key": key}).encode(),
                    height=fig["layout"]["height"])
    else:
        _paused_chart(fig, key)


def _paused_chart(fig: dict, key: str) -> None:
    """An interactive chart (st.plotly_chart)."""
    st.plotly_chart(fig, width="stretch", key=key, config=theme.CONFIG, theme=None)


def _preload_plotly() -> None:
    """An empty live-chart element: the browser fetches plotly.js while paused, not on the first Play."""
    if not ss.get("playing"):
        _live_chart(key="plotly_preload", data=b"", height="content")


def fast_charts(run: ac.TrainingRun) -> None:
    """The charts redrawn every frame while playing: the loss and the latest adjoint flow."""
    h = run.history
    left, right = st.columns([3, 2])
    with left:
        _plot(figures.loss_figure(h.step, h.loss, h.epoch_step, h.test_loss, max(1, min(run.steps_per_epoch, 200))),
              "loss_chart")
    with right:
        mu = h.mu_norms
        _plot(figures.mu_bar_figure(mu[-1] if len(mu) else np.full(run.net.n_layers + 1, np.nan)), "mu_bar")


def new_page_run() -> None:
    """Called on every full run of the Train page: serve plotly.js, and draw the charts afresh from frame 0
    (the page may just have been opened: no chart on screen yet)."""
    _serve_plotly()
    ss["_live_frame"] = 0
    ss["_shown"] = {group: (figs, False) for group, (figs, _) in ss.get("_shown", {}).items()}


def _heavy_due() -> str | None:
    """The heavy group this frame draws while playing: after a full page run (no chart on screen yet) or Play at
    step 0 (placeholders on screen) each in turn on frames 0, 1, 2 (one per frame); then, and from the start
    after Play on a paused page further on (its charts are on screen), one every HEAVY_EVERY-th frame, in the
    same order (None in between)."""
    frame, n = ss.get("_live_frame", 0), len(HEAVY_GROUPS)
    if frame < n:
        return HEAVY_GROUPS[frame]
    k = frame - n
    return HEAVY_GROUPS[(k // HEAVY_EVERY) % n] if k % HEAVY_EVERY == HEAVY_EVERY - 1 else None


def _heavy(group: str, due: str | None, draw: Callable[[], list[tuple[dict, str]]]) -> None:
    """A group of heavy charts; ``draw`` builds its [(figure, key), ...].

    Paused: drawn.  Playing: drawn when ``due`` names it, otherwise left as they are in the browser, so the
    browser never has every chart to draw in one go: after Play on a paused page the paused charts are sent
    again unchanged until their group's first live frame (the browser keeps them as they are), and on a page
    just opened an empty chart of its final height waits for its first frame.  The heights are those of the
    group's last draw (built once if there is none); a full page run marks every last draw as off screen.
    """
    shown = ss.setdefault("_shown", {})   # group -> ([(figure, key), ...] of its last draw, drawn paused?)
    playing = ss.get("playing")
    if not playing or group == due:
        figs = draw()
        for fig, key in figs:
            _plot(fig, key)
        shown[group] = (figs, not playing)
        return
    if group not in shown:
        shown[group] = (draw(), False)   # built once, for its heights
    figs, paused = shown[group]
    for fig, key in figs:
        if paused:   # Play on a paused page: the paused chart, sent again unchanged, stays as it is
            _paused_chart(fig, key)
        else:
            _live_chart(key=key, data=KEEP, height=fig["layout"]["height"])


def _fit_figures(run: ac.TrainingRun) -> list[tuple[dict, str]]:
    """The fit (1D curve or 2D heatmaps) and, for a 2D target, the slice through the centre."""
    axis, pts, target_vals = _grid_cache(run)
    with np.errstate(all="ignore"):
        pred = run.net.predict(pts)
    if run.data.target.dim == 1:
        return [(figures.fit_1d_figure(run.data.x, run.data.y, pts, target_vals, pred), "fit_chart")]
    r = len(axis)
    t2, p2 = target_vals.reshape(r, r), pred.reshape(r, r)
    if not np.isfinite(t2).all():
        return [(figures.data_2d_figure(axis, p2, run.data.x, run.data.y), "fit_chart")]
    c = r // 2
    return [(figures.fit_2d_figure(axis, t2, p2, (float(t2.min()), float(t2.max()))), "fit_chart"),
            (figures.slice_figure(axis, t2[c], p2[c], float(axis[c])), "slice_chart")]


def heavy_charts(run: ac.TrainingRun) -> None:
    """The heavier charts: the fit, ||mu|| over time and the gradient norms (in turn while playing)."""
    h = run.history
    due = _heavy_due()
    _heavy("fit", due, lambda: _fit_figures(run))
    left, right = st.columns(2)
    with left:
        _heavy("mu_heatmap", due, lambda: [(figures.mu_heatmap_figure(h.step, h.mu_norms), "mu_heatmap")])
    with right:
        _heavy("grad", due, lambda: [(figures.grad_norm_figure(h.step, h.grad_norms), "grad_chart")])
    _preload_plotly()
    if ss.get("playing"):
        ss["_live_frame"] = ss.get("_live_frame", 0) + 1
    else:   # at step 0 the paused charts are placeholders ("No training steps yet"): Play replaces them at once
        ss["_live_frame"] = len(HEAVY_GROUPS) if run.step_count else 0
