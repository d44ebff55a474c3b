"""Streamlit/Plotly side of the app: session helpers and pure figure builders (no training maths)."""
