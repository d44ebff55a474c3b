// The live board (ui/train/board.py): the status and every chart in one element, redrawn in place: a Train
// page's own while training (ui/train/live.py), or a room's follower's (ui/classroom/follow.py). Each update is one
// JSON payload:
//   {plotly: URL path of plotly.min.js, status: [[label, value], ...],
//    rows: [[[key, weight, height], ...], ...], charts: {key: figure, ...}, note: null or [kind, text]}
// `charts` holds only the figures to redraw this time; the others stay as they are. A follower's element gets
// {plotly, frames: URL path of its room's files} instead and fetches its updates itself (ui/classroom/room_files.py):
// the head every `every` seconds, and the chart groups it has neither drawn nor found in the head; once the head
// is gone (the room has closed) it sets its `gone` trigger, and the page reruns to say why. The status boxes carry
// the test ids of st.metric, so a test reads the status in the same way paused or playing. Each chart div
// counts its redraws in data-draws (read by benchmarks/bench_app.py).
// For a screen reader each chart div is an image named by its figure's `name` and described by its `summary`
// (ui/plots/describe.py), and a polite live region reads the status at most every ANNOUNCE_EVERY ms. With
// prefers-reduced-motion a chart redraws at most once every CALM_MS ms (the status stays live).

const ANNOUNCE_EVERY = 5000;
const CALM_MS = 1000;
const calm = window.matchMedia("(prefers-reduced-motion: reduce)");

function appUrl(path) {   // beside Streamlit's own bundle, so a baseUrlPath or a proxy prefix is kept
  const main = [...document.scripts].map((s) => s.src).find((s) => /\/static\/js\/index\.[^/]*\.js/.test(s));
  return main ? main.replace(/static\/js\/index\.[^/]*\.js.*$/, path) : new URL(path, document.baseURI).href;
}

function loadPlotly(path) {   // the page's window.Plotly (Streamlit's own charts) when there is one
  if (!window.__abpPlotly) {
    window.__abpPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const s = document.createElement("script");
      s.src = appUrl(path);
      s.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly.js did not define Plotly")));
      s.onerror = () => { window.__abpPlotly = null; reject(new Error("could not load " + s.src)); };
      document.head.appendChild(s);
    });
  }
  return window.__abpPlotly;
}

const CSS = `
.abp-board { display: flex; flex-direction: column; gap: 1rem; width: 100%; }
.abp-row { display: flex; gap: 1rem; width: 100%; }
.abp-status { display: flex; flex-wrap: wrap; gap: 1rem; }
.abp-status > div { flex: 1 1 7rem; min-width: 0; }
.abp-status [data-testid="stMetricLabel"] { font-size: 0.875rem; color: rgb(49, 51, 63); }
.abp-status [data-testid="stMetricValue"] { font-size: 2.25rem; line-height: 1.4; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; color: rgb(49, 51, 63); }
@media (max-width: 640px) { .abp-row { flex-direction: column; } }
.abp-note { padding: 1rem; border-radius: 0.5rem; }
.abp-note[hidden] { display: none; }
.abp-note.info { background: rgba(28, 131, 225, 0.1); color: rgb(0, 66, 128); }
.abp-note.warning { background: rgba(255, 227, 18, 0.1); color: rgb(146, 108, 5); }
.abp-sr { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; border: 0; }
`;

