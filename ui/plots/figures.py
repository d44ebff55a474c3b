"""Pure Plotly figure builders for the Train page: arrays in, figure dicts out.

Figures are plain dicts (Plotly's JSON schema) rather than ``go.Figure`` objects built call by call:
the same picture costs several times less server time per frame, which matters while training live.
Arrays are sent as float32 and long histories are decimated first. Each figure carries its whole look
(theme.TEMPLATE, explicit colour scales), so st.plotly_chart(theme=None) and plotly.js called directly
(``to_json`` for the live component) draw it the same. Line charts get explicit axis ranges: Plotly's
autorange over every point and the extra tick labels of short log ranges were much of each redraw's cost.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

from . import theme
from .arrays import plot_array

Array = np.ndarray
Figure = dict[str, Any]
Kept = tuple[str, Array, Array, str]   # a kept run's line: (name, step (n,), value (n,), colour)
MAX_POINTS = 500   # per line; longer histories are decimated before they are sent
MAX_COLUMNS = 300   # steps in the layer-by-step heatmap
BAR_TEXT = "%{y:.1e}"                           # one number format for every bar label
BAR_TEXT_FIT = {"mode": "hide", "minsize": 10}  # a label that would have to shrink below 10 px is left out


_DTYPES = {"float32": "f4", "float64": "f8", "int8": "i1", "int16": "i2", "int32": "i4", "uint8": "u1"}


def _typed(o: Any) -> Any:
    """JSON for what json.dumps cannot write: arrays as plotly.js typed-array specs (base64), numpy scalars."""
    if isinstance(o, np.ndarray):
        if o.dtype.name not in _DTYPES:
            o = o.astype(np.float64 if o.dtype.kind == "f" else np.int32)
        spec = {"dtype": _DTYPES[o.dtype.name], "bdata": base64.b64encode(np.ascontiguousarray(o)).decode("ascii")}
        if o.ndim > 1:
            spec["shape"] = ", ".join(map(str, o.shape))
        return spec
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _finite(o: Any) -> Any:
    """o with every non-finite float (outside arrays) replaced by None, as Plotly's own JSON encoder does."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (float, np.floating)) and not math.isfinite(o):
        return None
    return o


def to_json(fig: Figure) -> str:
    """The figure as Plotly JSON, arrays in plotly.js's typed-array form (as st.plotly_chart sends them)."""
    try:
        return json.dumps(fig, default=_typed, separators=(",", ":"), allow_nan=False)
    except ValueError:   # a NaN or inf scalar somewhere: JSON has no such numbers
        return json.dumps(_finite(fig), default=_typed, separators=(",", ":"), allow_nan=False)


def decimate(n: int, max_points: int = MAX_POINTS) -> Array | slice:
    """Row selector keeping at most ~max_points of n rows, always the first and the last."""
    if n <= max_points:
        return slice(None)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


def smooth(y: Array, window: int) -> Array:
    """Trailing moving average of y (n,) over ``window`` points, taken in log space (losses span decades)."""
    if len(y) == 0 or window <= 1:
        return y
    c = np.concatenate([[0.0], np.cumsum(np.log(np.maximum(y, 1e-300)))])
    i = np.arange(1, len(y) + 1)
    lo = np.maximum(i - window, 0)
    return np.exp((c[i] - c[lo]) / (i - lo))


