"""Hardening, engine side: a catalogue of bad inputs, pathological formulas, malformed data and run files,
divergence by overflow, resource limits and the memory one session costs.

Every bad input must raise ``ac.ConfigError`` whose message names the field and says what was wrong; the
catalogues here (``BAD_*``) are reused by ``test_hardening_app.py`` to push the same inputs through the app.
"""

from __future__ import annotations

import gc
import io
import json
import math
import re
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import adjoint_core as ac
from adjoint_core.datafile import parse_csv
from adjoint_core.limits import MAX_CSV_BYTES, MAX_CSV_ROWS, MAX_RUN_BYTES, MAX_UNPACKED
from adjoint_core.runfile import pack_run, read_run_files, unpack_run
from safety_helpers import UNPICKLED, Evil, no_code_execution

OPTIMISERS = ["sgd", "momentum", "nesterov", "adam"]
SMALL = ac.RunConfig(target="linear", samples=40, test_fraction=0.25, hidden=(4,), activation="tanh",
                     init="xavier", init_scale=1.0, optimiser="sgd", lr=0.01, batch_size=8, epochs=1)


def expect_config_error(fn, field: str | tuple[str, ...], *phrases: str) -> str:
    """fn() raises ConfigError naming ``field`` (one of them) with every phrase in its message."""
    with pytest.raises(ac.ConfigError) as info:
        fn()
    message = str(info.value)
    fields = field if isinstance(field, tuple) else (field,)
    assert info.value.field in fields, f"field {info.value.field!r}, expected one of {fields}: {message}"
    assert message.startswith(f"{info.value.field}:"), message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    return message


# --- numbers: every numeric field at 0, negative, NaN, inf and huge --------------------------------------

# field -> (lowest allowed, whether 0 is allowed)
NUMERIC_FIELDS = {"dim": (1, False), "samples": (2, False), "noise": (0, True), "test_fraction": (0, True),
                  "init_scale": (1e-12, False), "lr": (1e-12, False), "beta": (0, True),
                  "weight_decay": (0, True), "batch_size": (1, False), "epochs": (1, False)}
BAD_VALUES = {"zero": 0, "negative": -1, "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "huge": 1e300,
              "huge_int": 10**400}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize("field", list(NUMERIC_FIELDS))
def test_numeric_field_rejects_or_allows_zero(field, kind):
    """0 is refused unless the field allows it; negative, NaN, +-inf and huge values are always refused."""
    value = BAD_VALUES[kind]
    if kind == "zero" and NUMERIC_FIELDS[field][1]:
        assert getattr(SMALL.replace(**{field: 0}), field) == 0
        return
    if field == "dim":   # dim is checked together with a custom formula
        fn = lambda: ac.RunConfig(target="custom", formula="x", dim=value)  # noqa: E731
    else:
        fn = lambda: SMALL.replace(**{field: value})  # noqa: E731
    message = expect_config_error(fn, field, "allowed:")
    assert "out of range" in message or "not a number" in message, message


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "1e309", "9" * 400, "", "  ", "1,5", "0x10",
                                  "1e", "one", "1/2", "2**3", "__import__('os')"])
@pytest.mark.parametrize("field", ["samples", "lr", "batch_size", "epochs", "init_scale"])
def test_numeric_text_from_a_mapping(field, text):
    """The same fields as text (URL query, JSON): refused with the field's name, never another exception."""
    expect_config_error(lambda: ac.RunConfig.from_mapping({field: text}, base=SMALL), field, "allowed:")


# --- the catalogue: (callable, field, key phrase) ------------------------------------------------------

SIZES = ("hidden", "sizes")

# Hidden-layer text (the app's "w_hidden" text box): malformed and absurd.
BAD_HIDDEN = [
    ("64, x", SIZES, "not a positive whole number"),
    ("64,,64", SIZES, "not a positive whole number"),
    ("64,", SIZES, "not a positive whole number"),          # truncated
    ("1.5", SIZES, "not a positive whole number"),
    ("-3", SIZES, "not a positive whole number"),
    ("6 4", SIZES, "not a positive whole number"),
    ("0x40", SIZES, "not a positive whole number"),
    ("\u00b2", SIZES, "not a positive whole number"),        # a superscript digit
    ("\u0663", SIZES, "not a positive whole number"),        # an Arabic-Indic digit
    ("64; x", SIZES, "not a positive whole number"),
    ("0", SIZES, "out of range"),
    ("1025", SIZES, "out of range"),
    ("100000", SIZES, "out of range"),
    ("9" * 150, SIZES, "out of range"),
    (", ".join(["8"] * 11), SIZES, "too many"),
    ("1000, 1000", SIZES, "200,000"),                      # absurd: over a million parameters
    ("1024, 1024, 1024", SIZES, "200,000"),
    ("1" * 201, SIZES, "too long"),
]


