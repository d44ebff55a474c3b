"""The Train page's sidebar: widgets <-> RunConfig, presets, URL sync. Validation is the engine's.

The controls come from the setup table (adjoint_core/config.py): each field's section, label, help and
``Widget`` spec; ``WIDGETS`` draws each widget kind with Streamlit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

import adjoint_core as ac
import codegen
from adjoint_core import limits
from adjoint_core.config import CUSTOM, PLAY, SEED, SetupField
from adjoint_core.datafile import DATA_TARGET, parse_csv
from adjoint_core.runfile import pack_run, unpack_run

from ..screen import urlstate
from ..streamlit_private import in_this_session
from . import code_export, session
from .session import DATA_LABEL, get_run, message, set_run, trainer

ss = st.session_state
W = "w_"  # prefix of the sidebar widgets' session keys
SECTIONS = ("Data", "Network", "Optimiser", "Run")   # the sidebar's expanders (SetupField.section)
GRID_125 = sorted({m * 10.0**k for k in range(-7, 2) for m in (1, 2, 5)})


def _label_target(name: str) -> str:
    return {CUSTOM: "Custom formula…", DATA_TARGET: "Your own data (CSV)…"}.get(name) or ac.TARGETS[name].label


def _log_options(*extra: float, zero: bool = False, low: float = 1e-7, high: float = 10.0) -> list[float]:
    """1-2-5 steps from low to high, plus the presets' values (and 0), sorted."""
    values = {v for v in GRID_125 if low <= v <= high} | {v for v in extra if v > 0}
    return ([0.0] if zero else []) + sorted(values)


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:g}"


def _controls() -> list[tuple[str, SetupField]]:
    """The sidebar's controls in order: the seed, then the setup table's fields."""
    return [("seed", SEED), *ac.config.setup_fields().items()]


