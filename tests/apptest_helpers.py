"""Shared helpers for the AppTest suites: start the app, read metrics and Plotly figures."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
W = "w_"   # prefix of the sidebar widgets' session keys (ui.train.settings.W)


def app(query: dict[str, str] | None = None) -> AppTest:
    """The app on its default (Train) page, run once."""
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def run_of(at: AppTest):
    """The session's TrainingRun."""
    return at.session_state["run"]


def metric(at: AppTest, label: str) -> str:
    """The value shown by the metric with this label."""
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}; have {[m.label for m in at.metric]}")


def step_count(at: AppTest) -> int:
    return int(metric(at, "Step").replace(",", ""))


def figure(at: AppTest, key: str) -> dict:
    """The Plotly figure of the chart with this key, arrays decoded to NumPy."""
    return _decode(json.loads(at.get_by_key(key).proto.spec))


def _decode(obj):
    if isinstance(obj, dict):
        if set(obj) >= {"dtype", "bdata"}:
            a = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            shape = obj.get("shape")   # plotly.js's form: "rows, cols"
            return a.reshape([int(n) for n in str(shape).split(",")]) if shape is not None else a
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]
