"""The gradient check's decision rule (adjoint_core.gradcheck): relative error, or the rounding floor.

A tensor whose gradient is tiny next to the loss (the first layers of a vanishing network) cannot be checked by
central differences to a relative 1e-6: rounding L moves each difference quotient by up to about eps S / h
(``rounding_scale``).  A correct tiny gradient must then pass "round-off limited"; a wrong one must still fail.
"""

from __future__ import annotations

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.adjoint_field import fixed_batch
from adjoint_core.gradcheck import ROUNDING, RTOL, DotProductTest, TensorCheck, check_gradients, rounding_scale, verdict
from adjoint_core.loss_increment import increment_loss
from adjoint_core.notebook_traps import notebook_gradient

EPS = 1e-6


def page_check(name: str, increment: bool = True) -> tuple[ac.TrainingRun, np.ndarray, np.ndarray, list[TensorCheck]]:
    """What the Gradient check page checks by default: 30 entries per tensor of the first 8-point batch."""
    run = ac.TrainingRun(ac.presets[name], seed=0)
    idx = fixed_batch(len(run.data.x), 8)
    x, y = run.data.x[idx], run.data.y[idx]
    loss_fn = increment_loss(run.net, run.loss_fn, x) if increment else run.loss_fn
    return run, x, y, check_gradients(run.net, loss_fn, x, y, eps=EPS, max_per_tensor=30,
                                      rng=np.random.default_rng(0))


def with_adjoint(c: TensorCheck, adjoint: np.ndarray) -> TensorCheck:
    return TensorCheck(c.name, adjoint, c.numeric, c.indices, c.n_total, c.floor)


def test_a_correct_tiny_gradient_passes_round_off_limited():
    run, _, _, checks = page_check("deep-sigmoid-vanishing")
    tiny = [c for c in checks if c.rel_error > RTOL]
    assert {"W1", "b1"} <= {c.name for c in tiny}, [(c.name, c.rel_error) for c in checks]
    for c in tiny:                                   # per entry far below the gradient, within the floor
        assert c.passed and c.roundoff_limited and c.max_error <= c.floor, (c.name, c.max_error, c.floor)
        assert c.floor < 1e-2 * np.max(np.abs(c.adjoint)), (c.name, c.floor)
    assert all(c.passed for c in checks)
    assert verdict(checks) == "pass (round-off limited)"


@pytest.mark.parametrize("sigma_prime_at_output, average_again", [(True, False), (False, True)])
def test_a_wrong_tiny_gradient_fails(sigma_prime_at_output, average_again):
    """The notebook's two traps on the same tiny tensors: far outside the rounding floor."""
    run, x, y, checks = page_check("deep-sigmoid-vanishing")
    wrong = notebook_gradient(run.net, run.loss_fn, x, y, sigma_prime_at_output, average_again)
    for c in checks:
        if c.name in ("W1", "b1"):
            bad = with_adjoint(c, wrong[c.indices])
            assert not bad.passed, (c.name, bad.rel_error, bad.max_error, bad.floor)
    assert verdict([with_adjoint(c, wrong[c.indices]) if len(c.indices) else c for c in checks]) == "fail"


def test_a_slightly_wrong_tiny_gradient_fails():
    """2% off on W1, whose entries are about 1e-6: the difference is still far above the floor."""
    _, _, _, checks = page_check("deep-sigmoid-vanishing")
    w1 = next(c for c in checks if c.name == "W1")
    assert not with_adjoint(w1, 1.02 * w1.adjoint).passed


def test_the_rounding_floor_bounds_what_central_differences_show():
    """With the plain loss (no increment) the 2D wave's hidden layers are rounding-limited; the bound holds with
    its safety factor to spare on every preset."""
    for name in ac.presets:
        run, x, y, checks = page_check(name, increment=False)
        scale = rounding_scale(run.net, run.loss_fn, x, y)
        assert checks[0].floor == pytest.approx(ROUNDING * scale / EPS)
        for c in checks:
            assert c.max_error <= c.floor / 2, (name, c.name, c.max_error, c.floor)
    assert verdict(page_check("wave2d-relu", increment=False)[3]) == "pass (round-off limited)"
    assert verdict(page_check("wave2d-relu")[3]) == "pass"


def test_without_a_floor_only_the_relative_error_counts():
    c = TensorCheck("W1", np.array([1e-12, 2e-12]), np.array([1.1e-12, 2e-12]), np.arange(2), 2)
    assert c.floor == 0.0 and not c.passed and verdict([c]) == "fail"
    assert verdict([with_adjoint(c, c.numeric)]) == "pass"


def test_a_nan_gradient_fails():
    c = TensorCheck("W1", np.array([np.nan, 1.0]), np.array([1.0, 1.0]), np.arange(2), 2, floor=1.0)
    assert not c.passed and verdict([c]) == "fail"


def test_dot_product_test_passes_at_rtol():
    assert DotProductTest("x", 1.0, 1.0 + 0.5 * RTOL).passed
    assert not DotProductTest("x", 1.0, 1.0 + 2 * RTOL).passed
