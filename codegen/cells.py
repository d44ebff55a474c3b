"""The exported code, cell by cell: markdown that explains each step in the app's words, and plain NumPy code.

Each ``*_cells`` function returns the cells of one part, in the order a student reads them: the setup, the data,
the network, the forward pass, the loss, the adjoint backward pass, the optimiser, the training loop, the
losses, the plots and the check against the app.  The code does exactly the engine's float64 operations in the
engine's order (the tests compare its losses with the engine's to 1e-9), but it never imports the engine.
"""

from __future__ import annotations

import base64
import math
import textwrap
import zlib
from dataclasses import dataclass

import numpy as np

import adjoint_core as ac
from adjoint_core.activations import LEAKY_SLOPE
from adjoint_core.datafile import DATA_TARGET
from adjoint_core.optimisers import Adam
from adjoint_core.targets import grid_side

from .formula_code import formula_source
from .run_export import CHECKED_STEPS, RunExport

# NumPy source of each built-in target in the columns x (and y), the same operations as adjoint_core.targets
TARGET_SOURCES = {
    "linear": "10.0 * x + 3.0",
    "quadratic": "10.0 * (x - x * x)",
    "sine": "np.sin(2 * np.pi * x)",
    "abs": "np.abs(x - 0.5)",
    "step": "np.where(x > 0.5, 1.0, 0.0)",
    "wave2d": "10.0 * (r - r**2)",
    "gauss2d": "np.exp(-0.5 * r**2)",
    "saddle": "x * y",
    "ripple": "np.sin(x) * np.cos(y)",
}
RADIUS = "r = np.hypot(x - np.pi, y - np.pi)   # distance to the centre (pi, pi)"

# sigma(a) and sigma'(a) given a and z = sigma(a), the same operations as adjoint_core.activations
ACTIVATION_SOURCES = {
    "sigmoid": ("sigmoid", "lambda a, z: z * (1.0 - z)"),
    "tanh": ("np.tanh", "lambda a, z: 1.0 - z * z"),
    "relu": ("lambda a: np.maximum(a, 0.0)", "lambda a, z: (a > 0).astype(float)"),
    "leaky_relu": (f"lambda a: np.where(a > 0, a, {LEAKY_SLOPE} * a)",
                   f"lambda a, z: np.where(a > 0, 1.0, {LEAKY_SLOPE})"),
    "softplus": ("lambda a: np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))", "lambda a, z: sigmoid(a)"),
    "identity": ("lambda a: a", "lambda a, z: np.ones_like(a)"),
}
SIGMOID = '''def sigmoid(a):
    """1 / (1 + e^(-a))."""
    return 1.0 / (1.0 + np.exp(-a))
'''

LOSS_SOURCES = {
    "mse": '''def mse(z, y):
    """L = 1/(2B) sum_k |z_k - y_k|^2 over the batch, and mu_N = -dL/dz_N = -(z - y) / B."""
    B = len(z)
    r = z - y
    return 0.5 * np.vdot(r, r) / B, -(1 / B) * r
''',
    "huber": '''def huber(z, y, d={d!r}):
    """L = 1/B sum h(z - y) with h(r) = r^2/2 for |r| <= d, d(|r| - d/2) beyond; mu_N = -clip(z - y, -d, d) / B."""
    B = len(z)
    r = z - y
    quad = np.minimum(np.abs(r), d)
    return np.sum(quad * (np.abs(r) - 0.5 * quad)) / B, -(1 / B) * np.clip(r, -d, d)
''',
}

OPTIMISER_SOURCES = {   # (state arrays per W or b, the rule updating w and its state in place)
    "sgd": (0, '''def sgd(w, g, slots, t):
    """w <- w - lr g."""
    w -= settings["lr"] * g
'''),
    "momentum": (1, '''def momentum(w, g, slots, t):
    """m <- beta m + (1 - beta) g;  w <- w - lr m  (the notebook's moving-average momentum)."""
    beta, m = settings["beta"], slots[0]
    m[...] = beta * m + (1 - beta) * g
    w -= settings["lr"] * m
'''),
    "nesterov": (1, '''def nesterov(w, g, slots, t):
    """m <- beta m + (1 - beta) g;  w <- w - lr (beta m + (1 - beta) g): a step from the look-ahead."""
    beta, m = settings["beta"], slots[0]
    m[...] = beta * m + (1 - beta) * g
    w -= settings["lr"] * ((1 - beta) * g + beta * m)
'''),
    "adam": (2, f'''def adam(w, g, slots, t, beta2={Adam.beta2!r}, eps={Adam.eps!r}):
    """m, v: moving averages of g and g^2, bias-corrected by 1 - beta^t; w <- w - lr m_hat / (sqrt(v_hat) + eps)."""
    beta, (m, v) = settings["beta"], slots
    m[...] = beta * m + (1 - beta) * g
    v[...] = beta2 * v + (1 - beta2) * (g * g)
    w -= settings["lr"] / (1 - beta**t) * (m / (np.sqrt(v / (1 - beta2**t)) + eps))
'''),
}


