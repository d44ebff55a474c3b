"""End-to-end speed of the Train page: the app in headless Chromium, Play on the 2D wave preset.

    python benchmarks/bench_app.py [--repeats R] [--epochs E] [--rss-steps N] [--quick]

Starts ``streamlit run app.py`` on a free loopback port, opens the Train page in headless Debian Chromium
(Playwright, ``/usr/bin/chromium``) and, per repeat (a fresh browser context, so a fresh session and run):

  (d) first load to first chart: page navigation start to the first Plotly chart drawn (and to all of them);
  (a) wall time from the Play click until the Epoch metric shows the epoch limit (Play pauses itself there);
  (b) chart refreshes per second seen in the browser while playing, per chart: a MutationObserver installed
      before the page loads timestamps every change inside each keyed chart's Plotly div (changes closer
      than 30 ms together count as one render), and every change of the Step/Epoch metrics; nothing polls;
  (c) Pause latency: Play again, let it run, dispatch a click on Pause; time until the Step counter stops.

Then it prints the medians with the engine-only time for the same steps (``TrainingRun.run_epochs`` in this
process, BLAS at one thread as in the server) and their ratio, and (e) the resident memory of a process
holding one session's run (Streamlit, Plotly and the page's modules imported) after ``--rss-steps`` training
steps on a small preset, read from /proc/self/status.  Each line starts with the measurement's letter, so a
test can check that every one was printed.  Numbers depend on machine load: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1500, "height": 2000}   # every Train chart on screen
PRESET = "wave2d-relu"
COALESCE_MS = 30                             # mutations closer together than this are one render

# Installed before any page script runs: records chart renders and metric changes with performance.now()
# timestamps (ms since navigation start). Cheap: one callback per DOM mutation batch, no polling.
OBSERVER_JS = """
(() => {
  const B = window.__bench = {renders: {}, first: {}, step: [], epoch: [], button: [], coalesce: %d};
  const last = {};
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
  const keyOf = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    const box = el && el.closest('[class*="st-key-"]');
    if (!box) return null;
    const m = box.className.match(/st-key-(\\S+)/);
    return m ? m[1] : null;
  };
  const isPlot = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    if (!el) return false;
    return !!(el.closest('.js-plotly-plot') || (el.querySelector && el.querySelector('.js-plotly-plot, .main-svg')));
  };
  const push = (arr, t, v) => { if (!arr.length || arr[arr.length - 1][1] !== v) arr.push([t, v]); };
  const obs = new MutationObserver((muts) => {
    const t = performance.now();
    const keys = new Set();
    for (const m of muts) {
      if (m.type === 'childList') {
        for (const n of m.addedNodes) if (isPlot(n)) { const k = keyOf(n); if (k) keys.add(k); }
      }
      if (isPlot(m.target)) { const k = keyOf(m.target); if (k) keys.add(k); }
    }
    for (const k of keys) {
      if (!(k in B.first)) B.first[k] = t;
      if (!(k in last) || t - last[k] > B.coalesce) (B.renders[k] = B.renders[k] || []).push(t);
      last[k] = t;
    }
    const s = metric('Step'), e = metric('Epoch');
    if (s !== null) push(B.step, t, s);
    if (e !== null) push(B.epoch, t, e);
    const btn = document.querySelector('.st-key-btn_play button');
    if (btn) push(B.button, t, btn.textContent.trim());
  });
  const start = () => obs.observe(document.documentElement,
                                  {subtree: true, childList: true, characterData: true, attributes: true});
  if (document.documentElement) start(); else document.addEventListener('readystatechange', start, {once: true});
})();
""" % COALESCE_MS


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(pid: int) -> list[int]:
    """Every live process below pid."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def status_kb(pid: int | str, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    """``streamlit run app.py`` on a free loopback port, stopped (by its pid) on exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench_app_server_", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not start; log: {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _ms(a: float | None) -> str:
    return "-" if a is None else f"{a / 1000:.2f} s"


def render_stats(times: list[float], t0: float, t1: float) -> tuple[float, int, float]:
    """(renders per second, fewest renders in any whole second, longest gap in ms) over [t0, t1]."""
    ts = [t for t in times if t0 <= t <= t1]
    span = max(t1 - t0, 1e-9)
    rate = len(ts) / span * 1000
    windows = [sum(1 for t in ts if w <= t < w + 1000) for w in range(int(t0), int(t1 - 1000) + 1, 250)]
    edges = [t0, *ts, t1]
    gap = max(b - a for a, b in zip(edges, edges[1:]))
    return rate, (min(windows) if windows else len(ts)), gap


