"""Every Streamlit API the app uses that is not Streamlit's public one, each named here with what it does.

Checked against Streamlit 1.67.0 (requirements.txt pins 1.67.x); a Streamlit upgrade re-checks this file and
ui/screen/a11y.js, the one script that touches Streamlit's page internals (its ``window.hotkeys`` key filter and
the sliders' labelling), and nothing else.  The rest of the app imports these names, never ``streamlit.runtime``,
``streamlit.proto`` or ``st._main``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import streamlit as st
import streamlit.components.v1 as components_v1
from streamlit import runtime
from streamlit.components.v1.custom_component import CustomComponent  # the type declare_component returns
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.PageLink_pb2 import PageLink
from streamlit.runtime.caching.ttl_cache import TTLCache
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType, _has_active_trigger_value
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

CHECKED_WITH = "1.67.0"
T = TypeVar("T")

__all__ = ["CHECKED_WITH", "click_waiting", "connected", "drop_expired_sessions", "serve_folder",
           "fragment_id", "fragment_timer", "in_this_session", "page_link", "session_id"]


def session_id() -> str | None:
    """The id of the session whose script runs in this thread (None outside a script run, e.g. bare mode)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def connected(session: str) -> Callable[[], bool]:
    """A check of whether that session's page is still connected to the server (Runtime.is_active_session:
    the websocket is open); always True without a server (AppTest)."""
    return lambda: not runtime.exists() or runtime.get_instance().is_active_session(session)


def drop_expired_sessions() -> int:
    """Shut down the disconnected sessions kept longer than ``server.disconnectedSessionTTL``, as
    ``Runtime.close_session`` shuts down a kept one; returns how many.  Streamlit's store of disconnected sessions
    (MemorySessionStorage, a TTLCache) removes expired ones only when another session disconnects, and then
    without shutting them down, so a server left alone after a class keeps every student's session.  Does
    nothing without a server (AppTest)."""
    if not runtime.exists():
        return 0
    manager = getattr(runtime.get_instance(), "_session_mgr", None)
    cache = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    if not isinstance(cache, TTLCache):   # another session manager or store: it keeps its own rules
        return 0
    with manager._storage_lock:
        expired = cache.expire()
    for _, info in expired:
        info.session.shutdown()
    return len(expired)


_served: dict[str, CustomComponent] = {}   # name -> the component registered for it in this server
_serve_lock = threading.Lock()


def serve_folder(name: str, path: str) -> str:
    """The URL path, relative to the app's root, where the server serves the files of folder ``path``: a v1
    component ``name`` that is never mounted, registered by the first script run that asks (it lasts the server's
    life). Once, under a lock: ``declare_component`` names the component after its caller's module with
    ``inspect.getmodule``, which raised "module is None" in some of 300 page loads running it at once."""
    with _serve_lock:
        component = _served.get(name)
        if component is None:
            component = components_v1.declare_component(name, path=path)
            if get_script_run_ctx(suppress_warning=True) is not None:   # registered: a script run's
                _served[name] = component
    return f"component/{component.name}/"


def fragment_id() -> str | None:
    """The id of the fragment running now in this thread (None outside a fragment's run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return (ThreadState.get().fragment_id or None) if ctx is not None else None


def fragment_timer(seconds: float, fragment: str | None = None) -> bool:
    """Set the browser's rerun timer of a fragment to ``seconds`` (the AutoRerun message that
    ``st.fragment(run_every=...)`` sends when declared): the fragment running now, or another one of this page
    by its id (``fragment_id`` in its own run). False when there is no such fragment."""
    ctx = get_script_run_ctx(suppress_warning=True)
    fragment = fragment or fragment_id()
    if ctx is None or not fragment:
        return False
    msg = ForwardMsg()
    msg.auto_rerun.interval, msg.auto_rerun.fragment_id = seconds, fragment
    ctx.enqueue(msg)
    return True


def click_waiting() -> bool:
    """Whether a click of this session waits for this script run to end (a fragment's run is never preempted
    by a click inside a fragment): ScriptRequests holds the pending request, and a click is an active trigger
    value in its widget states; a fragment's timer is not a click. False outside a script run."""
    ctx = get_script_run_ctx(suppress_warning=True)
    requests = ctx.script_requests if ctx is not None else None
    if requests is None or requests._state is not ScriptRequestType.RERUN:
        return False
    states = requests._rerun_data.widget_states
    return states is not None and any(_has_active_trigger_value(w) for w in states.widgets)


def in_this_session(build: Callable[[], T]) -> Callable[[], T]:
    """``build`` for a deferred download: Streamlit calls it on the click, outside any script run, where
    st.session_state is empty. The returned callable runs it in a new thread that carries this session's script
    context, so it reads the session's state as it is at the click."""
    ctx = get_script_run_ctx()

    def call() -> T:
        with ThreadPoolExecutor(1, initializer=add_script_run_ctx, initargs=(None, ctx)) as pool:
            return pool.submit(build).result()
    return call


def page_link(page: st.Page, address: str, query: str, label: str, icon: str) -> None:
    """A link to ``page`` at the absolute ``address`` with ``query``: a click opens the page in this session like
    st.page_link, and "Copy link address" gives ``address?query`` (st.page_link writes the default page's address
    as a bare "?query", which the browser resolves against the current page's address)."""
    st._main._enqueue("page_link", PageLink(page=address, query_string=query, label=label, icon=icon,
                                            page_script_hash=page._script_hash))
