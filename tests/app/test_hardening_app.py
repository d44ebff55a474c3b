"""Hardening, app side (AppTest): the engine's catalogue of bad inputs pushed through every free-input path of
the Train page, divergence under each optimiser, resource limits and run files that round-trip.

After each bad input: no exception element, an ``st.error`` or ``st.warning`` naming the field with the key
phrase, and the previous run kept (the same object, the same step count).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from test_hardening_engine import BAD_CSV, BAD_FORMULAS, BAD_HIDDEN, BAD_RUN_FILES, OPTIMISERS, _bad_run_file

import adjoint_core as ac
from adjoint_core.runfile import pack_run
from apptest_helpers import W, app, errors, run_of

PRESET = "nonlinear-relu"      # 100 points, 2 steps per epoch: the cheapest preset to draw


def started(query: dict[str, str] | None = None):
    """The app on PRESET (plus ``query``) after one Step: (at, its run)."""
    at = app({"preset": PRESET, **(query or {})})
    assert not at.exception, at.exception
    at.button(key="btn_step").click().run()
    assert run_of(at).step_count == 1
    return at, run_of(at)


def messages(at) -> list[str]:
    return [e.value for e in at.error] + [w.value for w in at.warning]


def assert_refused(at, run, steps: int, field: str | tuple[str, ...], phrase: str) -> str:
    """No exception; an error or warning naming the field (or its control: "Formula") with the phrase; the run
    and its step count kept."""
    assert not at.exception, [e.message for e in at.exception]
    fields = field if isinstance(field, tuple) else (field,)
    found = [m for m in messages(at) if phrase in m and any(f in m.lower() for f in fields)]
    assert found, f"no error/warning with {fields} and {phrase!r}: {messages(at)}"
    assert run_of(at) is run, "the previous run was replaced"
    assert run.step_count == steps
    return found[0]


# --- free text: hidden sizes and formulas ---------------------------------------------------------------

@pytest.mark.parametrize("text, field, phrase", BAD_HIDDEN, ids=[t[:20] for t, _, _ in BAD_HIDDEN])
def test_bad_hidden_sizes_in_the_app(text, field, phrase):
    at, run = started()
    at.text_input(key=W + "hidden").set_value(text).run()
    assert_refused(at, run, 1, field, phrase)
    at.button(key="btn_step").click().run()        # the kept run still trains
    assert run_of(at) is run and run.step_count == 2


# The formula box takes at most 200 characters (max_chars): a longer paste arrives cut off.
APP_FORMULA_PHRASE = {"x + " * 60 + "x": "could not parse"}


@pytest.mark.parametrize("formula, phrase", BAD_FORMULAS, ids=[f[:30] for f, _ in BAD_FORMULAS])
def test_bad_formulas_in_the_app(formula, phrase):
    at, run = started({"target": "custom", "formula": "sin(3*x)", "dim": "1"})
    assert run.config.target == "custom" and not at.warning
    at.text_input(key=W + "formula").set_value(formula).run()
    assert_refused(at, run, 1, "formula", APP_FORMULA_PHRASE.get(formula, phrase))


# --- URL query parameters for every field ---------------------------------------------------------------

CUSTOM = {"target": "custom", "dim": "1"}
URL_CASES = [
    # (query, parameter named in the warning, key phrase, the field that must fall back to the preset)
    ({"preset": "nope"}, "preset", "Unknown preset", None),
    ({"preset": "nonlinear-rel"}, "preset", "Unknown preset", None),        # truncated
    ({"seed": "-4"}, "seed", "whole number", None),
    ({"seed": "4294967296"}, "seed", "whole number", None),
    ({"seed": "1.5"}, "seed", "whole number", None),
    ({"seed": "\u00b2"}, "seed", "whole number", None),
    ({"seed": ""}, "seed", "whole number", None),
    ({"target": "wave"}, "target", "unknown target", "target"),
    ({"target": ""}, "target", "unknown target", "target"),
    ({"target": "custom"}, "target", "needs a formula", "target"),
    ({**CUSTOM, "formula": "x", "dim": "3"}, "dim", "out of range", "target"),
    ({**CUSTOM, "formula": "x", "dim": "x"}, "dim", "not a number", "target"),
    ({**CUSTOM, "formula": "__import__('os')"}, "formula", "double underscores", "target"),
    ({**CUSTOM, "formula": "sin(x"}, "formula", "could not parse", "target"),           # truncated
    ({**CUSTOM, "formula": "1/(x-x)"}, "formula", "not finite", "target"),
    ({**CUSTOM, "formula": "x" * 301}, "formula", "too long", "target"),
    ({"formula": "x**2"}, "formula", "only applies to target=custom", "formula"),
    ({"samples": "1"}, "samples", "out of range", "samples"),
    ({"samples": "200001"}, "samples", "out of range", "samples"),
    ({"samples": "1e3x"}, "samples", "not a number", "samples"),
    ({"samples": ""}, "samples", "not a number", "samples"),
    ({"samples": "10"}, "samples", "larger than the 10 training points", "samples"),
    ({"noise": "-1"}, "noise", "out of range", "noise"),
    ({"noise": "nan"}, "noise", "out of range", "noise"),
    ({"noise": "101"}, "noise", "out of range", "noise"),
    ({"test_fraction": "1.5"}, "test_fraction", "out of range", "test_fraction"),
    ({"test_fraction": "-0.1"}, "test_fraction", "out of range", "test_fraction"),
    ({"hidden": "64,"}, "hidden", "not a positive whole number", "hidden"),
    ({"hidden": "64, x"}, "hidden", "not a positive whole number", "hidden"),
    ({"hidden": "2000"}, "hidden", "out of range", "hidden"),
    ({"hidden": "1000, 1000"}, "hidden", "200,000", "hidden"),
    ({"activation": "swish"}, "activation", "unknown value", "activation"),
    ({"activation": "relu, tanh, relu"}, "activation", "3 names for 2 hidden layers", "activation"),
    ({"activation": "relu,"}, "activation", "unknown value", "activation"),
    ({"init": "glorot"}, "init", "unknown value", "init"),
    ({"init_scale": "0"}, "init_scale", "out of range", "init_scale"),
    ({"init_scale": "1e3"}, "init_scale", "out of range", "init_scale"),
    ({"loss": "l1"}, "loss", "unknown value", "loss"),
    ({"optimiser": "rmsprop"}, "optimiser", "unknown value", "optimiser"),
    ({"lr": "0"}, "lr", "out of range", "lr"),
    ({"lr": "inf"}, "lr", "out of range", "lr"),
    ({"lr": "1e9"}, "lr", "out of range", "lr"),
    ({"lr": "0.0.1"}, "lr", "not a number", "lr"),
    ({"lr": "1e"}, "lr", "not a number", "lr"),                                        # truncated
    ({"beta": "1"}, "beta", "out of range", "beta"),
    ({"beta": "-1"}, "beta", "out of range", "beta"),
    ({"weight_decay": "-1"}, "weight_decay", "out of range", "weight_decay"),
    ({"weight_decay": "11"}, "weight_decay", "out of range", "weight_decay"),
    ({"batch_size": "0"}, "batch_size", "out of range", "batch_size"),
    ({"batch_size": "10001"}, "batch_size", "out of range", "batch_size"),
    ({"batch_size": "2.5"}, "batch_size", "out of range", "batch_size"),
    ({"batch_size": "500"}, "batch_size", "larger than the 100 training points", "batch_size"),
    ({"epochs": "0"}, "epochs", "out of range", "epochs"),
    ({"epochs": "1e6"}, "epochs", "out of range", "epochs"),
    ({"bogus": "1"}, "bogus", "unknown URL parameter", None),
    ({"__class__": "x"}, "__class__", "unknown URL parameter", None),
]


@pytest.mark.parametrize("query, param, phrase, fallback", URL_CASES,
                         ids=[f"{p}={str(q.get(p, ''))[:15]}" for q, p, _, _ in URL_CASES])
def test_bad_url_parameter_is_ignored_with_a_warning(query, param, phrase, fallback):
    at = app({"preset": PRESET, **query} if "preset" not in query else query)
    assert not at.exception, [e.message for e in at.exception]
    warned = [w.value for w in at.warning if param in w.value and phrase in w.value]
    assert warned, f"no warning naming {param!r} with {phrase!r}: {[w.value for w in at.warning]}"
    assert not errors(at), errors(at)
    run = run_of(at)
    preset = ac.presets["wave2d-relu" if param == "preset" else PRESET]
    if fallback:
        assert getattr(run.config, fallback) == getattr(preset, fallback)
    assert run.config == preset and run.seed == 0
    at.button(key="btn_step").click().run()               # the fallback setup trains
    assert not at.exception and run_of(at) is run and run.step_count == 1


def test_each_bad_url_parameter_is_listed_and_the_good_ones_are_kept():
    at = app({"preset": PRESET, "hidden": "16, 8", "lr": "banana", "optimiser": "adam", "samples": "0",
              "activation": "tanh", "batch_size": "x", "seed": "7", "bogus": "1", "init": "he"})
    assert not at.exception
    text = "\n".join(w.value for w in at.warning)
    for name in ("lr", "samples", "batch_size", "bogus"):
        assert name in text, (name, text)
    for name in ("hidden", "optimiser", "activation", "seed", "init"):
        assert f" {name}=" not in text, (name, text)
    cfg = run_of(at).config
    assert (cfg.hidden, cfg.optimiser, cfg.activation, cfg.init, run_of(at).seed) == ((16, 8), "adam", "tanh", "he", 7)
    preset = ac.presets[PRESET]
    assert (cfg.lr, cfg.samples, cfg.batch_size) == (preset.lr, preset.samples, preset.batch_size)


def test_a_custom_formula_share_link_round_trips():
    """Before the fix in RunConfig the text dim '2' made every custom-formula link fall back to the preset."""
    at = app({"preset": PRESET})
    at.selectbox(key=W + "target").set_value("custom").run()
    at.radio(key=W + "dim").set_value(2).run()
    at.text_input(key=W + "formula").set_value("sin(x)*cos(y)").run()
    assert not at.exception and not errors(at)
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["target"] == "custom" and params["dim"] == "2"
    other = app(params)
    assert not other.exception and not other.warning, [w.value for w in other.warning]
    assert run_of(other).config == run_of(at).config and run_of(other).data.target.dim == 2


@pytest.mark.parametrize("query", [{"test_fraction": "0.9"}, {"beta": "0.7"}], ids=["test_fraction=0.9", "beta=0.7"])
def test_url_values_the_sidebar_cannot_show(query):
    """Valid for the engine but outside the sidebar's widgets: kept, or ignored with a warning.

    Regression (found here, fixed in ui/train/settings.py): the "Test fraction" slider stopped at 0.5, so
    ?test_fraction=0.9 (RunConfig allows up to 1) raised StreamlitValueAboveMaxError: an exception and no run;
    the "beta" select_slider offered only 0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, so ?beta=0.7 silently became
    beta=0.0 (the first option) with no warning."""
    (field, value), = query.items()
    at = app({"preset": PRESET, **query})
    assert not at.exception, [e.message for e in at.exception]
    kept = getattr(run_of(at).config, field) == float(value)
    warned = any(field in w.value for w in at.warning)
    assert kept or warned and getattr(run_of(at).config, field) == getattr(ac.presets[PRESET], field), \
        (getattr(run_of(at).config, field), [w.value for w in at.warning])


# --- uploads: CSV data and run files --------------------------------------------------------------------

@pytest.mark.parametrize("raw, phrase", [(r, p) for _, r, p in BAD_CSV], ids=[n for n, _, _ in BAD_CSV])
def test_bad_csv_upload_in_the_app(raw, phrase):
    at, run = started()
    at.selectbox(key=W + "target").set_value("data").run()
    assert_refused(at, run, 1, ("data", "csv file"), "upload a CSV")
    at.file_uploader(key=W + "upload").set_value(("data.csv", raw, "text/csv")).run()
    assert_refused(at, run, 1, ("data", "csv file"), phrase)


@pytest.mark.parametrize("case, phrase", BAD_RUN_FILES, ids=[c for c, _ in BAD_RUN_FILES])
def test_bad_run_file_upload_in_the_app(case, phrase):
    at, run = started()
    theta = run.net.theta.copy()
    at.file_uploader(key="run_upload").set_value(("run.zip", _bad_run_file(case), "application/zip")).run()
    assert_refused(at, run, 1, ("run file", "lr", "seed", "config"), phrase)
    np.testing.assert_array_equal(run.net.theta, theta)
    assert at.selectbox(key=W + "target").value == ac.presets[PRESET].target


def _run_file_with(**changes) -> bytes:
    cfg = ac.RunConfig(target="linear", samples=100, hidden=(8,), batch_size=10).replace(**changes)
    run = ac.TrainingRun(cfg, seed=0)
    run.run_steps(3)
    return pack_run(*run.export())


@pytest.mark.parametrize("change", [{"test_fraction": 0.9}, {"beta": 0.7}], ids=["test_fraction=0.9", "beta=0.7"])
def test_a_run_file_the_sidebar_cannot_show(change):
    """A valid run file (made with the engine) whose values lie outside the sidebar's widgets.

    Regression (found here, fixed in ui/train/settings.py): test_fraction 0.9 raised StreamlitValueAboveMaxError
    (exception element); beta 0.7 loaded, then the beta select_slider reset to 0.0 and apply_choice changed the
    loaded run's beta to 0.0 on the next rerun, so the run did not continue as saved."""
    at, run = started()
    at.file_uploader(key="run_upload").set_value(("run.zip", _run_file_with(**change), "application/zip")).run()
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="btn_step").click().run()
    assert not at.exception
    (field, value), = change.items()
    loaded = run_of(at)
    if loaded is not run:
        assert getattr(loaded.config, field) == value, f"{field} became {getattr(loaded.config, field)}"
    else:
        assert any("run file" in e for e in errors(at))


