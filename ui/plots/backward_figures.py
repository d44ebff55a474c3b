"""Pure Plotly figure builders for the Backward pass page: arrays in, figures out (no Streamlit, no maths)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import theme
from .arrays import plot_array
from .figures import BAR_TEXT, BAR_TEXT_FIT

Array = np.ndarray
MAX_NODES = 16        # units drawn per layer column in the network diagram
MAX_CELLS_SIDE = 256  # heatmap rows/columns sent to the browser
LOG_SPAN = 8.0        # decades shown by log colour scales; smaller values share the darkest colour
SHARED_SPAN = 10.0    # decades of the log scale the adjoint-field panels share (the vanishing demo spans 9)
EDGE_GREY = "rgba(150, 160, 170, 0.18)"
EDGE_HOT = "rgba(142, 68, 173, 0.45)"   # theme.MU, translucent
MU_OTHER = "#a77fc0"     # the bars of the layers not stepped through: theme.MU lighter, still 3:1 on white


def short(v: float) -> str:
    """A number in at most ~7 characters: 0.226, 153, 1.34e4, 4.99e-6."""
    v = float(v)
    if not np.isfinite(v) or v == 0:
        return str(v) if not np.isfinite(v) else "0"
    if 1e-2 <= abs(v) < 1e4:
        return f"{v:.3g}"
    mant, exp = f"{v:.2e}".split("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"


def _layout(fig: go.Figure, title: str, height: int, **kw) -> go.Figure:
    fig.update_layout(theme.layout(title, height, margin=dict(l=50, r=10, t=44, b=36), **kw))
    return fig


def shown_units(width: int, max_nodes: int = MAX_NODES) -> Array:
    """The unit indices drawn for a layer of ``width`` units: all, or ``max_nodes`` evenly spread."""
    if width <= max_nodes:
        return np.arange(width)
    return np.unique(np.linspace(0, width - 1, max_nodes).round().astype(int))


def log_range(values: list[Array], span: float = LOG_SPAN) -> tuple[float, float]:
    """(cmin, cmax) of log10 over the positive finite values, at most ``span`` decades apart."""
    pos = np.concatenate([np.ravel(v) for v in values])
    pos = pos[np.isfinite(pos) & (pos > 0)]
    if not pos.size:
        return -1.0, 0.0
    hi = float(np.log10(pos.max()))
    lo = max(float(np.log10(pos.min())), hi - span)
    return (lo, hi) if hi > lo else (hi - 1.0, hi)


def _log10(v: Array, floor: float) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.asarray(v, dtype=float))
    out[~np.isfinite(out)] = floor
    return np.maximum(out, floor)


def network_diagram(sizes: list[int], mean_abs_mu: list[Array], layer: int, height: int = 380) -> go.Figure:
    """Layers as columns of nodes, coloured by log10 of |mu| per unit averaged over the batch.

    sizes [d_0, ..., d_N]; mean_abs_mu[k] (d_k,) for k = 0..N; ``layer`` i in 1..N is highlighted: its
    two columns z_{i-1}, z_i and the edges of W_i between them.  Columns wider than MAX_NODES are thinned.
    """
    n = len(sizes) - 1
    cmin, cmax = log_range(mean_abs_mu)
    shown = [shown_units(d) for d in sizes]
    span = max(len(s) for s in shown)
    ys = [np.linspace(-(len(s) - 1) / 2, (len(s) - 1) / 2, len(s)) if len(s) > 1 else np.zeros(1) for s in shown]
    fig = go.Figure()
    for hot in (False, True):
        ex, ey = [], []
        for k in range(n):
            if (k + 1 == layer) != hot:
                continue
            for y0 in ys[k]:
                for y1 in ys[k + 1]:
                    ex += [k, k + 1, None]
                    ey += [y0, y1, None]
        fig.add_scatter(x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False,
                        line=dict(color=EDGE_HOT if hot else EDGE_GREY, width=1.6 if hot else 0.8))
    for k in range(n + 1):
        units = shown[k]
        vals = np.asarray(mean_abs_mu[k])[units]
        current = k in (layer - 1, layer)
        fig.add_scatter(
            x=np.full(len(units), k, dtype=np.float32), y=plot_array(ys[k]), mode="markers", showlegend=False,
            marker=dict(size=15 if current else 12, color=plot_array(_log10(vals, cmin)), coloraxis="coloraxis",
                        line=dict(color=theme.MU if current else "#5b6570", width=3 if current else 0.8)),
            customdata=plot_array(np.column_stack([units + 1, vals])),
            hovertemplate=f"z<sub>{k}</sub> unit %{{customdata[0]:.0f}}<br>mean |μ| = %{{customdata[1]:.3g}}"
                          "<extra></extra>")
    bottom = -(span - 1) / 2 - 1.0
    for k, d in enumerate(sizes):   # short labels: a phone gives each of four columns about 70 px
        fig.add_annotation(x=k, y=bottom, text=f"<b>z<sub>{k}</sub></b><br>{d}", showarrow=False, yanchor="top",
                           font=dict(size=12))
    thinned = [(len(s), d) for s, d in zip(shown, sizes) if len(s) < d]
    note = f"z<sub>0</sub> input → z<sub>{n}</sub> output, with their widths"
    if thinned:
        note += "; " + ", ".join(dict.fromkeys(f"{a} of {d} units shown" for a, d in thinned))
    fig.add_annotation(x=0.0, y=0.0, xref="paper", yref="paper", xanchor="left", yanchor="top", showarrow=False,
                       text=note, font=dict(size=11, color="#5b6570"))
    fig.add_annotation(x=layer - 0.5, y=(span - 1) / 2 + 1.2, text=f"<b>layer {layer}: W<sub>{layer}</sub></b>  ← μ",
                       showarrow=False, font=dict(size=13, color=theme.MU))
    _layout(fig, "Network: colour = mean |μ| per unit", height,
            coloraxis=dict(colorscale=theme.colorscale(theme.LOG_MU), cmin=cmin, cmax=cmax,
                           colorbar=dict(title="log₁₀ mean|μ|", thickness=12, len=0.9)))
    fig.update_xaxes(visible=False, range=[-0.5, n + 0.5])
    fig.update_yaxes(visible=False, range=[bottom - 2.4, (span - 1) / 2 + 1.9])
    fig.update_layout(margin=dict(l=10, r=10, t=44, b=30))
    return fig


def matrix_heatmap(z: Array, title: str, x_title: str, y_title: str, signed: bool = True,
                   height: int = theme.HEIGHT) -> go.Figure:
    """A matrix (rows x columns) as a heatmap, row 1 at the top; signed values on a diverging scale centred at 0.

    At most MAX_CELLS_SIDE rows and columns are sent (the title says so when cut).
    """
    z = np.asarray(z)
    rows, cols = z.shape
    shown = z[:MAX_CELLS_SIDE, :MAX_CELLS_SIDE]
    if shown.shape != z.shape:
        title += f" (first {shown.shape[0]}×{shown.shape[1]} of {rows}×{cols})"
    fig = go.Figure()
    finite = shown[np.isfinite(shown)]
    if signed:
        m = float(np.max(np.abs(finite))) if finite.size else 1.0
        scale = dict(colorscale=theme.colorscale(theme.DIVERGING), zmid=0.0, zmin=-m or -1.0, zmax=m or 1.0)
    else:
        top = float(finite.max()) if finite.size else 1.0
        scale = dict(colorscale=theme.colorscale(theme.SEQUENTIAL), zmin=0.0, zmax=max(top, 1e-300))
    fig.add_heatmap(z=plot_array(shown), x=np.arange(1, shown.shape[1] + 1, dtype=np.float32),
                    y=np.arange(1, shown.shape[0] + 1, dtype=np.float32), **scale,
                    colorbar=dict(thickness=10, len=0.9, exponentformat="power"),
                    hovertemplate=f"{y_title} %{{y:.0f}}, {x_title} %{{x:.0f}}<br>%{{z:.4g}}<extra></extra>")
    _layout(fig, title, height)
    fig.update_yaxes(autorange="reversed", title=y_title, dtick=_dtick(shown.shape[0]))
    fig.update_xaxes(title=x_title, dtick=_dtick(shown.shape[1]))
    return fig


def _decade_step(span: tuple[float, float]) -> int:
    """Whole decades between log-axis ticks, at most about five ticks."""
    return max(1, int(np.ceil((span[1] - span[0]) / 5)))


def _dtick(n: int) -> int:
    """A whole-number tick step giving about five ticks over 1..n."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if n / step <= 6:
            return step
    return 1000


