"""Process-tree sampling from /proc (Linux), shared by the benchmarks.

Why a tree: a Spark run's memory and CPU live in the JVM and the Python workers, datatrove's in its
worker pool, so a figure for one process alone would flatter every system. `PeakRSS` samples the
summed RSS of a root process and all its descendants on a background thread.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    ppid: int
    name: str              # the command name in /proc/PID/stat ("java", "python", ...)
    rss: int               # resident bytes
    cpu: float             # user + system seconds of the process itself
    cpu_children: float    # user + system seconds of its reaped children
    start: str             # start time in ticks: (pid, start) names a process even after pid reuse


def processes() -> dict[int, Proc]:
    """Every readable process on the machine (processes that exit mid-read are skipped)."""
    out: dict[int, Proc] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                head, _, rest = f.read().rpartition(")")
            p = rest.split()
            out[int(d)] = Proc(int(p[1]), head.partition("(")[2], int(p[21]) * PAGE,
                               (int(p[11]) + int(p[12])) / TICK, (int(p[13]) + int(p[14])) / TICK, p[19])
        except (OSError, IndexError, ValueError):
            continue
    return out


def tree(root: int, procs: dict[int, Proc]) -> list[int]:
    """root and all its descendants present in procs."""
    children: dict[int, list[int]] = {}
    for pid, p in procs.items():
        children.setdefault(p.ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class Sampler:
    """Context manager calling self.sample() every `every` seconds on a daemon thread."""

    def __init__(self, every: float = 0.2):
        self.every, self._stop = every, threading.Event()

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


class PeakRSS(Sampler):
    """Peak summed RSS of the tree rooted at `root` (default: this process), and the CPU seconds it used.

    CPU = user + system time of every process seen in the tree, each at its last sample (an exited
    process keeps its last value), so it does not depend on other load on the machine.
    """

    def __init__(self, root: int | None = None, every: float = 0.2):
        super().__init__(every)
        self.root, self.peak = root or os.getpid(), 0
        self._cpu: dict[tuple[int, str], float] = {}

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def sample(self) -> None:
        procs = processes()
        pids = tree(self.root, procs)
        self.peak = max(self.peak, sum(procs[p].rss for p in pids))
        for p in pids:
            self._cpu[(p, procs[p].start)] = procs[p].cpu

    def cpu_since(self, before: dict[tuple[int, str], float]) -> float:
        """CPU seconds the tree used since `before` (a tree_cpu() snapshot taken earlier)."""
        return sum(v - before.get(k, 0.0) for k, v in self._cpu.items())


def tree_cpu(root: int | None = None) -> dict[tuple[int, str], float]:
    """CPU seconds of every process in the tree now, keyed like PeakRSS's (pid, start)."""
    procs = processes()
    return {(p, procs[p].start): procs[p].cpu for p in tree(root or os.getpid(), procs)}
