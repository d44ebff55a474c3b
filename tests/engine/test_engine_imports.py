"""adjoint_core is NumPy only (never imports streamlit or plotly) and exposes the public API of its docstring
and the README's "engine in ten lines", with no import circle among its modules."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adjoint_core as ac

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "adjoint_core"
FORBIDDEN = ("streamlit", "plotly")


def test_fresh_import_does_not_load_ui_libraries():
    code = ("import sys, json, adjoint_core as ac; "
            "ac.TrainingRun(ac.presets['nonlinear-relu'], seed=0).run_steps(3); "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert "adjoint_core" in modules and "numpy" in modules
    loaded = [m for m in modules if m.split(".")[0] in FORBIDDEN]
    assert loaded == [], f"importing adjoint_core loaded {loaded}"


def core_sources():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 10, files
    return files


@pytest.mark.parametrize("path", core_sources(), ids=lambda p: p.name)
def test_source_never_mentions_ui_imports(path):
    text = path.read_text(encoding="utf-8")
    for lib in FORBIDDEN:
        assert f"import {lib}" not in text, f"{path.name} contains 'import {lib}'"
        pattern = rf"^\s*(from\s+{lib}\b|import\s+.*\b{lib}\b)|__import__\(\s*['\"]{lib}|import_module\(\s*['\"]{lib}"
        match = re.search(pattern, text, flags=re.MULTILINE)
        assert match is None, f"{path.name} imports {lib}: {match.group(0)!r}"


@pytest.mark.parametrize("name", ["MLP", "MSELoss", "SGD", "Momentum", "Nesterov", "Adam", "presets",
                                  "TrainingRun", "ConfigError", "RunConfig", "HuberLoss", "ACTIVATIONS",
                                  "check_gradients", "dot_product_test", "numeric_gradient", "relative_error"])
def test_public_names_exist(name):
    assert hasattr(ac, name), name
    assert name in ac.__all__


def test_all_names_resolve():
    for name in ac.__all__:
        assert getattr(ac, name) is not None, name


@pytest.mark.parametrize("name, target, sizes, activation, epochs", [
    ("linear-sigmoid", "linear", (64, 128, 64), "sigmoid", 500),
    ("linear-relu", "linear", (64, 128, 64), "relu", 500),
    ("nonlinear-relu", "quadratic", (64, 64), "relu", 1000),
    ("wave2d-relu", "wave2d", (64, 64), "relu", 100),
])
def test_notebook_presets(name, target, sizes, activation, epochs):
    cfg = ac.presets[name]
    assert isinstance(cfg, ac.RunConfig)
    assert cfg.epochs == epochs
    assert cfg.target == target and cfg.hidden == sizes and cfg.activation == activation
    assert cfg.batch_size == 50 and cfg.init == "notebook"


def test_api_example_from_design_runs():
    net = ac.MLP([2, 64, 64, 1], activation="relu", seed=0)
    x = np.random.default_rng(0).uniform(0, 1, size=(50, 2))
    y = x[:, :1] - x[:, 1:]
    pred = net.forward(x)
    assert pred.shape == (50, 1) and pred.dtype == np.float64
    loss, mu = ac.MSELoss()(pred, y)
    grads, mus = net.backward(mu)
    assert [g[0].shape for g in grads] == [(2, 64), (64, 64), (64, 1)]
    assert [m.shape for m in mus] == [(50, 1), (50, 64), (50, 64), (50, 2)]
    theta = net.theta.copy()
    ac.Momentum(lr=1e-3, beta=0.9, weight_decay=0.0).step(net.params, grads)
    assert not np.array_equal(theta, net.theta)
    for cls in (ac.SGD, ac.Nesterov, ac.Adam):
        cls(lr=1e-3).step(net.params, grads)
    assert issubclass(ac.ConfigError, ValueError)
    run = ac.TrainingRun(ac.presets["nonlinear-relu"], seed=0)
    run.step()
    run.run_epochs(2)
    assert run.step_count == 5
    h = run.history
    assert len(h.loss) == 5 and h.mu_norms.shape == (5, 4) and h.grad_norms.shape == (5, 3)
    assert len(h.test_loss) == 2


def test_the_readme_engine_block_runs():
    """The README's "engine in ten lines" runs as printed; its last line shows bad input raising ConfigError."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## The engine in ten lines", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    rng = np.random.default_rng(0)
    namespace = {"x": rng.random((8, 2)), "y": rng.random((8, 1))}
    with pytest.raises(ac.ConfigError, match="sizes"):
        exec(block, namespace)
    assert len(namespace["grads"]) == 3 and len(namespace["mus"]) == 4 and namespace["run"].step_count == 1000
    assert all(c.passed for c in namespace["checks"])


def import_graph(package: Path) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports (by ``from . import x``, ``from .x import y``,
    ``import adjoint_core.x`` and the like), wherever the import stands: under ``if TYPE_CHECKING:`` or in a
    function too.  The package's ``__init__`` is the module "__init__"."""
    name = package.name
    modules = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        edges = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                inside = node.level == 1 or (node.level == 0 and (node.module or "").split(".")[0] == name)
                if not inside:
                    continue
                module = (node.module or "").removeprefix(name).lstrip(".") if node.level == 0 else node.module
                if module:
                    edges.add(module.split(".")[0])
                else:   # from . import x: a submodule, or a name of __init__
                    edges.update(a.name if a.name in modules else "__init__" for a in node.names)
            elif isinstance(node, ast.Import):
                edges.update(a.name.split(".")[1] for a in node.names
                             if a.name.startswith(name + ".") and a.name.split(".")[1] in modules)
    for edges in graph.values():
        edges &= modules
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` as [a, b, ..., a], or [] when there is none."""
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_adjoint_core_has_no_import_circle():
    """Type-only imports count: a module that needs another's type imports it, never the other way round too."""
    graph = import_graph(CORE)
    assert {"training", "snapshots", "replay", "runstate"} <= set(graph)
    assert "training" in graph["replay"] and "snapshots" in graph["training"]
    assert find_cycle(graph) == [], f"import circle: {' -> '.join(find_cycle(graph))}"


def test_the_circle_finder_sees_a_type_only_circle(tmp_path):
    """The check above would catch the circle snapshots.py had (``if TYPE_CHECKING: from .training import``)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text("from . import b\nA = 1\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n")
    (package / "c.py").write_text("import pkg.a\n\ndef f():\n    from pkg import a\n")
    graph = import_graph(package)
    assert graph == {"__init__": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    (package / "c.py").write_text("from . import A\n")   # a name of __init__, which imports a
    assert find_cycle(import_graph(package)) == ["__init__", "a", "b", "c", "__init__"]
