"""TrainingRun: a config, a model, an optimiser, the data, a random generator and a bounded history.

Batches: each epoch draws a fresh permutation of the training set and walks it in mini-batches of
``batch_size``; an epoch is ``n_train // batch_size`` steps (the remainder is skipped, as in the
notebook).  Same config and seed give bit-identical runs.

Divergence: a step whose loss or gradient is not finite changes nothing but ``diverged``; when
the loss is not finite the parameters and optimiser state are set back to those of the previous
step, the last state whose loss was finite: each step copies them before its update.
NumPy's floating-point warnings (a sigmoid's exp overflowing, a diverging run's inf) are silenced here,
once per call of ``step``, ``run_steps``, ``run_for`` and ``test_loss``.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np

from . import changes as hp
from .changes import TUNABLE
from .config import DATA_TARGET, RunConfig
from .datafile import split_data
from .errors import ConfigError
from .history import History
from .limits import check_batch_size, check_seed
from .losses import get_loss
from .network import MLP
from .optimisers import make_optimiser
from .runfile import Snapshot, read_run_files, write_run_files
from .snapshots import ThetaSnapshots
from .targets import Dataset, get_target, make_dataset

Array = np.ndarray
TEST_CHUNK = 2**13   # floats per activation array in one test-loss chunk (64 KB, below malloc's mmap threshold)


class TrainingRun:
    """One training run; see the module docstring for batching and divergence."""

    def __init__(self, config: RunConfig, seed: int = 0, data: tuple[Array, Array] | None = None) -> None:
        self.config = config
        self.seed = check_seed(seed)
        self.rng = np.random.default_rng(self.seed)
        if config.target == DATA_TARGET:
            if data is None:
                raise ConfigError("target", "a run on your own data needs the data", "upload a CSV first")
            self.data = split_data(data[0], data[1], config.test_fraction, self.rng)
        else:
            target = get_target(config.target, config.formula or None, config.dim)
            self.data = make_dataset(target, config.samples, config.noise, config.test_fraction, self.rng)
        d_in, d_out = self.data.x.shape[1], self.data.y.shape[1]
        self.net = MLP([d_in, *config.hidden, d_out], config.activation, init=config.init,
                       init_scale=config.init_scale, rng=self.rng)
        self.loss_fn = get_loss(config.loss)
        self.optimiser = make_optimiser(config.optimiser, config.lr, config.beta, config.weight_decay)
        check_batch_size(config.batch_size, self.n_train)
        self.history = History(self.net.n_layers)
        steps = self.history.steps
        self._step_at, self._epoch_at = steps.index, self.history.epochs.index   # name -> column or slice of a row
        columns = range(steps.data.shape[1])
        # the columns of ||mu_N||^2, ..., ||mu_0||^2, ||dL/dW_1||^2, ..., ||dL/dW_N||^2 in a step's row
        self._sq_at = [*columns[steps.index["mu_sq"]], *columns[steps.index["grad_sq"]]]
        self.theta_snapshots = ThetaSnapshots(self.net.theta)   # for replay: theta at thinned steps
        self.step_count = 0
        self.epoch_count = 0
        self.diverged: str | None = None
        self.changes: list[hp.Change] = []   # hyperparameters changed on the running model, oldest first
        self._grad = np.zeros_like(self.net.theta)   # dL/dtheta of the last step, (P,)
        self._grads = self.net.views(self._grad)
        self._dWs = [dW for dW, _ in self._grads]
        self._saved_theta = np.empty_like(self.net.theta)   # theta, optimiser state and t before the last update
        self._saved_state: list[Array] = []
        self._saved_t, self._saved_for = 0, self.optimiser
        self._can_restore = False
        self._epoch_sum = 0.0
        self._epoch_steps = 0
        self._shuffle()

    # --- data order -------------------------------------------------------------------------
    @property
    def n_train(self) -> int:
        return len(self.data.x)

    @property
    def steps_per_epoch(self) -> int:
        """n_train // batch_size."""
        return self.n_train // self.config.batch_size

    def _shuffle(self) -> None:
        self._perm = self.rng.permutation(self.n_train)
        self._xs, self._ys = self._permuted()
        self._pos = 0

    def _permuted(self) -> tuple[Array, Array]:
        """The training x, y in this epoch's order (np.take: faster than x[perm] for these shapes)."""
        return np.take(self.data.x, self._perm, axis=0), np.take(self.data.y, self._perm, axis=0)

    def _end_epoch(self) -> None:
        self.epoch_count += 1
        test = self._test_loss()
        if math.isfinite(test) or not len(self.data.x_test):
            row, at = self.history.epochs.next_row(), self._epoch_at
            row[at["epoch"]], row[at["step"]] = self.epoch_count, self.step_count
            row[at["loss"]] = self._epoch_sum / self._epoch_steps if self._epoch_steps else math.nan
            row[at["test_loss"]] = test
        else:   # the last update made the model blow up on the test set
            self._restore_backup()
            self.diverged = f"the test loss became {test} after step {self.step_count}"
        self._epoch_sum, self._epoch_steps = 0.0, 0
        self._shuffle()

    def test_loss(self) -> float:
        """Loss of the current model on the test set (NaN when there is none).

        The test set is evaluated in chunks of ``test_chunk_rows`` points (the loss is a batch mean, so the
        chunk losses are combined weighted by size), which keeps memory at TEST_CHUNK floats per layer (more
        on layers wider than TEST_CHUNK / 32: a chunk has at least 32 rows) and below malloc's threshold for
        mapping fresh pages from the OS on every allocation.
        """
        with np.errstate(all="ignore"):
            return self._test_loss()

    def _test_loss(self) -> float:
        """``test_loss`` without its np.errstate, for ``_end_epoch`` inside a step's."""
        x, y = self.data.x_test, self.data.y_test
        if not len(x):
            return math.nan
        rows = self.test_chunk_rows
        predict = self.net.predict
        if len(x) <= rows:
            return self.loss_fn(predict(x), y)[0]
        total = sum(self.loss_fn(predict(x[s:s + rows]), y[s:s + rows])[0] * min(rows, len(x) - s)
                    for s in range(0, len(x), rows))
        return total / len(x)

    @property
    def test_chunk_rows(self) -> int:
        """Test points per chunk: TEST_CHUNK floats over the widest layer, at least 32."""
        return max(32, TEST_CHUNK // max(self.net.sizes))

    # --- training ---------------------------------------------------------------------------
    def step(self) -> float:
        """One mini-batch: forward, loss, the mu recursion, update, record. Returns the batch loss."""
        with np.errstate(all="ignore"):
            return self._step()

    def _step(self) -> float:
        """``step`` without its np.errstate (run_steps and run_for enter it once for many steps)."""
        B = self.config.batch_size
        if self._pos + B > len(self._xs):
            self._end_epoch()
        pos = self._pos
        xb, yb = self._xs[pos:pos + B], self._ys[pos:pos + B]
        self._pos = pos + B
        self.step_count += 1
        net = self.net
        loss, mu = self.loss_fn(net.forward(xb), yb)
        if not math.isfinite(loss):
            self._restore_backup()
            self.diverged = f"the loss became {loss} at step {self.step_count}"
            return loss
        mus = net.backward(mu, out=self._grad)[1]   # dL/dtheta into self._grad
        row, at = self.history.steps.next_row(), self._step_at
        row[at["step"]], row[at["loss"]] = self.step_count, loss
        total = 0.0
        for k, a in zip(self._sq_at, mus + self._dWs, strict=True):   # ||mu_N||^2, ..., ||dL/dW_N||^2
            row[k] = v = np.vdot(a, a)
            total += v
        if not math.isfinite(total):
            self.history.steps.n -= 1
            self.diverged = f"the adjoints or gradients overflowed at step {self.step_count}"
            return loss
        self._back_up()
        self.optimiser.step((net.theta,), (self._grad,))
        if self.step_count >= self.theta_snapshots.due:
            self.theta_snapshots.add(self.step_count, net.theta)
        self.diverged = None
        self._epoch_sum += loss
        self._epoch_steps += 1
        if self._pos + B > len(self._xs):
            self._end_epoch()
        return loss

    def _slots(self) -> list[Array]:
        return [a for slots in self.optimiser.state for a in slots]

    def _back_up(self) -> None:
        """Copy theta and the optimiser's state and t, before an update (into arrays kept between steps:
        allocating arrays over 128 KB each step maps fresh pages from the OS, several times slower)."""
        opt, state = self.optimiser, self._slots()
        if opt is not self._saved_for or len(self._saved_state) != len(state):
            self._saved_state = [np.empty_like(a) for a in state]
        np.copyto(self._saved_theta, self.net.theta)
        for saved, a in zip(self._saved_state, state):
            np.copyto(saved, a)
        self._saved_t, self._saved_for, self._can_restore = opt.t, opt, True

    def _restore_backup(self) -> None:
        """Go back to the parameters and optimiser state before the last update, once.  An optimiser chosen
        since that update keeps its fresh state."""
        if not self._can_restore:
            return
        np.copyto(self.net.theta, self._saved_theta)
        opt = self.optimiser
        if opt is self._saved_for:
            if self._saved_state:
                for a, saved in zip(self._slots(), self._saved_state):
                    np.copyto(a, saved)
            else:   # the first update: the state did not exist yet
                opt.state = []
            opt.t = self._saved_t
        self._can_restore = False

    def run_steps(self, n: int) -> int:
        """Up to n steps, stopping early on divergence; returns the steps taken."""
        step = self._step
        with np.errstate(all="ignore"):
            for i in range(n):
                step()
                if self.diverged:
                    return i + 1
        return n

    def run_epochs(self, n: int = 1) -> int:
        """n epochs' worth of steps (n * steps_per_epoch); returns the steps taken."""
        return self.run_steps(n * self.steps_per_epoch)

    def run_for(self, seconds: float, max_steps: int | None = None, until_epoch: int | None = None) -> int:
        """Train until ``seconds`` of wall time have passed, or max_steps, or epoch ``until_epoch`` has ended,
        or divergence; returns the steps taken."""
        end = time.perf_counter() + seconds
        done = 0
        step, clock = self._step, time.perf_counter
        with np.errstate(all="ignore"):
            while (max_steps is None or done < max_steps) and (until_epoch is None or self.epoch_count < until_epoch):
                step()
                done += 1
                if self.diverged or clock() >= end:
                    break
        return done

    def set_hyperparameters(self, **changes: Any) -> None:
        """Change lr, beta, weight_decay, batch_size, optimiser or loss on the running model.

        A new optimiser starts from zero state; the others keep the model and its optimiser state.  Each change
        is recorded in ``changes`` at the current step.
        """
        bad = sorted(set(changes) - set(TUNABLE))
        if bad:
            raise ConfigError(bad[0], "cannot change on a running model", ", ".join(TUNABLE))
        config = self.config.replace(**changes)
        check_batch_size(config.batch_size, self.n_train)
        if config.optimiser != self.config.optimiser:
            self.optimiser = make_optimiser(config.optimiser, config.lr, config.beta, config.weight_decay)
        else:
            self.optimiser.lr, self.optimiser.beta = config.lr, config.beta
            self.optimiser.weight_decay = config.weight_decay
        if config.loss != self.config.loss:
            self.loss_fn = get_loss(config.loss)
        self.changes = hp.record(self.changes, self.step_count, self.config, config)
        self.config = config

    # --- state ------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A deep copy of the full state: parameters, optimiser, data order, rng, counters, history."""
        meta = {"config": self.config.to_dict(), "seed": self.seed,
                "step_count": self.step_count, "epoch_count": self.epoch_count, "pos": self._pos,
                "epoch_sum": self._epoch_sum, "epoch_steps": self._epoch_steps,
                "optimiser_t": self.optimiser.t, "n_slots": len(self._slots()),
                "rng": self.rng.bit_generator.state, "diverged": self.diverged,
                "changes": hp.to_json(self.changes)}
        arrays = {"theta": self.net.theta.copy(), "perm": self._perm.copy(),
                  "history_steps": self.history.steps.rows(), "history_epochs": self.history.epochs.rows(),
                  "x": self.data.x.copy(), "y": self.data.y.copy(),
                  "x_test": self.data.x_test.copy(), "y_test": self.data.y_test.copy()}
        for i, s in enumerate(self._slots()):
            arrays[f"slot{i}"] = s.copy()
        arrays.update(self.theta_snapshots.arrays())
        return Snapshot(json.loads(json.dumps(meta)), arrays)

    def restore(self, snap: Snapshot) -> None:
        """Set this run's state from a snapshot of a run with the same config structure."""
        meta, arrays = snap.meta, snap.arrays
        theta = arrays["theta"]
        if theta.shape != self.net.theta.shape:
            raise ConfigError("run file", f"{theta.size} parameters do not fit this network's {self.net.theta.size}",
                              "a run saved from the same architecture")
        config = RunConfig.from_mapping(meta["config"])
        self.data = Dataset(x=arrays["x"], y=arrays["y"], x_test=arrays["x_test"], y_test=arrays["y_test"],
                            target=self.data.target)
        self.set_hyperparameters(**{k: getattr(config, k) for k in TUNABLE})
        self.changes = hp.from_json(meta.get("changes", []))   # run files from before the record have none
        n_slots = int(meta["n_slots"])
        if n_slots not in (0, self.optimiser.n_slots):
            raise ConfigError("run file", f"{n_slots} optimiser state arrays for {config.optimiser}",
                              f"0 or {self.optimiser.n_slots}")
        diverged = meta.get("diverged")
        if diverged is not None and not isinstance(diverged, str):
            raise ConfigError("run file", "field 'diverged' is not text", "a saved run")
        np.copyto(self.net.theta, theta)
        self.optimiser.state = ([[arrays[f"slot{j}"].copy() for j in range(i, i + self.optimiser.n_slots)]
                                 for i in range(0, n_slots, self.optimiser.n_slots)] if n_slots else [])
        self.optimiser.t = int(meta["optimiser_t"])
        self._perm = arrays["perm"].copy()
        self._xs, self._ys = self._permuted()
        self._pos = int(meta["pos"])
        self.step_count, self.epoch_count = int(meta["step_count"]), int(meta["epoch_count"])
        self._epoch_sum, self._epoch_steps = float(meta["epoch_sum"]), int(meta["epoch_steps"])
        try:
            self.rng.bit_generator.state = meta["rng"]
        except (TypeError, ValueError, KeyError, OverflowError):
            raise ConfigError("run file", "the random generator state is malformed", "a saved run") from None
        try:
            self.history.steps.load(arrays["history_steps"])
            self.history.epochs.load(arrays["history_epochs"])
        except ValueError as e:
            raise ConfigError("run file", str(e), "a run saved from the same architecture") from None
        self.theta_snapshots.load(arrays, self.net.theta, self.step_count)
        self.diverged = diverged
        self._can_restore = False

    def export(self) -> tuple[str, bytes]:
        """(JSON text of config and counters, .npz bytes of every array): ``runfile.write_run_files``."""
        return write_run_files(self.snapshot())

    @classmethod
    def load(cls, meta_json: str | bytes, npz: bytes) -> TrainingRun:
        """Rebuild a run from ``export``'s two files (``runfile.read_run_files``); malformed ones raise
        ConfigError."""
        return cls.from_snapshot(read_run_files(meta_json, npz))

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> TrainingRun:
        """A run with the state of ``snap`` (from ``snapshot``)."""
        config = RunConfig.from_mapping(snap.meta["config"])
        data = (snap.arrays["x"], snap.arrays["y"]) if config.target == DATA_TARGET else None
        run = cls(config, seed=snap.meta["seed"], data=data)
        run.restore(snap)
        return run
