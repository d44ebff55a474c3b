"""Target functions and data sets.

A target maps inputs x of shape (n, dim) to outputs of shape (n, 1), dim 1 or 2, on a square
domain; a custom target's function comes from a formula (``formula.parse_formula``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .formula import parse_formula
from .limits import check
from .shared import shared

Array = np.ndarray

MIN_FINITE_FRACTION = 0.9
TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class Target:
    """A target function y = fn(x): x (n, dim) float64 -> y (n, 1) float64 on domain^dim."""

    name: str
    label: str  # shown in the UI
    dim: int  # 1 or 2
    domain: tuple[float, float]  # the same interval on each axis
    fn: Callable[[Array], Array]
    sampling: str  # "uniform" (i.i.d. uniform in the domain) or "grid" (regular side x side grid)
    formula: str  # shown to students; valid input for parse_formula


def _radius(x: Array) -> Array:
    """Distance of each row of x (n, 2) to (pi, pi), as (n, 1)."""
    return np.hypot(x[:, :1] - math.pi, x[:, 1:] - math.pi)


_UNIT = (0.0, 1.0)
_SQUARE = (0.0, TWO_PI)

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("linear", "Linear 10x + 3", 1, _UNIT, lambda x: 10.0 * x + 3.0, "uniform", "10*x + 3"),
        Target("quadratic", "Quadratic 10(x - x²)", 1, _UNIT, lambda x: 10.0 * (x - x * x), "uniform",
               "10*(x - x**2)"),
        Target("sine", "Sine sin(2πx)", 1, _UNIT, lambda x: np.sin(TWO_PI * x), "uniform", "sin(2*pi*x)"),
        Target("abs", "Kink |x - 0.5|", 1, _UNIT, lambda x: np.abs(x - 0.5), "uniform", "abs(x - 0.5)"),
        Target("step", "Step: 1 where x > 0.5, else 0", 1, _UNIT, lambda x: np.where(x > 0.5, 1.0, 0.0),
               "uniform", "relu(sign(x - 0.5))"),
        # The notebook's 2D wave on its regular grid; r is the distance to the centre (pi, pi).
        Target("wave2d", "2D radial wave 10(r - r²)", 2, _SQUARE,
               lambda x: 10.0 * (_radius(x) - _radius(x) ** 2), "grid",
               "10*(sqrt((x - pi)**2 + (y - pi)**2) - ((x - pi)**2 + (y - pi)**2))"),
        Target("gauss2d", "2D Gaussian bump at (π, π)", 2, _SQUARE, lambda x: np.exp(-0.5 * _radius(x) ** 2),
               "uniform", "exp(-((x - pi)**2 + (y - pi)**2)/2)"),
        Target("saddle", "Saddle x·y", 2, (-1.0, 1.0), lambda x: x[:, :1] * x[:, 1:], "uniform", "x*y"),
        Target("ripple", "Ripple sin(x)·cos(y)", 2, _SQUARE, lambda x: np.sin(x[:, :1]) * np.cos(x[:, 1:]),
               "uniform", "sin(x)*cos(y)"),
    )
}

def custom_target(formula: str, dim: int) -> Target:
    """A Target named "custom" from a formula: domain [0, 1] (1D) or [0, 2pi]^2 (2D), uniform sampling.

    Rejected unless finite on at least 90% of a probe grid (64 points in 1D, 32 x 32 in 2D).
    """
    dim = check("dim", dim)
    fn = parse_formula(formula, dim)
    text = formula.strip()
    target = Target("custom", f"Custom: {text}", dim, _UNIT if dim == 1 else _SQUARE, fn, "uniform", text)
    probe = fn(grid(target, 64 if dim == 1 else 32))
    if np.isfinite(probe).mean() < MIN_FINITE_FRACTION:
        raise ConfigError("formula", "the formula is not finite on most of the domain (e.g. division by zero)")
    return target


def get_target(name: str, formula: str | None = None, dim: int | None = None) -> Target:
    """A built-in target by name, or the custom target for name "custom" (needs formula and dim)."""
    if name == "custom":
        if formula is None or dim is None:
            raise ConfigError("formula", "a custom target needs a formula and a dimension (1 or 2)")
        return custom_target(formula, dim)
    if not isinstance(name, str) or name not in TARGETS:   # a list would not even be hashable
        raise ConfigError("target", f"unknown target {name!r}", allowed=", ".join(sorted([*TARGETS, "custom"])))
    return TARGETS[name]


# ---------------------------------------------------------------------------------------------
# Data sets.

@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and test data for one target; all arrays float64."""

    x: Array  # (n, dim) training inputs
    y: Array  # (n, 1) training targets, noise included
    x_test: Array  # (m, dim)
    y_test: Array  # (m, 1), noise included
    target: Target


