"""Your own data: a small CSV with columns x,target or x,y,target, parsed and checked without pickles,
and split into training and test sets."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from .errors import ConfigError
from .limits import MAX_CSV_BYTES, MAX_CSV_ROWS, MAX_CSV_VALUE
from .targets import Dataset, Target

Array = np.ndarray
DATA_TARGET = "data"  # target name of a run trained on uploaded data
ALLOWED = (f"a CSV with a header row 'x,target' (1D) or 'x,y,target' (2D), then numbers only, "
           f"2 to {MAX_CSV_ROWS:,} rows")


def parse_csv(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """CSV bytes -> (x (n, 1 or 2), target (n, 1)) float64; anything else raises ConfigError('data', ...)."""
    if len(raw) > MAX_CSV_BYTES:
        raise ConfigError("data", f"the file has {len(raw):,} bytes, more than {MAX_CSV_BYTES:,}", ALLOWED)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("data", "the file is not UTF-8 text", ALLOWED) from None
    try:   # newline="": the csv module itself splits \n, \r\n and old-Mac \r line ends
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except csv.Error as err:   # e.g. a cell over the csv module's 131,072-character limit, a NUL byte
        raise ConfigError("data", f"the file is not a readable CSV ({str(err)[:80]})", ALLOWED) from None
    if not rows:
        raise ConfigError("data", "the file is empty", ALLOWED)
    header = [c.strip().lower() for c in rows[0]]
    if header not in (["x", "target"], ["x", "y", "target"]):
        raise ConfigError("data", f"the header is {','.join(header)!r}", ALLOWED)
    body = rows[1:]
    if not 2 <= len(body) <= MAX_CSV_ROWS:
        raise ConfigError("data", f"{len(body)} data rows", ALLOWED)
    values = np.empty((len(body), len(header)))
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise ConfigError("data", f"row {i + 2} has {len(row)} columns instead of {len(header)}", ALLOWED)
        for j, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                raise ConfigError("data", f"row {i + 2}: {cell.strip()[:20]!r} is not a number", ALLOWED) from None
            if not math.isfinite(v) or abs(v) > MAX_CSV_VALUE:
                raise ConfigError("data", f"row {i + 2}: {cell.strip()[:20]!r} is not a finite number up to "
                                  f"{MAX_CSV_VALUE:g}", ALLOWED)
            values[i, j] = v
    return values[:, :-1].copy(), values[:, -1:].copy()


def data_target(x: Array) -> Target:
    """The Target that stands for uploaded inputs x (n, d): no formula (NaN), domain spanning the data."""
    lo, hi = float(x.min()), float(x.max())
    return Target(name=DATA_TARGET, label="Your data", dim=x.shape[1], domain=(lo, hi if hi > lo else lo + 1.0),
                  fn=lambda x: np.full((len(x), 1), np.nan), sampling="uniform", formula="(uploaded)")


def split_data(x: Array, y: Array, test_fraction: float, rng: np.random.Generator) -> Dataset:
    """Uploaded x (n, d), y (n, 1) -> a Dataset with a random ``test_fraction`` of the rows held out."""
    perm = rng.permutation(len(x))
    m = int(round(test_fraction * len(x)))
    m = min(m, len(x) - 2)
    test, train = perm[:m], perm[m:]
    return Dataset(x=x[train], y=y[train], x_test=x[test], y_test=y[test], target=data_target(x))