@pytest.mark.parametrize("text, field, phrase", BAD_HIDDEN, ids=[t[:20] for t, _, _ in BAD_HIDDEN])
def test_bad_hidden_text(text, field, phrase):
    expect_config_error(lambda: ac.RunConfig.from_mapping({"hidden": text}, base=SMALL), field, phrase)


# Custom formulas (the app's "w_formula" text box with target "custom"): unsafe or pathological.
BAD_FORMULAS = [
    ("x.__class__", "attribute access"),
    ("x.real", "attribute access"),
    ("().__class__.__bases__[0].__subclasses__()", "only a listed function name can be called"),
    ("__import__('os').system('touch /tmp/pwned')", "only a listed function name"),
    ("__import__('os')", "double underscores"),
    ("__builtins__", "double underscores"),
    ("(lambda: 1)()", "only a listed function name can be called"),
    ("lambda x: x", "lambda is not allowed"),
    ("[i for i in range(10)]", "comprehensions are not allowed"),
    ("sum(i for i in (1, 2))", "unknown function 'sum'"),
    ("{i: i for i in x}", "comprehensions are not allowed"),
    ("x**10**10", "exponent"),
    ("9**9**9**9", "exponent"),
    ("2**2**2**2**2", "exponent"),
    ("x**(2**70)", "exponent"),
    ("e**710", "exponent"),
    ("x + " * 60 + "x", "longer than 200 characters"),
    ("x" + "+x" * 60, "nested too deeply"),
    ("-" * 100 + "x", "nested too deeply"),
    ("1e400*x", "too large"),
    ("1/0", "not finite on most of the domain"),
    ("1/(x - x)", "not finite on most of the domain"),
    ("log(x - 0.5)", "not finite on most of the domain"),    # NaN on half of the domain
    ("sqrt(x - 0.9)", "not finite on most of the domain"),
    ("exp(1000*x)", "not finite on most of the domain"),      # overflows on most of [0, 1]
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("getattr(x, 'real')", "unknown function 'getattr'"),
    ("np.sin(x)", "only a listed function name can be called"),
    ("sin(x=1)", "keyword arguments"),
    ("sin(x, x)", "exactly one argument"),
    ("sin", "is a function"),
    ("z + 1", "unknown name 'z'"),
    ("y", "'y' is not available"),
    ("x if x else 1", "if/else"),
    ("x < 1", "comparisons"),
    ("x and 1", "and/or"),
    ("(y := 1)", ":="),
    ("'x'", "strings are not allowed"),
    ("f'{x}'", "strings are not allowed"),
    ("1j*x", "complex numbers"),
    ("x[0]", "indexing"),
    ("x // 2", "'//'"),
    ("x @ x", "'@'"),
    ("x; import os", "could not parse"),
    ("import os", "could not parse"),
    ("sin(x", "could not parse"),                        # truncated
    ("x\x00", "could not parse"),
    ("", "needs a formula"),
    ("   ", "the formula is empty"),
]


@pytest.mark.parametrize("formula, phrase", BAD_FORMULAS, ids=[f[:30] for f, _ in BAD_FORMULAS])
def test_bad_formula(formula, phrase):
    field = "formula"
    msg = expect_config_error(lambda: ac.RunConfig(target="custom", formula=formula, dim=1), field, phrase)
    assert len(msg) < 1000


def test_bad_formulas_are_never_executed(tmp_path):
    """Nothing in a formula runs as Python: no file appears, eval/exec are never called, no dangerous module is
    imported, and compile is only ever asked for an AST (never for code)."""
    marker = tmp_path / "pwned"
    ac.RunConfig(target="custom", formula="sin(x)", dim=1)    # warm up lazy imports
    attacks = [f"__import__('pathlib').Path('{marker}').touch()", f"open('{marker}', 'w')",
               f"exec(\"open('{marker}', 'w')\")", "x.__class__.__init__.__globals__",
               "[c for c in ().__class__.__mro__]", f"eval(\"__import__('os').system('touch {marker}')\")"]
    with no_code_execution():
        for formula in attacks:
            with pytest.raises(ac.ConfigError):
                ac.RunConfig(target="custom", formula=formula, dim=1)
        assert ac.RunConfig(target="custom", formula="sin(x) + 1", dim=1).formula == "sin(x) + 1"
    assert not marker.exists()


