"""Property-based fuzzing (hypothesis) of everything that parses user text: the formula parser, the URL
parser and RunConfig.from_mapping. Any input gives a valid result or a ConfigError (warnings for the URL),
never another exception, and never runs code: during each call eval/exec are traps, compile may only build
an AST, and importing os/subprocess/... is recorded."""

from __future__ import annotations

import ast
import builtins
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adjoint_core as ac
from adjoint_core.config import RunConfig
from adjoint_core.formula import _FUNCTIONS, parse_formula
from safety_helpers import no_code_execution
from ui.screen import urlstate

# HARDENING_FUZZ_EXAMPLES=5000 for a longer hunt (CI uses the default).
FUZZ = settings(max_examples=int(os.environ.get("HARDENING_FUZZ_EXAMPLES", 300)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
# Warm up every lazy import once, outside the traps.
parse_formula("sin(x)", 1)
urlstate.params_to_config({"target": "custom", "formula": "x*y", "dim": "2"}, "wave2d-relu")


# --- the formula parser ------------------------------------------------------------------------------

NAMES = ["x", "y", "pi", "e", "z", "X", "_", "__import__", "__builtins__", "__class__", "os", "np", "sys", "eval",
         "exec", "open", "compile", "globals", "getattr", "self", "lambda", "for", "in", "if", "else", "import",
         "True", "None", "not", "and", "or", "yield", "await", "del"]
NUMBERS = st.one_of(st.integers(-10**30, 10**30).map(str), st.floats(allow_nan=False).map(repr),
                    st.sampled_from(["0", "1", "1e308", "1e309", "9" * 60, "0x10", "0b1", "1_0", "1j", ".5", "5.",
                                     "1e-400", "00", "١"]))
OPERATORS = ["+", "-", "*", "/", "**", "//", "%", "@", "<", "==", "&", "|", "^", ">>", ":=", "=", ",", ".", ";", ":",
             "!", "?", "$", "\\"]
SUFFIXES = [".__class__", ".real", "[0]", "[::-1]", "()", "(x)", "(x, x)", "(x=1)", "(*x)", ".__globals__", "!r"]
FUNCTION_NAMES = [*_FUNCTIONS, "__import__", "eval", "exec", "getattr", "open", "range", "sum", "print", "type"]
ATOMS = st.one_of(st.sampled_from(NAMES), NUMBERS, st.sampled_from(["'s'", '"s"', "b'x'", "f'{x}'", "...", "[]", "{}",
                                                                   "()", "{x}", "[x for x in x]"]))


def _expressions():
    return st.recursive(ATOMS, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
        st.tuples(st.sampled_from(FUNCTION_NAMES), inner).map(lambda t: f"{t[0]}({t[1]})"),
        inner.map(lambda c: f"({c})"),
        inner.map(lambda c: f"-{c}"),
        st.tuples(inner, st.sampled_from(SUFFIXES)).map(lambda t: t[0] + t[1]),
        st.tuples(inner, inner).map(lambda t: f"lambda: {t[0]} if {t[1]} else 0"),
        inner.map(lambda c: f"({c}"),                         # unbalanced / truncated
    ), max_leaves=25)


TOKEN_SOUP = st.lists(st.sampled_from([*NAMES, *OPERATORS, *SUFFIXES, *FUNCTION_NAMES, "(", ")", "[", "]", " ",
                                       "0", "1", "2.5", "e3", "\n", "\t", "#", "'", '"', "\x00"]),
                      max_size=40).map("".join)


def _check_parse(text: str, dim: int) -> None:
    with no_code_execution():
        try:
            fn = parse_formula(text, dim)
        except ac.ConfigError as e:
            assert str(e).startswith("formula:") and e.field == "formula"
            return
    x = np.random.default_rng(0).uniform(-4, 4, size=(7, dim))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # inf / NaN in a bad region, never a warning
        out = fn(x)
    assert out.shape == (7, 1) and out.dtype == np.float64


@FUZZ
@given(text=_expressions(), dim=st.sampled_from([1, 2]))
def test_structured_formulas_parse_or_raise_config_error(text, dim):
    _check_parse(text, dim)


@FUZZ
@given(text=TOKEN_SOUP, dim=st.sampled_from([1, 2]))
def test_token_soup_parses_or_raises_config_error(text, dim):
    _check_parse(text, dim)


# Valid expressions with a NumPy reference built alongside the text: the parser must compute the same values.
# Constant subtrees are folded to NumPy scalars as the parser does, so the results agree to the last bit.
_REF_FUNCS = {"sin": np.sin, "cos": np.cos, "tanh": np.tanh, "abs": np.abs, "exp": np.exp, "sqrt": np.sqrt,
              "relu": lambda v: np.maximum(v, 0.0), "floor": np.floor, "arctan": np.arctan}
_REF_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def _node(text, value):
    return (text, value)


def _combine(f, *parts):
    if not any(callable(v) for _, v in parts):
        with np.errstate(all="ignore"):
            return np.float64(f(*(v for _, v in parts)))
    fs = [v if callable(v) else (lambda cols, c=v: c) for _, v in parts]
    return (lambda cols: f(fs[0](cols))) if len(fs) == 1 else (lambda cols: f(fs[0](cols), fs[1](cols)))


def _valid(dim: int):
    names = [_node("x", lambda cols: cols[0]), _node("pi", np.float64(math.pi))]
    if dim == 2:
        names.append(_node("y", lambda cols: cols[1]))
    numbers = st.floats(0, 100, allow_nan=False).map(lambda v: _node(repr(v), np.float64(v)))
    leaves = st.one_of(st.sampled_from(names), numbers)

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(list(_REF_OPS)), inner).map(
                lambda t: _node(f"({t[0][0]}) {t[1]} ({t[2][0]})", _combine(_REF_OPS[t[1]], t[0], t[2]))),
            st.tuples(st.sampled_from(list(_REF_FUNCS)), inner).map(
                lambda t: _node(f"{t[0]}({t[1][0]})", _combine(_REF_FUNCS[t[0]], t[1]))),
            st.tuples(inner, st.integers(0, 4)).map(
                lambda t: _node(f"({t[0][0]})**{t[1]}", _combine(lambda a: np.power(a, np.float64(t[1])), t[0]))),
            inner.map(lambda n: _node(f"-({n[0]})", _combine(np.negative, n))),
        )
    return st.recursive(leaves, extend, max_leaves=12)