# --- divergence under each optimiser --------------------------------------------------------------------

def _diverging_setup(at, optimiser: str) -> None:
    """lr 1.0 makes SGD, momentum and Nesterov overflow on the 2D wave within one epoch; Adam's steps are
    bounded by lr, so it gets targets of 1e150 as well (it overflows at about step 7)."""
    if optimiser == "adam":
        at.selectbox(key=W + "target").set_value("custom").run()
        at.text_input(key=W + "formula").set_value("1e150*(1 + x)").run()
        at.number_input(key=W + "samples").set_value(1000).run()
    at.selectbox(key=W + "optimiser").set_value(optimiser).run()
    at.select_slider(key=W + "lr").set_value(1.0).run()
    assert not at.exception and not errors(at)


@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_divergence_pauses_restores_and_warns(optimiser):
    at = app()
    _diverging_setup(at, optimiser)
    run = run_of(at)
    assert run.config.optimiser == optimiser and run.config.lr == 1.0
    twin = ac.TrainingRun.load(*run.export())            # the engine's answer from the same state
    twin.run_epochs(1)
    assert twin.diverged, "the setup must diverge within an epoch"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        at.button(key="btn_epoch").click().run()
    assert not at.exception
    assert run_of(at) is run and run.diverged == twin.diverged
    assert run.step_count == twin.step_count < run.steps_per_epoch, "Epoch must stop at the divergence"
    np.testing.assert_array_equal(run.net.theta, twin.net.theta)    # the state before the bad update
    assert np.all(np.isfinite(run.net.theta))
    shown = [w.value for w in at.warning if "Training diverged" in w.value]
    assert shown and run.diverged in shown[0] and "learning rate" in shown[0]
    assert at.session_state["playing"] is False
    numpy_warnings = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert numpy_warnings == [], numpy_warnings


