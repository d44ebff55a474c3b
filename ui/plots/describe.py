"""Charts in words, for a screen reader: each chart's one-sentence summary and its "Show data" table.

The numbers come from adjoint_core.summaries; this module only words them.  A summary travels with its figure
dict under SUMMARY (``summarised``): ui/screen/charts.py and the live board (ui/train/board.py, live_board.js)
take it out and give it to the chart as its accessible description, the figure's title being its accessible name
(``name``).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from adjoint_core import summaries

if TYPE_CHECKING:
    import pandas as pd

Array = np.ndarray
SUMMARY = "summary"   # the figure dict's key for its summary (plotly.js ignores it)
MAX_ROWS = 400        # rows of a "Show data" table; longer data is decimated evenly
NO_STEPS = "No training steps yet."


def number(v: float) -> str:
    """A number in at most 8 characters (a metric on a 1280-pixel projector): 0.2834, 550.4, 5.12e-4, 1.40e+6;
    "–" when it is not finite."""
    if not math.isfinite(v):
        return "–"
    if 1e-3 <= abs(v) < 1e4 or v == 0:
        return f"{v:.4g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


def times(ratio: float) -> str:
    """before / now as words: "10 times lower than", "2.5 times higher than", "about the same as"."""
    if not math.isfinite(ratio) or ratio <= 0:
        return "not comparable with"
    if 1 / 1.1 < ratio < 1.1:
        return "about the same as"
    return f"{ratio:.2g} times lower than" if ratio > 1 else f"{1 / ratio:.2g} times higher than"


def summarised(fig: dict, text: str) -> dict:
    """The figure dict carrying its summary."""
    return {**fig, SUMMARY: text}


def name(fig: Any) -> str:
    """A chart's accessible name: "Chart: " and its title as plain text."""
    layout = fig["layout"] if isinstance(fig, dict) else fig.layout.to_plotly_json()
    title = (layout.get("title") or {}).get("text") or ""
    return "Chart: " + " ".join(re.sub(r"<[^>]+>", " ", title).split())


# --- the Train page --------------------------------------------------------------------------------
def loss(step: Array, loss_values: Array, test_loss: Array, window: int) -> str:
    """"Loss 0.012 at step 3,400, 10 times lower than 1,000 steps ago; test loss 0.015." (loss_trend)"""
    t = summaries.loss_trend(step, loss_values, test_loss, window)
    if not len(step):
        return NO_STEPS
    text = f"Train loss {number(t.loss)} at step {t.step:,.0f}"
    if t.lookback:
        text += f", {times(t.ratio)} {t.lookback:,} steps before"
    return text + (f"; test loss {number(t.test_loss)}." if math.isfinite(t.test_loss) else ".")


def flow(output: float, input: float) -> str:
    """"‖μ‖ falls from 1.2 at the output to 3e-6 at the input: vanishing." (mu_flow)"""
    f = summaries.mu_flow(output, input)
    if f.verdict == "unknown":
        return NO_STEPS if math.isnan(f.output) else "The adjoint norms are not finite: the run diverged."
    way = "falls" if f.ratio < 1 else "grows"
    return (f"‖μ‖ {way} from {number(f.output)} at the output to {number(f.input)} at the input "
            f"(ratio {number(f.ratio)}): {f.verdict}.")


def ratio_lines(lines: list[tuple[str, float]]) -> str:
    """The latest ‖μ₀‖ / ‖μ_N‖ of each (run name, value) with its verdict."""
    parts = [f"{run} {number(v)} ({summaries.verdict(v)})" for run, v in lines]
    return "Latest ‖μ₀‖ / ‖μ_N‖: " + "; ".join(parts) + "."


def mu_history(step: Array, mu_norms: Array) -> str:
    """The ratio at the first and the latest recorded step (mu_norms in backward order, output first)."""
    if not len(step):
        return NO_STEPS
    first, last = (summaries.mu_flow(mu_norms[k, 0], mu_norms[k, -1]) for k in (0, -1))
    return (f"‖μ₀‖ / ‖μ_N‖ was {number(first.ratio)} ({first.verdict}) at step {step[0]:,.0f} and is "
            f"{number(last.ratio)} ({last.verdict}) at step {step[-1]:,.0f}.")


def grads(step: Array, grad_norms: Array) -> str:
    """The largest and smallest weight gradient norm at the latest step (columns W_1, ..., W_N)."""
    if not len(step):
        return NO_STEPS
    e = summaries.extremes(grad_norms[-1])
    if e.low_at < 0:
        return "The gradient norms are not finite: the run diverged."
    return (f"At step {step[-1]:,.0f} the largest weight gradient is ‖∂L/∂W{e.high_at + 1}‖ = {number(e.high)}, "
            f"the smallest ‖∂L/∂W{e.low_at + 1}‖ = {number(e.low)}.")


