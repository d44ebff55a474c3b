"""Bad input raises ac.ConfigError (a ValueError) whose message names the field and what is allowed.

Each case is (callable, field, allowed): the field must appear in str(error) (and as error.field),
and ``allowed`` (a piece of the allowed range/choices) must appear in the message as well.
Layer widths are validated by one function whose field is "sizes"; errors from text entry
(``parse_hidden``, RunConfig.hidden) name either "hidden" or "sizes".
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.config import RunConfig

SMALL = RunConfig(target="linear", samples=40, test_fraction=0.25, hidden=(4,), activation="tanh",
                  init="xavier", init_scale=1.0, optimiser="sgd", lr=0.01, batch_size=8, epochs=1)
SIZES_OR_HIDDEN = ("sizes", "hidden")


def test_config_error_is_a_value_error():
    assert issubclass(ac.ConfigError, ValueError)
    err = ac.ConfigError("lr", "is negative", "0 < lr <= 10")
    assert isinstance(err, ValueError)
    assert err.field == "lr"
    assert str(err) == "lr: is negative (allowed: 0 < lr <= 10)"
    with pytest.raises(ValueError):
        ac.parse_hidden("x")


def check(fn, field, allowed):
    with pytest.raises(ac.ConfigError) as info:
        fn()
    message = str(info.value)
    fields = field if isinstance(field, tuple) else (field,)
    assert info.value.field in fields, f"field {info.value.field!r} not in {fields}: {message}"
    assert any(f in message for f in fields), message
    if allowed is not None:
        assert allowed in message, f"{allowed!r} not in {message!r}"
    return message


# --- layer sizes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, allowed", [
    ("64, x", "64, 64"),
    ("x", "64, 64"),
    ("0", "1 to 1024"),
    ("-3", "64, 64"),
    ("100000", "1 to 1024"),
    ("1.5", "64, 64"),
    ("64,,64", "64, 64"),
    ("", "'none' for no hidden layer"),   # blank is not a silent linear model
    ("  ", "'none' for no hidden layer"),
    ("64 64", "64, 64"),
    (",".join(["2"] * 11), "0 to 10"),
    ("1" * 201, None),
])
def test_parse_hidden_rejects(text, allowed):
    check(lambda: ac.parse_hidden(text), SIZES_OR_HIDDEN, allowed)


@pytest.mark.parametrize("text", ["\u00b2", "64, \u00b3"])
def test_parse_hidden_rejects_superscript_digits(text):
    # "²".isdigit() is True but int("²") fails: parse_hidden accepts ASCII digits only
    check(lambda: ac.parse_hidden(text), SIZES_OR_HIDDEN, None)


@pytest.mark.parametrize("text, problem", [
    ("64,,abc", "hidden: an empty entry and 'abc' are not positive whole numbers"),
    ("x, 64, -3, 1.5", "hidden: 'x', '-3' and '1.5' are not positive whole numbers"),
    ("abc", "hidden: 'abc' is not a positive whole number"),
    ("64, 0, 2000", "hidden: widths 0 and 2000 are out of range (allowed: 1 to 1024)"),
    ("2000", "hidden: width 2000 is out of range"),
])
def test_parse_hidden_names_every_bad_entry(text, problem):
    with pytest.raises(ac.ConfigError) as info:
        ac.parse_hidden(text)
    assert str(info.value).startswith(problem) and info.value.field == "hidden"


def test_hidden_text_reads_back():
    from adjoint_core.config import hidden_text
    for hidden in [(), (64,), (64, 128, 64)]:
        assert ac.parse_hidden(hidden_text(hidden)) == hidden
    assert hidden_text(()) == "none"


@pytest.mark.parametrize("text, expected", [
    ("none", ()), (" None ", ()), ("64", (64,)), (" 64 , 128,64 ", (64, 128, 64)), ("3; 4", (3, 4)),
    (",".join(["2"] * 10), (2,) * 10),
])
def test_parse_hidden_accepts(text, expected):
    assert ac.parse_hidden(text) == expected


@pytest.mark.parametrize("sizes, allowed", [
    ([], "positive whole numbers"),
    ([2], "positive whole numbers"),
    ([2, 0, 1], "1 to 1024"),
    ([2, -1, 1], "1 to 1024"),
    ([2, 2000, 1], "1 to 1024"),
    ([2, "a", 1], "1 to 1024"),
    ([2, True, 1], "1 to 1024"),
    ([2, 3.0, 1], "1 to 1024"),
    ([2, None, 1], "1 to 1024"),
    ("2, 3, 1", "positive whole numbers"),
    ([2] + [3] * 11 + [1], "0 to 10"),
    ([1000, 1000, 1], "200,000"),
    ([1, 1024, 1024, 1], "200,000"),
])
def test_mlp_sizes_rejected(sizes, allowed):
    check(lambda: ac.MLP(sizes), "sizes", allowed)


def test_limits_are_inclusive():
    ac.MLP([1] + [1] * 10 + [1])                       # exactly 10 hidden layers
    net = ac.MLP([1, 1024, 1], init="xavier")          # the widest layer
    assert net.n_params() == 1024 * 3 + 1


# --- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, field, allowed", [
    (lambda: ac.MLP([2, 3, 1], activation="swish"), "activation", "relu"),
    (lambda: ac.MLP([2, 3, 1], activation=("relu", "relu")), "activation", "one per hidden layer"),
    (lambda: ac.MLP([2, 3, 3, 1], activation=("relu", "gelu")), "activation", "sigmoid"),
    (lambda: ac.get_activation("RELU"), "activation", "relu"),
    (lambda: ac.MLP([2, 3, 1], init="glorot"), "init", "xavier"),
    (lambda: ac.MLP([2, 3, 1], init_scale=0.0), "init_scale", "100"),
    (lambda: ac.MLP([2, 3, 1], init_scale=math.nan), "init_scale", "100"),
    (lambda: ac.make_optimiser("rmsprop", 0.1), "optimiser", "adam"),
    (lambda: ac.get_loss("l1"), "loss", "huber"),
    (lambda: ac.HuberLoss(0.0), "huber_delta", "> 0"),
    (lambda: SMALL.replace(activation="swish"), "activation", "leaky_relu"),
    (lambda: SMALL.replace(activation=("relu", "tanh")), "activation", "one per hidden layer"),
    (lambda: SMALL.replace(optimiser="rmsprop"), "optimiser", "nesterov"),
    (lambda: SMALL.replace(optimiser=None), "optimiser", "sgd"),
    (lambda: SMALL.replace(loss="l1"), "loss", "mse"),
    (lambda: SMALL.replace(init="glorot"), "init", "he"),
    (lambda: SMALL.replace(target="sinc"), "target", "wave2d"),
    (lambda: SMALL.replace(target="custom"), "formula", None),
])
def test_unknown_names(fn, field, allowed):
    check(fn, field, allowed)


# --- numbers -------------------------------------------------------------------------------------

BAD_NUMBERS = [
    ("lr", 0.0, "1e-12 to 10"), ("lr", -1e-3, "1e-12 to 10"), ("lr", math.nan, "1e-12 to 10"),
    ("lr", math.inf, "1e-12 to 10"), ("lr", "abc", "1e-12 to 10"), ("lr", 11.0, "1e-12 to 10"),
    ("lr", None, "1e-12 to 10"), ("lr", True, "1e-12 to 10"),
    ("beta", -0.1, "0 to 0.999"), ("beta", 1.0, "0 to 0.999"), ("beta", 0.9995, "0 to 0.999"),
    ("beta", math.nan, "0 to 0.999"),
    ("weight_decay", -1e-4, "0 to 10"), ("weight_decay", math.inf, "0 to 10"),
    ("batch_size", 0, "1 to 1000"), ("batch_size", -5, "1 to 1000"), ("batch_size", 2.5, "1 to 1000"),
    ("epochs", 0, "1 to 100000"), ("samples", 1, "2 to 200000"), ("noise", -1.0, "0 to 100"),
    ("test_fraction", 1.5, "0 to 1"), ("init_scale", 0.0, "100"), ("dim", 3, "1"),
]


@pytest.mark.parametrize("field, value, allowed", BAD_NUMBERS)
def test_bad_numbers_in_run_config(field, value, allowed):
    check(lambda: SMALL.replace(**{field: value}), field, allowed)


@pytest.mark.parametrize("cls", [ac.SGD, ac.Momentum, ac.Nesterov, ac.Adam])
@pytest.mark.parametrize("field, value, allowed", [
    ("lr", 0.0, "1e-12 to 10"), ("lr", -1.0, "1e-12 to 10"), ("lr", math.nan, "1e-12 to 10"),
    ("lr", math.inf, "1e-12 to 10"), ("lr", "abc", "1e-12 to 10"),
    ("beta", -0.01, "0 to 0.999"), ("beta", 1.0, "0 to 0.999"),
    ("weight_decay", -1e-3, "0 to 10"),
])
def test_bad_optimiser_hyperparameters(cls, field, value, allowed):
    check(lambda: cls(**{field: value}), field, allowed)
    opt = cls(lr=0.1)
    check(lambda: setattr(opt, field, value), field, allowed)   # attributes are validated too
    assert opt.lr == 0.1 and opt.beta == 0.9 and opt.weight_decay == 0.0


def test_good_edge_values_are_accepted():
    cfg = SMALL.replace(lr=10.0, beta=0.0, weight_decay=0.0, batch_size=1)
    assert (cfg.lr, cfg.beta, cfg.weight_decay, cfg.batch_size) == (10.0, 0.0, 0.0, 1)
    assert SMALL.replace(beta=0.999).beta == 0.999


# --- runs: batch size against the data, seeds ---------------------------------------------------

@pytest.mark.parametrize("batch_size", [41, 1000])
def test_batch_larger_than_the_data(batch_size):
    run = ac.TrainingRun(SMALL)
    assert run.n_train == 40
    msg = check(lambda: ac.TrainingRun(SMALL.replace(batch_size=batch_size)), "batch_size", "1 to 40")
    assert str(batch_size) in msg
    check(lambda: run.set_hyperparameters(batch_size=batch_size), "batch_size", "1 to 40")
    assert run.config.batch_size == 8
    ac.TrainingRun(SMALL.replace(batch_size=40))      # the whole training set is fine


@pytest.mark.parametrize("seed", [-1, 1.5, 2.0, 2**32, 10**30, True, "3", None])
def test_bad_seeds(seed):
    check(lambda: ac.TrainingRun(SMALL, seed=seed), "seed", "0 to 4294967295")


def test_good_seeds():
    assert ac.TrainingRun(SMALL, seed=2**32 - 1).seed == 2**32 - 1
    assert ac.TrainingRun(SMALL, seed=np.int64(5)).seed == 5


@pytest.mark.parametrize("kwargs, field", [
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
    ({"activation": None}, "activation"), ({"activation": 3}, "activation"),
])
def test_mlp_bad_seed_or_activation_type(kwargs, field):
    # bad input raises ConfigError naming the field, never NumPy's ValueError/TypeError
    check(lambda: ac.MLP([2, 3, 1], **kwargs), field, None)


@pytest.mark.parametrize("change", [{"hidden": (8,)}, {"activation": "relu"}, {"seed": 3}, {"epochs": 2},
                                    {"nonsense": 1}])
def test_set_hyperparameters_rejects_structure_changes(change):
    run = ac.TrainingRun(SMALL)
    field = next(iter(change))
    check(lambda: run.set_hyperparameters(**change), field, "lr, beta, weight_decay")


# --- RunConfig.from_mapping ----------------------------------------------------------------------

@pytest.mark.parametrize("data, field, allowed", [
    ({"foo": 1}, "config", "batch_size"),
    ({"lr": 0.1, "learning_rate": 0.1}, "config", "weight_decay"),
    ({1: 2}, "config", "lr"),
    ({"lr": "nan"}, "lr", "1e-12 to 10"),
    ({"lr": "inf"}, "lr", "1e-12 to 10"),
    ({"lr": "-0.1"}, "lr", "1e-12 to 10"),
    ({"lr": "0x10"}, "lr", "1e-12 to 10"),
    ({"lr": [0.1]}, "lr", "1e-12 to 10"),
    ({"lr": {"v": 1}}, "lr", "1e-12 to 10"),
    ({"beta": "1.5"}, "beta", "0 to 0.999"),
    ({"weight_decay": "-1"}, "weight_decay", "0 to 10"),
    ({"batch_size": "ten"}, "batch_size", "1 to 1000"),
    ({"batch_size": "1.5"}, "batch_size", "1 to 1000"),
    ({"epochs": True}, "epochs", "1 to 100000"),
    ({"samples": "NaN"}, "samples", "2 to 200000"),
    ({"samples": 1e300}, "samples", "2 to 200000"),
    ({"hidden": 64}, "hidden", "64, 64"),
    ({"hidden": None}, "hidden", "64, 64"),
    ({"hidden": "64, x"}, "hidden", "64, 64"),
    ({"hidden": [64, "a"]}, SIZES_OR_HIDDEN, "1 to 1024"),
    ({"hidden": [64, 0]}, SIZES_OR_HIDDEN, "1 to 1024"),
    ({"activation": 5}, "activation", "relu"),
    ({"activation": "relu, swish"}, "activation", "tanh"),
    ({"activation": ["relu", 3]}, "activation", "tanh"),
    ({"activation": "relu, relu, relu"}, "activation", "one per hidden layer"),
    ({"target": 3}, "target", None),
    ({"optimiser": ["adam"]}, "optimiser", None),
    ({"loss": None}, "loss", None),
    ({"init": 1}, "init", None),
    ({"target": "custom", "formula": "__import__('os')", "dim": 1}, "formula", None),
    ({"target": "custom", "formula": "x", "dim": "two"}, "dim", None),
])
def test_from_mapping_rejects(data, field, allowed):
    check(lambda: RunConfig.from_mapping(data), field, allowed)


@pytest.mark.parametrize("data", ["lr=0.1", [("lr", 0.1)], None, 3])
def test_from_mapping_needs_a_mapping(data):
    check(lambda: RunConfig.from_mapping(data), "config", "JSON object")


@pytest.mark.parametrize("field, value", [("samples", 10**400), ("lr", 10**400), ("batch_size", -10**400)],
                         ids=["samples", "lr", "batch_size"])
def test_from_mapping_huge_json_integers(field, value):
    # json.loads gives exact Python ints: float(10**400) overflows, which must come out as ConfigError
    check(lambda: RunConfig.from_mapping({field: value}), field, None)


def test_from_mapping_text_forms_are_accepted():
    cfg = RunConfig.from_mapping({"hidden": "32, 16", "activation": "relu, tanh", "lr": " 1e-3 ",
                                  "batch_size": "25", "target": "linear", "samples": "100"})
    assert cfg.hidden == (32, 16) and cfg.activation == ("relu", "tanh")
    assert cfg.lr == 1e-3 and cfg.batch_size == 25 and cfg.samples == 100
    assert RunConfig.from_mapping(cfg.to_dict()) == cfg


# --- custom formulas -----------------------------------------------------------------------------

@pytest.mark.parametrize("formula", [
    "__import__('os')", "x**99999", "(x", "", "   ", "open('/etc/passwd')", "x.__class__",
    "lambda: 1", "[x]", "x if x else 1", "y", "z + 1", "1/(x - x)", "x" + "+x" * 150, "(" * 100 + "x" + ")" * 100,
])
def test_bad_formulas(formula):
    check(lambda: RunConfig(target="custom", formula=formula, dim=1), "formula", None)


def test_good_formula_is_accepted():
    cfg = RunConfig(target="custom", formula="sin(2*pi*x) + x**2", dim=1, samples=20, hidden=(4,),
                    batch_size=10)
    run = ac.TrainingRun(cfg)
    x = run.data.x
    np.testing.assert_allclose(run.data.y, np.sin(2 * np.pi * x) + x ** 2, rtol=1e-12)
