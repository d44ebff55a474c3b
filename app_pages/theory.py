"""Theory: the adjoint derivation of backpropagation, its symbols on screen, and the seed notebook's two traps."""

import numpy as np
import streamlit as st

import adjoint_core as ac
from adjoint_core.adjoint_field import fixed_batch
from adjoint_core.gradcheck import RTOL
from adjoint_core.notebook_traps import trap_report
from ui.classroom import lessons
from ui.plots import describe, teaching
from ui.screen import charts
from ui.train.session import get_run, pause

SIGMOID_DEMO = "linear-sigmoid"


st.html(teaching.EQUATION_CSS)
st.title("Theory: backpropagation as an adjoint method")
lessons.back_link()
st.markdown(
    "Backpropagation is what you get when you differentiate a loss under constraints: the layer equations "
    r"are the constraints, and their Lagrange multipliers $\mu_i$ are exactly the error signals that flow backward. "
    "Below, the derivation in four steps, then where each symbol appears in the app, then two mistakes in the "
    "notebook this lab grew from, measured live.")

st.header("1. A network is a chain of constraints")
st.markdown("Write the forward pass as equations that every state must satisfy, and the loss as a function of "
            "the last state only:")
st.latex(r"z_0 = x, \qquad \allowbreak {z_i = \phi_i(z_{i-1};\,\theta_i) \quad (i = 1, \dots, N)}, \qquad \allowbreak "
         r"\text{minimise } \mathcal{L}(z_N).")   # {...}: a narrow column breaks only at \allowbreak
st.markdown(r"The chain rule straight from $\theta_i$ to the loss would drag the sensitivity matrix "
            r"$\partial z_N / \partial \theta_i$ through every later layer, one matrix per parameter. The adjoint "
            r"method avoids it: it attaches a multiplier vector $\mu_i$ to each constraint.")

st.header("2. The Lagrangian")
st.latex(r"\mathcal{J}(z, \theta, \mu) \;=\; \mathcal{L}(z_N) \;-\; \sum_{i=1}^{N} \mu_i^{\top}"
         r"\bigl(\phi_i(z_{i-1};\theta_i) - z_i\bigr)")
st.markdown(r"Every forward pass satisfies the constraints, so the bracket is zero and $\mathcal{J} = \mathcal{L}$ "
            r"whatever $\mu$ is: $d\mathcal{J}/d\theta = d\mathcal{L}/d\theta$. We are free to choose $\mu$ to make "
            r"$d\mathcal{J}/d\theta$ cheap. Differentiating, the states $z_i$ enter through their (expensive) "
            r"sensitivities $dz_i/d\theta$; the choice of $\mu$ makes their coefficients vanish.")

st.header("3. Stationarity: the backward recursion and the gradient")
s1, s2 = st.columns(2)
with s1:
    st.markdown(r"**Stationary in $z_N$**, the output:")
    st.latex(r"\frac{\partial \mathcal{J}}{\partial z_N} = \frac{\partial \mathcal{L}}{\partial z_N} + \mu_N^{\top} = 0"
             r"\;\;\Longrightarrow\;\; \allowbreak {\mu_N = -\Bigl(\frac{\partial \mathcal{L}}{\partial z_N}\Bigr)^{\!\top}}")
    st.markdown(r"**Stationary in $z_i$**, $i < N$ ($z_i$ appears in its own constraint and in the next one):")
    st.latex(r"\mu_i^{\top} - \mu_{i+1}^{\top}\,\frac{\partial \phi_{i+1}}{\partial z_i} = 0"
             r"\;\;\Longrightarrow\;\; \allowbreak {\mu_i = \Bigl(\frac{\partial \phi_{i+1}}{\partial z_i}\Bigr)^{\!\top}"
             r" \mu_{i+1}}")
with s2:
    st.markdown("**What is left** is the explicit dependence on each layer's parameters:")
    st.latex(r"\frac{d\mathcal{L}}{d\theta_i} = -\,\mu_i^{\top}\,\frac{\partial \phi_i}{\partial \theta_i}")
    st.markdown(r"$\mu_N$ is known from the loss, so the recursion runs **backward**, $N \to 0$, one "
                r"vector-Jacobian product per layer and never a Jacobian matrix. Reading the result: "
                r"$\mu_i = -\partial\mathcal{L}/\partial z_i$, the direction in which the state $z_i$ should move to "
                "lower the loss.")

