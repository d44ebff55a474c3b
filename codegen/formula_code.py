"""A validated custom formula as NumPy source text, for the exported code: never the user's text passed to eval.

The formula is checked by the engine's own parser (``adjoint_core.formula``) first; then its syntax tree, which
holds only numbers, x and y, pi and e, + - * / ** and whitelisted calls, is written out node by node.  Constant
sub-expressions are folded by the engine's compiler and written as exact float literals, so the exported function
computes the same float64 values as the app's.
"""

from __future__ import annotations

import ast

from adjoint_core.formula import _compile, parse_formula

# NumPy source of each whitelisted function, the same operations as the engine's _FUNCTIONS
FUNCTIONS = {
    "sin": "np.sin({})", "cos": "np.cos({})", "tan": "np.tan({})", "exp": "np.exp({})", "log": "np.log({})",
    "sqrt": "np.sqrt({})", "abs": "np.abs({})", "tanh": "np.tanh({})", "sinh": "np.sinh({})",
    "cosh": "np.cosh({})", "arctan": "np.arctan({})", "atan": "np.arctan({})",
    "sigmoid": "0.5 * (1.0 + np.tanh(0.5 * {}))", "relu": "np.maximum({}, 0.0)", "sign": "np.sign({})",
    "floor": "np.floor({})",
}
COMPOUND = {"sigmoid"}   # functions whose source is an operation: its argument and, as an operand, itself in ()
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def formula_source(text: str, dim: int) -> tuple[str, bool]:
    """A validated formula in x (and y) -> (a NumPy expression in the arrays x (and y), whether it is a constant);
    bad text raises ConfigError (the engine's message)."""
    parse_formula(text, dim)   # every check of the app's formula box
    node = ast.parse(text.strip(), mode="eval").body
    return _source(node, dim, inner=False), not callable(_compile(node, dim))


def _source(node: ast.expr, dim: int, inner: bool = True) -> str:
    """The source of ``node``; an operation ``inner`` (an operand of another) in parentheses."""
    folded = _compile(node, dim)
    if not callable(folded):   # a constant sub-expression, folded by the engine
        value = repr(float(folded))
        return f"({value})" if value.startswith("-") else value
    if isinstance(node, ast.Name):   # x or y (constants were folded above)
        return node.id
    if isinstance(node, ast.UnaryOp):
        return ("-" if isinstance(node.op, ast.USub) else "+") + _source(node.operand, dim)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            return f"np.power({_source(node.left, dim, False)}, {_source(node.right, dim, False)})"
        text = f"{_source(node.left, dim)} {_OPERATORS[type(node.op)]} {_source(node.right, dim)}"
        return f"({text})" if inner else text
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)   # parse_formula allows nothing else
    name = node.func.id
    text = FUNCTIONS[name].format(_source(node.args[0], dim, name in COMPOUND))
    return f"({text})" if inner and name in COMPOUND else text
