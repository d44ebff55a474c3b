"""Class: the teacher's view of the students who joined their room, live (in the navigation while a room is open)."""

from ui.classroom import dashboard

dashboard.page()
