"""Run files: a run's Snapshot written as JSON (setup, counters) and .npz (arrays), and read back safely,
never with a pickle; ``pack_run`` / ``unpack_run`` hold the two files in one .zip."""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from .changes import from_json as changes_from_json
from .config import DATA_TARGET, RunConfig
from .errors import ConfigError
from .limits import MAX_COUNT, MAX_RUN_BYTES, MAX_RUN_MEMBERS, MAX_TEXT, MAX_UNPACKED
from .optimisers import OPTIMISERS
from .targets import get_target

Array = np.ndarray
FORMAT = "adjoint-backprop-lab/run-v1"
REQUIRED_META = {"format": str, "config": dict, "seed": int, "step_count": int, "epoch_count": int,
                 "pos": int, "epoch_sum": float, "epoch_steps": int, "optimiser_t": int, "n_slots": int,
                 "rng": dict}
KINDS = {str: "text", dict: "an object", int: "a whole number >= 0", float: "a number"}
REQUIRED_ARRAYS = ("theta", "perm", "history_steps", "history_epochs", "x", "y", "x_test", "y_test")


@dataclass
class Snapshot:
    """The full mutable state of a run (``TrainingRun.snapshot``): scalars (JSON-ready) and arrays."""

    meta: dict[str, Any]
    arrays: dict[str, Array]


def max_slots() -> int:
    """The most optimiser state arrays a run can have: the largest ``n_slots`` in the registry."""
    return max(cls.n_slots for cls in OPTIMISERS.values())


def write_run_files(snap: Snapshot) -> tuple[str, bytes]:
    """A snapshot -> (JSON text of config and counters, .npz bytes of every array)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **snap.arrays)
    return json.dumps({"format": FORMAT, **snap.meta}, indent=1), buf.getvalue()


def _fail(problem: str) -> ConfigError:
    return ConfigError("run file", problem, "the two files saved by 'Download run' (.json and .npz)")


def read_run_files(meta_json: str | bytes, npz: bytes) -> Snapshot:
    """Parse and check the two files of ``write_run_files``; anything malformed raises ConfigError."""
    if len(meta_json) > MAX_RUN_BYTES or len(npz) > MAX_RUN_BYTES:
        raise _fail(f"a file is larger than {MAX_RUN_BYTES // 2**20} MB")
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
            raise _fail(f"field {key!r} is missing or not {KINDS[kind]}")
        if kind is int and value > MAX_COUNT or kind is float and not math.isfinite(value):
            raise _fail(f"field {key!r} is out of range")
    if meta["n_slots"] > max_slots():
        raise _fail(f"field 'n_slots' is {meta['n_slots']}, more than {max_slots()}")
    if "diverged" not in meta or not (meta["diverged"] is None or isinstance(meta["diverged"], str)):
        raise _fail("field 'diverged' is missing or not text")
    if meta["diverged"] is not None and len(meta["diverged"]) > MAX_TEXT:
        raise _fail("field 'diverged' is too long")
    try:   # optional: files saved before runs recorded their hyperparameter changes have none
        changes_from_json(meta.get("changes", []))
    except ConfigError as e:
        raise _fail(f"the hyperparameter changes are not valid: {e}") from None
    steps = meta.get("divergence_steps", [])
    if not isinstance(steps, list) or len(steps) > 2 or not all(
            isinstance(k, int) and not isinstance(k, bool) and 0 <= k <= MAX_COUNT for k in steps):
        raise _fail("field 'divergence_steps' is not a list of at most two step numbers")
    arrays = _read_npz(npz)
    missing = [k for k in REQUIRED_ARRAYS if k not in arrays]
    if missing:
        raise _fail(f"the arrays file lacks {', '.join(missing)}")
    for k, a in arrays.items():
        # NaN is legitimate only in the per-epoch history (test loss without a test set); inf never is
        bad = np.isinf(a) if k == "history_epochs" else ~np.isfinite(a)
        if a.dtype.kind == "f" and bad.any():
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
    _check_data_width(meta["config"], x.shape[1])
    slots = [arrays.get(f"slot{i}") for i in range(meta["n_slots"])]
    if any(s is None or s.shape != arrays["theta"].shape for s in slots):
        raise _fail("the optimiser state does not match the parameters")
    del meta["format"]
    return Snapshot(meta, arrays)


def _read_npz(npz: bytes) -> dict[str, Array]:
    """The arrays of an .npz, checked from each .npy header before any data is read: plain numbers only
    (an object array would need a pickle: refused unread), and no more data than the member holds."""
    arrays: dict[str, Array] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(npz)) as z:
            infos = z.infolist()
            if len(infos) > MAX_RUN_MEMBERS:
                raise _fail(f"the arrays file holds {len(infos)} entries, more than {MAX_RUN_MEMBERS}")
            if sum(i.file_size for i in infos) > MAX_UNPACKED:
                raise _fail("the arrays are too large once unpacked")
            for info in infos:
                name = info.filename
                if not (name.endswith(".npy") and name[:-4].isidentifier()):
                    raise _fail(f"the arrays file holds {name[:40]!r}, which is not a NumPy array")
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise _fail(f"array {name[:-4]!r} has an unsupported .npy version {version}")
                    if dtype.kind not in "fiu" or dtype.itemsize > 8 or dtype.fields is not None:
                        raise _fail(f"array {name[:-4]!r} has type {dtype}, not a plain number type")
                    if math.prod(shape) * dtype.itemsize > info.file_size:
                        raise _fail(f"array {name[:-4]!r} declares more data than the file holds")
                with z.open(info) as f:
                    arrays[name[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
    except ConfigError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError,
            MemoryError, SyntaxError, TypeError):
        raise _fail("the arrays file is not a valid .npz without pickles") from None
    return arrays


def _check_data_width(config: dict[str, Any], width: int) -> None:
    """The data's input width must be the target's dimension (a custom formula in x, y needs 2 columns)."""
    try:
        cfg = RunConfig.from_mapping(config)
        dim = width if cfg.target == DATA_TARGET else get_target(cfg.target, cfg.formula or None, cfg.dim).dim
    except ConfigError as e:
        raise _fail(f"the setup is not valid: {e}") from None
    if width != dim:
        raise _fail(f"the data have {width} input columns but the target {cfg.target!r} takes {dim}")


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
    if len(data) > MAX_RUN_BYTES:
        raise _fail(f"the file is larger than {MAX_RUN_BYTES // 2**20} MB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = {i.filename: i for i in z.infolist()}
            if set(infos) != {META_NAME, ARRAYS_NAME}:
                raise _fail(f"the .zip must hold exactly {META_NAME} and {ARRAYS_NAME}")
            if sum(i.file_size for i in infos.values()) > MAX_RUN_BYTES:
                raise _fail("the files are too large once unpacked")
            return z.read(META_NAME), z.read(ARRAYS_NAME)
    except ConfigError:   # (a ValueError) our own, more precise message
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        raise _fail("the file is not a run saved by this app (.zip)") from None
