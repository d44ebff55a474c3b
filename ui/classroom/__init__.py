"""What a class shares: the lessons (``lesson_book.py`` reads ``lessons.toml``; ``lessons.py`` opens one from a link
and draws its panel) and the rooms a teacher opens for followers (``rooms.py``, shared by the server's sessions;
``follow.py``, the teacher's sharing panel and a follower's page).  Imports train/, screen/, plots/, services/ and
the engine."""
