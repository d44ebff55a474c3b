"""The share link: a run's setup as URL query parameters and back, keeping what is valid.

The setup parameters are the setup table's fields (adjoint_core/config.py), read when called.  Pure functions
(no Streamlit), so the parsing can be tested and fuzzed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import adjoint_core as ac

PRESET_PARAM = "preset"
SEED_PARAM = "seed"
# Parameters of the view, not of a setup:
FOLLOW_PARAM = "follow"     # a room code (ui/classroom/rooms.py): read by the Train page
JOIN_PARAM = "join"         # a room code whose class the Train page joins (ui/classroom/join.py)
PRESENT_PARAM = "present"   # presentation mode (ui/screen/present.py)
LESSON_PARAM = "lesson"     # a lesson id (ui/classroom/lesson_book.py): the lesson's setup replaces the link's
HIDE_PARAM = "hide"         # a comma list of controls() to leave out of the sidebar
VIEW_PARAMS = (FOLLOW_PARAM, JOIN_PARAM, PRESENT_PARAM, LESSON_PARAM, HIDE_PARAM)
MAX_PARAM_CHARS = 300


def setup_names() -> tuple[str, ...]:
    """The setup fields' parameters (their field names, adjoint_core/config.py's setup table) in table order,
    the order they apply in one at a time: a formula after its target, activations after their layers."""
    return tuple(ac.config.setup_fields())


def controls() -> tuple[str, ...]:
    """The sidebar's controls, by their URL parameter names."""
    return (PRESET_PARAM, *setup_names(), SEED_PARAM)


CONTROLS = controls()   # as the app started: the names lesson files may hide


def config_to_params(preset: str, config: ac.RunConfig, seed: int) -> dict[str, str]:
    """The setup as query parameters (text); floats in their shortest exact form."""
    params = {PRESET_PARAM: preset}
    for name, f in ac.config.setup_fields().items():
        if not f.custom or config.target == ac.config.CUSTOM:
            params[name] = f.text_of(getattr(config, name))
    params[SEED_PARAM] = str(seed)
    return params


def params_to_config(params: Mapping[str, str], default_preset: str) -> tuple[str, ac.RunConfig, int, list[str]]:
    """Query parameters -> (preset, config, seed, warnings); invalid parameters are dropped with a warning."""
    warnings: list[str] = []
    preset = params.get(PRESET_PARAM, default_preset)
    if preset not in ac.presets:
        warnings.append(f"Unknown preset {str(preset)[:40]!r}: using {default_preset!r}.")
        preset = default_preset
    config = base = ac.presets[preset]
    warnings += [f"Ignored unknown URL parameter {str(key)[:40]!r}." for key in unknown_params(params)]
    fields = ac.config.setup_fields()
    names = list(fields)
    custom = [k for k in names if fields[k].custom]
    values = {k: params[k] for k in names if k in params}
    for k, v in list(values.items()):
        if not isinstance(v, str) or len(v) > MAX_PARAM_CHARS:
            problem = "the value is too long" if isinstance(v, str) else "the value is not text"
            warnings.append(f"Ignored URL parameter {k!r}: {problem}.")
            del values[k]
    try:
        config = ac.RunConfig.from_mapping(values, base=config)
    except ac.ConfigError:
        # Apply them one at a time, keeping each that is valid; a custom target goes with its custom fields.
        together = [k for k in ("target", *custom) if k in values] if values.get("target") == ac.config.CUSTOM else []
        groups = ([together] if together else []) + [[k] for k in values if k not in together]
        for group in sorted(groups, key=lambda g: names.index(g[0])):
            try:
                config = ac.RunConfig.from_mapping({k: values[k] for k in group}, base=config)
            except ac.ConfigError as e:
                listed = " and ".join(f"{k}={values[k][:40]!r}" for k in group)
                warnings.append(f"Ignored URL parameter{'s' if len(group) > 1 else ''} {listed}: {e}")
    if config.target != ac.config.CUSTOM:   # a formula and its dim mean nothing for another target: not kept
        for k in custom:
            if k in values and not any(f" {k}=" in w for w in warnings):
                warnings.append(f"Ignored URL parameter {k}={values[k][:40]!r}: it only applies to target=custom.")
        config = config.replace(**{k: getattr(base, k) for k in custom})
    config = _fit_batch(config, base, values, warnings)
    seed = 0
    if SEED_PARAM in params:
        raw = params[SEED_PARAM]
        text = raw.strip() if isinstance(raw, str) else ""
        if 0 < len(text) <= 10 and text.isascii() and text.isdecimal() and int(text) <= ac.limits.MAX_SEED:
            seed = int(text)
        else:
            warnings.append(f"Ignored URL parameter seed={str(raw)[:40]!r}: use a whole number from 0 to "
                            f"{ac.limits.MAX_SEED}.")
    return preset, config, seed, warnings


def unknown_params(params: Mapping[str, str]) -> list[str]:
    """The parameter names the app does not read."""
    known = {*VIEW_PARAMS, *controls()}
    return [key for key in params if key not in known]


def setup_params(params: Mapping[str, str]) -> list[str]:
    """The parameter names that set up a run (a lesson link's setup replaces them)."""
    known = controls()
    return [key for key in params if key in known]


def parse_hide(text: str) -> tuple[tuple[str, ...], list[str]]:
    """``hide=`` text 'lr, optimiser' -> (the known control names, in controls() order; warnings)."""
    if not isinstance(text, str) or len(text) > MAX_PARAM_CHARS:
        return (), [f"Ignored URL parameter {HIDE_PARAM}: use a comma list of control names."]
    names = [n.strip() for n in text.split(",") if n.strip()]
    every = controls()
    known = tuple(c for c in every if c in names)
    unknown = [n for n in names if n not in every]
    if not unknown:
        return known, []
    listed = ", ".join(repr(n[:40]) for n in unknown[:5])
    return known, [(f"Ignored unknown control name{'s' if len(unknown) > 1 else ''} in {HIDE_PARAM}=: {listed} "
                    f"(known: {', '.join(every)}).")]


def _train_points(config: ac.RunConfig) -> int | None:
    """How many training points the config's data will have (None for uploaded data: not known here)."""
    if config.target == ac.datafile.DATA_TARGET:
        return None
    return ac.targets.train_points(ac.get_target(config.target, config.formula or None, config.dim), config.samples)


def _fit_batch(config: ac.RunConfig, preset: ac.RunConfig, values: Mapping[str, str],
               warnings: list[str]) -> ac.RunConfig:
    """A batch larger than the training set cannot run: drop the URL's batch_size, then its samples."""
    for key in ("batch_size", "samples"):
        n = _train_points(config)
        if n is None or key not in values:
            continue
        try:
            ac.limits.check_batch_size(config.batch_size, n)
        except ac.ConfigError as e:
            warnings.append(f"Ignored URL parameter {key}={values[key][:40]!r}: {e}.")
            try:
                config = config.replace(**{key: getattr(preset, key)})
            except ac.ConfigError:   # e.g. the preset's samples do not fit the URL's custom target
                pass
    return config
