"""End-to-end speed of the Train page: the app in headless Chromium, Play on the 2D wave preset.

    python benchmarks/bench_app.py [--repeats R] [--epochs E] [--cpu-throttle N] [--rss-steps N] [--quick]
                                   [--json FILE] [--profile FILE] [--root CHECKOUT]
                                   [--server-arg=--runner.postScriptGC=false ...]

Starts ``streamlit run app.py`` on a free loopback port, opens the Train page in headless Debian Chromium
(Playwright, ``/usr/bin/chromium``) and, per repeat (a fresh browser context, so a fresh session and run):

  (d) first load to first chart: page navigation start to the first Plotly chart drawn (and to all of them);
  (a) wall time from the Play click until the Epoch metric shows the epoch limit (Play pauses itself there);
  (b) chart refreshes per second seen in the browser while playing, per chart: a MutationObserver installed
      before the page loads notes each draw of new data in each keyed chart's Plotly div (a new calcdata:
      a remount or a Plotly.react) and every change of the Step/Epoch metrics; nothing polls;
  (c) Pause latency: Play again, let it run, dispatch a click on Pause; time until the Step counter stops
      (a click that changes nothing within 5 s is counted as lost and sent again);
  (f) the page's main thread while playing: the share of the time in long tasks (over 50 ms, a
      PerformanceObserver installed before the page loads: their summed duration within the playing window
      over the window), the longest task, and the status redraws (Step metric changes) in every second.

Before each repeat the same browser, with the same throttle, opens a reference page (``benchmarks/bare_app.py``:
four st.plotly_chart of figures like the Train page's, nothing else, on a server of its own) and (d) is printed
beside its first chart, as a ratio. ``--profile FILE`` records the first repeat's page while playing with the
DevTools CPU profiler (FILE, a .cpuprofile Chromium's DevTools open) and prints where the time went.

Then it prints the medians with the engine-only time for the same steps (``TrainingRun.run_epochs`` in a
separate process, BLAS at one thread as in the server) and their ratio, and (e) the resident memory of a
process holding one session's run (Streamlit, Plotly and the page's modules imported) after ``--rss-steps``
training steps on a small preset, read from /proc/self/status.  Each result line starts with its letter,
so a test can check that every one was printed.  Numbers depend on machine load: the load average and the
server's and browser's CPU time are printed with them.  ``--root`` measures another checkout of the app
(for before/after comparisons); ``--server-arg`` passes options to ``streamlit run``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.local_server import Server  # noqa: E402
from benchmarks.proc_monitor import load_average, own_cpu, status_kb, tree_pids, tree_usage  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1500, "height": 2000}   # every Train chart on screen
PRESET = "wave2d-relu"

# Installed before any page script runs: records chart renders and metric changes with performance.now()
# timestamps (ms since navigation start). Cheap: one callback per DOM mutation batch, no polling. A chart
# render is a draw with new data: Plotly computes a new gd.calcdata for each (newPlot after a remount, or
# Plotly.react), so relayouts and resizes of the same data are not counted.
OBSERVER_JS = """
(() => {
  const B = window.__bench = {renders: {}, first: {}, step: [], epoch: [], button: [], long: []};
  new PerformanceObserver((list) => { for (const e of list.getEntries()) B.long.push([e.startTime, e.duration]); })
    .observe({type: 'longtask', buffered: true});
  const kind = new WeakMap();   // element -> [chart key, Plotly div], or ['', null] outside Plotly charts
  const drawn = new WeakSet();  // the calcdata of every draw seen: Plotly computes a new one per draw
  const chartOf = (node) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    if (!el) return ['', null];
    let k = kind.get(el);
    if (k === undefined) {
      const gd = el.closest('.js-plotly-plot');
      const box = gd && !gd.dataset.chart && gd.closest('[class*="st-key-"]');   // paused: a keyed st.plotly_chart
      const m = box && box.className.match(/st-key-(\\S+)/);
      k = gd && gd.dataset.chart ? [gd.dataset.chart, gd] : m ? [m[1], gd] : ['', null];   // playing: the board
      if (el.isConnected) kind.set(el, k);
    }
    return k;
  };
  const metric = (label) => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
      const l = m.querySelector('[data-testid="stMetricLabel"]');
      if (l && l.textContent.trim() === label) {
        const v = m.querySelector('[data-testid="stMetricValue"]');
        return v ? v.textContent.trim() : null;
      }
    }
    return null;
  };
  const push = (arr, t, v) => { if (v !== null && (!arr.length || arr[arr.length - 1][1] !== v)) arr.push([t, v]); };
  const obs = new MutationObserver((muts) => {
    const t = performance.now();
    const plots = new Map();
    let other = false;
    for (const m of muts) {
      const [k, gd] = chartOf(m.target);
      if (k) plots.set(gd, k); else other = true;
    }
    for (const [gd, k] of plots) {   // a render = a new calcdata (a remount or a Plotly.react with new data)
      if (!(k in B.first)) B.first[k] = t;
      const cd = gd.calcdata;
      if (cd && typeof cd === 'object' && !drawn.has(cd)) {
        drawn.add(cd);
        (B.renders[k] = B.renders[k] || []).push(t);
      }
    }
    if (other) {   // not only chart internals changed: read the counters and the Play/Pause label
      push(B.step, t, metric('Step'));
      push(B.epoch, t, metric('Epoch'));
      const btn = document.querySelector('.st-key-btn_play button');
      const label = btn && btn.querySelector('[data-testid="stMarkdownContainer"]');   // not its key badge
      push(B.button, t, label ? label.textContent.trim() : null);
    }
  });
  const start = () => obs.observe(document.documentElement,
                                  {subtree: true, childList: true, characterData: true, attributes: true});
  if (document.documentElement) start(); else document.addEventListener('readystatechange', start, {once: true});
})();
"""


def print_profile(path: Path, top: int = 12) -> None:
    """Where the page's main thread spent a CPU profile (Profiler.stop's): self time by script and by function."""
    prof = json.loads(path.read_text())
    nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
    self_ms: dict[int, float] = {}
    for node, dt in zip(prof["samples"], prof["timeDeltas"]):
        self_ms[node] = self_ms.get(node, 0.0) + dt / 1000
    total = sum(self_ms.values())
    by_file: dict[str, float] = {}
    by_fn: dict[tuple[str, str], float] = {}
    for node, ms in self_ms.items():
        frame = nodes[node]
        file = frame["url"].rsplit("/", 1)[-1].split("?")[0] or frame["functionName"] or "(anonymous)"
        fn = frame["functionName"] or "(anonymous)"
        by_file[file] = by_file.get(file, 0.0) + ms
        by_fn[(fn, file)] = by_fn.get((fn, file), 0.0) + ms
    print(f"    profile ({path}): {total / 1000:.1f} s sampled; self time by script:")
    for file, ms in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]:
        print(f"      {ms / total:6.1%}  {file}")
    print("    by function:")
    for (fn, file), ms in sorted(by_fn.items(), key=lambda kv: -kv[1])[:top]:
        print(f"      {ms / total:6.1%}  {fn} ({file})")


def browser_pids(server_pid: int) -> list[int]:
    """The browser's processes (and Playwright's driver): everything below this process but the server."""
    skip = set(tree_pids(server_pid))
    return [p for p in tree_pids(os.getpid())[1:] if p not in skip]


def post_script_gc(root: Path, server_args: list[str]) -> str:
    """The runner.postScriptGC setting the server runs with (flags > environment > config.toml > default)."""
    for a in server_args:
        m = re.fullmatch(r"--runner\.postScriptGC[= ](\S+)", a)
        if m:
            return f"{m.group(1)} (flag)"
    if "STREAMLIT_RUNNER_POST_SCRIPT_GC" in os.environ:
        return os.environ["STREAMLIT_RUNNER_POST_SCRIPT_GC"] + " (environment)"
    try:
        value = tomllib.loads((root / ".streamlit" / "config.toml").read_text()).get("runner", {})["postScriptGC"]
        return f"{str(value).lower()} (config.toml)"
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "true (Streamlit's default)"


def render_stats(times: list[float], t0: float, t1: float) -> tuple[float, int, float]:
    """(renders per second, fewest renders in any 1 s window, longest gap in ms) over [t0, t1] (ms)."""
    ts = [t for t in times if t0 <= t <= t1]
    rate = len(ts) / max(t1 - t0, 1e-9) * 1000
    windows = [sum(1 for t in ts if w <= t < w + 1000) for w in range(int(t0), int(t1 - 1000) + 1, 250)]
    edges = [t0, *ts, t1]
    return rate, (min(windows) if windows else len(ts)), max(b - a for a, b in zip(edges, edges[1:]))


def long_task_share(tasks: list[list[float]], t0: float, t1: float) -> tuple[float, float]:
    """(share of [t0, t1] spent in these long tasks, the longest one in ms): tasks as [start, duration] in ms."""
    inside = [(max(a, t0), min(a + d, t1)) for a, d in tasks if a < t1 and a + d > t0]
    return sum(b - a for a, b in inside) / max(t1 - t0, 1e-9), max((d for a, d in tasks if t0 <= a < t1), default=0.0)


def new_page(browser, throttle: float):
    """A fresh context and page with the observers installed and the CPU slowed ``throttle`` times (DevTools'
    Emulation.setCPUThrottlingRate, like a school laptop); (context, page, its CDP session)."""
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(OBSERVER_JS)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    if throttle > 1:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    return ctx, page, cdp


def first_chart(page, url: str) -> dict:
    """(d): open ``url``; navigation start to the first chart drawn, and to every chart's first draw (ms)."""
    page.goto(url)
    page.wait_for_function("() => Object.keys(window.__bench.first).length > 0", polling=100, timeout=60_000)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=60_000)
    time.sleep(1.0)   # let the first render settle
    b = page.evaluate("() => window.__bench")
    return {"first_chart_ms": min(b["first"].values()), "all_charts_ms": max(b["first"].values()),
            "charts": sorted(b["first"])}


