"""The presets train as they did at commit e70ee6e: first 100 losses and final parameters to 1e-9 relative.

The fixture tests/data/preset_losses.json was written by tests/make_preset_losses.py from that commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from make_preset_losses import record

import adjoint_core as ac

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "preset_losses.json"
EXPECTED = json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def recorded() -> dict[str, dict]:
    return record(ac)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_losses_equal_the_recorded_ones(recorded, name):
    now, then = recorded[name], EXPECTED[name]
    assert (now["steps"], now["diverged"]) == (then["steps"], then["diverged"])
    np.testing.assert_allclose(now["loss"], then["loss"], rtol=1e-9, err_msg=f"{name}: losses now vs recorded")
    np.testing.assert_allclose(now["theta"], then["theta"], rtol=1e-9, err_msg=f"{name}: sum of theta")


def test_every_preset_is_recorded():
    assert set(ac.presets) <= set(EXPECTED)
