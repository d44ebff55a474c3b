"""RunConfig: everything that defines a training run, validated on construction.

Construct with keyword arguments, or from a mapping of strings (a URL query, a JSON file) with
``RunConfig.from_mapping``; every bad value raises ConfigError naming the field and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .activations import ACTIVATIONS
from .errors import ConfigError
from .losses import LOSSES
from .network import INIT_SCHEMES, MAX_HIDDEN_LAYERS, validate_sizes
from .optimisers import OPTIMISERS, make_optimiser

MAX_EPOCHS = 100_000
MAX_BATCH = 1_000
MAX_TEXT = 1000      # label and description
DATA_TARGET = "data"  # target name of a run trained on uploaded data


def parse_hidden(text: str) -> tuple[int, ...]:
    """'64, 128, 64' -> (64, 128, 64); '' or 'none' -> () (no hidden layer); bad text raises ConfigError."""
    if not isinstance(text, str):
        raise ConfigError("hidden", f"{text!r} is not text", "e.g. '64, 64'")
    if len(text) > 200:
        raise ConfigError("hidden", "the text is too long", "at most 10 comma-separated widths")
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    if parts == [""] or [p.lower() for p in parts] == ["none"]:
        return ()
    sizes = []
    for p in parts:
        if not (p.isascii() and p.isdigit()):
            raise ConfigError("hidden", f"{p!r} is not a positive whole number",
                              "comma-separated widths such as '64, 64'")
        sizes.append(int(p))
    validate_sizes([1, *sizes, 1])
    return tuple(sizes)


def _number(name: str, value: Any, low: float, high: float, integer: bool = False) -> float | int:
    """Coerce and range-check one numeric field."""
    try:
        if isinstance(value, bool):
            raise TypeError
        v = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(name, f"{str(value)[:40]!r} is not a number", f"{low} to {high}") from None
    if not math.isfinite(v) or not low <= v <= high or (integer and v != int(v)):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(name, f"{str(value)[:40]!r} is out of range", f"{kind} from {low} to {high}")
    return int(v) if integer else v


def _choice(name: str, value: Any, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(name, f"unknown value {value!r}", ", ".join(allowed))
    return value


@dataclass(frozen=True)
class RunConfig:
    """A training run's setup. ``hidden`` are the hidden widths; input/output sizes come from the target."""

    target: str = "wave2d"
    formula: str = ""                     # only for target "custom"
    dim: int = 1                          # input dimension of a custom formula (1 or 2)
    samples: int = 10_000                 # training points (grid targets: side x side)
    noise: float = 0.0                    # std of Gaussian noise added to the targets
    test_fraction: float = 0.2            # held-out points, as a fraction of `samples`
    hidden: tuple[int, ...] = (64, 64)
    activation: str | tuple[str, ...] = "relu"   # one name, or one per hidden layer
    init: str = "notebook"
    init_scale: float = 1e-6
    loss: str = "mse"
    optimiser: str = "momentum"
    lr: float = 2e-4
    beta: float = 0.9
    weight_decay: float = 5e-3
    batch_size: int = 50
    epochs: int = 100                     # a preset's suggested length
    label: str = field(default="", compare=False)        # human name
    description: str = field(default="", compare=False)  # one or two sentences for the UI

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("dim", _number("dim", self.dim, 1, 2, integer=True))   # before the target: text '2' from a URL
        if self.target != DATA_TARGET:
            from .targets import get_target   # validates the name and any custom formula
            get_target(self.target, self.formula or None, self.dim)
        set_("samples", _number("samples", self.samples, 2, 200_000, integer=True))
        set_("noise", _number("noise", self.noise, 0, 100))
        set_("test_fraction", _number("test_fraction", self.test_fraction, 0, 1))
        hidden = parse_hidden(self.hidden) if isinstance(self.hidden, str) else self.hidden
        if not isinstance(hidden, (tuple, list)):
            raise ConfigError("hidden", f"{hidden!r} is not a list of widths", "e.g. (64, 64)")
        validate_sizes([1, *hidden, 1])
        set_("hidden", tuple(int(h) for h in hidden))
        act = self.activation
        if isinstance(act, (list, tuple)):
            if len(act) != len(self.hidden):
                raise ConfigError("activation", f"{len(act)} names for {len(self.hidden)} hidden layers",
                                  "one name, or one per hidden layer")
            act = tuple(_choice("activation", a, ACTIVATIONS) for a in act)
            if len(set(act)) == 1:
                act = act[0]
        else:
            act = _choice("activation", act, ACTIVATIONS)
        set_("activation", act)
        _choice("init", self.init, INIT_SCHEMES)
        set_("init_scale", _number("init_scale", self.init_scale, 1e-12, 100))
        _choice("loss", self.loss, LOSSES)
        _choice("optimiser", self.optimiser, OPTIMISERS)
        set_("lr", _number("lr", self.lr, 1e-12, 10))
        set_("beta", _number("beta", self.beta, 0, 0.999))
        set_("weight_decay", _number("weight_decay", self.weight_decay, 0, 10))
        set_("batch_size", _number("batch_size", self.batch_size, 1, MAX_BATCH, integer=True))
        set_("epochs", _number("epochs", self.epochs, 1, MAX_EPOCHS, integer=True))
        make_optimiser(self.optimiser, self.lr, self.beta, self.weight_decay)
        for key in ("label", "description"):   # shown on every redraw: a run file must not inflate them
            text = getattr(self, key)
            if not isinstance(text, str) or len(text) > MAX_TEXT:
                raise ConfigError(key, f"{str(text)[:40]!r} is not text of at most {MAX_TEXT} characters",
                                  f"text of at most {MAX_TEXT} characters")

    @property
    def activations(self) -> tuple[str, ...]:
        """One activation name per hidden layer."""
        a = self.activation
        return (a,) * len(self.hidden) if isinstance(a, str) else a

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        if not isinstance(self.activation, str):
            d["activation"] = list(self.activation)
        return d

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: RunConfig | None = None) -> RunConfig:
        """Build from a mapping of field -> value or text (JSON, URL query); unknown keys raise ConfigError.

        Text forms: hidden '64, 64'; activation 'relu' or 'relu, tanh' (one per hidden layer).
        Missing fields come from ``base`` (default: RunConfig()).
        """
        if not isinstance(data, Mapping):
            raise ConfigError("config", "must be a mapping of field names to values", "a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in names)
        if unknown:
            raise ConfigError("config", f"unknown field(s) {', '.join(unknown)}", ", ".join(sorted(names)))
        values = dict(data)
        if isinstance(values.get("hidden"), list):
            values["hidden"] = tuple(values["hidden"])
        act = values.get("activation")
        if isinstance(act, str) and "," in act:
            values["activation"] = tuple(a.strip() for a in act.split(","))
        elif isinstance(act, list):
            values["activation"] = tuple(act)
        for key in ("target", "formula", "init", "loss", "optimiser", "label", "description"):
            if key in values and not isinstance(values[key], str):
                raise ConfigError(key, f"{values[key]!r} is not text", "a name")
        return dataclasses.replace(base or cls(), **values)
