"""Lessons: guided setups for a class. Each is a link that opens the Train page with the lesson's run and panel."""

from urllib.parse import urlencode, urljoin

import streamlit as st

from ui import streamlit_private
from ui.classroom.lesson_book import LESSONS
from ui.screen import urlstate

TRAIN = st.Page("app_pages/train.py")   # app.py's Train page: the same script, so the same page id

if urlstate.LESSON_PARAM in st.query_params:   # a shared /lessons?lesson=ID link: the lesson is on Train
    st.switch_page("app_pages/train.py", query_params=st.query_params.to_dict())


def lesson_link(label: str, lesson_id: str, root: str) -> None:
    """A page link to the Train page with ``?lesson=lesson_id``: a click opens it in this session (the run's
    room and presentation mode stay), and its address is absolute, so "Copy link address" gives a link that
    opens the lesson anywhere. (st.page_link writes the default page's address as a bare "?lesson=ID", which the
    browser resolves against the Lessons page's own address.)"""
    query = urlencode({urlstate.LESSON_PARAM: lesson_id})
    streamlit_private.page_link(TRAIN, root, query, label, ":material/school:")


st.title("Lessons")
st.markdown(
    "Each lesson opens the **Train** page with its own setup and a panel above the charts: the goal, what to "
    "watch, and a question to answer before the run shows it. The answer appears once you choose. Controls the "
    "lesson is not about are hidden from the sidebar; **Leave lesson** shows them again.")
root = urljoin(st.context.url, "./") if st.context.url else "./"   # the app's address (the Train page's)
for k, lesson in enumerate(LESSONS.values(), start=1):
    lesson_link(f"{k}. {lesson.title}", lesson.id, root)
    st.caption(lesson.goal)
st.caption(
    f"**For teachers:** a lesson's link is `?{urlstate.LESSON_PARAM}=ID` on the Train page (copy it from the list "
    f"above). Add `&{urlstate.HIDE_PARAM}=lr,optimiser` to hide other controls, or `&{urlstate.HIDE_PARAM}=` to "
    f"show them all. The control names are: {', '.join(urlstate.CONTROLS)}.")