def test_formula_nan_on_part_of_the_domain_drops_those_points():
    """A formula that is NaN on a small part of the domain is accepted; those points never reach training."""
    cfg = ac.RunConfig(target="custom", formula="sqrt(x - 0.05)", dim=1, samples=400, hidden=(4,), batch_size=10)
    run = ac.TrainingRun(cfg, seed=0)
    assert np.all(np.isfinite(run.data.y)) and np.all(np.isfinite(run.data.y_test))
    assert run.data.x.min() >= 0.05 and 300 < run.n_train < 400
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.run_epochs(2)
    assert run.diverged is None and np.all(np.isfinite(run.history.loss))


# Unknown names.
BAD_NAMES = [
    ({"target": "sinc"}, "target", "unknown target"),
    ({"target": ""}, "target", "unknown target"),
    ({"target": "__class__"}, "target", "unknown target"),
    ({"target": "custom", "formula": ""}, "formula", "needs a formula"),
    ({"activation": "swish"}, "activation", "unknown value"),
    ({"activation": "RELU"}, "activation", "unknown value"),
    ({"hidden": "4, 4", "activation": "relu, gelu"}, "activation", "unknown value"),
    ({"activation": "relu, relu, relu"}, "activation", "3 names for 1 hidden layers"),
    ({"init": "glorot"}, "init", "unknown value"),
    ({"loss": "l1"}, "loss", "unknown value"),
    ({"optimiser": "rmsprop"}, "optimiser", "unknown value"),
    ({"optimiser": "Adam"}, "optimiser", "unknown value"),
    ({"learning_rate": "0.1"}, "config", "unknown field"),
    ({"__class__": "x"}, "config", "unknown field"),
]


@pytest.mark.parametrize("data, field, phrase", BAD_NAMES, ids=[str(d)[:40] for d, _, _ in BAD_NAMES])
def test_unknown_names(data, field, phrase):
    expect_config_error(lambda: ac.RunConfig.from_mapping(data, base=SMALL), field, phrase)


@pytest.mark.parametrize("kwargs, field", [
    ({"target": ["linear"]}, "target"), ({"target": None}, "target"), ({"target": 3}, "target"),
    ({"target": "custom", "formula": 3, "dim": 1}, "formula"),
    ({"target": "custom", "formula": b"x", "dim": 1}, "formula"),
    ({"label": 3}, "label"), ({"description": "x" * 5000}, "description"), ({"hidden": {4}}, "hidden"),
    ({"hidden": (4.5,)}, "sizes"), ({"activation": None}, "activation"), ({"activation": [["relu"]]}, "activation"),
])
def test_wrong_types_in_run_config(kwargs, field):
    """Non-text names and non-numbers raise ConfigError (not TypeError), e.g. from a hand-edited run file."""
    expect_config_error(lambda: SMALL.replace(**kwargs), field)


def test_a_custom_formula_setup_from_text_round_trips():
    """URL / JSON text gives dim as '2': it must be read before the formula in x, y is checked."""
    cfg = ac.RunConfig.from_mapping({"target": "custom", "formula": "sin(x)*y", "dim": "2"})
    assert cfg.dim == 2 and cfg.target == "custom"
    assert ac.RunConfig.from_mapping({k: str(v) for k, v in cfg.to_dict().items()
                                      if k not in ("hidden", "activation")}) == cfg


# --- uploaded CSV data --------------------------------------------------------------------------------

def _rows(n: int, width: int = 2) -> bytes:
    header = "x,target" if width == 2 else "x,y,target"
    return (header + "\n" + "\n".join(",".join(["0.5"] * width) for _ in range(n))).encode()