@dataclass(frozen=True)
class Cell:
    """A notebook cell: kind "markdown" or "code", and its text."""

    kind: str
    text: str


def _fill(text: str, blocks: dict[str, str]) -> str:
    """``text`` dedented, each line that is only ``$name`` replaced by the lines of ``blocks[name]`` at its
    indentation."""
    out = []
    for line in textwrap.dedent(text).strip("\n").splitlines():
        name = line.strip()[1:]
        if line.strip().startswith("$") and name in blocks:
            pad = line[:len(line) - len(line.lstrip())]
            out.extend(pad + part if part else part for part in blocks[name].splitlines())
        else:
            out.append(line)
    return "\n".join(out).strip()


def md(text: str, **blocks: str) -> Cell:
    return Cell("markdown", _fill(text, blocks))


def code(text: str, **blocks: str) -> Cell:
    return Cell("code", _fill(text, blocks))


def _num(v: float) -> str:
    """A float as source: pi and 2 pi by name, anything else as its exact repr."""
    return {math.pi: "np.pi", 2 * math.pi: "2 * np.pi"}.get(v, repr(float(v)))


def _used(spec: RunExport, field: str) -> list[str]:
    """The values a setting takes during the run: at step 0, then each change of it, without repeats."""
    values = [getattr(spec.config, field), *(v for _, f, v in spec.changes if f == field)]
    return list(dict.fromkeys(values))


def _floats(name: str, values: tuple[float, ...]) -> str:
    """``name = [v, ...]`` with exact reprs, wrapped at 110 columns."""
    body = textwrap.fill(", ".join(map(repr, values)), 106, initial_indent="    ", subsequent_indent="    ")
    return f"{name} = [\n{body},\n]"


def cells(spec: RunExport) -> list[Cell]:
    """Every cell of the export, in reading order; the plots' last lines are ``fig.show()``."""
    return [*setup_cells(spec), *data_cells(spec), *network_cells(spec), *loss_cells(spec),
            *backward_cells(), *optimiser_cells(spec), *training_cells(spec), *result_cells(spec)]


# --- setup -------------------------------------------------------------------------------------------------------
def _target_label(config: ac.RunConfig) -> str:
    if config.target == DATA_TARGET:
        return "your uploaded data"
    if config.target == "custom":
        return f"the formula `{config.formula.strip()}`"
    return ac.TARGETS[config.target].label


def setup_cells(spec: RunExport) -> list[Cell]:
    c = spec.config
    acts = ", ".join(c.activations) or "none (no hidden layer)"
    changes = "\n".join(f"| after step {s} | {f} = {v!r} |" for s, f, v in spec.changes)
    intro = md(f"""
        # {c.label or "A run"} from Adjoint Backprop Lab, in plain NumPy

        This notebook rebuilds the run you trained in the app, from nothing: the data, the network and its
        initial weights, the forward pass, the **adjoint backward pass** (the adjoints $\\mu_i = -\\partial
        \\mathcal{{L}}/\\partial z_i$ flowing from the loss back to the input), the optimiser and the training
        loop, with the same random numbers in the same order. It uses only NumPy (and Plotly for the charts).
        Run all cells from the top: it trains {spec.steps:,} steps, prints the batch losses and checks them
        against the app's.

        | setting | value |
        |---|---|
        | target | {_target_label(c)} |
        | network | {" → ".join(map(str, _sizes(spec)))} |
        | activations (hidden layers) | {acts} |
        | initialisation | {c.init}, scale {c.init_scale:g} |
        | loss | {ac.LOSSES[c.loss].label} |
        | optimiser | {ac.OPTIMISERS[c.optimiser].label}, lr {c.lr:g}, β {c.beta:g}, weight decay {c.weight_decay:g} |
        | batch size | {c.batch_size} |
        | seed | {spec.seed} |
        $changes
        """, changes=changes)
    imports = ["import base64", "import zlib", ""] if spec.data is not None else []
    imports += ["import numpy as np", "import plotly.graph_objects as go"]
    if _dim(spec) == 2:
        imports.append("from plotly.subplots import make_subplots")
    settings = ", ".join(f"{f!r}: {getattr(c, f)!r}" for f in ("lr", "beta", "weight_decay", "batch_size",
                                                                  "optimiser", "loss"))
    lines = [*imports, "",
             f"SEED = {spec.seed}   # seeds the data, the initial weights and the batch order: same seed, same run",
             f"STEPS = {spec.steps}   # training steps, as many as the run took in the app",
             "# the settings a running model can change (the app applies them to the next step)",
             f"settings = {{{settings}}}"]
    if spec.changes:
        by_step: dict[int, dict[str, object]] = {}
        for s, f, v in spec.changes:
            by_step.setdefault(s, {})[f] = v
        lines += ["# the settings you changed while the run trained: steps taken -> the new values",
                  f"CHANGES = {by_step!r}"]
    lines.append("rng = np.random.default_rng(SEED)   # every random number below comes from it, in order")
    return [intro, code("\n".join(lines))]


