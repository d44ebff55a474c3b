"""Gradient check: the adjoint gradient of the current model against central finite differences."""

import numpy as np
import streamlit as st

from adjoint_core import check_gradients, dot_product_test
from adjoint_core.adjoint_field import fixed_batch
from adjoint_core.gradcheck import RTOL, verdict
from adjoint_core.loss_increment import increment_loss
from ui.classroom import lessons
from ui.plots import describe, teaching
from ui.screen import charts
from ui.train.session import get_run, pause

EPS_CHOICES = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
MAX_ALL = 5000        # "check all parameters" only for networks up to this size
MAX_CHECK_BATCH = 256

pause()   # this page reads the whole run: Play's training comes back first
run = get_run()
net, data = run.net, run.data
P = net.n_params()

st.html(teaching.EQUATION_CSS)
st.title("Gradient check")
lessons.back_link()
st.markdown(
    "Is the backward pass exact? For a batch of the current model, checked entries of ∂L/∂θ from the adjoint "
    "method are compared with central finite differences, which cost two forward passes per entry, while the "
    f"adjoint delivered all {P:,} entries in one backward pass. Each layer's vector-Jacobian product also goes "
    "through the dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩.")
st.latex(r"{\frac{\partial \mathcal{L}}{\partial \theta_j} \approx "
         r"\frac{\mathcal{L}(\theta + \varepsilon e_j) - \mathcal{L}(\theta - \varepsilon e_j)}{2\varepsilon}},"
         r"\qquad \allowbreak {\text{relative error} = \frac{\lVert g_{\text{adjoint}} - g_{\text{FD}} \rVert}"
         r"{\max(\lVert g_{\text{adjoint}} \rVert, \lVert g_{\text{FD}} \rVert)}} \; \allowbreak \text{per tensor}")
c = st.columns([1, 1.6, 1, 1.3], vertical_alignment="bottom")
B = c[0].number_input("Batch size", 1, min(MAX_CHECK_BATCH, len(data.x)), min(8, len(data.x)), key="gc_batch",
                      help="Training points in the checked batch: the first batch of a fixed shuffle (seed 0).")
eps = c[1].select_slider("Finite-difference step ε", EPS_CHOICES, value=1e-6, key="gc_eps",
                         format_func=lambda v: f"{v:.0e}",
                         help="Too large: the difference quotient bends with the curvature (error ~ ε²) or jumps "
                              "across a ReLU kink. Too small: rounding of L dominates (error ~ 1e-16/ε).")
check_all = c[3].checkbox("Check all parameters", key="gc_all", value=False, disabled=P > MAX_ALL,
                          help=f"Every entry of every tensor (networks up to {MAX_ALL:,} parameters; "
                               f"this one has {P:,}).")
max_per = c[2].number_input("Entries per tensor", 1, 2000, 30, key="gc_max", disabled=bool(check_all and P <= MAX_ALL),
                            help="Random entries checked in each weight and bias tensor (the rest are skipped).")
incr = st.toggle("Difference the loss increment (cancellation-free)", value=True, key="gc_increment",
                 help="Take finite differences of L(θ) − L(θ₀), written so the large target values cancel "
                      "exactly. It has the same gradient as L. Switch off to difference L itself and watch rounding "
                      "appear when the loss is large and the gradient small (the 2D wave at initialisation).")

idx = fixed_batch(len(data.x), int(B))
x, y = data.x[idx], data.y[idx]
loss_fn = increment_loss(net, run.loss_fn, x) if incr else run.loss_fn
full = bool(check_all and P <= MAX_ALL)
with np.errstate(all="ignore"):
    checks = check_gradients(net, loss_fn, x, y, eps=float(eps), max_per_tensor=None if full else int(max_per),
                             rng=np.random.default_rng(0))
shapes = {f"{n}{i}": s for i, (W, b) in enumerate(net.params, start=1) for n, s in (("W", W.shape), ("b", b.shape))}
shapes["mu_0"] = x.shape
table = teaching.check_table(checks, shapes)
worst = float(table["relative error"].max())
n_checked = sum(len(ch.adjoint) for ch in checks)

