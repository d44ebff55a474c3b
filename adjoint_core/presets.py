"""Ready-made run configurations: the notebook's four experiments and two gradient-health demos.

The notebook's gradients were dL/dtheta / B (its 1/B was counted twice), so with true gradients its
learning rates become lr / B and its weight decays wd * B (B = 50), which reproduces its ReLU runs.
Its sigmoid run also evaluated sigma' at the layer output, a wrong gradient that cannot be matched;
"linear-sigmoid" uses settings that reach a comparable loss with the true gradient instead:
lr = 0.02 (10x the converted 0.002) and weight decay 1e-4, measured at a median final loss of about 4e-3
over seeds 0-2 against the notebook's 5.3e-3.
"""

from __future__ import annotations

from .config import RunConfig

B = 50  # the notebook's batch size

presets: dict[str, RunConfig] = {
    "linear-sigmoid": RunConfig(
        label="Sigmoid line (notebook)", target="linear", samples=100, test_fraction=0.2,
        hidden=(64, 128, 64), activation="sigmoid", init="notebook", init_scale=1.0,
        optimiser="momentum", lr=0.02, weight_decay=1e-4, batch_size=B, epochs=500,
        description="A straight line fitted by a deep sigmoid network. The notebook's sigmoid gradient was "
                    "wrong; these settings reach a comparable loss with the true gradient."),
    "linear-relu": RunConfig(
        label="ReLU line (notebook)", target="linear", samples=100, test_fraction=0.2,
        hidden=(64, 128, 64), activation="relu", init="notebook", init_scale=1e-4,
        optimiser="momentum", lr=1e-2 / B, weight_decay=1e-3 * B, batch_size=B, epochs=500,
        description="The same line with ReLU units and a tiny output layer (init 1e-4)."),
    "nonlinear-relu": RunConfig(
        label="ReLU parabola (notebook)", target="quadratic", samples=100, test_fraction=0.2,
        hidden=(64, 64), activation="relu", init="notebook", init_scale=1.0,
        optimiser="momentum", lr=0.1 / B, weight_decay=1e-4 * B, batch_size=B, epochs=1000,
        description="A parabola: ReLU networks build it from straight pieces."),
    "wave2d-relu": RunConfig(
        label="ReLU 2D wave (notebook)", target="wave2d", samples=10_000, test_fraction=0.2,
        hidden=(64, 64), activation="relu", init="notebook", init_scale=1e-6,
        optimiser="momentum", lr=1e-2 / B, weight_decay=1e-4 * B, batch_size=B, epochs=100,
        description="The radial wave 10(r - r²) on a 100x100 grid, in random mini-batches."),
}

# Gradient-health demos (measured at initialisation, TrainingRun(cfg, seed) for seeds 0-9, one forward and
# backward pass on a batch of 50): ||mu_0|| / ||mu_N|| stays below 1e-4 for the first and above 5e3 for the second.
# The second's lr 3e-9 makes each of those seeds diverge within 5-7 steps (at 1e-9 six of the ten trained 20 epochs).
presets["deep-sigmoid-vanishing"] = RunConfig(
    label="Vanishing μ: deep sigmoid", target="sine", samples=200, test_fraction=0.2,
    hidden=(32,) * 8, activation="sigmoid", init="xavier", init_scale=1.0,
    optimiser="momentum", lr=0.1, weight_decay=0.0, batch_size=B, epochs=200,
    description="Eight sigmoid layers: each multiplies the adjoint by σ′ ≤ 1/4 and a small weight matrix, "
                "so μ₀ ends up 10⁵ to 10⁸ times smaller than μ_N. The first layers barely learn and the fit stays "
                "flat.")
presets["large-init-exploding"] = RunConfig(
    label="Exploding μ: large init", target="gauss2d", samples=2000, test_fraction=0.2,
    hidden=(64,) * 6, activation="relu", init="he", init_scale=4.0,
    optimiser="momentum", lr=3e-9, weight_decay=0.0, batch_size=B, epochs=20,
    description="Six ReLU layers with He weights times 4: each layer multiplies the adjoint's size by about 4, "
                "so μ₀ is thousands of times larger than μ_N. Even at a learning rate of 3e-9 the loss overflows "
                "within ten steps: press Play and watch the run pause itself, then Reset or lower the init scale.")
