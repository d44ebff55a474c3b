"""CPU and memory of a process and its descendants, read from /proc (Linux), for the benchmarks.

- ``own_cpu(pid)``: utime + stime of one process; ``status_kb(pid, field)``: a /proc/<pid>/status field in kB;
- ``tree_pids(pid)``: the process and every live descendant; ``tree_usage(pid)``: their CPU seconds (reaped
  children included) and RSS;
- ``listener_pid(port)``: the process listening on a local TCP port (a server started elsewhere);
- ``TreeMonitor``: samples a process tree in the background of an asyncio loop, then answers CPU seconds at a
  moment (interpolated), the last and peak RSS and when the tree went idle;
- ``load_average()``: the machine's 1, 5 and 15 minute load, printed with every figure.
"""

from __future__ import annotations

import asyncio
import os
import time

SAMPLE_PERIOD = 0.1       # s between samples of a TreeMonitor
IDLE_WINDOW = 1.0         # s: a tree counts as idle over a window this long ...
IDLE_CORES = 0.05         # ... using less than this share of one core
CLK_TCK = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: field 3 (state) is element 0."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def status_kb(pid: int | str, field: str) -> int:
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM, ...); 0 when absent."""
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) for line in f if line.startswith(field + ":")), 0)


def tree_pids(pid: int) -> list[int]:
    """pid and every live descendant, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def own_cpu(pid: int) -> float:
    """utime + stime of one process in seconds (0 when it is gone)."""
    try:
        f = _stat_fields(pid)
        return (int(f[11]) + int(f[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of pid and its live descendants. The CPU seconds of each process are utime + stime
    + cutime + cstime (its reaped children too), so the sum does not drop when a child exits."""
    cpu, kb = 0.0, 0
    for p in tree_pids(pid):
        try:
            cpu += sum(int(x) for x in _stat_fields(p)[11:15]) / CLK_TCK
            kb += status_kb(p, "VmRSS")
        except (OSError, IndexError, ValueError):
            continue
    return cpu, kb / 1024


def listener_pid(port: int) -> int | None:
    """The process listening on a local TCP port (found through its socket's inode), if it is readable."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        inodes |= {f"socket:[{r[9]}]" for r in rows if r[3] == "0A" and int(r[1].rsplit(":", 1)[1], 16) == port}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{d}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{d}/fd")):
                return int(d)
        except OSError:
            continue
    return None


class TreeMonitor:
    """Samples (time, tree CPU s, own CPU s, tree RSS MB, own RSS MB) of a process tree every SAMPLE_PERIOD s in
    the background of the running asyncio loop (``start``/``stop``); ``pid`` None samples nothing."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float, float, float, float]] = []
        self._task: asyncio.Task | None = None

    def sample(self) -> None:
        if self.pid is not None:
            t, own, (cpu, rss) = time.monotonic(), own_cpu(self.pid), tree_usage(self.pid)
            self.samples.append((t, cpu, own, rss, status_kb(self.pid, "VmRSS") / 1024))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_PERIOD)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.sample()

    def cpu_at(self, t: float) -> tuple[float, float]:
        """(tree, own) CPU seconds at time t, interpolated between samples."""
        s = self.samples
        i = next((k for k, x in enumerate(s) if x[0] >= t), len(s) - 1)
        if i == 0 or s[i][0] <= t:
            return s[i][1], s[i][2]
        (t0, a0, b0, *_), (t1, a1, b1, *_) = s[i - 1], s[i]
        w = (t - t0) / (t1 - t0)
        return a0 + w * (a1 - a0), b0 + w * (b1 - b0)

    def last_rss(self, own: bool = False) -> float | None:
        """The tree's RSS in MB at the last sample (``own``: the process's alone)."""
        return self.samples[-1][4 if own else 3] if self.samples else None

    def peak_rss(self, own: bool = False) -> float:
        """The tree's highest RSS in MB (``own``: the process's alone)."""
        return max((x[4 if own else 3] for x in self.samples), default=0.0)

    def idle_since(self, t0: float) -> float | None:
        """Seconds from t0 to the start of the first IDLE_WINDOW in which the tree used < IDLE_CORES of a core."""
        s = [x for x in self.samples if x[0] >= t0]
        j = 0
        for i, a in enumerate(s):
            j = max(j, i)
            while j < len(s) and s[j][0] < a[0] + IDLE_WINDOW:
                j += 1
            if j == len(s):
                return None
            if (s[j][1] - a[1]) / (s[j][0] - a[0]) < IDLE_CORES:
                return a[0] - t0
        return None

    async def wait_idle(self, t0: float, timeout: float) -> float | None:
        """Seconds from t0 until the tree is idle (see idle_since), sampled while waiting; None after timeout."""
        while time.monotonic() < t0 + timeout + IDLE_WINDOW:
            idle = self.idle_since(t0)
            if idle is not None:
                return idle
            await asyncio.sleep(SAMPLE_PERIOD)
        return None