def bare_session(browser, url: str, throttle: float) -> dict:
    """(d) of the bare reference app (bare_app.py) in a fresh context of the same browser and throttle."""
    ctx, page, _ = new_page(browser, throttle)
    try:
        return first_chart(page, url)
    except Exception as e:
        return {"error": f"bare app: {type(e).__name__}: {(str(e).splitlines() or [''])[0]}"}
    finally:
        ctx.close()


def one_session(browser, url: str, epochs: int, hold: float, server_pid: int, throttle: float = 1.0,
                profile: Path | None = None) -> dict:
    """Open the page, Play to the epoch limit, Play again, Pause; the measurements of this session. ``throttle``
    slows the page's CPU that many times; ``profile``: write the CPU profile of the page while playing there."""
    ctx, page, cdp = new_page(browser, throttle)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    out: dict = {}
    try:
        out.update(first_chart(page, url))   # (d)
        # (a), (b) and (f)
        srv_cpu0, brw_cpu0 = tree_usage(server_pid)[0], sum(map(own_cpu, browser_pids(server_pid)))
        if profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
            cdp.send("Profiler.start")
        t_play = click(page)
        page.wait_for_function("(t) => window.__bench.epoch.some(([_, v]) => v.replace(/,/g, '') === t)",
                               arg=str(epochs), polling=250, timeout=180_000)
        b = page.evaluate("() => window.__bench")
        t_end = next(t for t, v in b["epoch"] if v.replace(",", "") == str(epochs))
        out["wall_ms"] = t_end - t_play
        out["server_cpu_s"] = tree_usage(server_pid)[0] - srv_cpu0   # its training process included
        out["browser_cpu_s"] = sum(map(own_cpu, browser_pids(server_pid))) - brw_cpu0
        out["renders"] = {k: render_stats(v, t_play, t_end) for k, v in b["renders"].items()}
        out["step_updates"] = render_stats([t for t, _ in b["step"]], t_play, t_end)
        out["long_task_share"], out["longest_task_ms"] = long_task_share(b["long"], t_play, t_end)
        out["t_play"], out["t_end"] = t_play, t_end
        if profile:
            profile.write_text(json.dumps(cdp.send("Profiler.stop")["profile"]))
            print_profile(profile)
        # (c)
        pause_latency(page, out, hold, throttle)
    except Exception as e:   # keep what was measured
        first_line = (str(e).splitlines() or [""])[0]
        out["error"] = f"{type(e).__name__}: {first_line}"
    finally:
        out["page_errors"] = errors
        ctx.close()
    return out


