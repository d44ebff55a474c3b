"""Milliseconds per training step of adjoint_core against a minimal vectorised NumPy step, PyTorch eager, and
optionally the engine of another checkout (an A/B).

    python benchmarks/bench_core.py [--steps N] [--repeats R] [--quick] [--ab DIR]

For each notebook preset (batch 50, float64) it times
  (a) ``ac.TrainingRun(cfg, seed=0).run_steps(n)``: forward, backward, update and history recording,
  (b) ``numpy_reference.NumpyStep`` on the same weights and batches: the minimal vectorised NumPy step,
  (c) PyTorch eager on CPU with the same weights and EMA momentum, when torch is installed,
  (d) with ``--ab DIR``: (a) for the adjoint_core package in DIR (e.g. ``git archive e70ee6e | tar -x -C DIR``),
and prints median and best ms/step and the ratios (a)/(b) and (a)/(d) of the medians.  The timings are
interleaved: each of the R rounds times every contender once, so drifting load on a shared machine falls on
all of them alike.  It also prints the wave preset's engine-only wall time for its full run of epochs.  BLAS
runs on one thread, as in the app's training process (the matrices are batch x 64: a second thread gains
nothing).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import adjoint_core as ac  # noqa: E402
from benchmarks.numpy_reference import NumpyStep  # noqa: E402

PRESETS = ("linear-sigmoid", "linear-relu", "nonlinear-relu", "wave2d-relu")
Batches = list[tuple[np.ndarray, np.ndarray]]


def environment() -> list[str]:
    """Lines describing NumPy, its BLAS, the CPUs, the BLAS thread settings and the load."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    threads = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    return [f"python {sys.version.split()[0]}, numpy {np.__version__}",
            f"BLAS: {blas.get('name')} {blas.get('version')} ({blas.get('openblas configuration', 'n/a')})",
            f"CPUs: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}); {threads}; "
            f"load average {os.getloadavg()[0]:.2f}"]


