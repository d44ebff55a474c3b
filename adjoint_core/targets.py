"""Target functions, data sets, and safe custom formulas.

A target maps inputs x of shape (n, dim) to outputs of shape (n, 1), dim 1 or 2, on a square
domain.  Custom formulas are parsed with ``ast`` and checked node by node against a whitelist;
they are never passed to eval/exec/compile but turned into a small tree of NumPy closures.
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .errors import ConfigError

Array = np.ndarray

MAX_FORMULA_CHARS = 200
MAX_FORMULA_DEPTH = 40
MAX_FORMULA_NODES = 200
MAX_CONSTANT_EXPONENT = 64
MAX_SAMPLES = 200_000
MAX_NOISE = 100.0
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

# ---------------------------------------------------------------------------------------------
# Custom formulas: whitelist, AST -> closure tree.

_FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "abs": np.abs, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "arctan": np.arctan,
    "atan": np.arctan, "sigmoid": lambda v: 0.5 * (1.0 + np.tanh(0.5 * v)),  # = 1/(1+e^-v), no overflow
    "relu": lambda v: np.maximum(v, 0.0), "sign": np.sign, "floor": np.floor,
}
_CONSTANTS = {"pi": np.float64(math.pi), "e": np.float64(math.e)}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_SYMBOLS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~"}
_FORBIDDEN = {
    ast.Attribute: "attribute access (.) is not allowed", ast.Subscript: "indexing with [] is not allowed",
    ast.Lambda: "lambda is not allowed", ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "and/or are not allowed", ast.IfExp: "if/else expressions are not allowed",
    ast.ListComp: "comprehensions are not allowed", ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed", ast.GeneratorExp: "comprehensions are not allowed",
    ast.List: "lists are not allowed", ast.Tuple: "tuples (commas) are not allowed",
    ast.Set: "sets are not allowed", ast.Dict: "dicts are not allowed", ast.JoinedStr: "strings are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed", ast.Starred: "* unpacking is not allowed",
}

# A compiled node is either a folded constant or a function of the input columns (x[, y]) -> (n,).
_Compiled = Union[np.float64, Callable[[tuple[Array, ...]], Array]]


def _allowed(dim: int) -> str:
    names = "x, y" if dim == 2 else "x"
    return f"numbers, {names}, pi, e, + - * / **, ( ), and the functions {', '.join(_FUNCTIONS)}"


def _reject(node: ast.AST, problem: str, dim: int) -> ConfigError:
    where = f" (at character {node.col_offset + 1})" if hasattr(node, "col_offset") else ""
    return ConfigError("formula", problem + where, allowed=_allowed(dim))


def _apply(f: Callable[..., Array], parts: list[_Compiled]) -> _Compiled:
    """f applied to compiled parts; folded to a constant when every part is constant."""
    if not any(callable(p) for p in parts):
        with np.errstate(all="ignore"):
            return np.float64(f(*parts))
    g = [p if callable(p) else (lambda cols, c=p: c) for p in parts]
    if len(g) == 1:
        return lambda cols: f(g[0](cols))
    return lambda cols: f(g[0](cols), g[1](cols))


def _compile(node: ast.AST, dim: int, depth: int = 1) -> _Compiled:
    """Validate one AST node against the whitelist and compile it (recursively)."""
    if depth > MAX_FORMULA_DEPTH:
        raise _reject(node, f"the formula is nested too deeply (more than {MAX_FORMULA_DEPTH} levels)", dim)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {bool: "True/False are", str: "strings are", bytes: "strings are", complex: "complex numbers are"}
            raise _reject(node, f"{kind.get(type(value), f'the constant {value!r} is')} not allowed", dim)
        if not math.isfinite(value):  # e.g. 1e400; int literals are finite under the length limit
            raise _reject(node, "a number in the formula is too large (not finite)", dim)
        return np.float64(value)
    if isinstance(node, ast.Name):
        name = node.id
        if name.startswith("__"):
            raise _reject(node, "names with double underscores are not allowed", dim)
        if name == "x" or (name == "y" and dim == 2):
            column = 0 if name == "x" else 1
            return lambda cols: cols[column]
        if name == "y":
            raise _reject(node, "'y' is not available for a 1D target: only x is", dim)
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _FUNCTIONS:
            raise _reject(node, f"{name!r} is a function: call it like {name}(x)", dim)
        raise _reject(node, f"unknown name {name!r}", dim)
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise _reject(node, f"the operator {_SYMBOLS.get(type(node.op), '?')!r} is not allowed", dim)
        return _apply(_UNARY[type(node.op)], [_compile(node.operand, dim, depth + 1)])
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise _reject(node, f"the operator {_SYMBOLS.get(type(node.op), '?')!r} is not allowed", dim)
        left = _compile(node.left, dim, depth + 1)
        right = _compile(node.right, dim, depth + 1)
        if isinstance(node.op, ast.Pow) and not callable(right) and not abs(right) <= MAX_CONSTANT_EXPONENT:
            raise _reject(node, f"the exponent {float(right):g} is out of range (a constant exponent must be "
                                f"between -{MAX_CONSTANT_EXPONENT} and {MAX_CONSTANT_EXPONENT})", dim)
        return _apply(_BINARY[type(node.op)], [left, right])
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _reject(node, "only a listed function name can be called, e.g. sin(x)", dim)
        name = node.func.id
        if name.startswith("__"):
            raise _reject(node, "names with double underscores are not allowed", dim)
        if name not in _FUNCTIONS:
            raise _reject(node, f"unknown function {name!r}", dim)
        if node.keywords:
            raise _reject(node, "keyword arguments are not allowed", dim)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _reject(node, "* unpacking is not allowed", dim)
        if len(node.args) != 1:
            raise _reject(node, f"{name}() takes exactly one argument, got {len(node.args)}", dim)
        return _apply(_FUNCTIONS[name], [_compile(node.args[0], dim, depth + 1)])
    raise _reject(node, _FORBIDDEN.get(type(node), f"{type(node).__name__} is not allowed"), dim)


def _check_dim(dim: object) -> None:
    if isinstance(dim, bool) or dim not in (1, 2):
        raise ConfigError("dim", f"input dimension must be 1 or 2, got {dim!r}", allowed="1, 2")


def parse_formula(text: str, dim: int) -> Callable[[Array], Array]:
    """Parse a safe formula in x (and y if dim == 2) into fn: x (n, dim) -> (n, 1) float64.

    Allowed: numbers, x[, y], pi, e, + - * / ** (unary + -), parentheses and one-argument calls of
    the whitelisted functions.  Everything else, over-long or over-deep input, and constant exponents
    beyond +-64 raise ConfigError("formula", ...).  Evaluation is plain float64 NumPy with floating
    point warnings silenced, so a bad region yields inf/nan instead of an error.
    """
    _check_dim(dim)
    if not isinstance(text, str):
        raise ConfigError("formula", f"{str(text)[:40]!r} is not text", allowed=_allowed(dim))
    if not text.strip():
        raise ConfigError("formula", "the formula is empty", allowed=_allowed(dim))
    if len(text) > MAX_FORMULA_CHARS:
        raise ConfigError("formula", f"the formula is longer than {MAX_FORMULA_CHARS} characters")
    try:
        with warnings.catch_warnings():   # e.g. "invalid decimal literal" for '2x': we raise our own error
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)   # e.g. '\\:' (Python 3.11; 3.12 says SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        where = f" at character {err.offset}" if err.offset else ""
        raise ConfigError("formula", f"could not parse the formula{where}: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise ConfigError("formula", f"could not parse the formula: {err}") from None
    if sum(isinstance(n, ast.expr) for n in ast.walk(tree)) > MAX_FORMULA_NODES:
        raise ConfigError("formula", f"the formula has more than {MAX_FORMULA_NODES} parts")
    root = _compile(tree.body, dim)

    def fn(x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"expected x of shape (n, {dim}), got {x.shape}")
        with np.errstate(all="ignore"):
            out = root(tuple(x.T)) if callable(root) else root
        return np.broadcast_to(out, x.shape[:1]).astype(np.float64).reshape(-1, 1)

    return fn


def custom_target(formula: str, dim: int) -> Target:
    """A Target named "custom" from a formula: domain [0, 1] (1D) or [0, 2pi]^2 (2D), uniform sampling.

    Rejected unless finite on at least 90% of a probe grid (64 points in 1D, 32 x 32 in 2D).
    """
    _check_dim(dim)
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


def _check_number(field: str, value: object, lo: float, hi: float, integer: bool = False) -> None:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if not (ok and lo <= value <= hi):  # NaN fails the comparison; inf is out of range
        what = "an integer" if integer else "a finite number"
        bounds = f"{lo:g} to {hi:g}"
        raise ConfigError(field, f"must be {what} from {bounds}, got {value!r}", allowed=bounds)


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
    _check_number("samples", samples, 2, MAX_SAMPLES, integer=True)
    _check_number("noise", noise, 0.0, MAX_NOISE)
    _check_number("test_fraction", test_fraction, 0.0, 1.0)
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
    _check_number("resolution", resolution, 2, math.inf, integer=True)
    t = np.linspace(*target.domain, resolution)
    if target.dim == 1:
        return t[:, None]
    gx, gy = np.meshgrid(t, t)
    return np.column_stack([gx.ravel(), gy.ravel()])
