"""The Train page's status and charts: Streamlit elements while paused, the session's live board while playing.

Paused, the status is a row of st.metric and each chart an interactive st.plotly_chart (ui/train/chart_groups.py
draws them).  Playing, a frame every TICK seconds sends a single element, the session's ``Board``
(ui/train/board.py): the status and the charts whose turn it is, drawn in place.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

import adjoint_core as ac

from ..plots import describe
from ..screen.charts import show as show_chart
from ..services.worker import Trainer
from . import board as live_board
from . import messages

ss = st.session_state
TICK = 0.1              # seconds between frames while playing


def status_values(run: ac.TrainingRun, trainer: Trainer | None) -> list[tuple[str, str, str]]:
    """(label, value, help) of the status metrics: step, epoch, train and test loss, speed."""
    h = run.history
    loss, test = h.loss, h.test_loss
    return [("Step", f"{run.step_count:,}", "Training steps (mini-batches) so far."),
            ("Epoch", f"{run.epoch_count:,}", f"{run.steps_per_epoch} steps per epoch"),
            ("Train loss", describe.number(float(np.mean(loss[-run.steps_per_epoch:])) if len(loss) else math.nan),
             "Mean batch loss over the last epoch's worth of steps."),
            ("Test loss", describe.number(float(test[-1]) if len(test) else math.nan),
             "Loss on the held-out points at the end of the last epoch."),
            ("Steps / s", f"{trainer.steps_per_second:,.0f}" if trainer and trainer.steps_per_second else "–",
             "Training speed while playing (training runs in its own process between redraws).")]


def board_status(run: ac.TrainingRun, trainer: Trainer | None) -> list[tuple[str, str]]:
    """The status as the live board shows it: (label, value) pairs."""
    return [(label, value) for label, value, _ in status_values(run, trainer)]


def status_sentence(run: ac.TrainingRun, trainer: Trainer | None, at_limit: bool) -> str:
    """The paused status as one sentence for a screen reader, saying why training stopped (divergence, the epoch
    limit: ``at_limit``): "Paused at step 1,200, epoch 4: train loss 0.0123, test loss 0.0151." """
    values = {label: value for label, value, _ in status_values(run, trainer)}
    why = "Training diverged" if run.diverged else "Stopped at the epoch limit" if at_limit else "Paused"
    return (f"{why} at step {values['Step']}, epoch {values['Epoch']}: train loss {values['Train loss']}, "
            f"test loss {values['Test loss']}.")


def status(run: ac.TrainingRun) -> None:
    """The status as a row of metrics; a divergence warning when there is one."""
    for col, (label, value, help_text) in zip(st.columns(5), status_values(run, ss.get("trainer"))):
        col.metric(label, value, help=help_text)
    if run.diverged:
        st.warning(messages.divergence_message(run), icon=":material/warning:")


def charts(figs: dict[str, dict]) -> None:
    """The charts ``figs`` (chart_groups.all_figures, or as ui/train/compare.py and ui/train/replay.py change them),
    interactive (st.plotly_chart), in the board's rows; and an empty board that makes the browser fetch
    plotly.js while paused, so the first Play does not wait for it."""
    for row in live_board.LAYOUT:
        shown = [(key, weight) for key, weight in row if key in figs]
        cols = st.columns([w for _, w in shown]) if len(shown) > 1 else [st.container() for _ in shown]
        for col, (key, _) in zip(cols, shown):
            show_chart(figs[key], key, col)
    live_board.show(live_board.PRELOAD, key="plotly_preload")


def board(run: ac.TrainingRun) -> None:
    """A live frame: the session's board, drawn from the run as the last sync left it."""
    own = _own_board()
    own.update(run, board_status(run, ss.get("trainer")))
    live_board.show(own.payload(own.drawn), key="live_board")


def held_board() -> None:
    """The session's board as it stands: its element again, with the status alone."""
    live_board.show(_own_board().still(), key="live_board")


def _own_board() -> live_board.Board:
    return ss.setdefault("_board", live_board.Board())


def new_board() -> None:
    """The next live frame starts a new board (after Play, or a full page run while playing)."""
    ss["_board"] = live_board.Board()
