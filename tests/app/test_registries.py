"""An activation, a loss and an optimiser added to their registries alone (as a new one is added in its one file)
reach the sidebar's options, the run files and the Theory page: nothing else in the app names them."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import adjoint_core as ac
from adjoint_core.runfile import pack_run, unpack_run
from apptest_helpers import APP, W, app

ACT, LOSS, OPT = "twice_relu", "quarter_mse", "triple_ema"


class QuarterMSE(ac.Loss):
    """L = 0.25 mean_k ||z_k - y_k||^2; mu_N = -(z - y) / (2B)."""

    name, label = LOSS, "Quarter MSE"
    formula = r"\mathcal{L} = \frac{1}{4B}\sum_k \lVert z_{N,k} - y_k \rVert^2"
    mu_formula = r"-\frac{1}{2 \cdot {B}}\,\bigl({z} - y\bigr)"

    def __call__(self, z, y):
        r = z - y
        return 0.25 * float(np.vdot(r, r)) / len(z), r * (-0.5 / len(z))


class TripleEMA(ac.Optimiser):
    """Three momenta with betas beta, beta^2, beta^3; w <- w - lr (m1 + m2 + m3) / 3."""

    name, label, n_slots = OPT, "Triple EMA", 3

    def update(self, w, g, m1, m2, m3):
        for k, m in enumerate((m1, m2, m3), start=1):
            m *= self.beta ** k
            m += (1.0 - self.beta ** k) * g
        w -= self.lr * (m1 + m2 + m3) / 3.0


@pytest.fixture
def registered():
    """The three dummies in their registries for one test, removed afterwards."""
    ac.ACTIVATIONS[ACT] = ac.Activation(ACT, r"2\max(a, 0)", r"2 \cdot \mathbb{1}[a > 0]",
                                        lambda a: 2.0 * np.maximum(a, 0.0), lambda a, z: 2.0 * (a > 0),
                                        piecewise=True)
    ac.LOSSES[LOSS] = QuarterMSE
    ac.OPTIMISERS[OPT] = TripleEMA
    yield ac.presets["nonlinear-relu"].replace(activation=ACT, loss=LOSS, optimiser=OPT, lr=1e-3)
    del ac.ACTIVATIONS[ACT], ac.LOSSES[LOSS], ac.OPTIMISERS[OPT]


def test_the_sidebar_offers_them(registered):
    at = app()
    assert ACT in at.selectbox(key=W + "activation").options
    assert "Quarter MSE" in at.selectbox(key=W + "loss").options
    assert "Triple EMA" in at.selectbox(key=W + "optimiser").options
    at.selectbox(key=W + "optimiser").set_value(OPT).run()
    at.selectbox(key=W + "loss").set_value(LOSS).run()
    at.button(key="btn_epoch").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = at.session_state["run"]
    assert (run.config.optimiser, run.config.loss, len(run.optimiser.state[0])) == (OPT, LOSS, 3)


def test_a_run_file_round_trip_keeps_them(registered):
    run = ac.TrainingRun(registered, seed=0)
    run.run_steps(5)
    loaded = ac.TrainingRun.load(*unpack_run(pack_run(*run.export())))
    assert loaded.config == run.config and len(loaded.optimiser.state[0]) == 3
    for a, b in zip(run.optimiser.state[0], loaded.optimiser.state[0]):
        np.testing.assert_array_equal(a, b)
    assert loaded.step() == run.step()
    np.testing.assert_array_equal(loaded.net.theta, run.net.theta)


def test_the_theory_and_backward_pages_use_them(registered):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["run"] = ac.TrainingRun(registered, seed=0)
    at.switch_page("app_pages/theory.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert f"activation **{ACT}**" in text and "the slope depends only on the sign of a" in text
    at.switch_page("app_pages/backward.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(r"-\frac{1}{2 \cdot {" in e.value for e in at.latex)
