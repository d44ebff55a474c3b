"""Smoke test of benchmarks/bench_app.py in its quick mode: it runs end to end and prints every measurement.

Only the presence of the measurement lines is checked, never the numbers (they depend on machine load).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_bench_app_quick_prints_every_measurement():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_app.py"), "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    out = res.stdout
    assert res.returncode == 0, f"exit {res.returncode}\n{out}\n{res.stderr[-3000:]}"
    for label in ("(a) Play -> epoch", "(b) chart refreshes", "loss_chart", "Step metric", "(c) Pause click",
                  "(d) first load", "bare Streamlit app", "app / bare", "(e) RSS", "(f) main thread", "long tasks"):
        assert label in out, f"{label!r} missing from:\n{out}"
    assert "engine only" in out and "ratio" in out
