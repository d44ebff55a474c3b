"""The Class page's charts: every joined student's run in one figure each, built once per update for the class.

``losses`` overlays the students' loss curves, coloured by their value of one setup field (the field the class
differs in); ``sweep`` plots each student's latest loss against that field: with a learning rate per student it is
the class's learning-rate sweep. ``sparkline`` is a card's own loss curve as a small inline SVG (no Plotly: one
per card would cost a chart each) as an image.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import describe, theme
from .figures import LOG_AXIS, SIDE_LEGEND, Figure, line, log_range, noted

DIVERGED = "#b3261e"   # a diverged run's marker
HEIGHT = 300           # pixels: both charts and the first cards fit a 1280x720 projector's screen


class Curve(NamedTuple):
    """One student's run as the class charts draw it."""

    name: str                 # the student's name as shown ("Student 7" with names hidden)
    value: str                # its value of the charts' field, as text ("0.01", "tanh")
    step: Sequence[float]     # its loss history (thinned)
    loss: Sequence[float]
    latest: float             # its latest loss (the card's)
    diverged: bool


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _ordered(values: set[str]) -> list[str]:
    """The field's values in order: by number when all are numbers, else as text."""
    numbers = {v: _number(v) for v in values}
    if all(n is not None for n in numbers.values()):
        return sorted(values, key=lambda v: numbers[v])
    return sorted(values)


def losses(curves: list[Curve], label: str) -> Figure:
    """Every student's loss curve, one colour per value of the field named ``label`` ("lr"), one legend entry
    per value; the loss axis spans the runs that did not diverge (a diverged one leaves it at the top)."""
    title = "Loss of every student's run"
    if not curves:
        return noted({"data": [], "layout": theme.layout(title, HEIGHT)},
                     "No student has joined yet: share the join link.")
    values = _ordered({c.value for c in curves})
    colours = dict(zip(values, theme.layer_palette(len(values)), strict=True))
    data, shown = [], set()
    for c in curves:
        group = html.escape(f"{label} {c.value}".strip())   # Plotly draws a name's or a text's HTML tags
        data.append(line(np.asarray(c.step, float), np.asarray(c.loss, float), group, colours[c.value], 1.5,
                          legendgroup=group, showlegend=group not in shown, text=[html.escape(c.name)] * len(c.step),
                          hovertemplate="%{text}<br>step %{x}<br>loss %{y:.3g}<extra>" + group + "</extra>"))
        shown.add(group)
    healthy = [np.asarray(c.loss, float) for c in curves if not c.diverged] or [np.asarray(c.loss, float)
                                                                                 for c in curves]
    fig = {"data": data, "layout": theme.layout(title, HEIGHT, xaxis={"title": {"text": "step"}}, legend=SIDE_LEGEND,
                                              yaxis={**LOG_AXIS, "title": {"text": "loss"}, **log_range(*healthy)})}
    return describe.summarised(fig, describe.spread(f"The {len(curves)} students' latest loss",
                                                    np.array([c.latest for c in curves])))


def _inset(axis: dict, share: float = 0.1) -> dict:
    """A log x axis's range widened by ``share`` of its span at each end: its first decade's label then stands
    clear of the loss axis's lowest one, which it would meet at the chart's corner."""
    lo, hi = axis["range"]
    return {**axis, "range": [lo - share * (hi - lo), hi + share * (hi - lo)]}


def sweep(curves: list[Curve], label: str, log_x: bool = False) -> Figure:
    """Each student's latest loss against their value of the field ``label``: on a log axis (``log_x``, a learning
    rate) when every value is positive, a linear one for other numbers, categories otherwise; diverged runs as
    crosses along the top; a run that has taken no step yet (no loss) is left out."""
    title = f"Latest loss against {label}"
    if not curves:
        return noted({"data": [], "layout": theme.layout(title, HEIGHT)}, "No student has joined yet.")
    numbers = [_number(c.value) for c in curves]
    numeric = all(n is not None for n in numbers)
    log_x = log_x and numeric and all(n > 0 for n in numbers)
    x = numbers if numeric else [html.escape(c.value) for c in curves]
    ok = [i for i, c in enumerate(curves) if not c.diverged and math.isfinite(c.latest) and c.latest > 0]
    bad = [i for i, c in enumerate(curves) if c.diverged]   # a run with no step yet is in neither
    top = max((curves[i].latest for i in ok), default=1.0) * 10
    data = [{"type": "scatter", "mode": "markers", "name": "latest loss", "x": [x[i] for i in ok],
             "y": [curves[i].latest for i in ok], "text": [html.escape(curves[i].name) for i in ok],
             "marker": {"color": theme.TRAIN, "size": 10},
             "hovertemplate": "%{text}<br>" + html.escape(label) + " %{x}<br>loss %{y:.3g}<extra></extra>"}]
    if bad:
        data.append({"type": "scatter", "mode": "markers", "name": "diverged", "x": [x[i] for i in bad],
                     "y": [top] * len(bad), "text": [html.escape(curves[i].name) for i in bad],
                     "marker": {"color": DIVERGED, "size": 11, "symbol": "x"},
                     "hovertemplate": "%{text}<br>" + html.escape(label) + " %{x}<br>diverged<extra></extra>"})
    xaxis = {"title": {"text": label},   # a learning rate's axis labelled at its whole decades, as the loss's
             **({**LOG_AXIS, **_inset(log_range(np.array(numbers)))} if log_x else {} if numeric
                else {"type": "category"})}
    if not numeric:
        xaxis["categoryorder"], xaxis["categoryarray"] = "array", _ordered(set(x))
    shown = np.array([curves[i].latest for i in ok] + [top] * bool(bad))
    fig = {"data": data, "layout": theme.layout(title, HEIGHT, xaxis=xaxis,
                                              yaxis={**LOG_AXIS, "title": {"text": "latest loss"}, **log_range(shown)})}
    return describe.summarised(fig, describe.sweep(label, [(curves[i].value, curves[i].latest) for i in ok],
                                                   len(bad)))


def sparkline(step: Sequence[float], loss: Sequence[float], name: str, width: int = 150, height: int = 36) -> str:
    """A card's loss curve (log scale) as an image of inline SVG (st.html keeps images, not SVG elements) with its
    words as alt text; "" before two finite points."""
    pts = [(s, math.log10(v)) for s, v in zip(step, loss, strict=True) if math.isfinite(v) and v > 0]
    if len(pts) < 2:
        return ""
    (s0, s1), (l0, l1) = (min(p[0] for p in pts), max(p[0] for p in pts)), (min(p[1] for p in pts),
                                                                            max(p[1] for p in pts))
    sx, sy = (width - 4) / ((s1 - s0) or 1), (height - 4) / ((l1 - l0) or 1)
    path = " ".join(f"{2 + (s - s0) * sx:.1f},{height - 2 - (v - l0) * sy:.1f}" for s, v in pts)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
           f'<polyline fill="none" stroke="{theme.TRAIN}" stroke-width="1.5" points="{path}"/></svg>')
    words = (f"{name}'s loss from {describe.number(10 ** pts[0][1])} to {describe.number(10 ** pts[-1][1])} over "
             f"{int(s1):,} steps")
    return (f'<img src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}" width="{width}" '
            f'height="{height}" alt="{html.escape(words, quote=True)}">')
