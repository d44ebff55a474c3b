"""Adjoint Backprop Lab: page config and navigation; each page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="Adjoint Backprop Lab", page_icon="∂", layout="wide")
st.navigation([
    st.Page("pages/train.py", title="Train", icon=":material/play_circle:", default=True),
    st.Page("pages/backward.py", title="Backward pass", icon=":material/arrow_back:"),
    st.Page("pages/gradcheck.py", title="Gradient check", icon=":material/rule:"),
    st.Page("pages/theory.py", title="Theory", icon=":material/menu_book:"),
]).run()
