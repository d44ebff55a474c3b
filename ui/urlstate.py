"""The share link: a run's setup as URL query parameters and back, keeping what is valid.

Pure functions (no Streamlit), so the parsing can be tested and fuzzed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import adjoint_core as ac

PRESET_PARAM = "preset"
SEED_PARAM = "seed"
# Order matters when applying one field at a time: a formula needs its target, activations their layers.
FIELDS = ("target", "dim", "formula", "samples", "noise", "test_fraction", "hidden", "activation", "init",
          "init_scale", "loss", "optimiser", "lr", "beta", "weight_decay", "batch_size", "epochs")
MAX_PARAM_CHARS = 300


def config_to_params(preset: str, config: ac.RunConfig, seed: int) -> dict[str, str]:
    """The setup as query parameters (text); floats in their shortest exact form."""
    d = config.to_dict()
    params = {PRESET_PARAM: preset}
    for key in FIELDS:
        value = d[key]
        if key == "formula" and config.target != "custom":
            continue
        if key == "dim" and config.target != "custom":
            continue
        params[key] = ", ".join(map(str, value)) if isinstance(value, list) else repr(value) \
            if isinstance(value, float) else str(value)
    params[SEED_PARAM] = str(seed)
    return params


def params_to_config(params: Mapping[str, str], default_preset: str) -> tuple[str, ac.RunConfig, int, list[str]]:
    """Query parameters -> (preset, config, seed, warnings); invalid parameters are dropped with a warning."""
    warnings: list[str] = []
    preset = params.get(PRESET_PARAM, default_preset)
    if preset not in ac.presets:
        warnings.append(f"Unknown preset {str(preset)[:40]!r}: using {default_preset!r}.")
        preset = default_preset
    config = ac.presets[preset]
    known = {PRESET_PARAM, SEED_PARAM, *FIELDS}
    for key in params:
        if key not in known:
            warnings.append(f"Ignored unknown URL parameter {str(key)[:40]!r}.")
    values = {k: params[k] for k in FIELDS if k in params}
    for k, v in list(values.items()):
        if not isinstance(v, str) or len(v) > MAX_PARAM_CHARS:
            warnings.append(f"Ignored URL parameter {k!r}: the value is too long.")
            del values[k]
    try:
        config = ac.RunConfig.from_mapping(values, base=config)
    except ac.ConfigError:
        for key, value in values.items():   # apply one at a time, keeping each that is valid
            try:
                config = ac.RunConfig.from_mapping({key: value}, base=config)
            except ac.ConfigError as e:
                warnings.append(f"Ignored URL parameter {key}={value[:40]!r}: {e}")
    seed = 0
    if SEED_PARAM in params:
        raw = params[SEED_PARAM]
        if isinstance(raw, str) and raw.strip().isdigit() and int(raw) <= ac.training.MAX_SEED:
            seed = int(raw)
        else:
            warnings.append(f"Ignored URL parameter seed={str(raw)[:40]!r}: use a whole number from 0 to "
                            f"{ac.training.MAX_SEED}.")
    return preset, config, seed, warnings