BAD_CSV = [
    ("empty", b"", "empty"),
    ("binary", bytes(range(256)), "not UTF-8"),
    ("utf16", "x,target\n1,2\n3,4".encode("utf-16"), "not UTF-8"),
    ("pickle", __import__("pickle").dumps([1, 2]), "not UTF-8"),
    ("zip", b"PK\x03\x04" + b"\x00" * 64, "header"),
    ("no header", b"1,2\n3,4\n5,6", "header"),
    ("wrong header", b"a,b\n1,2\n3,4", "header"),
    ("three inputs", b"x,y,z,target\n1,2,3,4\n1,2,3,4", "header"),
    ("header only", b"x,target\n", "0 data rows"),
    ("one row", b"x,target\n1,2", "1 data rows"),
    ("ragged", b"x,target\n1,2\n3", "columns instead of 2"),
    ("text cell", b"x,target\n1,abc\n2,3", "is not a number"),
    ("nan", b"x,target\n1,nan\n2,3", "not a finite number"),
    ("inf", b"x,target\n1,inf\n2,3", "not a finite number"),
    ("huge value", b"x,target\n1,1e300\n2,3", "not a finite number"),
    ("hex", b"x,target\n0x1p3,2\n3,4", "is not a number"),
    ("huge cell", b"x,target\n" + b"1" * 200_000 + b",2\n3,4", "not a readable CSV"),
    ("too many rows", _rows(MAX_CSV_ROWS + 1), f"{MAX_CSV_ROWS + 1} data rows"),
    ("over 1 MB", b"x,target\n" + b"0.5,0.5\n" * (MAX_CSV_BYTES // 8 + 1), "more than 1,000,000"),
]


@pytest.mark.parametrize("raw, phrase", [(r, p) for _, r, p in BAD_CSV], ids=[n for n, _, _ in BAD_CSV])
def test_bad_csv(raw, phrase):
    expect_config_error(lambda: parse_csv(raw), "data", phrase, "allowed:")


GOOD_CSV = [
    ("old Mac line ends", b"x,target\r1,2\r3,4", (2, 1)),
    ("Windows line ends", b"x,target\r\n1,2\r\n3,4\r\n", (2, 1)),
    ("BOM, spaces, capitals, blank line", "\ufeffX , Target\n 1 , 2 \n\n3,4".encode(), (2, 1)),
    ("20,000 rows", _rows(MAX_CSV_ROWS), (MAX_CSV_ROWS, 1)),
    ("2D", _rows(5, 3), (5, 2)),
]


@pytest.mark.parametrize("raw, shape", [(r, s) for _, r, s in GOOD_CSV], ids=[n for n, _, _ in GOOD_CSV])
def test_good_csv_variants(raw, shape):
    x, y = parse_csv(raw)
    assert x.shape == shape and y.shape == (shape[0], 1)


# --- run files ------------------------------------------------------------------------------------------

TINY = ac.RunConfig(target="quadratic", samples=26, test_fraction=0.3, hidden=(5, 3), activation="tanh",
                    init="xavier", init_scale=1.0, optimiser="adam", lr=0.05, batch_size=4, epochs=1)


def tiny_run(steps: int = 13) -> ac.TrainingRun:
    run = ac.TrainingRun(TINY, seed=1)
    run.run_steps(steps)
    return run


def npz_of(arrays: dict[str, np.ndarray], **kw) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays, **kw)
    return buf.getvalue()


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _bad_run_file(case: str) -> bytes:
    """A whole uploaded .zip for one bad-run-file case (the app's "run_upload")."""
    run = tiny_run()
    meta_json, npz = run.export()
    meta = json.loads(meta_json)
    with np.load(io.BytesIO(npz)) as f:
        arrays = {k: f[k] for k in f.files}
    members = {k + ".npy": _npy(a) for k, a in arrays.items()}

    def with_arrays(**changes):
        return pack_run(meta_json, npz_of({**arrays, **changes}))

    def with_meta(**changes):
        return pack_run(json.dumps({**meta, **changes}), npz)

    if case == "not a zip":
        return b"this is not a zip file"
    if case == "empty file":
        return b""
    if case == "json instead of zip":
        return meta_json.encode()
    if case == "npz instead of zip":
        return npz
    if case == "zip with other files":
        return zip_of({"run.json": meta_json.encode(), "arrays.npz": npz, "evil.py": b"import os"})
    if case == "setup not json":
        return pack_run("{not json", npz)
    if case == "setup wrong format":
        return with_meta(format="something-else")
    if case == "arrays not npz":
        return pack_run(meta_json, b"not an npz at all")
    if case == "arrays member not npy":
        return pack_run(meta_json, zip_of({**members, "theta.npy": b"not an npy file"}))
    if case == "extra text member":
        return pack_run(meta_json, zip_of({**members, "notes.txt": b"hello"}))
    if case == "theta wrong shape":
        return with_arrays(theta=arrays["theta"][:-1], slot0=arrays["slot0"][:-1], slot1=arrays["slot1"][:-1])
    if case == "theta 2d":
        return with_arrays(theta=arrays["theta"].reshape(1, -1))
    if case == "x wrong width":
        return with_arrays(x=np.repeat(arrays["x"], 2, axis=1), x_test=np.repeat(arrays["x_test"], 2, axis=1))
    if case == "y wrong shape":
        return with_arrays(y=arrays["y"].ravel())
    if case == "theta nan":
        theta = arrays["theta"].copy()
        theta[3] = np.nan
        return with_arrays(theta=theta)
    if case == "slot inf":
        slot = arrays["slot1"].copy()
        slot[0] = np.inf
        return with_arrays(slot1=slot)
    if case == "x nan":
        x = arrays["x"].copy()
        x[0, 0] = np.nan
        return with_arrays(x=x)
    if case == "history inf":
        h = arrays["history_steps"].copy()
        h[0, 1] = np.inf
        return with_arrays(history_steps=h)
    if case == "epoch_sum nan":
        return pack_run(meta_json.replace(f'"epoch_sum": {json.dumps(meta["epoch_sum"])}', '"epoch_sum": NaN'), npz)
    if case == "pickled theta":
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=True, **{**arrays, "theta": np.array([Evil(), 1.0], dtype=object)})
        return pack_run(meta_json, buf.getvalue())
    if case == "pickled extra array":
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=True, **arrays, extra=np.array([Evil()], dtype=object))
        return pack_run(meta_json, buf.getvalue())
    if case == "huge declared shape":
        return pack_run(meta_json, zip_of({**members, "theta.npy": npy_header((10**12,)) + b"\0" * 64}))
    if case == "too many slots":
        return with_meta(n_slots=10**9)
    if case == "huge counter":
        return with_meta(step_count=10**30)
    if case == "negative seed":
        return with_meta(seed=-1)
    if case == "bad config":
        return with_meta(config={**meta["config"], "lr": -1})
    if case == "config unknown field":
        return with_meta(config={**meta["config"], "evil": "__import__('os')"})
    if case == "arrays unpack over 64 MB":
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays, padding=np.zeros(9 * 2**20))     # 72 MB of zeros, 70 kB packed
        return pack_run(meta_json, buf.getvalue())
    if case == "over 20 MB":
        return b"PK" + b"\0" * (MAX_RUN_BYTES + 1)
    if case == "unpacks over 20 MB":
        return zip_of({"run.json": meta_json.encode(), "arrays.npz": b"\0" * (MAX_RUN_BYTES + 1)}, zipfile.ZIP_DEFLATED)
    raise KeyError(case)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