def one_session(browser, url: str, epochs: int, hold: float, server_pid: int) -> dict:
    """Open the page, Play to the epoch limit, Play again, Pause; return the measurements of this session."""
    from playwright.sync_api import TimeoutError as PwTimeout

    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(OBSERVER_JS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    out: dict = {}
    try:
        page.goto(url)
        page.wait_for_function("() => Object.keys(window.__bench.first).length > 0", polling=100, timeout=60_000)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=60_000)
        time.sleep(1.0)   # let the first render settle
        b = page.evaluate("() => window.__bench")
        out["first_chart_ms"] = min(b["first"].values())
        out["all_charts_ms"] = max(b["first"].values())
        out["charts"] = sorted(b["first"])

        play = page.locator(".st-key-btn_play button")
        srv_cpu0, brw_cpu0 = cpu_seconds(server_pid), sum(map(cpu_seconds, browser_pids(server_pid)))
        t_play = page.evaluate("() => performance.now()")
        play.dispatch_event("click")
        target = str(epochs)
        try:
            page.wait_for_function(
                "(t) => window.__bench.epoch.some(([_, v]) => v.replace(/,/g, '') === t)", arg=target,
                polling=250, timeout=120_000)
        except PwTimeout:
            out["error"] = "epoch limit not reached in 120 s"
            return out
        b = page.evaluate("() => window.__bench")
        t_end = next(t for t, v in b["epoch"] if v.replace(",", "") == target)
        out["wall_ms"] = t_end - t_play
        out["server_cpu_s"] = cpu_seconds(server_pid) - srv_cpu0
        out["browser_cpu_s"] = sum(map(cpu_seconds, browser_pids(server_pid))) - brw_cpu0
        out["renders"] = {k: render_stats(v, t_play, t_end) for k, v in b["renders"].items()}
        out["step_updates"] = render_stats([t for t, _ in b["step"]], t_play, t_end)

        # (c): Play again (past the limit it trains on), let it run, then Pause.
        page.locator(".st-key-btn_play button", has_text="Play").wait_for(timeout=30_000)
        time.sleep(0.5)
        play.dispatch_event("click")
        page.locator(".st-key-btn_play button", has_text="Pause").wait_for(timeout=30_000)
        time.sleep(hold)
        t_click = page.evaluate("() => performance.now()")
        play.dispatch_event("click")
        page.locator(".st-key-btn_play button", has_text="Play").wait_for(timeout=30_000)
        time.sleep(1.5)
        b = page.evaluate("() => window.__bench")
        steps_after = [(t, v) for t, v in b["step"] if t >= t_click]
        out["pause_ms"] = (steps_after[-1][0] - t_click) if steps_after else 0.0
        out["pause_button_ms"] = next(t for t, v in b["button"] if t >= t_click and v == "Play") - t_click
        out["still_ok"] = not errors
    finally:
        out["page_errors"] = errors
        ctx.close()
    return out


def browser_pids(server_pid: int) -> list[int]:
    """The browser's processes (and Playwright's driver): everything below this process but the server."""
    skip = {server_pid, *descendants(server_pid)}
    return [p for p in descendants(os.getpid()) if p not in skip]


def engine_only(epochs: int, repeats: int) -> list[float]:
    """Seconds for ``TrainingRun(wave2d).run_epochs(epochs)`` in this process (BLAS at one thread)."""
    from threadpoolctl import threadpool_limits

    import adjoint_core as ac

    times = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(repeats):
            run = ac.TrainingRun(ac.presets[PRESET], seed=0)
            t0 = time.perf_counter()
            run.run_epochs(epochs)
            times.append(time.perf_counter() - t0)
    return times


RSS_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, streamlit, plotly.io
from threadpoolctl import threadpool_limits
threadpool_limits(limits=1, user_api="blas")
import adjoint_core as ac
from ui import figures
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


