"""RunConfig: everything that defines a training run, validated on construction, and the setup table.

Construct with keyword arguments, or from a mapping of strings (a URL query, a JSON file) with
``RunConfig.from_mapping``; every bad value raises ConfigError naming the field and what is allowed.

The setup table: each field declares, in its ``metadata[SETUP]`` (a ``SetupField``), how it is checked, what a
change of it does to a running model (start a new run, change the running model, or move Play's stop), and how
the app shows it: the sidebar control's label, section, widget (plain data, ``Widget``) and help, and its name in
compare labels.  The URL parameter is the field's name; a number field's limits are ``limits.RANGES[name]``
(the lower modules check the same numbers).  The app derives the share link (ui/screen/urlstate.py), the sidebar
(ui/train/settings.py), the controls that messages name (ui/train/session.py) and compare labels
(ui/train/compare.py) from ``setup_fields()``, and ``changes.TUNABLE`` from ``applies``: a new setup field is
one entry here plus its use in the engine.  The UI's part stays plain data, like the registries' labels: no
Streamlit here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .activations import ACTIVATIONS
from .datafile import DATA_TARGET
from .errors import ConfigError
from .limits import (
    MAX_FORMULA_CHARS,
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_TEXT,
    MAX_WIDTH,
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
from .targets import TARGETS, get_target

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


SETUP = "setup"        # the metadata key of a RunConfig field's SetupField
CUSTOM = "custom"      # the target of a formula the user types
TARGET_CHOICES = (*TARGETS, CUSTOM, DATA_TARGET)
NEW_RUN, LIVE, PLAY = "new run", "live", "play"   # SetupField.applies


@dataclass(frozen=True)
class Widget:
    """How the sidebar asks for a field: plain data that ui/train/settings.py draws with Streamlit.

    ``kind``: "number" (a number box), "slider", "log" (a 1-2-5 scale from ``low`` to ``high``, or to the value
    when it is larger; ``high`` None: the field's upper limit), "steps" (a slider over ``values`` and the value),
    "choice" (a box of the field's choices), "radio" (``values``: value -> its name), "text", or a field's own
    ("target", "activation").
    """

    kind: str
    step: float | None = None              # number, slider
    format: str | None = None              # number: printf-style
    low: float = 1e-7                      # log
    high: float | None = None              # log
    zero: bool = False                     # log: 0 is offered too
    values: tuple[Any, ...] | Mapping[Any, str] = ()   # steps, radio
    max_chars: int | None = None           # text
    empty: str = ""                        # text: the box's text for an empty value
    not_for: tuple[str, ...] = ()          # targets it is not shown for


Check = Callable[[Any, str, Any], Any]   # (config so far, field name, value) -> the value kept, or ConfigError


@dataclass(frozen=True)
class SetupField:
    """A RunConfig field's entry in the setup table (see the module docstring)."""

    label: str = ""                 # the sidebar control's label, which messages name; "" for a preset's texts
    section: str = ""               # the sidebar's expander: Data, Network, Optimiser or Run
    widget: Widget | None = None
    help: str = ""
    short: str | None = None        # its name in compare labels ("" shows the value alone); None: the field's
    choices: Mapping[str, Any] | tuple[str, ...] | None = None   # the allowed names: checked, and offered
    check: Check | None = None      # None: a name from ``choices``, else a number within limits.RANGES[name]
    applies: str = NEW_RUN          # a change starts a NEW_RUN, changes the running model (LIVE) or Play's stop
    custom: bool = False            # only for target "custom": the URL and the sidebar leave it out otherwise
    text: Callable[[Any], str] | None = None   # the value as text (URL, text box); None: as ``text_of`` says

    def validate(self, config: Any, name: str, value: Any) -> Any:
        """The value as RunConfig keeps it; ConfigError when it is not allowed."""
        if self.check is not None:
            return self.check(config, name, value)
        if self.choices is not None:
            return check_choice(name, value, self.choices)
        return check(name, number_from_text(name, value))

    def text_of(self, value: Any) -> str:
        """The value as text: floats in their shortest exact form, tuples comma-separated."""
        if self.text is not None:
            return self.text(value)
        if isinstance(value, tuple):
            return ", ".join(map(str, value))
        return repr(value) if isinstance(value, float) else str(value)


def setup(default: Any, compare: bool = True, **entry: Any) -> Any:
    """A RunConfig field with its setup table entry (``SetupField(**entry)``)."""
    return field(default=default, compare=compare, metadata={SETUP: SetupField(**entry)})


def _target(config: Any, name: str, value: Any) -> Any:
    """A target name; a custom target's formula and dim are checked with it (dim's text read first)."""
    if value != DATA_TARGET:
        get_target(value, config.formula or None, check("dim", number_from_text("dim", config.dim)))
    return value


def _hidden(config: Any, name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        return parse_hidden(value)
    if isinstance(value, (tuple, list)):
        return tuple(int(h) for h in check_sizes([1, *value, 1])[1:-1])
    raise ConfigError(name, f"{value!r} is not a list of widths", "e.g. (64, 64)")


def _activation(config: Any, name: str, value: Any) -> str | tuple[str, ...]:
    """One name, or one per hidden layer (one name when they are all the same)."""
    names = layer_activations(value, len(config.hidden))[:-1]
    if isinstance(value, str):
        return value
    return names[0] if len(set(names)) == 1 else tuple(names)


def _text(config: Any, name: str, value: Any) -> str:
    return check_text(name, value)


def _unchecked(config: Any, name: str, value: Any) -> Any:
    """A custom target's formula: checked with the target."""
    return value


@dataclass(frozen=True)
class RunConfig:
    """A training run's setup. ``hidden`` are the hidden widths; input/output sizes come from the target.
    Fields are checked in order (a check may read the fields before it)."""

    target: str = setup("wave2d", label="Target function", section="Data", widget=Widget("target"), short="",
                        choices=TARGET_CHOICES, check=_target,
                        help="The function the network learns, or your own formula or data.")
    dim: int = setup(1, label="Inputs", section="Data", custom=True,   # input dimension of a custom formula
                     widget=Widget("radio", values={1: "x", 2: "x, y"}),
                     help="1D: a formula in x on [0, 1]. 2D: a formula in x and y on [0, 2π]².")
    formula: str = setup("", label="Formula", section="Data", custom=True, short="", check=_unchecked,
                         widget=Widget("text", max_chars=MAX_FORMULA_CHARS, empty="sin(3*x)"),
                         help="Numbers, x (and y), pi, e, + - * / **, and sin cos tan exp log sqrt abs tanh "
                              "sinh cosh arctan sigmoid relu sign floor. Example: 10*(x - x**2)")
    samples: int = setup(10_000, label="Samples", section="Data",   # training points (grid targets: side x side)
                         widget=Widget("number", step=100, not_for=(DATA_TARGET,)),
                         help="Training points. Grid targets use a side × side grid (10,000 = 100 × 100).")
    noise: float = setup(0.0, label="Noise", section="Data", widget=Widget("number", step=0.1, format="%.2f"),
                         help="Standard deviation of Gaussian noise added to the targets.")
    test_fraction: float = setup(0.2, label="Test fraction", section="Data", short="test",
                                 widget=Widget("slider", step=0.05),
                                 help="Held-out points (as a fraction of the samples) for the test loss.")
    hidden: tuple[int, ...] = setup((64, 64), label="Hidden layer sizes", section="Network", check=_hidden,
                                    text=hidden_text, widget=Widget("text"),
                                    help="Comma-separated widths, input side first, e.g. '64, 64'. Up to "
                                         f"{MAX_HIDDEN_LAYERS} layers of up to {MAX_WIDTH}; "
                                         f"'{NO_HIDDEN}' for none (a linear model).")
    activation: str | tuple[str, ...] = setup("relu", label="Activation", section="Network", short="",
                                              widget=Widget("activation"), choices=ACTIVATIONS,
                                              check=_activation,
                                              help="σ for every hidden layer; the output layer is always the "
                                                   "identity.")   # one name, or one per hidden layer
    init: str = setup("notebook", label="Initialisation", section="Network", widget=Widget("choice"),
                      choices=INIT_SCHEMES,
                      help="notebook: hidden W, b ~ N(0, 1), output layer × scale. "
                           "xavier / he: W ~ N(0, 2/(fan_in + fan_out)) / N(0, 2/fan_in) × scale, b = 0.")
    init_scale: float = setup(1e-6, label="Init scale", section="Network", short="init scale",
                              widget=Widget("log", low=1e-6),
                              help="Multiplies the initial weights (notebook scheme: the output layer only).")
    loss: str = setup("mse", label="Loss", section="Network", short="", widget=Widget("choice"), choices=LOSSES,
                      applies=LIVE, help="Its derivative gives μ_N, the first adjoint.")
    optimiser: str = setup("momentum", label="Optimiser", section="Optimiser", short="", widget=Widget("choice"),
                           choices=OPTIMISERS, applies=LIVE,
                           help="Applies to the running model; a new optimiser starts with empty state. Momentum "
                                "is the notebook's exponential moving average: m ← βm + (1−β)g, w ← w − lr·m.")
    lr: float = setup(2e-4, label="Learning rate", section="Optimiser", widget=Widget("log", high=1.0),
                      applies=LIVE, help="Step size, on a log scale. Applies immediately.")
    beta: float = setup(0.9, label="β (momentum)", section="Optimiser", short="β", applies=LIVE,
                        widget=Widget("steps", values=(0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)),
                        help="Momentum's averaging factor (Adam: β₁). Ignored by SGD.")
    weight_decay: float = setup(5e-3, label="Weight decay", section="Optimiser", short="wd", applies=LIVE,
                                widget=Widget("log", low=1e-6, high=1.0, zero=True),
                                help="L2 penalty added to the gradient: g + wd·w.")
    batch_size: int = setup(50, label="Batch size", section="Optimiser", short="batch", applies=LIVE,
                            widget=Widget("number", step=10),
                            help="Samples per step (at most the number of training points).")
    epochs: int = setup(100, label="Stop after epoch", section="Run", widget=Widget("number", step=10),
                        applies=PLAY,   # a preset's suggested length
                        help="Play pauses at this epoch, and at every multiple of it when you press Play again "
                             "(100: at 100, 200, 300...).")
    label: str = setup("", compare=False, check=_text)        # human name
    description: str = setup("", compare=False, check=_text)  # one or two sentences for the UI

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, f.metadata[SETUP].validate(self, f.name, getattr(self, f.name)))

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
        for key in (f.name for f in fields(cls) if f.type == "str"):
            if key in values and not isinstance(values[key], str):
                raise ConfigError(key, f"{values[key]!r} is not text", "a name")
        return dataclasses.replace(base or cls(), **values)


SEED = SetupField(label="Seed", section="Run", widget=Widget("number", step=1),   # TrainingRun's, beside its config
                  help="Seeds the data, the initial weights and the batch order: same seed, same run.")


def setup_fields() -> dict[str, SetupField]:
    """RunConfig's setup controls in order, name -> entry (the preset's texts left out)."""
    return {f.name: f.metadata[SETUP] for f in fields(RunConfig) if f.metadata[SETUP].label}