function build(parent, board) {
  const root = document.createElement("div");
  root.className = "abp-board";
  const style = document.createElement("style");
  style.textContent = CSS;
  const note = document.createElement("div");
  note.className = "abp-note";
  note.setAttribute("role", "status");
  note.hidden = true;
  const status = document.createElement("div");
  status.className = "abp-status";
  const live = document.createElement("div");
  live.className = "abp-sr";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  root.append(style, note, status, live);
  root.note = note;
  root.live = live;
  root.announced = 0;
  root.charts = {};
  for (const row of board.rows) {
    const line = document.createElement("div");
    line.className = "abp-row";
    for (const [key, weight, height] of row) {
      const div = document.createElement("div");
      div.dataset.chart = key;
      div.dataset.draws = "0";
      div.style.flex = `${weight} 1 0`;
      div.style.minWidth = "0";
      div.style.height = `${height}px`;
      div.setAttribute("role", "img");
      const summary = document.createElement("p");
      summary.className = "abp-sr";
      summary.id = `abp-live-${key}`;
      summary.setAttribute("aria-hidden", "true");
      div.setAttribute("aria-describedby", summary.id);
      div.summary = summary;
      line.append(div, summary);
      root.charts[key] = div;
    }
    root.appendChild(line);
  }
  root.layout = JSON.stringify(board.rows);
  window.__abpPage.until = 0;
  const seen = new IntersectionObserver((entries) => {   // a chart scrolled into view gets its newest figure
    for (const e of entries) e.target.inView = e.isIntersecting;
    schedule(root);
  });
  for (const div of Object.values(root.charts)) seen.observe(div);
  parent.replaceChildren(root);
  return root;
}

function showStatus(root, status) {
  const boxes = root.querySelector(".abp-status");
  if (boxes.children.length !== status.length) {
    boxes.replaceChildren(...status.map(() => {
      const box = document.createElement("div");
      box.dataset.testid = "stMetric";
      box.innerHTML = '<div data-testid="stMetricLabel"></div><div data-testid="stMetricValue"></div>';
      return box;
    }));
  }
  status.forEach(([label, value], i) => {
    const [l, v] = boxes.children[i].children;
    if (l.textContent !== label) l.textContent = label;
    if (v.textContent !== value) v.textContent = value;
  });
  const now = performance.now();
  if (now - root.announced >= ANNOUNCE_EVERY) {
    root.announced = now;
    root.live.textContent = status.map(([label, value]) => `${label} ${value}`).join(", ") + ".";
  }
}

function showNote(root, note) {   // what followers are told: [kind ("info" or "warning"), text], or nothing
  const [kind, text] = note || ["", ""];
  root.note.hidden = !note;
  if (root.note.className !== `abp-note ${kind}`) root.note.className = `abp-note ${kind}`;
  if (root.note.textContent !== text) root.note.textContent = text;
}

function describeChart(div, fig) {   // the chart's accessible name and description, as soon as its figure arrives
  if (div.getAttribute("aria-label") !== fig.name) div.setAttribute("aria-label", fig.name);
  if (div.summary.textContent !== fig.summary) div.summary.textContent = fig.summary;
}

// The charts' redraws, one at a time and spaced by what they cost this browser, so that the status, the buttons
// and the page stay live on a slow laptop. A chart drawn in d ms waits CHART_SPACING * d before its next redraw
// (the newest figure then). A draw that held the main thread for several frames (d >= LONG_DRAW ms) makes the
// board rest REST * d before its next such draw, so they take at most 1 / (1 + REST) of the main thread; a
// shorter draw (the loss on a desktop, even a busy one) needs no rest and may come in between. Of the charts due,
// those not drawn yet (an empty slot after Play) go first, then the fast ones (the loss, the mu bars), except that
// every HEAVY_TURN-th draw is a heavy one's (the figure's `heavy`: the fit, the heatmap, the gradients) when one is
// due; each longest overdue first. A chart out of view or in a hidden tab is drawn once (the first time), then not
// again until it is seen.
const CHART_SPACING = 2;
const LONG_DRAW = 80;   // ms: five frames
const REST = 3;
const HEAVY_TURN = 3;