def _dim(spec: RunExport) -> int:
    c = spec.config
    if spec.data is not None:
        return spec.data[0].shape[1]
    return c.dim if c.target == "custom" else ac.TARGETS[c.target].dim


def _sizes(spec: RunExport) -> list[int]:
    return [_dim(spec), *spec.config.hidden, 1]


def _domain(spec: RunExport) -> tuple[float, float]:
    """The interval on each axis that the data (or the plots of uploaded data) cover."""
    c = spec.config
    if spec.data is not None:
        lo, hi = float(spec.data[0].min()), float(spec.data[0].max())
        return lo, hi if hi > lo else lo + 1.0
    return ac.get_target(c.target, c.formula or None, c.dim).domain


# --- data --------------------------------------------------------------------------------------------------------
def data_cells(spec: RunExport) -> list[Cell]:
    if spec.data is not None:
        return _uploaded_cells(spec)
    c = spec.config
    target = ac.get_target(c.target, c.formula or None, c.dim)
    dim, (lo, hi) = target.dim, target.domain
    cols = "x, y = points[:, 0], points[:, 1]" if dim == 2 else "x = points[:, 0]"
    if c.target == "custom":
        source, constant = formula_source(c.formula, dim)
        value = f"        value = {source}"
        body = (f"return np.full((len(points), 1), {source})" if constant else
                f"{cols}\nwith np.errstate(all=\"ignore\"):   # a bad region gives inf or nan, dropped below\n"
                f"{value[4:]}{'  # noqa: E501' if len(value) > 118 else ''}\nreturn value.reshape(-1, 1)")
        where = f"the formula `{c.formula.strip()}`, checked by the app and written out as NumPy"
    else:
        radius = [RADIUS] if "r" in TARGET_SOURCES[c.target].replace("r**", "r ").split() else []
        body = "\n".join([cols, *radius, f"return ({TARGET_SOURCES[c.target]}).reshape(-1, 1)"])
        where = f"the app's target *{target.label}*"
    fn = code(f'def target(points):\n    """{where.split(",")[0].capitalize()}: points (n, {dim}) -> (n, 1)."""\n'
              + textwrap.indent(body, "    "))
    n_test = round(c.test_fraction * c.samples)
    if target.sampling == "grid":
        side = grid_side(target, c.samples)
        train = [f"side = {side}   # points per axis: round(samples ** (1/{dim}))",
                 f"t = np.linspace({_num(lo)}, {_num(hi)}, side)",
                 "gx, gy = np.meshgrid(t, t)",
                 "x_train = np.column_stack([gx.ravel(), gy.ravel()])"]
        how = f"a regular {side} × {side} grid over $[{lo:g}, {hi:.4g}]^2$ (no random numbers)"
    else:
        train = [f"x_train = rng.uniform({_num(lo)}, {_num(hi)}, size=({c.samples}, {dim}))"]
        how = f"{c.samples:,} points drawn uniformly from $[{lo:g}, {hi:.4g}]" + (f"^{dim}$" if dim > 1 else "$")
    noise = f" + {c.noise!r} * rng.standard_normal(({{n}}, 1))" if c.noise else ""
    lines = [*train, f"y_train = target(x_train){noise.format(n='len(x_train)')}",
             f"x_test = rng.uniform({_num(lo)}, {_num(hi)}, size=({n_test}, {dim}))   # held out: "
             f"round({c.test_fraction:g} × {c.samples})",
             f"y_test = target(x_test){noise.format(n='len(x_test)')}"]
    if c.target == "custom":
        lines += ["keep, keep_test = np.isfinite(y_train[:, 0]), np.isfinite(y_test[:, 0])   # drop inf and nan",
                  "x_train, y_train, x_test, y_test = x_train[keep], y_train[keep], x_test[keep_test], "
                  "y_test[keep_test]"]
    lines.append('print(f"{len(x_train)} training points, {len(x_test)} test points")')
    noise_text = f", plus Gaussian noise of standard deviation {c.noise:g}" if c.noise else ""
    return [md(f"""
        ## 1. The data

        The target is {where}. The training inputs are {how}; the targets are the function's values{noise_text}.
        The test set ({n_test:,} points, never trained on) is drawn uniformly, after the training set, from the
        same generator: the order of the draws is what makes the data equal to the app's."""),
        fn, code("\n".join(lines))]


