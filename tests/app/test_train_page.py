"""The Train page through AppTest: controls, run lifecycle, errors, divergence and share links."""

from __future__ import annotations

import numpy as np
import pytest

import adjoint_core as ac
from apptest_helpers import W, app, errors, figure, metric, run_of, step_count


def test_page_loads_with_charts_and_no_exception():
    at = app()
    assert not at.exception
    assert at.title[0].value == "Train"
    for key in ("loss_chart", "mu_bar", "fit_chart", "slice_chart", "mu_heatmap", "grad_chart"):
        assert at.get_by_key(key) is not None
    assert step_count(at) == 0
    assert run_of(at).config == ac.presets["wave2d-relu"]


@pytest.mark.parametrize("name", list(ac.presets))
def test_each_preset_loads(name):
    at = app()
    at.selectbox(key=W + "preset").set_value(name).run()
    assert not at.exception, at.exception
    assert not errors(at)
    assert run_of(at).config == ac.presets[name]
    assert at.text_input(key=W + "hidden").value == ", ".join(map(str, ac.presets[name].hidden))
    at.button(key="btn_step").click().run()
    assert step_count(at) == 1


def test_history_charts_say_how_to_start_at_step_0_and_show_data_after_a_step():
    at = app()
    keys = ("loss_chart", "mu_bar", "mu_heatmap", "grad_chart")
    notes = {k: [a["text"] for a in figure(at, k)["layout"].get("annotations", [])] for k in keys}
    assert all("press Step, Epoch or Play" in " ".join(n) for n in notes.values()), notes
    assert all(len(t["x"]) == 0 for k in keys for t in figure(at, k)["data"])
    at.button(key="btn_step").click().run()
    for k in keys:
        fig = figure(at, k)
        assert len(fig["data"][0]["x"]) and not fig["layout"].get("annotations"), k


def test_after_one_step_the_loss_shows_its_point_on_a_whole_decade_axis():
    at = app()
    at.button(key="btn_step").click().run()
    fig = figure(at, "loss_chart")
    assert all("markers" in t["mode"] for t in fig["data"]), "a single point drawn as a bare line is invisible"
    yaxis = fig["layout"]["yaxis"]
    lo, hi = yaxis["range"]
    assert lo == int(lo) and hi == int(hi) and hi - lo >= 1
    # a short axis: labels at 1, 2 and 5 of each decade only (not Plotly's crowded 2..9)
    assert len(yaxis["tickvals"]) == 3 * (hi - lo) + 1


def test_step_increments_the_counter_by_one():
    at = app()
    for expected in (1, 2, 3):
        at.button(key="btn_step").click().run()
        assert step_count(at) == expected
    assert run_of(at).step_count == 3
    assert len(figure(at, "loss_chart")["data"][0]["y"]) == 3


def test_epoch_adds_steps_per_epoch():
    at = app()
    at.selectbox(key=W + "preset").set_value("nonlinear-relu").run()
    spe = run_of(at).steps_per_epoch
    at.button(key="btn_epoch").click().run()
    assert step_count(at) == spe
    assert metric(at, "Epoch") == "1"
    at.button(key="btn_step").click().run()
    at.button(key="btn_epoch").click().run()
    assert step_count(at) == 2 * spe + 1


def test_reset_clears_the_history_and_restores_the_initial_weights():
    at = app()
    theta0 = run_of(at).net.theta.copy()
    at.button(key="btn_step").click().run()
    at.button(key="btn_step").click().run()
    at.button(key="btn_reset").click().run()
    assert step_count(at) == 0
    assert len(run_of(at).history.loss) == 0
    np.testing.assert_array_equal(run_of(at).net.theta, theta0)


