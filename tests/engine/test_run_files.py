"""Run files saved before TrainingRun was split into parts load and train on as they did.

tests/data/run_files/ was written by tests/make_run_files.py with the engine of commit e4f0b19: a run changed
mid-epoch (lr and batch size, two recorded changes), a run on uploaded data with Adam, and a diverged run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from make_run_files import NEXT_STEPS

import adjoint_core as ac
from adjoint_core.runfile import read_run_files, unpack_run

FILES = Path(__file__).resolve().parents[1] / "data" / "run_files"
EXPECTED = json.loads((FILES / "expected.json").read_text())


def saved(name: str) -> tuple[bytes, bytes]:
    return unpack_run((FILES / f"{name}.zip").read_bytes())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_old_run_file_loads_with_its_counters_and_saves_back_unchanged(name):
    files = saved(name)
    run = ac.TrainingRun.load(*files)
    then = EXPECTED[name]
    assert (run.step_count, run.epoch_count, run.diverged) == (then["step_count"], then["epoch_count"],
                                                              then["diverged"])
    assert len(run.changes) == then["changes"] and len(run.history.loss) > 0
    np.testing.assert_allclose(run.net.theta.sum(), then["theta"], rtol=1e-12)
    old, new = read_run_files(*files), run.snapshot()
    added = {"divergence_steps": []}   # fields newer than the file, at their defaults
    assert {k: v for k, v in new.meta.items() if k not in added} == old.meta
    assert {k: new.meta[k] for k in added} == added
    assert sorted(new.arrays) == sorted(old.arrays)
    for key, a in old.arrays.items():
        np.testing.assert_array_equal(new.arrays[key], a, err_msg=key)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if "next_losses" in e))
def test_an_old_run_file_trains_on_exactly_as_it_did(name):
    run = ac.TrainingRun.load(*saved(name))
    assert run.run_steps(NEXT_STEPS) == NEXT_STEPS
    then = EXPECTED[name]
    np.testing.assert_allclose(run.history.loss[-NEXT_STEPS:], then["next_losses"], rtol=1e-12,
                               err_msg=f"{name}: losses after loading, now vs recorded")
    np.testing.assert_allclose(run.net.theta.sum(), then["next_theta"], rtol=1e-12)


def test_the_fixture_covers_changes_own_data_and_divergence():
    assert EXPECTED["changed-mid-epoch"]["changes"] == 2
    assert read_run_files(*saved("own-data-adam")).meta["config"]["target"] == "data"
    assert EXPECTED["diverged-huge-target"]["diverged"]
