"""Reading exported run files safely: JSON for the setup, .npz for arrays, never a pickle."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from .errors import ConfigError

Array = np.ndarray
MAX_BYTES = 20 * 1024 * 1024
REQUIRED_META = {"format": str, "config": dict, "seed": int, "step_count": int, "epoch_count": int,
                 "pos": int, "epoch_sum": float, "epoch_steps": int, "optimiser_t": int, "n_slots": int,
                 "rng": dict}
REQUIRED_ARRAYS = ("theta", "perm", "history_steps", "history_epochs", "x", "y", "x_test", "y_test")


def _fail(problem: str) -> ConfigError:
    return ConfigError("run file", problem, "the two files saved by 'Download run' (.json and .npz)")


def read_run_files(meta_json: str | bytes, npz: bytes) -> tuple[dict[str, Any], dict[str, Array]]:
    """Parse and check an exported run: (meta dict, arrays dict). Anything malformed raises ConfigError."""
    from .training import FORMAT
    if len(meta_json) > MAX_BYTES or len(npz) > MAX_BYTES:
        raise _fail(f"a file is larger than {MAX_BYTES // 2**20} MB")
    try:
        meta = json.loads(meta_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _fail("the setup file is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(f"the setup file is not a {FORMAT} file")
    for key, kind in REQUIRED_META.items():
        value = meta.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else \
            isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok or (kind is int and value < 0):
            raise _fail(f"field {key!r} is missing or not a {kind.__name__}")
    if "diverged" not in meta or not (meta["diverged"] is None or isinstance(meta["diverged"], str)):
        raise _fail("field 'diverged' is missing or not text")
    try:
        with np.load(io.BytesIO(npz), allow_pickle=False) as f:
            if sum(info.file_size for info in f.zip.infolist()) > 10 * MAX_BYTES:
                raise _fail("the arrays are too large once unpacked")
            arrays = {k: f[k] for k in f.files}
    except ConfigError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, AttributeError):
        raise _fail("the arrays file is not a valid .npz without pickles") from None
    missing = [k for k in REQUIRED_ARRAYS if k not in arrays]
    if missing:
        raise _fail(f"the arrays file lacks {', '.join(missing)}")
    for k, a in arrays.items():
        if a.dtype.kind not in "fiu" or a.dtype.itemsize > 8:
            raise _fail(f"array {k!r} has type {a.dtype}, not a plain number type")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)) and not k.startswith("history"):
            raise _fail(f"array {k!r} contains NaN or infinite values")
    arrays = {k: a.astype(np.int64 if k == "perm" else np.float64) for k, a in arrays.items()}
    x, y, perm = arrays["x"], arrays["y"], arrays["perm"]
    if x.ndim != 2 or y.shape != (len(x), 1) or arrays["x_test"].ndim != 2 \
            or arrays["y_test"].shape != (len(arrays["x_test"]), 1) or x.shape[1] not in (1, 2) \
            or arrays["x_test"].shape[1] != x.shape[1] or arrays["theta"].ndim != 1:
        raise _fail("the data arrays have the wrong shapes")
    if perm.shape != (len(x),) or not np.array_equal(np.sort(perm), np.arange(len(x))):
        raise _fail("the batch order is not a permutation of the training points")
    if meta["pos"] > len(x):
        raise _fail("the position in the epoch is past the end of the data")
    slots = [arrays.get(f"slot{i}") for i in range(meta["n_slots"])]
    if any(s is None or s.shape != arrays["theta"].shape for s in slots):
        raise _fail("the optimiser state does not match the parameters")
    return meta, arrays


META_NAME, ARRAYS_NAME = "run.json", "arrays.npz"


def pack_run(meta_json: str, npz: bytes) -> bytes:
    """The two files of ``TrainingRun.export`` in one .zip for a single download."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(META_NAME, meta_json)
        z.writestr(ARRAYS_NAME, npz)
    return buf.getvalue()


def unpack_run(data: bytes) -> tuple[bytes, bytes]:
    """A .zip from ``pack_run`` -> (meta JSON bytes, npz bytes); anything else raises ConfigError."""
    if len(data) > MAX_BYTES:
        raise _fail(f"the file is larger than {MAX_BYTES // 2**20} MB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = {i.filename: i for i in z.infolist()}
            if set(infos) != {META_NAME, ARRAYS_NAME}:
                raise _fail(f"the .zip must hold exactly {META_NAME} and {ARRAYS_NAME}")
            if sum(i.file_size for i in infos.values()) > MAX_BYTES:
                raise _fail("the files are too large once unpacked")
            return z.read(META_NAME), z.read(ARRAYS_NAME)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        raise _fail("the file is not a run saved by this app (.zip)") from None
