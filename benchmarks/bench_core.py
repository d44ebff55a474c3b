"""Milliseconds per training step of adjoint_core against a per-sample loop and PyTorch eager.

    python benchmarks/bench_core.py [--steps N] [--repeats R] [--quick]

For each notebook preset (batch 50, float64) it times
  (a) ``ac.TrainingRun(cfg, seed=0).run_steps(n)``: forward, backward, update and history recording,
  (b) ``loop_reference.LoopMLP.train_step`` on the same data, with N // 40 steps and at most 3 repeats,
  (c) PyTorch eager on CPU with the same weights and EMA momentum, when torch is installed,
and prints median and best ms/step, the speed-up (b)/(a) of the medians, and the wave preset's
engine-only wall time for its full run of epochs.  BLAS runs on one thread, as in the app's server (the
matrices are batch x 64: a second thread gains nothing).  Numbers depend on machine load: run it on a quiet
machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import adjoint_core as ac  # noqa: E402
from benchmarks.loop_reference import LoopMLP  # noqa: E402

PRESETS = ("linear-sigmoid", "linear-relu", "nonlinear-relu", "wave2d-relu")
Batches = list[tuple[np.ndarray, np.ndarray]]


def environment() -> list[str]:
    """Lines describing NumPy, its BLAS, the CPUs and the BLAS thread settings."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    threads = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    return [f"python {sys.version.split()[0]}, numpy {np.__version__}",
            f"BLAS: {blas.get('name')} {blas.get('version')} ({blas.get('openblas configuration', 'n/a')})",
            f"CPUs: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}); {threads}"]


def make_batches(run: ac.TrainingRun, n: int, seed: int = 0) -> Batches:
    """n mini-batches of the run's training data, a fresh permutation per epoch, remainder skipped."""
    x, y, B = run.data.x, run.data.y, run.config.batch_size
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        perm = rng.permutation(len(x))
        out += [(x[perm[i:i + B]], y[perm[i:i + B]]) for i in range(0, len(x) - B + 1, B)]
    return out[:n]


def time_steps(step: Callable[[], object], n: int, repeats: int, warmup: int) -> list[float]:
    """ms per call of ``step`` for each of ``repeats`` timings of n calls, after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - t0) * 1e3 / n)
    return times


def time_engine(cfg: ac.RunConfig, n: int, repeats: int, warmup: int) -> list[float]:
    """(a): ms/step of ``run_steps(n)``, the app's hot path."""
    run = ac.TrainingRun(cfg, seed=0)
    run.run_steps(warmup)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = run.run_steps(n)
        times.append((time.perf_counter() - t0) * 1e3 / done)
        if run.diverged:
            raise RuntimeError(f"{run.diverged}: the timing would be meaningless")
    return times


def time_loop(run: ac.TrainingRun, batches: Batches, n: int, repeats: int) -> list[float]:
    """(b): ms/step of the per-sample loop reference on the same weights and batches."""
    cfg, loop = run.config, LoopMLP(run.net)
    it = itertools.cycle(batches)
    return time_steps(lambda: loop.train_step(*next(it), cfg.lr, cfg.beta, cfg.weight_decay), n, repeats, 1)


def torch_stepper(run: ac.TrainingRun, batches: Batches):
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


def fmt(times: Sequence[float] | None) -> tuple[str, str]:
    """(median, best) as text, or ('-', '-')."""
    return ("-", "-") if not times else (f"{statistics.median(times):.3f}", f"{min(times):.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="engine and torch steps per timing (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per measurement (default 5)")
    parser.add_argument("--quick", action="store_true", help="tiny counts, a smoke test (numbers meaningless)")
    args = parser.parse_args(argv)
    steps, repeats = (20, 2) if args.quick else (args.steps, args.repeats)
    warmup, loop_steps, loop_repeats = max(1, steps // 10), max(2, steps // 40), min(3, repeats)

    threadpool_limits(limits=1, user_api="blas")
    print("\n".join(environment()))
    print("BLAS threads in use: " + ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()
                                             if p["user_api"] == "blas"))
    try:
        import torch
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("torch: not installed")
    print(f"engine/torch: {repeats} x {steps} steps after {warmup} warm-up; loop: {loop_repeats} x {loop_steps}; "
          "ms per step, median / best\n")

    head = f"{'preset':<16}{'sizes':<15}{'B':>4}{'engine med':>12}{'best':>8}{'loop med':>10}{'best':>8}" \
           f"{'torch med':>11}{'best':>8}{'loop/engine':>13}"
    print(head)
    print("-" * len(head))
    for name in PRESETS:
        cfg = ac.presets[name]
        run = ac.TrainingRun(cfg, seed=0)
        batches = make_batches(run, max(steps, loop_steps))
        engine = time_engine(cfg, steps, repeats, warmup)
        loop = time_loop(run, batches, loop_steps, loop_repeats)
        torch_step = torch_stepper(run, batches)
        torch_times = time_steps(torch_step, steps, repeats, warmup) if torch_step else None
        sizes = "-".join(map(str, run.net.sizes))
        speedup = statistics.median(loop) / statistics.median(engine)
        print(f"{name:<16}{sizes:<15}{cfg.batch_size:>4}{fmt(engine)[0]:>12}{fmt(engine)[1]:>8}"
              f"{fmt(loop)[0]:>10}{fmt(loop)[1]:>8}{fmt(torch_times)[0]:>11}{fmt(torch_times)[1]:>8}"
              f"{speedup:>12.0f}x")

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