// The page as a whole, watched once per page: presses and the main thread's long tasks.
// A press anywhere on the page (a pointer, a key that is not a repeat, a click) holds the charts' redraws for
// HOLD_MS: Streamlit sends a click's rerun from a timer that would otherwise wait behind the next draw, and the
// page's answer (Pause's paused page, a new Speed) is drawn before the board takes the main thread again. A new
// board (Play's) is the answer: it ends the hold. Presses in a row hold a board at most HOLD_MAX since its last draw.
// The main thread's load is the share of the last BUSY_WINDOW ms spent in long tasks (over 50 ms: a chart's draw,
// the browser's style, layout and paint after it, which the draw's own timing misses, and Streamlit's render of
// each frame; reported by Chromium-based browsers, elsewhere the load reads 0 and only the rest above applies):
// while it is over BUSY_MAX, the charts already drawn wait (at most STARVE_MS since the board's last draw), so that
// on a slow laptop the status, the buttons and the page stay live. The status is written on every frame whatever
// the charts do.
const HOLD_MS = 500;
const HOLD_MAX = 3000;
const BUSY_WINDOW = 3000;
const BUSY_MAX = 0.3;
const BUSY_POLL = 200;
const STARVE_MS = 1500;
if (!window.__abpPage) {
  const page = (window.__abpPage = { until: 0, long: [] });
  const hold = (e) => { if (!e.repeat) page.until = performance.now() + HOLD_MS; };
  for (const type of ["pointerdown", "keydown", "click"]) window.addEventListener(type, hold, true);
  if (window.PerformanceObserver?.supportedEntryTypes?.includes("longtask")) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) page.long.push([e.startTime, e.duration]);
      recentTasks(performance.now());
    }).observe({ type: "longtask" });
  }
}

function recentTasks(now) {   // the long tasks [start, duration] that end within the last BUSY_WINDOW ms
  const long = window.__abpPage.long;
  while (long.length && long[0][0] + long[0][1] < now - BUSY_WINDOW) long.shift();
  return long;
}

function busy(now) {   // the share of the last BUSY_WINDOW ms the main thread spent in long tasks
  const from = now - BUSY_WINDOW;
  return recentTasks(now).reduce((sum, [t, d]) => sum + Math.min(t + d, now) - Math.max(t, from), 0) / BUSY_WINDOW;
}

function waitFor(root, now) {   // ms the board's charts already drawn wait for the page (0: none)
  const since = now - root.lastDraw;
  if (window.__abpPage.until > now && since < HOLD_MAX) return window.__abpPage.until - now;
  return busy(now) > BUSY_MAX && since < STARVE_MS ? BUSY_POLL : 0;
}

function visible(div) {
  return !document.hidden && div.inView !== false;
}

function schedule(root, wait = 0) {   // the next draw in an animation frame (none in a hidden tab), after wait ms
  if (root.frame || root.drawing) return;
  const at = performance.now() + wait;
  if (root.timer && root.timerAt <= at) return;   // already due as soon
  clearTimeout(root.timer);
  root.timerAt = at;
  root.timer = setTimeout(() => {
    root.timer = 0;
    root.frame = requestAnimationFrame(() => { root.frame = 0; drawNext(root); });
  }, wait);
}

function readyAt(root, div) {   // when the chart may be drawn next: after its own spacing and, unless its last
  // draw was short, the board's rest
  if (!div.drawnAt) return root.freeAt || 0;
  return Math.max(div.dueAt, div.cost >= LONG_DRAW ? root.freeAt || 0 : 0);
}

async function drawNext(root) {   // a chart that is ready, if one is; then the next one
  if (!root.isConnected) return;   // the board is gone (Pause): nothing left to draw
  const now = performance.now();
  const waiting = Object.values(root.charts).filter((div) => div.next && (!div.drawnAt || visible(div)));
  if (!waiting.length) return;
  const ready = waiting.filter((div) => readyAt(root, div) <= now);
  if (!ready.length) return schedule(root, Math.min(...waiting.map((div) => readyAt(root, div))) - now);
  const empty = ready.filter((div) => !div.drawnAt);
  const wait = empty.length ? 0 : waitFor(root, now);
  if (wait) return schedule(root, wait);
  const heavyTurn = (root.turn || 0) % HEAVY_TURN === HEAVY_TURN - 1;
  const first = empty.length ? empty : ready.filter((div) => Boolean(div.next.heavy) === heavyTurn);
  const div = (first.length ? first : ready).reduce((a, b) => ((b.dueAt || 0) < (a.dueAt || 0) ? b : a));
  const fig = div.next;
  div.next = null;
  root.turn = (root.turn || 0) + 1;
  root.drawing = true;
  try {
    const Plotly = await loadPlotly(root.plotly);
    const t0 = performance.now();
    await Plotly.react(div, fig.data, fig.layout, fig.config);
    const took = performance.now() - t0;
    div.cost = took;
    div.drawnAt = root.lastDraw = t0;
    div.dueAt = t0 + Math.max(CHART_SPACING * took, calm.matches ? CALM_MS : 0);
    if (took >= LONG_DRAW) root.freeAt = t0 + (1 + REST) * took;
    div.dataset.draws = String(Number(div.dataset.draws) + 1);
    div.dataset.ms = took.toFixed(1);
  } catch (e) {
    div.textContent = "Chart error: " + e.message;
  } finally {
    root.drawing = false;
  }
  schedule(root);
}

