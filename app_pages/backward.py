"""Backward pass: one batch of the current run, walked from mu_N back to mu_0 one layer at a time."""

from collections.abc import Iterator
from typing import Any

import numpy as np
import streamlit as st

from adjoint_core.adjoint_field import adjoint_field, backward_trace, fixed_batch
from adjoint_core.targets import grid
from ui.classroom import lessons
from ui.plots import backward_figures as bf
from ui.plots import describe, teaching
from ui.screen import charts, present
from ui.train.session import get_run, pause

SHOWN_ROWS = 64       # batch rows shown; larger batch sizes are capped for display
FIELD_SIDE = 40       # 2D input grid for the adjoint field (1D uses FIELD_1D points)
FIELD_1D = 200
PER_ROW = 2 if present.active() else 4   # heatmaps a row: on a projector, larger (and their titles fit)

ss = st.session_state
pause()   # this page reads the whole run: Play's training comes back first
run = get_run()
net, data = run.net, run.data
N = net.n_layers

st.html(teaching.EQUATION_CSS)
st.title("Backward pass")
lessons.back_link()
present.intro(
    r"One mini-batch of the current run goes forward through the network, the loss hands its error back as "
    r"$\mu_N = -\partial L / \partial z_N$, and each layer turns the adjoint it receives into the adjoint of its "
    "input and the gradient of its own weights. Step through the layers with the slider: the equations carry this "
    "batch's shapes and numbers, straight from the engine's backward pass.", caption=False)


def in_rows(items: list) -> Iterator[tuple[Any, Any]]:
    """(column, item) for each of ``items``, PER_ROW a row."""
    for row in range(0, len(items), PER_ROW):
        yield from zip(st.columns(PER_ROW), items[row:row + PER_ROW])


# --- the batch ----------------------------------------------------------------------------------
def _clamp_layer() -> None:
    if not isinstance(ss.get("bp_layer"), int) or not 1 <= ss.bp_layer <= N:
        ss.bp_layer = N


def _next() -> None:  # one step further backward: toward the input
    ss.bp_layer = max(1, ss.bp_layer - 1)


def _previous() -> None:
    ss.bp_layer = min(N, ss.bp_layer + 1)


