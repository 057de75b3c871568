"""Progress lines for long work: done / total, rate and time left, at most one every few seconds.

Why: a stage, a fine-tune or a scoring run can take many minutes; a line now and then tells working
from stuck, and how long is left. Lines go through logging at INFO (stderr), so `-q` hides them, a
log file keeps them, and pytest shows them only through caplog. Short work prints none: the first
line comes after one interval (10 s on a terminal, 60 s otherwise; CORPUSMILL_PROGRESS_SECONDS sets it).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from typing import Callable, Iterator

log = logging.getLogger("corpusmill")

TTY_SECONDS = 10.0         # between progress lines on a terminal
LOG_SECONDS = 60.0         # between progress lines when stderr is a file or a pipe (logs stay short)


def default_interval() -> float:
    env = os.environ.get("CORPUSMILL_PROGRESS_SECONDS", "").strip()
    if env:
        return max(0.0, float(env))
    try:
        return TTY_SECONDS if sys.stderr.isatty() else LOG_SECONDS
    except (AttributeError, ValueError):     # a replaced or closed stderr
        return LOG_SECONDS


def duration(seconds: float) -> str:
    """45s, 3m05s, 2h07m."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


class Progress:
    """`[what] 1,200/5,000 rows (24%), 40.0 rows/s, about 1m35s left`, at most every `interval` seconds.

    The rate is the average since the start (a steady time left); `rate_unit`/`rate_scale` report it in
    another unit than the count (batches counted, examples/s shown). total None: count and rate only.
    """

    def __init__(self, what: str, total: int | None = None, unit: str = "rows", *, rate_unit: str | None = None,
                 rate_scale: float = 1.0, interval: float | None = None, clock: Callable[[], float] = time.monotonic,
                 emit: Callable[[str], None] | None = None):
        self.what, self.total, self.unit = what, total, unit
        self.rate_unit, self.rate_scale = rate_unit or unit, rate_scale
        self.interval = default_interval() if interval is None else interval
        self.clock = clock
        self.emit = emit or (lambda msg: log.info("%s", msg))
        self.t0 = self.last = clock()
        self.done = 0
        self.lines = 0

    def update(self, done: int, total: int | None = None, note: str = "") -> bool:
        """Record `done` (and a new total); print a line when the interval has passed. True when printed."""
        self.done = done
        if total is not None:
            self.total = total
        now = self.clock()
        if now - self.last < self.interval:
            return False
        self.last = now
        self.lines += 1
        self.emit(self.line(now, note))
        return True

    def add(self, n: int = 1, note: str = "") -> bool:
        return self.update(self.done + n, note=note)

    def line(self, now: float | None = None, note: str = "") -> str:
        elapsed = (self.clock() if now is None else now) - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        total = self.total
        parts = [f"{self.done:,}/{total:,} {self.unit} ({100 * self.done / total:.0f}%)" if total
                 else f"{self.done:,} {self.unit}"]
        parts.append(f"{_rate(rate * self.rate_scale)} {self.rate_unit}/s")
        if total and self.done >= total:
            parts.append(f"{duration(elapsed)} so far")
        elif total and rate > 0:
            parts.append(f"about {duration((total - self.done) / rate)} left")
        return f"[{self.what}] " + ", ".join(parts + ([note] if note else []))


class SparkTasks:
    """Tasks done / known of the Spark jobs a block runs, from the status tracker.

    A Spark stage counts once it has run (active now, or finished with tasks done): a finished stage
    counts as its completed tasks, so a skipped stage (its shuffle output reused) never inflates the
    total. `group`: also the finished jobs of this job group started after the tracker was made (a
    stage's jobs are in `corpusmill:<stage>`, jobs/core/stage.py), so work shorter than one poll counts.
    """

    def __init__(self, spark, group: str | None = None):
        self.tracker = spark.sparkContext.statusTracker()
        self.group = group
        self.old_jobs = set(self.tracker.getJobIdsForGroup(group)) if group else set()
        self.stages: dict[int, tuple[int, int]] = {}     # Spark stage id -> (tasks done, tasks)
        self.settled: set[int] = set()                   # finished stages: their counts no longer change
        self.job_stages: dict[int, list[int]] = {}       # a job's stage ids (fixed once the job exists)
        self.running: list[int] = []

    def poll(self) -> tuple[int, int]:
        t = self.tracker
        active = set(t.getActiveStageIds())
        ids = active | set(self.stages)
        if self.group:
            for job in t.getJobIdsForGroup(self.group):
                if job not in self.old_jobs and job not in self.job_stages:
                    info = t.getJobInfo(job)
                    if info is not None:
                        self.job_stages[job] = list(info.stageIds)
            for stage_ids in self.job_stages.values():
                ids.update(stage_ids)
        for sid in ids - self.settled:
            info = t.getStageInfo(sid)
            done = info.numCompletedTasks if info is not None else self.stages.get(sid, (0, 0))[0]
            if sid in active and info is not None:
                self.stages[sid] = (done, max(done, info.numTasks))
            elif done > 0 or sid in self.stages:
                self.stages[sid] = (done, done)
                self.settled.add(sid)
        self.running = sorted(active)
        return self.done, self.total

    @property
    def done(self) -> int:
        return sum(d for d, _ in self.stages.values())

    @property
    def total(self) -> int:
        return sum(n for _, n in self.stages.values())

    def note(self) -> str:
        if not self.running:
            return ""
        return f"Spark stage{'s' if len(self.running) > 1 else ''} {', '.join(map(str, self.running))} running"


@contextlib.contextmanager
def spark_progress(spark, what: str, group: str | None = None, *, interval: float | None = None,
                   poll_seconds: float = 1.0) -> Iterator[Progress]:
    """While the block runs, a daemon thread reports its Spark tasks: done / total, rate, time left.

    The total is the tasks of the Spark stages started so far (later stages are not known yet), so
    the time left is for the running stages. A last line at the end when the interval has passed."""
    tasks = SparkTasks(spark, group)
    p = Progress(what, None, "tasks", interval=interval)
    poll = max(0.05, min(poll_seconds, p.interval or poll_seconds))
    stop = threading.Event()

    def report() -> None:
        done, total = tasks.poll()
        if total:
            p.update(done, total, tasks.note())

    def loop() -> None:
        while not stop.wait(poll):
            try:
                report()
            except Exception as e:  # noqa: BLE001 - a stopped context, a JVM gone: progress is not worth a failure
                log.debug("[%s] progress polling stopped: %s", what, e)
                return

    thread = threading.Thread(target=loop, name=f"corpusmill-progress-{what}", daemon=True)
    thread.start()
    try:
        yield p
    finally:
        stop.set()
        thread.join(timeout=5)
        with contextlib.suppress(Exception):
            report()