st.header("4. Dense layers")
st.markdown(r"For $\phi_i(z) = \sigma(z W_i + b_i)$ acting on a batch, one sample per row, with pre-activation "
            r"$a_i = z_{i-1} W_i + b_i$: for one sample (a row $z_{i-1}$) the Jacobian is "
            r"$\partial \phi_i / \partial z_{i-1} = \operatorname{diag}(\sigma'(a_i))\, W_i^{\top}$, and with the "
            "adjoints as rows too, the products become:")
st.latex(r"{\delta_i = \mu_i \odot \sigma'(a_i)}, \qquad \allowbreak {\mu_{i-1} = \delta_i\, W_i^{\top}}, \qquad "
         r"\allowbreak {\frac{\partial \mathcal{L}}{\partial W_i} = -\,z_{i-1}^{\top}\,\delta_i}, \qquad \allowbreak "
         r"{\frac{\partial \mathcal{L}}{\partial b_i} = -\sum_{k=1}^{B} \delta_{i,k}}")
st.markdown(r"For the batch loss $\mathcal{L} = \frac{1}{2B} \sum_k \lVert z_{N,k} - y_k\rVert^2$, "
            r"$\mu_N = -\frac{1}{B}(z_N - y)$: the batch mean lives in $\mu_N$, and the parameter terms are **sums** "
            "over the batch. The backward sweep costs about as much as the forward pass, whereas finite differences "
            "need two forward passes per parameter.")

st.subheader("Where you see each symbol")
st.markdown(r"""
| symbol | meaning | where you see it |
|---|---|---|
| $z_0 = x$ | the input batch, $B \times d_0$ | *Backward pass*: left column of the network diagram |
| $z_i$ | output of layer $i$, $B \times d_i$ | *Backward pass*: the diagram's columns; *Train*: the fit is $z_N$ |
| $a_i$ | pre-activation $z_{i-1}W_i + b_i$ | *Backward pass*: inside $\sigma'(a_i)$, heatmap "σ′(aᵢ)" |
| $\mu_N$ | $-\partial\mathcal{L}/\partial z_N$, the loss's error signal | *Backward pass*: the "Start" equation at layer $N$; *Train*: the first ‖μ‖ bar |
| $\mu_i$ | $-\partial\mathcal{L}/\partial z_i$, adjoint of layer $i$'s output | *Backward pass*: heatmap μᵢ, node colours, ‖μₖ‖ bars, adjoint over the input space; *Train*: ‖μᵢ‖ bars and heatmap |
| $\delta_i$ | $\mu_i \odot \sigma'(a_i)$, adjoint of $a_i$ | *Backward pass*: equation 1 with its numbers |
| $\partial\mathcal{L}/\partial W_i$ | $-z_{i-1}^\top \delta_i$ | *Backward pass*: heatmap ∂L/∂Wᵢ; *Gradient check*: rows Wᵢ; *Train*: gradient norms |
| $\mu_0$ | $-\partial\mathcal{L}/\partial x$ | *Gradient check*: row "x (−μ₀)"; *Backward pass*: the last panel ‖μ₀(x)‖ |
| $\lVert\mu_0\rVert / \lVert\mu_N\rVert$ | gradient health of the whole pass | *Backward pass*: metric beside the diagram; the presets "Vanishing μ" and "Exploding μ" |
""")

st.header("Two traps in the original notebook")
t1, t2 = st.columns(2)
with t1:
    st.markdown(r"**Trap 1: $\sigma'$ at the output.** The notebook's backward step evaluated the activation's slope "
                r"at the layer's output $z_i = \sigma(a_i)$ instead of at $a_i$:")
    st.latex(r"\delta_i^{\text{nb}} = \mu_i \odot \sigma'\bigl(\sigma(a_i)\bigr) \;\neq\; \mu_i \odot \sigma'(a_i)")
    st.markdown(r"For **ReLU** nothing changes: $\sigma(a) > 0$ exactly when $a > 0$, and ReLU's slope only asks "
                r"about the sign. For the **sigmoid** it is a different number: $\sigma(a)$ lies in $(0, 1)$, so "
                r"$\sigma'(\sigma(a))$ is always between 0.197 and 0.25, as if no unit were ever saturated. The "
                "gradient is simply wrong.")
