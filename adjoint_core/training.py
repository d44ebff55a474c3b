"""TrainingRun: a config, a model, an optimiser, the data, a random generator and a bounded history.

A run is put together from small parts, each in its own module: the mini-batches of each epoch
(batching.py), the backup that undoes an update when the model diverges (rollback.py), the history that
records each finite step (history.py), theta kept for replay (snapshots.py) and the state as a Snapshot
(runstate.py, written as files by runfile.py).  Same config and seed give bit-identical runs.

Divergence: a step whose loss or gradient is not finite does not count (the step count and the position in
the epoch stay, so trying again tries the same batch) and changes nothing but ``diverged`` and
``divergence_steps``.  When the loss is not finite, the previous step's update led there: the parameters and
optimiser state go back to those before it, the last state whose loss was finite, and that step is taken back
too unless it ended an epoch (its count, batch, history row and replay snapshot), so trying again repeats the
same two steps instead of counting on.  NumPy's floating-point warnings (a sigmoid's exp overflowing, a
diverging run's inf) are silenced here, once per call of ``step``, ``run_steps``, ``run_for`` and ``test_loss``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import changes as hp
from . import runstate
from .batching import Batches
from .changes import TUNABLE
from .config import DATA_TARGET, RunConfig
from .datafile import split_data
from .errors import ConfigError
from .history import History, Mark, NewRows
from .limits import check_batch_size, check_seed
from .losses import get_loss
from .network import MLP
from .optimisers import make_optimiser
from .rollback import Rollback
from .runfile import Snapshot, read_run_files, write_run_files
from .snapshots import NewSnapshots, ThetaSnapshots
from .targets import get_target, make_dataset, shared_data

Array = np.ndarray
TEST_CHUNK = 2**13   # floats per activation array in one test-loss chunk (64 KB, below malloc's mmap threshold)


@dataclass(frozen=True)
class Progress:
    """What a redraw reads of a run that trains elsewhere (``TrainingRun.progress``, ``apply``): its counters,
    divergence, parameters, the history rows since a mark and the replay snapshots kept since the last Progress."""

    step_count: int
    epoch_count: int
    diverged: str | None
    divergence_steps: tuple[int, ...]
    theta: Array
    rows: NewRows
    snapshots: NewSnapshots


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
        self.data = shared_data(self.data)   # runs of the same setup and seed hold one copy
        d_in, d_out = self.data.x.shape[1], self.data.y.shape[1]
        self.net = MLP([d_in, *config.hidden, d_out], config.activation, init=config.init,
                       init_scale=config.init_scale, rng=self.rng)
        self.loss_fn = get_loss(config.loss)
        self.optimiser = make_optimiser(config.optimiser, config.lr, config.beta, config.weight_decay)
        check_batch_size(config.batch_size, self.n_train)
        self.history = History(self.net.n_layers)
        self.theta_snapshots = ThetaSnapshots(self.net.theta)   # for replay: theta at thinned steps
        self.rollback = Rollback(self.net.theta)
        self.step_count = 0
        self.epoch_count = 0
        self.diverged: str | None = None
        self.divergence_steps: tuple[int, ...] = ()   # the steps of the last two divergences, oldest first
        self.changes: list[hp.Change] = []   # hyperparameters changed on the running model, oldest first
        self._grad = np.zeros_like(self.net.theta)   # dL/dtheta of the last step, (P,)
        self._dWs = [dW for dW, _ in self.net.views(self._grad)]   # its weight parts, views
        self.batches = Batches(self.data.x, self.data.y, self.rng)

    # --- epochs and the test loss ------------------------------------------------------------
    @property
    def n_train(self) -> int:
        return len(self.data.x)

    @property
    def steps_per_epoch(self) -> int:
        """n_train // batch_size."""
        return self.n_train // self.config.batch_size

    def _end_epoch(self) -> None:
        self.epoch_count += 1
        test = self._test_loss()
        if math.isfinite(test) or not len(self.data.x_test):   # NaN: there is no test set
            self.history.record_epoch(self.epoch_count, self.step_count, test)
        else:   # the last update made the model blow up on the test set
            self.rollback.restore(self.optimiser)
            self._diverge(f"the test loss became {test} after step {self.step_count}", self.step_count)
            self.history.drop_epoch()
        self.batches.shuffle()

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
        B, net, batches = self.config.batch_size, self.net, self.batches
        if batches.at_end(B):
            self._end_epoch()
        step, pos = self.step_count + 1, batches.pos
        xb, yb = batches.batch(B)
        loss, mu = self.loss_fn(net.forward(xb), yb)
        if not math.isfinite(loss):   # the last update went too far: take it back
            self._take_back()
            self._diverge(f"the loss became {loss} at step {step}", step)
            return loss
        mus = net.backward(mu, out=self._grad)[1]   # dL/dtheta into self._grad
        net.forget()
        if not self.history.record_step(step, loss, mus + self._dWs):
            self._diverge(f"the adjoints or gradients overflowed at step {step}", step)
            return loss
        batches.advance(B)
        self.step_count = step
        self.rollback.save(self.optimiser, (step, pos, loss, self.epoch_count))   # what taking it back needs
        self.optimiser.step((net.theta,), (self._grad,))
        if step >= self.theta_snapshots.due:   # theta kept for replay
            self.theta_snapshots.add(step, net.theta)
        self.diverged = None
        if batches.at_end(B):
            self._end_epoch()
        return loss

    def _take_back(self) -> None:
        """The last update led to a loss that is not finite: undo it and, unless its step ended an epoch, uncount
        that step (its batch, history row, share of the epoch's mean and replay snapshot; a setting changed after
        it now counts as changed before it, where the retried step trains with it)."""
        if not self.rollback.armed:
            return
        step, pos, loss, epoch = self.rollback.step
        self.rollback.restore(self.optimiser)
        if epoch == self.epoch_count:
            self.batches.pos, self.step_count = pos, step - 1
            self.history.take_back_step(loss)
            self.theta_snapshots.drop_from(step)
            self.changes = hp.rewind(self.changes, step - 1)

    def _diverge(self, reason: str, step: int) -> None:
        self.diverged = reason
        self.divergence_steps = (*self.divergence_steps, step)[-2:]

    def run_steps(self, n: int) -> int:
        """Up to n steps, stopping early on divergence; returns the steps tried (a diverged one included)."""
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
        or divergence; returns the steps tried (a diverged one included)."""
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

    # --- a copy of the run elsewhere ------------------------------------------------------------
    def progress(self, mark: Mark | None = None) -> Progress:
        """This run's Progress, with the history rows after ``mark`` (``History.since``); it hands over the
        replay snapshots kept since the last Progress (``ThetaSnapshots.hand_over``): the copy keeps them."""
        return Progress(self.step_count, self.epoch_count, self.diverged, self.divergence_steps,
                        self.net.theta.copy(), self.history.since(mark), self.theta_snapshots.hand_over())

    def apply(self, progress: Progress) -> None:
        """Bring this copy of a run up to ``progress`` of the same run trained elsewhere: parameters, counters,
        divergence, history rows and replay snapshots (not the optimiser state, data order or random state:
        ``restore`` a snapshot for the whole run)."""
        np.copyto(self.net.theta, progress.theta)
        self.step_count, self.epoch_count = progress.step_count, progress.epoch_count
        self.diverged, self.divergence_steps = progress.diverged, progress.divergence_steps
        self.history.load(progress.rows)
        self.theta_snapshots.receive(progress.snapshots)

    # --- state: runstate.py -----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A copy of the full state: parameters, optimiser, data order, rng, counters, history; the data and the
        order are read-only (shared.py), so the snapshot holds them as they are."""
        return runstate.capture(self)

    def restore(self, snap: Snapshot) -> None:
        """Set this run's state from a snapshot of a run with the same config structure."""
        runstate.restore(self, snap)

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