def test_changing_lr_keeps_the_run():
    at = app()
    at.button(key="btn_step").click().run()
    at.button(key="btn_step").click().run()
    run = run_of(at)
    at.select_slider(key=W + "lr").set_value(0.001).run()
    assert run_of(at) is run
    assert step_count(at) == 2
    assert run.optimiser.lr == 0.001 and run.config.lr == 0.001
    assert not at.info   # no "new run" notice


@pytest.mark.parametrize("widget,value", [("beta", 0.5), ("weight_decay", 0.0), ("batch_size", 20),
                                          ("optimiser", "adam"), ("loss", "huber")])
def test_tunable_changes_keep_the_run(widget, value):
    at = app()
    at.button(key="btn_step").click().run()
    run = run_of(at)
    getattr(at, "selectbox" if widget in ("optimiser", "loss") else "select_slider" if widget != "batch_size"
            else "number_input")(key=W + widget).set_value(value).run()
    assert not at.exception
    assert run_of(at) is run and step_count(at) == 1
    assert getattr(run.config, widget) == value


def test_changing_the_sizes_starts_a_new_run_with_a_notice():
    at = app()
    at.button(key="btn_step").click().run()
    at.text_input(key=W + "hidden").set_value("32, 16, 8").run()
    assert not at.exception
    assert step_count(at) == 0
    assert run_of(at).net.sizes == [2, 32, 16, 8, 1]
    assert [i.value for i in at.info] == ['Started a new run because you changed "Hidden layer sizes".']


@pytest.mark.parametrize("text", ["64, x", "0", "-3", "100000", "1.5", "64,,64", ", ".join(["8"] * 11), "", " "])
def test_bad_sizes_show_an_error_and_keep_the_run(text):
    at = app()
    at.button(key="btn_step").click().run()
    run = run_of(at)
    at.text_input(key=W + "hidden").set_value(text).run()
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].startswith("Hidden layer sizes: "), errors(at)
    assert run_of(at) is run and step_count(at) == 1
    at.button(key="btn_step").click().run()   # the kept run still trains
    assert step_count(at) == 2


def test_a_size_error_names_every_bad_entry_by_the_controls_label():
    at = app()
    at.text_input(key=W + "hidden").set_value("64,,abc").run()
    assert errors(at) == ["Hidden layer sizes: an empty entry and 'abc' are not positive whole numbers (allowed: "
                          "comma-separated widths such as '64, 64'). The current run is kept."]
    at.text_input(key=W + "hidden").set_value("").run()
    assert "'none' for no hidden layer" in errors(at)[0]


def test_none_builds_a_linear_model_and_says_so():
    at = app()
    at.text_input(key=W + "hidden").set_value("none").run()
    assert not at.exception and not errors(at)
    assert run_of(at).net.sizes == [2, 1]
    assert any(c.value.startswith("No hidden layer: a linear model") for c in at.sidebar.caption)
    assert at.query_params["hidden"] == "none"   # the share link reads back
    assert run_of(app({"hidden": "none"})).net.sizes == [2, 1]
    assert not any(c.value.startswith("No hidden layer") for c in app({"hidden": "64"}).sidebar.caption)


def test_a_batch_size_error_names_the_control():
    at = app({"preset": "nonlinear-relu"})
    at.number_input(key=W + "samples").set_value(20).run()   # 16 training points
    at.number_input(key=W + "batch_size").set_value(50).run()
    assert not at.exception
    assert any(e.startswith("Batch size: 50 is larger than the") for e in errors(at)), errors(at)


def test_structure_changes_for_activation_init_and_seed():
    at = app()
    at.selectbox(key=W + "activation").set_value("tanh").run()
    assert run_of(at).net.activations == ["tanh", "tanh", "identity"]
    at.toggle(key=W + "per_layer").set_value(True).run()
    at.selectbox(key=W + "act_1").set_value("sigmoid").run()
    assert run_of(at).net.activations == ["tanh", "sigmoid", "identity"]
    at.selectbox(key=W + "init").set_value("he").run()
    assert run_of(at).config.init == "he"
    theta = run_of(at).net.theta.copy()
    at.number_input(key=W + "seed").set_value(7).run()
    assert run_of(at).seed == 7 and not np.array_equal(run_of(at).net.theta, theta)
    assert not at.exception


