"""Write tests/data/run_files/: run files (.zip, as 'Download run' saves them) and what each run did next.

    python tests/make_run_files.py [--repo DIR] [--out DIR]

``--repo`` is the checkout whose adjoint_core writes them (default: this one), so files saved by an older
commit (``git archive REV adjoint_core | tar -x -C DIR``) can be checked to load and train on identically
(test_run_files.py).  ``expected.json`` holds, per file, the counters and the losses of the next steps.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from make_preset_losses import engine_and_out

HERE = Path(__file__).resolve().parent
NEXT_STEPS = 30


def runs(ac) -> dict[str, object]:
    """name -> a TrainingRun in a state worth saving: mid-epoch after changes, on own data, diverged."""
    tiny = ac.RunConfig(target="quadratic", samples=26, test_fraction=0.3, hidden=(5, 3), activation="tanh",
                        init="xavier", init_scale=1.0, optimiser="momentum", lr=0.05, beta=0.9,
                        weight_decay=1e-3, batch_size=4, epochs=1)
    changed = ac.TrainingRun(tiny, seed=3)
    changed.run_steps(40)
    changed.set_hyperparameters(lr=0.02, batch_size=3)
    changed.run_steps(7)
    x = np.random.default_rng(5).uniform(-1, 1, (30, 2))
    own = ac.TrainingRun(tiny.replace(target="data", optimiser="adam", hidden=(4,)), seed=1,
                         data=(x, np.sin(3 * x[:, :1]) * x[:, 1:]))
    own.run_steps(25)
    huge = ac.RunConfig(target="custom", formula="1e150*(1+x)", dim=1, samples=100, test_fraction=0.2,
                        hidden=(16, 16), activation="relu", init="he", optimiser="momentum", lr=1e-3, batch_size=10)
    diverged = ac.TrainingRun(huge, seed=0)
    diverged.run_steps(50)
    assert diverged.diverged, "the diverging run did not diverge"
    return {"changed-mid-epoch": changed, "own-data-adam": own, "diverged-huge-target": diverged}


def write(ac, out: Path) -> None:
    """Each run's .zip into ``out`` and expected.json: counters, then NEXT_STEPS more steps' losses (not after
    divergence: what a diverged run does next is not the file's business)."""
    from adjoint_core.runfile import pack_run
    out.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, run in runs(ac).items():
        (out / f"{name}.zip").write_bytes(pack_run(*run.export()))
        entry = {"step_count": run.step_count, "epoch_count": run.epoch_count, "diverged": run.diverged,
                 "changes": len(run.changes), "theta": float(run.net.theta.sum())}
        if not run.diverged:
            run.run_steps(NEXT_STEPS)
            entry["next_losses"] = [float(v) for v in run.history.loss[-NEXT_STEPS:]]
            entry["next_theta"] = float(run.net.theta.sum())
        expected[name] = entry
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ac, out = engine_and_out(__doc__, HERE / "data" / "run_files", argv)
    write(ac, out)
    return 0

if __name__ == "__main__":
    sys.exit(main())
