"""Compare runs: "Keep for comparison" pins a copy of the run's history (up to MAX_PINS), and the loss chart and
the ||mu_0|| / ||mu_N|| chart overlay the kept runs (paused and playing), each labelled by what differs from the
others.

Pins live in the session state, not in the run: they survive new runs and preset changes, and hold copies of
the (bounded) history arrays only.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

import adjoint_core as ac
from adjoint_core import changes as hp
from adjoint_core.datafile import DATA_TARGET

from ..plots import figures, theme

ss = st.session_state
KEY = "pins"
MAX_PINS = 4
MAX_FIELDS = 3   # in a label
# One colour per pin, apart from the run's own blues and orange: (chart colour, Streamlit's name for its button)
COLORS = (("#d62728", "red"), ("#2ca02c", "green"), ("#9467bd", "violet"), ("#7f7f7f", "gray"))
_ids = itertools.count()


@dataclass(frozen=True)
class Pin:
    """A kept run: its setup and copies of its history's step, loss and ||mu_0||/||mu_N|| columns, (n,) each."""

    id: int
    color: tuple[str, str]  # one of COLORS
    setup: dict[str, Any]   # RunConfig fields (but its texts) and the seed
    step_count: int
    step: np.ndarray
    loss: np.ndarray
    ratio: np.ndarray


@dataclass(frozen=True)
class Changed:
    """A hyperparameter changed while the run trained: ((0, first value), (step, next value), ...)."""

    path: tuple[tuple[int, Any], ...]


def setup_of(run: ac.TrainingRun) -> dict[str, Any]:
    """What defines the run, for labels: its setup fields (adjoint_core/config.py's table) and the seed; a
    hyperparameter changed during training as ``Changed``; for uploaded data also a digest of the data (two files
    with the same setup are two runs)."""
    fields = {name: getattr(run.config, name) for name in ac.config.setup_fields()}
    for name in dict.fromkeys(c.field for c in run.changes):
        fields[name] = Changed(tuple(hp.trajectory(run.config, run.changes, name)))
    if run.config.target == DATA_TARGET:
        digest = hashlib.blake2b(digest_size=4)
        for a in (run.data.x, run.data.y):
            digest.update(np.ascontiguousarray(a).tobytes())
        fields["data"] = digest.hexdigest()
    return {**fields, "seed": run.seed}


def _short(name: str) -> str:
    """A field's name in labels (the setup table's ``short``; "" shows the value alone: "adam", "relu")."""
    f = ac.config.setup_fields().get(name)
    return name if f is None or f.short is None else f.short


def _value(v: Any) -> str:
    if isinstance(v, Changed):   # "0.0002 → 0.0001 at step 400"
        return " → ".join(_value(x) + (f" at step {step:,}" if step else "") for step, x in v.path)
    if isinstance(v, tuple):
        return "-".join(map(str, v)) or "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _parts(setups: list[dict[str, Any]]) -> list[list[str]]:
    """Each setup's fields whose values are not the same in all of them, as "lr 0.01", "adam"."""
    differ = [k for k in setups[0] if len({_value(s.get(k)) for s in setups}) > 1] if setups else []
    return [[f"{_short(k)} {_value(s.get(k))}".strip() for k in differ] for s in setups]


def _telling(parts: list[list[str]], i: int) -> list[str]:
    """The fewest of run i's parts (chosen greedily) that no other run shares all of, in their usual order."""
    others = [set(p) for j, p in enumerate(parts) if j != i]
    chosen: list[str] = []
    while others:
        best = max(parts[i], key=lambda part: sum(part not in o for o in others), default=None)
        if best is None or all(best in o for o in others):   # the rest have the same setup
            break
        chosen.append(best)
        others = [o for o in others if best in o]
    return sorted(chosen, key=parts[i].index)


def _first_telling(parts: list[list[str]]) -> list[list[str]]:
    """Each run's parts, those that tell it apart from the others first."""
    ordered = []
    for i, mine in enumerate(parts):
        telling = _telling(parts, i)
        ordered.append(telling + [p for p in mine if p not in telling])
    return ordered


def _join(parts: list[str]) -> str:
    """The first MAX_FIELDS parts and how many more: "lr 0.01, adam, hidden 8 +2 more"."""
    more = f" +{len(parts) - MAX_FIELDS} more" if len(parts) > MAX_FIELDS else ""
    return ", ".join(parts[:MAX_FIELDS]) + more