def _uploaded_cells(spec: RunExport) -> list[Cell]:
    x, y = spec.data
    n, dim = x.shape
    table = [[*row_x, row_y] for row_x, row_y in zip(x.tolist(), y[:, 0].tolist())]
    packed = base64.b64encode(zlib.compress(np.asarray(table, dtype="<f8").tobytes(), 9)).decode("ascii")
    columns = "x, y, target" if dim == 2 else "x, target"
    n_test = min(int(round(spec.config.test_fraction * n)), n - 2)
    unpack = code(f"""
        # your CSV's {n:,} rows ({columns}) as exact float64 numbers: their bytes, zlib-compressed, in base64
        DATA = "{packed}"  # noqa: E501
        table = np.frombuffer(zlib.decompress(base64.b64decode(DATA)), dtype="<f8").reshape({n}, {dim + 1})
        x_all, y_all = table[:, :-1], table[:, -1:]
        print(x_all[:5], y_all[:5], sep="\\n")   # the first rows, as in your file""")
    split = code(f"""
        order = rng.permutation(len(x_all))
        n_test = {n_test}   # round({spec.config.test_fraction:g} × {n}), leaving at least 2 points to train on
        x_test, y_test = x_all[order[:n_test]], y_all[order[:n_test]]
        x_train, y_train = x_all[order[n_test:]], y_all[order[n_test:]]
        print(f"{{len(x_train)}} training points, {{len(x_test)}} test points")""")
    return [md(f"""
        ## 1. The data

        Your uploaded CSV ({n:,} rows, columns {columns}) is embedded below in a compact form that keeps every
        number exact. A random {spec.config.test_fraction:g} of the rows is held out as the test set, by a random
        permutation: the generator's first draw, as in the app."""), unpack, split]