def test_divergence_while_playing_pauses_the_page():
    at = app()
    _diverging_setup(at, "momentum")
    run = run_of(at)
    at.button(key="btn_play").click().run()
    if "trainer" in at.session_state:          # (it may already have diverged during that first redraw)
        trainer = at.session_state["trainer"]
        deadline = time.monotonic() + 60
        while trainer.alive and time.monotonic() < deadline:
            trainer.sync()
            time.sleep(0.05)
        assert trainer.finished == "diverged"
        at.run()                               # the redraw that notices and pauses
    assert run_of(at) is run and run.diverged
    assert not at.exception
    assert at.session_state["playing"] is False and at.button(key="btn_play").label == "Play"
    assert any("Training diverged" in w.value for w in at.warning)
    assert np.all(np.isfinite(run_of(at).net.theta))


def test_overflow_in_exp_in_the_app():
    """Sigmoid units on uploaded inputs of +-1e6 with He weights x 100: exp overflows inside, silently."""
    at, run = started()
    xs = np.linspace(-1e6, 1e6, 200)
    csv = "x,target\n" + "\n".join(f"{x:.1f},{np.sin(x / 2e5):.6f}" for x in xs)
    at.selectbox(key=W + "target").set_value("data").run()
    at.file_uploader(key=W + "upload").set_value(("big.csv", csv.encode(), "text/csv")).run()
    at.selectbox(key=W + "activation").set_value("sigmoid").run()
    at.selectbox(key=W + "init").set_value("he").run()
    at.select_slider(key=W + "init_scale").set_value(50.0).run()
    assert not at.exception and not errors(at)
    run = run_of(at)
    assert (run.config.activation, run.config.init, run.config.init_scale) == ("sigmoid", "he", 50.0)
    W1, b1 = run.net.params[0]
    assert np.max(np.abs(run.data.x @ W1 + b1)) > 1e6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            at.button(key="btn_epoch").click().run()
    assert not at.exception
    assert run.step_count > 0 and np.all(np.isfinite(run.net.theta))
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


