"""Replay: a slider over the paused run's kept snapshots (adjoint_core/snapshots.py) that shows the fit, the
mu bars and the fit heatmaps as they were at an earlier step, and marks that step on the charts over steps.

The replayed figures come from the engine (``adjoint_core.replay``: a model with that step's parameters); the run
itself is never touched.
"""

from __future__ import annotations

import streamlit as st

import adjoint_core as ac
from adjoint_core.replay import replay

from ..plots import figures
from . import chart_groups

ss = st.session_state
KEY = "replay_step"
SHOWN_FOR = "_replay_for"                              # (run id, step count) the slider was last shown for
NOW = "now"                                            # the slider's last stop: the run as it is
MARKED = ("loss_chart", "ratio_chart", "mu_heatmap", "grad_chart")   # charts over steps


def options(run: ac.TrainingRun) -> list[int | str]:
    """The slider's stops: the kept steps before the run's current step, then NOW."""
    return [int(s) for s in run.theta_snapshots.steps if s < run.step_count] + [NOW]


def slider(run: ac.TrainingRun, where) -> int | str:
    """The "Replay" slider in ``where`` (none before the first step); returns the chosen step, or NOW.
    A new run or new steps (Step, Epoch, Play) bring it back to NOW: the page then shows what they did."""
    stops, shown_for = options(run), (id(run), run.step_count)
    if len(stops) == 1:
        return NOW
    if ss.get(KEY) not in stops or ss.get(SHOWN_FOR) != shown_for:
        ss[KEY] = NOW
    ss[SHOWN_FOR] = shown_for
    return where.select_slider("Replay", stops, key=KEY,
                               format_func=lambda s: f"now (step {run.step_count:,})" if s == NOW else f"step {s:,}",
                               help="See the fit, the adjoints and the heatmaps as they were at an earlier step. "
                                    "The run itself does not change: Play or Step go on from where it is.")


def view(run: ac.TrainingRun, where, figs: dict[str, dict]) -> dict[str, dict]:
    """``figs`` as they were at the step chosen with the slider in ``where`` (unchanged at NOW)."""
    step = slider(run, where)
    if step == NOW:
        return figs
    past = replay(run, step)
    shown = {key: figures.titled(fig, f"{fig['layout']['title']['text']}  ·  step {step:,}")
             for key, fig in chart_groups.fit_figures(run, past.net).items()}
    shown["mu_bar"] = chart_groups.mu_bar(past.mu_norms, f"Adjoint flow ‖μᵢ‖ at step {step:,}, a fixed batch")
    shown.update({key: figures.step_marker(figs[key], step) for key in MARKED if key in figs})
    return {**figs, **shown}
