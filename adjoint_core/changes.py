"""Hyperparameter changes on a running model: which tunable field changed after which step, from what to what.

``TrainingRun.set_hyperparameters`` records one ``Change`` per changed field, snapshots and run files keep
them, and ``trajectory`` / ``in_force`` tell which value each part of the history ran with.  A run holds the
last MAX_CHANGES changes (each one is a user's action; far more than a lesson or a class makes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import LIVE, setup_fields
from .errors import ConfigError
from .limits import MAX_CHANGES, MAX_COUNT, check, check_choice

TUNABLE = tuple(name for name, f in setup_fields().items() if f.applies == LIVE)   # what a running model can change
Value = float | int | str


@dataclass(frozen=True)
class Change:
    """``field`` went from ``old`` to ``new`` when the run had taken ``step`` steps (step + 1 on ran with new)."""

    step: int
    field: str
    old: Value
    new: Value


def record(changes: list[Change], step: int, old: Any, new: Any) -> list[Change]:
    """``changes`` and the TUNABLE fields that differ between configs ``old`` and ``new``, changed at ``step``.
    A field changed again at the same step is one change (none once it is back to where it was); nothing is
    recorded at step 0, where no step has trained with the old values."""
    if step == 0:
        return list(changes)
    out = list(changes)
    for name in TUNABLE:
        if getattr(old, name) != getattr(new, name):
            _merge(out, Change(step, name, getattr(old, name), getattr(new, name)))
    return out[-MAX_CHANGES:]


def rewind(changes: list[Change], step: int) -> list[Change]:
    """``changes`` once the run is back at ``step`` steps (a step taken back): a change made after a later step
    counts as made after ``step``, merged as ``record`` merges changes at one step (none survive at step 0)."""
    out = [c for c in changes if c.step <= step]
    for c in changes:
        if c.step > step and step > 0:
            _merge(out, Change(step, c.field, c.old, c.new))
    return out


def _merge(out: list[Change], change: Change) -> None:
    """Add ``change`` to ``out``, folded into a change of the same field at the same step (dropped when the two
    cancel out)."""
    before = change.old
    same_step = next((c for c in reversed(out) if c.field == change.field and c.step == change.step), None)
    if same_step is not None:
        out.remove(same_step)
        before = same_step.old
    if before != change.new:
        out.append(Change(change.step, change.field, before, change.new))


def trajectory(config: Any, changes: list[Change], name: str) -> list[tuple[int, Value]]:
    """(step, value) pairs of field ``name``: its first value at step 0, then each change; ``config`` holds the
    value now (the only one when it never changed)."""
    mine = [c for c in changes if c.field == name]
    if not mine:
        return [(0, getattr(config, name))]
    return [(0, mine[0].old)] + [(c.step, c.new) for c in mine]


def in_force(config: Any, changes: list[Change], name: str, steps: np.ndarray) -> list[Value]:
    """The value of field ``name`` that each of ``steps`` (step numbers from 1, or means of them) trained with."""
    path = trajectory(config, changes, name)
    at = np.searchsorted([s for s, _ in path[1:]], steps, side="left")
    return [path[i][1] for i in at]


def to_json(changes: list[Change]) -> list[list[Any]]:
    """[[step, field, old, new], ...] for a run file."""
    return [[c.step, c.field, c.old, c.new] for c in changes]


def from_json(data: Any) -> list[Change]:
    """``to_json``'s list read back and checked (steps in order, known fields, allowed values); ConfigError
    names the first problem."""
    if not isinstance(data, list) or len(data) > MAX_CHANGES:
        raise ConfigError("changes", f"not a list of at most {MAX_CHANGES} changes", "[[step, field, old, new], ...]")
    out: list[Change] = []
    for entry in data:
        if not (isinstance(entry, list) and len(entry) == 4):
            raise ConfigError("changes", f"{str(entry)[:40]} is not [step, field, old, new]", "a saved run")
        step, name, old, new = entry
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_COUNT \
                or (out and step < out[-1].step):
            raise ConfigError("changes", f"step {str(step)[:20]} is not a step count in order", "a saved run")
        if name not in TUNABLE:
            raise ConfigError("changes", f"{str(name)[:40]!r} is not a hyperparameter", ", ".join(TUNABLE))
        choices = setup_fields()[name].choices   # tunable fields are names from choices, or numbers
        old, new = (check(name, v) if choices is None else check_choice(name, v, choices) for v in (old, new))
        out.append(Change(step, name, old, new))
    return out
