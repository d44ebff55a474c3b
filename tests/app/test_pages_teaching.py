"""The teaching pages (Backward pass, Gradient check, Theory) through app.py with AppTest, plus the engine
pieces they rely on: adjoint_field, notebook_traps, loss_increment and the two gradient-health presets.

What the pages display is read back (Plotly figure data, dataframes, LaTeX) and compared with the
engine's own ``net.backward`` on the same batch, so a page cannot show numbers the engine did not produce.
"""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import adjoint_core as ac
from adjoint_core.adjoint_field import adjoint_field, backward_trace, fixed_batch
from adjoint_core.loss_increment import LossIncrement, increment_loss
from adjoint_core.notebook_traps import VARIANTS, notebook_gradient, trap_report
from adjoint_core.targets import grid
from ui.plots import teaching
from ui.plots.backward_figures import sub
from ui.train.messages import divergence_message, earlier_divergence

PAGES = ("app_pages/backward.py", "app_pages/gradcheck.py", "app_pages/theory.py")
NOTEBOOK = ("linear-sigmoid", "linear-relu", "nonlinear-relu", "wave2d-relu")
HEALTH = ("deep-sigmoid-vanishing", "large-init-exploding")   # 1D sine and 2D gauss2d targets
TIMEOUT = 30


def open_page(page: str, preset: str | None = None, seed: int = 0) -> AppTest:
    """app.py switched to ``page``, with a fresh run of ``preset`` in the session (or none)."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    if preset is not None:
        at.session_state["run"] = ac.TrainingRun(ac.presets[preset], seed=seed)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def decode(obj) -> np.ndarray:
    """A Plotly JSON array: plain list, or Plotly >= 6's {"dtype", "bdata", "shape"}."""
    if isinstance(obj, dict) and "bdata" in obj:
        a = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
        shape = obj.get("shape")
        if shape:
            a = a.reshape([int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape)
        return a
    return np.asarray(obj, dtype=float)


def figure(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def heat_z(at: AppTest, key: str) -> np.ndarray:
    return decode(figure(at, key)["data"][0]["z"]).astype(np.float64)


def latex_text(at: AppTest) -> str:
    return "\n".join(el.value for el in at.latex)


def page_batch(run: ac.TrainingRun, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The batch the pages use, rebuilt independently: the first batch of a seed-0 permutation."""
    n = len(run.data.x)
    B = min(run.config.batch_size, 64, n) if size is None else size
    idx = np.random.default_rng(0).permutation(n)[:B]
    assert np.array_equal(idx, fixed_batch(n, B))
    return run.data.x[idx], run.data.y[idx]


# --- every page loads ---------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_a_run(page):
    at = open_page(page)
    assert isinstance(at.session_state["run"], ac.TrainingRun)   # the session made the default run
    assert at.title and at.title[0].value


@pytest.mark.parametrize("preset", NOTEBOOK + HEALTH)
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_with_a_preset_run(page, preset):
    at = open_page(page, preset)
    assert at.get("plotly_chart"), "no chart on the page"
    assert at.latex, "no equation on the page"


def test_pages_do_not_change_the_run():
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    theta, rng_state = run.net.theta.copy(), run.rng.bit_generator.state
    for page in PAGES:
        at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
        at.session_state["run"] = run
        at.switch_page(page).run()
        assert not at.exception
    assert np.array_equal(run.net.theta, theta)
    assert run.rng.bit_generator.state == rng_state
    assert run.step_count == 0


# --- Backward pass ------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["linear-sigmoid", "deep-sigmoid-vanishing", "wave2d-relu"])
def test_backward_slider_walks_every_layer(preset):
    at = open_page("app_pages/backward.py", preset)
    N = at.session_state["run"].net.n_layers
    assert at.select_slider(key="bp_layer").value == N            # the walk starts at the output layer
    assert r"-\frac{1}{50}" in latex_text(at)               # mu_N = -(1/B)(z_N - y) with B = 50
    for i in range(N, 0, -1):
        at.select_slider(key="bp_layer").set_value(i).run()
        assert not at.exception, [e.value for e in at.exception]
        text = latex_text(at)
        assert rf"\underbrace{{\mu_{{{i - 1}}}}}" in text and rf"\underbrace{{\delta_{{{i}}}}}" in text, text
        assert rf"\underbrace{{W_{{{i}}}^{{\top}}}}" in text
        assert rf"\partial W_{{{i}}}" in text and rf"\partial b_{{{i}}}" in text
        assert any(f"Layer {i} of {N}" in h.value for h in at.subheader)


def test_backward_next_and_previous_buttons():
    at = open_page("app_pages/backward.py", "linear-relu")
    N = at.session_state["run"].net.n_layers
    at.button(key="bp_next").click().run()
    assert at.select_slider(key="bp_layer").value == N - 1
    at.button(key="bp_next").click().run()
    assert at.select_slider(key="bp_layer").value == N - 2
    at.button(key="bp_prev").click().run()
    assert at.select_slider(key="bp_layer").value == N - 1
    assert not at.exception


@pytest.mark.parametrize("preset", ["linear-sigmoid", "wave2d-relu", "large-init-exploding"])
def test_backward_numbers_are_the_engines(preset):
    """Heatmaps of mu_i, sigma'(a_i), mu_{i-1} and dL/dW_i equal a net.backward computed here."""
    at = open_page("app_pages/backward.py", preset)
    run = at.session_state["run"]
    x, y = page_batch(run)
    net = run.net
    loss, mu_N = run.loss_fn(net.forward(x), y)
    grads, mus = net.backward(mu_N)                        # [mu_N, ..., mu_0]
    caches = net.caches()
    N = net.n_layers
    for i in range(N, 0, -1):
        at.select_slider(key="bp_layer").set_value(i).run()
        assert not at.exception
        mu_i, mu_prev, dW = mus[N - i], mus[N - i + 1], grads[i - 1][0]
        _, a, z = caches[i - 1]
        sigma_prime = net.layers[i - 1].activation.derivative(a, z)
        for key, want in (("bp_heat_mu", mu_i), ("bp_heat_mu_prev", mu_prev), ("bp_heat_dW", dW),
                          ("bp_heat_sigma", sigma_prime)):
            got = heat_z(at, key)
            want = want[:256, :256]
            assert got.shape == want.shape, (key, got.shape, want.shape)
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max() + 1e-300,
                                       err_msg=f"{preset} layer {i} {key}")
    # the norm bars are ||mu_k|| of the same pass, in backward order
    bars = decode(figure(at, "bp_norms")["data"][0]["y"])
    np.testing.assert_allclose(bars, [np.linalg.norm(m) for m in mus], rtol=1e-6)


def test_backward_one_sample_mode():
    at = open_page("app_pages/backward.py", "nonlinear-relu")
    at.radio(key="bp_mode").set_value("One sample").run()
    at.number_input(key="bp_sample").set_value(7).run()
    assert not at.exception
    run = at.session_state["run"]
    x, y = run.data.x[[7]], run.data.y[[7]]
    _, mus = run.net.backward(run.loss_fn(run.net.forward(x), y)[1])
    np.testing.assert_allclose(heat_z(at, "bp_heat_mu"), mus[0], rtol=1e-6)
    assert r"-\frac{1}{1}" in latex_text(at)


def page_fields(run: ac.TrainingRun) -> list[np.ndarray]:
    """The adjoint field the Backward page draws, [mu_N, ..., mu_0] per grid point, computed here."""
    target = run.data.target
    xg = grid(target, 40 if target.dim == 2 else 200)
    return adjoint_field(run.net, run.loss_fn, xg, target.fn(xg))


@pytest.mark.parametrize("preset", ["wave2d-relu", "deep-sigmoid-vanishing"])
def test_backward_input_space_field_is_the_engines(preset):
    at = open_page("app_pages/backward.py", preset)
    at.toggle(key="bp_field_shared").set_value(False).run()     # each panel on its own linear scale
    run = at.session_state["run"]
    N, fields = run.net.n_layers, page_fields(run)
    for k in range(N + 1):
        data = figure(at, f"bp_field_{k}")["data"][0]
        shown = decode(data["z"] if run.data.target.dim == 2 else data["y"]).astype(np.float64).ravel()
        np.testing.assert_allclose(shown, fields[N - k], rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("preset", ["deep-sigmoid-vanishing", "wave2d-relu"])
def test_backward_input_space_panels_share_one_log_scale_by_default(preset):
    """Shared: the vanishing preset's panels sink decade by decade on one axis instead of looking alike."""
    at = open_page("app_pages/backward.py", preset)
    assert at.toggle(key="bp_field_shared").value
    run = at.session_state["run"]
    N, fields = run.net.n_layers, page_fields(run)
    figs = [figure(at, f"bp_field_{k}") for k in range(N + 1)]
    if run.data.target.dim == 2:
        ranges = {(f["data"][0]["zmin"], f["data"][0]["zmax"]) for f in figs}
    else:
        ranges = {tuple(f["layout"]["yaxis"]["range"]) for f in figs}
        assert all(f["layout"]["yaxis"]["type"] == "log" for f in figs)
    assert len(ranges) == 1, ranges
    lo, hi = ranges.pop()
    assert hi == pytest.approx(np.log10(max(v.max() for v in fields)))
    if preset == "deep-sigmoid-vanishing":        # mu_N near 1, mu_0 below 1e-5: both inside the one scale
        assert lo < np.log10(fields[-1].max()) - 1 and hi - lo <= 10


def test_backward_explains_the_tiny_output_layer_at_step_0():
    """The notebook's 2D wave starts with W_N at scale 1e-6: the page says why ||mu_0|| / ||mu_N|| is tiny."""
    at = open_page("app_pages/backward.py", "wave2d-relu")
    N = at.session_state["run"].net.n_layers
    whole = float(next(m for m in at.metric if m.label == f"‖μ₀‖ / ‖μ{sub(N)}‖").value)
    assert whole < 1e-3
    note = " ".join(i.value for i in at.info)
    assert "Why so small?" in note and "scales the output layer by $1\\mathrm{e}{-6}$" in note, note
    assert not open_page("app_pages/backward.py", "nonlinear-relu").info      # init 1: nothing to explain
    assert not open_page("app_pages/backward.py", "deep-sigmoid-vanishing").info   # vanishing through depth


def test_output_layer_note_only_when_the_output_layer_alone_shrinks_mu():
    cfg = ac.presets["wave2d-relu"]
    assert teaching.output_layer_note(np.array([4e-5, 1e-3, 9e-6, 1.0]), 9e-6, cfg)
    assert teaching.output_layer_note(np.array([1e-7, 1e-5, 1e-2, 1.0]), 1e-2, cfg) is None   # through depth
    assert teaching.output_layer_note(np.array([0.5, 0.2, 1.0]), 1.0, cfg) is None            # healthy


def test_backward_page_reports_gradient_health():
    for preset, check in (("deep-sigmoid-vanishing", lambda r: r < 1e-3), ("large-init-exploding", lambda r: r > 1e3)):
        at = open_page("app_pages/backward.py", preset)
        N = at.session_state["run"].net.n_layers
        metric = next(m for m in at.metric if m.label == f"‖μ₀‖ / ‖μ{sub(N)}‖")
        assert check(float(metric.value)), (preset, metric.value)


# --- Gradient check -----------------------------------------------------------------------------
@pytest.mark.parametrize("preset", NOTEBOOK)
def test_gradient_check_passes_for_notebook_presets(preset):
    at = open_page("app_pages/gradcheck.py", preset)
    table = at.dataframe[0].value                          # the table as displayed
    n = at.session_state["run"].net.n_layers
    assert list(table["tensor"][:2 * n]) == [f"{p}{i}" for i in range(1, n + 1) for p in ("W", "b")]
    assert (table["relative error"] <= 1e-6).all(), table[["tensor", "relative error"]]
    assert (table["verdict"] == "pass").all()
    dots = next(d.value for d in at.dataframe if "rel. error" in d.value.columns)   # after the charts' data
    assert len(dots) == 2 * n and (dots["rel. error"] <= 1e-6).all() and dots["pass"].all(), dots
    assert at.metric[1].value == "pass" and not at.metric[1].delta


def test_gradient_check_says_round_off_limited_for_the_vanishing_preset():
    """Its first layers' gradients are ~1e-6 per entry: relative errors ~1e-5 from rounding are not a fail."""
    at = open_page("app_pages/gradcheck.py", "deep-sigmoid-vanishing")
    table = at.dataframe[0].value
    assert (table["relative error"] > 1e-6).any()                # the old rule said "fail"
    assert set(table["verdict"]) == {"pass", "pass (round-off limited)"}
    assert at.metric[1].value == "pass" and at.metric[1].delta == "round-off limited"
    assert any("Round-off limited" in i.value for i in at.info)


def test_gradient_check_controls():
    at = open_page("app_pages/gradcheck.py", "nonlinear-relu")
    P = at.session_state["run"].net.n_params()
    assert P <= 5000 and not at.checkbox(key="gc_all").disabled
    at.checkbox(key="gc_all").check().run()
    table = at.dataframe[0].value
    checked = sum(int(s.split(" / ")[0]) for s in table["entries checked"][:-1])
    assert checked == P and (table["relative error"] <= 1e-6).all()
    at.checkbox(key="gc_all").uncheck().run()
    at.number_input(key="gc_max").set_value(5).run()
    assert at.dataframe[0].value["entries checked"][0] == "5 / 64"
    for eps in (1e-3, 1e-8):
        at.select_slider(key="gc_eps").set_value(eps).run()
        assert not at.exception
    at.toggle(key="gc_increment").set_value(False).run()
    at.number_input(key="gc_batch").set_value(3).run()
    assert not at.exception
    assert at.dataframe[0].value["shape"].iloc[-1] == "3×1"


def test_gradient_check_all_is_disabled_for_large_nets():
    at = open_page("app_pages/gradcheck.py", "linear-sigmoid")
    assert at.session_state["run"].net.n_params() > 5000
    assert at.checkbox(key="gc_all").disabled


# --- Theory -------------------------------------------------------------------------------------
def test_theory_shows_the_derivation_and_the_traps():
    at = open_page("app_pages/theory.py", "wave2d-relu")
    text = latex_text(at)
    for piece in (r"\mathcal{J}(z, \theta, \mu)", r"\mu_N = -", r"\delta_i = \mu_i \odot \sigma'(a_i)",
                  r"-\,\mu_i^{\top}\,\frac{\partial \phi_i}{\partial \theta_i}", r"\sigma'\bigl(\sigma(a_i)\bigr)"):
        assert piece in text, piece
    table = at.dataframe[0].value
    B = at.number_input(key="th_batch").value
    true, trap2, trap1, both = table["relative error vs FD"]
    assert true < 1e-6 and trap1 < 1e-6                 # ReLU: sigma' at the output is harmless
    assert trap2 == pytest.approx(1 - 1 / B, rel=1e-6) and both == pytest.approx(1 - 1 / B, rel=1e-6)
    assert table["FD / gradient (median)"][1] == pytest.approx(B, rel=1e-6)
    at.radio(key="th_model").set_value(at.radio(key="th_model").options[1]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["relative error vs FD"][0] < 1e-6 and table["relative error vs FD"][2] > 0.1   # sigmoid


@pytest.mark.parametrize("page", ["app_pages/theory.py", "app_pages/backward.py"])
def test_prose_writes_its_symbols_in_latex(page):
    """No raw "μ_N" or "z_N" beside rendered ones; the symbol table's last column quotes other pages' labels."""
    at = open_page(page, "wave2d-relu")
    prose = [m.value for m in at.markdown if "| symbol |" not in m.value]
    text = re.sub(r"\$[^$]*\$", "", " ".join(prose))   # outside the $...$ maths
    for raw in ("μ_N", "z_N", "μᵢ", "zᵢ", "θᵢ", "Wᵢ", "aᵢ"):
        assert raw not in text, raw
    if page.endswith("theory.py"):   # the dense layer's Jacobian in the page's row convention
        assert any(r"\operatorname{diag}(\sigma'(a_i))\, W_i^{\top}" in p for p in prose)


# --- engine: adjoint field, batches, traces -------------------------------------------------------
def test_fixed_batch():
    idx = fixed_batch(100, 30, 0)
    assert np.array_equal(idx, np.random.default_rng(0).permutation(100)[:30])
    assert np.array_equal(fixed_batch(100, 30, 1), np.random.default_rng(0).permutation(100)[30:60])
    assert np.array_equal(fixed_batch(100, 30, 3), idx)          # three full batches, then round again
    assert len(fixed_batch(5, 50)) == 5


def test_backward_trace_is_net_backward():
    run = ac.TrainingRun(ac.presets["linear-sigmoid"], seed=1)
    x, y = page_batch(run)
    tr = backward_trace(run.net, run.loss_fn, x, y)
    grads, mus = run.net.backward(run.loss_fn(run.net.forward(x), y)[1])
    for a, b in zip(tr.mus, mus):
        np.testing.assert_array_equal(a, b)
    for (dW, db), (gW, gb) in zip(tr.grads, grads):
        np.testing.assert_array_equal(dW, gW)
        np.testing.assert_array_equal(db, gb)
    for i in range(1, tr.n_layers + 1):                 # delta_i W_i^T = mu_{i-1}, -z_{i-1}^T delta_i = dL/dW_i
        np.testing.assert_allclose(tr.deltas[i - 1] @ run.net.params[i - 1][0].T, tr.mu(i - 1), rtol=1e-12)
        np.testing.assert_allclose(-tr.caches[i - 1][0].T @ tr.deltas[i - 1], tr.grads[i - 1][0], rtol=1e-12)
    assert tr.mu_norms()[-1] == pytest.approx(np.linalg.norm(mus[0]))


@pytest.mark.parametrize("preset", ["wave2d-relu", "nonlinear-relu"])
def test_adjoint_field_is_the_single_sample_adjoint(preset):
    run = ac.TrainingRun(ac.presets[preset], seed=0)
    target = run.data.target
    xg = grid(target, 12)
    yg = target.fn(xg)
    fields = adjoint_field(run.net, run.loss_fn, xg, yg)
    assert len(fields) == run.net.n_layers + 1 and all(f.shape == (len(xg),) for f in fields)
    for p in (0, 5, len(xg) - 1):                       # one point alone: mu_N = -(z - y), no 1/B
        z = run.net.forward(xg[[p]])
        _, mus = run.net.backward(-(z - yg[[p]]))
        for f, m in zip(fields, mus):
            assert f[p] == pytest.approx(np.linalg.norm(m), rel=1e-10, abs=1e-300)


# --- engine: the notebook's traps ----------------------------------------------------------------
def reference_notebook_gradient(net, x, y, at_output, average):
    """Per-sample loops written from the maths (slow, independent of notebook_gradient)."""
    B = len(x)
    total = np.zeros_like(net.theta)
    for k in range(B):
        zs, as_ = [x[k]], []
        for layer in net.layers:
            as_.append(zs[-1] @ layer.W + layer.b)
            zs.append(layer.activation.forward(as_[-1][None])[0])
        mu = -(zs[-1] - y[k]) / B
        parts = []
        for i in range(net.n_layers - 1, -1, -1):
            act = net.layers[i].activation
            u = zs[i + 1] if at_output else as_[i]
            sp = act.derivative(u[None], act.forward(u[None]))[0]
            delta = mu * sp
            parts.append((-np.outer(zs[i], delta), -delta))
            mu = net.layers[i].W @ delta
        flat = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in reversed(parts)])
        total += flat / B if average else flat
    return total


@pytest.mark.parametrize("preset", ["linear-sigmoid", "nonlinear-relu"])
@pytest.mark.parametrize("at_output,average", [(False, False), (True, False), (False, True), (True, True)])
def test_notebook_gradient_matches_a_per_sample_reference(preset, at_output, average):
    run = ac.TrainingRun(ac.presets[preset], seed=0)
    x, y = run.data.x[:6], run.data.y[:6]
    got = notebook_gradient(run.net, run.loss_fn, x, y, at_output, average)
    want = reference_notebook_gradient(run.net, x, y, at_output, average)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_notebook_gradient_without_traps_is_the_adjoint_gradient():
    run = ac.TrainingRun(ac.presets["linear-sigmoid"], seed=0)
    x, y = page_batch(run)
    grads, _ = run.net.backward(run.loss_fn(run.net.forward(x), y)[1])
    flat = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
    np.testing.assert_array_equal(notebook_gradient(run.net, run.loss_fn, x, y, False, False), flat)


@pytest.mark.parametrize("preset", ["linear-relu", "nonlinear-relu", "wave2d-relu"])
def test_trap_two_is_exactly_B_for_relu(preset):
    run = ac.TrainingRun(ac.presets[preset], seed=0)
    x, y = page_batch(run)
    B = len(x)
    true = notebook_gradient(run.net, run.loss_fn, x, y, False, False)
    trap2 = notebook_gradient(run.net, run.loss_fn, x, y, False, True)
    both = notebook_gradient(run.net, run.loss_fn, x, y, True, True)
    nz = true != 0
    np.testing.assert_allclose(true[nz] / trap2[nz], B, rtol=1e-12)
    np.testing.assert_array_equal(both, trap2)                   # ReLU: trap 1 changes nothing
    results = trap_report(run.net, run.loss_fn, x, y, max_entries=200)
    assert [r.name for r in results] == [v[0] for v in VARIANTS]
    assert results[0].rel_error < 1e-6
    assert results[1].ratio_median == pytest.approx(B, rel=1e-9)
    assert results[1].rel_error == pytest.approx(1 - 1 / B, rel=1e-6)


def test_trap_one_changes_sigmoid_but_not_relu():
    for preset, changes in (("linear-sigmoid", True), ("nonlinear-relu", False), ("deep-sigmoid-vanishing", True)):
        run = ac.TrainingRun(ac.presets[preset], seed=0)
        x, y = page_batch(run)
        true = notebook_gradient(run.net, run.loss_fn, x, y, False, False)
        trap1 = notebook_gradient(run.net, run.loss_fn, x, y, True, False)
        error = ac.relative_error(trap1, true)
        assert (error > 1e-2) if changes else (error == 0.0), (preset, error)


# --- engine: the loss increment used for finite differences ----------------------------------------
@pytest.mark.parametrize("loss", [ac.MSELoss(), ac.HuberLoss(0.5)])
def test_loss_increment_is_the_loss_difference(loss):
    rng = np.random.default_rng(3)
    y = rng.normal(size=(7, 2)) * 3
    z0 = y + rng.normal(size=y.shape)
    z = z0 + 0.3 * rng.normal(size=y.shape)
    inc = LossIncrement(loss, z0)
    value, mu = inc(z, y)
    assert value == pytest.approx(loss(z, y)[0] - loss(z0, y)[0], rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(mu, loss(z, y)[1])
    assert inc(z0, y)[0] == 0.0


def test_loss_increment_removes_rounding_from_the_wave_check():
    """The 2D wave at initialisation: plain differences of L are swamped by rounding, the increment is not."""
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    x, y = page_batch(run, 8)
    plain = ac.check_gradients(run.net, run.loss_fn, x, y, eps=1e-6, max_per_tensor=30)
    clean = ac.check_gradients(run.net, increment_loss(run.net, run.loss_fn, x), x, y, eps=1e-6, max_per_tensor=30)
    assert max(c.rel_error for c in plain) > 1e-5
    assert max(c.rel_error for c in clean) < 1e-7


# --- engine: gradient-health presets ------------------------------------------------------------
def whole_pass_ratio(name: str, seed: int) -> float:
    cfg = ac.presets[name]
    run = ac.TrainingRun(cfg, seed=seed)
    x, y = run.data.x[:cfg.batch_size], run.data.y[:cfg.batch_size]
    _, mus = run.net.backward(run.loss_fn(run.net.forward(x), y)[1])
    return float(np.linalg.norm(mus[-1]) / np.linalg.norm(mus[0]))


@pytest.mark.parametrize("seed", range(5))
def test_vanishing_and_exploding_presets(seed):
    assert whole_pass_ratio("deep-sigmoid-vanishing", seed) < 1e-3
    assert whole_pass_ratio("large-init-exploding", seed) > 1e3


def test_exploding_preset_diverges_on_its_default_seed_within_its_epochs():
    """What its description promises: the loss overflows within ten steps, then Play again diverges again."""
    cfg = ac.presets["large-init-exploding"]
    run = ac.TrainingRun(cfg)                                     # the default seed, 0
    taken = run.run_epochs(cfg.epochs)
    assert run.diverged and taken <= 10, (taken, run.diverged)
    loss = run.history.loss
    assert np.all(np.diff(loss) > 0) and loss[-1] > 1e6 * loss[0]   # it grows every step before it overflows
    assert "Training diverged**" in divergence_message(run, ()) and "Reset" not in divergence_message(run, ())
    first = run.divergence_steps[-1]
    run.run_epochs(1)                                             # Play again: diverges right after resuming
    assert run.diverged and earlier_divergence(run) == first
    message = divergence_message(run, ())
    assert "diverged again" in message and "**Reset**" in message and "init scale (now 4)" in message


def test_only_a_recent_earlier_divergence_counts():
    """earlier_divergence: the divergence before the current one, if at most AGAIN_WITHIN steps before it."""
    run = ac.TrainingRun(ac.presets["nonlinear-relu"])
    run.run_steps(30)
    assert earlier_divergence(run) is None
    run.diverged, run.divergence_steps = "the loss became inf at step 31", (12, 31)
    assert earlier_divergence(run) is None                        # 19 steps before
    assert earlier_divergence(run, within=20) == 12
    run.divergence_steps = (31,)
    assert earlier_divergence(run, within=20) is None             # the first divergence
    run.diverged = None
    assert earlier_divergence(run, within=50) is None             # trained on since


@pytest.mark.parametrize("hidden, suggested, left_out", [
    ((), ["learning rate (now 3e-09)", "init scale", "Adam"], []),
    (("optimiser",), ["learning rate (now 3e-09)", "init scale"], ["Adam"]),
    (("init_scale", "optimiser"), ["learning rate (now 3e-09)"], ["init scale", "Adam"]),
    (("lr", "init_scale", "optimiser"), ["**Reset**"], ["learning rate", "init scale", "Adam"]),
])
def test_a_divergence_message_suggests_only_the_controls_in_view(hidden, suggested, left_out):
    run = ac.TrainingRun(ac.presets["large-init-exploding"])
    run.run_epochs(1)
    message = divergence_message(run, hidden)
    assert all(s in message for s in suggested) and not any(s in message for s in left_out), message
    assert f"set back to step {run.step_count}," in message
    run.run_epochs(1)
    again = divergence_message(run, hidden)
    assert "diverged again" in again and "**Reset**" in again
    assert ("init scale (now 4)" in again) == ("init_scale" not in hidden)
    assert ("learning rate (now 3e-09)" in again) == ("lr" not in hidden)
    assert f"the batch loss of its last step, {run.step_count}, is {run.history.loss[-1]:.3g}" in again


def test_health_presets_are_valid_and_described():
    for name in HEALTH:
        cfg = ac.presets[name]
        assert ac.RunConfig.from_mapping(cfg.to_dict()) == cfg     # passes validation again
        assert len(cfg.hidden) <= 10 and max(cfg.hidden) <= 1024 and cfg.init_scale <= 100
        assert cfg.label.split(":")[0] in ("Vanishing μ", "Exploding μ") and 40 < len(cfg.description) < 300
    assert list(ac.presets)[:4] == list(NOTEBOOK)


@pytest.mark.parametrize("page", PAGES)
def test_pages_handle_a_network_without_hidden_layers(page):
    cfg = ac.presets["linear-relu"].replace(hidden=(), activation="relu")
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.session_state["run"] = ac.TrainingRun(cfg, seed=0)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
