"""Charts in words: the engine's numbers (adjoint_core.summaries), their sentences (ui/plots/describe.py) checked
against the run they describe, each chart's summary on the page and on the live board, and its "Show data" table."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from test_live_frames import state  # noqa: F401

import adjoint_core as ac
from adjoint_core import summaries
from ui.plots import describe
from ui.screen import a11y
from ui.train import board, chart_groups, live

NUMBER = r"[-+0-9.e–]+"
pytestmark = pytest.mark.usefixtures("state")   # a plain dict as the session state (test_live_frames)


@pytest.mark.parametrize("steps, back", [(0, 0), (1, 0), (2, 1), (19, 1), (20, 10), (3400, 1000), (2e6, 1000000)])
def test_the_lookback_is_the_largest_power_of_ten_at_most_half_the_run(steps, back):
    assert summaries.lookback(steps) == back


def test_loss_trend_compares_the_mean_loss_now_with_the_same_mean_lookback_steps_before():
    step = np.arange(1, 3401, dtype=float)
    loss = 1.0 / step
    t = summaries.loss_trend(step, loss, np.array([0.5, 0.02]), window=10)
    assert t.step == 3400 and t.lookback == 1000 and t.test_loss == 0.02
    assert t.loss == pytest.approx(np.mean(1.0 / np.arange(3391, 3401)))
    assert t.loss_before == pytest.approx(np.mean(1.0 / np.arange(2391, 2401)))
    assert t.ratio == pytest.approx(t.loss_before / t.loss) and t.ratio > 1   # 1/step: the loss fell
    empty = summaries.loss_trend(np.empty(0), np.empty(0), np.empty(0), 10)
    assert math.isnan(empty.loss) and math.isnan(empty.test_loss) and empty.lookback == 0


@pytest.mark.parametrize("output, input, verdict", [
    (1.2, 3e-6, "vanishing"), (1.0, summaries.VANISHING, "healthy"), (1.0, 0.9 * summaries.VANISHING, "vanishing"),
    (1.0, 0.5, "healthy"), (1.0, summaries.EXPLODING, "healthy"), (1.0, 2 * summaries.EXPLODING, "exploding"),
    (math.nan, math.nan, "unknown"), (math.inf, math.inf, "unknown"), (0.0, 0.0, "unknown")])
def test_mu_flow_verdicts_follow_the_documented_thresholds(output, input, verdict):
    f = summaries.mu_flow(output, input)
    assert f.verdict == verdict
    if verdict != "unknown":
        assert f.ratio == pytest.approx(input / output)


def test_extremes_and_fit_error_skip_values_that_are_not_finite():
    e = summaries.extremes(np.array([np.nan, 3.0, -1.0, np.inf, 2.0]))
    assert e == (-1.0, 2, 3.0, 1)
    assert summaries.extremes(np.array([np.nan]))[1] == -1
    f = summaries.fit_error(np.array([0.0, 1.0, 2.0, np.nan]), np.array([0.0, 1.5, 2.0, 5.0]))
    assert f.rms == pytest.approx(math.sqrt(0.25 / 3)) and f.max_abs == 0.5 and f.span == 2.0


def test_the_loss_sentence_says_the_status_numbers():
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_epochs(2)
    status = dict(live.board_status(run, None))
    text = chart_groups.all_figures(run)["loss_chart"][describe.SUMMARY]
    h = run.history
    back = summaries.lookback(run.step_count)
    before = np.mean(h.loss[h.step <= run.step_count - back][-run.steps_per_epoch:])
    ratio = before / np.mean(h.loss[-run.steps_per_epoch:])
    assert text == (f"Train loss {status['Train loss']} at step {status['Step']}, {ratio:.2g} times lower than "
                    f"{back:,} steps before; test loss {status['Test loss']}.")


@pytest.mark.parametrize("preset, verdict", [("deep-sigmoid-vanishing", "vanishing"), ("wave2d-relu", "healthy")])
def test_the_mu_sentence_says_the_last_steps_norms_and_verdict(preset, verdict):
    run = ac.TrainingRun(ac.presets[preset], seed=0)
    run.run_steps(3)
    mu = run.history.mu_norms[-1]
    text = chart_groups.all_figures(run)["mu_bar"][describe.SUMMARY]
    out, inp, ratio, said = re.fullmatch(rf"‖μ‖ (?:falls|grows) from ({NUMBER}) at the output to ({NUMBER}) at the "
                                         rf"input \(ratio ({NUMBER})\): (\w+)\.", text).groups()
    assert float(out) == pytest.approx(mu[0], rel=1e-3) and float(inp) == pytest.approx(mu[-1], rel=1e-3)
    assert float(ratio) == pytest.approx(mu[-1] / mu[0], rel=1e-3) and said == verdict


def test_every_train_chart_has_a_summary_and_the_board_sends_it_with_a_name():
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(5)
    figs = chart_groups.all_figures(run)
    assert all(fig[describe.SUMMARY] for fig in figs.values())
    fit = summaries.fit_error(*[np.asarray(t["z"]) for t in figs["fit_chart"]["data"][:2]])
    assert f"root mean square {describe.number(fit.rms)}" in figs["fit_chart"][describe.SUMMARY]
    own = board.Board()
    own.update(run, live.board_status(run, None))
    sent = json.loads(own.payload(own.drawn))["charts"]
    assert {key: (fig["name"], fig["summary"]) for key, fig in sent.items()} == {
        key: (describe.name(fig), fig[describe.SUMMARY]) for key, fig in figs.items()}
    assert sent["loss_chart"]["name"] == "Chart: Loss"


def test_a_run_without_steps_says_so():
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    figs = chart_groups.all_figures(run)
    for key in ("loss_chart", "mu_bar", "mu_heatmap", "grad_chart"):
        assert figs[key][describe.SUMMARY] == describe.NO_STEPS


@pytest.mark.parametrize("ratio, words", [(10.0, "10 times lower than"), (0.4, "2.5 times higher than"),
                                          (1.05, "about the same as"), (math.nan, "not comparable with")])
def test_ratios_in_words(ratio, words):
    assert describe.times(ratio) == words


def test_show_data_tables_hold_each_series_decimated():
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(40)
    figs = chart_groups.all_figures(run)
    loss = describe.table(figs["loss_chart"])
    assert set(loss["series"]) == {"train (batch)", "train (smoothed)"} and len(loss) == 80
    assert list(loss.columns) == ["series", "step", "loss"]   # named by the axis titles
    assert loss[loss["series"] == "train (batch)"]["loss"].astype(float).tolist() == pytest.approx(run.history.loss)
    heat = describe.table(figs["fit_chart"])
    assert set(heat["series"]) == {"target", "prediction", "error"} and len(heat) <= describe.MAX_ROWS
    assert list(heat.columns) == ["series", "x", "y", "z"]


def test_the_paused_status_sentence_says_why_training_stopped():
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0)
    run.run_steps(3)
    values = dict(live.board_status(run, None))
    assert live.status_sentence(run, None, False) == (f"Paused at step 3, epoch 0: train loss {values['Train loss']}, "
                                                      "test loss –.")
    assert live.status_sentence(run, None, True).startswith("Stopped at the epoch limit at step 3")


def test_the_page_script_has_no_less_than_sign():
    """The HTML sanitiser in front of st.html drops a script whose text holds one."""
    assert "<" not in a11y.SCRIPT.split("<script>", 1)[1].removesuffix("</script>")
