"""Compare runs: "Keep for comparison" pins a copy of the run's history (up to MAX_PINS), and the loss chart and
the ||mu_0|| / ||mu_N|| chart overlay the kept runs (paused and playing), each labelled by what differs from the
others.

Pins live in the session state, not in the run: they survive new runs and preset changes, and hold copies of
the (bounded) history arrays only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

import adjoint_core as ac
from adjoint_core.datafile import DATA_TARGET

from . import figures, theme

ss = st.session_state
KEY = "pins"
MAX_PINS = 4
MAX_FIELDS = 3   # in a label
# One colour per pin, apart from the run's own blues and orange: (chart colour, Streamlit's name for its button)
COLORS = (("#d62728", "red"), ("#2ca02c", "green"), ("#9467bd", "violet"), ("#7f7f7f", "gray"))
NOT_COMPARED = ("label", "description")                 # a preset's texts, not its setup
SHORT = {"lr": "lr", "beta": "β", "weight_decay": "wd", "batch_size": "batch", "init_scale": "init scale",
         "test_fraction": "test", "samples": "samples", "noise": "noise", "hidden": "hidden", "seed": "seed",
         "epochs": "epochs", "dim": "dim", "formula": "", "target": "", "optimiser": "", "activation": "",
         "loss": "", "init": "init"}   # "" shows the value alone ("adam", "relu")
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


def setup_of(run: ac.TrainingRun) -> dict[str, Any]:
    """What defines the run, for labels: its RunConfig's fields (but the preset's texts) and the seed; for
    uploaded data also a digest of the data (two files with the same setup are two runs)."""
    fields = {f.name: getattr(run.config, f.name) for f in dataclasses.fields(run.config) if f.name not in NOT_COMPARED}
    if run.config.target == DATA_TARGET:
        digest = hashlib.blake2b(digest_size=4)
        for a in (run.data.x, run.data.y):
            digest.update(np.ascontiguousarray(a).tobytes())
        fields["data"] = digest.hexdigest()
    return {**fields, "seed": run.seed}


def _value(v: Any) -> str:
    if isinstance(v, tuple):
        return "-".join(map(str, v)) or "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def labels(setups: list[dict[str, Any]]) -> list[str]:
    """Each setup's label: the fields whose values are not the same in all of them, e.g. "lr 0.01, adam"
    ("" when nothing differs); the first MAX_FIELDS of them and how many more (another preset differs in many)."""
    differ = [k for k in setups[0] if len({_value(s.get(k)) for s in setups}) > 1] if setups else []
    more = f" +{len(differ) - MAX_FIELDS} more" if len(differ) > MAX_FIELDS else ""
    return [", ".join(f"{SHORT.get(k, k)} {_value(s[k])}".strip() for k in differ[:MAX_FIELDS]) + more
            for s in setups]


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
    """"Keep for comparison" in ``where``."""
    full, kept = len(pins()) >= MAX_PINS, is_kept(run)
    where.button("Keep for comparison", on_click=keep, args=(run,), key="btn_keep", width="stretch",
                 icon=":material/push_pin:", disabled=not run.step_count or full or kept,
                 help=f"Remove a kept run first: at most {MAX_PINS}." if full else "Kept already." if kept else
                 "Pin this run's loss and adjoint curves: they stay on the charts when you change the setup "
                 f"and train again (up to {MAX_PINS} runs).")


def names(kept: list[Pin], run: ac.TrainingRun) -> list[str]:
    """Each pin's name: what differs between the kept runs; for one kept run, or kept runs alike, what differs
    from this run; and the step it was kept at when that alone tells them apart."""
    setups = [p.setup for p in kept]
    named = labels(setups) if len(kept) > 1 else [""]
    if not any(named):
        named = labels(setups + [setup_of(run)])[:-1]
    clash = len(set(named)) < len(named)   # the same setup kept at different steps
    return [", ".join(filter(None, (n, f"step {p.step_count:,}" if clash or not n else "")))
            for n, p in zip(named, kept)]


def overlays(run: ac.TrainingRun) -> tuple[list[figures.Kept], list[figures.Kept]]:
    """The kept runs' lines for the loss chart, and the ||mu_0|| / ||mu_N|| lines of the run and the kept runs
    (both empty when no run is kept)."""
    kept = pins()
    if not kept:
        return [], []
    named = names(kept, run)
    h = run.history
    return ([(name, p.step, p.loss, p.color[0]) for name, p in zip(named, kept)],
            [("this run", h.step, h.mu_ratio, theme.TRAIN)]
            + [(name, p.step, p.ratio, p.color[0]) for name, p in zip(named, kept)])


def view(run: ac.TrainingRun) -> None:
    """The kept runs, each with a button that removes it (nothing when no run is kept)."""
    kept = pins()
    if not kept:
        return
    named = names(kept, run)
    cols = st.columns([1] + [2] * len(kept) + [2 * (MAX_PINS - len(kept)) + 1], vertical_alignment="center")
    cols[0].markdown("**Kept runs**")
    for col, pin, name in zip(cols[1:], kept, named):
        col.button(f":{pin.color[1]}[●] {name}", key=f"btn_unpin_{pin.id}", on_click=remove, args=(pin.id,),
                   icon=":material/close:", width="stretch", help=f"Remove {name} from the charts.")
