"""The reference page of bench_app.py: a bare Streamlit app with four st.plotly_chart of figures like the Train
page's (the loss, the 2D fit heatmaps, the mu heatmap, the gradient norms of a short wave run), nothing else.
Its first chart is what Streamlit and plotly.js alone cost a browser; bench_app.py times the app's against it."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]   # resolve(): bench_app.py serves this file through a link
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

import adjoint_core as ac  # noqa: E402
from adjoint_core.targets import grid  # noqa: E402
from ui.plots import figures  # noqa: E402

R = 50   # the fit's grid side, as on the Train page


@st.cache_resource
def run_figures() -> list[dict]:
    """The four figures of the wave preset after 400 steps."""
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(400)
    h, pts = run.history, grid(run.data.target, R)
    target, pred = run.data.target.fn(pts).reshape(R, R), run.net.predict(pts).reshape(R, R)
    return [figures.loss_figure(h.step, h.loss, h.epoch_step, h.test_loss, 40),
            figures.fit_2d_figure(pts[:R, 0], target, pred, (float(target.min()), float(target.max()))),
            figures.mu_heatmap_figure(h.step, h.mu_norms), figures.grad_norm_figure(h.step, h.grad_norms)]


for i, fig in enumerate(run_figures()):
    st.plotly_chart(fig, key=f"chart_{i}", width="stretch", theme=None)