def norm_bars(mu_norms: Array, layer: int, height: int = 300) -> go.Figure:
    """||mu_k|| over the batch in backward order, mu_N first; the current layer's mu_i and mu_{i-1} stand out.
    Its title is short: the chart has a third of the page's width, and projector fonts.

    mu_norms (N + 1,) input side first, as ``BackwardTrace.mu_norms``.
    """
    n = len(mu_norms) - 1
    ks = list(range(n, -1, -1))
    vals = np.asarray(mu_norms)[ks]
    colors = [theme.MU if k in (layer, layer - 1) else MU_OTHER for k in ks]
    fig = go.Figure()
    fig.add_bar(x=[f"μ{sub(k)}" for k in ks], y=plot_array(np.maximum(vals, 1e-300)), marker_color=colors,
                texttemplate=BAR_TEXT, textposition="outside", cliponaxis=False,
                hovertemplate="%{x}: ‖μ‖ = %{y:.4g}<extra></extra>")
    _layout(fig, "‖μₖ‖, output → input", height, uniformtext=BAR_TEXT_FIT)
    fig.update_yaxes(type="log", exponentformat="power", title="‖μₖ‖ (batch)")
    lo, hi = log_range([vals])
    fig.update_yaxes(range=[lo - 0.5, hi + 0.8])
    return fig


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(k: int) -> str:
    """k in subscript digits: 12 -> ₁₂."""
    return str(k).translate(_SUB)


