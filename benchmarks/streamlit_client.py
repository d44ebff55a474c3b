"""A headless Streamlit client: one browser tab without a browser, for benchmarks and load tests.

A ``StreamlitClient`` is a websocket client on ``/_stcore/stream`` (subprotocol ``streamlit``; the
``websockets`` client, which Streamlit 1.67's Starlette server already depends on) that speaks Streamlit's own
protocol as the browser's frontend does (read from the installed bundle, ``streamlit/static``):

- every rerun is a ``BackMsg.rerun_script`` carrying the URL's query string (updated by ``page_info_changed``),
  the page's script hash, the values of every widget the page showed (the value each widget element
  mounts with, or the one the server set; none before the first page; none at all for a client made with
  ``widget_states=False``, a simpler client the protocol allows), and the hashes of the cached ForwardMsgs;
- a click adds the button's ``trigger_value`` and reruns the fragment the button lives in (``delta.fragment_id``);
- ``auto_rerun{fragment_id, interval}`` starts a timer that asks for that fragment again every interval, with
  ``is_auto_rerun``, whether or not a run is in progress (the server merges them); ``stop_auto_rerun`` and a
  full run's ``new_session`` stop timers; ``hidden`` silences them (a hidden tab);
- ForwardMsgs marked cacheable are kept, ``ref_hash`` messages are read from that cache, and entries expire
  after ``maxCachedMessageAge`` runs, as in the frontend's ForwardMsgCache.
Keeping the session: every message is read as it arrives (the server drops a client 500 messages behind), and
the websocket library answers the server's pings; ``app_heartbeat`` is only sent when a host page asks for it.

Use (inside an asyncio loop)::

    c = StreamlitClient(ws_url_of("http://127.0.0.1:8501"), "epochs=10000", metric="Step")
    if await c.connect(60) and await c.wait_until(lambda: "Play" in c.buttons, 60):
        c.counting = True
        await c.click("Play")
        ...
    await c.close()

What the client tracks: ``buttons`` (label -> widget id, fragment id), ``widgets`` (the states it sends),
``charts_seen``, ``value`` (the last value of the watched metric, if ``metric`` names one: an ``st.metric`` or
a [label, value] pair in a custom component's JSON data), and while ``counting`` is set, ``frames``: (time,
value) for every finished run that showed the metric, and ``dropped``: runs whose output the server dropped
unsent. ``error`` holds the first failure (a page exception, a cache miss, or what a caller reports with
``fail``). Subclasses react to the page through ``on_element``, ``on_metric`` and ``on_finished``.

``HttpConnection``: one keep-alive HTTP/1.1 connection for GETs of the same server, as a page's ``fetch`` does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
import urllib.parse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

CHARTS = {"plotly_chart", "bidi_component", "vega_lite_chart"}
Finished = ForwardMsg.ScriptFinishedStatus
SUCCESS = {Finished.FINISHED_SUCCESSFULLY, Finished.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


def ws_url_of(url: str) -> str:
    """The websocket address of a loopback Streamlit server's http(s) URL (anything else is refused)."""
    u = urllib.parse.urlsplit(url)
    host = u.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or u.scheme not in ("http", "https"):
        raise ValueError(f"only loopback http(s) servers are accepted, not {url!r}")
    scheme = "wss" if u.scheme == "https" else "ws"
    return f"{scheme}://{u.netloc}{u.path.rstrip('/')}/_stcore/stream"


