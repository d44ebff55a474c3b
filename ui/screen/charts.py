"""Every chart reaches the page here: on a phone its phone layout (figures.for_phone), in presentation mode
projector fonts."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from ..plots import figures, theme
from . import device, present


def for_screen(fig: dict | go.Figure) -> dict | go.Figure:
    """The figure as it is, on a phone (a figure dict) as figures.for_phone lays it out, in presentation mode as a
    dict with projector fonts."""
    if device.on_phone() and isinstance(fig, dict):
        fig = figures.for_phone(fig)
    if not present.active():
        return fig
    return theme.projector(fig if isinstance(fig, dict) else fig.to_dict())


def show(fig: dict | go.Figure, key: str, where: Any = st) -> None:
    """Draw ``fig`` full width in ``where`` (st, a column or a container); it carries its whole look."""
    where.plotly_chart(for_screen(fig), width="stretch", key=key, config=theme.CONFIG, theme=None)
