"""streamlit_private.click_waiting: a click waiting for the running script (which a page waiting for its turn to
draw gives way to, ui/services/pace.py), told apart from a fragment timer's rerun."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

from ui import streamlit_private


@pytest.fixture
def requests(monkeypatch) -> ScriptRequests:
    pending = ScriptRequests()
    monkeypatch.setattr(streamlit_private, "get_script_run_ctx",
                        lambda suppress_warning: SimpleNamespace(script_requests=pending))
    return pending


def states(click: bool) -> WidgetStates:
    s = WidgetStates()
    s.widgets.add(id="speed", string_value="Max")
    if click:
        s.widgets.add(id="btn_play", trigger_value=True)
    return s


def test_nothing_waiting(requests):
    assert not streamlit_private.click_waiting()


def test_a_fragment_timer_is_not_a_click(requests):
    requests.request_rerun(RerunData(widget_states=states(False), fragment_id="live", is_auto_rerun=True))
    assert not streamlit_private.click_waiting()


def test_a_click_is_waiting_even_when_a_timer_came_after_it(requests):
    requests.request_rerun(RerunData(widget_states=states(True), fragment_id="controls"))
    assert streamlit_private.click_waiting()
    requests.request_rerun(RerunData(widget_states=states(False), fragment_id="live", is_auto_rerun=True))
    assert streamlit_private.click_waiting()


def test_outside_a_script_run(monkeypatch):
    monkeypatch.setattr(streamlit_private, "get_script_run_ctx", lambda suppress_warning: None)
    assert not streamlit_private.click_waiting()