# --- resource limits through the app --------------------------------------------------------------------

@pytest.mark.parametrize("kind, phrase", [("params", "200,000"), ("layers", "too many"), ("width", "1 to 1024")])
def test_network_size_limits_in_the_app(kind, phrase):
    at, run = started()
    text = {"params": "1000, 999", "layers": ", ".join(["4"] * 11), "width": "4096"}[kind]
    at.text_input(key=W + "hidden").set_value(text).run()
    assert_refused(at, run, 1, ("sizes", "hidden"), phrase)


def test_sample_and_upload_limits_in_the_app():
    at = app({"preset": PRESET, "samples": "1000000"})
    assert any("samples" in w.value and "200000" in w.value for w in at.warning)
    at.button(key="btn_step").click().run()
    run = run_of(at)
    at.selectbox(key=W + "target").set_value("data").run()
    rows = b"x,target\n" + b"0.5,0.5\n" * 20_001
    at.file_uploader(key=W + "upload").set_value(("rows.csv", rows, "text/csv")).run()
    assert_refused(at, run, 1, ("data", "csv file"), "20,000 rows")
    big = b"x,target\n" + b"0.123456789,0.5\n" * 70_000
    at.file_uploader(key=W + "upload").set_value(("big.csv", big, "text/csv")).run()
    assert_refused(at, run, 1, ("data", "csv file"), "more than 1,000,000")