def fit(target: Array, pred: Array, where: str = "over the grid") -> str:
    """The fit's root-mean-square and largest error against the target's range (fit_error)."""
    e = summaries.fit_error(target, pred)
    if math.isnan(e.rms):
        return "The prediction is not finite: the run diverged."
    return (f"Fit error {where}: root mean square {number(e.rms)}, largest {number(e.max_abs)}, "
            f"against a target range of {number(e.span)}.")


def spread(what: str, values: Array) -> str:
    """"{what} ranges from lo to hi." over the finite values (extremes)."""
    e = summaries.extremes(values)
    if e.low_at < 0:
        return f"{what} has no finite values."
    return f"{what} ranges from {number(e.low)} to {number(e.high)}."


def sweep(label: str, points: list[tuple[str, float]], diverged: int) -> str:
    """The class's sweep: where the latest loss is lowest and highest over (value of ``label``, loss) points,
    and how many runs diverged."""
    tail = f" {diverged} run{'s' if diverged != 1 else ''} diverged." if diverged else ""
    e = summaries.extremes(np.array([loss for _, loss in points], dtype=float))
    if e.low_at < 0:
        return f"No run has a finite loss yet.{tail}"
    (low_at, low), (high_at, high) = points[e.low_at], points[e.high_at]
    return (f"Lowest latest loss {number(low)} at {label} {low_at}; highest {number(high)} at {label} {high_at}."
            + tail)


# --- the teaching pages -----------------------------------------------------------------------------
def network(sizes: list[int], layer: int, mu_norms: Array) -> str:
    """The network diagram: its widths, the layer shown and the adjoint's flow (mu_norms input side first)."""
    return f"Network {' → '.join(map(str, sizes))} with layer {layer} highlighted. " + flow(mu_norms[-1], mu_norms[0])


def checks(names: list[str], rel_errors: Array, passed: list[bool]) -> str:
    """The gradient check: how many tensors pass and the largest relative error, and where."""
    e = summaries.extremes(rel_errors)
    worst = f" The largest relative error is {number(e.high)}, for {names[e.high_at]}." if e.high_at >= 0 else ""
    return f"{sum(passed)} of {len(passed)} checked tensors agree with finite differences.{worst}"


def errors(names: list[str], rel_errors: Array, pass_mark: float) -> str:
    """Each gradient variant's relative error against finite differences, and whether it passes."""
    parts = [f"{n} {number(e)} ({'passes' if e <= pass_mark else 'fails'})" for n, e in zip(names, rel_errors)]
    return f"Relative error against finite differences (pass mark {pass_mark:g}): " + "; ".join(parts) + "."


# --- "Show data" ------------------------------------------------------------------------------------
def _even(n: int, most: int) -> Array:
    return np.unique(np.linspace(0, n - 1, most).round().astype(int)) if n > most else np.arange(n)


def _values(v: Any) -> Array:
    return np.asarray(v if v is not None else [], dtype=object)


def _axis_title(layout: dict, axis: str) -> str:
    title = (layout.get(axis) or {}).get("title") or {}
    text = title.get("text") if isinstance(title, dict) else title
    return " ".join(re.sub(r"<[^>]+>", " ", text).split()) if text else ""


def table(fig: Any) -> pd.DataFrame:
    """A chart's data as rows: series, x, y (and z for a heatmap), at most MAX_ROWS, decimated evenly; x and y
    named by their axis titles where the chart has them."""
    import pandas as pd  # with pyarrow ~65 MB of a server's memory: loaded only once a table is shown
    data = fig["data"] if isinstance(fig, dict) else [t.to_plotly_json() for t in fig.data]
    layout = fig["layout"] if isinstance(fig, dict) else fig.layout.to_plotly_json()
    rows: list[pd.DataFrame] = []
    per = max(1, MAX_ROWS // max(1, len(data)))
    for k, trace in enumerate(data):
        series = trace.get("name") or f"series {k + 1}"
        if trace.get("z") is not None:
            z = np.asarray(trace["z"], dtype=float)
            ys, xs = np.indices(z.shape)
            x_axis, y_axis = _values(trace.get("x")), _values(trace.get("y"))
            keep = _even(z.size, per)
            xi, yi = xs.ravel()[keep], ys.ravel()[keep]
            rows.append(pd.DataFrame({"series": series,
                                      "x": x_axis[xi] if len(x_axis) == z.shape[1] else xi,
                                      "y": y_axis[yi] if len(y_axis) == z.shape[0] else yi,
                                      "z": z.ravel()[keep]}))
        elif trace.get("y") is not None and len(trace["y"]):
            y = _values(trace["y"])
            x = _values(trace.get("x"))
            keep = _even(len(y), per)
            rows.append(pd.DataFrame({"series": series, "x": x[keep] if len(x) == len(y) else keep, "y": y[keep]}))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"series": [], "x": [], "y": []})
    x, y = _axis_title(layout, "xaxis"), _axis_title(layout, "yaxis")
    names = {k: v for k, v in (("x", x), ("y", y)) if v and v not in frame.columns and x != y}
    return frame.rename(columns=names)