def test_custom_formula_target_and_a_bad_formula():
    at = app()
    at.selectbox(key=W + "target").set_value("custom").run()
    at.text_input(key=W + "formula").set_value("sin(6*x) + x**2").run()
    assert not at.exception and not errors(at)
    run = run_of(at)
    assert run.data.target.dim == 1
    np.testing.assert_allclose(run.data.y[:, 0], np.sin(6 * run.data.x[:, 0]) + run.data.x[:, 0] ** 2)
    at.text_input(key=W + "formula").set_value("__import__('os').system('true')").run()
    assert not at.exception
    assert errors(at) and errors(at)[0].startswith("Formula: ")
    assert run_of(at) is run


def test_uploaded_csv_trains_and_bad_csv_is_refused():
    at = app()
    at.selectbox(key=W + "target").set_value("data").run()
    assert errors(at)                                  # asks for a file, keeps the old run
    rows = "\n".join(f"{x:.3f},{3 * x + 1:.3f}" for x in np.linspace(0, 1, 200))
    at.file_uploader(key=W + "upload").set_value(("d.csv", f"x,target\n{rows}".encode(), "text/csv")).run()
    assert not at.exception and not errors(at)
    run = run_of(at)
    assert run.data.target.dim == 1 and len(run.data.x) + len(run.data.x_test) == 200
    at.button(key="btn_step").click().run()
    assert run_of(at) is run and step_count(at) == 1     # the same upload does not restart the run
    at.file_uploader(key=W + "upload").set_value(("d.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert not at.exception and errors(at) and "header" in errors(at)[0]
    assert run_of(at) is run


def test_divergence_pauses_with_a_warning_and_finite_charts():
    at = app()
    at.select_slider(key=W + "lr").set_value(1.0).run()
    at.button(key="btn_epoch").click().run()
    assert not at.exception
    run = run_of(at)
    assert run.diverged
    assert any("diverged" in w.value for w in at.warning)
    assert np.all(np.isfinite(run.net.theta))
    for key in ("loss_chart", "mu_bar", "grad_chart"):
        for trace in figure(at, key)["data"]:
            assert np.all(np.isfinite(np.asarray(trace["y"], dtype=float))), key
    assert at.session_state["playing"] is False


def test_play_and_pause_train_in_the_background():
    at = app()
    at.button(key="btn_play").click().run()
    assert at.session_state["playing"] is True
    assert at.button(key="btn_play").label == "Pause"
    assert at.button(key="btn_step").disabled
    import time
    deadline = time.time() + 30
    while run_of(at).step_count == 0 and time.time() < deadline:
        time.sleep(0.05)
    at.button(key="btn_play").click().run()
    assert at.session_state["playing"] is False
    n = run_of(at).step_count
    assert n > 0 and step_count(at) == n
    time.sleep(0.2)
    assert run_of(at).step_count == n       # really stopped


def test_url_query_parameters_restore_the_setup():
    at = app({"preset": "nonlinear-relu", "hidden": "16, 8", "activation": "tanh, relu", "lr": "0.003",
              "optimiser": "adam", "seed": "5"})
    assert not at.exception and not at.warning
    run = run_of(at)
    assert run.config.hidden == (16, 8) and run.config.activation == ("tanh", "relu")
    assert run.config.optimiser == "adam" and run.config.lr == 0.003 and run.seed == 5
    assert run.config.target == "quadratic"
    assert at.query_params["hidden"] == ["16, 8"] or at.query_params["hidden"] == "16, 8"


def test_share_link_round_trips():
    at = app()
    at.selectbox(key=W + "preset").set_value("linear-relu").run()
    at.select_slider(key=W + "lr").set_value(0.01).run()
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    at2 = app(params)
    assert run_of(at2).config == run_of(at).config and run_of(at2).seed == run_of(at).seed


def test_invalid_url_parameters_fall_back_with_a_warning():
    at = app({"hidden": "64, x", "lr": "banana", "seed": "-4", "bogus": "1", "preset": "nope"})
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    for word in ("hidden", "lr", "seed", "bogus", "preset"):
        assert word in text
    assert run_of(at).config == ac.presets["wave2d-relu"]


def test_a_downloaded_run_loads_back_and_continues_identically():
    from adjoint_core.runfile import pack_run
    at = app()
    at.selectbox(key=W + "preset").set_value("nonlinear-relu").run()
    at.select_slider(key=W + "lr").set_value(0.005).run()
    for _ in range(3):
        at.button(key="btn_epoch").click().run()
    saved = run_of(at)
    blob = pack_run(*saved.export())
    other = app()                                     # a fresh session loads the file
    other.file_uploader(key="run_upload").set_value(("adjoint-run.zip", blob, "application/zip")).run()
    assert not other.exception and not errors(other)
    loaded = run_of(other)
    assert loaded.step_count == saved.step_count and loaded.config == saved.config
    np.testing.assert_array_equal(loaded.net.theta, saved.net.theta)
    assert other.selectbox(key=W + "target").value == "quadratic"
    assert other.select_slider(key=W + "lr").value == 0.005
    other.button(key="btn_epoch").click().run()
    assert run_of(other) is loaded                  # the widgets match the loaded run: no restart
    saved.run_epochs(1)
    np.testing.assert_array_equal(loaded.net.theta, saved.net.theta)


@pytest.mark.parametrize("blob", [b"not a zip", b"PK\x03\x04broken", b""])
def test_a_bad_run_file_shows_an_error_and_keeps_the_run(blob):
    at = app()
    at.button(key="btn_step").click().run()
    run = run_of(at)
    at.file_uploader(key="run_upload").set_value(("x.zip", blob, "application/zip")).run()
    assert not at.exception
    assert any("run file" in e for e in errors(at))
    assert run_of(at) is run


@pytest.mark.slow
def test_playing_the_wave_for_its_100_epochs_reaches_the_notebooks_loss():
    import time
    at = app()
    at.button(key="btn_play").click().run()
    trainer = at.session_state["trainer"]
    deadline = time.time() + 300
    while trainer.alive and time.time() < deadline:
        trainer.sync()               # stands in for the page's redraws
        time.sleep(0.1)
    at.run()                              # the redraw that notices the limit and pauses
    run = run_of(at)
    assert at.session_state["playing"] is False and at.button(key="btn_play").label == "Play"
    assert run.epoch_count == 100
    final = float(metric(at, "Train loss"))
    assert final == pytest.approx(np.mean(run.history.loss[-run.steps_per_epoch:]), rel=1e-3)
    assert final < 2.5 * 0.2834, f"final train loss {final} vs the notebook's 0.2834"


def play_until_it_stops(at) -> None:
    import time
    at.button(key="btn_play").click().run()
    trainer = at.session_state["trainer"]
    deadline = time.time() + 120
    while trainer.alive and time.time() < deadline:
        trainer.sync()
        time.sleep(0.05)
    at.run()   # the redraw that notices the stop and pauses


def test_play_stops_exactly_at_the_epoch_limit_and_then_at_each_multiple_of_it():
    at = app({"preset": "nonlinear-relu", "epochs": "150"})     # 2 steps per epoch: easy to overshoot
    play_until_it_stops(at)
    assert run_of(at).epoch_count == 150 and metric(at, "Epoch") == "150"
    assert at.button(key="btn_play").label == "Play"
    note = 'Stopped at epoch 150: Play stops every 150 epochs ("Stop after epoch"). Press Play to train on to ' \
           'epoch 300, or change the limit in the sidebar.'
    assert [i.value for i in at.info] == [note]
    at.button(key="btn_epoch").click().run()   # by hand past the limit: the note goes
    assert run_of(at).epoch_count == 151 and not at.info
    play_until_it_stops(at)                    # Play goes on to the next multiple
    assert run_of(at).epoch_count == 300 and "Stopped at epoch 300" in at.info[0].value
    at.number_input(key=W + "epochs").set_value(400).run()
    assert "train on to epoch 400" in at.info[0].value   # the note follows the limit
    at.button(key="btn_reset").click().run()
    assert not at.info


@pytest.mark.parametrize("query", [{}, {"preset": "nonlinear-relu", "lr": "0.01", "seed": "3"},
                                   {"preset": "deep-sigmoid-vanishing", "samples": "300"}])
def test_a_fresh_session_from_a_link_starts_its_run_without_a_new_run_notice(query):
    at = app(query)
    assert not at.exception and not errors(at)
    assert not [i.value for i in at.info if "new run" in i.value]
    assert step_count(at) == 0
    if "seed" in query:
        assert run_of(at).seed == int(query["seed"]) and run_of(at).config.lr == float(query["lr"])


@pytest.mark.parametrize("name", [n for n in ac.presets if ac.presets[n].description])
def test_the_preset_description_shows_after_choosing_it_and_after_a_step(name):
    at = app()
    at.selectbox(key=W + "preset").set_value(name).run()
    captions = " ".join(c.value for c in at.caption)
    assert ac.presets[name].description in captions and ac.presets[name].label in captions
    at.button(key="btn_step").click().run()
    assert ac.presets[name].description in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("value, shown", [(0.28341, "0.2834"), (550.43, "550.4"), (1.3579, "1.358"),
                                          (5.1234e-4, "5.12e-4"), (1.4e6, "1.40e+6"), (0.0, "0"),
                                          (float("nan"), "–"), (3.2e-12, "3.20e-12")])
def test_losses_are_shown_in_at_most_eight_characters(value, shown):
    from ui.plots.describe import number
    assert number(value) == shown and len(shown) <= 8


def test_demo_speed_plays_the_whole_run_in_about_twenty_seconds():
    at = app()
    at.select_slider(key="speed").set_value("Demo (~20 s)").run()
    at.button(key="btn_play").click().run()
    trainer = at.session_state["trainer"]
    run = run_of(at)
    total = run.config.epochs * run.steps_per_epoch
    assert trainer is not None and at.session_state["playing"]
    from ui.train import session
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session, "ss", at.session_state)
        assert session.rate(run) == pytest.approx(total / session.DEMO_SECONDS)
    at.button(key="btn_play").click().run()
    assert not at.session_state["playing"]


def test_the_setup_caption_follows_the_setup():
    at = app()
    wave = ac.presets["wave2d-relu"]
    captions = lambda: [c.value for c in at.caption if c.value.startswith("**")]   # noqa: E731 (the setup's)
    assert captions() == [f"**{wave.label}**: {wave.description}"]
    at.selectbox(key=W + "target").set_value("custom").run()
    at.text_input(key=W + "formula").set_value("1/x").run()
    assert not at.exception
    assert captions() == [f'**Changed from the preset {wave.label}**: "Target function" and "Formula". '
                          "The target now: your formula 1/x on [0, 1]."]
    at.selectbox(key=W + "target").set_value("sine").run()
    assert captions() == [f'**Changed from the preset {wave.label}**: "Target function". '
                          "The target now: Sine sin(2πx)."]
    at.selectbox(key=W + "target").set_value("wave2d").run()   # back to the preset's setup
    assert captions() == [f"**{wave.label}**: {wave.description}"]
    at.number_input(key=W + "epochs").set_value(7).run()      # Play's limit: the setup is still the preset's
    assert captions() == [f"**{wave.label}**: {wave.description}"]