def shared_data(data: Dataset) -> Dataset:
    """``data`` with its four arrays replaced by the process's read-only copies of them (``shared.shared``)."""
    return Dataset(shared(data.x), shared(data.y), shared(data.x_test), shared(data.y_test), data.target)


def _uniform(target: Target, n: int, rng: np.random.Generator) -> Array:
    return rng.uniform(*target.domain, size=(n, target.dim))


def _with_noise(target: Target, x: Array, noise: float, rng: np.random.Generator) -> Array:
    y = target.fn(x)
    return y + noise * rng.standard_normal(y.shape) if noise else y


def grid_side(target: Target, samples: int) -> int:
    """Points per axis of a grid target's training grid for ``samples``: round(samples ** (1/dim))."""
    return round(samples ** (1 / target.dim))


def train_points(target: Target, samples: int) -> int:
    """How many training points ``make_dataset`` draws for ``samples`` (before rows whose target is not
    finite are dropped): side**dim on a grid, else ``samples``."""
    return grid_side(target, samples) ** target.dim if target.sampling == "grid" else samples


def make_dataset(target: Target, samples: int, noise: float, test_fraction: float,
                 rng: np.random.Generator) -> Dataset:
    """Sample training and test data: x (n, dim), y = fn(x) + noise * N(0, 1), shape (n, 1).

    - ``samples`` is the number of training points.  "uniform" targets draw x ~ U(domain)
      i.i.d., ``rng.uniform(lo, hi, size=(samples, dim))``.  "grid" targets use the regular
      grid ``grid(target, side)`` with side = round(samples ** (1/dim)) points per axis (in 2D,
      samples=10000 gives the notebook's 100 x 100 grid; other counts give side**2 points).
    - The test set has m = round(test_fraction * samples) points, always i.i.d. uniform.
    - rng draws, in order: training x (uniform only), training noise, test x, test noise.
      With noise == 0 no noise is drawn, so rng.uniform(0, 1, (100, 1)) reproduces "linear".
    - Rows whose target is not finite (custom formulas) are dropped from both sets.
    """
    samples, noise, test_fraction = check("samples", samples), check("noise", noise), check("test_fraction",
                                                                                             test_fraction)
    if target.sampling == "grid":
        side = grid_side(target, samples)
        if side < 2:
            raise ConfigError("samples", f"a grid needs at least 2 points per axis, got {side}",
                              allowed=f"at least {2 ** target.dim - 1} for a grid target")
        x = grid(target, side)
    else:
        x = _uniform(target, samples, rng)
    y = _with_noise(target, x, noise, rng)
    x_test = _uniform(target, round(test_fraction * samples), rng)
    y_test = _with_noise(target, x_test, noise, rng)
    keep, keep_test = np.isfinite(y[:, 0]), np.isfinite(y_test[:, 0])
    if keep.sum() < 2:
        raise ConfigError("formula", "fewer than 2 training points have a finite target value")
    return Dataset(x[keep], y[keep], x_test[keep_test], y_test[keep_test], target)


def grid(target: Target, resolution: int) -> Array:
    """Regular grid over the domain: 1D (resolution, 1); 2D (resolution**2, 2).

    2D order is that of np.meshgrid(t, t) flattened: column 0 (x) varies fastest, so
    ``values.reshape(resolution, resolution)[i, j]`` is at x = t[j], y = t[i] (rows have constant y).
    """
    check("resolution", resolution)
    t = np.linspace(*target.domain, resolution)
    if target.dim == 1:
        return t[:, None]
    gx, gy = np.meshgrid(t, t)
    return np.column_stack([gx.ravel(), gy.ravel()])