BAD_RUN_FILES = [
    ("not a zip", "not a run saved by this app"), ("empty file", "not a run saved by this app"),
    ("json instead of zip", "not a run saved by this app"), ("npz instead of zip", "must hold exactly"),
    ("zip with other files", "must hold exactly"), ("setup not json", "not valid JSON"),
    ("setup wrong format", "is not a adjoint-backprop-lab/run-v1 file"), ("arrays not npz", "not a valid .npz"),
    ("arrays member not npy", "not a valid .npz"), ("extra text member", "not a NumPy array"),
    ("theta wrong shape", "parameters do not fit"), ("theta 2d", "wrong shapes"), ("x wrong width", "input columns"),
    ("y wrong shape", "wrong shapes"), ("theta nan", "NaN or infinite"), ("slot inf", "NaN or infinite"),
    ("x nan", "NaN or infinite"), ("history inf", "NaN or infinite"), ("epoch_sum nan", "'epoch_sum' is out of range"),
    ("pickled theta", "not a plain number type"), ("pickled extra array", "not a plain number type"),
    ("huge declared shape", "declares more data than the file holds"), ("too many slots", "n_slots"),
    ("huge counter", "'step_count' is out of range"), ("negative seed", "'seed' is missing or not a whole number"),
    ("bad config", "lr"), ("config unknown field", "unknown field"), ("over 20 MB", "larger than 20 MB"),
    ("unpacks over 20 MB", "too large once unpacked"), ("arrays unpack over 64 MB", "too large once unpacked"),
]


@pytest.mark.parametrize("case, phrase", BAD_RUN_FILES, ids=[c for c, _ in BAD_RUN_FILES])
def test_bad_run_file(case, phrase):
    blob = _bad_run_file(case)
    UNPICKLED.clear()
    t0 = time.perf_counter()
    fields = ("run file", "lr", "seed", "config")
    expect_config_error(lambda: ac.TrainingRun.load(*unpack_run(blob)), fields, phrase)
    assert time.perf_counter() - t0 < 5, "refusing a bad file must be quick"
    assert UNPICKLED == [], "an object array was unpickled"


def test_a_good_run_file_still_loads():
    run = tiny_run()
    loaded = ac.TrainingRun.load(*unpack_run(pack_run(*run.export())))
    np.testing.assert_array_equal(loaded.net.theta, run.net.theta)


