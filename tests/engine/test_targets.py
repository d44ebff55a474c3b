"""Targets, data sets and the safe formula parser."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adjoint_core.errors import ConfigError
from adjoint_core.formula import parse_formula
from adjoint_core.targets import (
    TARGETS,
    Dataset,
    Target,
    custom_target,
    get_target,
    grid,
    make_dataset,
    train_points,
)

PI = math.pi


def at(*point: float) -> np.ndarray:
    """One input row as an array (1, dim)."""
    return np.array([point], dtype=np.float64)


# --- built-in targets ----------------------------------------------------------------------

def test_builtin_names():
    required = {"linear", "quadratic", "wave2d", "sine", "abs", "step", "gauss2d", "saddle", "ripple"}
    assert required <= set(TARGETS)
    for name, target in TARGETS.items():
        assert target.name == name and target.dim in (1, 2) and target.sampling in ("uniform", "grid")
        assert target.label and target.formula


@pytest.mark.parametrize("name, point, expected", [
    ("linear", (0.5,), 8.0),
    ("linear", (0.0,), 3.0),
    ("quadratic", (0.5,), 2.5),
    ("quadratic", (1.0,), 0.0),
    ("sine", (0.25,), 1.0),
    ("sine", (0.75,), -1.0),
    ("abs", (0.5,), 0.0),
    ("abs", (0.0,), 0.5),
    ("step", (0.5,), 0.0),
    ("step", (0.51,), 1.0),
    ("step", (0.2,), 0.0),
    ("wave2d", (PI, PI), 0.0),
    ("wave2d", (PI + 1.0, PI), 0.0),
    ("wave2d", (PI, PI - 0.5), 2.5),
    ("wave2d", (PI + 0.6, PI + 0.8), 0.0),
    ("wave2d", (PI + 2.0, PI), -20.0),
    ("gauss2d", (PI, PI), 1.0),
    ("gauss2d", (PI + 1.0, PI + 1.0), math.exp(-1.0)),
    ("saddle", (0.5, -0.5), -0.25),
    ("saddle", (-1.0, -1.0), 1.0),
    ("ripple", (PI / 2, 0.0), 1.0),
    ("ripple", (PI / 2, PI), -1.0),
    ("ripple", (0.0, 1.0), 0.0),
])
def test_builtin_values(name, point, expected):
    y = TARGETS[name].fn(at(*point))
    assert y.shape == (1, 1) and y.dtype == np.float64
    assert y[0, 0] == pytest.approx(expected, abs=1e-12)


def test_builtin_domains_and_sampling():
    assert TARGETS["linear"].domain == (0.0, 1.0) and TARGETS["linear"].sampling == "uniform"
    assert TARGETS["wave2d"].domain == pytest.approx((0.0, 2 * PI)) and TARGETS["wave2d"].sampling == "grid"
    assert TARGETS["saddle"].domain == (-1.0, 1.0) and TARGETS["saddle"].dim == 2


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_builtin_formula_text_matches_fn(name):
    """The formula shown to students is valid custom input and computes the same function."""
    target = TARGETS[name]
    x = np.random.default_rng(1).uniform(*target.domain, size=(200, target.dim))
    y = target.fn(x)
    assert y.shape == (200, 1) and y.dtype == np.float64
    np.testing.assert_allclose(parse_formula(target.formula, target.dim)(x), y, rtol=1e-12, atol=1e-12)


def test_get_target():
    assert get_target("wave2d") is TARGETS["wave2d"]
    assert get_target("custom", "x*y", 2).name == "custom"
    with pytest.raises(ConfigError, match=r"unknown target 'nope'.*allowed: .*custom.*wave2d"):
        get_target("nope")
    with pytest.raises(ConfigError, match="formula"):
        get_target("custom")


# --- grids and the notebook's wave data -----------------------------------------------------

def test_wave2d_training_grid_is_the_notebooks():
    data = make_dataset(TARGETS["wave2d"], 10_000, 0.0, 0.0, np.random.default_rng(0))
    t = np.linspace(0, 2 * PI, 100)
    assert data.x.shape == (10_000, 2) and data.y.shape == (10_000, 1)
    np.testing.assert_array_equal(data.x[:100, 0], t)  # first row: x varies, y = 0
    np.testing.assert_array_equal(data.x[:100, 1], 0.0)
    np.testing.assert_array_equal(data.x[100:200, 1], t[1])
    r = np.sqrt((data.x[:, 0] - PI) ** 2 + (data.x[:, 1] - PI) ** 2)
    np.testing.assert_allclose(data.y[:, 0], 10 * (r - r ** 2), atol=1e-12)
    image = data.y.reshape(100, 100)
    np.testing.assert_allclose(image, image.T, atol=1e-12)
    np.testing.assert_allclose(image, image[::-1, ::-1], atol=1e-12)
    assert data.x_test.shape == (0, 2) and data.y_test.shape == (0, 1)


def test_grid_sampling_rounds_to_a_square():
    data = make_dataset(TARGETS["wave2d"], 150, 0.0, 0.1, np.random.default_rng(0))
    assert data.x.shape == (144, 2)  # side = round(sqrt(150)) = 12
    assert data.x_test.shape == (15, 2)  # test size follows `samples`
    with pytest.raises(ConfigError, match="samples"):
        make_dataset(TARGETS["wave2d"], 2, 0.0, 0.0, np.random.default_rng(0))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(TARGETS)), samples=st.integers(4, 3000))
def test_train_points_is_the_number_of_training_points_make_dataset_draws(name, samples):
    # the Train page's share links check a URL's batch size against it without drawing the data
    data = make_dataset(TARGETS[name], samples, 0.0, 0.0, np.random.default_rng(0))
    assert train_points(TARGETS[name], samples) == len(data.x)


def test_grid_order_and_shapes():
    g1 = grid(TARGETS["sine"], 7)
    np.testing.assert_array_equal(g1, np.linspace(0, 1, 7)[:, None])
    g2 = grid(TARGETS["saddle"], 5)
    assert g2.shape == (25, 2)
    rows = g2.reshape(5, 5, 2)
    np.testing.assert_array_equal(rows[2, :, 0], np.linspace(-1, 1, 5))  # x along a row
    np.testing.assert_array_equal(rows[2, :, 1], 0.0)  # y constant along a row
    with pytest.raises(ConfigError, match="resolution"):
        grid(TARGETS["saddle"], 1)


# --- make_dataset ---------------------------------------------------------------------------

def test_linear_reproduces_the_notebooks_draw():
    data = make_dataset(TARGETS["linear"], 100, 0.0, 0.0, np.random.default_rng(42))
    expected_x = np.random.default_rng(42).uniform(0.0, 1.0, (100, 1))
    np.testing.assert_array_equal(data.x, expected_x)
    np.testing.assert_array_equal(data.y, 10 * expected_x + 3)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_dataset_shapes_and_noise_free_targets(name):
    target = TARGETS[name]
    data = make_dataset(target, 400, 0.0, 0.25, np.random.default_rng(3))
    assert isinstance(data, Dataset) and data.target is target
    n = 400
    assert data.x.shape == (n, target.dim) and data.y.shape == (n, 1)
    assert data.x_test.shape == (100, target.dim) and data.y_test.shape == (100, 1)
    for arr in (data.x, data.y, data.x_test, data.y_test):
        assert arr.dtype == np.float64
    lo, hi = target.domain
    assert np.all((data.x >= lo) & (data.x <= hi)) and np.all((data.x_test >= lo) & (data.x_test <= hi))
    np.testing.assert_array_equal(data.y, target.fn(data.x))
    np.testing.assert_array_equal(data.y_test, target.fn(data.x_test))


def test_dataset_is_deterministic_and_noise_is_added():
    make = lambda seed: make_dataset(TARGETS["ripple"], 300, 0.5, 0.2, np.random.default_rng(seed))  # noqa: E731
    a, b, c = make(7), make(7), make(8)
    for field in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x, c.x)
    residual = a.y - TARGETS["ripple"].fn(a.x)
    assert 0.4 < residual.std() < 0.6 and abs(residual.mean()) < 0.1
    assert np.any(a.y_test != TARGETS["ripple"].fn(a.x_test))


def test_test_set_is_drawn_after_the_training_set():
    rng = np.random.default_rng(5)
    x_train = rng.uniform(0, 1, (50, 1))
    x_test = rng.uniform(0, 1, (10, 1))
    data = make_dataset(TARGETS["abs"], 50, 0.0, 0.2, np.random.default_rng(5))
    np.testing.assert_array_equal(data.x, x_train)
    np.testing.assert_array_equal(data.x_test, x_test)


@pytest.mark.parametrize("field, kwargs", [
    ("samples", {"samples": 0}),
    ("samples", {"samples": 1}),
    ("samples", {"samples": -3}),
    ("samples", {"samples": 10**9}),
    ("samples", {"samples": math.nan}),
    ("samples", {"samples": 100.5}),
    ("samples", {"samples": True}),
    ("noise", {"noise": -1.0}),
    ("noise", {"noise": math.inf}),
    ("noise", {"noise": math.nan}),
    ("noise", {"noise": 101}),
    ("noise", {"noise": "0.1"}),
    ("test_fraction", {"test_fraction": 1.5}),
    ("test_fraction", {"test_fraction": math.nan}),
    ("test_fraction", {"test_fraction": -0.1}),
])
def test_dataset_validation(field, kwargs):
    args = {"samples": 100, "noise": 0.1, "test_fraction": 0.2} | kwargs
    with pytest.raises(ConfigError, match=field) as info:
        make_dataset(TARGETS["linear"], rng=np.random.default_rng(0), **args)
    assert info.value.field == field and "allowed" in str(info.value)


def test_dataset_accepts_bounds():
    data = make_dataset(TARGETS["linear"], 2, 100.0, 1.0, np.random.default_rng(0))
    assert data.x.shape == (2, 1) and data.x_test.shape == (2, 1)


# --- parse_formula --------------------------------------------------------------------------

def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


@pytest.mark.parametrize("text, dim, expected", [
    ("-x**2", 1, lambda x, y: -(x ** 2)),
    ("2**-1", 1, lambda x, y: np.full_like(x, 0.5)),
    ("2**3**2", 1, lambda x, y: np.full_like(x, 512.0)),
    ("1 + 2*x - x/4", 1, lambda x, y: 1 + 2 * x - x / 4),
    ("sin(x)*cos(y)", 2, lambda x, y: np.sin(x) * np.cos(y)),
    ("x - y", 2, lambda x, y: x - y),
    ("sigmoid(x)", 1, lambda x, y: _sigmoid(x)),
    ("pi", 1, lambda x, y: np.full_like(x, np.pi)),
    ("e**x", 1, lambda x, y: np.exp(x)),
    ("exp(-x**2/2)/sqrt(2*pi)", 1, lambda x, y: np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)),
    ("relu(x - 0.5) + abs(y)", 2, lambda x, y: np.maximum(x - 0.5, 0) + np.abs(y)),
    ("tanh(x) + sinh(x) - cosh(y)", 2, lambda x, y: np.tanh(x) + np.sinh(x) - np.cosh(y)),
    ("atan(x) + arctan(2*x) + tan(x/3)", 1, lambda x, y: np.arctan(x) + np.arctan(2 * x) + np.tan(x / 3)),
    ("log(1 + x**2) + floor(3*x) + sign(x - 0.1)", 1,
     lambda x, y: np.log(1 + x ** 2) + np.floor(3 * x) + np.sign(x - 0.1)),
    ("+x * -y", 2, lambda x, y: x * -y),
    ("(x + 1)**(y + 1)", 2, lambda x, y: (x + 1) ** (y + 1)),
    ("x**64 + 0x10 + 1_000", 1, lambda x, y: x ** 64 + 16 + 1000),
])
def test_parse_formula_matches_numpy(text, dim, expected):
    x = np.random.default_rng(0).uniform(-1, 1, size=(50, dim))
    got = parse_formula(text, dim)(x)
    assert got.shape == (50, 1) and got.dtype == np.float64
    ref = expected(x[:, 0], x[:, 1] if dim == 2 else None)
    np.testing.assert_allclose(got[:, 0], ref, rtol=1e-12, atol=1e-12)


def test_y_is_the_second_coordinate():
    np.testing.assert_array_equal(parse_formula("y", 2)(np.array([[1.0, 2.0], [3.0, 4.0]])), [[2.0], [4.0]])


def test_constant_formula_broadcasts_and_bad_values_are_silent():
    assert parse_formula("3", 1)(np.zeros((4, 1))).tolist() == [[3.0]] * 4
    with np.errstate(all="raise"):  # evaluation must not raise on log(0), 1/0, sqrt(-1)
        out = parse_formula("log(x) + 1/x + sqrt(-1 - x)", 1)(np.zeros((3, 1)))
    assert out.shape == (3, 1) and not np.isfinite(out).any()


def test_formula_shape_check():
    with pytest.raises(ValueError):
        parse_formula("x", 1)(np.zeros((3, 2)))


ALLOWED = "allowed: numbers"

REJECTED = [
    ("__import__('os')", 1, "double underscores"),
    ("x.__class__", 1, "attribute"),
    ("(lambda: 1)()", 1, "function name can be called"),
    ("lambda: 1", 1, "lambda"),
    ("[x for x in y]", 2, "comprehension"),
    ("x**99999", 1, "exponent 99999"),
    ("x**(-1000)", 1, "exponent -1000"),
    ("x**(10*10)", 1, "exponent 100"),
    ("9**9**9", 1, "exponent"),
    ("'a'", 1, "strings"),
    ("f'{x}'", 1, "strings"),
    ("x if x else y", 2, "if/else"),
    ("x < 1", 1, "comparison"),
    ("x and y", 2, "and/or"),
    ("open('f')", 1, "unknown function 'open'"),
    ("eval('1')", 1, "unknown function 'eval'"),
    ("sin(x, x)", 1, "exactly one argument"),
    ("sin()", 1, "exactly one argument"),
    ("sin(x=1)", 1, "keyword"),
    ("sin(*x)", 1, "unpacking"),
    ("((x)", 1, "could not parse"),
    ("x)", 1, "could not parse the formula at character 2"),
    ("x +", 1, "could not parse"),
    ("", 1, "empty"),
    ("   ", 2, "empty"),
    ("a" * 300, 1, "longer than 200"),
    ("(" * 100 + "x" + ")" * 100, 1, "longer than 200"),
    ("-" * 60 + "x", 1, "nested too deeply"),
    ("sin(" * 41 + "x" + ")" * 41, 1, "longer than 200"),
    ("sin(" * 30 + "-" * 15 + "x" + ")" * 30, 1, "nested too deeply"),
    ("y", 1, "only x"),
    ("1e400", 1, "not finite"),
    ("9" * 400, 1, "longer than 200"),
    ("True", 1, "True/False"),
    ("None", 1, "None"),
    ("1j", 1, "complex"),
    ("x[0]", 1, "indexing"),
    ("{}", 1, "dicts"),
    ("[x]", 1, "lists"),
    ("x, y", 2, "tuples"),
    ("(x := 1)", 1, "assignment"),
    ("__builtins__", 1, "double underscores"),
    ("x@x", 1, "'@'"),
    ("x//2", 1, "'//'"),
    ("x%2", 1, "'%'"),
    ("x^2", 1, "'^'"),
    ("~x", 1, "'~'"),
    ("not x", 1, "'not'"),
    ("z", 1, "unknown name 'z'"),
    ("sin", 1, "is a function"),
    ("x(1)", 1, "unknown function 'x'"),
    ("x\x00", 1, "could not parse"),
    ("import os", 1, "could not parse"),
    ("x; y", 2, "could not parse"),
]


@pytest.mark.parametrize("text, dim, fragment", REJECTED, ids=[repr(r[0])[:40] for r in REJECTED])
def test_rejected_formulas(text, dim, fragment):
    with pytest.raises(ConfigError) as info:
        parse_formula(text, dim)
    message = str(info.value)
    assert info.value.field == "formula" and message.startswith("formula: ")
    assert fragment in message, message


def test_rejection_lists_what_is_allowed():
    with pytest.raises(ConfigError, match="allowed: numbers, x, y, pi, e, .*sin, cos"):
        parse_formula("x.real", 2)
    with pytest.raises(ConfigError, match="allowed: numbers, x, pi"):
        parse_formula("x < 0", 1)


@pytest.mark.parametrize("dim", [0, 3, None, True])
def test_parse_formula_dim(dim):
    with pytest.raises(ConfigError, match="dim"):
        parse_formula("x", dim)


FORMULA_ALPHABET = "xy0123456789.+-*/() episnco_[]'\""


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=80) | st.text(alphabet=FORMULA_ALPHABET, max_size=80), dim=st.sampled_from([1, 2]))
def test_parse_formula_never_crashes(text, dim):
    try:
        fn = parse_formula(text, dim)
    except ConfigError:
        return
    x = np.random.default_rng(0).uniform(-3, 3, size=(5, dim))
    out = fn(x)
    assert out.shape == (5, 1) and out.dtype == np.float64


# --- custom targets -------------------------------------------------------------------------

@pytest.mark.parametrize("text, dim", [("1/0", 1), ("log(-1-x)", 1), ("sqrt(-1 - x - y)", 2), ("0/0 + x", 2)])
def test_custom_target_rejects_non_finite(text, dim):
    with pytest.raises(ConfigError, match="not finite on most of the domain"):
        custom_target(text, dim)


def test_custom_target_accepts_isolated_singularity():
    target = custom_target("1/x", 1)
    assert isinstance(target, Target)
    assert (target.name, target.dim, target.domain, target.sampling) == ("custom", 1, (0.0, 1.0), "uniform")
    assert target.formula == "1/x"
    target2 = custom_target(" sin(x)*y ", 2)
    assert target2.domain == pytest.approx((0.0, 2 * PI)) and target2.formula == "sin(x)*y"


def test_custom_target_rejects_bad_dim():
    with pytest.raises(ConfigError, match="dim"):
        custom_target("x", 3)


def test_dataset_drops_non_finite_rows():
    target = custom_target("sqrt(x - 0.05)", 1)  # nan on [0, 0.05): about 5% of the domain
    data = make_dataset(target, 2000, 0.1, 0.5, np.random.default_rng(0))
    assert 1800 < len(data.x) < 2000 and 900 < len(data.x_test) < 1000
    assert len(data.y) == len(data.x) and len(data.y_test) == len(data.x_test)
    assert np.isfinite(data.y).all() and np.isfinite(data.y_test).all()
    assert data.x.min() >= 0.05 and data.x_test.min() >= 0.05


def test_dataset_with_too_few_finite_points():
    target = custom_target("sqrt(x - 0.05)", 1)
    rng = np.random.default_rng(0)
    while True:  # a seed drawing a training point in the nan region
        seed = int(rng.integers(1 << 30))
        if (np.random.default_rng(seed).uniform(0, 1, 2) < 0.05).sum() >= 1:
            break
    with pytest.raises(ConfigError, match="fewer than 2"):
        make_dataset(target, 2, 0.0, 0.0, np.random.default_rng(seed))