# --- export / import that the existing tests do not cover ------------------------------------------------

def _assert_same_state(a: ac.TrainingRun, b: ac.TrainingRun) -> None:
    sa, sb = a.snapshot(), b.snapshot()
    assert sa.meta == sb.meta
    assert sa.arrays.keys() == sb.arrays.keys()
    for k in sa.arrays:
        np.testing.assert_array_equal(sa.arrays[k], sb.arrays[k], err_msg=k)


def test_a_data_target_run_round_trips_through_the_app():
    at = app({"preset": PRESET})
    xs = np.linspace(-1, 1, 300)
    csv = "x,target\n" + "\n".join(f"{x:.4f},{np.abs(x) - 0.5:.4f}" for x in xs)
    at.selectbox(key=W + "target").set_value("data").run()
    at.file_uploader(key=W + "upload").set_value(("d.csv", csv.encode(), "text/csv")).run()
    for _ in range(3):
        at.button(key="btn_epoch").click().run()
    saved = run_of(at)
    assert saved.config.target == "data" and saved.step_count == 3 * saved.steps_per_epoch
    other = app()
    other.file_uploader(key="run_upload").set_value(("run.zip", pack_run(*saved.export()), "application/zip")).run()
    assert not other.exception and not errors(other)
    loaded = run_of(other)
    _assert_same_state(loaded, saved)
    assert other.selectbox(key=W + "target").value == "data"
    for _ in range(2):
        other.button(key="btn_epoch").click().run()
    assert run_of(other) is loaded and not errors(other), "the loaded data run must keep training, not restart"
    saved.run_epochs(2)
    _assert_same_state(loaded, saved)