def _role(k: int, n_layers: int) -> str:
    return " output" if k == n_layers else " input" if k == 0 else ""


def field_heatmap(axis: Array, values: Array, k: int, n_layers: int, shared: tuple[float, float] | None = None,
                  height: int = 290) -> go.Figure:
    """||mu_k(x)|| over a 2D input grid, values (r, r) with rows at constant second input; dark = no signal.

    Coloured on its own linear scale, or by log10 on the range ``shared`` (lo, hi) that every panel uses.
    """
    finite = values[np.isfinite(values)]
    vmax = float(finite.max()) if finite.size else 0.0
    if shared:
        lo, hi = shared
        z, zmin, zmax, cbar = _log10(values, lo), lo, hi, "log₁₀"
    else:
        z, zmin, zmax, cbar = values, 0.0, vmax if vmax > 0 else 1.0, ""
    a = plot_array(axis)
    fig = go.Figure()
    fig.add_heatmap(x=a, y=a, z=plot_array(z), colorscale=theme.colorscale(theme.LOG_MU), zmin=zmin, zmax=zmax,
                    colorbar=dict(thickness=10, len=0.85, exponentformat="power", title=cbar),
                    hovertemplate="x₁=%{x:.2f}, x₂=%{y:.2f}<br>%{z:.3g}<extra></extra>")
    _layout(fig, f"‖μ{sub(k)}(x)‖{_role(k, n_layers)}   max {short(vmax)}", height)
    fig.update_xaxes(constrain="domain", title=None)
    fig.update_yaxes(scaleanchor="x", constrain="domain", title=None)
    fig.update_layout(margin=dict(l=30, r=5, t=40, b=25))
    return fig


def field_line(x: Array, values: Array, k: int, n_layers: int, shared: tuple[float, float] | None = None,
               height: int = 260) -> go.Figure:
    """||mu_k(x)|| along a 1D input, (n,); zero stretches mean the error signal does not reach layer k there.

    On its own linear y axis, or on the log10 range ``shared`` (lo, hi) that every panel uses (values below
    it drawn at its floor).
    """
    finite = values[np.isfinite(values)]
    vmax = float(finite.max()) if finite.size else 0.0
    y = np.maximum(values, 10.0 ** shared[0]) if shared else values
    fig = go.Figure()
    fig.add_scatter(x=plot_array(x), y=plot_array(y), mode="lines", line=dict(color=theme.MU, width=2.5),
                    fill="tozeroy", fillcolor="rgba(142, 68, 173, 0.12)",
                    hovertemplate="x=%{x:.3f}<br>%{y:.3g}<extra></extra>")
    _layout(fig, f"‖μ{sub(k)}(x)‖{_role(k, n_layers)}   max {short(vmax)}", height)
    if shared:
        fig.update_yaxes(type="log", range=list(shared), exponentformat="power", dtick=_decade_step(shared))
    else:
        fig.update_yaxes(rangemode="tozero", exponentformat="power")
    fig.update_xaxes(title="x")
    fig.update_layout(margin=dict(l=45, r=5, t=40, b=35))
    return fig