function show(parentElement, board) {   // one update of the board
  let root = parentElement.querySelector(":scope > div.abp-board");
  if (!root || root.layout !== JSON.stringify(board.rows)) root = build(parentElement, board);
  showNote(root, board.note);
  showStatus(root, board.status);
  for (const [key, fig] of Object.entries(board.charts)) {
    const div = root.charts[key];
    if (!div || div.version === fig.v) continue;   // a keyframe's chart this page has drawn already
    div.version = fig.v;
    describeChart(div, fig);
    div.next = fig;   // replaces a figure still waiting: a slow browser skips frames instead of falling behind
  }
  root.plotly = board.plotly;
  schedule(root);
}

async function gunzipJson(url) {   // a file written compressed (room_files.py); null when it is gone
  const res = await fetch(url, { cache: "no-store" });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${res.status} for ${url}`);
  return new Response(res.body.pipeThrough(new DecompressionStream("gzip"))).json();
}

function follow(parentElement, plotly, frames, setTriggerValue) {   // a follower's board: returns its stop
  const base = appUrl(frames);
  const state = { frames, drawn: {}, layout: "", timer: 0, stopped: false };
  const next = (seconds) => {
    if (!state.stopped) state.timer = setTimeout(poll, seconds * 1000 * (0.9 + 0.2 * Math.random()));
  };
  const poll = async () => {
    if (document.hidden) return next(1);   // a hidden tab fetches nothing
    let every = 1;
    try {
      const head = await gunzipJson(base + "head.json.gz");
      if (!head) {   // the room has closed: the page's rerun says why
        state.stopped = true;
        setTriggerValue("gone", true);
        return;
      }
      every = head.every;
      const layout = JSON.stringify(head.rows);
      if (layout !== state.layout) state.drawn = {};   // a new board: every chart again
      state.layout = layout;
      const have = new Set(Object.values(head.charts).map((fig) => fig.v));
      const due = Object.entries(head.versions).filter(([group, v]) => state.drawn[group] !== v && !have.has(v));
      const groups = await Promise.all(due.map(([group, v]) => gunzipJson(`${base}${group}-${v}.json.gz`)));
      const charts = Object.assign({}, ...groups.filter(Boolean), head.charts);
      if (state.stopped) return;
      show(parentElement, { plotly, status: head.status, rows: head.rows, note: head.note, charts });
      const drawn = new Set(Object.values(charts).map((fig) => fig.v));
      for (const [group, v] of Object.entries(head.versions)) if (drawn.has(v)) state.drawn[group] = v;
    } catch (e) {   // the network or the server is busy: try again later, the board stays as it is
      console.warn("live board:", e.message);
    }
    next(every);
  };
  poll();
  return state;
}

export default function ({ data, parentElement, setTriggerValue }) {
  if (!data || !data.byteLength) return;
  const board = JSON.parse(new TextDecoder().decode(data));
  if (board.frames) {
    const running = parentElement.abpFollow;
    if (!running || running.stopped || running.frames !== board.frames) {
      if (running) running.stopped = true;
      parentElement.abpFollow = follow(parentElement, board.plotly, board.frames, setTriggerValue);
    }
    const state = parentElement.abpFollow;
    return () => { state.stopped = true; clearTimeout(state.timer); };
  }
  if (!board.rows) {   // paused: fetch plotly.js once the page is idle, so the first Play need not wait for it
    const later = window.requestIdleCallback || ((f) => setTimeout(f, 1000));
    later(() => loadPlotly(board.plotly).catch(() => {}), { timeout: 3000 });
    return;
  }
  show(parentElement, board);
}