# --- the network and the forward pass ----------------------------------------------------------------------------
def network_cells(spec: RunExport) -> list[Cell]:
    c = spec.config
    sizes = _sizes(spec)
    acts = [*c.activations, "identity"]
    if c.init == "notebook":
        init = ["scale = INIT_SCALE if k == len(sizes) - 2 else 1.0   # only the output layer is scaled",
                "W = scale * rng.standard_normal((d_in, d_out))",
                "b = scale * rng.standard_normal(d_out)"]
        how = ("the notebook's scheme: hidden weights and biases drawn from $N(0, 1)$, the output layer's times "
               f"the init scale {c.init_scale:g}")
    else:
        var = "2.0 / (d_in + d_out)" if c.init == "xavier" else "2.0 / d_in"
        init = [f"W = INIT_SCALE * np.sqrt({var}) * rng.standard_normal((d_in, d_out))",
                "b = np.zeros(d_out)"]
        how = (f"{c.init}: $W \\sim N(0, {var.replace('2.0', '2')})$ times the init scale {c.init_scale:g}, "
               "biases zero")
    used = list(dict.fromkeys(acts))
    table = "\n".join(f"{name!r}: ({ACTIVATION_SOURCES[name][0]}, {ACTIVATION_SOURCES[name][1]}),"
                      for name in used)
    sigmoid = SIGMOID + "\n\n" if {"sigmoid", "softplus"} & set(used) else ""   # the activations use it
    return [
        md(f"""
        ## 2. The network and its initial weights

        A multilayer perceptron: layer $i$ computes $z_i = \\sigma_i(a_i)$ with the pre-activation
        $a_i = z_{{i-1}} W_i + b_i$, from $z_0 = x$ to the prediction $z_N$ ({len(sizes) - 1} layers, the output
        layer linear). The weights are drawn from the same generator, right after the data, by {how}."""),
        code(f"""
        INIT_SCALE = {c.init_scale!r}
        sizes = {sizes}   # inputs, hidden widths, output
        activations = {acts}   # one per layer
        params = []   # [W, b] per layer, input side first: W (d_in, d_out), b (d_out,)
        for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            $init
            params.append([W, b])""", init="\n".join(init)),
        md("""
        ## 3. The forward pass

        Each activation comes with its derivative $\\sigma'(a)$, evaluated **at the pre-activation** $a$; $z =
        \\sigma(a)$ is passed along so that the sigmoid and tanh can reuse it. The forward pass keeps each layer's
        input, pre-activation and output: the backward pass needs them."""),
        code('''
        $sigmoid
        ACTIVATIONS = {   # name: (sigma(a), sigma'(a) given a and z = sigma(a))
            $table
        }


        def forward(x):
            """x (batch, d_in) -> the prediction z_N (batch, d_out), and each layer's (input, a, z)."""
            caches = []
            for (W, b), name in zip(params, activations):
                a = x @ W + b
                z = ACTIVATIONS[name][0](a)
                caches.append((x, a, z))
                x = z
            return x, caches''', sigmoid=sigmoid, table=table),
    ]


# --- loss, backward pass, optimiser ------------------------------------------------------------------------------
def loss_cells(spec: RunExport) -> list[Cell]:
    used = _used(spec, "loss")
    sources = "\n\n".join(LOSS_SOURCES[n].format(d=ac.get_loss(n).d if n == "huber" else None) for n in used)
    table = ", ".join(f"{n!r}: {n}" for n in used)
    return [md("""
        ## 4. The loss and the first adjoint $\\mu_N$

        The loss compares the prediction with the targets over the mini-batch of $B$ points. Its derivative gives
        the first adjoint $\\mu_N = -\\partial\\mathcal{L}/\\partial z_N$, returned together with the loss: the
        batch mean's $1/B$ is in $\\mu_N$, once."""),
        code(f"{sources}\n\nLOSSES = {{{table}}}")]


def backward_cells() -> list[Cell]:
    return [md("""
        ## 5. The backward pass: the adjoint method

        Training minimises $\\mathcal{L}(z_N)$ subject to the layer equations $z_i = \\phi_i(z_{i-1})$. With one
        Lagrange multiplier $\\mu_i$ per equation, setting the Lagrangian's derivatives to zero gives the
        **adjoint equations**

        $$\\mu_N = -\\frac{\\partial \\mathcal{L}}{\\partial z_N}, \\qquad
        \\mu_{i-1} = \\Bigl(\\frac{\\partial \\phi_i}{\\partial z_{i-1}}\\Bigr)^{\\top} \\mu_i, \\qquad
        \\frac{\\partial \\mathcal{L}}{\\partial \\theta_i} = -\\mu_i^{\\top}
        \\frac{\\partial \\phi_i}{\\partial \\theta_i}.$$

        One backward sweep of vector-Jacobian products, never a Jacobian matrix. For the dense layer
        $\\phi(x) = \\sigma(xW + b)$ they read, with $\\delta_i$ the adjoint of the pre-activation $a_i$:

        $$\\delta_i = \\mu_i \\odot \\sigma'(a_i), \\quad \\mu_{i-1} = \\delta_i W_i^{\\top}, \\quad
        \\frac{\\partial \\mathcal{L}}{\\partial W_i} = -z_{i-1}^{\\top} \\delta_i, \\quad
        \\frac{\\partial \\mathcal{L}}{\\partial b_i} = -\\textstyle\\sum_{\\text{batch}} \\delta_i.$$

        **Two traps of the original notebook**, which the app's Theory page measures against finite differences:

        1. *$\\sigma'$ at the output*: it evaluated the slope at $z_i = \\sigma(a_i)$ instead of at $a_i$. For ReLU
           the sign, and so the slope, is the same; for the sigmoid it is a different number and the gradient is
           wrong. Below, $\\sigma'$ gets $a$.
        2. *$1/B$ counted twice*: $\\mu_N$ already carries the batch mean, and the notebook averaged the parameter
           terms over the batch again, giving $\\partial\\mathcal{L}/\\partial\\theta \\,/\\, B$. Below, the
           batch is summed, not averaged."""),
        code('''
        def backward(caches, mu):
            """mu = mu_N (batch, d_out) -> [(dL/dW, dL/db), ...] input side first, by the adjoint recursion."""
            grads = []
            for (W, _), name, (x, a, z) in zip(params[::-1], activations[::-1], caches[::-1]):
                delta = mu * ACTIVATIONS[name][1](a, z)   # delta_i = mu_i * sigma'(a_i)
                grads.append((-(x.T @ delta), -delta.sum(axis=0)))   # dL/dW_i = -z_{i-1}^T delta_i, dL/db_i
                mu = delta @ W.T   # mu_{i-1} = delta_i W_i^T
            return grads[::-1]''')]


