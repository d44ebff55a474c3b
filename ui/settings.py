"""The Train page's sidebar: widgets <-> RunConfig, presets, URL sync. Validation is the engine's."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

import adjoint_core as ac
from adjoint_core import limits
from adjoint_core.datafile import DATA_TARGET, parse_csv
from adjoint_core.runfile import pack_run, unpack_run

from . import session, urlstate
from .session import CONTROLS, get_run, message, set_run, trainer

ss = st.session_state
W = "w_"  # prefix of the sidebar widgets' session keys
TARGET_CHOICES = [*ac.TARGETS, "custom", DATA_TARGET]
GRID_125 = sorted({m * 10.0**k for k in range(-7, 2) for m in (1, 2, 5)})


def _label_target(name: str) -> str:
    return {"custom": "Custom formula…", DATA_TARGET: "Your own data (CSV)…"}.get(name) or ac.TARGETS[name].label


def _log_options(*extra: float, zero: bool = False, low: float = 1e-7, high: float = 10.0) -> list[float]:
    """1-2-5 steps from low to high, plus the presets' values (and 0), sorted."""
    values = {v for v in GRID_125 if low <= v <= high} | {v for v in extra if v > 0}
    return ([0.0] if zero else []) + sorted(values)


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:g}"


def widget_values(preset: str | None, config: ac.RunConfig, seed: int) -> dict[str, object]:
    """The sidebar's session-state values for a config."""
    acts = config.activations
    return {W + "preset": preset, W + "target": config.target, W + "formula": config.formula or "sin(3*x)",
            W + "dim": config.dim, W + "samples": config.samples, W + "noise": config.noise,
            W + "test_fraction": config.test_fraction, W + "hidden": ac.config.hidden_text(config.hidden),
            W + "activation": acts[0] if acts else "relu", W + "per_layer": len(set(acts)) > 1,
            **({f"{W}act_{i}": a for i, a in enumerate(acts)} if len(set(acts)) > 1 else {}),
            W + "init": config.init, W + "init_scale": config.init_scale, W + "loss": config.loss,
            W + "optimiser": config.optimiser, W + "lr": config.lr, W + "beta": config.beta,
            W + "weight_decay": config.weight_decay, W + "batch_size": config.batch_size,
            W + "epochs": config.epochs, W + "seed": seed}


def load_into_widgets(preset: str | None, config: ac.RunConfig, seed: int) -> None:
    """Set every sidebar widget from a config (before the widgets are drawn, or in a callback)."""
    for key in [k for k in ss if str(k).startswith(W + "act_")]:
        del ss[key]
    ss.update(widget_values(preset, config, seed))


def _on_preset() -> None:
    name = ss[W + "preset"]
    if name is not None:
        load_into_widgets(name, ac.presets[name], ss.get(W + "seed", 0))


def preset_of(config: ac.RunConfig) -> str | None:
    """The preset with exactly this setup (labels aside), or None."""
    return next((name for name, preset in ac.presets.items() if preset == config), None)


def _on_per_layer() -> None:
    """Per-layer choices start from the global activation."""
    for key in [k for k in ss if str(k).startswith(W + "act_")]:
        del ss[key]


@dataclass
class Choice:
    """What the sidebar asks for: a valid config (or the error), the seed and any uploaded data."""

    config: ac.RunConfig | None
    seed: int
    data: tuple[np.ndarray, np.ndarray] | None
    error: str | None


def init_from_url(run: ac.TrainingRun | None, default_preset: str) -> list[str]:
    """First visit of the session: fill the widgets from the URL (or the current run); returns warnings."""
    if W + "preset" in ss:
        return []
    if run is not None and not st.query_params:
        load_into_widgets(ss.get("preset_name", default_preset), run.config, run.seed)
        return []
    preset, config, seed, warnings = urlstate.params_to_config(st.query_params.to_dict(), default_preset)
    load_into_widgets(preset, config, seed)
    return warnings


def _bounds(field: str) -> tuple[int, int] | tuple[float, float]:
    """(low, high) of a number input: the engine's range for that field."""
    r = limits.RANGES[field]
    return (int(r.low), int(r.high)) if r.integer else (float(r.low), float(r.high))


