"""Text, tables and figures for the teaching pages: LaTeX with live numbers, check tables, check figures.

Formatting only: every number comes from adjoint_core (a BackwardTrace, check_gradients, trap_report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from adjoint_core.adjoint_field import BackwardTrace
from adjoint_core.gradcheck import RTOL
from adjoint_core.summaries import VANISHING  # ||mu_0|| / ||mu_N|| below it: vanishing (above 1 / it: exploding)

from . import theme
from .arrays import plot_array

Array = np.ndarray
NAMES = {"trap 1: sigma' at output": "trap 1: σ′ at the output"}
SHORT = {"adjoint": "adjoint", "trap 2: 1/B twice": "trap 2<br>1/B twice",
         "trap 1: sigma' at output": "trap 1<br>σ′ at output", "both traps (the notebook)": "both traps<br>(notebook)"}
SHOW = 3             # entries of a vector shown in the equations (4 overflowed a phone)
# Display equations wrap after a relation (=) or an \allowbreak where the column is narrower than they are, and
# on a phone they are set at the text's size instead of 1.21 times it (KaTeX's default), so rows of numbers fit
# 390 px; what still does not fit scrolls sideways (Streamlit's own overflow-x: auto on .katex-display). Padding
# (in place of part of KaTeX's 1em margin) holds the glyphs that stick out of KaTeX's boxes by a few pixels:
# without it every equation was a scroll region of its own, which a keyboard cannot reach (axe:
# scrollable-region-focusable).
EQUATION_CSS = ("<style>.katex-display > .katex, .katex-display .katex-html { white-space: normal; } "
                ".katex-display { margin: 0.6em 0; padding: 0.4em 0.15em; } "
                "@media (max-width: 640px) { .katex-display > .katex { font-size: 1em; } }</style>")


# --- LaTeX ---------------------------------------------------------------------------------------
def num(v: float, digits: int = 3) -> str:
    r"""A number as compact LaTeX: 0.0123 -> 0.0123, 1043.7 -> 1040, 1.2e-05 -> 1.2\mathrm{e}{-5}."""
    v = float(v)
    if not np.isfinite(v):
        return r"\text{" + str(v) + "}"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return np.format_float_positional(v, precision=digits, unique=True, fractional=False, trim="-")
    mant, exp = f"{v:.{digits - 1}e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return mant + r"\mathrm{e}{" + str(int(exp)) + "}"


def vec(values: Array, total: int | None = None) -> str:
    r"""A row of numbers as a compact LaTeX tuple, ending in \dots when more entries exist than are shown."""
    values = np.ravel(values)
    total = len(values) if total is None else total
    parts = [num(v) for v in values[:SHOW]]
    if total > SHOW:
        parts.append(r"\dots")
    return r"\bigl(" + r",\; ".join(parts) + r"\bigr)"


def dims(*d: int) -> str:
    r"""Shape as LaTeX, (50, 64) -> 50{\times}64."""
    return r"{\times}".join(str(int(v)) for v in d)


def _ub(symbol: str, shape: str) -> str:
    return r"\underbrace{" + symbol + "}_{" + shape + "}"


def _s(name: str, i: int, extra: str = "") -> str:
    r"""A symbol with a subscript, e.g. _s(r'\mu', 3) -> \mu_{3}."""
    return name + "_{" + str(i) + "}" + extra


def _dL(what: str) -> str:
    return r"\frac{\partial \mathcal{L}}{\partial " + what + "}"


def _rows(*pairs: tuple[str, str]) -> str:
    """Aligned 'symbol = numbers' lines."""
    return r"\begin{aligned} " + r" \\ ".join(f"{a} &= {b}" for a, b in pairs) + r" \end{aligned}"


def loss_equation(trace: BackwardTrace, loss_formula: str) -> str:
    """The loss with its value for this batch."""
    return loss_formula + " = " + num(trace.loss, 4)


def mu_N_equation(trace: BackwardTrace, mu_formula: str) -> tuple[str, str]:
    """(mu_N = -dL/dz_N with shapes and B, the first sample's numbers); ``mu_formula`` is the loss's."""
    N, B = trace.n_layers, trace.batch_size
    mu = trace.mu(N)
    muN, zN = _s(r"\mu", N), _s("z", N)
    d = mu.shape[1]
    rhs = mu_formula.replace("{B}", "{" + str(B) + "}").replace("{z}", "{" + _ub(zN, dims(*mu.shape)) + "}")
    head = _ub(muN, dims(*mu.shape)) + " = -" + _dL(zN) + " = " + rhs
    nums = _rows((zN, vec(trace.z_N[0], d)), ("y", vec(trace.y[0], d)), (muN, vec(mu[0], d)))
    return head, nums


def delta_equation(trace: BackwardTrace, i: int, derivative_formula: str) -> tuple[str, str]:
    """(delta_i = mu_i (.) sigma'(a_i) with shapes and sigma', the first sample's numbers)."""
    B, d = trace.mu(i).shape
    shape = dims(B, d)
    head = (_ub(_s(r"\delta", i), shape) + " = " + _ub(_s(r"\mu", i), shape) + r" \odot \sigma'\bigl("
            + _ub(_s("a", i), shape) + r"\bigr), \qquad \sigma'(a) = " + derivative_formula)
    nums = _rows((_s(r"\mu", i), vec(trace.mu(i)[0], d)),
                 (_s(r"\sigma'(a", i, ")"), vec(trace.sigma_primes[i - 1][0], d)),
                 (_s(r"\delta", i), vec(trace.deltas[i - 1][0], d)))
    return head, nums


def mu_prev_equation(trace: BackwardTrace, i: int) -> tuple[str, str]:
    """(mu_{i-1} = delta_i W_i^T with the shapes of the product, the first sample's numbers)."""
    B, d = trace.mu(i).shape
    d_prev = trace.mu(i - 1).shape[1]
    head = (_ub(_s(r"\mu", i - 1), dims(B, d_prev)) + " = " + _ub(_s(r"\delta", i), dims(B, d)) + r"\,"
            + _ub(_s("W", i, r"^{\top}"), dims(d, d_prev)))
    nums = _rows((_s(r"\mu", i - 1), vec(trace.mu(i - 1)[0], d_prev)))
    return head, nums


def grad_W_equation(trace: BackwardTrace, i: int) -> tuple[str, str]:
    """(dL/dW_i = -z_{i-1}^T delta_i with shapes, the first row of the result)."""
    B, d = trace.mu(i).shape
    d_prev = trace.mu(i - 1).shape[1]
    head = (_ub(_dL(_s("W", i)), dims(d_prev, d)) + " = -" + _ub(_s("z", i - 1, r"^{\top}"), dims(d_prev, B))
            + r"\," + _ub(_s(r"\delta", i), dims(B, d)))
    nums = _rows((_dL(_s("W", i)) + r"\Big|_{\text{row }1}", vec(trace.grads[i - 1][0][0], d)))
    return head, nums


def grad_b_equation(trace: BackwardTrace, i: int) -> tuple[str, str]:
    """(dL/db_i = -sum over the batch of delta_i, its first entries)."""
    B, d = trace.mu(i).shape
    head = (_ub(_dL(_s("b", i)), str(d)) + r" = -\sum_{k=1}^{" + str(B) + "} " + _ub(_s(r"\delta", i, "[k,:]"), str(d)))
    nums = _rows((_dL(_s("b", i)), vec(trace.grads[i - 1][1], d)))
    return head, nums


def output_layer_note(mu_norms: Array, W_N_norm: float, config) -> str | None:
    """Why ||mu_0|| / ||mu_N|| is below VANISHING when the output layer's step alone makes it so, else None.

    mu_norms (N + 1,) input side first; W_N_norm = ||W_N||.  The notebook's init scales the output layer only.
    """
    N = len(mu_norms) - 1
    if N < 2 or not (mu_norms[N] > 0 and mu_norms[N - 1] > 0):
        return None
    with np.errstate(all="ignore"):   # a diverged run's norms are inf: no note
        whole, out, rest = mu_norms[0] / mu_norms[N], mu_norms[N - 1] / mu_norms[N], mu_norms[0] / mu_norms[N - 1]
    if not (whole < VANISHING and out < VANISHING <= rest):
        return None
    why = (rf"the notebook's initialisation scales the output layer by ${num(config.init_scale)}$"
           if config.init == "notebook" else "the output layer's weights are small")
    mu_N, mu_prev, W_N = rf"\mu_{{{N}}}", rf"\mu_{{{N - 1}}}", f"W_{{{N}}}"
    return (rf"**Why so small?** $\lVert\mu_0\rVert / \lVert {mu_N}\rVert$ is below ${num(VANISHING)}$ because of the "
            rf"output layer alone: ${mu_prev} = \delta_{{{N}}} {W_N}^\top$, and {why} "
            rf"($\lVert {W_N}\rVert = {num(W_N_norm, 2)}$), so $\lVert {mu_prev}\rVert / \lVert {mu_N}\rVert = "
            rf"{num(out, 2)}$. Below it the adjoint keeps its size ($\lVert\mu_0\rVert / \lVert {mu_prev}\rVert = "
            rf"{num(rest, 2)}$): this is not vanishing through depth, and a single Step on the Train page grows "
            rf"${W_N}$ by orders of magnitude.")


def table_height(rows: int) -> int:
    """Pixel height that shows a dataframe's header and ``rows`` rows without an inner scrollbar."""
    return 35 * (rows + 1) + 3


# --- gradient check ------------------------------------------------------------------------------
def norm_or_inf(a: np.ndarray) -> float:
    """||a||, inf (not a warning) when a diverged run's values overflow it."""
    with np.errstate(over="ignore"):
        return float(np.linalg.norm(a))


def check_table(checks, shapes: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """One row per checked tensor: entries, ||adjoint||, max |diff|, relative error, verdict."""
    rows = []
    for c in checks:
        name = "x  (−μ₀)" if c.name == "mu_0" else c.name
        shape = shapes.get(c.name, ())
        rows.append({
            "tensor": name,
            "shape": "×".join(str(s) for s in shape),
            "entries checked": f"{len(c.adjoint)} / {c.n_total}",
            "‖adjoint‖": float(norm_or_inf(c.adjoint)),
            "max |adjoint − FD|": c.max_error,
            "relative error": float(c.rel_error),
            "verdict": c.verdict,
        })
    return pd.DataFrame(rows)


def check_scatter(checks, height: int = 470) -> go.Figure:
    """|adjoint| against |finite difference| on log-log axes with the diagonal, one colour per layer.

    Weights are circles, biases squares, the input gradient diamonds; a cross marks a sign disagreement.
    """
    groups: dict[str, list] = {}
    for c in checks:
        group = "input x (−μ₀)" if c.name == "mu_0" else f"layer {c.name[1:]}"
        groups.setdefault(group, []).append(c)
    palette = theme.layer_palette(len(groups))
    fig = go.Figure()
    lo, hi, n_zero = np.inf, -np.inf, 0
    for (group, members), color in zip(groups.items(), palette):
        xs, ys, symbols, names = [], [], [], []
        for c in members:
            a, f = np.abs(c.adjoint), np.abs(c.numeric)
            keep = (a > 0) & (f > 0)
            n_zero += int(np.sum(~keep))
            same = np.sign(c.adjoint[keep]) == np.sign(c.numeric[keep])
            base = "diamond" if c.name == "mu_0" else "square" if c.name.startswith("b") else "circle"
            xs.append(f[keep])
            ys.append(a[keep])
            symbols += [base if s else "x" for s in same]
            names += ["x (−μ₀)" if c.name == "mu_0" else c.name] * int(keep.sum())
        x, y = np.concatenate(xs), np.concatenate(ys)
        if not len(x):
            continue
        lo, hi = min(lo, x.min(), y.min()), max(hi, x.max(), y.max())
        fig.add_scatter(x=plot_array(x), y=plot_array(y), mode="markers", name=group,
                        customdata=names, marker=dict(color=color, size=8, opacity=0.8, symbol=symbols),
                        hovertemplate="%{customdata}<br>FD %{x:.4g}<br>adjoint %{y:.4g}<extra></extra>")
    if np.isfinite(lo):
        d = plot_array([lo / 3, hi * 3])
        fig.add_scatter(x=d, y=d, mode="lines", name="adjoint = FD",
                        line=dict(color=theme.TARGET, dash="dash", width=1.5))
    note = "● weights  ■ biases  ◆ input  ✕ sign differs" + (f"<br>{n_zero} exact zeros not drawn" if n_zero else "")
    fig.add_annotation(text=note, xref="paper", yref="paper", x=0.0, y=1.0, xanchor="left", yanchor="bottom",
                       align="left", showarrow=False, font=dict(size=12, color="#5b6570"))
    fig.update_layout(theme.layout("Adjoint vs finite differences, every checked entry", height,
                                   margin=dict(l=60, r=10, t=84, b=40),
                                   legend=dict(orientation="v", x=1.01, y=1, font=dict(size=11))))
    fig.update_xaxes(type="log", title="|central finite difference|", exponentformat="power")
    fig.update_yaxes(type="log", title="|adjoint gradient|", exponentformat="power")
    return fig


def dot_table(tests_by_layer: list[list]) -> pd.DataFrame:
    """The dot-product test <u, J v> = <J^T u, v> per layer and argument."""
    rows = []
    for i, tests in enumerate(tests_by_layer, start=1):
        for t in tests:
            rows.append({"layer": i, "w.r.t.": f"z{i - 1}" if t.wrt == "x" else f"W{i}",
                         "⟨u, J v⟩ FD": t.forward_side, "⟨Jᵀu, v⟩ VJP": t.adjoint_side,
                         "rel. error": t.rel_error, "pass": t.passed})
    return pd.DataFrame(rows)


# --- notebook traps --------------------------------------------------------------------------------
def trap_table(results, B: int) -> pd.DataFrame:
    """One row per gradient variant: its relative error against finite differences and the FD / variant ratio."""
    rows = []
    for r in results:
        rows.append({
            "gradient": NAMES.get(r.name, r.name),
            "σ′ at": "output σ(a)" if r.sigma_prime_at_output else "pre-activation a",
            "parameter terms": f"averaged again (÷{B})" if r.average_again else "summed",
            "relative error vs FD": r.rel_error,
            "FD / gradient (median)": r.ratio_median,
            "FD / gradient (range)": f"{r.ratio_min:.3g} … {r.ratio_max:.3g}",
        })
    return pd.DataFrame(rows)


def trap_bars(results, height: int = 300) -> go.Figure:
    """Relative error of each gradient variant against finite differences, log y."""
    errs = np.array([max(r.rel_error, 1e-17) for r in results])
    colors = [theme.GRAD if e <= RTOL else theme.TEST for e in errs]
    fig = go.Figure()
    fig.add_bar(x=[SHORT.get(r.name, r.name) for r in results], y=plot_array(errs), marker_color=colors,
                text=[f"{e:.1e}" for e in errs], textposition="outside", cliponaxis=False,
                hovertemplate="%{x}<br>relative error %{y:.2e}<extra></extra>")
    fig.add_hline(y=RTOL, line=dict(color=theme.TARGET, dash="dot", width=1))
    fig.add_annotation(text="pass mark 10⁻⁶", xref="paper", x=0.0, y=np.log10(RTOL), xanchor="left", yanchor="bottom",
                       showarrow=False, font=dict(size=12, color=theme.TARGET))
    fig.update_layout(theme.layout("Relative error against central finite differences", height,
                                   margin=dict(l=60, r=10, t=44, b=40)))
    fig.update_yaxes(type="log", exponentformat="power", range=[-17, 1.5])
    fig.update_xaxes(tickangle=0)
    return fig
