"""Every lesson keeps its promises: each [[lesson.check]] of ui/classroom/lessons.toml is measured on the lesson's own
setup and seed with the engine, and must lie within the bounds the lesson states."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.adjoint_field import fixed_batch
from adjoint_core.loss_increment import increment_loss
from adjoint_core.notebook_traps import trap_report
from ui.classroom.lesson_book import LESSONS

GRADCHECK_BATCH = 8   # the Gradient check page's default batch


def _last(run: ac.TrainingRun) -> tuple[np.ndarray, np.ndarray]:
    """The last recorded step's ||mu_N||, ..., ||mu_0|| and ||dL/dW_1||, ..., ||dL/dW_N||."""
    return run.history.mu_norms[-1], run.history.grad_norms[-1]


def _batch(run: ac.TrainingRun, size: int) -> tuple[np.ndarray, np.ndarray]:
    idx = fixed_batch(len(run.data.x), min(size, len(run.data.x)))
    return run.data.x[idx], run.data.y[idx]


def _trap(run: ac.TrainingRun, name: str):
    """The Theory page's trap measurement on the run (batch: the run's, at most 64)."""
    x, y = _batch(run, min(run.config.batch_size, 64))
    with np.errstate(all="ignore"):
        results = trap_report(run.net, run.loss_fn, x, y, eps=1e-6, max_entries=300, rng=np.random.default_rng(0))
    return next(r for r in results if r.name.startswith(name))


def _gradcheck_error(run: ac.TrainingRun) -> float:
    """The Gradient check page's worst relative error, at its defaults."""
    x, y = _batch(run, GRADCHECK_BATCH)
    checks = ac.check_gradients(run.net, increment_loss(run.net, run.loss_fn, x), x, y, eps=1e-6,
                                max_per_tensor=30, rng=np.random.default_rng(0))
    return max(c.rel_error for c in checks)


MEASURES: dict[str, Callable[[ac.TrainingRun], float]] = {
    # ||mu_N|| / sqrt(2 L / B) at the last step: 1 when mu_N = -(z_N - y)/B
    "mu_N_over_sqrt_2L_over_B": lambda run: _last(run)[0][0] / math.sqrt(2 * run.history.loss[-1]
                                                                          / run.config.batch_size),
    "mu_ratio": lambda run: _last(run)[0][-1] / _last(run)[0][0],                 # ||mu_0|| / ||mu_N||
    "output_mu_ratio": lambda run: _last(run)[0][1] / _last(run)[0][0],           # ||mu_N-1|| / ||mu_N||
    "output_grad_share": lambda run: _last(run)[1][-1] / _last(run)[1][:-1].max(),  # ||dL/dW_N|| / hidden max
    "max_grad_norm": lambda run: _last(run)[1].max(),                             # largest ||dL/dW_i||
    "epoch_loss": lambda run: run.history.epoch_loss[-1],
    "test_loss": lambda run: run.test_loss(),
    "gradcheck_error": _gradcheck_error,
    "trap2_ratio": lambda run: _trap(run, "trap 2").ratio_median,
    "trap1_error": lambda run: _trap(run, "trap 1").rel_error,
    "trap1_ratio_min": lambda run: _trap(run, "trap 1").ratio_min,   # below 0: some entries point the wrong way
}


def final_losses(lesson, epochs: int) -> np.ndarray:
    """A class lesson's final epoch loss for each of its values (a student each; inf for a run that diverged)."""
    finals = []
    for number in range(1, len(lesson.values) + 1):
        run = ac.TrainingRun(*lesson.setup(number))
        run.run_epochs(epochs)
        finals.append(math.inf if run.diverged else run.history.epoch_loss[-1])
    return np.array(finals)


CLASS_MEASURES: dict[str, Callable[[np.ndarray], float]] = {
    # the U-shape of a sweep: the lowest final loss of the middle values / the lower of the two ends
    "sweep_middle_over_ends": lambda f: f[1:-1].min() / min(f[0], f[-1]),
    "seed_spread": lambda f: f.max() / f.min(),   # highest / lowest final loss
}


def measure(lesson, check: dict) -> float:
    """Train the lesson's setup as the check says and return its measure."""
    if check["measure"] in CLASS_MEASURES:
        return CLASS_MEASURES[check["measure"]](final_losses(lesson, check["epochs"]))
    config = lesson.config.replace(**check.get("with", {}))
    run = ac.TrainingRun(config, seed=lesson.seed)
    steps = check["epochs"] * run.steps_per_epoch if "epochs" in check else check["steps"]
    first = run.step() if steps else math.nan   # the history keeps early steps only as averages
    done = 1 + run.run_steps(steps - 1) if steps and not run.diverged else min(steps, 1)
    if "then" in check:
        run.set_hyperparameters(**check["then"])
        done = run.run_steps(check["then_steps"])
    if check["measure"] == "steps_to_divergence":
        return done if run.diverged else math.inf
    if check["measure"] == "loss_drop":   # the first step's loss / the last epoch's mean
        return first / run.history.epoch_loss[-1]
    return MEASURES[check["measure"]](run)


CASES = [(lesson, i, check) for lesson in LESSONS.values() for i, check in enumerate(lesson.checks)]


@pytest.mark.parametrize("lesson,i,check", CASES, ids=[f"{lesson.id}-{i}-{c['measure']}" for lesson, i, c in CASES])
def test_lesson_promise_holds(lesson, i, check):
    value = measure(lesson, check)
    low, high = check.get("above"), check.get("below")   # strict bounds; below = inf asks for a finite value
    assert (low is None or value > low) and (high is None or value < high), \
        f"{lesson.id}: {check['measure']} = {value:.4g}, promised above {low} and below {high}"


def test_every_check_is_well_formed():
    known = {*MEASURES, *CLASS_MEASURES, "steps_to_divergence", "loss_drop"}
    for lesson, _, check in CASES:
        assert check["measure"] in known, (lesson.id, check)
        assert ("steps" in check) != ("epochs" in check), (lesson.id, "exactly one of steps, epochs", check)
        assert "above" in check or "below" in check, (lesson.id, check)
        assert ("then" in check) == ("then_steps" in check), (lesson.id, check)
        assert (check["measure"] in CLASS_MEASURES) <= (lesson.sweep is not None and "epochs" in check), check
        assert set(check) <= {"measure", "steps", "epochs", "with", "then", "then_steps", "above", "below"}, check
