"""What the browser is, from its request headers: a phone gets its own layout of the wide figures."""

from __future__ import annotations

import streamlit as st


def on_phone() -> bool:
    """True for a phone's browser: its user agent carries "Mobi" (as Streamlit's own check does, not the width)."""
    return "Mobi" in st.context.headers.get("User-Agent", "")

