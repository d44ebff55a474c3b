"""Compare runs (ui/train/compare.py): keep runs, labels from what differs, overlays on the loss and ratio charts,
pins that outlive the run and the preset, and removing them one by one."""

from __future__ import annotations

import numpy as np

import adjoint_core as ac
from apptest_helpers import W, app, figure, run_of
from ui.train.compare import MAX_PINS, _parts, chip, labels

SMALL = "nonlinear-relu"


def names(fig: dict) -> list[str]:
    return [t["name"] for t in fig["data"]]


def pin_buttons(at) -> list[str]:
    return [b.label for b in at.button if (b.key or "").startswith("btn_unpin_")]


def trained(at, epochs: int = 3):
    for _ in range(epochs):
        at.button(key="btn_epoch").click().run()
    assert not at.exception
    return at


def test_labels_name_only_what_differs():
    a = {"lr": 0.01, "optimiser": "adam", "hidden": (64, 64), "seed": 0}
    b = {"lr": 0.1, "optimiser": "momentum", "hidden": (64, 64), "seed": 0}
    c = {"lr": 0.01, "optimiser": "momentum", "hidden": (32,), "seed": 0}
    assert labels([a, b]) == ["lr 0.01, adam", "lr 0.1, momentum"]
    assert labels([a, b, c]) == ["adam, lr 0.01, hidden 64-64", "lr 0.1, momentum, hidden 64-64",   # what tells
                                 "hidden 32, lr 0.01, momentum"]                                   # it apart first
    assert labels([a, dict(a)]) == ["", ""]
    d = {"lr": 0.1, "optimiser": "momentum", "hidden": (8,), "seed": 1, "beta": 0.5}
    assert labels([{**a, "beta": 0.9}, d]) == ["lr 0.01, adam, hidden 64-64 +2 more",   # another preset
                                                 "lr 0.1, momentum, hidden 8 +2 more"]


def test_keep_two_runs_with_different_lr_then_remove_one():
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()
    assert at.button(key="btn_keep").disabled   # nothing to keep at step 0
    trained(at)
    first = run_of(at)
    at.button(key="btn_keep").click().run()
    assert at.button(key="btn_keep").disabled   # kept already, as it is now
    kept_loss, kept_ratio = first.history.loss, first.history.mu_ratio

    at.select_slider(key=W + "lr").set_value(0.01).run()
    at.button(key="btn_reset").click().run()    # the same setup but lr, from step 0
    trained(at)
    assert run_of(at) is not first and run_of(at).config.lr == 0.01
    at.button(key="btn_keep").click().run()
    assert not at.exception

    lr0 = f"lr {ac.presets[SMALL].lr:g}"
    buttons = pin_buttons(at)
    assert len(buttons) == 2 and buttons[0].endswith(lr0) and buttons[1].endswith("lr 0.01"), buttons
    loss = figure(at, "loss_chart")
    assert names(loss)[-2:] == [lr0, "lr 0.01"]
    assert loss["layout"]["legend"]["orientation"] == "v"
    ratio = figure(at, "ratio_chart")
    assert names(ratio) == ["this run", lr0, "lr 0.01"]
    np.testing.assert_allclose(ratio["data"][1]["y"], kept_ratio, rtol=1e-6)   # float32 on the way
    np.testing.assert_allclose(loss["data"][3]["x"], first.history.step)
    assert len(loss["data"][3]["y"]) == len(kept_loss)

    unpin = [b.key for b in at.button if (b.key or "").startswith("btn_unpin_")]
    at.button(key=unpin[0]).click().run()
    remaining = pin_buttons(at)
    assert len(remaining) == 1 and remaining[0].startswith(":green["), remaining   # it keeps its colour
    assert lr0 not in names(figure(at, "loss_chart")) and len(names(figure(at, "ratio_chart"))) == 2
    at.button(key=unpin[1]).click().run()
    assert pin_buttons(at) == [] and "ratio_chart" not in [e.key for e in at.get("plotly_chart")]
    assert names(figure(at, "loss_chart")) == ["train (batch)", "train (smoothed)", "test (per epoch)"]


def test_kept_runs_outlive_a_preset_change_and_stop_at_the_limit():
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()
    for seed in range(MAX_PINS):
        at.number_input(key=W + "seed").set_value(seed).run()
        trained(at, 1)
        at.button(key="btn_keep").click().run()
    assert [b.split("] ")[1] for b in pin_buttons(at)] == [f"seed {s}" for s in range(MAX_PINS)]
    trained(at, 1)
    assert at.button(key="btn_keep").disabled   # four kept: remove one first
    at.selectbox(key=W + "preset").set_value("wave2d-relu").run()
    assert not at.exception and len(pin_buttons(at)) == MAX_PINS
    assert names(figure(at, "loss_chart"))[-MAX_PINS:] == [f"seed {s}" for s in range(MAX_PINS)]
    assert figure(at, "loss_chart")["layout"]["showlegend"]   # the new run's own traces are empty at step 0
    assert "slice_chart" in [e.key for e in at.get("plotly_chart")]   # the new preset's own charts