def rss_after(steps: int, preset: str) -> tuple[int, float, int, int, int, int, int, bool]:
    res = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(ROOT), preset, str(steps)], capture_output=True,
                         text=True, check=True)
    a = res.stdout.split()
    return int(a[0]), float(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]), int(a[6]), a[7] == "True"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="browser sessions (default 3); medians are printed")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epoch limit (default: the preset's 100; other values go in the URL, ?epochs=E)")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds of Play before the Pause click")
    parser.add_argument("--rss-steps", type=int, default=1_000_000, help="steps before the RSS reading (e)")
    parser.add_argument("--rss-preset", default="nonlinear-relu", help="preset of the RSS run (a small one)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 epochs, 1 session, 20,000 RSS steps")
    parser.add_argument("--json", metavar="FILE", help="also write every raw measurement to FILE")
    args = parser.parse_args(argv)
    import adjoint_core as ac

    if args.quick:
        args.epochs = args.epochs or 3
        args.repeats, args.hold, args.rss_steps = 1, 1.0, 20_000
    epochs = args.epochs or ac.presets[PRESET].epochs
    query = "" if epochs == ac.presets[PRESET].epochs else f"?epochs={epochs}"
    spe = ac.TrainingRun(ac.presets[PRESET], seed=0).steps_per_epoch

    print(f"bench_app: {PRESET}, {epochs} epochs ({epochs * spe:,} steps), {args.repeats} session(s); "
          f"{os.cpu_count()} CPUs; load average {load_average()}")
    from playwright.sync_api import sync_playwright

    server = Server()
    sessions: list[dict] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for i in range(args.repeats):
                    s = one_session(browser, server.url + "/" + query, epochs, args.hold, server.proc.pid)
                    sessions.append(s)
                    print(f"  session {i + 1}: " + ", ".join(
                        f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}" for k, v in s.items()
                        if k in ("wall_ms", "first_chart_ms", "all_charts_ms", "pause_ms", "pause_button_ms",
                                 "error")) + f", load {load_average()}", flush=True)
            finally:
                browser.close()
        server_rss = status_kb(server.proc.pid, "VmRSS")
    finally:
        server.stop()
    ok = [s for s in sessions if "wall_ms" in s]
    engine = engine_only(epochs, 3)
    eng = median(engine)

    print(f"\nload average after the browser runs: {load_average()}")
    print(f"(d) first load -> first chart drawn: {_ms(median([s['first_chart_ms'] for s in sessions]))} median; "
          f"all {len(sessions[0]['charts']) if sessions else 0} charts: "
          f"{_ms(median([s['all_charts_ms'] for s in sessions]))}  (target <= 3 s)")
    walls = [s["wall_ms"] for s in ok]
    wall = median(walls) / 1000 if ok else float("nan")
    print(f"(a) Play -> epoch {epochs} shown: {wall:.2f} s median of {len(ok)} "
          f"[{', '.join(f'{w / 1000:.2f}' for w in walls)}]; engine only {eng:.2f} s "
          f"[{', '.join(f'{t:.2f}' for t in engine)}]; ratio {wall / eng:.2f}x  (target <= 4 s, ~3x)")
    if ok:
        print(f"    server CPU {median([s['server_cpu_s'] for s in ok]):.2f} s, browser CPU "
              f"{median([s['browser_cpu_s'] for s in ok]):.2f} s over the run (median)")
    keys = sorted({k for s in ok for k in s["renders"]})
    print("(b) chart refreshes while playing, per chart (median over sessions): renders/s, fewest in any 1 s, "
          "longest gap  (target >= 5/s throughout)")
    for k in keys:
        st = [s["renders"][k] for s in ok if k in s["renders"]]
        print(f"    {k:<14} {median([r[0] for r in st]):5.1f}/s  min {median([r[1] for r in st]):3.0f}/s  "
              f"gap {median([r[2] for r in st]):5.0f} ms")
    if ok:
        st = [s["step_updates"] for s in ok]
        print(f"    {'Step metric':<14} {median([r[0] for r in st]):5.1f}/s  min {median([r[1] for r in st]):3.0f}/s  "
              f"gap {median([r[2] for r in st]):5.0f} ms")
    pauses = [s["pause_ms"] for s in sessions if "pause_ms" in s]
    print(f"(c) Pause click -> Step counter stopped: {median(pauses):.0f} ms median "
          f"[{', '.join(f'{p:.0f}' for p in pauses)}]; -> Play button back: "
          f"{median([s['pause_button_ms'] for s in sessions if 'pause_button_ms' in s]):.0f} ms  (target <= 500 ms)")
    done, secs, before, rss, hwm, hist, fig_bytes, finite = rss_after(args.rss_steps, args.rss_preset)
    print(f"(e) RSS of one session's process after {done:,} steps ({args.rss_preset}, {secs:.1f} s): "
          f"{rss / 1024:.0f} MB (peak {hwm / 1024:.0f} MB, {before / 1024:.0f} MB before training; history "
          f"{hist / 1024:.0f} kB; long-history figures {fig_bytes / 1024:.0f} kB){'' if finite else ' DIVERGED'}; "
          f"server after the browser runs: {server_rss / 1024:.0f} MB  (target < 300 MB)")
    errors = [e for s in sessions for e in s.get("page_errors", [])]
    if errors:
        print("page errors:", *errors[:5], sep="\n  ")
    if args.json:
        Path(args.json).write_text(json.dumps({"sessions": sessions, "engine_s": engine}, indent=1))
    return 0 if ok and len(ok) == len(sessions) else 1


if __name__ == "__main__":
    sys.exit(main())