m = st.columns(4)
m[0].metric("Worst relative error", f"{worst:.1e}", help="‖adjoint − FD‖ / max(‖adjoint‖, ‖FD‖) per tensor.")
result, _, note = verdict(checks).partition(" (")
m[1].metric("Verdict", result, delta=note.rstrip(")") or None, delta_color="off", delta_arrow="off",
            help=f"A tensor passes when its relative error is at most {RTOL:g}, or when no entry differs by more "
                 "than the rounding floor of central differences (round-off limited).")
m[2].metric("Entries checked", f"{n_checked:,}", help="Weights, biases and the input gradient together.")
m[3].metric("Forward passes used by FD", f"{2 * n_checked:,}", help="Two per entry; the adjoint needed one "
            "forward and one backward pass for all of them.")

floor = checks[0].floor
limited = [("x (−μ₀)" if c.name == "mu_0" else c.name) for c in checks if c.roundoff_limited]
if limited:
    st.info(f"**Round-off limited:** {', '.join(limited)} have relative errors above {RTOL:g}, but no entry "
            f"differs by more than {floor:.1e}, the most that rounding L can move a central difference at this ε "
            "(the rounding of every layer's output, carried to L by the adjoints, over ε). Their gradients are too "
            "small next to the loss and the activations (vanishing adjoints, or a large loss) for ε·|∂L/∂θ| to stand "
            "out of the rounding of L: finite differences cannot check them more finely, and they agree that far.",
            icon=":material/blur_on:")
if result == "fail":
    st.info("Errors between 1e-7 and 1e-4 that change when you move ε are finite-difference error, not a wrong "
            "gradient: when the gradient is tiny next to the loss or the activations (vanishing or exploding "
            "adjoints), rounding needs a larger ε; under ReLU a large ε can cross a kink. A wrong gradient stays "
            "at 1e-2 or more for every ε.", icon=":material/tune:")
st.dataframe(table, width="stretch", hide_index=True, key="gc_table", height=teaching.table_height(len(table)),
             column_config={
                 "‖adjoint‖": st.column_config.NumberColumn(format="%.3e", help="Norm of the checked entries"),
                 "max |adjoint − FD|": st.column_config.NumberColumn(format="%.2e"),
                 "relative error": st.column_config.NumberColumn(format="%.2e",
                                                                 help="‖adjoint − FD‖ / max(‖adjoint‖, ‖FD‖)"),
                 "verdict": st.column_config.TextColumn(
                     help=f"pass: relative error at most {RTOL:g}; pass (round-off limited): every entry within "
                          f"the rounding floor of central differences, {floor:.1e} here"),
             })
st.caption("In float64 a correct gradient shows relative errors of about 1e-8 to 1e-11 with central differences: "
           "the truncation error shrinks like ε² while the rounding error of the two loss values, about "
           "1e-16·|L| / ε, grows as ε shrinks, so the best ε ≈ 1e-5 to 1e-6 leaves roughly 1e-10. "
           "An error of 1e-2 or more means a wrong gradient; an isolated large one under ReLU can be a kink "
           "that ε happened to cross.")

charts.show(teaching.check_scatter(checks), "gc_scatter",
            summary=describe.checks([c.name for c in checks], [c.rel_error for c in checks],
                                    [c.passed for c in checks]))
st.markdown("**Dot-product test per layer**: for random u, v, ⟨u, J v⟩ by finite differences (FD) against "
            "⟨Jᵀu, v⟩ from the layer's vector-Jacobian product (VJP).")
rng = np.random.default_rng(1)
with np.errstate(all="ignore"):
    zs = net.zs(x)  # [z_0, ..., z_N]: layer i is tested at its input z_{i-1}
    dots = [dot_product_test(layer, z_in, rng) for layer, z_in in zip(net.layers, zs)]
dot_table = teaching.dot_table(dots)
st.dataframe(dot_table, width="stretch", hide_index=True, key="gc_dot", height=teaching.table_height(len(dot_table)),
             column_config={
                 "⟨u, J v⟩ FD": st.column_config.NumberColumn(format="%.5e", help="By central differences"),
                 "⟨Jᵀu, v⟩ VJP": st.column_config.NumberColumn(format="%.5e", help="From the layer's vjp"),
                 "rel. error": st.column_config.NumberColumn(format="%.1e", help="|FD − VJP| / max(|FD|, |VJP|)"),
                 "pass": st.column_config.CheckboxColumn(help=f"Relative error at most {RTOL:g}"),
             })