def test_a_mid_epoch_run_with_a_changed_batch_size_round_trips():
    at = app({"preset": PRESET, "optimiser": "adam", "lr": "0.001"})
    at.button(key="btn_step").click().run()
    at.number_input(key=W + "batch_size").set_value(20).run()
    run = run_of(at)
    assert run.config.batch_size == 20 and run.step_count == 1
    at.button(key="btn_step").click().run()          # positions 50-69 of 100: mid-epoch
    meta = run.snapshot().meta
    assert 0 < meta["pos"] < run.n_train and meta["epoch_steps"] > 0, "must be saved mid-epoch"
    other = app()
    other.file_uploader(key="run_upload").set_value(("run.zip", pack_run(*run.export()), "application/zip")).run()
    assert not other.exception and not errors(other)
    loaded = run_of(other)
    _assert_same_state(loaded, run)
    assert other.number_input(key=W + "batch_size").value == 20
    assert other.selectbox(key=W + "optimiser").value == "adam"
    other.button(key="btn_epoch").click().run()
    other.button(key="btn_step").click().run()
    assert run_of(other) is loaded
    run.run_epochs(1)
    run.step()
    _assert_same_state(loaded, run)


def _leaked_warnings(at, page: str) -> list[str]:
    """Switch ``at`` to ``page`` (no exception allowed); the RuntimeWarnings it leaked, as "file:line: message"."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return sorted({f"{w.filename.rsplit('/', 1)[-1]}:{w.lineno}: {w.message}" for w in caught
                   if issubclass(w.category, RuntimeWarning)})


@pytest.mark.parametrize("page", ["app_pages/backward.py", "app_pages/gradcheck.py", "app_pages/theory.py"])
def test_teaching_pages_after_a_divergence_leak_no_numpy_warnings(page):
    """The other pages show the kept (finite, but huge) state of a diverged run without NumPy warnings.

    Regression (found here, fixed in the figure code): the wave at lr 1.0 diverges at step 6 and keeps a
    finite but huge state. The Backward pass page leaked numpy/linalg 'overflow encountered in dot' and
    ui/plots/backward_figures.py 'overflow encountered in cast' (float32 casts of values > 3.4e38); the Gradient
    check page the same linalg overflow, adjoint_core/gradcheck.py 'invalid value encountered in scalar
    divide' (inf / inf) and ui/plots/teaching.py 'overflow encountered in cast'."""
    at = app()
    at.select_slider(key=W + "lr").set_value(1.0).run()
    at.button(key="btn_epoch").click().run()
    assert run_of(at).diverged
    leaked = _leaked_warnings(at, page)
    assert leaked == [], leaked


def test_backward_page_with_huge_targets_leaks_no_numpy_warnings():
    """A custom target of 1e300*x makes the adjoint norms inf: the page must show that without NumPy warnings.

    Regression (found here, fixed in app_pages/backward.py): the norm ratios were inf / inf, printing
    'RuntimeWarning: invalid value encountered in scalar divide' to the server log twice per redraw; they are
    now computed under ``np.errstate`` and shown as nan."""
    at = app({"preset": PRESET, "target": "custom", "formula": "1e300*x", "dim": "1"})
    assert not at.warning and run_of(at).config.formula == "1e300*x"
    leaked = _leaked_warnings(at, "app_pages/backward.py")
    assert leaked == [], leaked