def widget_state(kind: str, w) -> WidgetState | None:
    """The value the frontend keeps for a widget element: the one the server set (set_value), else the one it
    mounts with (streamlit/static: Checkbox, NumberInput, Selectbox, Radio, Slider, TextInput, FileUploader)."""
    s = WidgetState(id=w.id)
    if kind == "checkbox":
        s.bool_value = w.value if w.set_value else w.default
    elif kind == "number_input":
        field = "value" if w.set_value else "default"
        if not w.HasField(field):
            return None
        v = getattr(w, field)
        if w.data_type == NumberInput.INT:
            s.int_value = int(v)
        else:
            s.double_value = v
    elif kind in ("selectbox", "radio"):
        if w.set_value and w.HasField("raw_value"):
            s.string_value = w.raw_value
        elif w.HasField("default") and w.options:
            s.string_value = w.options[w.default]
        else:
            return None
    elif kind == "slider" and w.type == Slider.SELECT_SLIDER:
        raw = list(w.raw_value) if w.set_value and w.raw_value else [w.options[int(i)] for i in w.default]
        s.string_array_value.data.extend(raw)
    elif kind == "slider":
        s.double_array_value.data.extend(w.value if w.set_value else w.default)
    elif kind == "text_input":
        field = "value" if w.set_value else "default"
        if not w.HasField(field):
            return None
        s.string_value = getattr(w, field)
    elif kind == "file_uploader":
        s.file_uploader_state_value.SetInParent()
    else:
        return None
    return s


def whole_number(text) -> int | None:
    try:
        return int(str(text).replace(",", ""))
    except ValueError:
        return None


def component_metric(w, label: str) -> int | None:
    """A whole-number metric that a custom component's JSON data carries as a [label, value] pair or a
    {"label": label, "value": value} object (the live view may draw its status inside one component)."""
    raw = {"json": w.json, "bytes": w.bytes, "mixed": w.mixed.json}.get(w.WhichOneof("data"), "")
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if f'"{label}"' not in text:
        return None
    try:
        return _find_metric(json.loads(text), label)
    except ValueError:
        return None


