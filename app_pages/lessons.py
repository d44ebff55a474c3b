"""Lessons: guided setups for a class. Each is a link that opens the Train page with the lesson's run and panel."""

import streamlit as st

from ui.classroom import lessons
from ui.classroom.lesson_book import LESSONS
from ui.screen import urlstate

if urlstate.LESSON_PARAM in st.query_params:   # a shared /lessons?lesson=ID link: the lesson is on Train
    st.switch_page(lessons.TRAIN_PAGE, query_params=st.query_params.to_dict())

st.title("Lessons")
st.markdown(
    "Each lesson opens the **Train** page with its own setup and a panel above the charts: the goal, what to "
    "watch, and a question to answer before the run shows it. The answer appears once you choose. Controls the "
    "lesson is not about are hidden from the sidebar; **Leave lesson** shows them again.")
for k, lesson in enumerate(LESSONS.values(), start=1):
    lessons.train_link(f"{k}. {lesson.title}", {urlstate.LESSON_PARAM: lesson.id})
    st.caption(lesson.goal)
st.caption(
    f"**For teachers:** a lesson's link is `?{urlstate.LESSON_PARAM}=ID` on the Train page (copy it from the list "
    f"above). Add `&{urlstate.HIDE_PARAM}=lr,optimiser` to hide other controls, or `&{urlstate.HIDE_PARAM}=` to "
    f"show them all. The control names are: {', '.join(urlstate.CONTROLS)}.")
