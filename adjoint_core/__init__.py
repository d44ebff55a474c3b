"""adjoint_core: a vectorised NumPy MLP whose backward pass is the adjoint method.

    import adjoint_core as ac
    net = ac.MLP([2, 64, 64, 1], activation="relu", seed=0)
    loss, mu = ac.MSELoss()(net.forward(x), y)       # mu = mu_N = -dL/dz_N
    grads, mus = net.backward(mu)                     # [(dL/dW, dL/db), ...], [mu_N, ..., mu_0]
    ac.Momentum(lr=1e-3, beta=0.9).step(net.params, grads)
    run = ac.TrainingRun(ac.presets["wave2d-relu"], seed=0); run.run_epochs(5)

An activation, a loss or an optimiser is added in one file (activations.py, losses.py, optimisers.py): the
app reads names, labels and what else it needs from ``ACTIVATIONS``, ``LOSSES`` and ``OPTIMISERS``.  Every
limit on input is in ``ac.limits``; what each chart's one-sentence summary says is computed in
``ac.summaries``.  NumPy only: never imports streamlit or plotly.
"""

from . import limits, summaries
from .activations import ACTIVATIONS, Activation, get_activation
from .config import RunConfig, parse_hidden
from .errors import ConfigError
from .formula import parse_formula
from .gradcheck import check_gradients, dot_product_test, numeric_gradient, relative_error
from .history import History
from .losses import LOSSES, HuberLoss, Loss, MSELoss, get_loss
from .network import MLP, Dense
from .optimisers import OPTIMISERS, SGD, Adam, Momentum, Nesterov, Optimiser, make_optimiser
from .presets import presets
from .runfile import Snapshot
from .targets import TARGETS, Dataset, Target, get_target, make_dataset
from .training import TrainingRun

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "RunConfig", "parse_hidden", "ConfigError",
    "check_gradients", "dot_product_test", "numeric_gradient", "relative_error", "History", "Dense",
    "LOSSES", "HuberLoss", "Loss", "MSELoss", "get_loss", "MLP", "OPTIMISERS", "SGD", "Adam", "Momentum", "Nesterov",
    "Optimiser", "make_optimiser", "presets", "TARGETS", "Dataset", "Target", "get_target", "make_dataset",
    "parse_formula", "TrainingRun", "Snapshot", "limits", "summaries",
]
