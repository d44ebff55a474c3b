"""One colour scheme for every chart, readable on a projector: text at least 4.5:1 and chart marks at least 3:1
against white (WCAG 2.1 AA), colour scales that stay ordered for colour-blind eyes (tests/test_colour.py)."""

from __future__ import annotations

import functools

import plotly.colors as pc

TRAIN = "#3b6ea8"        # train loss, prediction
TEST = "#c8711f"         # test loss
TARGET = "#2f2f2f"       # ground truth
DATA = "#848e9a"         # data points
SMOOTH = "#1d3f66"       # smoothed train loss
MU = "#8e44ad"           # adjoints mu
MUTED = "#6b6965"        # captions (PAGE_CSS) and notes in place of data
GRAD = "#2a9d8f"         # parameter gradients
SEQUENTIAL = "Viridis"   # values (targets, predictions, |mu|)
DIVERGING = "RdBu_r"     # signed errors, centred on 0
LOG_MU = "Magma"         # log10 ||mu|| heatmaps
FONT_SIZE = 14
HEIGHT = 320
# The mode bar's camera saves a PNG at twice the size on the figure's white paper: sharp on slides and handouts.
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"],
          "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "adjoint-backprop-lab"}}
FONT = '"Source Sans", sans-serif'   # Streamlit's own
TEXT = "#31333f"
GRID = "#e6e9ef"
# The Train page's charts carry their whole look (st.plotly_chart with theme=None while paused, plotly.js
# directly while playing), so both ways of drawing them look the same.
_AXIS = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID, "automargin": True}
TEMPLATE = {"layout": {"font": {"family": FONT, "color": TEXT}, "paper_bgcolor": "white", "plot_bgcolor": "white",
                       "xaxis": _AXIS, "yaxis": _AXIS, "hoverlabel": {"font": {"family": FONT}}}}
MARGIN = {"l": 60, "r": 15, "t": 45, "b": 45}
STATIC = {"staticPlot": True}   # while training live: no hover/zoom layers to build on every redraw
# Presentation mode's fonts (px): readable from the back of a classroom.
PROJECTOR = {"font": FONT_SIZE + 3, "title": FONT_SIZE + 8, "axis_title": 18, "tick": FONT_SIZE + 1, "legend": 15}
# Every page's CSS:
# - less empty space above each page's title (Streamlit's default is 6rem): at a projector's 1280x720 the Train
#   page's buttons, status, loss chart and mu flow then fit on the first screen;
# - no focus frame around the page's scroll area (stMain takes focus on any click; a control keeps its own);
# - on a touch screen or under 640 px, no Plotly mode bar: a touch screen never hides it and it covers titles;
# - under 640 px (where Streamlit stacks columns one per row): a row with buttons keeps them two per row and gives
#   its other columns (a slider) a row of their own, above the buttons for a slider between them; a row of metrics
#   goes two per row; a page's intro shows its first three lines;
# - captions in MUTED (Streamlit draws them at 60% opacity: 3.9:1 on white) and the shortcut badges on buttons
#   opaque (white at 60% on the primary colour: 3.0:1), and an answered lesson's locked question and choices
#   readable (Streamlit greys a disabled widget to 2.3:1: the answer stays there to be read), so that all text
#   has at least 4.5:1;
# - a lesson's choices wrapped over lines in their pills (Streamlit's cut a long answer off with an ellipsis);
# - a focus outline in the primary colour (5.3:1 on white) around buttons, links and sliders: Streamlit's own
#   ring is the primary colour at 50% (2.1:1).
_COLUMN = '[data-testid="stColumn"]'
_ITEM = '> [data-testid="stVerticalBlock"] > [data-testid="stElementContainer"] > '   # a column's element
_BUTTON = '[data-testid="stButton"]'   # (not a download button: "Download history (CSV)" needs a whole row)
_BUTTON_ROW = f'[data-testid="stHorizontalBlock"]:has(> {_COLUMN} {_ITEM}{_BUTTON})'
_METRIC_ROW = f'[data-testid="stHorizontalBlock"]:has(> {_COLUMN} {_ITEM}[data-testid="stMetric"])'
_BUTTON_CELL, _OTHER_CELL = f"{_COLUMN}:has({_ITEM}{_BUTTON})", f"{_COLUMN}:not(:has({_ITEM}{_BUTTON}))"
_SLIDER_CELL = f'{_COLUMN}:has([data-testid="stSlider"])'
INTRO_KEY = "page_intro"   # present.intro's container
PRIMARY = "#3b6ea8"      # .streamlit/config.toml's primaryColor
_CHOICES = '[class*="st-key-lesson_q_"] button, [class*="st-key-lesson_answered_"] button'
_FOCUSABLE = ':is(button, a[href], [role="slider"], summary)'
PAGE_CSS = f"""<style>
[data-testid="stMainBlockContainer"] {{ padding-top: 2.5rem; }}
[data-testid="stMain"]:focus-visible {{ outline: none; }}
[data-testid="stCaptionContainer"] {{ opacity: 1; color: {MUTED}; }}
[data-testid="stApp"] button kbd {{ opacity: 1; }}
[class*="st-key-lesson_answered_"] button:disabled, [class*="st-key-lesson_answered_"] button:disabled p {{
  color: {MUTED}; }}
[class*="st-key-lesson_answered_"] [data-testid="stWidgetLabel"] {{ opacity: 1; color: {TEXT}; }}
{_CHOICES} {{ height: auto; text-align: start; }}
{_CHOICES.replace("button", "button *")} {{ white-space: normal; overflow: visible; height: auto; }}
[data-testid="stApp"] {_FOCUSABLE}:focus-visible {{ outline: 2px solid {PRIMARY}; outline-offset: 2px; }}
@media (hover: none), (max-width: 640px) {{ .modebar-container {{ display: none; }} }}
@media (max-width: 640px) {{
  {_BUTTON_ROW} > {_BUTTON_CELL}, {_METRIC_ROW} > {_COLUMN} {{ min-width: calc(50% - 0.5rem); }}
  {_BUTTON_ROW} > {_OTHER_CELL} {{ min-width: 100%; }}
  {_BUTTON_ROW} > {_SLIDER_CELL}:not(:first-child):not(:last-child) {{ order: -1; }}
  .st-key-{INTRO_KEY} p {{
    display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; overflow: hidden; }}
}}
</style>"""