@FUZZ
@given(data=st.data(), dim=st.sampled_from([1, 2]))
def test_valid_formulas_compute_what_they_say(data, dim):
    text, ref = data.draw(_valid(dim))
    try:
        fn = parse_formula(text, dim)
    except ac.ConfigError as e:   # only size limits may refuse a well-formed formula
        assert any(p in str(e) for p in ("longer than", "nested too deeply", "more than")), str(e)
        return
    x = np.random.default_rng(1).uniform(0, 2, size=(9, dim))
    with np.errstate(all="ignore"):
        expected = ref(tuple(x.T)) if callable(ref) else ref
        expected = np.broadcast_to(expected, (9,)).astype(np.float64).reshape(-1, 1)
    np.testing.assert_array_equal(fn(x), expected, err_msg=text)


# --- the URL parser ------------------------------------------------------------------------------------

INTERESTING = ["", " ", "0", "-1", "1", "2", "0.5", "0.9", "1.5", "nan", "inf", "-inf", "1e309", "1e-400", "9" * 40,
               "64, 64", "64, x", "64,", ",", "1000, 1000", "none", "relu", "relu, tanh", "swish", "adam", "he", "mse",
               "custom", "data", "wave2d", "linear", "x*y", "sin(x)", "__import__('os').system('id')", "x" * 301,
               "\x00", "\u00b2", "\u0663", "１", "true", "[1]", "{}", "0x10", "1_000", *ac.presets]