def widget_values(preset: str | None, config: ac.RunConfig, seed: int) -> dict[str, object]:
    """The sidebar's session-state values for a config."""
    values: dict[str, object] = {W + "preset": preset, W + "seed": seed}
    for name, f in ac.config.setup_fields().items():
        if f.widget.kind == "activation":
            acts = config.activations
            values.update({W + name: acts[0] if acts else "relu", W + "per_layer": len(set(acts)) > 1})
            values.update({f"{W}act_{i}": a for i, a in enumerate(acts)} if len(set(acts)) > 1 else {})
        elif f.widget.kind == "text":
            values[W + name] = f.text_of(getattr(config, name)) or f.widget.empty
        else:
            values[W + name] = getattr(config, name)
    return values


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
    file = st.file_uploader(DATA_LABEL, type=["csv"], key=W + "upload",
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


# --- one function per widget kind (config.Widget.kind): (field name, entry) -> an error to show, or None --------
def _number(name: str, f: SetupField) -> None:
    st.number_input(f.label, *_bounds(name), key=W + name, persist_state="session", step=f.widget.step,
                    format=f.widget.format, help=f.help)


def _slider(name: str, f: SetupField) -> None:
    st.slider(f.label, *_bounds(name), key=W + name, persist_state="session", step=f.widget.step, help=f.help)


def _log(name: str, f: SetupField) -> None:
    """A 1-2-5 log scale with the presets' values and the field's own."""
    w, value = f.widget, ss[W + name]
    high = max(limits.RANGES[name].high if w.high is None else w.high, value)
    options = _log_options(*(getattr(p, name) for p in ac.presets.values()), value, zero=w.zero, low=w.low,
                           high=high)
    st.select_slider(f.label, options, key=W + name, persist_state="session", format_func=_fmt, help=f.help)


def _steps(name: str, f: SetupField) -> None:
    st.select_slider(f.label, sorted({*f.widget.values, ss[W + name]}), key=W + name, persist_state="session",
                     help=f.help)


def _choice_box(name: str, f: SetupField, **kwargs) -> None:
    """A box of the field's choices, each shown by its registry entry's label where it has one."""
    choices = f.choices
    st.selectbox(f.label, list(choices), key=W + name, persist_state="session", help=f.help,
                 format_func=lambda n: getattr(choices[n], "label", n) if isinstance(choices, Mapping) else n,
                 **kwargs)


def _radio(name: str, f: SetupField) -> None:
    st.radio(f.label, list(f.widget.values), key=W + name, persist_state="session", horizontal=True,
             format_func=f.widget.values.get, help=f.help)


def _text(name: str, f: SetupField) -> None:
    st.text_input(f.label, key=W + name, persist_state="session", max_chars=f.widget.max_chars, help=f.help)


def _target(name: str, f: SetupField) -> str | None:
    """The target box; for your own data, its uploader (an error until a valid CSV file is in)."""
    target = st.selectbox(f.label, list(f.choices), key=W + name, persist_state="session",
                          format_func=_label_target, help=f.help)
    if target != DATA_TARGET:
        return None
    data, err = _uploaded_data()
    return err or (f"{DATA_LABEL}: upload a CSV file to train on your own data" if data is None else None)


def _activation(name: str, f: SetupField) -> None:
    """One activation for every hidden layer, or (toggled) one box per layer."""
    per_layer = ss[W + "per_layer"]
    _choice_box(name, f, disabled=per_layer)
    st.toggle("Per-layer activations", key=W + "per_layer", persist_state="session", on_change=_on_per_layer,
              help="Choose σ separately for each hidden layer.")
    n_hidden = _n_hidden()
    if n_hidden == 0:
        st.caption("No hidden layer: a linear model, ŷ = W x + b, and μ goes from the loss straight to the input.")
    if per_layer:   # one per row: a third of the sidebar cut the names to "re", "ta", "si"
        for i in range(n_hidden or 0):
            ss.setdefault(f"{W}act_{i}", ss[W + name])
            st.selectbox(f"Layer {i + 1}", list(f.choices), key=f"{W}act_{i}", persist_state="session",
                         help=f"σ of hidden layer {i + 1}.")


WIDGETS: dict[str, Callable[[str, SetupField], str | None]] = {
    "number": _number, "slider": _slider, "log": _log, "steps": _steps, "choice": _choice_box, "radio": _radio,
    "text": _text, "target": _target, "activation": _activation}


def _n_hidden() -> int | None:
    """How many hidden layers the sizes box asks for (None while its text is not valid)."""
    try:
        return len(ac.parse_hidden(ss[W + "hidden"]))
    except ac.ConfigError:
        return None


def _shown(f: SetupField) -> bool:
    """Whether the sidebar shows the field for the chosen target."""
    target = ss[W + "target"]
    return (not f.custom or target == CUSTOM) and target not in f.widget.not_for


def _section(section: str) -> list[str]:
    """One expander of setup controls; the errors they found."""
    errors = []
    with st.sidebar.expander(section, expanded=True):
        for name, f in _controls():
            if f.section == section and _shown(f):
                error = WIDGETS[f.widget.kind](name, f)
                if error:
                    errors.append(error)
    return errors


def sidebar() -> Choice:
    """Draw the sidebar and return what it asks for. Nothing here trains or validates by itself."""
    st.sidebar.selectbox("Preset", list(ac.presets), key=W + "preset", persist_state="session",
                         on_change=_on_preset, format_func=lambda n: ac.presets[n].label or n,
                         placeholder="Custom setup (loaded run)",
                         help="Load a ready-made setup: the notebook's four experiments and two gradient-health "
                              "demos.")
    errors = [e for section in SECTIONS for e in _section(section)]
    _save_load(st.sidebar)
    return _choice(errors)


def _save_load(sb) -> None:
    """Download the whole run (setup, weights, optimiser state, history) as a .zip; load one back."""
    with sb.expander("Save / load run"):
        st.download_button("Download run", data=in_this_session(_run_zip), file_name="adjoint-run.zip",
                           mime="application/zip", key="run_download", on_click="ignore", width="stretch",
                           help="Setup, weights, optimiser state and history, to continue later exactly.")
        code_export.download_buttons(lambda kind: in_this_session(functools.partial(_code, kind)), "run_code",
                                     help="The run rebuilt in plain NumPy, to run and read on your own (a run "
                                          "that cannot be exported gives a file that says why).")
        st.file_uploader("Load a run", type=["zip"], key="run_upload", on_change=_on_run_upload,
                         max_upload_size=_megabytes(limits.MAX_RUN_BYTES),
                         help="A .zip saved with 'Download run'. Replaces the current run.")
        if ss.get("run_upload_error"):
            st.error(ss.run_upload_error)
        if note := ss.pop("run_upload_note", None):   # once: the next full rerun clears it
            st.success(note, icon=":material/check_circle:")


def _current_run() -> ac.TrainingRun:
    """The session's run as it is now (a copy while it trains)."""
    t = trainer()
    return t.copy() if t is not None else get_run()


def _run_zip() -> bytes:
    return pack_run(*_current_run().export())


def _code(kind: str) -> str:
    return codegen.download(_current_run(), kind)


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


def _choice(errors: list[str]) -> Choice:
    """The config the widgets ask for (or the first error), the seed and any uploaded data."""
    target, seed = ss[W + "target"], int(ss[W + "seed"])
    data = ss.get("uploaded") if target == DATA_TARGET else None
    if errors:
        return Choice(None, seed, data, errors[0])
    values = {name: ss[W + name] for name, f in ac.config.setup_fields().items() if not f.custom or target == CUSTOM}
    try:
        hidden = ac.parse_hidden(values.pop("hidden"))
        config = ac.RunConfig(hidden=hidden, **{**values, "activation": _activation_choice(len(hidden))})
    except ac.ConfigError as e:
        return Choice(None, seed, data, message(e))
    return Choice(config, seed, data, None)


def _activation_choice(n_hidden: int) -> str | tuple[str, ...]:
    """The activation box's name, or with per-layer boxes for every hidden layer their names."""
    n_acts = sorted(int(k[len(W) + 4:]) for k in ss if str(k).startswith(W + "act_"))
    acts = [ss[f"{W}act_{i}"] for i in n_acts[:n_hidden]] if ss[W + "per_layer"] else []
    return tuple(acts) if acts and len(acts) == n_hidden else ss[W + "activation"]


def sync_url(config: ac.RunConfig, seed: int, view: dict[str, str] | None = None) -> None:
    """Mirror the setup in the URL so the address bar is a share link, with ``view`` (ui/classroom/lessons.py: the open
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
    changed = [name for name, f in ac.config.setup_fields().items()   # the epoch limit is Play's, not the setup's
               if f.applies != PLAY and getattr(config, name) != getattr(preset, name)]
    if not changed:
        return f"**{preset.label}**: {preset.description}" if preset.description else None
    t = run.data.target
    target = ("your own data (CSV)" if config.target == DATA_TARGET else t.label if config.target != "custom" else
              f"your formula {t.formula} on [{t.domain[0]:g}, {t.domain[1]:g}]{'²' if t.dim == 2 else ''}")
    return f"**Changed from the preset {preset.label}**: {session.controls(changed)}. The target now: {target}."