def other_engine(directory: str) -> ModuleType:
    """The adjoint_core package of another checkout, imported as ``adjoint_core_ab`` beside this one."""
    path = Path(directory).resolve() / "adjoint_core"
    spec = importlib.util.spec_from_file_location("adjoint_core_ab", path / "__init__.py",
                                                  submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["adjoint_core_ab"] = module
    spec.loader.exec_module(module)
    return module


def make_batches(run: ac.TrainingRun, n: int, seed: int = 0) -> Batches:
    """n mini-batches of the run's training data, a fresh permutation per epoch, remainder skipped."""
    x, y, B = run.data.x, run.data.y, run.config.batch_size
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        perm = rng.permutation(len(x))
        out += [(x[perm[i:i + B]], y[perm[i:i + B]]) for i in range(0, len(x) - B + 1, B)]
    return out[:n]


def engine_timer(engine: ModuleType, name: str) -> Callable[[int], float]:
    """(a) or (d): n -> ms per step of ``run_steps(n)`` for a run of preset ``name``, the app's hot path."""
    run = engine.TrainingRun(engine.presets[name], seed=0)

    def timed(n: int) -> float:
        t0 = time.perf_counter()
        done = run.run_steps(n)
        if run.diverged:
            raise RuntimeError(f"{run.diverged}: the timing would be meaningless")
        return (time.perf_counter() - t0) * 1e3 / done

    return timed


def step_timer(step: Callable[[], object]) -> Callable[[int], float]:
    """n -> ms per call of ``step`` over n calls."""
    def timed(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        return (time.perf_counter() - t0) * 1e3 / n

    return timed


def numpy_stepper(run: ac.TrainingRun, batches: Batches) -> Callable[[], object]:
    """(b): the minimal NumPy step on the run's weights and the same batches, cycled."""
    cfg, it = run.config, itertools.cycle(batches)
    step = NumpyStep(run.net, cfg.lr, cfg.beta, cfg.weight_decay)
    return lambda: step(*next(it))


def torch_stepper(run: ac.TrainingRun, batches: Batches) -> Callable[[], None] | None:
    """(c): a PyTorch eager float64 CPU step with the same weights and EMA momentum, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    cfg = run.config
    fns = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda a: a}
    acts = [fns[name] for name in run.net.activations]
    ws = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for pair in run.net.params for p in pair]
    ms = [torch.zeros_like(w) for w in ws]
    it = itertools.cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches])

    def step() -> None:
        x, y = next(it)
        z = x
        for (W, b), act in zip(zip(ws[::2], ws[1::2]), acts):
            z = act(z @ W + b)
        loss = 0.5 * ((z - y) ** 2).sum() / len(x)
        grads = torch.autograd.grad(loss, ws)
        with torch.no_grad():
            for w, g, m in zip(ws, grads, ms):
                m.mul_(cfg.beta).add_(g + cfg.weight_decay * w, alpha=1.0 - cfg.beta)   # EMA momentum
                w.sub_(cfg.lr * m)

    return step


def interleaved(timers: dict[str, Callable[[int], float]], n: int, repeats: int, warmup: int
                ) -> dict[str, list[float]]:
    """name -> ms/step of each of ``repeats`` rounds; every round times each timer once, in turn (in reverse
    order every other round, so that none always runs first)."""
    for timed in timers.values():
        timed(warmup)
    times: dict[str, list[float]] = {name: [] for name in timers}
    for r in range(repeats):
        for name in list(timers)[::-1 if r % 2 else 1]:
            times[name].append(timers[name](n))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per timing (default 2000)")
    parser.add_argument("--repeats", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--quick", action="store_true", help="tiny counts, a smoke test (numbers meaningless)")
    parser.add_argument("--ab", metavar="DIR", help="also time the adjoint_core package of the checkout in DIR")
    args = parser.parse_args(argv)
    steps, repeats = (20, 2) if args.quick else (args.steps, args.repeats)
    warmup = max(1, steps // 10)
    other = other_engine(args.ab) if args.ab else None

    threadpool_limits(limits=1, user_api="blas")
    print("\n".join(environment()))
    print("BLAS threads in use: " + ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()
                                             if p["user_api"] == "blas"))
    print(f"{repeats} interleaved rounds of {steps} steps after {warmup} warm-up; ms per step, median / best"
          + (f"; A/B against {args.ab}" if other else "") + "\n")
    head = (f"{'preset':<16}{'sizes':<15}{'engine med':>11}{'best':>7}{'numpy med':>10}{'best':>7}"
            f"{'torch med':>10}{'engine/numpy':>13}" + (f"{'A/B med':>9}{'engine/A/B':>11}" if other else ""))
    print(head)
    print("-" * len(head))
    for name in PRESETS:
        run = ac.TrainingRun(ac.presets[name], seed=0)
        batches = make_batches(run, 512)
        timers = {"engine": engine_timer(ac, name), "numpy": step_timer(numpy_stepper(run, batches))}
        torch_step = torch_stepper(run, batches)
        if torch_step:
            timers["torch"] = step_timer(torch_step)
        if other:
            timers["ab"] = engine_timer(other, name)
        times = interleaved(timers, steps, repeats, warmup)
        med = {k: statistics.median(v) for k, v in times.items()}
        torch_med = f"{med['torch']:.4f}" if "torch" in med else "-"
        row = (f"{name:<16}{'-'.join(map(str, run.net.sizes)):<15}{med['engine']:>11.4f}{min(times['engine']):>7.4f}"
               f"{med['numpy']:>10.4f}{min(times['numpy']):>7.4f}{torch_med:>10}{med['engine'] / med['numpy']:>12.2f}x")
        if other:
            row += f"{med['ab']:>9.4f}{med['engine'] / med['ab']:>10.3f}x"
        print(row)

    cfg = ac.presets["wave2d-relu"]
    run, epochs = ac.TrainingRun(cfg, seed=0), 1 if args.quick else cfg.epochs
    t0 = time.perf_counter()
    done = run.run_epochs(epochs)
    elapsed = time.perf_counter() - t0
    print(f"\nwave2d-relu engine only: {epochs} epochs ({done:,} steps) in {elapsed:.2f} s "
          f"({elapsed * 1e3 / done:.3f} ms/step), final test loss {run.history.test_loss[-1]:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
