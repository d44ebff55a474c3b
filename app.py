"""Adjoint Backprop Lab: page config and navigation; each page lives in app_pages/ (not pages/, which Streamlit would also serve as old-style pages before app.py first runs)."""

import streamlit as st

from ui import theme

st.set_page_config(page_title="Adjoint Backprop Lab", page_icon="∂", layout="wide")
st.html(theme.PAGE_CSS)
st.navigation([
    st.Page("app_pages/train.py", title="Train", icon=":material/play_circle:", default=True),
    st.Page("app_pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("app_pages/backward.py", title="Backward pass", icon=":material/arrow_back:"),
    st.Page("app_pages/gradcheck.py", title="Gradient check", icon=":material/rule:"),
    st.Page("app_pages/theory.py", title="Theory", icon=":material/menu_book:"),
]).run()
