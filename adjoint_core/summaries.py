"""The numbers behind each chart's one-sentence summary (read by a screen reader in place of the picture).

Every function takes the arrays a chart draws and returns what its sentence says, so a test can check the
sentence against the run: the loss now and some steps ago (``loss_trend``), the adjoint's size at the output and
at the input with a verdict (``mu_flow``), the largest and smallest of a set of norms (``extremes``) and a fit's
error (``fit_error``).  NaN stands for "not known yet" (no step taken, no test set).

Verdict thresholds: the whole backward pass scales the adjoint by r = ||mu_0|| / ||mu_N||; r < VANISHING is
"vanishing" (the input layers hardly learn), r > EXPLODING "exploding" (they take huge steps), else "healthy".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

Array = np.ndarray
VANISHING = 1e-3   # ||mu_0|| / ||mu_N|| below this: vanishing
EXPLODING = 1e3    # above this: exploding


class LossTrend(NamedTuple):
    step: float          # the latest step
    loss: float          # mean train loss over the last ``window`` recorded steps
    lookback: int        # how many steps back the comparison looks (0: too few steps to compare)
    loss_before: float   # the same mean, ``lookback`` steps earlier (NaN without one)
    ratio: float         # loss_before / loss: above 1 the loss fell
    test_loss: float     # the latest test loss (NaN without one)


class MuFlow(NamedTuple):
    output: float   # ||mu_N||
    input: float    # ||mu_0||
    ratio: float    # ||mu_0|| / ||mu_N||
    verdict: str    # "vanishing", "exploding", "healthy", or "unknown" (no finite ratio)


class Extremes(NamedTuple):
    low: float    # the smallest finite value (NaN when there is none)
    low_at: int   # its index
    high: float   # the largest finite value
    high_at: int  # its index


class FitError(NamedTuple):
    rms: float       # root mean square of prediction - target over the finite points
    max_abs: float   # the largest |prediction - target|
    span: float      # max - min of the target: the scale the error is measured against


def lookback(steps: float) -> int:
    """A round number of steps to look back over a run of ``steps``: the largest power of ten at most half of
    it (1,000 at step 3,400), 0 below step 2."""
    return 10 ** int(math.floor(math.log10(steps / 2))) if steps >= 2 else 0


def _window_mean(step: Array, loss: Array, end: float, window: int) -> float:
    """The mean loss of the ``window`` recorded steps ending at the last one at or before ``end``."""
    stop = int(np.searchsorted(step, end, side="right"))
    return float(np.mean(loss[max(0, stop - window):stop])) if stop else math.nan


def loss_trend(step: Array, loss: Array, test_loss: Array, window: int) -> LossTrend:
    """The train loss now and ``lookback(step)`` steps ago, each the mean of ``window`` recorded steps (the
    status's "Train loss"), their ratio, and the latest test loss."""
    test = float(test_loss[-1]) if len(test_loss) else math.nan
    if not len(step):
        return LossTrend(0.0, math.nan, 0, math.nan, math.nan, test)
    now, back = float(step[-1]), lookback(float(step[-1]))
    loss_now = float(np.mean(loss[-window:]))
    before = _window_mean(step, loss, now - back, window) if back else math.nan
    with np.errstate(all="ignore"):
        ratio = float(np.float64(before) / loss_now)
    return LossTrend(now, loss_now, back, before, ratio, test)


def verdict(ratio: float) -> str:
    """"vanishing", "exploding" or "healthy" for ||mu_0|| / ||mu_N|| = ratio (see the thresholds above)."""
    if not math.isfinite(ratio):
        return "unknown"
    return "vanishing" if ratio < VANISHING else "exploding" if ratio > EXPLODING else "healthy"


def mu_flow(output: float, input: float) -> MuFlow:
    """||mu_N|| and ||mu_0||, their ratio and its verdict."""
    with np.errstate(all="ignore"):
        ratio = float(np.float64(input) / np.float64(output))
    return MuFlow(float(output), float(input), ratio, verdict(ratio))


def extremes(values: Array) -> Extremes:
    """The smallest and the largest finite entry of ``values`` (flattened) and where they are."""
    v = np.asarray(values, dtype=float).ravel()
    finite = np.isfinite(v)
    if not finite.any():
        return Extremes(math.nan, -1, math.nan, -1)
    masked_low, masked_high = np.where(finite, v, np.inf), np.where(finite, v, -np.inf)
    lo, hi = int(np.argmin(masked_low)), int(np.argmax(masked_high))
    return Extremes(float(v[lo]), lo, float(v[hi]), hi)


def fit_error(target: Array, pred: Array) -> FitError:
    """How far ``pred`` is from ``target`` over the points where both are finite."""
    t, p = np.asarray(target, dtype=float).ravel(), np.asarray(pred, dtype=float).ravel()
    ok = np.isfinite(t) & np.isfinite(p)
    if not ok.any():
        return FitError(math.nan, math.nan, math.nan)
    with np.errstate(over="ignore"):   # a huge target's error squared is inf: the RMS says so
        err = p[ok] - t[ok]
        return FitError(float(np.sqrt(np.mean(err ** 2))), float(np.max(np.abs(err))), float(np.ptp(t[ok])))