KEYS = st.one_of(st.sampled_from([*urlstate.CONTROLS, *urlstate.VIEW_PARAMS, "bogus", "", "__class__", "PRESET"]),
                 st.text(max_size=12))
VALUES = st.one_of(st.sampled_from(INTERESTING), st.text(max_size=30),
                   st.floats().map(repr), st.integers(-10**20, 10**20).map(str))


@FUZZ
@given(params=st.dictionaries(KEYS, VALUES, max_size=8))
def test_any_query_gives_a_valid_setup_and_warnings(params):
    with no_code_execution():
        preset, config, seed, warns = urlstate.params_to_config(params, "wave2d-relu")
    assert preset in ac.presets and isinstance(config, RunConfig)
    assert isinstance(seed, int) and 0 <= seed <= ac.limits.MAX_SEED
    assert all(isinstance(w, str) and len(w) < 2000 for w in warns)
    assert RunConfig.from_mapping(config.to_dict()) == config           # the result is itself valid
    if config.target != "data":
        assert config.batch_size <= urlstate._train_points(config)
    for key in params:
        if key not in (*urlstate.CONTROLS, *urlstate.VIEW_PARAMS):
            assert any(repr(str(key)[:40]) in w for w in warns), (key, warns)
    # what it gives back is a share link that reproduces it without warnings
    again = urlstate.params_to_config(urlstate.config_to_params(preset, config, seed), "wave2d-relu")
    assert again == (preset, config, seed, [])


@FUZZ
@given(field=st.sampled_from(urlstate.setup_names()), value=VALUES, preset=st.sampled_from(list(ac.presets)))
def test_a_single_bad_parameter_is_named_and_the_rest_falls_back(field, value, preset):
    with no_code_execution():
        got_preset, config, seed, warns = urlstate.params_to_config({"preset": preset, field: value}, "wave2d-relu")
    assert got_preset == preset and seed == 0
    if warns:
        assert len(warns) <= 2 and all(field in w for w in warns), warns
        others = [f for f in urlstate.setup_names()
                  if f not in (field, "target", "dim", "formula", "batch_size", "samples")]
        for f in others:
            assert getattr(config, f) == getattr(ac.presets[preset], f), f


# --- RunConfig.from_mapping ------------------------------------------------------------------------------

FIELD_NAMES = [f for f in RunConfig.__dataclass_fields__]
ANY_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**500, 10**500), st.floats(),
              st.text(max_size=30), st.sampled_from(INTERESTING)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)


@FUZZ
@given(data=st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10)), ANY_VALUE, max_size=6),
       base=st.sampled_from([None, *ac.presets.values()]))
def test_from_mapping_gives_a_config_or_config_error(data, base):
    with no_code_execution():
        try:
            config = RunConfig.from_mapping(data, base=base)
        except ac.ConfigError as e:
            assert e.field and str(e).startswith(f"{e.field}:")
            return
    assert RunConfig.from_mapping(config.to_dict()) == config


@FUZZ
@given(data=st.dictionaries(st.sampled_from(FIELD_NAMES), st.one_of(st.sampled_from(INTERESTING), st.text(max_size=20)),
                            min_size=1, max_size=5))
def test_from_mapping_of_text_like_a_json_file(data):
    with no_code_execution():
        try:
            config = RunConfig.from_mapping(data)
        except ac.ConfigError:
            return
    assume(config.target != "data")
    assert RunConfig.from_mapping(config.to_dict()) == config


def test_the_traps_work():
    """The guard itself: an eval or a code compile inside it fails the test."""
    with pytest.raises(AssertionError):
        with no_code_execution():
            builtins.eval("1")
    with pytest.raises(AssertionError):
        with no_code_execution():
            compile("1", "<s>", "eval")
    with no_code_execution():
        ast.parse("x + 1", mode="eval")