n_train = len(data.x)
B = min(run.config.batch_size, SHOWN_ROWS, n_train)
n_batches = max(1, n_train // B)
c1, c2, c3 = st.columns([1.2, 1, 2.2], vertical_alignment="bottom")
mode = c1.radio("Backward pass of", ["Mini-batch", "One sample"], key="bp_mode", horizontal=True,
                help=f"A mini-batch of the run's batch size (at most {SHOWN_ROWS} rows are shown), or a single "
                     "training point.")
if mode == "Mini-batch":
    k = c2.number_input("Batch", 0, n_batches - 1, 0, key="bp_batch",
                        help="Which batch of a fixed shuffle (seed 0) of the training data; 0 is the first.")
    idx = fixed_batch(n_train, B, int(k))
else:
    s = c2.number_input("Sample", 0, n_train - 1, 0, key="bp_sample",
                        help="Index of the training point whose backward pass is shown.")
    idx = np.array([int(s)])
x, y = data.x[idx], data.y[idx]
trace = backward_trace(net, run.loss_fn, x, y)
c3.markdown(f"**{data.target.label}** · network {' → '.join(map(str, net.sizes))} · "
            f"B = {len(idx)} · run at step {run.step_count} · batch loss **{trace.loss:.4g}**")

# --- the stepper ----------------------------------------------------------------------------------
# The slider runs in the backward pass's order, output layer N on the left to layer 1 on the right, so Next (→)
# moves it to the right; on a phone the slider has a row of its own above the buttons (theme.PAGE_CSS).
_clamp_layer()
c_prev, c_slider, c_next = st.columns([1.4, 5, 1.4], vertical_alignment="bottom")   # "Previous" fits at 1280
c_prev.button("Previous", icon=":material/arrow_back:", on_click=_previous, disabled=ss.bp_layer >= N,
              width="stretch", key="bp_prev", help="One layer back toward the output.")
if N > 1:
    i = c_slider.select_slider("Layer i (the backward pass starts at the output layer N and walks down to layer 1)",
                               list(range(N, 0, -1)), key="bp_layer", format_func=lambda k: f"layer {k}",
                               help="Layer i maps z_{i-1} to z_i. Its backward step receives μ_i and returns μ_{i-1}, "
                                    "∂L/∂W_i and ∂L/∂b_i.")
else:  # a network without hidden layers has a single step (a slider needs two values)
    i = 1
    c_slider.markdown("**Layer 1 of 1:** this network has no hidden layer, so the backward pass is a single step.")
c_next.button("Next", icon=":material/arrow_forward:", icon_position="right", on_click=_next,
              disabled=ss.bp_layer <= 1, width="stretch", key="bp_next",
              help="One layer further backward, toward the input.")

norms = trace.mu_norms()
d1, d2 = st.columns([2.3, 1])
with d1:
    charts.show(bf.network_diagram(net.sizes, [trace.mean_abs_mu(k) for k in range(N + 1)], i), "bp_diagram",
                summary=describe.network(net.sizes, i, norms))
with d2:
    with np.errstate(all="ignore"):   # inf / inf for a diverged run is NaN, shown as such
        ratio = norms[i - 1] / norms[i] if norms[i] > 0 else float("nan")
        whole = norms[0] / norms[N] if norms[N] > 0 else float("nan")
    m1, m2 = st.columns(2)
    m1.metric(f"‖μ{bf.sub(i - 1)}‖ / ‖μ{bf.sub(i)}‖", bf.short(ratio), help="How much this layer's backward step "
              "shrinks (< 1) or grows (> 1) the adjoint: Frobenius norms over the batch.")
    m2.metric(f"‖μ₀‖ / ‖μ{bf.sub(N)}‖", bf.short(whole), help=f"The whole backward pass: below {teaching.VANISHING:g} "
              f"the input layers hardly learn (vanishing), above {1 / teaching.VANISHING:g} they take huge steps "
              "(exploding).")
    charts.show(bf.norm_bars(norms, i, height=290), "bp_norms", summary=describe.flow(norms[N], norms[0]))
note = teaching.output_layer_note(norms, float(np.linalg.norm(net.params[-1][0])), run.config)
if note:
    st.info(note, icon=":material/lightbulb:")

# --- the equations of this step -----------------------------------------------------------------
layer = net.layers[i - 1]
act = layer.activation
d_prev, d_i = net.sizes[i - 1], net.sizes[i]
where = "the output layer" if i == N else f"hidden layer {i}"
st.subheader(f"Layer {i} of {N}: {where}, z{bf.sub(i - 1)} ({d_prev}) → z{bf.sub(i)} ({d_i}), σ = {act.name}")
plural = "s" if len(idx) > 1 else ""
delta_i, z_prev, W_i = f"$\\delta_{{{i}}}$", f"$z_{{{i - 1}}}$", f"$W_{{{i}}}$"
steps = [
    ("1. Through the activation", f"{delta_i} is the adjoint of the pre-activation "
     f"$a_{{{i}}} = z_{{{i - 1}}} W_{{{i}}} + b_{{{i}}}$.",
     "sample 1, first units", teaching.delta_equation(trace, i, act.derivative_formula)),
    ("2. To the layer below", f"a vector-Jacobian product with {W_i}; the Jacobian itself is never formed.",
     "sample 1, first units", teaching.mu_prev_equation(trace, i)),
    ("3. Weight gradient", f"the layer's input {z_prev} meets {delta_i}, summed over the batch.",
     "row 1, first columns", teaching.grad_W_equation(trace, i)),
    ("4. Bias gradient", f"{delta_i} summed over the {len(idx)} sample{plural}.", "first entries",
     teaching.grad_b_equation(trace, i)),
]
if i == N:
    st.markdown(f"**Start.** The loss of this batch ($B = {len(idx)}$):")
    st.latex(teaching.loss_equation(trace, run.loss_fn.formula))
    steps.insert(0, ("0. The loss's adjoint", f"minus the loss gradient at the output; the batch mean puts "
                     f"1/{len(idx)} in it.", "sample 1", teaching.mu_N_equation(trace, run.loss_fn.mu_formula)))
for title, text, caption, (head, nums) in steps:
    st.markdown(f"**{title}:** {text}")
    st.latex(head)
    st.latex(nums)
    st.caption(f"Numbers: {caption}.")

panels = [
    ("bp_heat_mu", trace.mu(i), f"μ{bf.sub(i)}  (sample × unit)", "unit", "sample", True),
    ("bp_heat_sigma", trace.sigma_primes[i - 1], f"σ′(a{bf.sub(i)})  (sample × unit)", "unit", "sample", False),
    ("bp_heat_mu_prev", trace.mu(i - 1), f"μ{bf.sub(i - 1)}  (sample × unit)", "unit", "sample", True),
    ("bp_heat_dW", trace.grads[i - 1][0], f"∂L/∂W{bf.sub(i)}  (input unit × unit)", "unit", "input unit", True),
]
for col, (key, z, title, xt, yt, signed) in in_rows(panels):
    charts.show(bf.matrix_heatmap(z, title, xt, yt, signed=signed, height=300), key, col,
                summary=describe.spread(title.split("  ")[0], z))

# --- adjoint over the input space -----------------------------------------------------------------
st.subheader("Adjoint over the input space")
target = data.target
if target.name == "data":
    st.info("Uploaded data has no target function to evaluate on a grid, so this view needs a built-in or "
            "custom target.", icon=":material/info:")
else:
    res = FIELD_SIDE if target.dim == 2 else FIELD_1D
    xg = grid(target, res)
    with np.errstate(all="ignore"):
        yg = target.fn(xg)
    fields = adjoint_field(net, run.loss_fn, xg, yg)   # [mu_N, ..., mu_0], per point
    low = "Dark regions" if target.dim == 2 else "Stretches at the bottom"
    st.markdown(
        r"For every input point $x$ on a grid, the adjoint of the run's loss on that point alone "
        r"($\mu_N = -\partial \ell / \partial z_N$, the batch's $\mu_N$ without its $1/B$), carried back through "
        r"the current network. "
        f"{low} are inputs whose error never reaches that layer: dead ReLU units or saturated sigmoids.")
    shared = st.toggle("One log scale for all panels", key="bp_field_shared", value=True,
                       help="On: every panel on the same log scale, so the layers compare at a glance (a vanishing "
                            "adjoint sinks panel by panel). Off: each panel on its own linear scale, to see its "
                            "shape; compare the maxima in the titles.")
    scale = bf.log_range(fields, bf.SHARED_SPAN) if shared else None
    axis = np.linspace(*target.domain, res)
    order = list(range(N, -1, -1))
    for col, kk in in_rows(order):
        vals = fields[N - kk]
        fig = (bf.field_heatmap(axis, vals.reshape(res, res), kk, N, shared=scale) if target.dim == 2
               else bf.field_line(axis, vals, kk, N, shared=scale))
        charts.show(fig, f"bp_field_{kk}", col,
                    summary=describe.spread(f"‖μ{bf.sub(kk)}(x)‖ over the input grid", vals))
