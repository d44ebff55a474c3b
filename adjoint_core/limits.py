"""Every limit on user input in one place, and one checker per field.

The limits keep a classroom server safe (memory, time) and the UI's widgets in range; the app and the
engine read them from here, never from a second copy.  ``RANGES`` holds the number limits by field name: a
RunConfig number field (config.py's setup table) is checked against its entry, as are the same numbers
where the lower modules take them (an optimiser's lr, a dataset's samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

# network
MAX_HIDDEN_LAYERS = 10
MAX_WIDTH = 1024
MAX_PARAMS = 200_000   # about 11 MB of parameter and optimiser state: 30 classroom sessions fit 1 GB
MAX_HIDDEN_TEXT = 200  # characters of the hidden-sizes text

# data
MAX_SAMPLES = 200_000
MAX_NOISE = 100.0
MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 20_000
MAX_CSV_VALUE = 1e6

# custom formulas
MAX_FORMULA_CHARS = 200
MAX_FORMULA_DEPTH = 40
MAX_FORMULA_NODES = 200
MAX_CONSTANT_EXPONENT = 64

# training
MAX_SEED = 2**32 - 1
MAX_BATCH = 1_000
MAX_EPOCHS = 100_000
MAX_TEXT = 1000        # label, description and a run's 'diverged' message: shown on every redraw
MAX_CHANGES = 1000     # hyperparameter changes a run remembers (adjoint_core/changes.py)

# run files
MAX_RUN_BYTES = 20 * 1024 * 1024
MAX_UNPACKED = 64 * 1024 * 1024  # all arrays together, as declared by the .npz: the largest run the limits
                                 # allow (200,000 parameters with Adam, 200,000 points, replay snapshots) needs ~44 MB
MAX_RUN_MEMBERS = 32             # entries in a run's .npz, far above its arrays (11 and the optimiser's state)
MAX_COUNT = 2**53                # counters stay exact as float64 history positions

# a class (ui/classroom/roster.py)
MAX_CLASS = 60        # students joined to one teacher's room
MAX_NICKNAME = 24     # characters of a student's nickname


@dataclass(frozen=True)
class Range:
    """A closed interval [low, high] of numbers, or of whole numbers."""

    low: float
    high: float
    integer: bool = False

    def text(self) -> str:
        """'low to high', e.g. '0 to 4294967295', '1e-12 to 10'."""
        show = (lambda v: str(int(v)) if math.isfinite(v) else str(v)) if self.integer else (lambda v: f"{v:g}")
        return f"{show(self.low)} to {show(self.high)}"

    def check(self, name: str, value: Any) -> float | int:
        """``value`` (an int or float, not text) as float, or int for whole numbers; else ConfigError."""
        allowed = f"{'a whole number' if self.integer else 'a number'} from {self.text()}"
        try:
            if isinstance(value, (bool, str)):
                raise TypeError
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(name, f"{str(value)[:40]!r} is not a number", allowed) from None
        if not (math.isfinite(v) and self.low <= v <= self.high) or (self.integer and v != int(v)):
            raise ConfigError(name, f"{str(value)[:40]!r} is out of range", allowed)
        return int(v) if self.integer else v


RANGES: dict[str, Range] = {
    "dim": Range(1, 2, integer=True),
    "samples": Range(2, MAX_SAMPLES, integer=True),
    "noise": Range(0, MAX_NOISE),
    "test_fraction": Range(0, 1),
    "init_scale": Range(1e-12, 100),
    "lr": Range(1e-12, 10),
    "beta": Range(0, 0.999),
    "weight_decay": Range(0, 10),
    "batch_size": Range(1, MAX_BATCH, integer=True),
    "epochs": Range(1, MAX_EPOCHS, integer=True),
    "seed": Range(0, MAX_SEED, integer=True),
    "resolution": Range(2, math.inf, integer=True),   # grid points per axis
}


def check(name: str, value: Any) -> float | int:
    """The numeric field ``name`` checked against ``RANGES[name]``; bad values raise ConfigError."""
    return RANGES[name].check(name, value)


def number_from_text(name: str, value: Any) -> Any:
    """Text from a URL or a JSON file ('0.1', ' 64 ') as a float, for ``check``; anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return float(value.strip())
    except ValueError:
        raise ConfigError(name, f"{value[:40]!r} is not a number", RANGES[name].text()) from None


def check_seed(seed: Any) -> int:
    """A seed: a whole number (an int, not text or a float) from 0 to MAX_SEED."""
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise ConfigError("seed", f"{str(seed)[:40]!r} is not a whole number", f"a whole number from 0 to {MAX_SEED}")
    return check("seed", seed)


def check_text(name: str, text: Any) -> str:
    """Text of at most MAX_TEXT characters (a label, a description, a message)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ConfigError(name, f"{str(text)[:40]!r} is not text of at most {MAX_TEXT} characters",
                          f"text of at most {MAX_TEXT} characters")
    return text


def check_nickname(text: Any) -> str:
    """A student's nickname: plain text of at most MAX_NICKNAME characters, its runs of spaces and control
    characters made one space ("" means none chosen)."""
    if not isinstance(text, str):
        raise ConfigError("nickname", f"{str(text)[:40]!r} is not text", "plain text")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > MAX_NICKNAME:
        raise ConfigError("nickname", f"{text[:40]!r} is longer than {MAX_NICKNAME} characters",
                          f"at most {MAX_NICKNAME} characters")
    return text


def check_choice(name: str, value: Any, allowed: Any) -> str:
    """A name from ``allowed`` (a registry or a tuple of names)."""
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(name, f"unknown value {value!r}", ", ".join(allowed))
    return value


def check_batch_size(batch_size: int, n_train: int) -> None:
    """ConfigError when a batch would be larger than the training set."""
    if batch_size > n_train:
        raise ConfigError("batch_size", f"{batch_size} is larger than the {n_train} training points",
                          f"1 to {n_train}")


def listing(items: list[str], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (or ``word`` for "and"): every item, for a message."""
    return ", ".join(items[:-1]) + f" {word} " + items[-1] if len(items) > 1 else "".join(items)


def check_sizes(sizes: Any, name: str = "sizes") -> list[int]:
    """The layer sizes [d_in, hidden..., d_out] as ints: widths, depth and parameter count within the limits.
    ``name``: the field that errors name ("hidden" for the hidden widths a user typed)."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ConfigError(name, f"need at least an input and an output size, got {sizes!r}",
                          "a list of positive whole numbers")
    bad = [s for s in sizes if isinstance(s, bool) or not hasattr(s, "__index__") or not 1 <= s <= MAX_WIDTH]
    if bad:
        listed = listing([str(s) if hasattr(s, "__index__") and not isinstance(s, bool) else repr(s) for s in bad])
        raise ConfigError(name, f"width {listed} is out of range" if len(bad) == 1 else
                          f"widths {listed} are out of range", f"1 to {MAX_WIDTH}")
    out = [int(s) for s in sizes]
    if len(out) - 2 > MAX_HIDDEN_LAYERS:
        raise ConfigError(name, f"{len(out) - 2} hidden layers is too many", f"0 to {MAX_HIDDEN_LAYERS}")
    n_params = sum((i + 1) * o for i, o in zip(out[:-1], out[1:]))
    if n_params > MAX_PARAMS:
        raise ConfigError(name, f"{n_params:,} parameters is too many", f"at most {MAX_PARAMS:,}")
    return out
