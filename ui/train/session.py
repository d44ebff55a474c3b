"""The run a browser session holds, shared by every page through ``st.session_state``."""

from __future__ import annotations

import streamlit as st

import adjoint_core as ac
from adjoint_core.config import LIVE, NEW_RUN, PLAY

from ..services import memory
from ..services.worker import Trainer

ss = st.session_state
RUN_KEY = "run"
HIDDEN = "hide"   # the names of the controls the sidebar leaves out (hide=, a lesson; ui/classroom/lessons.py)
STOPPED_KEY = "stopped_at"   # the epoch where Play last stopped at its limit
FULL_KEY = "server_full"     # set when Play was refused for want of memory: the message to show, once
DEMO = "Demo (~20 s)"   # the whole run, up to its epoch limit, in about DEMO_SECONDS (to talk over)
DEMO_SECONDS = 20.0
SPEEDS = {"10 steps/s": 10.0, "100 steps/s": 100.0, "1,000 steps/s": 1000.0, DEMO: None, "Max": None}
SPEED = "speed"         # the Speed control's key (app_pages/train.py), kept across pages
DEFAULT_PRESET = "wave2d-relu"
DATA_LABEL = "CSV file"   # the sidebar's uploader of your own data


def labels() -> dict[str, str]:
    """The sidebar control of each setup field (adjoint_core/config.py's table), of the seed and of the uploaded
    data, by field name: messages name them."""
    return {**{name: f.label for name, f in ac.config.setup_fields().items()}, "seed": ac.config.SEED.label,
            "data": DATA_LABEL}


def get_run() -> ac.TrainingRun:
    """The session's TrainingRun; a fresh run of the default preset (seed 0) when there is none.

    While Play trains it, it has the parameters, counters and history of the last sync only: a caller that
    needs the whole run (or changes it) calls ``pause()`` first.
    """
    if RUN_KEY not in ss:
        ss[RUN_KEY] = ac.TrainingRun(ac.presets[DEFAULT_PRESET], seed=0)
    return ss[RUN_KEY]


def set_run(run: ac.TrainingRun) -> None:
    """Make ``run`` the session's run, paused."""
    pause()
    ss[RUN_KEY] = run


def trainer() -> Trainer | None:
    """Play's background trainer, while there is one."""
    return ss.get("trainer")


def pause() -> None:
    """Stop background training (if any) and mark the session paused."""
    t = ss.pop("trainer", None)
    if t is not None:
        t.stop()
    ss.playing = False


def rate(run: ac.TrainingRun) -> float | None:
    """Play's steps per second at the chosen speed (None: as fast as possible)."""
    speed = ss.get(SPEED, "Max")
    if speed == DEMO:
        return max(1.0, run.config.epochs * run.steps_per_epoch / DEMO_SECONDS)
    return SPEEDS[speed]


def next_stop(run: ac.TrainingRun) -> int:
    """The epoch where Play stops: the next multiple of the epoch limit ("Stop after epoch" 100: 100, 200, ...)."""
    return (run.epoch_count // run.config.epochs + 1) * run.config.epochs


def play() -> None:
    """Start background training of the session's run up to its next stop (``next_stop``); when the server is
    near its memory budget (``memory.room_to_play``), stay paused with the reason in ``FULL_KEY`` instead."""
    t = trainer()
    if t is not None and t.alive:
        ss.playing = True
        return
    pause()   # takes back the run of a trainer that ended by itself
    if not memory.room_to_play():
        ss[FULL_KEY] = memory.full_message()
        return
    run = get_run()
    ss.pop(STOPPED_KEY, None)
    ss.trainer = Trainer(run, next_stop(run), rate(run))
    ss.playing = True


def stopped_at_limit() -> None:
    """Play reached its stop: pause, and remember the epoch for ``limit_note``."""
    pause()
    ss[STOPPED_KEY] = get_run().epoch_count


def limit_note(run: ac.TrainingRun) -> str | None:
    """While the run sits paused where Play stopped at the epoch limit: what happened and what Play does next."""
    if ss.get("playing") or ss.get(STOPPED_KEY) != run.epoch_count:
        return None
    return (f"Stopped at epoch {run.epoch_count:,}: Play stops every {run.config.epochs:,} epochs "
            f'("{labels()["epochs"]}"). Press Play to train on to epoch {next_stop(run):,}, or change the limit '
            "in the sidebar.")


def message(e: ac.ConfigError) -> str:
    """The error's message naming the sidebar control instead of the field ("Hidden layer sizes: ..." for
    "hidden: ...")."""
    text = str(e)
    label = labels().get(e.field)
    return label + text[len(e.field):] if label and text.startswith(e.field + ":") else text


def controls(fields: list[str]) -> str:
    """The fields' controls for a message: '"Target function" and "Formula"'."""
    named = labels()
    return ac.limits.listing([f'"{named.get(f, f)}"' for f in dict.fromkeys(fields)])


def differing(old: ac.RunConfig, new: ac.RunConfig, applies: str) -> dict[str, object]:
    """The setup fields whose change ``applies`` (config.NEW_RUN, LIVE or PLAY) that differ: name -> new value."""
    return {name: getattr(new, name) for name, f in ac.config.setup_fields().items()
            if f.applies == applies and getattr(old, name) != getattr(new, name)}


def structure_changes(old: ac.RunConfig, new: ac.RunConfig) -> list[str]:
    """Fields that need a new run (all but the tunable hyperparameters and the epoch limit)."""
    return list(differing(old, new, NEW_RUN))


def apply_choice(config: ac.RunConfig, seed: int, data) -> str | None:
    """Bring the session's run in line with the sidebar; returns a notice when a new run was started.

    Structural changes (data, sizes, activations, init, seed) start a new run; lr, beta, weight decay,
    batch size, optimiser and loss change the running model. Raises ConfigError, leaving the run as it was.
    """
    if RUN_KEY not in ss:   # a new session (a share link, a refresh): its first run is the link's setup
        set_run(ac.TrainingRun(config, seed, data=data))
        ss["run_data"] = data
        return None
    run = get_run()
    changed = structure_changes(run.config, config)
    if run.seed != seed:
        changed.append("seed")
    if data is not None and ss.get("run_data") is not data:
        changed.append("data")
    if changed:
        set_run(ac.TrainingRun(config, seed, data=data))
        ss["run_data"] = data
        return f"Started a new run because you changed {controls(changed)}."
    tunable, limit = differing(run.config, config, LIVE), differing(run.config, config, PLAY)
    if tunable or limit:   # the run trains on with the new settings
        playing = ss.get("playing", False)
        pause()
        if tunable:
            run.set_hyperparameters(**tunable)
        run.config = run.config.replace(**limit)
        if playing:
            play()
    return None


# --- button callbacks (they run before the page script) -------------------------------------
def step() -> None:
    pause()
    get_run().step()


def epoch() -> None:
    pause()
    get_run().run_epochs(1)


def set_playing(on: bool) -> None:
    """The Play/Pause button: it says which state it asks for, so a click delivered twice is harmless
    (Streamlit can deliver a trigger both with the live view's auto-rerun and with the controls' rerun)."""
    play() if on else pause()


def set_speed() -> None:
    t = trainer()
    if t is not None:
        t.set_rate(rate(t.run))


def reset() -> None:
    run = get_run()
    set_run(ac.TrainingRun(run.config, run.seed, data=ss.get("run_data")))


def hidden() -> tuple[str, ...]:
    """The names of the controls the sidebar leaves out."""
    return ss.get(HIDDEN, ())