def click(page) -> float:
    """Click the Play/Pause button inside the page; the page's clock (performance.now, ms) when the click landed,
    the origin of every latency measured from it."""
    return page.evaluate("() => { const t = performance.now(); "
                         "document.querySelector('.st-key-btn_play button').click(); return t; }")


def pause_latency(page, out: dict, hold: float, throttle: float = 1.0) -> None:
    """(c): Play again (past the limit it trains on), let it run, then Pause; time from the first Pause click until
    the Step counter stops and until the Play button is back."""
    def button(name: str):
        return page.get_by_role("button", name=name, exact=True)

    def click_until(name: str, then: str) -> tuple[float, int]:
        """Click ``name`` until the ``then`` button shows; (time of the first click, clicks lost).

        A click after which ``name`` is still shown 5 s later (times the throttle) changed nothing: it is counted
        and sent again."""
        lost = 0
        t = click(page)
        end = time.monotonic() + 60 * throttle
        while time.monotonic() < end:
            try:
                button(then).wait_for(timeout=5_000 * throttle)
                return t, lost
            except Exception:
                if button(name).count() and lost < 3:   # still there: the click was lost
                    lost += 1
                    click(page)
        raise RuntimeError(f"pressing {name} did not bring the {then} button within {60 * throttle:g} s")

    button("Play").wait_for(timeout=30_000 * throttle)
    time.sleep(0.5)
    click_until("Play", "Pause")
    time.sleep(hold)
    t_click, lost = click_until("Pause", "Play")
    page.wait_for_function(   # the counter has stood still for 1.5 s (a slow page may still be drawing)
        "() => performance.now() - (window.__bench.step.at(-1) || [0])[0] > 1500", polling=100, timeout=60_000)
    b = page.evaluate("() => window.__bench")
    steps_after = [t for t, _ in b["step"] if t >= t_click]
    out["pause_ms"] = (steps_after[-1] - t_click) if steps_after else 0.0
    out["pause_button_ms"] = next((t for t, v in b["button"] if t >= t_click and v == "Play"), math.nan) - t_click
    out["pause_clicks_lost"] = lost
    out["raw"] = {"t_pause": t_click, **b}


