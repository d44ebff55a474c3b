"""The setup table (adjoint_core/config.py): what the app shows of each RunConfig field is derived from it, so a
field added in one place (here a dummy, registered by monkeypatching) reaches the share link, the sidebar, compare
labels and run files; and the derived views equal what the app showed before the table."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

import pytest

import adjoint_core as ac
from adjoint_core import changes, limits
from adjoint_core.config import LIVE, Widget, setup, setup_fields
from adjoint_core.limits import Range
from adjoint_core.runfile import pack_run, unpack_run
from apptest_helpers import W, app, run_of
from ui.screen import urlstate
from ui.train import compare, session


@dataclass(frozen=True)
class WithDummy(ac.RunConfig):
    """RunConfig and one more setup field: the one entry a new field needs (its engine use aside)."""

    dummy: float = setup(0.5, label="Dummy knob", section="Network", short="dk", widget=Widget("number", step=0.05),
                         help="A field a test adds.")


@pytest.fixture
def dummy(monkeypatch):
    """WithDummy in RunConfig's place (its presets too), with the dummy's limits."""
    monkeypatch.setitem(limits.RANGES, "dummy", Range(0, 1))
    for module in (ac, ac.config, ac.training, ac.runfile, ac.runstate):
        monkeypatch.setattr(module, "RunConfig", WithDummy)
    for name, preset in list(ac.presets.items()):
        monkeypatch.setitem(ac.presets, name, WithDummy(**{f.name: getattr(preset, f.name) for f in fields(preset)}))


def test_a_new_field_reaches_the_share_link(dummy):
    config = ac.presets["nonlinear-relu"].replace(dummy=0.25)
    params = urlstate.config_to_params("nonlinear-relu", config, 3)
    assert params["dummy"] == "0.25" and "dummy" in urlstate.controls()
    assert urlstate.params_to_config(params, "wave2d-relu") == ("nonlinear-relu", config, 3, [])
    _, kept, _, warnings = urlstate.params_to_config({"preset": "nonlinear-relu", "dummy": "7", "lr": "0.01"},
                                                     "wave2d-relu")
    assert warnings == ["Ignored URL parameter dummy='7': dummy: '7.0' is out of range (allowed: a number from 0 "
                        "to 1)"]
    assert kept.dummy == 0.5 and kept.lr == 0.01


def test_a_new_field_gets_a_sidebar_control_in_its_section(dummy):
    at = app({"preset": "nonlinear-relu", "dummy": "0.25"})
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    network = next(e for e in at.sidebar.expander if e.label == "Network")
    box = network.number_input(key=W + "dummy")
    assert (box.label, box.value, box.min, box.max, box.step) == ("Dummy knob", 0.25, 0.0, 1.0, 0.05)
    assert run_of(at).config.dummy == 0.25
    box.set_value(0.75).run()
    assert [i.value for i in at.info] == ['Started a new run because you changed "Dummy knob".']
    assert run_of(at).config.dummy == 0.75 and at.query_params["dummy"] == "0.75"


def test_a_new_field_survives_a_run_file_loaded_in_the_sidebar(dummy):
    run = ac.TrainingRun(ac.presets["nonlinear-relu"].replace(dummy=0.125), seed=1)
    run.run_steps(3)
    back = ac.TrainingRun.load(*unpack_run(pack_run(*run.export())))
    assert back.config == run.config and back.config.dummy == 0.125
    at = app()
    at.file_uploader(key="run_upload").set_value(("adjoint-run.zip", pack_run(*run.export()), "application/zip"))
    at.run()
    assert not at.exception and at.number_input(key=W + "dummy").value == 0.125
    assert run_of(at).config.dummy == 0.125 and run_of(at).step_count == 3


def test_a_new_field_names_runs_in_compare_labels_and_old_files_load_with_its_default(dummy):
    runs = [ac.TrainingRun(ac.presets["nonlinear-relu"].replace(dummy=d)) for d in (0.25, 0.5)]
    assert compare.labels([compare.setup_of(r) for r in runs]) == ["dk 0.25", "dk 0.5"]
    meta, npz = runs[0].export()
    old = json.loads(meta)
    del old["config"]["dummy"]   # a file from before the field
    assert ac.TrainingRun.load(json.dumps(old), npz).config.dummy == 0.5


def test_the_derived_views_are_what_the_app_showed_before_the_table():
    assert urlstate.controls() == (
        "preset", "target", "dim", "formula", "samples", "noise", "test_fraction", "hidden", "activation", "init",
        "init_scale", "loss", "optimiser", "lr", "beta", "weight_decay", "batch_size", "epochs", "seed")
    assert session.labels() == {
        "target": "Target function", "dim": "Inputs", "formula": "Formula", "samples": "Samples", "noise": "Noise",
        "test_fraction": "Test fraction", "hidden": "Hidden layer sizes", "activation": "Activation",
        "init": "Initialisation", "init_scale": "Init scale", "loss": "Loss", "optimiser": "Optimiser",
        "lr": "Learning rate", "beta": "β (momentum)", "weight_decay": "Weight decay", "batch_size": "Batch size",
        "epochs": "Stop after epoch", "seed": "Seed", "data": "CSV file"}
    shorts = {"lr": "lr", "beta": "β", "weight_decay": "wd", "batch_size": "batch", "init_scale": "init scale",
              "test_fraction": "test", "samples": "samples", "noise": "noise", "hidden": "hidden", "seed": "seed",
              "epochs": "epochs", "dim": "dim", "formula": "", "target": "", "optimiser": "", "activation": "",
              "loss": "", "init": "init", "data": "data"}
    assert {name: compare._short(name) for name in shorts} == shorts
    assert set(changes.TUNABLE) == {"lr", "beta", "weight_decay", "batch_size", "optimiser", "loss"}
    assert changes.TUNABLE == tuple(name for name, f in setup_fields().items() if f.applies == LIVE)
    structural = session.structure_changes(ac.RunConfig(), ac.RunConfig(**{
        "target": "sine", "samples": 99, "noise": 0.5, "test_fraction": 0.5, "hidden": (3,), "activation": "tanh",
        "init": "he", "init_scale": 2.0, "lr": 0.5, "optimiser": "adam", "epochs": 7, "label": "x"}))
    assert structural == ["target", "samples", "noise", "test_fraction", "hidden", "activation", "init",
                          "init_scale"]