def layout(title: str, height: int = HEIGHT, **kw) -> dict:
    """Every chart's layout: its title at the top left, the template, fonts and margins (kw overrides)."""
    return {"title": {"text": title, "x": 0.01, "font": {"size": FONT_SIZE + 1}}, "height": height,
            "margin": MARGIN, "font": {"size": FONT_SIZE - 1},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
            "uirevision": "keep", "template": TEMPLATE, **kw}


def projector(fig: dict) -> dict:
    """A figure dict with PROJECTOR's fonts: the title, axis titles, tick labels, legend and notes."""
    size = PROJECTOR
    layout = {**fig["layout"], "font": {**fig["layout"].get("font", {}), "size": size["font"]}}
    title = layout.get("title", {})
    layout["title"] = {**title, "font": {**title.get("font", {}), "size": size["title"]}}
    for name, axis in list(layout.items()):
        if name[1:5] == "axis" and name[0] in "xy":
            axis_title = axis.get("title", {})
            axis_title = {"text": axis_title} if isinstance(axis_title, str) else axis_title
            layout[name] = {**axis, "title": {**axis_title, "font": {"size": size["axis_title"]}},
                            "tickfont": {**axis.get("tickfont", {}), "size": size["tick"]}}
    layout["legend"] = {**layout.get("legend", {}), "font": {"size": size["legend"]}}
    layout["annotations"] = [{**a, "font": {**a.get("font", {}), "size": round(a.get("font", {}).get(
        "size", FONT_SIZE) * size["font"] / FONT_SIZE)}} for a in layout.get("annotations", [])]
    return {**fig, "layout": layout}


def layer_palette(n: int) -> list[str]:
    """n colours for per-layer lines, from the input side to the output side; lines k and k + len(DASHES), which
    share a dash, stay apart for colour-blind eyes too (tests/test_colour.py)."""
    base = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#4d8a16", "#0b7285", "#a6761d", "#666666",
            "#b8860b", "#33a02c", "#2f4f4f"]
    return [base[i % len(base)] for i in range(n)]


DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")   # per-layer lines: not by colour alone


@functools.cache
def colorscale(name: str) -> list[list]:
    """A named Plotly colour scale as explicit rgb() stops, which plotly.js reads without Plotly's Python names
    (e.g. "RdBu_r", "Magma"), and without misreading hex stops: Magma's '#000004' turned values near the
    minimum pink."""
    return [[float(p), c if c.startswith("rgb") else "rgb({}, {}, {})".format(*pc.hex_to_rgb(c))]
            for p, c in pc.get_colorscale(name)]