def _find_metric(node, label: str) -> int | None:
    """Depth-first search of decoded JSON for label's value."""
    if isinstance(node, dict):
        if node.get("label") == label and whole_number(node.get("value")) is not None:
            return whole_number(node["value"])
        children = node.values()
    elif isinstance(node, list):
        if len(node) >= 2 and node[0] == label and whole_number(node[1]) is not None:
            return whole_number(node[1])
        children = node
    else:
        return None
    for child in children:
        found = _find_metric(child, label)
        if found is not None:
            return found
    return None


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to a loopback server (reopened when the server closes it), for GETs of
    responses with a Content-Length."""

    def __init__(self, url: str) -> None:
        ws_url_of(url)   # loopback only
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.root = u.hostname, u.port or 80, u.path.rstrip("/") + "/"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.bytes_in = 0

    async def get(self, path: str) -> tuple[int, bytes]:
        """(status, body) of GET ``path`` (relative to the server's root URL)."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(f"GET {self.root}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        body = await reader.readexactly(length)
        self.bytes_in += length
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class MessageCache:
    """The frontend's ForwardMsg cache: cacheable messages by hash, each with the run count of its last use."""

    def __init__(self) -> None:
        self.entries: dict[str, list] = {}    # hash -> [message, run count, fragment id]
        self.runs = 0
        self.hits = 0

    def resolve(self, msg: ForwardMsg) -> ForwardMsg:
        """Store a cacheable message; replace a reference by the cached message (with the reference's metadata)."""
        if msg.WhichOneof("type") == "ref_hash":
            entry = self.entries.get(msg.ref_hash)
            if entry is None:
                raise RuntimeError(f"cached ForwardMsg miss: {msg.ref_hash}")
            entry[1] = self.runs
            self.hits += 1
            full = ForwardMsg()
            full.CopyFrom(entry[0])
            full.metadata.CopyFrom(msg.metadata)
            return full
        if msg.metadata.cacheable and msg.hash:
            entry = self.entries.setdefault(msg.hash, [msg, self.runs, msg.delta.fragment_id])
            entry[1] = self.runs
        return msg

    def end_run(self, max_age: int, fragment_ids: list[str]) -> None:
        """A run finished: expire entries older than max_age runs (only the run's fragments' after a fragment run)."""
        self.runs += 1
        for h, (_, count, frag) in list(self.entries.items()):
            if fragment_ids and (not frag or frag not in fragment_ids):
                continue
            if self.runs - count > max_age:
                del self.entries[h]


class StreamlitClient:
    """One headless tab on a Streamlit page (see the module's docstring)."""

    def __init__(self, ws_url: str, query: str = "", metric: str | None = None, widget_states: bool = True) -> None:
        self.ws_url, self.query, self.metric = ws_url, query, metric
        self.sends_widget_states = widget_states
        self.page_hash = ""
        self.page_name = ""               # a page asked for by its URL path (``open_page``)
        self.max_age = 2
        self.widgets: dict[str, WidgetState] = {}
        self.buttons: dict[str, tuple[str, str]] = {}    # label -> (widget id, fragment id)
        self.cache = MessageCache()
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.changed = asyncio.Event()    # set after every message (and when the connection closes)
        self.closed = False
        self.hidden = False               # a hidden tab: its timers stop sending
        self.new_session_seen = False     # since our last rerun request (the frontend's hasReceivedNewSession)
        self.charts_seen = 0
        self.value: int | None = None     # the watched metric's last value
        self.metric_in_run = False        # the current run showed the metric
        self.counting = False             # frames and dropped runs are counted while set
        self.frames: list[tuple[float, int | None]] = []
        self.dropped = 0
        self.error = ""
        self.mb_received = 0.0
        self.t_connect = 0.0

    def fail(self, text: str) -> None:
        """Record a failure; the first one is kept."""
        self.error = self.error or text

    # hooks for subclasses

    def on_element(self, kind: str, w, fragment_id: str) -> None:
        """Every new element (``kind``: its proto's type, ``w``: its message) once the client has noted it."""

    def on_metric(self, value: int) -> None:
        """The watched metric was drawn with this value."""

    def on_finished(self, status: int, now: float) -> None:
        """A run ended with this ScriptFinishedStatus at time.monotonic() ``now``."""

    # sending

    async def connect(self, timeout: float) -> bool:
        """Open the websocket and ask for the page (a first rerun); False (and ``error``) if it cannot connect."""
        self.t_connect = time.monotonic()
        try:
            self.ws = await connect(self.ws_url, subprotocols=["streamlit"], open_timeout=timeout,
                                    ping_interval=None, max_size=2**28)
        except (TimeoutError, OSError, ConnectionClosed) as e:
            self.fail(f"connect: {e!r}")
            return False
        self.reader = asyncio.create_task(self._read())
        await self.rerun()
        return True

    async def rerun(self, fragment_id: str = "", auto: bool = False, trigger: str | None = None) -> None:
        """rerun_script as the frontend's sendRerunBackMsg builds it: the whole page, or one fragment;
        ``auto``: a fragment timer's rerun; ``trigger``: the widget id of a clicked button."""
        msg = BackMsg()
        r = msg.rerun_script
        r.query_string, r.page_script_hash, r.page_name = self.query, self.page_hash, self.page_name
        r.fragment_id, r.is_auto_rerun = fragment_id, auto
        if self.sends_widget_states:
            r.widget_states.widgets.extend(self.widgets.values())
        if trigger:
            r.widget_states.widgets.add(id=trigger, trigger_value=True)
        r.cached_message_hashes.extend(self.cache.entries)
        self.new_session_seen = False
        await self.ws.send(msg.SerializeToString())

    async def open_page(self, url_path: str) -> None:
        """Go to another page of the app by its URL path, as a click on its navigation link does."""
        self.stop_timers(list(self.timers))
        self.page_hash, self.page_name, self.widgets, self.buttons = "", url_path, {}, {}
        await self.rerun()

    async def click(self, label: str) -> None:
        """Click the button the page showed with this label."""
        widget_id, fragment_id = self.buttons[label]
        await self.rerun(fragment_id, trigger=widget_id)

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """The browser's setInterval for an auto-rerun fragment."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        try:
            while True:
                due = max(due + interval, loop.time())
                await asyncio.sleep(due - loop.time())
                if not self.hidden:
                    await self.rerun(fragment_id, auto=True)
        except ConnectionClosed:
            pass

    def stop_timers(self, fragment_ids) -> None:
        """Stop the auto-rerun timers of these fragments, as the browser does on StopAutoRerun (a test then sends
        their ticks by hand with ``rerun(fragment_id, auto=True)``)."""
        for f in list(fragment_ids):
            entry = self.timers.pop(f, None)
            if entry:
                entry[1].cancel()

    # receiving

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.mb_received += len(data) / 1e6
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(self.cache.resolve(msg))
                self.changed.set()
        except (ConnectionClosed, RuntimeError) as e:
            if not isinstance(e, ConnectionClosed):
                self.fail(str(e))
        finally:
            self.closed = True
            self.changed.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
            self.max_age = msg.new_session.config.max_cached_message_age or self.max_age
            self.new_session_seen, self.metric_in_run = True, False
            if not msg.metadata.run.fragment_ids:
                self.stop_timers(self.timers)
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, msg.delta.fragment_id)
        elif kind == "auto_rerun":
            self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            self.stop_timers(msg.stop_auto_rerun.fragment_ids)
        elif kind == "script_finished":
            self._finished(msg.script_finished, list(msg.metadata.run.fragment_ids))

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        w = getattr(element, kind)
        if kind == "button":
            self.buttons[w.label] = (w.id, fragment_id)
        elif kind == "metric" and w.label == self.metric:
            self._metric_shown(whole_number(w.body))
        elif kind in CHARTS:
            self.charts_seen += 1
            if kind == "bidi_component" and self.metric:
                self._metric_shown(component_metric(w, self.metric))
        elif kind == "exception":
            self.fail(f"page exception: {w.type}: {w.message}"[:300])
        elif hasattr(w, "id") and (w.id not in self.widgets or getattr(w, "set_value", False)):
            state = widget_state(kind, w)
            if state is not None:
                self.widgets[w.id] = state
        self.on_element(kind, w, fragment_id)

    def _metric_shown(self, value: int | None) -> None:
        if value is None:
            return
        self.value, self.metric_in_run = value, True
        self.on_metric(value)

    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        if fragment_id in self.timers and self.timers[fragment_id][0] == interval:
            return
        self.stop_timers([fragment_id])
        self.timers[fragment_id] = (interval, asyncio.create_task(self._tick(fragment_id, interval)))

    def _finished(self, status: int, fragment_ids: list[str]) -> None:
        now = time.monotonic()
        if self.counting and status == Finished.FINISHED_EARLY_FOR_RERUN:
            self.dropped += 1
        self.on_finished(status, now)
        if status in SUCCESS and self.counting and self.metric_in_run:
            self.frames.append((now, self.value))
        self.metric_in_run = False
        if status != Finished.FINISHED_EARLY_FOR_RERUN and self.new_session_seen:
            self.cache.end_run(self.max_age, fragment_ids)

    # waiting and closing

    async def wait_until(self, condition, timeout: float) -> bool:
        """Wait for condition() to hold, checked after every message; False on timeout or a closed connection."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if self.closed or left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass
        return True

    def steps_between(self, t0: float, t1: float) -> float | None:
        """The metric's rise per second over the frames from t0 to t1 (None: too few frames)."""
        shown = [(t, s) for t, s in self.frames if s is not None and t0 <= t <= t1]
        if len(shown) < 2 or shown[-1][0] - shown[0][0] < 1.0:
            return None
        return (shown[-1][1] - shown[0][1]) / (shown[-1][0] - shown[0][0])

    async def close(self) -> None:
        self.stop_timers(self.timers)
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