def test_mu_ratio_is_the_input_adjoint_over_the_output_adjoint():
    run = ac.TrainingRun(ac.presets["deep-sigmoid-vanishing"], seed=0)
    run.run_steps(5)
    mu = run.history.mu_norms   # columns mu_N, ..., mu_0
    np.testing.assert_allclose(run.history.mu_ratio, mu[:, -1] / mu[:, 0])
    assert (run.history.mu_ratio < 1e-2).all()   # vanishing on its way through 8 sigmoid layers


def test_two_uploads_with_the_same_setup_are_two_runs():
    import numpy as np

    from adjoint_core.datafile import DATA_TARGET
    from ui.train import compare

    config = ac.presets["nonlinear-relu"].replace(target=DATA_TARGET, batch_size=8)
    x = np.linspace(0, 1, 40)[:, None]
    setups = []
    for y in (x ** 2, x ** 3):
        run = ac.TrainingRun(config, seed=0, data=(x, y))
        setups.append(compare.setup_of(run))
    assert setups[0] != setups[1] and compare.labels(setups)[0].startswith("data ")


def test_chips_show_only_what_tells_each_kept_run_apart():
    setups = [{"optimiser": o, "lr": lr} for o, lr in (("momentum", 0.1), ("momentum", 0.2), ("adam", 0.1),
                                                        ("adam", 0.2))]
    parts = _parts(setups)   # each field is shared with another run: both are needed
    assert [chip(parts, i) for i in range(4)] == ["momentum, lr 0.1", "momentum, lr 0.2", "adam, lr 0.1",
                                                  "adam, lr 0.2"]
    parts = _parts(setups[1:])
    assert [chip(parts, i) for i in range(3)] == ["momentum", "lr 0.1", "adam, lr 0.2"]
    assert chip([["lr 0.1", "adam", "hidden 8", "seed 1"]], 0) == "lr 0.1, adam, hidden 8 +1 more"   # a lone pin


def keep(at):
    at.button(key="btn_keep").click().run()
    assert not at.exception


def chip_texts(at) -> list[str]:
    """The kept runs' buttons without their coloured dot."""
    return [b.split("] ", 1)[1] for b in pin_buttons(at)]


def test_three_kept_runs_have_chips_that_read_differently():
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()   # momentum, lr 0.002
    keep(trained(at, 1))
    at.select_slider(key=W + "lr").set_value(0.01).run()
    at.button(key="btn_reset").click().run()
    keep(trained(at, 1))
    at.selectbox(key=W + "optimiser").set_value("adam").run()
    at.button(key="btn_reset").click().run()
    keep(trained(at, 1))
    assert chip_texts(at) == ["lr 0.002", "momentum, lr 0.01", "adam"]   # not "momentum, ..." twice
    helps = [b.help for b in at.button if (b.key or "").startswith("btn_unpin_")]
    assert helps == ["Remove lr 0.002, momentum from the charts.", "Remove momentum, lr 0.01 from the charts.",
                     "Remove adam, lr 0.01 from the charts."]
    assert names(figure(at, "loss_chart"))[-3:] == ["lr 0.002, momentum", "momentum, lr 0.01", "adam, lr 0.01"]


def test_a_run_whose_lr_changed_while_training_says_so():
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()
    trained(at, 2)                                           # 4 steps at lr 0.002
    at.select_slider(key=W + "lr").set_value(0.01).run()     # the same run goes on at 0.01
    trained(at, 2)
    changed = run_of(at)
    assert changed.step_count == 8 and changed.config.lr == 0.01
    keep(at)
    at.button(key="btn_reset").click().run()                 # lr 0.01 from step 0
    keep(trained(at, 2))
    assert chip_texts(at) == ["lr 0.002 → 0.01 at step 4", "lr 0.01"]
    assert names(figure(at, "ratio_chart")) == ["this run", "lr 0.002 → 0.01 at step 4", "lr 0.01"]


def test_a_kept_run_identical_to_this_run_does_not_hide_it():
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()
    keep(trained(at, 2))
    assert chip_texts(at) == ["step 4"]
    ratio, loss = figure(at, "ratio_chart"), figure(at, "loss_chart")
    np.testing.assert_array_equal(ratio["data"][0]["y"], ratio["data"][1]["y"])   # the same curve...
    assert "dash" not in ratio["data"][0]["line"] and ratio["data"][1]["line"]["dash"] == "dot"   # ...dotted over it
    assert loss["data"][1]["name"] == "train (smoothed)" and "dash" not in loss["data"][1]["line"]
    assert loss["data"][-1]["line"]["dash"] == "dot"


def test_a_greyed_keep_button_says_why():
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()
    button = at.button(key="btn_keep")
    assert button.disabled and button.help.startswith("Train at least one step first")
    keep(trained(at, 1))
    assert at.button(key="btn_keep").disabled and at.button(key="btn_keep").help.startswith("Kept already")
    for seed in range(1, MAX_PINS):
        at.number_input(key=W + "seed").set_value(seed).run()
        keep(trained(at, 1))
    trained(at, 1)
    button = at.button(key="btn_keep")
    assert button.disabled and button.help.startswith(f"{MAX_PINS} runs kept, the most: remove one")
    at.button(key=[b.key for b in at.button if (b.key or "").startswith("btn_unpin_")][0]).click().run()
    assert not at.button(key="btn_keep").disabled and at.button(key="btn_keep").help.startswith("Pin this run")