def optimiser_cells(spec: RunExport) -> list[Cell]:
    used = _used(spec, "optimiser")
    rules = "\n\n".join(OPTIMISER_SOURCES[n][1] for n in used)
    table = ", ".join(f"{n!r}: ({n}, {OPTIMISER_SOURCES[n][0]})" for n in used)
    names = " and ".join(ac.OPTIMISERS[n].label for n in used)
    return [md(f"""
        ## 6. The optimiser: {names}

        Differentiation and optimisation stay apart: the optimiser only sees each parameter array $w$ and its
        gradient. Weight decay (an L2 penalty) is added first, $g = \\partial\\mathcal{{L}}/\\partial w +
        \\mathrm{{wd}}\\,w$; then the rule updates $w$ and its state in place. A new optimiser starts with empty
        state."""),
        code(f'''
        $rules


        RULES = {{{table}}}   # name: (rule, state arrays per W or b)


        class Optimiser:
            """An update rule with its state: t steps taken, and the state arrays of each W and b."""

            def __init__(self, name):
                self.name, self.t = name, 0
                self.slots = [[np.zeros_like(w) for _ in range(RULES[name][1])] for layer in params for w in layer]

            def step(self, grads):
                self.t += 1
                pairs = zip([w for layer in params for w in layer], [g for layer in grads for g in layer])
                for (w, dw), slots in zip(pairs, self.slots):
                    RULES[self.name][0](w, dw + settings["weight_decay"] * w, slots, self.t)''', rules=rules)]


# --- training ----------------------------------------------------------------------------------------------------
def training_cells(spec: RunExport) -> list[Cell]:
    fields = {f for _, f, _ in spec.changes}
    change = []
    if spec.changes:
        change = ["    for field, value in CHANGES.get(step - 1, {}).items():   # a change you made in the app",
                  *(['        if field == "optimiser" and value != optimiser.name:',
                     "            optimiser = Optimiser(value)   # a new optimiser starts from empty state"]
                    if "optimiser" in fields else []),
                  "        settings[field] = value"]
    grown = (["    if batches.epoch_over(B):   # the batch size grew: too few points left in this epoch",
              "        end_epoch(step - 1)"] if "batch_size" in fields else [])
    loop = "\n".join([
        "for step in range(1, STEPS + 1):", *change, '    B = settings["batch_size"]', *grown,
        "    xb, yb = batches.next(B)",
        "    z, caches = forward(xb)",
        '    loss, mu = LOSSES[settings["loss"]](z, yb)',
        "    optimiser.step(backward(caches, mu))",
        "    losses.append(float(loss))",
        "    if batches.epoch_over(B):",
        "        end_epoch(step)"])
    return [md("""
        ## 7. Training

        Each epoch walks the training points in a fresh random order (one permutation from the generator) in
        mini-batches of $B$ points; the points left over at the end of an epoch (fewer than $B$) are skipped.
        Every step is one forward pass, the loss and $\\mu_N$, the $\\mu$ recursion back to $\\mu_0$, and one
        update. At each epoch's end the test loss is measured."""),
        code('''
        class Batches:
            """The training points in a fresh random order each epoch, taken in mini-batches."""

            def __init__(self, x, y):
                self.x, self.y = x, y
                self.shuffle()

            def shuffle(self):
                order = rng.permutation(len(self.x))
                self.xs, self.ys, self.pos = self.x[order], self.y[order], 0

            def epoch_over(self, B):
                return self.pos + B > len(self.x)

            def next(self, B):
                xb, yb = self.xs[self.pos:self.pos + B], self.ys[self.pos:self.pos + B]
                self.pos += B
                return xb, yb


        def test_loss():
            """The loss of the current network on the test set (nan without one)."""
            if not len(x_test):
                return np.nan
            return LOSSES[settings["loss"]](forward(x_test)[0], y_test)[0]


        def end_epoch(steps_taken):
            test_losses.append((steps_taken, test_loss()))
            batches.shuffle()'''),
        code("batches = Batches(x_train, y_train)\noptimiser = Optimiser(settings[\"optimiser\"])\n"
             "losses, test_losses = [], []   # the batch loss of each step; (step, test loss) at each epoch's end\n"
             + loop + '\nprint(f"{STEPS} steps, {len(test_losses)} epochs; last batch loss {losses[-1]!r}")')]


