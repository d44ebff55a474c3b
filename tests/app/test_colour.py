"""Colour: WCAG 2.1 contrast of the theme's text and chart marks against the page, colour scales that stay ordered
for colour-blind eyes, and nothing told apart by colour alone.

Colour-vision deficiency is simulated with Machado, Oliveira & Fernandes (2009) at severity 100 (dichromacy), as
colorspacious implements it; colours are compared in CAM02-UCS, where J' is lightness and a distance of 1 is
about one just-noticeable difference.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import colorspacious as cs
import numpy as np
import plotly.colors as pc
import pytest

from ui.plots import backward_figures as bf
from ui.plots import figures, theme
from ui.train import compare

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
WHITE = "#ffffff"
# Streamlit's light theme: the sidebar's background and the widgets' (secondaryBackgroundColor) in the sidebar.
BACKGROUNDS = [WHITE, "#f8f8f7", "#f1f0ee"]
CVD = ["deuteranomaly", "protanomaly", "tritanomaly"]
VISIONS = [None, *CVD]
BANDS = 9             # a scale read as 9 evenly spaced colours (about a colour bar's labelled steps) ...
MIN_STEP = 5.0        # ... each clearly apart from the next
APART = 10.0          # distance at which two line colours are told apart at a glance
SIDES_APART = 15.0    # a diverging scale's +v and -v (|v| >= 1/4 of its range)


def rgb(colour: str) -> np.ndarray:
    """'#rrggbb' or 'rgb(r, g, b)' as sRGB in [0, 1]."""
    if colour.startswith("#"):
        return np.array(pc.hex_to_rgb(colour)) / 255
    return np.array(pc.unlabel_rgb(colour)) / 255


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio (L1 + 0.05) / (L2 + 0.05) of relative luminances."""
    def luminance(colour: str) -> float:
        c = rgb(colour)
        linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])
    hi, lo = sorted([luminance(a), luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def seen(colours: list[str], vision: str | None) -> np.ndarray:
    """CAM02-UCS (J', a', b') of colours as seen with ``vision`` (None: normal colour vision)."""
    srgb = np.array([rgb(c) for c in colours])
    if vision is not None:
        cvd = {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}
        srgb = np.clip(cs.cspace_convert(srgb, cvd, "sRGB1"), 0, 1)
    return cs.cspace_convert(srgb, "sRGB1", "CAM02-UCS")


def test_contrast_formula_matches_wcag_examples():
    assert contrast("#000000", WHITE) == pytest.approx(21.0)
    assert contrast("#767676", WHITE) == pytest.approx(4.54, abs=0.01)   # the lightest grey that passes AA
    assert contrast(WHITE, WHITE) == pytest.approx(1.0)


# Machado et al. 2009, Table 1, severity 1.0: the matrices applied to linear RGB.
MACHADO = {"protanomaly": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                           [-0.003882, -0.048116, 1.051998]],
           "deuteranomaly": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                             [-0.011820, 0.042940, 0.968881]],
           "tritanomaly": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                           [0.004733, 0.691367, 0.303900]]}


@pytest.mark.parametrize("vision", CVD)
def test_the_simulation_is_machados_published_model(vision):
    colour = np.array([0.2, 0.5, 0.8])
    simulated = cs.cspace_convert(colour, {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100},
                                  "sRGB1-linear")
    expected = np.array(MACHADO[vision]) @ cs.cspace_convert(colour, "sRGB1", "sRGB1-linear")
    assert simulated == pytest.approx(expected, abs=1e-6)


def test_the_config_theme_is_the_chart_theme():
    assert CONFIG["base"] == "light"
    assert CONFIG["primaryColor"].lower() == theme.PRIMARY.lower()


@pytest.mark.parametrize("name,colour", [("TEXT", theme.TEXT), ("TARGET", theme.TARGET), ("MUTED", theme.MUTED),
                                         ("note on the Backward and Gradient check charts", "#5b6570")])
def test_text_colours_have_4_5_to_1(name, colour):
    """Chart text, notes and the pages' captions (theme.PAGE_CSS paints them MUTED) on white and on the sidebar."""
    for background in BACKGROUNDS:
        assert contrast(colour, background) >= 4.5, f"{name} {colour} on {background}"


MARKS = {"TRAIN": theme.TRAIN, "TEST": theme.TEST, "TARGET": theme.TARGET, "DATA": theme.DATA,
         "SMOOTH": theme.SMOOTH, "MU": theme.MU, "GRAD": theme.GRAD, "PRIMARY (focus outline)": theme.PRIMARY,
         "Backward's other bars": bf.MU_OTHER,
         **{f"layer {k}": c for k, c in enumerate(theme.layer_palette(11))},
         **{f"kept run ({name})": c for c, name in compare.COLORS}}


@pytest.mark.parametrize("name", MARKS)
def test_chart_marks_and_the_focus_outline_have_3_to_1(name):
    assert contrast(MARKS[name], WHITE) >= 3.0, f"{name} {MARKS[name]}"


def _scales_in(fig) -> list[list]:
    """Every colorscale in a figure (dict or go.Figure), as lists of [position, colour]."""
    found = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "template":   # Plotly's default template: scales no trace of ours uses
                    continue
                if k == "colorscale":
                    found.append([[float(p), c] for p, c in v])
                else:
                    walk(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)
    walk(fig if isinstance(fig, dict) else fig.to_plotly_json())
    return found