with t2:
    st.markdown(r"**Trap 2: $1/B$ counted twice.** $\mu_N = -\frac{1}{B}(z_N - y)$ already carries the batch mean; "
                "the notebook then averaged the per-sample parameter terms again:")
    st.latex(r"\Bigl(\frac{\partial \mathcal{L}}{\partial W_i}\Bigr)^{\text{nb}} = -\frac{1}{B}\sum_{k=1}^{B} "
             r"z_{i-1,k}^{\top}\,\delta_{i,k} = \frac{1}{B}\,\frac{\partial \mathcal{L}}{\partial W_i}")
    st.markdown(r"The direction is right and the length $B$ times too small. With the update "
                r"$m \leftarrow \beta m + (1-\beta)(g + \mathrm{wd}\, w)$, $w \leftarrow w - \mathrm{lr}\, m$, a "
                r"gradient $g/B$ with $(\mathrm{lr}, \mathrm{wd})$ is exactly the true gradient with "
                r"$(\mathrm{lr}/B, \mathrm{wd} \cdot B)$: the presets use those converted values.")

st.subheader("Live: both traps against finite differences")
pause()   # this page reads the whole run: Play's training comes back first
run = get_run()
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
choice = c1.radio("Demonstrate on", ["The current run", "A fresh sigmoid network (the notebook's linear-sigmoid)"],
                  key="th_model", horizontal=True,
                  help="Trap 1 only shows with a smooth activation; the sigmoid network makes it visible even when "
                       "the current run uses ReLU.")
demo = run if choice == "The current run" else ac.TrainingRun(ac.presets[SIGMOID_DEMO], seed=0)
n_train = len(demo.data.x)
B = c2.number_input("Batch size B", 1, min(256, n_train), min(demo.config.batch_size, 64, n_train), key="th_batch",
                    help="Trap 2 divides the parameter gradient by exactly this B.")
idx = fixed_batch(n_train, int(B))
x, y = demo.data.x[idx], demo.data.y[idx]
with np.errstate(all="ignore"):
    results = trap_report(demo.net, demo.loss_fn, x, y, eps=1e-6, max_entries=300, rng=np.random.default_rng(0))
acts = sorted(set(demo.net.activations[:-1])) or ["identity"]
st.dataframe(teaching.trap_table(results, int(B)), width="stretch", hide_index=True, key="th_traps",
             column_config={"relative error vs FD": st.column_config.NumberColumn(format="%.2e"),
                            "FD / gradient (median)": st.column_config.NumberColumn(format="%.6g")})
true, trap2, trap1 = results[0], results[1], results[2]
piecewise = all(ac.ACTIVATIONS[a].piecewise for a in acts)
c1, c2 = st.columns([1.1, 1])
with c1:
    st.markdown(
        f"Network {' → '.join(map(str, demo.net.sizes))}, activation **{', '.join(acts)}**, B = {int(B)}, "
        f"{len(true.numeric)} random entries of θ, ε = 10⁻⁶.\n"
        f"- The adjoint gradient agrees with finite differences to **{true.rel_error:.1e}**.\n"
        f"- Trap 2 alone: error **{trap2.rel_error:.4f}** = 1 − 1/B = {1 - 1 / int(B):.4f}, and the finite "
        f"difference is **{trap2.ratio_median:.6g}** times the notebook's value: exactly B.\n"
        + (f"- Trap 1 alone: error **{trap1.rel_error:.1e}**: with {', '.join(acts)} the slope depends only on "
           "the sign of a, and σ(a) has the same sign, so the mistake is invisible. Switch to the sigmoid "
           "network to see it."
           if piecewise else
           f"- Trap 1 alone: error **{trap1.rel_error:.2f}**; the ratio FD / notebook ranges from "
           f"{trap1.ratio_min:.3g} to {trap1.ratio_max:.3g} across entries, so the direction is wrong too."))
with c2:
    charts.show(teaching.trap_bars(results), "th_trap_chart", summary=describe.errors(
        [teaching.NAMES.get(r.name, r.name) for r in results], [r.rel_error for r in results], RTOL))
