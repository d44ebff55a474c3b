"""Adjoint Backprop Lab: page config and navigation. Each page lives in app_pages/ (not pages/, which Streamlit
would also serve as old-style pages before app.py first runs)."""

import streamlit as st

from ui.screen import a11y, present
from ui.services import worker

worker.start()   # the shared training services, once per server (on later reruns it does nothing)
present_warning = present.init()
st.set_page_config(page_title="Adjoint Backprop Lab", page_icon="∂", layout="wide",
                   initial_sidebar_state="collapsed" if present.active() else "auto")
st.html(present.page_css())
a11y.page()   # every page's accessibility CSS and script
if present_warning:
    st.warning(present_warning, icon=":material/link_off:")
class_page = [st.Page("app_pages/class_page.py", title="Class", icon=":material/groups:", url_path="class")] \
    if "room" in st.session_state else []   # the teacher of an open room sees their class
st.navigation([
    st.Page("app_pages/train.py", title="Train", icon=":material/play_circle:", default=True),
    *class_page,
    st.Page("app_pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("app_pages/backward.py", title="Backward pass", icon=":material/arrow_back:"),
    st.Page("app_pages/gradcheck.py", title="Gradient check", icon=":material/rule:"),
    st.Page("app_pages/theory.py", title="Theory", icon=":material/menu_book:"),
]).run()
