"""Safe custom formulas: text in x (and y) -> a NumPy function, never eval.

A formula is parsed with ``ast`` and checked node by node against a whitelist, then turned into a
small tree of NumPy closures; it is never passed to eval/exec/compile.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable

import numpy as np

from .errors import ConfigError
from .limits import MAX_CONSTANT_EXPONENT, MAX_FORMULA_CHARS, MAX_FORMULA_DEPTH, MAX_FORMULA_NODES, check

Array = np.ndarray


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
_Compiled = np.float64 | Callable[[tuple[Array, ...]], Array]


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


def parse_formula(text: str, dim: int) -> Callable[[Array], Array]:
    """Parse a safe formula in x (and y if dim == 2) into fn: x (n, dim) -> (n, 1) float64.

    Allowed: numbers, x[, y], pi, e, + - * / ** (unary + -), parentheses and one-argument calls of
    the whitelisted functions.  Everything else, over-long or over-deep input, and constant exponents
    beyond +-64 raise ConfigError("formula", ...).  Evaluation is plain float64 NumPy with floating
    point warnings silenced, so a bad region yields inf/nan instead of an error.
    """
    dim = check("dim", dim)
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
