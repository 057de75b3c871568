"""One readable line for the failures users meet at run time (the full traceback only with `-v`).

A Spark write that hits a full disk surfaces as a Py4JJavaError whose first line is "An error
occurred while calling o103.parquet." with the cause hundreds of lines further down; `describe`
finds ENOSPC anywhere in the exception chain (Python or Java) and names the storage paths, their
free space and the remedy instead. The same line is what `runs.error` records for the failed stage.
"""
from __future__ import annotations

import errno
import os
import shutil

from pyspark.errors import AnalysisException

from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.core.session import MissingJarsError

DISK_FULL_MARKERS = ("No space left on device", "[Errno 28]", "ENOSPC", "Disk quota exceeded")


def _chain(e: BaseException):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _text(e: BaseException) -> str:
    """str(e); for a Py4JJavaError that includes the Java exception and every cause."""
    try:
        return str(e)
    except Exception:  # noqa: BLE001 - a broken gateway must not hide the original error
        return type(e).__name__


def is_disk_full(e: BaseException) -> bool:
    for x in _chain(e):
        if isinstance(x, OSError) and x.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(m in _text(x) for m in DISK_FULL_MARKERS):
            return True
    return False


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _existing(path: str) -> str | None:
    p = os.path.abspath(os.path.expanduser(path))
    while p and not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            return None
        p = parent
    return p


def storage_paths(config) -> list[tuple[str, str]]:
    """(key, local path) of where corpusmill and Spark write: storage.root, storage.tmp, spark.local.dir."""
    out = []
    if config is not None:
        root = config.path("")
        if "://" not in root:
            out.append(("storage.root", root))
        tmp = config.path(config.storage.tmp)
        if "://" not in tmp and not tmp.startswith(root.rstrip("/") + "/"):
            out.append(("storage.tmp", tmp))
        local_dir = config.spark.conf.get("spark.local.dir") if config.spark.conf else None
        out.append(("spark.local.dir", local_dir or os.environ.get("SPARK_LOCAL_DIRS") or "/tmp"))
    return out


def disk_full_message(config) -> str:
    parts = []
    for key, path in storage_paths(config):
        p = _existing(path)
        if p is None:
            continue
        try:
            du = shutil.disk_usage(p)
        except OSError:
            continue
        parts.append(f"{key} {path}: {_human(du.free)} free of {_human(du.total)}")
    where = f" ({'; '.join(parts)})" if parts else ""
    return (f"no space left on device{where}: free space there or point storage.root / storage.tmp / "
            f"spark.local.dir at a larger disk, then run again (the stage's tables keep their previous version)")


def _java_summary(e: BaseException) -> str | None:
    """The innermost Java cause of a Py4JJavaError, as 'Class: message' (first line)."""
    java = getattr(e, "java_exception", None)
    if java is None:
        return None
    try:
        cause = java
        while cause.getCause() is not None and cause.getCause() != cause:
            cause = cause.getCause()
        name = cause.getClass().getSimpleName()
        msg = (cause.getMessage() or "").strip().splitlines()
        return f"{name}: {msg[0]}" if msg else name
    except Exception:  # noqa: BLE001 - gateway gone
        return None


def _kind(e: BaseException) -> str | None:
    """The CLI's name for a failure the user can act on; None for an unexpected one."""
    for cls, kind in ((ConfigError, "config error"), (MissingJarsError, "missing jars"),
                      (FileNotFoundError, "missing input"), (AnalysisException, "sql error")):
        if isinstance(e, cls):
            return kind
    return getattr(e, "cli_kind", None)       # e.g. the storage root's writer lock: "storage root busy"


def is_known(e: BaseException) -> bool:
    """A failure with a one-line remedy (exit code 2), not a bug or a crash (exit code 1)."""
    return is_disk_full(e) or _kind(e) is not None


def describe(e: BaseException, config=None) -> tuple[str, str]:
    """(kind, one-line message) for the CLI's `corpusmill: <kind>: <message>`."""
    if is_disk_full(e):
        return "disk full", disk_full_message(config)
    kind = _kind(e) or type(e).__name__
    if kind == "sql error":
        text = getattr(e, "getMessage", lambda: _text(e))() or _text(e)
    else:
        text = _java_summary(e) or _text(e)
    lines = text.strip().splitlines()
    if kind == "config error" and len(lines) > 1 and all(ln.startswith("  - ") for ln in lines[1:]):
        return kind, "\n".join(lines)      # the preflight's list: one heading, then one item a line
    return kind, lines[0] if lines else ""


def summary(e: BaseException, config=None) -> str:
    """The `runs.error` text of a failed stage: 'Kind: first line'."""
    kind, msg = describe(e, config)
    names = {"disk full": "DiskFull", "config error": "ConfigError", "missing jars": "MissingJars",
             "missing input": "MissingInput", "sql error": "SqlError"}
    return f"{names.get(kind, kind)}: {msg}"[:500]
