"""ui/services/pace.py: paused pages draw their charts one at a time, and a page waiting for its turn gives way to a
click of its own session."""

from ui.services import pace


def test_one_page_draws_at_a_time():
    with pace.turn() as drawn:
        assert drawn and not pace._turn.acquire(blocking=False)
    assert pace._turn.acquire(blocking=False)
    pace._turn.release()


def test_a_page_waiting_for_its_turn_gives_way_to_a_click(monkeypatch):
    clicks = iter([False, True])   # the click arrives while the page waits
    monkeypatch.setattr(pace.streamlit_private, "click_waiting", lambda: next(clicks))
    with pace._turn:               # another page draws
        with pace.turn() as drawn:
            assert not drawn
    assert pace._turn.acquire(blocking=False)   # the page that gave way never took the turn
    pace._turn.release()


def test_a_page_drawing_or_waiting_to_is_counted_until_it_is_done(monkeypatch):
    monkeypatch.setattr(pace.streamlit_private, "click_waiting", lambda: True)
    assert not pace.drawing()
    with pace.turn():
        assert pace.drawing(), "the live frames' writer waits (ui/train/feeds.py)"
    with pace._turn, pace.turn() as drawn:   # another page draws: this one gives way to its click
        assert not drawn and pace.drawing()
    assert not pace.drawing()
