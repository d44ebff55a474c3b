"""Messages about a run's state, as Markdown text (pure: no Streamlit)."""

from __future__ import annotations

import math

import adjoint_core as ac

AGAIN_WITHIN = 10   # steps: a divergence this soon after an earlier one means the run was resumed into trouble


def earlier_divergence(run: ac.TrainingRun, within: int = AGAIN_WITHIN) -> int | None:
    """The latest step, among the ``within`` before the current one, that diverged (None if none did).

    A diverged step leaves no history row, so it is a step number missing from the recorded ones.
    """
    s, steps = run.step_count, run.history.step
    recorded = set(steps[steps >= s - within].astype(int).tolist())
    missing = [k for k in range(max(1, s - within), s) if k not in recorded]
    return missing[-1] if missing else None


def divergence_message(run: ac.TrainingRun) -> str:
    """What happened to a diverged run and what to try; Reset or a smaller init scale first when it diverged
    again right after being resumed (its last finite state is itself already far off)."""
    lr, scale = run.config.lr, run.config.init_scale
    earlier = earlier_divergence(run)
    if earlier is None:
        return (f"**Training diverged**: {run.diverged}. Paused, and the parameters were set back to the last state "
                f"with a finite loss. Try a smaller learning rate (now {lr:g}), a smaller init scale, or the Adam "
                "optimiser, then press Play again.")
    loss = run.history.loss
    last = f" (its loss is {loss[-1]:.3g})" if len(loss) and math.isfinite(loss[-1]) else ""
    return (f"**Training diverged again**: {run.diverged}, right after the divergence at step {earlier}. The last "
            f"finite state is itself already far off{last}, so going on from it diverges at once. Press **Reset** "
            f"to start this setup over, with a smaller init scale (now {scale:g}) or learning rate (now {lr:g}).")