def _every_heatmap():
    """One of each figure that draws a colour scale (Train, Backward pass)."""
    r = np.linspace(-1, 1, 5)
    z = np.outer(r, r)
    mu = np.abs(np.random.default_rng(0).normal(size=(4, 3))) + 1e-3
    return [figures.fit_2d_figure(r, z, z + 0.1, (-1.0, 1.0)), figures.mu_heatmap_figure(np.arange(4), mu),
            figures.data_2d_figure(r, z, np.zeros((3, 2)), np.ones((3, 1))),
            bf.network_diagram([2, 3, 1], [mu[0, :2], mu[1], mu[2, :1]], 1),
            bf.matrix_heatmap(z, "z", "x", "y", signed=True), bf.matrix_heatmap(np.abs(z), "z", "x", "y", signed=False),
            bf.field_heatmap(r, np.abs(z), 1, 2), bf.field_heatmap(r, np.abs(z), 1, 2, shared=(-3.0, 0.0))]


SEQUENTIAL = {theme.SEQUENTIAL, theme.LOG_MU}
DIVERGING = {theme.DIVERGING}


def test_every_scale_the_charts_use_is_checked_here():
    checked = [theme.colorscale(name) for name in SEQUENTIAL | DIVERGING]
    used = [s for fig in _every_heatmap() for s in _scales_in(fig)]
    assert len(used) >= 8
    for scale in used:
        assert scale in checked, scale


def _sample(name: str, n: int) -> list[str]:
    return pc.sample_colorscale(theme.colorscale(name), list(np.linspace(0, 1, n)))


def _bands_apart(name: str, vision: str | None) -> None:
    ucs = seen(_sample(name, BANDS), vision)
    steps = np.linalg.norm(np.diff(ucs, axis=0), axis=1)
    assert steps.min() >= MIN_STEP, f"{name} ({vision}): neighbouring bands only {steps.min():.1f} apart"


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("name", sorted(SEQUENTIAL))
def test_sequential_scales_rise_in_lightness_for_every_vision(name, vision):
    """Low to high reads dark to light, with and without colour vision: 64 steps each lighter than the last, and
    the scale's bands clearly apart."""
    lightness = seen(_sample(name, 64), vision)[:, 0]
    assert np.all(np.diff(lightness) > 0), f"{name} ({vision}): lightness not monotonic"
    _bands_apart(name, vision)


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("name", sorted(DIVERGING))
def test_diverging_scales_keep_their_two_sides_apart_for_every_vision(name, vision):
    """Lighter toward 0 from either end, and +v told from -v (hue, not lightness) for every vision."""
    n = 65
    ucs = seen(_sample(name, n), vision)
    lightness, mid = ucs[:, 0], n // 2
    assert np.all(np.diff(lightness[:mid + 1]) > 0) and np.all(np.diff(lightness[mid:]) < 0), name
    _bands_apart(name, vision)
    for k in range(0, mid - n // 8):   # |v| from 1 down to 1/4 of the range
        gap = float(np.linalg.norm(ucs[k] - ucs[n - 1 - k]))
        assert gap >= SIDES_APART, f"{name} ({vision}): ±{1 - k / mid:.2f} only {gap:.1f} apart"


def _style(trace: dict) -> tuple:
    """What tells a line apart besides its colour: its dash and whether it has markers."""
    return trace.get("line", {}).get("dash", "solid"), "markers" in trace.get("mode", "lines")


def test_train_and_test_and_kept_runs_differ_by_more_than_colour():
    step = np.arange(1, 201, dtype=float)
    loss = np.exp(-step / 50) + 0.01
    epochs = np.arange(10, 201, 10, dtype=float)
    kept = [(f"kept {c}", step, loss * 2, c) for c, _ in compare.COLORS]
    fig = figures.loss_figure(step, loss, epochs, loss[9::10], 5, kept)
    by_name = {t["name"]: t for t in fig["data"]}
    train, test = by_name["train (smoothed)"], by_name["test (per epoch)"]
    assert _style(train) != _style(test)
    for name, *_ in kept:
        assert _style(by_name[name]) not in {_style(train), _style(test)}, name
    ratio = figures.ratio_figure([("this run", step, loss, theme.TRAIN), *kept])
    this, *others = ratio["data"]
    assert all(_style(this) != _style(o) for o in others)


@pytest.mark.parametrize("n_layers", [2, 6, 11])
def test_per_layer_lines_differ_by_dash_or_by_colour_for_every_vision(n_layers):
    step = np.arange(1, 11, dtype=float)
    fig = figures.grad_norm_figure(step, np.ones((10, n_layers)))
    traces = fig["data"]
    assert len(traces) == n_layers
    for vision in VISIONS:
        ucs = seen([t["line"]["color"] for t in traces], vision)
        for i, j in itertools.combinations(range(n_layers), 2):
            if _style(traces[i]) == _style(traces[j]):
                gap = float(np.linalg.norm(ucs[i] - ucs[j]))
                assert gap >= APART, f"W{i + 1} and W{j + 1} share a dash and are {gap:.1f} apart ({vision})"