def nice_bound(v: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= v (colour ranges that do not flicker)."""
    if not np.isfinite(v) or v <= 0:
        return 1.0
    k = np.floor(np.log10(v))
    return float(next(m * 10**k for m in (1, 2, 5, 10) if m * 10**k >= v))


def line(x: Array, y: Array, name: str, color: str, width: float = 2, **kw: Any) -> dict[str, Any]:
    """A line trace; a single point (after one step) gets a marker, which a bare line would not show."""
    return {"type": "scatter", "x": plot_array(x), "y": plot_array(y), "name": name,
            "mode": "lines" if len(x) > 1 else "lines+markers",
            "line": {"color": color, "width": width, **kw.pop("line", {})}, **kw}


LOG_AXIS = {"type": "log", "exponentformat": "power"}
# One entry per layer, top to bottom at the right: a row of 5+ entries above the plot ran over the title.
SIDE_LEGEND = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}
NO_STEPS = "No training steps yet: press Step, Epoch or Play"
NOT_STARTED = "No training steps yet: this run has not started"   # for a page that watches another's run


def noted(fig: Figure, text: str = NO_STEPS) -> Figure:
    """The figure with nothing to draw yet (a run at step 0): its title and a centred note instead of empty axes
    (one empty trace: st.plotly_chart refuses a figure with no traces)."""
    note = {"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
            "font": {"size": theme.FONT_SIZE, "color": theme.MUTED}}
    layout = {**fig["layout"], "annotations": [note], "showlegend": False,
              "xaxis": {"visible": False}, "yaxis": {"visible": False}}
    return {"data": [{"type": "scatter", "x": [], "y": [], "hoverinfo": "skip"}], "layout": layout}


def watched(fig: Figure) -> Figure:
    """The figure as a page that watches the run sees it (a room's follower, the teacher's spotlight): its note
    says the run has not started instead of asking for a press of Step, Epoch or Play, which that page has not."""
    notes = fig["layout"].get("annotations", [])
    if not any(note.get("text") == NO_STEPS for note in notes):
        return fig
    notes = [{**note, "text": NOT_STARTED} if note.get("text") == NO_STEPS else note for note in notes]
    return {**fig, "layout": {**fig["layout"], "annotations": notes}}


def _x_range(x: Array) -> dict[str, Any]:
    """An explicit x range for a line chart (Plotly's autorange over every point is a large part of a redraw)."""
    x = x[np.isfinite(x)]
    if not len(x):
        return {}
    lo, hi = float(x.min()), float(x.max())
    return {"range": [lo, hi if hi > lo else lo + 1.0]}


def log_range(*ys: Array, pad: float = 0.05) -> dict[str, Any]:
    """An explicit log-axis range over the positive finite values of ys, padded and widened to whole decades,
    so the axis stays put from frame to frame while training live; ticks on whole decades (at most about 8):
    Plotly's own 2-to-9 labels on short ranges crowd the axis and cost as much to draw as the lines."""
    v = np.concatenate([np.ravel(y) for y in ys]) if ys else np.empty(0)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return {}
    lo, hi = float(np.log10(v.min())), float(np.log10(v.max()))
    margin = pad * max(hi - lo, 0.5)
    lo, hi = float(np.floor(lo - margin)), float(np.ceil(hi + margin))
    return {"range": [lo, hi], "dtick": next(d for d in (1, 2, 5, 10, 20, 50, 100, 1000) if d * 8 >= hi - lo)}


SHORT_LOG_SPAN = 2   # decades: a loss axis this short is labelled at 1, 2 and 5 of each decade
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _short_log_ticks(lo: int, hi: int) -> dict[str, Any]:
    """Labels at 1, 2 and 5 times each power of ten from 10^lo to 10^hi: on a span of a decade or two, labels on
    whole decades alone leave a number like 0.2 to guesswork. Plain numbers from 0.01 to 5000, else m·10ᵏ."""
    ticks = [(m, k) for k in range(lo, hi + 1) for m in (1, 2, 5) if k < hi or m == 1]
    text = [f"{m * 10.0**k:g}" if -2 <= k <= 3 else ("" if m == 1 else f"{m}·") + "10" + str(k).translate(SUPERSCRIPTS)
            for m, k in ticks]
    return {"tickmode": "array", "tickvals": [m * 10.0**k for m, k in ticks], "ticktext": text}


def loss_figure(step: Array, loss: Array, epoch_step: Array, test_loss: Array, smooth_window: int,
                kept: list[Kept] | tuple = ()) -> Figure:
    """Train loss per step (raw and smoothed) and the test loss per epoch, log y; and ``kept`` runs' raw train
    losses, smoothed with the same window, as dotted lines."""
    sel = decimate(len(step))
    shown = [loss[sel]]
    data = [line(step[sel], loss[sel], "train (batch)", theme.TRAIN, 1, opacity=0.35),
            line(step[sel], smooth(loss, smooth_window)[sel], "train (smoothed)", theme.SMOOTH, 2.5)]
    if np.isfinite(test_loss).any():
        esel = decimate(len(epoch_step))
        shown.append(test_loss[esel])
        data.append(line(epoch_step[esel], test_loss[esel], "test (per epoch)", theme.TEST, 2,
                          mode="lines+markers", marker={"size": 4}, line={"dash": "dash"}))
    for name, x, y, color in kept:
        ksel = decimate(len(x))
        shown.append(y[ksel])
        data.append(line(x[ksel], smooth(y, smooth_window)[ksel], name, color, 2, line={"dash": "dot"}))
    xs = np.concatenate([step, *(x for _, x, _, _ in kept)]) if kept else step
    y_range = log_range(*shown)
    if y_range and y_range["range"][1] - y_range["range"][0] <= SHORT_LOG_SPAN:
        y_range = {"range": y_range["range"], **_short_log_ticks(*map(int, y_range["range"]))}
    fig = {"data": data, "layout": theme.layout("Loss", xaxis={"title": {"text": "step"}, **_x_range(xs)},
                                           yaxis={**LOG_AXIS, "title": {"text": "loss"}, **y_range},
                                           **({"legend": SIDE_LEGEND, "showlegend": True} if kept else {}))}
    return fig if len(xs) else noted(fig)


def ratio_figure(lines: list[Kept]) -> Figure:
    """||mu_0|| / ||mu_N|| per step of each run (one line at least), log y: below 1 the adjoint shrinks on its
    way to the input.  The first line (this run) is solid, the others (kept runs) dotted over it, as on the loss
    chart: a kept run identical to this run leaves it visible."""
    data = [line(x[decimate(len(x))], y[decimate(len(x))], name, color, 2, line={"dash": "dot"} if i else {})
            for i, (name, x, y, color) in enumerate(lines)]
    xs = np.concatenate([x for _, x, _, _ in lines])
    return {"data": data, "layout": theme.layout("Adjoint reaching the input ‖μ₀‖ / ‖μ_N‖", legend=SIDE_LEGEND,
                                            xaxis={"title": {"text": "step"}, **_x_range(xs)},
                                            yaxis={**LOG_AXIS, **log_range(*(y for _, _, y, _ in lines))})}


def titled(fig: Figure, title: str) -> Figure:
    """The figure with another title."""
    layout = fig["layout"]
    return {**fig, "layout": {**layout, "title": {**layout["title"], "text": title}}}


def step_marker(fig: Figure, step: int) -> Figure:
    """The figure with a dotted vertical line at ``step`` on its x axis (the step a replay shows)."""
    line = {"type": "line", "xref": "x", "yref": "paper", "x0": step, "x1": step, "y0": 0, "y1": 1,
            "line": {"color": theme.TEXT, "width": 1.5, "dash": "dot"}}
    return {**fig, "layout": {**fig["layout"], "shapes": [*fig["layout"].get("shapes", []), line]}}


def fit_1d_figure(x: Array, y: Array, grid_x: Array, target_y: Array, pred_y: Array) -> Figure:
    """Training data, the target function and the network's prediction on a dense grid."""
    sel = decimate(len(x), 2000)
    data = [{"type": "scatter", "x": plot_array(x[sel, 0]), "y": plot_array(y[sel, 0]), "mode": "markers",
             "name": "data", "marker": {"color": theme.DATA, "size": 6}}]
    if np.isfinite(target_y).all():
        data.append(line(grid_x[:, 0], target_y[:, 0], "target", theme.TARGET, 2, line={"dash": "dash"}))
    data.append(line(grid_x[:, 0], pred_y[:, 0], "prediction", theme.TRAIN, 3))
    return {"data": data, "layout": theme.layout("Fit", theme.HEIGHT + 60, xaxis={"title": {"text": "x"}},
                                            yaxis={"title": {"text": "y"}})}


# x domains of the target, prediction and error panels: the first two share the colour bar that stands in the
# wide gap after the second, so its tick labels stay clear of the error panel even on a phone.
FIT_PANELS = ((0.0, 0.27), (0.30, 0.57), (0.73, 1.0))
FIT_COLORBAR = {"xanchor": "left", "xpad": 2, "len": 0.9, "thickness": 10, "nticks": 5, "tickfont": {"size": 11}}
FIT_2D = "fit_2d"   # layout.meta of fit_2d_figure, which for_phone lays out anew
# On a phone (about 320 px of plot width): target and prediction side by side over their shared colour bar, the
# error below over its own, each bar lying under its maps (no taller than them) with at most 3 or 5 tick labels.
# Rows as (y domain, colour bar's top) in the plot area's fractions, for PHONE_FIT_HEIGHT and PHONE_FIT_MARGIN.
PHONE_FIT_HEIGHT = 480
PHONE_FIT_MARGIN = {"l": 35, "r": 10, "t": 45, "b": 15}
PHONE_FIT_ROWS = ((0.6, 0.953), (0.08, 0.42))
PHONE_FIT_COLUMNS = ((0.0, 0.46), (0.54, 1.0))
PHONE_FIT_BAR_TOP = (0.576, 0.055)


def fit_2d_figure(axis: Array, target: Array, pred: Array, zrange: tuple[float, float]) -> Figure:
    """Target, prediction (one colour scale, fixed to the target's range) and error heatmaps, (r, r) each.

    The error has its own diverging scale, symmetric about 0, snapped to 1-2-5 steps so it does not flicker.
    """
    err = pred - target
    emax = nice_bound(float(np.nanmax(np.abs(err))) if np.isfinite(err).any() else 1.0)
    a = plot_array(axis)
    titles = ("target", "prediction", "error")   # short: each panel is about 80 px wide on a phone
    data, layout = [], theme.layout("Fit over the input plane (error = prediction − target)", theme.HEIGHT + 30,
                               annotations=[], meta=FIT_2D)
    for k, ((lo, hi), z, title) in enumerate(zip(FIT_PANELS, (target, pred, err), titles), start=1):
        sx = "" if k == 1 else str(k)
        data.append({"type": "heatmap", "x": a, "y": a, "z": plot_array(z), "xaxis": f"x{sx}", "yaxis": f"y{sx}",
                     "zsmooth": "fast",   # drawn at the grid's size and scaled: much cheaper than cell by cell
                     "coloraxis": "coloraxis2" if k == 3 else "coloraxis", "name": title,
                     "hovertemplate": "x=%{x:.2f}<br>y=%{y:.2f}<br>%{z:.3g}<extra>" + title + "</extra>"})
        layout[f"xaxis{sx}"] = {"domain": [lo, hi], "anchor": f"y{sx}", "constrain": "domain"}
        layout[f"yaxis{sx}"] = {"anchor": f"x{sx}", "scaleanchor": f"x{sx}", "constrain": "domain",
                                "showticklabels": k == 1}   # same y as the first panel; keeps the colour bars clear
        layout["annotations"].append({"text": title, "x": (lo + hi) / 2, "y": 1.0, "xref": "paper",
                                      "yref": "paper", "showarrow": False, "yanchor": "bottom",
                                      "font": {"size": theme.FONT_SIZE}})
    layout["coloraxis"] = {"colorscale": theme.colorscale(theme.SEQUENTIAL), "cmin": zrange[0], "cmax": zrange[1],
                           "colorbar": {**FIT_COLORBAR, "x": FIT_PANELS[1][1] + 0.005}}
    layout["coloraxis2"] = {"colorscale": theme.colorscale(theme.DIVERGING), "cmin": -emax, "cmax": emax,
                            "colorbar": {**FIT_COLORBAR, "x": FIT_PANELS[2][1] + 0.005}}
    return {"data": data, "layout": layout}


def for_phone(fig: Figure) -> Figure:
    """The figure as a phone draws it: fit_2d_figure's three heatmaps in two rows (PHONE_FIT_ROWS), their colour
    bars horizontal under them, x tick labels left out (the y axis gives the same plane's scale); any other
    figure as it is."""
    layout = fig["layout"]
    if layout.get("meta") != FIT_2D:
        return fig
    (top, bottom), (left, right) = PHONE_FIT_ROWS, PHONE_FIT_COLUMNS
    cells = ((top, left), (top, right), (bottom, left))   # target, prediction, error
    layout = {**layout, "height": PHONE_FIT_HEIGHT, "margin": PHONE_FIT_MARGIN,
              "title": {**layout["title"], "text": "Fit (error = prediction − target)"}}
    for k, (rows, cols) in enumerate(cells, start=1):
        sx = "" if k == 1 else str(k)
        layout[f"xaxis{sx}"] = {**layout[f"xaxis{sx}"], "domain": list(cols), "showticklabels": False}
        layout[f"yaxis{sx}"] = {**layout[f"yaxis{sx}"], "domain": list(rows), "showticklabels": cols == left}
    layout["annotations"] = [{**a, "x": (cols[0] + cols[1]) / 2, "y": rows[1]}
                             for a, (rows, cols) in zip(layout["annotations"], cells)]
    bar = {"orientation": "h", "xanchor": "center", "yanchor": "top", "thickness": 10, "tickfont": {"size": 11}}
    layout["coloraxis"] = {**layout["coloraxis"], "colorbar": {**bar, "x": 0.5, "len": 1.0, "nticks": 5,
                                                               "y": PHONE_FIT_BAR_TOP[0]}}
    layout["coloraxis2"] = {**layout["coloraxis2"], "colorbar": {**bar, "x": (left[0] + left[1]) / 2,
                                                                 "len": left[1] - left[0], "nticks": 3,
                                                                 "y": PHONE_FIT_BAR_TOP[1]}}
    return {**fig, "layout": layout}


def slice_figure(axis: Array, target_row: Array, pred_row: Array, at: float) -> Figure:
    """The horizontal centre slice: target and prediction along x at fixed y."""
    data = [line(axis, target_row, "target", theme.TARGET, 2, line={"dash": "dash"}),
            line(axis, pred_row, "prediction", theme.TRAIN, 3)]
    return {"data": data, "layout": theme.layout(f"Horizontal centre slice (y = {at:.2f})",
                                            xaxis={"title": {"text": "x"}})}


def data_2d_figure(axis: Array, pred: Array, x: Array, y: Array) -> Figure:
    """Uploaded 2D data: the prediction as a heatmap with the data points on the same colour scale."""
    sel = decimate(len(x), 3000)
    a = plot_array(axis)
    data = [{"type": "heatmap", "x": a, "y": a, "z": plot_array(pred), "coloraxis": "coloraxis", "name": "prediction"},
            {"type": "scatter", "x": plot_array(x[sel, 0]), "y": plot_array(x[sel, 1]), "mode": "markers",
             "name": "data", "marker": {"color": plot_array(y[sel, 0]), "coloraxis": "coloraxis", "size": 7,
                        "line": {"color": "white", "width": 0.5}}}]
    layout = theme.layout("Prediction (heatmap) and your data (points)", theme.HEIGHT + 80,
                     coloraxis={"colorscale": theme.colorscale(theme.SEQUENTIAL), "cmin": float(np.min(y)),
                                "cmax": float(np.max(y))},
                     yaxis={"scaleanchor": "x"})
    return {"data": data, "layout": layout}


def mu_names(n_layers: int) -> list[str]:
    """Labels of mu_N, ..., mu_0 in backward order."""
    return [f"μ{n_layers - k}" + (" (output)" if k == 0 else " (input)" if k == n_layers else "")
            for k in range(n_layers + 1)]


def mu_bar_figure(mu_norms_last: Array, title: str = "Adjoint flow ‖μᵢ‖, last step  (backward →)") -> Figure:
    """||mu_i|| of the latest step (or another batch) in backward order, mu_N (output) to mu_0 (input), log y."""
    names = mu_names(len(mu_norms_last) - 1)
    bar = {"type": "bar", "x": names, "y": plot_array(mu_norms_last), "marker": {"color": theme.MU},
           "texttemplate": BAR_TEXT, "textposition": "outside", "cliponaxis": False,
           "hovertemplate": "%{x}: ‖μ‖ = %{y:.3g}<extra></extra>"}
    fig = {"data": [bar], "layout": theme.layout(title, uniformtext=BAR_TEXT_FIT,
                                            yaxis={**LOG_AXIS, "title": {"text": "‖μᵢ‖ (Frobenius, batch)"},
                                                   **log_range(mu_norms_last)})}
    return fig if np.isfinite(mu_norms_last).any() else noted(fig)


def mu_heatmap_figure(step: Array, mu_norms: Array) -> Figure:
    """log10 ||mu_i|| as a layer x step heatmap: vanishing or exploding adjoints show as bands."""
    sel = decimate(len(step), MAX_COLUMNS)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(mu_norms[sel].T)
    z[~np.isfinite(z)] = np.nan
    heat = {"type": "heatmap", "x": plot_array(step[sel]), "y": mu_names(mu_norms.shape[1] - 1), "z": plot_array(z),
            "colorscale": theme.colorscale(theme.LOG_MU), "colorbar": {"title": {"text": "log₁₀‖μ‖"}, "thickness": 12},
            "hovertemplate": "step %{x:.0f}<br>%{y}<br>log₁₀‖μ‖ = %{z:.2f}<extra></extra>"}
    fig = {"data": [heat], "layout": theme.layout("log₁₀ ‖μᵢ‖ over training (output at the top)",
                                             xaxis={"title": {"text": "step"}}, yaxis={"autorange": "reversed"})}
    return fig if len(step) else noted(fig)


def grad_norm_figure(step: Array, grad_norms: Array) -> Figure:
    """||dL/dW_i|| per layer over training, log y; each layer's line has its own colour and dash."""
    sel = decimate(len(step))
    colors = theme.layer_palette(grad_norms.shape[1])
    data = [line(step[sel], grad_norms[sel, i], f"W{i + 1}", c, 1.8,
                  line={"dash": theme.DASHES[i % len(theme.DASHES)]}) for i, c in enumerate(colors)]
    fig = {"data": data, "layout": theme.layout("Parameter gradients ‖∂L/∂Wᵢ‖", legend=SIDE_LEGEND,
                                           xaxis={"title": {"text": "step"}, **_x_range(step)},
                                           yaxis={**LOG_AXIS, **log_range(grad_norms[sel])})}
    return fig if len(step) else noted(fig)