def labels(setups: list[dict[str, Any]]) -> list[str]:
    """Each setup's label: the fields whose values are not the same in all of them, those that tell it apart
    first, e.g. "lr 0.01, adam" ("" when nothing differs); the first MAX_FIELDS of them and how many more."""
    return [_join(p) for p in _first_telling(_parts(setups))]


def pins() -> list[Pin]:
    return ss.setdefault(KEY, [])


def is_kept(run: ac.TrainingRun) -> bool:
    """The run is kept as it is now (same setup, same step)."""
    setup = setup_of(run)
    return any(p.setup == setup and p.step_count == run.step_count for p in pins())


def keep(run: ac.TrainingRun) -> None:
    """Pin a copy of the run's history (ignored when MAX_PINS are kept or the run is kept already)."""
    kept = pins()
    if len(kept) >= MAX_PINS or is_kept(run):
        return
    h = run.history
    color = next(c for c in COLORS if c not in {p.color for p in kept})
    kept.append(Pin(next(_ids), color, setup_of(run), run.step_count, h.step, h.loss, h.mu_ratio))


def remove(pin_id: int) -> None:
    ss[KEY] = [p for p in pins() if p.id != pin_id]


def keep_button(run: ac.TrainingRun, where) -> None:
    """"Keep for comparison" in ``where``; greyed out, its help says why."""
    full, kept = len(pins()) >= MAX_PINS, is_kept(run)
    why = ("Train at least one step first: there is nothing to keep yet." if not run.step_count else
           f"{MAX_PINS} runs kept, the most: remove one (× on its button below) to keep this one." if full else
           "Kept already, as it is now: train on or change the setup to keep another run." if kept else None)
    where.button("Keep for comparison", on_click=keep, args=(run,), key="btn_keep", width="stretch",
                 icon=":material/push_pin:", disabled=why is not None,
                 help=why or "Pin this run's loss and adjoint curves: they stay on the charts when you change the "
                             f"setup and train again (up to {MAX_PINS} runs).")


def names(kept: list[Pin], run: ac.TrainingRun) -> list[list[str]]:
    """Each pin's name as parts, those that tell it apart first: what differs between the kept runs; for one
    kept run, or kept runs alike, what differs from this run; and the step it was kept at when that alone tells
    them apart."""
    setups = [p.setup for p in kept]
    parts = _parts(setups) if len(kept) > 1 else [[]]
    if not any(parts):
        parts = _parts(setups + [setup_of(run)])[:-1]
    clash = len({tuple(p) for p in parts}) < len(parts)   # the same setup kept at different steps
    return _first_telling([p + ([f"step {pin.step_count:,}"] if clash or not p else [])
                           for p, pin in zip(parts, kept)])


def overlays(run: ac.TrainingRun) -> tuple[list[figures.Kept], list[figures.Kept]]:
    """The kept runs' lines for the loss chart, and the ||mu_0|| / ||mu_N|| lines of the run and the kept runs
    (both empty when no run is kept)."""
    kept = pins()
    if not kept:
        return [], []
    named = [_join(p) for p in names(kept, run)]
    h = run.history
    return ([(name, p.step, p.loss, p.color[0]) for name, p in zip(named, kept)],
            [("this run", h.step, h.mu_ratio, theme.TRAIN)]
            + [(name, p.step, p.ratio, p.color[0]) for name, p in zip(named, kept)])


def chip(parts: list[list[str]], i: int) -> str:
    """Pin i's button text: only what tells it apart from the other kept runs (a narrow button cuts the rest);
    a lone pin's whole name."""
    return ", ".join(_telling(parts, i)) if len(parts) > 1 else _join(parts[i])


def view(run: ac.TrainingRun) -> None:
    """The kept runs, each with a button that removes it (nothing when no run is kept); its help has the whole
    name."""
    kept = pins()
    if not kept:
        return
    parts = names(kept, run)
    cols = st.columns([1] + [2] * len(kept) + [2 * (MAX_PINS - len(kept)) + 1], vertical_alignment="center")
    cols[0].markdown("**Kept runs**")
    for i, (col, pin) in enumerate(zip(cols[1:], kept)):
        col.button(f":{pin.color[1]}[●] {chip(parts, i)}", key=f"btn_unpin_{pin.id}", on_click=remove,
                   args=(pin.id,), icon=":material/close:", width="stretch",
                   help=f"Remove {', '.join(parts[i])} from the charts.")
