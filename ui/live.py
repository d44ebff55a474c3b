"""The Train page's live part: the training slice of each frame, the status line and the charts."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

import adjoint_core as ac
from adjoint_core.targets import grid

from . import figures, theme

ss = st.session_state
FIT_RESOLUTION = 50     # heatmap grid side; 1D fits use 4x as many points
TICK = 0.15             # seconds between redraws of the fast charts while playing
SLOW_TICK = 0.5         # the heavier charts redraw this often while playing


def _fmt_loss(v: float) -> str:
    return "–" if not math.isfinite(v) else f"{v:.3e}"


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


def _plot(fig: dict, key: str) -> None:
    """Draw a figure; static (no hover or zoom, much cheaper to draw) while playing."""
    st.plotly_chart(fig, width="stretch", key=key, config=theme.STATIC if ss.get("playing") else theme.CONFIG)


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


def slow_charts(run: ac.TrainingRun) -> None:
    """The heavier charts, redrawn a few times a second while playing: fit, mu over time, gradients."""
    h = run.history
    axis, pts, target_vals = _grid_cache(run)
    with np.errstate(all="ignore"):
        pred = run.net.predict(pts)
    if run.data.target.dim == 1:
        _plot(figures.fit_1d_figure(run.data.x, run.data.y, pts, target_vals, pred), "fit_chart")
    else:
        r = len(axis)
        t2, p2 = target_vals.reshape(r, r), pred.reshape(r, r)
        if np.isfinite(t2).all():
            _plot(figures.fit_2d_figure(axis, t2, p2, (float(t2.min()), float(t2.max()))), "fit_chart")
            c = r // 2
            _plot(figures.slice_figure(axis, t2[c], p2[c], float(axis[c])), "slice_chart")
        else:
            _plot(figures.data_2d_figure(axis, p2, run.data.x, run.data.y), "fit_chart")
    left, right = st.columns(2)
    with left:
        _plot(figures.mu_heatmap_figure(h.step, h.mu_norms), "mu_heatmap")
    with right:
        _plot(figures.grad_norm_figure(h.step, h.grad_norms), "grad_chart")