def result_cells(spec: RunExport) -> list[Cell]:
    shown = min(CHECKED_STEPS, spec.steps)
    lo, hi = _domain(spec)
    dim = _dim(spec)
    has_target = spec.data is None
    if dim == 1:
        fit = [f"line = np.linspace({_num(lo)}, {_num(hi)}, 200)[:, None]",
               "fig = go.Figure()",
               'fig.add_scatter(x=x_train[:, 0], y=y_train[:, 0], mode="markers", name="training data")',
               *(['fig.add_scatter(x=line[:, 0], y=target(line)[:, 0], name="target")'] if has_target else []),
               'fig.add_scatter(x=line[:, 0], y=forward(line)[0][:, 0], name="network")',
               'fig.update_layout(title="Fit", xaxis_title="x", yaxis_title="value")']
    else:
        left = ('fig.add_heatmap(x=t, y=t, z=target(points).reshape(60, 60), coloraxis="coloraxis", row=1, col=1)'
                if has_target else
                'fig.add_scatter(x=x_all[:, 0], y=x_all[:, 1], mode="markers", row=1, col=1,\n'
                '                marker={"color": y_all[:, 0], "coloraxis": "coloraxis"})')
        fit = [f"t = np.linspace({_num(lo)}, {_num(hi)}, 60)",
               "gx, gy = np.meshgrid(t, t)",
               "points = np.column_stack([gx.ravel(), gy.ravel()])",
               f'fig = make_subplots(rows=1, cols=2, subplot_titles=("{"target" if has_target else "your data"}", '
               '"network"))', left,
               'fig.add_heatmap(x=t, y=t, z=forward(points)[0].reshape(60, 60), coloraxis="coloraxis", row=1, col=2)',
               'fig.update_layout(title="Fit", coloraxis={"colorscale": "Viridis"})']
    return [
        md(f"## 8. The losses\n\nThe first {shown} batch losses and the last one, to every digit."),
        code(f"""
        for step, loss in enumerate(losses[:{shown}], start=1):
            print(f"step {{step}}: batch loss {{loss!r}}")
        print(f"step {{STEPS}}: batch loss {{losses[-1]!r}} (the last step)")"""),
        md("## 9. Loss and fit\n\nThe loss on a log scale (each step's batch, and the test set at each epoch's "
           "end), then the network's prediction beside the " + ("target." if has_target else "data.")),
        code("""
        fig = go.Figure()
        fig.add_scatter(x=np.arange(1, STEPS + 1), y=losses, name="train (batch)")
        fig.add_scatter(x=[s for s, _ in test_losses], y=[v for _, v in test_losses], name="test (epoch end)")
        fig.update_layout(title="Loss", xaxis_title="step", yaxis_title="loss", yaxis_type="log")
        fig.show()"""),
        code("\n".join([*fit, "fig.show()"])),
        md(f"## 10. The check\n\nThe app's losses, embedded when you downloaded this notebook: the first {shown} "
           "and the last must equal the ones above to a relative 1e-9 (on another machine the last digits of a long "
           "run can differ)."),
        code(f"""
        $first
        APP_LAST_LOSS = {spec.last_loss!r}
        assert np.allclose(losses[:{shown}], APP_FIRST_LOSSES, rtol=1e-9, atol=0), "the first losses differ"
        assert np.isclose(losses[-1], APP_LAST_LOSS, rtol=1e-9, atol=0), "the last loss differs"
        print("The losses equal the app's to 1e-9.")""", first=_floats("APP_FIRST_LOSSES", spec.first_losses)),
    ]