ENGINE_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from threadpoolctl import threadpool_limits
threadpool_limits(limits=1, user_api="blas")
import adjoint_core as ac
for _ in range(int(sys.argv[3])):
    run = ac.TrainingRun(ac.presets[sys.argv[4]], seed=0)
    t0 = time.perf_counter()
    run.run_epochs(int(sys.argv[2]))
    print(time.perf_counter() - t0)
"""


def engine_only(root: Path, epochs: int, repeats: int) -> list[float]:
    """Seconds for ``TrainingRun(wave2d).run_epochs(epochs)`` alone (a separate process, BLAS at one thread)."""
    res = subprocess.run([sys.executable, "-c", ENGINE_SCRIPT, str(root), str(epochs), str(repeats), PRESET],
                         capture_output=True, text=True, check=True)
    return [float(x) for x in res.stdout.split()]


RSS_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, streamlit, plotly.io
from threadpoolctl import threadpool_limits
threadpool_limits(limits=1, user_api="blas")
import adjoint_core as ac
from ui.plots import figures
def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
run = ac.TrainingRun(ac.presets[sys.argv[2]], seed=0)
before = kb("VmRSS")
t0 = time.perf_counter()
done = 0
while done < int(sys.argv[3]):
    done += run.run_steps(min(100_000, int(sys.argv[3]) - done))
    if run.diverged:
        break
h = run.history
figs = [figures.loss_figure(h.step, h.loss, h.epoch_step, h.test_loss, 200),
        figures.mu_heatmap_figure(h.step, h.mu_norms), figures.grad_norm_figure(h.step, h.grad_norms)]
sizes = sum(len(plotly.io.to_json(f, validate=False)) for f in figs)
print(done, time.perf_counter() - t0, before, kb("VmRSS"), kb("VmHWM"), h.steps.data.nbytes + h.epochs.data.nbytes,
      sizes, run.diverged is None)
"""


