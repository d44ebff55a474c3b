"""Tests live in folders that mirror the project: engine/ (adjoint_core), app/ (ui, app_pages; AppTest and unit
tests), codegen/, bench/ (benchmarks/), browser/ (headless Chromium) and scaleout/ (replicas behind HAProxy).
Their shared helpers stay here (apptest_helpers, safety_helpers, local_app, data/), and the app tests reuse the
engine tests' tables of bad input and their import-graph check, so both folders are importable from any test."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE / "engine"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
