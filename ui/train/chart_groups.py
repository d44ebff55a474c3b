"""What each of the Train page's chart groups draws from a run: functions from a run to figure dicts, by key.

A group is a set of charts drawn together: the fast ones (the loss, the mu bars and, with kept runs, the
||mu_0|| / ||mu_N|| chart), the fit, the mu heatmap and the gradients.  Paused, every group is drawn
(``all_figures``); the live board (ui/train/board.py) decides which groups a frame redraws.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable

import numpy as np

import adjoint_core as ac
from adjoint_core.targets import Target, grid

from ..plots import describe, figures
from . import compare

FIT_RESOLUTION = 50     # heatmap grid side; 1D fits use 4x as many points
_grids: weakref.WeakKeyDictionary[Target, tuple[np.ndarray, np.ndarray, np.ndarray]] = weakref.WeakKeyDictionary()


def fit_grid(target: Target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(axis (r,), grid points (r^dim, dim), target values (r^dim, 1)) the fit of ``target`` is drawn on, computed
    once per target for the whole server (a session's charts and a room's alike)."""
    cached = _grids.get(target)
    if cached is None:
        r = FIT_RESOLUTION if target.dim == 2 else 4 * FIT_RESOLUTION
        pts = grid(target, r)
        with np.errstate(all="ignore"):
            values = target.fn(pts)
        _grids[target] = cached = (pts[:r, 0].copy(), pts, values)
    return cached


def fast(run: ac.TrainingRun, kept: bool = True) -> dict[str, dict]:
    """The loss and the latest adjoint flow; with the session's kept runs (compare.py; ``kept``), their lines on
    the loss chart and the ||mu_0|| / ||mu_N|| chart. The smoothed train loss averages an epoch, at most 200
    steps."""
    h, (losses, ratios) = run.history, compare.overlays(run) if kept else ([], [])
    mu = h.mu_norms
    figs = {"loss_chart": describe.summarised(
                figures.loss_figure(h.step, h.loss, h.epoch_step, h.test_loss, max(1, min(run.steps_per_epoch, 200)),
                                    losses),
                describe.loss(h.step, h.loss, h.test_loss, run.steps_per_epoch)),
            "mu_bar": mu_bar(mu[-1] if len(mu) else np.full(run.net.n_layers + 1, np.nan))}
    if ratios:
        figs["ratio_chart"] = describe.summarised(figures.ratio_figure(ratios), describe.ratio_lines(
            [(name, float(y[-1]) if len(y) else math.nan) for name, _, y, _ in ratios]))
    return figs


def mu_bar(mu_norms_last: np.ndarray, *title: str) -> dict:
    """The mu bars of one step (norms in backward order, output first) with their summary; ``title`` as
    figures.mu_bar_figure takes it."""
    return describe.summarised(figures.mu_bar_figure(mu_norms_last, *title),
                               describe.flow(mu_norms_last[0], mu_norms_last[-1]))


def fit(run: ac.TrainingRun) -> dict[str, dict]:
    """The run's own fit."""
    return fit_figures(run, run.net)


def fit_figures(run: ac.TrainingRun, net: ac.MLP) -> dict[str, dict]:
    """The fit of ``net`` (the run's, or a replayed one) to the run's target: 1D curve or 2D heatmaps and, for
    a 2D target, the slice through the centre."""
    axis, pts, target_vals = fit_grid(run.data.target)
    with np.errstate(all="ignore"):
        pred = net.predict(pts)
    if run.data.target.dim == 1:
        return {"fit_chart": describe.summarised(figures.fit_1d_figure(run.data.x, run.data.y, pts, target_vals, pred),
                                                 describe.fit(target_vals, pred))}
    r = len(axis)
    t2, p2 = target_vals.reshape(r, r), pred.reshape(r, r)
    if not np.isfinite(t2).all():
        return {"fit_chart": describe.summarised(figures.data_2d_figure(axis, p2, run.data.x, run.data.y),
                                                 describe.spread("The prediction over the grid", p2))}
    c = r // 2
    return {"fit_chart": describe.summarised(figures.fit_2d_figure(axis, t2, p2, (float(t2.min()), float(t2.max()))),
                                             describe.fit(t2, p2)),
            "slice_chart": describe.summarised(figures.slice_figure(axis, t2[c], p2[c], float(axis[c])),
                                               describe.fit(t2[c], p2[c], f"along the slice y = {axis[c]:.2f}"))}


def mu_heatmap(run: ac.TrainingRun) -> dict[str, dict]:
    """||mu_i|| of every layer over the steps."""
    h = run.history
    step, mu = h.step, h.mu_norms
    return {"mu_heatmap": describe.summarised(figures.mu_heatmap_figure(step, mu), describe.mu_history(step, mu))}


def grad(run: ac.TrainingRun) -> dict[str, dict]:
    """The weight gradients' norms over the steps."""
    step, norms = run.history.step, run.history.grad_norms
    return {"grad_chart": describe.summarised(figures.grad_norm_figure(step, norms), describe.grads(step, norms))}


GROUPS: dict[str, Callable[[ac.TrainingRun], dict[str, dict]]] = {
    "fast": fast, "fit": fit, "mu_heatmap": mu_heatmap, "grad": grad}
SHARED_GROUPS = {**GROUPS, "fast": functools.partial(fast, kept=False)}   # a room's: no viewer's kept runs


def all_figures(run: ac.TrainingRun) -> dict[str, dict]:
    """Every chart's figure of the run as it is now, by key."""
    return {key: fig for build in GROUPS.values() for key, fig in build(run).items()}
