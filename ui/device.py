"""What the browser is, from its request headers: a phone's charts go without Plotly's mode bar."""

from __future__ import annotations

import streamlit as st

from . import theme


def on_phone() -> bool:
    """True for a phone's browser: its user agent carries "Mobi" (as Streamlit's own check does, not the width)."""
    return "Mobi" in st.context.headers.get("User-Agent", "")


def chart_config() -> dict:
    """theme.CONFIG, without the mode bar on a phone: a touch screen never hides it, and it covers the titles."""
    return {**theme.CONFIG, "displayModeBar": False} if on_phone() else theme.CONFIG
