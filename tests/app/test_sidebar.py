"""The Train page's sidebar (ui/train/settings.py) with AppTest: labels short enough for a 300 px sidebar, per-layer
activations, and loading a saved run (a confirmation, and a preset box that names the loaded setup)."""

from __future__ import annotations

import pytest

import adjoint_core as ac
from adjoint_core.runfile import pack_run
from apptest_helpers import W, app, errors, run_of
from ui.train.settings import preset_of

# At 1280x720 and 390x844 the sidebar is 300 px wide: the preset box shows about 185 px of text, a box inside an
# expander about 150 px (Source Sans 14 px: roughly 7 px a character). The browser test measures the real widths.
PRESET_CHARS, OPTION_CHARS = 26, 20


def test_preset_labels_are_short_and_start_with_their_key_word():
    at = app()
    labels = at.selectbox(key=W + "preset").options
    assert len(labels) == len(ac.presets) and max(map(len, labels)) <= PRESET_CHARS, labels
    assert {label.split()[0] for label in labels} >= {"Sigmoid", "ReLU", "Vanishing", "Exploding"}


def test_option_labels_fit_a_box_in_an_expander():
    at = app()
    for key in ("target", "activation", "init", "loss", "optimiser"):
        options = at.selectbox(key=W + key).options
        assert max(map(len, options)) <= OPTION_CHARS or key == "target", (key, options)
    assert "Momentum (EMA)" in at.selectbox(key=W + "optimiser").options


def test_per_layer_activations_one_box_per_layer():
    at = app()
    at.text_input(key=W + "hidden").set_value("32, 32, 32, 32").run()
    at.toggle(key=W + "per_layer").set_value(True).run()
    boxes = [at.selectbox(key=f"{W}act_{i}") for i in range(4)]
    assert [b.label for b in boxes] == [f"Layer {i}" for i in range(1, 5)]
    boxes[2].set_value("tanh").run()
    assert not at.exception and run_of(at).config.activations == ("relu", "relu", "tanh", "relu")


def saved_run(preset: str, **changes) -> bytes:
    """A run of ``preset`` (with sidebar changes) trained one epoch, as the downloaded .zip."""
    at = app()
    at.selectbox(key=W + "preset").set_value(preset).run()
    for key, value in changes.items():
        at.select_slider(key=W + key).set_value(value).run()
    at.button(key="btn_epoch").click().run()
    return pack_run(*run_of(at).export())


def load(blob: bytes):
    at = app()                                    # a fresh session on the default preset
    at.file_uploader(key="run_upload").set_value(("adjoint-run.zip", blob, "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not errors(at)
    return at


def test_loading_a_run_confirms_and_names_its_preset():
    at = load(saved_run("nonlinear-relu"))
    assert at.selectbox(key=W + "preset").value == "nonlinear-relu"
    label = ac.presets["nonlinear-relu"].label
    run = run_of(at)
    assert run.epoch_count == 1
    assert [s.value for s in at.success] == [f"Loaded the run: the preset {label}, step {run.step_count}, epoch 1."]
    assert at.query_params["preset"] == "nonlinear-relu"


def test_loading_a_changed_run_leaves_the_preset_box_neutral():
    at = load(saved_run("nonlinear-relu", lr=0.005))
    box = at.selectbox(key=W + "preset")
    assert box.value is None and box.placeholder == "Custom setup (loaded run)"
    steps = run_of(at).step_count
    assert [s.value for s in at.success] == [f"Loaded the run: a custom setup, step {steps}, epoch 1."]
    assert "preset" not in at.query_params and at.query_params["lr"] == "0.005"   # the link names no preset
    at.button(key="btn_step").click().run()
    assert not at.exception and run_of(at).step_count == steps + 1
    at.selectbox(key=W + "preset").set_value("linear-relu").run()        # picking a preset again loads it
    assert run_of(at).config == ac.presets["linear-relu"] and not at.success


@pytest.mark.parametrize("name", list(ac.presets))
def test_preset_of_finds_each_preset_and_nothing_else(name):
    preset = ac.presets[name]
    assert preset_of(preset) == name and preset_of(preset.replace(label="", description="")) == name
    assert preset_of(preset.replace(lr=preset.lr * 3)) is None
