"""Messages about a run's state, as Markdown text. They suggest only the sidebar controls in view (the open
lesson's hidden ones are left out: session.hidden)."""

from __future__ import annotations

import math

import adjoint_core as ac

from . import session

AGAIN_WITHIN = 10   # steps: a divergence this soon after an earlier one means the run was resumed into trouble


def earlier_divergence(run: ac.TrainingRun, within: int = AGAIN_WITHIN) -> int | None:
    """The step of the divergence before the run's current one, when it was at most ``within`` steps earlier
    (None if the run has not diverged, or not twice in a row)."""
    if not run.diverged or len(run.divergence_steps) < 2:
        return None
    earlier, latest = run.divergence_steps
    return earlier if latest - earlier <= within else None


def divergence_message(run: ac.TrainingRun, hidden: tuple[str, ...] | None = None) -> str:
    """What happened to a diverged run and what to try with the controls in view (``hidden``: the names of the
    others, default the session's); Reset first when it diverged again right after being resumed (its last
    finite state is itself already far off)."""
    hidden = session.hidden() if hidden is None else hidden
    lr, scale = run.config.lr, run.config.init_scale
    earlier = earlier_divergence(run)
    if earlier is None:
        tries = [text for name, text in (("lr", f"a smaller learning rate (now {lr:g})"),
                                         ("init_scale", "a smaller init scale"),
                                         ("optimiser", "the Adam optimiser")) if name not in hidden
                 and not (name == "optimiser" and run.config.optimiser == "adam")]
        then = f"Try {ac.limits.listing(tries, 'or')}, then press Play again." if tries else \
            "Press **Reset** to start over."
        return (f"**Training diverged**: {run.diverged}. Paused, and the run was set back to step "
                f"{run.step_count:,}, its last state with a finite loss. {then}")
    loss = run.history.loss
    last = f" (the batch loss of its last step, {run.step_count:,}, is {loss[-1]:.3g})" \
        if len(loss) and math.isfinite(loss[-1]) else ""
    smaller = [text for name, text in (("init_scale", f"init scale (now {scale:g})"),
                                       ("lr", f"learning rate (now {lr:g})")) if name not in hidden]
    with_smaller = f", with a smaller {ac.limits.listing(smaller, 'or')}" if smaller else ""
    return (f"**Training diverged again**: {run.diverged}, right after the divergence at step {earlier}. The last "
            f"finite state is itself already far off{last}, so going on from it diverges at once. Press **Reset** "
            f"to start this setup over{with_smaller}.")
