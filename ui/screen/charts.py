"""Every chart reaches the page here: on a phone its phone layout (figures.for_phone), in presentation mode
projector fonts; with its accessible name and summary (a11y.py) and a "Show data" table (ui/plots/describe.py)."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from ..plots import describe, figures, theme
from . import a11y, device, present

DATA_HEIGHT = 250   # pixels of a "Show data" table


def for_screen(fig: dict | go.Figure) -> dict | go.Figure:
    """The figure as it is, on a phone (a figure dict) as figures.for_phone lays it out, in presentation mode as a
    dict with projector fonts."""
    if device.on_phone() and isinstance(fig, dict):
        fig = figures.for_phone(fig)
    if not present.active():
        return fig
    return theme.projector(fig if isinstance(fig, dict) else fig.to_dict())


class Built(go.Figure):
    """A figure dict that st.plotly_chart sends as it is. Given a dict, Streamlit first builds a validated plotly
    Figure from it (6-15 ms a chart on this machine: the Train page's six charts cost 20-35 ms of every paused
    rerun, which each click then waits for, and 30 students pressing Pause at once wait for all of theirs); given
    a Figure, it takes its ``to_dict()``. Here that is the figure as ui/plots built it, with its arrays in
    plotly.js's typed-array form (figures.to_json), so that the page gets the same JSON. Every figure the pages
    draw is validated by plotly in the tests (tests/app/test_figures_valid.py)."""

    def __init__(self, fig: dict) -> None:
        super().__init__(layout={"template": {}}, _validate=False)   # not a copy of plotly's default template
        self._built = json.loads(figures.to_json(fig))

    def to_dict(self) -> dict:
        return self._built


def show(fig: dict | go.Figure, key: str, where: Any = st, summary: str = "") -> None:
    """Draw ``fig`` full width in ``where`` (st, a column or a container); it carries its whole look. Before it a
    visually hidden image names it (its title) and describes it (``summary``, or the figure dict's own,
    describe.summarised); after it a "Show data" expander holds its data as a table."""
    if isinstance(fig, dict):
        summary = fig.get(describe.SUMMARY, summary)
        fig = {k: v for k, v in fig.items() if k != describe.SUMMARY}
    with where.container(key=f"abp_chart_{key}"):
        st.html(a11y.chart_label(key, describe.name(fig), summary))
        screen = for_screen(fig)
        st.plotly_chart(Built(screen) if isinstance(screen, dict) else screen, width="stretch", key=key,
                        config=theme.CONFIG, theme=None)
        data_table(fig, key)


def data_table(fig: dict | go.Figure, key: str, where: Any = st) -> None:
    """A "Show data" expander in ``where`` holding ``fig``'s data as a table, built only when opened: every
    paused rerun would pay for every chart's table."""
    data = where.expander("Show data: " + describe.name(fig).removeprefix("Chart: "), key=f"abp_data_{key}",
                          on_change="rerun")
    if data.open:
        with data:
            st.dataframe(describe.table(fig), hide_index=True, height=DATA_HEIGHT)
