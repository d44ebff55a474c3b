"""The run a browser session holds, shared by every page through ``st.session_state``."""

from __future__ import annotations

import dataclasses

import streamlit as st

import adjoint_core as ac
from adjoint_core.training import TUNABLE

from .worker import Trainer

ss = st.session_state
RUN_KEY = "run"
SPEEDS = {"10 steps/s": 10.0, "100 steps/s": 100.0, "1,000 steps/s": 1000.0, "Demo (~20 s)": None, "Max": None}
DEMO_SECONDS = 20.0   # "Demo (~20 s)": the whole run, up to its epoch limit, in about this long (to talk over)
DEFAULT_PRESET = "wave2d-relu"
LABELS = {"target": "target", "formula": "formula", "dim": "inputs", "samples": "samples", "noise": "noise",
          "test_fraction": "test fraction", "hidden": "hidden sizes", "activation": "activations",
          "init": "initialisation", "init_scale": "init scale", "seed": "seed", "data": "data"}


def get_run(keep_training: bool = False) -> ac.TrainingRun:
    """The session's TrainingRun; a fresh run of the default preset (seed 0) when there is none.

    Pauses Play's background training first (so the caller sees a still run) unless ``keep_training``.
    """
    if not keep_training:
        pause()
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
    speed = ss.get("speed", "Max")
    if speed.startswith("Demo"):
        return max(1.0, run.config.epochs * run.steps_per_epoch / DEMO_SECONDS)
    return SPEEDS[speed]


def play() -> None:
    """Start background training of the session's run up to its epoch limit (or on, once past it)."""
    t = trainer()
    if t is not None and t.alive:
        ss.playing = True
        return
    run = get_run()
    limit = run.config.epochs
    ss.stop_epoch = limit if run.epoch_count < limit else None
    ss.trainer = Trainer(run, ss.stop_epoch, rate(run))
    ss.playing = True


def structure_changes(old: ac.RunConfig, new: ac.RunConfig) -> list[str]:
    """Fields that need a new run (everything but the tunable hyperparameters and the epoch limit)."""
    skip = {*TUNABLE, "epochs", "label", "description"}
    return [f.name for f in dataclasses.fields(ac.RunConfig)
            if f.name not in skip and getattr(old, f.name) != getattr(new, f.name)]


def apply_choice(config: ac.RunConfig, seed: int, data) -> str | None:
    """Bring the session's run in line with the sidebar; returns a notice when a new run was started.

    Structural changes (data, sizes, activations, init, seed) start a new run; lr, beta, weight decay,
    batch size, optimiser and loss change the running model. Raises ConfigError, leaving the run as it was.
    """
    if RUN_KEY not in ss:   # a new session (a share link, a refresh): its first run is the link's setup
        set_run(ac.TrainingRun(config, seed, data=data))
        ss["run_data"] = data
        return None
    run = get_run(keep_training=True)
    changed = structure_changes(run.config, config)
    if run.seed != seed:
        changed.append("seed")
    if data is not None and ss.get("run_data") is not data:
        changed.append("data")
    if changed:
        set_run(ac.TrainingRun(config, seed, data=data))
        ss["run_data"] = data
        return "Started a new run because the " + ", ".join(dict.fromkeys(LABELS.get(c, c) for c in changed)) \
            + " changed."
    tunable = {k: getattr(config, k) for k in TUNABLE if getattr(config, k) != getattr(run.config, k)}
    if tunable or config.epochs != run.config.epochs:   # the run trains on with the new settings
        playing = ss.get("playing", False)
        pause()
        if tunable:
            run.set_hyperparameters(**tunable)
        run.config = run.config.replace(epochs=config.epochs)
        if playing:
            play()
    return None


# --- button callbacks (they run before the page script) -------------------------------------
def step() -> None:
    get_run().step()


def epoch() -> None:
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