def rss_after(root: Path, steps: int, preset: str) -> tuple[int, float, int, int, int, int, int, bool]:
    res = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(root), preset, str(steps)], capture_output=True,
                         text=True, check=True)
    a = res.stdout.split()
    return int(a[0]), float(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]), int(a[6]), a[7] == "True"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _list(xs: list[float], scale: float = 1.0, fmt: str = ".2f") -> str:
    return "[" + ", ".join(f"{x * scale:{fmt}}" for x in xs) + "]"


def report(sessions: list[dict], bare: list[dict], epochs: int, engine: list[float]) -> None:
    """(a)-(d) and (f): medians over the sessions, each line with its target; (d) beside the bare app's."""
    ok = [s for s in sessions if "wall_ms" in s]
    loaded = [s for s in sessions if "first_chart_ms" in s]
    firsts = [s["first_chart_ms"] for s in loaded]
    bare_firsts = [s["first_chart_ms"] for s in bare if "first_chart_ms" in s]
    print(f"(d) first load -> first chart drawn: {median(firsts) / 1000:.2f} s median {_list(firsts, 1e-3)}; all "
          f"{len(loaded[0]['charts']) if loaded else 0} charts: "
          f"{median([s['all_charts_ms'] for s in loaded]) / 1000:.2f} s  (target <= 3 s)")
    print(f"    bare Streamlit app (bare_app.py, 4 st.plotly_chart), same browser and throttle: first chart "
          f"{median(bare_firsts) / 1000:.2f} s median {_list(bare_firsts, 1e-3)}; app / bare "
          f"{median(firsts) / median(bare_firsts):.2f}x  (target <= 1.15x at 1x, <= 1.25x at 4x)")
    walls = [s["wall_ms"] / 1000 for s in ok]
    wall, eng = median(walls), median(engine)
    print(f"(a) Play -> epoch {epochs} shown: {wall:.2f} s median of {len(ok)} {_list(walls)}; engine only "
          f"{eng:.2f} s {_list(engine)}; ratio {wall / eng:.2f}x  (target <= 4 s, within ~3x)")
    if ok:
        print(f"    server + training process CPU {median([s['server_cpu_s'] for s in ok]):.2f} s, browser CPU "
              f"{median([s['browser_cpu_s'] for s in ok]):.2f} s during the run (medians)")
    print("(b) chart refreshes while playing (medians): renders/s, fewest in any 1 s, longest gap"
          "  (target >= 5/s throughout)")
    for k in sorted({k for s in ok for k in s["renders"]}):
        st = [s["renders"][k] for s in ok if k in s["renders"]]
        print(f"    {k:<14} {median([r[0] for r in st]):5.1f}/s  min {median([r[1] for r in st]):3.0f}/s  "
              f"gap {median([r[2] for r in st]):5.0f} ms")
    if ok:
        st = [s["step_updates"] for s in ok]
        print(f"    {'Step metric':<14} {median([r[0] for r in st]):5.1f}/s  min {median([r[1] for r in st]):3.0f}/s  "
              f"gap {median([r[2] for r in st]):5.0f} ms")
    paused = [s for s in sessions if "pause_clicks_lost" in s]
    pauses = [s["pause_ms"] for s in paused]
    lost = sum(s["pause_clicks_lost"] for s in paused)
    print(f"(c) Pause click -> Step counter stopped: {median(pauses):.0f} ms median {_list(pauses, 1, '.0f')}; "
          f"-> Play button back: {median([s['pause_button_ms'] for s in paused]):.0f} ms; "
          f"Pause clicks lost: {lost} of {len(paused) + lost}  (target <= 500 ms)")
    if ok:
        shares, st = [s["long_task_share"] for s in ok], [s["step_updates"] for s in ok]
        print(f"(f) main thread while playing: {median(shares):.0%} in long tasks {_list(shares, 100, '.0f')}%, "
              f"longest {median([s['longest_task_ms'] for s in ok]):.0f} ms; status redraws "
              f"{median([r[0] for r in st]):.1f}/s, fewest in any 1 s {median([r[1] for r in st]):.0f}  "
              f"(target <= 35%, >= 5 in every second)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="browser sessions (default 3); medians are printed")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epoch limit (default: the preset's 100; other values go in the URL, ?epochs=E)")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds of Play before the Pause click")
    parser.add_argument("--rss-steps", type=int, default=1_000_000, help="steps before the RSS reading (e)")
    parser.add_argument("--rss-preset", default="nonlinear-relu", help="preset of the RSS run (a small one)")
    parser.add_argument("--cpu-throttle", type=float, default=1.0, metavar="N",
                        help="slow the browser page's CPU N times (DevTools CPU throttling; 4 ~ a school Chromebook)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 epochs, 1 session, 20,000 RSS steps")
    parser.add_argument("--json", metavar="FILE", help="also write every raw measurement to FILE")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="write the first session's CPU profile while playing to FILE (.cpuprofile), summarised")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                        help="extra option for streamlit run, e.g. --server-arg=--runner.postScriptGC=false")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    import adjoint_core as ac

    if args.quick:
        args.epochs = args.epochs or 3
        args.repeats, args.hold, args.rss_steps = 1, 1.0, 20_000
    epochs = args.epochs or ac.presets[PRESET].epochs
    query = "" if epochs == ac.presets[PRESET].epochs else f"?epochs={epochs}"
    spe = ac.TrainingRun(ac.presets[PRESET], seed=0).steps_per_epoch
    print(f"bench_app: {root}, {PRESET}, {epochs} epochs ({epochs * spe:,} steps), {args.repeats} session(s); "
          f"{os.cpu_count()} CPUs; browser CPU throttled {args.cpu_throttle:g}x; "
          f"runner.postScriptGC {post_script_gc(root, args.server_arg)}; "
          f"load average {load_average()}", flush=True)
    from playwright.sync_api import sync_playwright

    bare_root = Path(tempfile.mkdtemp(prefix="bench_bare_"))   # bare_app.py served as an app.py of its own
    (bare_root / "app.py").symlink_to(ROOT / "benchmarks" / "bare_app.py")
    (bare_root / ".streamlit").symlink_to(root / ".streamlit")
    server = Server(root, extra=args.server_arg)
    sessions: list[dict] = []
    bare: list[dict] = []
    try:
        bare_server = Server(bare_root)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for i in range(args.repeats):
                    bare.append(bare_session(browser, bare_server.url + "/", args.cpu_throttle))
                    s = one_session(browser, server.url + "/" + query, epochs, args.hold, server.proc.pid,
                                    args.cpu_throttle, args.profile if i == 0 else None)
                    sessions.append(s)
                    shown = ("first_chart_ms", "wall_ms", "server_cpu_s", "browser_cpu_s", "pause_ms",
                             "long_task_share", "error")
                    print(f"  session {i + 1}: bare first chart {bare[-1].get('first_chart_ms', math.nan):.0f}, "
                          + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in s.items() if k in shown)
                          + f"; load {load_average()}", flush=True)
            finally:
                browser.close()
        server_rss = status_kb(server.proc.pid, "VmRSS")
        bare_server.stop()
    finally:
        server.stop(keep_log=not sessions or any("error" in s or s.get("page_errors") for s in sessions))
        shutil.rmtree(bare_root)
    engine = engine_only(root, epochs, 3)
    print(f"\nload average after the browser runs: {load_average()}")
    report(sessions, bare, epochs, engine)
    done, secs, before, rss, hwm, hist, fig_bytes, finite = rss_after(root, args.rss_steps, args.rss_preset)
    print(f"(e) RSS of one session's process after {done:,} steps ({args.rss_preset}, {secs:.1f} s): "
          f"{rss / 1024:.0f} MB (peak {hwm / 1024:.0f} MB, {before / 1024:.0f} MB before training; history "
          f"{hist / 1024:.0f} kB; long-history figures {fig_bytes / 1024:.0f} kB){'' if finite else ' DIVERGED'}; "
          f"server process after the browser runs: {server_rss / 1024:.0f} MB  (target < 300 MB)")
    for i, s in enumerate(sessions + bare):
        if "error" in s:
            print(f"session {i + 1} error: {s['error']}")
    errors = [e for s in sessions for e in s.get("page_errors", [])]
    if errors:
        print("page errors:", *errors[:5], sep="\n  ")
    if args.json:
        Path(args.json).write_text(json.dumps({"sessions": sessions, "bare": bare, "engine_s": engine}, indent=1))
    return 0 if sessions and all("wall_ms" in s for s in sessions) else 1


if __name__ == "__main__":
    sys.exit(main())