def _megabytes(n_bytes: int) -> int:
    """A file uploader's limit in MB (Streamlit's unit) for an engine limit in bytes."""
    return -(-n_bytes // 2**20)


def _uploaded_data() -> tuple[tuple[np.ndarray, np.ndarray] | None, str | None]:
    file = st.file_uploader(CONTROLS["data"], type=["csv"], key=W + "upload",
                            max_upload_size=_megabytes(limits.MAX_CSV_BYTES),
                            help="Columns x,target (1D) or x,y,target (2D), with that header row; "
                                 f"at most {limits.MAX_CSV_ROWS:,} rows and {limits.MAX_CSV_BYTES / 1e6:g} MB.")
    if file is None or file.file_id == ss.get("uploaded_id"):
        return ss.get("uploaded"), None
    try:
        data = parse_csv(file.getvalue())
    except ac.ConfigError as e:
        return ss.get("uploaded"), message(e)
    ss["uploaded"], ss["uploaded_id"] = data, file.file_id
    return data, None


def sidebar() -> Choice:
    """Draw the sidebar and return what it asks for. Nothing here trains or validates by itself."""
    sb = st.sidebar
    sb.selectbox("Preset", list(ac.presets), key=W + "preset", persist_state="session", on_change=_on_preset,
                 format_func=lambda n: ac.presets[n].label or n, placeholder="Custom setup (loaded run)",
                 help="Load a ready-made setup: the notebook's four experiments and two gradient-health demos.")
    errors: list[str] = []
    data = None
    with sb.expander("Data", expanded=True):
        target = st.selectbox(CONTROLS["target"], TARGET_CHOICES, key=W + "target", persist_state="session",
                              format_func=_label_target,
                              help="The function the network learns, or your own formula or data.")
        if target == "custom":
            st.radio(CONTROLS["dim"], [1, 2], key=W + "dim", persist_state="session", horizontal=True,
                     format_func=lambda d: "x" if d == 1 else "x, y",
                     help="1D: a formula in x on [0, 1]. 2D: a formula in x and y on [0, 2π]².")
            st.text_input(CONTROLS["formula"], key=W + "formula", persist_state="session",
                          max_chars=limits.MAX_FORMULA_CHARS,
                          help="Numbers, x (and y), pi, e, + - * / **, and sin cos tan exp log sqrt abs tanh "
                               "sinh cosh arctan sigmoid relu sign floor. Example: 10*(x - x**2)")
        elif target == DATA_TARGET:
            data, err = _uploaded_data()
            if err:
                errors.append(err)
            elif data is None:
                errors.append(f"{CONTROLS['data']}: upload a CSV file to train on your own data")
        if target != DATA_TARGET:
            st.number_input(CONTROLS["samples"], *_bounds("samples"), key=W + "samples", persist_state="session",
                            step=100,
                            help="Training points. Grid targets use a side × side grid (10,000 = 100 × 100).")
        st.number_input(CONTROLS["noise"], *_bounds("noise"), key=W + "noise", persist_state="session", step=0.1,
                        format="%.2f",
                        help="Standard deviation of Gaussian noise added to the targets.")
        st.slider(CONTROLS["test_fraction"], *_bounds("test_fraction"), key=W + "test_fraction",
                  persist_state="session", step=0.05,
                  help="Held-out points (as a fraction of the samples) for the test loss.")
    with sb.expander("Network", expanded=True):
        st.text_input(CONTROLS["hidden"], key=W + "hidden", persist_state="session",
                      help="Comma-separated widths, input side first, e.g. '64, 64'. Up to "
                           f"{limits.MAX_HIDDEN_LAYERS} layers of up to {limits.MAX_WIDTH}; "
                           f"'{ac.config.NO_HIDDEN}' for none (a linear model).")
        per_layer = ss[W + "per_layer"]
        st.selectbox(CONTROLS["activation"], list(ac.ACTIVATIONS), key=W + "activation", persist_state="session",
                     disabled=per_layer,
                     help="σ for every hidden layer; the output layer is always the identity.")
        st.toggle("Per-layer activations", key=W + "per_layer", persist_state="session", on_change=_on_per_layer,
                  help="Choose σ separately for each hidden layer.")
        try:
            n_hidden = len(ac.parse_hidden(ss[W + "hidden"]))
        except ac.ConfigError:
            n_hidden = None
        if n_hidden == 0:
            st.caption("No hidden layer: a linear model, ŷ = W x + b, and μ goes from the loss straight to the input.")
        if per_layer:   # one per row: a third of the sidebar cut the names to "re", "ta", "si"
            for i in range(n_hidden or 0):
                ss.setdefault(f"{W}act_{i}", ss[W + "activation"])
                st.selectbox(f"Layer {i + 1}", list(ac.ACTIVATIONS), key=f"{W}act_{i}", persist_state="session",
                             help=f"σ of hidden layer {i + 1}.")
        st.selectbox(CONTROLS["init"], list(ac.network.INIT_SCHEMES), key=W + "init", persist_state="session",
                     help="notebook: hidden W, b ~ N(0, 1), output layer × scale. "
                          "xavier / he: W ~ N(0, 2/(fan_in + fan_out)) / N(0, 2/fan_in) × scale, b = 0.")
        scale_opts = _log_options(*(p.init_scale for p in ac.presets.values()), ss[W + "init_scale"], low=1e-6,
                                  high=limits.RANGES["init_scale"].high)
        st.select_slider(CONTROLS["init_scale"], scale_opts, key=W + "init_scale", persist_state="session",
                         format_func=_fmt,
                         help="Multiplies the initial weights (notebook scheme: the output layer only).")
        st.selectbox(CONTROLS["loss"], list(ac.LOSSES), key=W + "loss", persist_state="session",
                     format_func=lambda n: ac.LOSSES[n].label, help="Its derivative gives μ_N, the first adjoint.")
    with sb.expander("Optimiser", expanded=True):
        st.selectbox(CONTROLS["optimiser"], list(ac.OPTIMISERS), key=W + "optimiser", persist_state="session",
                     format_func=lambda n: ac.OPTIMISERS[n].label,
                     help="Applies to the running model; a new optimiser starts with empty state. Momentum is the "
                          "notebook's exponential moving average: m ← βm + (1−β)g, w ← w − lr·m.")
        st.select_slider(CONTROLS["lr"], _log_options(*(p.lr for p in ac.presets.values()), ss[W + "lr"],
                                                       high=1.0 if ss[W + "lr"] <= 1 else ss[W + "lr"]),
                         key=W + "lr", persist_state="session", format_func=_fmt,
                         help="Step size, on a log scale. Applies immediately.")
        st.select_slider(CONTROLS["beta"], sorted({0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, ss[W + "beta"]}),
                         key=W + "beta", persist_state="session",
                         help="Momentum's averaging factor (Adam: β₁). Ignored by SGD.")
        st.select_slider(CONTROLS["weight_decay"], _log_options(*(p.weight_decay for p in ac.presets.values()),
                                                      ss[W + "weight_decay"], zero=True, low=1e-6, high=1.0),
                         key=W + "weight_decay", persist_state="session", format_func=_fmt,
                         help="L2 penalty added to the gradient: g + wd·w.")
        st.number_input(CONTROLS["batch_size"], *_bounds("batch_size"), key=W + "batch_size",
                        persist_state="session", step=10,
                        help="Samples per step (at most the number of training points).")
    with sb.expander("Run", expanded=True):
        st.number_input(CONTROLS["seed"], *_bounds("seed"), key=W + "seed", persist_state="session", step=1,
                        help="Seeds the data, the initial weights and the batch order: same seed, same run.")
        st.number_input(CONTROLS["epochs"], *_bounds("epochs"), key=W + "epochs", persist_state="session", step=10,
                        help="Play pauses at this epoch, and at every multiple of it when you press Play again "
                             "(100: at 100, 200, 300...).")
    _save_load(sb)
    return _choice(errors, data)


def _save_load(sb) -> None:
    """Download the whole run (setup, weights, optimiser state, history) as a .zip; load one back."""
    with sb.expander("Save / load run"):
        st.download_button("Download run", data=_in_this_session(_run_zip), file_name="adjoint-run.zip",
                           mime="application/zip", key="run_download", on_click="ignore", width="stretch",
                           help="Setup, weights, optimiser state and history, to continue later exactly.")
        st.file_uploader("Load a run", type=["zip"], key="run_upload", on_change=_on_run_upload,
                         max_upload_size=_megabytes(limits.MAX_RUN_BYTES),
                         help="A .zip saved with 'Download run'. Replaces the current run.")
        if ss.get("run_upload_error"):
            st.error(ss.run_upload_error)
        if note := ss.pop("run_upload_note", None):   # once: the next full rerun clears it
            st.success(note, icon=":material/check_circle:")


def _in_this_session(build: Callable[[], bytes]) -> Callable[[], bytes]:
    """``build`` for a deferred download: Streamlit calls it on the click, outside any script run, where
    st.session_state is empty (the file held a fresh run at step 0). The returned callable runs it in a new
    thread that carries this session's script context, so it reads the session's run as it is at the click."""
    ctx = get_script_run_ctx()

    def call() -> bytes:
        with ThreadPoolExecutor(1, initializer=add_script_run_ctx, initargs=(None, ctx)) as pool:
            return pool.submit(build).result()
    return call


def _run_zip() -> bytes:
    t = trainer()
    run = t.copy() if t is not None else get_run(keep_training=True)
    return pack_run(*run.export())


def adopt_run(run: ac.TrainingRun, preset: str | None) -> None:
    """Make a run from elsewhere (a run file, a teacher's room) the session's run, paused, with the sidebar set
    to its setup (``preset``: the preset box's entry, None for a custom setup)."""
    set_run(run)
    ss["run_data"] = None
    if run.config.target == DATA_TARGET:   # its data came with it: keep training on it
        ss["uploaded"] = ss["run_data"] = (run.data.x, run.data.y)
    load_into_widgets(preset, run.config, run.seed)


def _on_run_upload() -> None:
    ss.run_upload_error = None
    file = ss.get("run_upload")
    if file is None:
        return
    try:
        run = ac.TrainingRun.load(*unpack_run(file.getvalue()))
    except ac.ConfigError as e:
        ss.run_upload_error = str(e)
        return
    preset = preset_of(run.config)
    adopt_run(run, preset)
    setup = f"the preset {ac.presets[preset].label}" if preset else "a custom setup"
    ss.run_upload_note = f"Loaded the run: {setup}, step {run.step_count:,}, epoch {run.epoch_count:,}."


def _choice(errors: list[str], data) -> Choice:
    n_hidden_acts = sorted(int(k[len(W) + 4:]) for k in ss if str(k).startswith(W + "act_"))
    fields = {k: ss[W + k] for k in ("target", "samples", "noise", "test_fraction", "hidden", "init",
                                     "init_scale", "loss", "optimiser", "lr", "beta", "weight_decay",
                                     "batch_size", "epochs")}
    if fields["target"] == "custom":
        fields.update(formula=ss[W + "formula"], dim=ss[W + "dim"])
    seed = int(ss[W + "seed"])
    if errors:
        return Choice(None, seed, data, errors[0])
    try:
        hidden = ac.parse_hidden(fields.pop("hidden"))
        acts = [ss[f"{W}act_{i}"] for i in n_hidden_acts[:len(hidden)]] if ss[W + "per_layer"] else []
        activation = tuple(acts) if acts and len(acts) == len(hidden) else ss[W + "activation"]
        config = ac.RunConfig(hidden=hidden, activation=activation, **fields)
    except ac.ConfigError as e:
        return Choice(None, seed, data, message(e))
    return Choice(config, seed, data, None)


def sync_url(config: ac.RunConfig, seed: int, view: dict[str, str] | None = None) -> None:
    """Mirror the setup in the URL so the address bar is a share link, with ``view`` (ui/lessons.py: the open
    lesson, hidden controls); a lesson's link stands for its own setup, so it carries no setup parameters."""
    preset = ss[W + "preset"]   # None for a loaded custom setup: the link then names no preset
    params = urlstate.config_to_params(preset, config, seed)
    if preset is None:
        del params[urlstate.PRESET_PARAM]
    if view and urlstate.LESSON_PARAM in view:
        params = {}
    params.update(view or {})
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def setup_caption(preset_name: str | None, run: ac.TrainingRun) -> str | None:
    """The line under the title: the preset's description while the run is that preset's setup (any epoch
    limit); once it is changed, which controls differ from the preset and what the target is now (None without a
    preset)."""
    preset = ac.presets.get(preset_name)
    if preset is None:
        return None
    config = run.config
    changed = [f.name for f in dataclasses.fields(config)   # the epoch limit is Play's, not the setup's
               if f.name not in ("label", "description", "epochs")
               and getattr(config, f.name) != getattr(preset, f.name)]
    if not changed:
        return f"**{preset.label}**: {preset.description}" if preset.description else None
    t = run.data.target
    target = ("your own data (CSV)" if config.target == DATA_TARGET else t.label if config.target != "custom" else
              f"your formula {t.formula} on [{t.domain[0]:g}, {t.domain[1]:g}]{'²' if t.dim == 2 else ''}")
    return f"**Changed from the preset {preset.label}**: {session.controls(changed)}. The target now: {target}."