def test_nan_in_the_epoch_history_is_allowed():
    """A run without a test set records NaN test losses: such a file must load (NaN only there, never inf)."""
    cfg = TINY.replace(test_fraction=0.0)
    run = ac.TrainingRun(cfg, seed=0)
    run.run_epochs(2)
    assert np.isnan(run.history.test_loss).all()
    loaded = ac.TrainingRun.load(*run.export())
    np.testing.assert_array_equal(loaded.history.epochs.rows(), run.history.epochs.rows())


def test_pickles_are_refused_before_reading():
    """An object array is refused from its .npy header: np.load's pickle path is never reached."""
    UNPICKLED.clear()
    blob = _bad_run_file("pickled theta")
    meta_json, npz = unpack_run(blob)
    with pytest.raises(ac.ConfigError, match="not a plain number type"):
        read_run_files(meta_json, npz)
    assert UNPICKLED == []


# --- divergence: overflow in exp, NaN loss, inf weights -------------------------------------------------

def _overflow_data(y_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Uploaded data with inputs of +-1e6: with He weights x 100 the pre-activations reach about 1e8."""
    x = np.linspace(-1e6, 1e6, 60)[:, None]
    return x, y_scale * (1.5 + np.sin(3e-6 * x))


def _overflow_config(activation: str, optimiser: str) -> ac.RunConfig:
    return ac.RunConfig(target="data", test_fraction=0.2, hidden=(16, 16), activation=activation, init="he",
                        init_scale=100.0, optimiser=optimiser, lr=10.0, beta=0.9, weight_decay=0.0, batch_size=12)


def _slots(run):
    return [s.copy() for group in run.optimiser.state for s in group]


def _assert_slots_equal(slots: list, expected: list) -> None:
    """The optimiser state equals ``expected``; an empty ``expected`` (before the first update) means zeros."""
    if expected:
        assert len(slots) == len(expected)
        for a, b in zip(slots, expected):
            np.testing.assert_array_equal(a, b)
    else:
        assert not any(np.any(a) for a in slots), "undoing the first update must leave the optimiser state at zero"


def _train_and_check_restore(run: ac.TrainingRun, max_steps: int = 400) -> None:
    """Step until divergence with warnings as errors; the kept state is the last one with a finite loss."""
    thetas, slot_states = [run.net.theta.copy()], [_slots(run)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(max_steps):
            run.step()
            if run.diverged:
                break
            thetas.append(run.net.theta.copy())
            slot_states.append(_slots(run))
    assert run.diverged, "expected a divergence"
    k = int(re.search(r"step (\d+)", run.diverged).group(1))   # the step that diverged
    assert np.all(np.isfinite(run.net.theta))
    if "the loss became" in run.diverged or "test loss" in run.diverged:
        expected, expected_slots = thetas[k - 2], slot_states[k - 2]
    else:   # the gradients overflowed: the update was never applied, and the step is not counted
        expected, expected_slots = thetas[k - 1], slot_states[k - 1]
        assert run.step_count == k - 1
    np.testing.assert_array_equal(run.net.theta, expected)
    _assert_slots_equal(_slots(run), expected_slots)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.run_epochs(3) >= 1     # stays usable: a new attempt is allowed and may diverge again


@pytest.mark.parametrize("optimiser", OPTIMISERS)
@pytest.mark.parametrize("activation", ["sigmoid", "softplus"])
def test_overflow_in_exp_is_silent(activation, optimiser):
    """exp overflows inside sigmoid (and softplus's derivative) on pre-activations of -1e8: no NumPy warning
    leaks, nothing becomes NaN, and if the run diverges it keeps its last finite state."""
    run = ac.TrainingRun(_overflow_config(activation, optimiser), seed=0, data=_overflow_data(1.0))
    W, b = run.net.params[0]
    assert np.max(-(run.data.x @ W + b)) > 710, "the setup must make exp(-a) overflow"
    thetas = [run.net.theta.copy()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(200):
            run.step()
            if run.diverged:
                break
            thetas.append(run.net.theta.copy())
            assert np.all(np.isfinite(run.net.theta))
    assert np.all(np.isfinite(run.net.theta)) and np.all(np.isfinite(run.history.loss))
    if run.diverged:
        assert any(np.array_equal(run.net.theta, t) for t in thetas[-2:])


def test_sigmoid_overflow_is_exact_and_silenced_by_the_training_run():
    """exp's overflow in a saturated sigmoid gives exactly 0 with NumPy's overflow warning, which the engine's
    passes leave to their caller; TrainingRun silences it (its step, run_steps, run_for and test_loss)."""
    net = ac.MLP([1, 4, 1], "sigmoid", seed=0)
    net.params[0][0][...] = 1e6   # a = 1e6 x: x = -1 gives exp(-a) = exp(1e6)
    x = np.array([[-1.0], [0.5]])
    with pytest.warns(RuntimeWarning, match="overflow"):
        z = net.forward(x)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(net.layers[0].forward(x)[0][0], 0.0)
        np.testing.assert_array_equal(net.predict(x), z)
    cfg = ac.RunConfig(target="linear", samples=20, hidden=(4,), activation="sigmoid", init="he", init_scale=100.0,
                       lr=1e-3, batch_size=10)
    run = ac.TrainingRun(cfg, seed=0)
    run.net.params[0][0][...] = 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.step()
        run.run_steps(3)
        run.run_for(0.01, max_steps=2)
        run.test_loss()


@pytest.mark.parametrize("optimiser", OPTIMISERS)
@pytest.mark.parametrize("activation, y_scale", [("sigmoid", 1e152), ("softplus", 1e140)])
def test_overflow_divergence_restores_the_last_finite_state(activation, y_scale, optimiser):
    """The same saturated network on targets near 1e150 diverges under every optimiser (Adam's bounded
    steps take longest); the run stops, keeps the state before the bad update and no warning leaks."""
    run = ac.TrainingRun(_overflow_config(activation, optimiser), seed=0, data=_overflow_data(y_scale))
    _train_and_check_restore(run)


@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_exp_target_overflow_is_refused_or_diverges_cleanly(optimiser):
    """A target that overflows to inf on part of the domain: refused when mostly inf, else a clean divergence."""
    with pytest.raises(ac.ConfigError, match="not finite on most of the domain"):
        ac.RunConfig(target="custom", formula="exp(1000*x)", dim=1)
    cfg = ac.RunConfig(target="custom", formula="exp(700*x**8)", dim=1, samples=200, hidden=(8,), init="he",
                       init_scale=1.0, optimiser=optimiser, lr=1.0, batch_size=20)
    run = ac.TrainingRun(cfg, seed=0)
    _train_and_check_restore(run)


# --- resource limits ----------------------------------------------------------------------------------

def test_parameter_count_limit():
    ac.MLP([1, 440, 440, 1], init="xavier")                       # 195,361 parameters: allowed
    expect_config_error(lambda: ac.MLP([2, 1000, 1000, 1]), "sizes", "200,000")
    expect_config_error(lambda: ac.RunConfig(hidden=(1000, 1000)), SIZES, "200,000")


def test_sample_limit():
    assert ac.RunConfig(target="linear", samples=200_000).samples == 200_000
    expect_config_error(lambda: ac.RunConfig(target="linear", samples=200_001), "samples", "200000")
    expect_config_error(lambda: ac.RunConfig.from_mapping({"samples": "1e9"}), "samples", "200000")


def test_upload_size_limits():
    expect_config_error(lambda: parse_csv(b"x" * (MAX_CSV_BYTES + 1)), "data", "more than 1,000,000")
    expect_config_error(lambda: parse_csv(_rows(MAX_CSV_ROWS + 1)), "data", "20001 data rows", "20,000 rows")
    big = b"\0" * (MAX_RUN_BYTES + 1)
    expect_config_error(lambda: unpack_run(big), "run file", "larger than 20 MB")
    expect_config_error(lambda: read_run_files(big, b""), "run file", "larger than 20 MB")
    expect_config_error(lambda: read_run_files("{}", big), "run file", "larger than 20 MB")


@pytest.mark.slow
def test_history_memory_stays_constant_over_300k_steps():
    cfg = ac.RunConfig(target="quadratic", samples=26, test_fraction=0.3, hidden=(2,), activation="tanh",
                       init="xavier", init_scale=1.0, optimiser="sgd", lr=0.05, batch_size=4, epochs=1)
    run = ac.TrainingRun(cfg, seed=0)
    run.step()
    nbytes = (run.history.steps.data.nbytes, run.history.epochs.data.nbytes)
    capacity = len(run.history.steps.data)
    run.run_steps(300_000 - 1)
    assert run.step_count == 300_000 and run.diverged is None
    assert (run.history.steps.data.nbytes, run.history.epochs.data.nbytes) == nbytes
    assert run.history.steps.n <= capacity and run.history.step[-1] == 300_000
    assert len(run.export()[1]) < 2 * 2**20, "the exported history must stay small too"


# --- memory per session ---------------------------------------------------------------------------------

SESSIONS = 30
BUDGET = 1 * 2**30          # the whole app on a small Community Cloud instance
PER_SESSION = BUDGET / SESSIONS


def _traced(fn):
    """(result, bytes still allocated, peak bytes) of fn() under tracemalloc (NumPy reports its buffers)."""
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
        return result, current - base, peak - base
    finally:
        if started:
            tracemalloc.stop()


def test_thirty_sessions_of_every_preset_fit_the_budget():
    """30 sessions' runs of each preset, trained a little and exported once (a download): well under 1 GB.

    Measured: 1.1-2.5 MB per run (wave2d-relu 1.7 MB with its 10,000-point grid; the largest is
    large-init-exploding at 2.5 MB), so 30 sessions of any preset hold under 80 MB."""
    report = {}
    for name, cfg in ac.presets.items():
        def build(cfg=cfg):
            runs = [ac.TrainingRun(cfg, seed=i) for i in range(SESSIONS)]
            for run in runs:
                run.run_steps(20)
            runs[0].export()
            return runs
        runs, resident, peak = _traced(build)
        assert all(r.step_count >= 1 for r in runs)   # (large-init-exploding diverges early for some seeds)
        report[name] = resident / SESSIONS / 2**20
        assert resident < BUDGET / 4, f"{name}: {SESSIONS} sessions hold {resident / 2**20:.0f} MB"
        assert peak < BUDGET / 2, f"{name}: peak {peak / 2**20:.0f} MB"
        del runs
    print("\nMB per session:", {k: round(v, 2) for k, v in report.items()})
    assert max(report.values()) * 2**20 < PER_SESSION


def _worst_allowed_config(batch_size: int) -> ac.RunConfig:
    """The largest setup the limits allow: the widest 2-w-w-1 net under MAX_PARAMS, 200,000 samples, Adam,
    test fraction 1."""
    w = max(w for w in range(1, 1025) if 2 * w + w + w * w + w + w + 1 <= ac.limits.MAX_PARAMS)
    return ac.RunConfig(target="gauss2d", samples=200_000, test_fraction=1.0, hidden=(w, w), activation="relu",
                        init="he", init_scale=1.0, optimiser="adam", lr=1e-3, batch_size=batch_size)


@pytest.mark.slow
def test_worst_allowed_session_fits_its_share_of_the_budget():
    """One session of the worst setup the limits allow must fit 1 GB / 30 sessions, and no single action may
    need more than the whole budget (the limits on parameters and batch size, and the test loss evaluated in
    chunks of TEST_CHUNK floats per layer, TrainingRun.test_loss, keep it there)."""
    cfg = _worst_allowed_config(batch_size=50)
    run, resident, peak = _traced(lambda: ac.TrainingRun(cfg, seed=0))
    assert run.net.n_params() > 0.98 * ac.limits.MAX_PARAMS and run.n_train > 199_000

    def two_steps():
        run.run_steps(2)
    _, step_resident, step_peak = _traced(two_steps)
    _, _, test_peak = _traced(run.test_loss)
    total = resident + step_resident
    print(f"\nworst allowed setup: {run.net.n_params():,} parameters, {run.n_train:,} training points: "
          f"resident {total / 2**20:.0f} MB, step peak {step_peak / 2**20:.0f} MB, "
          f"test-loss peak {test_peak / 2**20:.0f} MB (budget {PER_SESSION / 2**20:.0f} MB per session)")
    assert max(step_peak, test_peak) < BUDGET, "one action of one session needs the whole app's memory"
    assert total < PER_SESSION, f"{total / 2**20:.0f} MB per session > {PER_SESSION / 2**20:.0f} MB"


@pytest.mark.slow
def test_the_largest_allowed_run_can_be_saved_and_loaded_back():
    """'Download run' of a setup the limits allow must give a file 'Load a run' accepts: with Adam, theta and
    its two moment vectors are 3 x 8 bytes per parameter and barely compress, so limits.MAX_PARAMS must stay
    well below what fits limits.MAX_RUN_BYTES."""
    cfg = _worst_allowed_config(batch_size=50)
    run = ac.TrainingRun(cfg, seed=0)
    run.run_steps(2)
    meta_json, npz = run.export()
    with zipfile.ZipFile(io.BytesIO(npz)) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    assert unpacked < MAX_UNPACKED, "the largest legitimate run must fit the unpacked-size cap"
    blob = pack_run(meta_json, npz)
    print(f"\nexport of {run.net.n_params():,} parameters with Adam: {len(blob) / 2**20:.1f} MB "
          f"({unpacked / 2**20:.1f} MB unpacked)")
    loaded = ac.TrainingRun.load(*unpack_run(blob))
    np.testing.assert_array_equal(loaded.net.theta, run.net.theta)
