"""Export: the run's history as CSV text, and the button that downloads it."""

from __future__ import annotations

import csv
import functools
import io
import math
from datetime import datetime

import numpy as np

import adjoint_core as ac
from adjoint_core import changes as hp

from .settings import preset_of


def blocks(history: ac.History) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
    """The CSV's columns after "step", block by block: (header names, values (m,) or (m, k), the step of each
    of the m rows).  The header: step, batch_loss, test_loss (per epoch end), mu{N..0}_norm (backward order),
    grad_W{1..N}_norm."""
    n, step = history.n_layers, history.step
    return [(["batch_loss"], history.loss, step),
            (["test_loss"], history.test_loss, history.epoch_step),
            ([f"mu{i}_norm" for i in range(n, -1, -1)], history.mu_norms, step),
            ([f"grad_W{i}_norm" for i in range(1, n + 1)], history.grad_norms, step)]


def _cell(v: float) -> str:
    """A number as the shortest text that reads back exactly; a missing value (NaN) as an empty cell."""
    if math.isnan(v):
        return ""
    return str(int(v)) if v.is_integer() and abs(v) < ac.limits.MAX_COUNT else repr(v)


def _text(v: float | int | str) -> str:
    return v if isinstance(v, str) else _cell(float(v))


def history_csv(history: ac.History, config: ac.RunConfig, changes: list[hp.Change]) -> str:
    """The history as CSV text with a header row: one row per recorded step, and one per epoch end, each with
    the hyperparameters it trained with (``config``'s, as ``changes`` changed them: loss, optimiser, lr, beta,
    weight_decay, batch_size in the last columns).

    Rows are ordered by step; a step where an epoch ended carries its test loss, the other rows leave it empty.
    Old rows that the bounded history averaged carry the mean of their steps (e.g. 2.5) and mean values; an
    epoch end without a step row of its own (after such averaging) has only its test loss.
    """
    parts = blocks(history)
    steps = np.union1d(history.step, history.epoch_step)
    table = [steps[:, None]]
    for names, values, at in parts:
        block = np.full((len(steps), len(names)), np.nan)
        block[np.searchsorted(steps, at)] = values.reshape(len(at), len(names))
        table.append(block)
    hyper = zip(*(hp.in_force(config, changes, name, steps) for name in hp.TUNABLE))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step"] + [name for names, _, _ in parts for name in names] + list(hp.TUNABLE))
    writer.writerows([_cell(v) for v in row] + [_text(v) for v in h]
                     for row, h in zip(np.hstack(table).tolist(), hyper))
    return out.getvalue()


def file_name(config: ac.RunConfig, now: datetime) -> str:
    """The CSV's name after the setup and the time: the preset's name, or the target and activations, then the
    optimiser, e.g. "adjoint-wave2d-relu-momentum-2026-12-06T2310.csv"."""
    setup = preset_of(config) or "-".join([config.target, *(dict.fromkeys(config.activations) or ["linear"])])
    return f"adjoint-{setup}-{config.optimiser}-{now:%Y-%m-%dT%H%M}.csv"


def download_button(run: ac.TrainingRun, where) -> None:
    """"Download history (CSV)" in ``where``; the text is built on the click, from the history at that time."""
    where.download_button("Download history (CSV)", data=functools.partial(_run_csv, run),
                          file_name=file_name(run.config, datetime.now()), mime="text/csv", key="history_download",
                          on_click="ignore", width="stretch", icon=":material/download:",
                          help="Step, batch loss, test loss (at epoch ends), every ‖μᵢ‖ and ‖∂L/∂Wᵢ‖, and the "
                               "learning rate, β, weight decay, batch size, optimiser and loss it trained with: one "
                               "row per recorded step (older steps are averaged in pairs as a run grows).")


def _run_csv(run: ac.TrainingRun) -> str:
    return history_csv(run.history, run.config, run.changes)
