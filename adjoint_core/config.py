"""RunConfig: everything that defines a training run, validated on construction.

Construct with keyword arguments, or from a mapping of strings (a URL query, a JSON file) with
``RunConfig.from_mapping``; every bad value raises ConfigError naming the field and what is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .datafile import DATA_TARGET
from .errors import ConfigError
from .limits import (
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_TEXT,
    check,
    check_choice,
    check_sizes,
    check_text,
    listing,
    number_from_text,
)
from .losses import LOSSES
from .network import INIT_SCHEMES, layer_activations
from .optimisers import OPTIMISERS
from .targets import get_target

NO_HIDDEN = "none"   # the hidden-sizes text of a network without hidden layers (a linear model)


def parse_hidden(text: str) -> tuple[int, ...]:
    """'64, 128, 64' -> (64, 128, 64); 'none' -> () (no hidden layer: a linear model); blank or bad text raises
    ConfigError naming every bad entry (blank is an error, not a silent linear model)."""
    if not isinstance(text, str):
        raise ConfigError("hidden", f"{text!r} is not text", "e.g. '64, 64'")
    if len(text) > MAX_HIDDEN_TEXT:
        raise ConfigError("hidden", "the text is too long", f"at most {MAX_HIDDEN_LAYERS} comma-separated widths")
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    if parts == [""]:
        raise ConfigError("hidden", "empty", f"widths such as '64, 64', or '{NO_HIDDEN}' for no hidden layer")
    if [p.lower() for p in parts] == [NO_HIDDEN]:
        return ()
    bad = [repr(p) if p else "an empty entry" for p in parts if not (p.isascii() and p.isdigit())]
    if bad:
        raise ConfigError("hidden", f"{listing(bad)} "
                          + ("are not positive whole numbers" if len(bad) > 1 else "is not a positive whole number"),
                          "comma-separated widths such as '64, 64'")
    sizes = [int(p) for p in parts]
    check_sizes([1, *sizes, 1], "hidden")
    return tuple(sizes)


def hidden_text(hidden: tuple[int, ...]) -> str:
    """``parse_hidden``'s inverse: '64, 64', or 'none' without hidden layers."""
    return ", ".join(map(str, hidden)) or NO_HIDDEN


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
        set_("dim", check("dim", number_from_text("dim", self.dim)))   # before the target: text '2' from a URL
        if self.target != DATA_TARGET:
            get_target(self.target, self.formula or None, self.dim)   # the name and any custom formula
        for key in ("samples", "noise", "test_fraction", "init_scale", "lr", "beta", "weight_decay", "batch_size",
                    "epochs"):
            set_(key, check(key, number_from_text(key, getattr(self, key))))
        if isinstance(self.hidden, str):
            hidden = parse_hidden(self.hidden)   # checked there
        elif isinstance(self.hidden, (tuple, list)):
            hidden = check_sizes([1, *self.hidden, 1])[1:-1]
        else:
            raise ConfigError("hidden", f"{self.hidden!r} is not a list of widths", "e.g. (64, 64)")
        set_("hidden", tuple(int(h) for h in hidden))
        names = layer_activations(self.activation, len(self.hidden))[:-1]   # one checked name per hidden layer
        if not isinstance(self.activation, str):   # per layer: one name when they are all the same
            set_("activation", names[0] if len(set(names)) == 1 else tuple(names))
        check_choice("init", self.init, INIT_SCHEMES)
        check_choice("loss", self.loss, LOSSES)
        check_choice("optimiser", self.optimiser, OPTIMISERS)
        check_text("label", self.label)
        check_text("description", self.description)

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
