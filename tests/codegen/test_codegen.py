"""codegen: the exported script and notebook rebuild the run in plain NumPy and reproduce the engine's losses.

Each exported script runs in a subprocess (BLAS on one thread, as in the app) and its printed losses are compared
with the engine's history to 1e-9 relative; a few notebooks run under nbclient with the venv's ipykernel.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import adjoint_core as ac
import codegen
from adjoint_core.datafile import parse_csv
from codegen.cells import TARGET_SOURCES, cells
from codegen.formula_code import FUNCTIONS, formula_source

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
BASE = ac.presets["nonlinear-relu"]   # 80 training points, 1 step per epoch at batch 50
MAX_CELL_LINES = 40


def trained(config: ac.RunConfig, steps: int, seed: int = 0, data=None) -> ac.TrainingRun:
    run = ac.TrainingRun(config, seed=seed, data=data)
    assert run.run_steps(steps) == steps and not run.diverged
    return run


def csv_data(dim: int, n: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """An uploaded CSV of n rows, read by the app's parser."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-1, 1, (n, dim)), 4)
    y = np.sin(3 * x[:, :1]) + (x[:, 1:] ** 2 if dim == 2 else 0) + 0.1 * rng.standard_normal((n, 1))
    header = "x,y,target" if dim == 2 else "x,target"
    text = header + "\n" + "\n".join(",".join(f"{v:.6g}" for v in row) for row in np.hstack([x, y]))
    return parse_csv(text.encode())


def printed_losses(text: str) -> dict[int, float]:
    return {int(m[1]): float(m[2]) for m in re.finditer(r"step (\d+): batch loss (\S+)", text)}


def assert_reproduces(run: ac.TrainingRun, printed: dict[int, float]) -> None:
    """The printed first 100 and last losses equal the engine's (its history is exact below 4096 steps)."""
    engine = run.history.loss
    assert len(engine) == run.step_count
    steps = sorted(printed)
    assert steps == [*range(1, min(100, run.step_count) + 1), run.step_count][:len(steps)] and len(steps) >= 2
    got = np.array([printed[s] for s in steps])
    np.testing.assert_allclose(got, engine[np.array(steps) - 1], rtol=1e-9, atol=0)


