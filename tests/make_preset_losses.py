"""Write tests/data/preset_losses.json: the first 100 step losses of every preset and a few variants.

    python tests/make_preset_losses.py [--repo DIR] [--out FILE]

``--repo`` is the checkout whose adjoint_core is used (default: this one), so the fixture can be made
from an older commit (``git archive REV | tar -x -C DIR``) and compared by test_preset_losses.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import ModuleType

N_STEPS = 100
HERE = Path(__file__).resolve().parent
VARIANTS = {   # name -> (preset, config changes): every optimiser, the Huber loss and a fused activation
    "wave2d-relu/sgd": ("wave2d-relu", {"optimiser": "sgd"}),
    "wave2d-relu/nesterov": ("wave2d-relu", {"optimiser": "nesterov"}),
    "wave2d-relu/adam": ("wave2d-relu", {"optimiser": "adam"}),
    "nonlinear-relu/huber-tanh": ("nonlinear-relu", {"loss": "huber", "activation": "tanh"}),
    "nonlinear-relu/softplus-adam": ("nonlinear-relu", {"activation": "softplus", "optimiser": "adam"}),
}


def record(ac) -> dict[str, dict]:
    """name -> {"loss": step losses (history.loss after N_STEPS steps), "steps": steps taken, "diverged",
    "theta": the sum of the parameters after them (after divergence: those kept, the last finite ones)}."""
    configs = {name: cfg for name, cfg in ac.presets.items()}
    configs.update({name: ac.presets[base].replace(**changes) for name, (base, changes) in VARIANTS.items()})
    out = {}
    for name, cfg in configs.items():
        run = ac.TrainingRun(cfg, seed=0)
        steps = run.run_steps(N_STEPS)
        out[name] = {"loss": [float(v) for v in run.history.loss], "steps": steps, "diverged": run.diverged,
                     "theta": float(run.net.theta.sum())}
    return out


def engine_and_out(doc: str, out: Path, argv: list[str] | None) -> tuple[ModuleType, Path]:
    """From the command line of a fixture writer (``doc``: its module docstring): the adjoint_core of
    ``--repo`` (default: this checkout) and the ``--out`` path (default ``out``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent)
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.repo.resolve()))
    import adjoint_core
    return adjoint_core, args.out


def main(argv: list[str] | None = None) -> int:
    ac, out = engine_and_out(__doc__, HERE / "data" / "preset_losses.json", argv)
    out.write_text(json.dumps(record(ac), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
