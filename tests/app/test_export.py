"""Export: the history CSV (ui/train/export.py) read back against run.history, its download button on the paused
page, and the charts' PNG export (camera button: PNG at 2x on white)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

import adjoint_core as ac
from adjoint_core.history import History
from apptest_helpers import W, app, figure, run_of
from ui.train.export import file_name, history_csv

SMALL = "nonlinear-relu"
HYPER = ["loss", "optimiser", "lr", "beta", "weight_decay", "batch_size"]   # the sidebar's order
HEADER_3 = ["step", "batch_loss", "test_loss", "mu3_norm", "mu2_norm", "mu1_norm", "mu0_norm",   # N = 3 layers
            "grad_W1_norm", "grad_W2_norm", "grad_W3_norm", *HYPER]
CHARTS = ("loss_chart", "mu_bar", "fit_chart", "slice_chart", "mu_heatmap", "grad_chart")


def parse(text: str) -> tuple[list[str], np.ndarray]:
    """(header, values (rows, columns) but the hyperparameters'); an empty cell reads as NaN."""
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array([[float(c) if c else np.nan for c in row[:-len(HYPER)]] for row in rows[1:]])


def hyper(text: str) -> list[list[str]]:
    """The hyperparameter cells of each row."""
    return [row[-len(HYPER):] for row in list(csv.reader(io.StringIO(text)))[1:]]


def csv_of(run: ac.TrainingRun) -> str:
    return history_csv(run.history, run.config, run.changes)


def test_header_names_every_adjoint_and_weight_gradient():
    header, _ = parse(history_csv(History(n_layers=2, capacity=4), ac.RunConfig(), []))
    assert header == ["step", "batch_loss", "test_loss", "mu2_norm", "mu1_norm", "mu0_norm",
                      "grad_W1_norm", "grad_W2_norm", *HYPER]


def test_csv_reads_back_as_the_history_of_a_run():
    run = ac.TrainingRun(ac.presets["wave2d-relu"].replace(samples=400), seed=1)
    run.run_epochs(3)
    h = run.history
    header, values = parse(csv_of(run))
    assert header == HEADER_3
    assert len(values) == len(h.step) == run.step_count   # epoch ends fall on steps: no extra rows
    np.testing.assert_array_equal(values[:, 0], h.step)
    np.testing.assert_array_equal(values[:, 1], h.loss)
    np.testing.assert_array_equal(values[:, 3:3 + run.net.n_layers + 1], h.mu_norms)
    np.testing.assert_array_equal(values[:, 4 + run.net.n_layers:], h.grad_norms)
    ends = np.isin(h.step, h.epoch_step)
    np.testing.assert_array_equal(values[ends, 2], h.test_loss)
    assert np.isnan(values[~ends, 2]).all()


def test_averaged_rows_keep_their_mean_step_and_epoch_ends_between_them_get_rows_of_their_own():
    h = History(n_layers=1, capacity=8)
    for step in range(1, 11):
        h.steps.next_row()[:] = [step, 1.0 / step, 2.0 * step, 3.0 * step, 4.0 * step]
        if step % 4 == 0:
            h.epochs.next_row()[:] = [step // 4, step, 0.5, 0.1 * step]
    assert h.steps.compactions == 1   # steps 1-4 became 1.5 and 3.5
    _, values = parse(history_csv(h, ac.RunConfig(), []))
    np.testing.assert_array_equal(values[:, 0], [1.5, 3.5, 4, 5, 6, 7, 8, 9, 10])
    np.testing.assert_array_equal(values[values[:, 0] == 4][0, 1:], [np.nan, 0.4, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(values[values[:, 0] == 8][0, 1:3], [1 / 8, 0.8])
    np.testing.assert_array_equal(values[:, 1][~np.isnan(values[:, 1])], h.loss)
    # steps as whole numbers, missing values as empty cells
    assert "\n4,,0.4,,,,mse,momentum,0.0002,0.9,0.005,50\n" in history_csv(h, ac.RunConfig(), [])


def test_a_run_without_steps_is_a_header_alone():
    assert csv_of(ac.TrainingRun(ac.presets[SMALL], seed=0)) == ",".join(HEADER_3) + "\n"


@pytest.fixture
def deferred(monkeypatch) -> dict:
    """The callables of deferred downloads the app registers, by file name."""
    made = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        made[file_name] = (data_callable, mimetype)
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return made


def test_each_row_carries_the_hyperparameters_it_trained_with():
    run = ac.TrainingRun(ac.presets[SMALL], seed=0)
    run.run_steps(4)
    run.set_hyperparameters(lr=0.01, optimiser="adam")
    run.run_steps(2)
    rows = hyper(csv_of(run))
    assert rows == [["mse", "momentum", "0.002", "0.9", "0.005", "50"]] * 4 \
        + [["mse", "adam", "0.01", "0.9", "0.005", "50"]] * 2


def test_the_file_is_named_after_the_setup_and_the_time():
    at = datetime(2026, 12, 6, 23, 10, 59)
    assert file_name(ac.presets["wave2d-relu"], at) == "adjoint-wave2d-relu-momentum-2026-12-06T2310.csv"
    changed = ac.presets["wave2d-relu"].replace(optimiser="adam", activation=("relu", "tanh"))
    assert file_name(changed, at) == "adjoint-wave2d-relu-tanh-adam-2026-12-06T2310.csv"
    linear = changed.replace(hidden=(), activation="relu")
    assert file_name(linear, at) == "adjoint-wave2d-linear-adam-2026-12-06T2310.csv"


def test_download_button_gives_the_history_as_it_is_at_the_click(deferred):
    at = app()
    at.selectbox(key=W + "preset").set_value(SMALL).run()
    for _ in range(3):
        at.button(key="btn_epoch").click().run()
    assert not at.exception
    button = at.get_by_key("history_download")
    assert button.label == "Download history (CSV)"
    name = next(n for n in deferred if n.startswith("adjoint-nonlinear"))
    assert re.fullmatch(r"adjoint-nonlinear-relu-momentum-\d{4}-\d\d-\d\dT\d{4}\.csv", name), name
    build, mime = deferred[name]
    assert mime == "text/csv"
    run = run_of(at)
    header, values = parse(build())
    assert header == HEADER_3
    np.testing.assert_array_equal(values[:, 0], run.history.step)
    np.testing.assert_array_equal(values[:, 1], run.history.loss)
    run.step()   # what the file holds is built on the click
    assert len(parse(build())[1]) == run.step_count
    run.set_hyperparameters(lr=0.01)   # a changed lr shows in the rows trained after it
    run.step()
    lr = HYPER.index("lr")
    assert [row[lr] for row in hyper(build())] == ["0.002"] * (run.step_count - 1) + ["0.01"]


def test_every_chart_exports_a_png_at_twice_its_size_on_white():
    at = app()
    at.button(key="btn_step").click().run()
    for key in CHARTS:
        config = json.loads(at.get_by_key(key).proto.config)
        assert config["toImageButtonOptions"] == {"format": "png", "scale": 2, "filename": "adjoint-backprop-lab"}
        assert config.get("displayModeBar", True), key   # the camera button is on the mode bar
        layout = figure(at, key)["layout"]
        assert layout.get("paper_bgcolor", layout["template"]["layout"]["paper_bgcolor"]) == "white", key
