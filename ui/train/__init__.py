"""The Train page's parts: one session's run (``session.py``), the sidebar that sets it up (``settings.py``), its
status and charts paused (``live.py``) and playing (``board.py`` with ``live_board.js``; ``chart_groups.py`` says
what each chart group draws), kept runs (``compare.py``), replay, the CSV and code downloads, and the messages
about a run.  Imports screen/, plots/, services/ and the engine."""
