"""The app's layout (ui/__init__.py): folders by role, each importing only the folders below it, no module in an
import circle (type-only and function-level imports count), no folder over MAX_MODULES modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_engine_imports import find_cycle

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULES = 12
PRIVATE = "ui.streamlit_private"
# each folder -> the folders (besides itself and the engine) it may import
ALLOWED = {
    "app_pages": {"ui", "ui.classroom", "ui.train", "ui.screen", "ui.plots", "ui.services", PRIVATE, "codegen"},
    "ui.classroom": {"ui.train", "ui.screen", "ui.plots", "ui.services", PRIVATE},
    "ui.train": {"ui.screen", "ui.plots", "ui.services", PRIVATE, "codegen"},
    "ui.screen": {"ui.plots", PRIVATE},
    "ui.plots": set(),
    "ui.services": {PRIVATE},
    "codegen": set(),
    "ui": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    paths = [*ROOT.glob("ui/**/*.py"), *ROOT.glob("app_pages/*.py"), *ROOT.glob("codegen/*.py"), ROOT / "app.py"]
    return {module_name(p): p for p in paths}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The app modules ``name`` imports, wherever the import stands (``from . import x`` resolved to the
    submodule x when there is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != name}


def folder(module: str) -> str:
    if module == PRIVATE or module.count(".") == 0:
        return module if module in ALLOWED or module == PRIVATE else "app"
    if module.startswith("ui.") and module.count(".") >= 2:
        return ".".join(module.split(".")[:2])
    return module.split(".")[0]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {name: imports(name, path, set(modules)) for name, path in modules.items()}


def test_each_folder_imports_only_the_folders_below_it(graph):
    up = [f"{a} -> {b}" for a, edges in graph.items() for b in edges
          if folder(a) in ALLOWED and folder(b) != folder(a) and folder(b) not in ALLOWED[folder(a)]]
    assert up == []


def test_no_module_is_in_an_import_circle(graph):
    assert find_cycle(graph) == [], f"import circle: {' -> '.join(find_cycle(graph))}"


def test_no_folder_holds_more_than_a_dozen_modules():
    for package in [ROOT / "app_pages", ROOT / "codegen", *ROOT.glob("ui/*/")]:
        modules = [p for p in package.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES, (package.name, len(modules))


def test_the_checks_see_an_arrow_up(graph):
    """The layer check would fail on a figure builder that imported a Train page part."""
    assert "ui.plots.figures" in graph and "ui.train.live" in graph["app_pages.train"]
    wrong = {**graph, "ui.plots.figures": graph["ui.plots.figures"] | {"ui.train.session"}}
    assert any(folder(b) not in ALLOWED[folder(a)] and folder(a) != folder(b)
               for a, edges in wrong.items() for b in edges if folder(a) in ALLOWED)
