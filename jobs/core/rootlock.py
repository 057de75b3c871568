"""One writer per storage root: an exclusive lock a run takes before it does any work.

Two runs on one root race each other's Delta commits, and the embedded Derby metastore
(storage.catalog: derby) admits one JVM at a time; so a writer locks the root first, and a second
writer fails at once, before Spark starts, naming the holder. Readers never take this lock.

Local roots: fcntl.flock on `<root>/.corpusmill.lock`. The kernel drops the lock when the holding
process dies, even by SIGKILL, so there is no stale lock to clean up; the file only carries the
holder's pid, host, command and start time for the message. Runs on several hosts exclude each
other only where the filesystem's flock does (local disks do; NFS emulates it with POSIX locks).

Non-local roots (s3a://, hdfs://, gs://, ...) have no lock primitive. The lock is then taken on a
local file keyed by the root's URI (`$CORPUSMILL_CACHE/locks/<sha1>.lock`): best effort, it stops
a second run on the same machine only. Runs from different machines must be kept apart by their
scheduler (and such roots use a shared `hive` metastore, which admits many clients).

Re-entrant within a process: the CLI claims the lock before the SparkSession starts, and
run_pipeline holds it again around its stages.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from corpusmill.jobs.core.config import Config, cache_dir

LOCK_NAME = ".corpusmill.lock"


class RootBusy(RuntimeError):
    """Another process holds the root's writer lock (the CLI prints `corpusmill: storage root busy: ...`, exit 2)."""

    cli_kind = "storage root busy"


_mutex = threading.Lock()
_held: dict[str, list] = {}          # lock file -> [fd, depth]


def root_of(config: Config) -> str:
    root = config.path("").rstrip("/") or "/"
    return root.removeprefix("file://") if root.startswith("file:///") else root


def lock_file(config: Config) -> Path:
    """`<root>/.corpusmill.lock` for a local root; a per-URI file under ~/.cache for any other."""
    root = root_of(config)
    if "://" not in root:
        return Path(root) / LOCK_NAME
    key = hashlib.sha1(root.encode()).hexdigest()[:20]
    return cache_dir() / "locks" / f"{key}.lock"


def held_here(config: Config) -> bool:
    """True when this process holds the root's writer lock."""
    with _mutex:
        return str(lock_file(config)) in _held


def _holder(fd: int) -> dict:
    """The holder's record; it is written right after the lock is taken, so wait a moment for it."""
    for _ in range(20):
        try:
            data = os.pread(fd, 4096, 0)
            if data.strip():
                return json.loads(data)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return {}


def _busy_message(root: str, info: dict) -> str:
    who = (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} "
           f"({info.get('what', '?')}, started {info.get('started', '?')})") if info else "another process"
    return f"{root} is being written by {who}; wait for it or use another storage.root"


def acquire(config: Config, what: str) -> None:
    """Take the root's writer lock (or one more level of it); RootBusy when another process holds it."""
    path = lock_file(config)
    key = str(path)
    with _mutex:
        if key in _held:
            _held[key][1] += 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _holder(fd)
            os.close(fd)
            raise RootBusy(_busy_message(root_of(config), info)) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "root": root_of(config), "command": " ".join(sys.argv)[:200]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        _held[key] = [fd, 1]


def release(config: Config) -> None:
    """Drop one level; the last one clears the holder record and unlocks."""
    key = str(lock_file(config))
    with _mutex:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
        fd = entry[0]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def hold(config: Config, what: str):
    """`with hold(config, "corpusmill run"):` the root's writer lock for the block (re-entrant)."""
    acquire(config, what)
    try:
        yield
    finally:
        release(config)


def claim(config: Config, what: str) -> None:
    """Hold the lock for the rest of this process (the CLI's writers: taken before Spark starts)."""
    acquire(config, what)