def run_script(run: ac.TrainingRun, tmp_path: Path) -> str:
    path = tmp_path / codegen.SCRIPT_NAME
    path.write_text(codegen.script(codegen.from_run(run)))
    out = subprocess.run([sys.executable, path.name], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "The losses equal the app's to 1e-9." in out.stdout
    assert all((tmp_path / name).stat().st_size > 1000 for name in codegen.PLOT_FILES)
    return out.stdout


def preset_run(name: str) -> ac.TrainingRun:
    """A preset a little over 100 steps in (the exploding one: before it diverges)."""
    steps = {"large-init-exploding": 3, "wave2d-relu": 170}.get(name, 120)
    return trained(ac.presets[name], steps)


@pytest.mark.parametrize("name", list(ac.presets))
def test_every_preset_exported_as_a_script_reproduces_the_engine(name, tmp_path):
    run = preset_run(name)
    assert_reproduces(run, printed_losses(run_script(run, tmp_path)))


VARIANTS = {
    "per-layer tanh, leaky relu, softplus; sgd; he": dict(hidden=(8, 8, 8), activation=("tanh", "leaky_relu",
                                                           "softplus"), optimiser="sgd", init="he", init_scale=1.0),
    "sigmoid, identity; nesterov; huber; xavier; noise": dict(hidden=(16, 8), activation=("sigmoid", "identity"),
                                                              optimiser="nesterov", loss="huber", init="xavier",
                                                              noise=0.3, lr=0.05, samples=130),
    "adam, no hidden layer, no weight decay": dict(hidden=(), optimiser="adam", lr=0.01, weight_decay=0.0),
    "custom 2D formula with undefined points": dict(target="custom", dim=2, formula="sqrt(x - 0.3) * cos(y) ** 2 "
                                                    "+ sigmoid(-x) / e", samples=300, hidden=(16,),
                                                    optimiser="adam", lr=0.01),
    "custom constant formula": dict(target="custom", dim=1, formula="2 ** 3 - pi", test_fraction=0.0),
}


@pytest.mark.parametrize("changes", VARIANTS.values(), ids=VARIANTS.keys())
def test_variants_reproduce_the_engine(changes, tmp_path):
    run = trained(BASE.replace(**changes), 110, seed=7)
    assert_reproduces(run, printed_losses(run_script(run, tmp_path)))


@pytest.mark.parametrize("dim", [1, 2])
def test_an_uploaded_csv_is_embedded_and_split_with_the_seed(dim, tmp_path):
    data = csv_data(dim, 300)
    run = trained(BASE.replace(target="data", hidden=(16, 16), batch_size=20), 105, seed=11, data=data)
    text = codegen.script(codegen.from_run(run))
    assert "DATA = " in text and "rng.permutation(len(x_all))" in text
    assert_reproduces(run, printed_losses(run_script(run, tmp_path)))


def test_settings_changed_mid_run_are_replayed_at_the_same_steps(tmp_path):
    start = BASE.replace(samples=300, hidden=(16,))   # 4 steps per epoch at batch 50
    run = trained(start, 37, seed=2)
    run.set_hyperparameters(lr=0.01, batch_size=70)   # the batch grows mid-epoch: that epoch ends early
    run.run_steps(40)
    run.set_hyperparameters(optimiser="adam", loss="huber", lr=0.003)
    run.run_steps(30)
    spec = codegen.from_run(run)
    assert spec.config == start
    assert spec.changes == ((37, "lr", 0.01), (37, "batch_size", 70), (77, "loss", "huber"),
                            (77, "optimiser", "adam"), (77, "lr", 0.003))   # at one step: in the setup table's order
    assert_reproduces(run, printed_losses(run_script(run, tmp_path)))
    run.changes = run.changes[1:]   # a record that lost a change does not rebuild the run: refused
    with pytest.raises(ac.ConfigError, match="does not rebuild it"):
        codegen.from_run(run)


def test_the_first_losses_are_exact_after_the_history_averaged_them():
    small = BASE.replace(hidden=(4,), samples=60)
    run = trained(small, 8300)   # past the 8192-row history
    assert run.history.steps.compactions > 0
    spec = codegen.from_run(run)
    replay = trained(small, 100)
    assert spec.first_losses == tuple(replay.history.loss) and spec.last_loss == run.history.loss[-1]


def test_the_script_passes_ruff_and_the_notebook_cells_stay_short(tmp_path):
    runs = [preset_run("wave2d-relu"), trained(BASE.replace(**VARIANTS["custom 2D formula with undefined points"]), 5),
            trained(BASE.replace(target="data", hidden=(16,)), 5, data=csv_data(2, 2000))]
    for i, run in enumerate(runs):
        spec = codegen.from_run(run)
        path = tmp_path / f"run{i}.py"
        path.write_text(codegen.script(spec))
        for config in ([], ["--config", str(ROOT / "pyproject.toml")]):
            out = subprocess.run(["ruff", "check", "--no-cache", *config, str(path)], capture_output=True, text=True)
            assert out.returncode == 0, out.stdout
        for cell in codegen.notebook(spec).cells:
            assert len(cell.source.splitlines()) <= MAX_CELL_LINES, cell.source[:300]
        code = "\n".join(c.text for c in cells(spec) if c.kind == "code")
        assert "adjoint_core" not in code and "eval(" not in code and "exec(" not in code


def test_refusals_name_the_limit():
    assert "at least one training step" in codegen.refusal(ac.TrainingRun(BASE))
    big = ac.TrainingRun(BASE.replace(target="data", samples=2, hidden=(4,)), seed=0,
                         data=(np.linspace(0, 1, 25_000)[:, None], np.zeros((25_000, 1))))
    big.run_steps(1)
    assert "25,000 points" in codegen.refusal(big) and f"{codegen.MAX_EXPORT_ROWS:,}" in codegen.refusal(big)
    with pytest.raises(ac.ConfigError, match="20,000"):
        codegen.from_run(big)
    long = trained(BASE, 1)
    long.step_count = codegen.MAX_EXPORT_STEPS + 1
    assert f"at most {codegen.MAX_EXPORT_STEPS:,}" in codegen.refusal(long)
    exploding = ac.TrainingRun(ac.presets["large-init-exploding"])
    exploding.run_steps(50)
    assert exploding.diverged and "diverged" in codegen.refusal(exploding)
    refused = codegen.download(long, "script")
    assert refused.startswith("raise SystemExit(") and "at most" in refused
    assert "at most" in nbformat.reads(codegen.download(long, "notebook"), 4).cells[0].source


def _target_fn(spec) -> callable:
    """The exported ``target`` function, defined from the export's source."""
    source = next(c.text for c in cells(spec) if c.text.startswith("def target("))
    namespace = {"np": np}
    exec(compile(ast.parse(source), "<export>", "exec"), namespace)   # the test's own check of the exported code
    return namespace["target"]


@pytest.mark.parametrize("name", sorted(ac.TARGETS))
def test_every_built_in_target_is_written_with_the_engine_arithmetic(name):
    assert set(TARGET_SOURCES) == set(ac.TARGETS)
    target = ac.TARGETS[name]
    spec = codegen.RunExport(BASE.replace(target=name), 0, 1, (), None, (1.0,), 1.0)
    x = np.random.default_rng(0).uniform(*target.domain, (500, target.dim))
    np.testing.assert_array_equal(_target_fn(spec)(x), target.fn(x))


FORMULAS = [*(f"{f}(x * 0.7 - 0.2) + 1" for f in FUNCTIONS), "x ** 3 - 2 ** -x", "-(x / 3) ** 0.5 * +x",
            "sin(2 * pi * x) * exp(-x) + e ** 2", "abs(-3) * x - log(2)", "x / sigmoid(x - 1) ** sigmoid(x)",
            "-sigmoid(x)"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_compiles_to_numpy_code_with_the_engine_values(text):
    source, constant = formula_source(text, 1)
    assert not constant and "eval" not in source
    x = np.random.default_rng(1).uniform(0, 1, 400)
    with np.errstate(all="ignore"):
        got = eval(compile(ast.parse(source, mode="eval"), "<formula>", "eval"), {"np": np, "x": x})
    np.testing.assert_array_equal(got, ac.parse_formula(text, 1)(x[:, None])[:, 0])


def test_a_bad_formula_is_refused_by_the_engine_checker():
    with pytest.raises(ac.ConfigError, match="only a listed function"):
        formula_source("__import__('os').system('ls')", 1)
    assert formula_source("2 * 4", 1) == ("8.0", True)


def run_notebook(run: ac.TrainingRun, tmp_path: Path) -> str:
    nb = nbformat.reads(codegen.notebook_text(codegen.from_run(run)), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=ENV)
    out = io.StringIO()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            out.write(output.get("text", ""))
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    return out.getvalue()


@pytest.mark.slow   # two Jupyter kernels: about 12 s
def test_notebooks_run_in_jupyter_and_reproduce_the_engine(tmp_path):
    for run in (trained(ac.presets["linear-sigmoid"], 120), trained(BASE.replace(target="data"), 101, seed=4,
                                                                        data=csv_data(2, 200))):
        text = run_notebook(run, tmp_path)
        assert "The losses equal the app's to 1e-9." in text
        assert_reproduces(run, printed_losses(text))
