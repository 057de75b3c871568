"""What the user sees on the terminal: logging set-up, progress lines and plain text tables."""
from __future__ import annotations

import logging
import os
import sys
import traceback

from corpusmill.jobs.core.errors import describe, is_known

VERBOSE_FLAGS = ("-v", "--verbose")
QUIET_FLAGS = ("-q", "--quiet")
NOISY_LOGGERS = ("py4j", "jieba", "trafilatura", "htmldate", "urllib3", "filelock", "matplotlib")


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """INFO to stderr (progress, the Spark UI address); -v: DEBUG; -q: warnings and errors only."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pyspark logs every failed query as a JSON line (the CLI prints the error once, as one line);
    # huggingface_hub logs each retry of an unreachable hub (the model check reports the outcome)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    logging.getLogger("huggingface_hub").setLevel(logging.DEBUG if verbose else logging.ERROR)
    if verbose:
        os.environ.setdefault("CORPUSMILL_SPARK_LOG_LEVEL", "INFO")   # the JVM's own logs too
    else:
        # transformers' load reports (a fresh classification head is expected when fine-tuning) and the
        # weight-loading progress bars, here and in the Python workers that inherit the environment
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def progress(msg: str) -> None:
    print(msg, flush=True)


def print_rows(columns: list[str], rows: list[list], max_width: int = 60) -> None:
    """A plain, aligned text table."""
    def cell(v) -> str:
        s = "NULL" if v is None else str(v)
        s = s.replace("\n", "\\n")
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    cells = [[cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(r, widths)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def print_funnel(results) -> None:
    """The stages' in / out / rejected counts after a run."""
    print()
    print_rows(["stage", "status", "rows_in", "rows_out", "rejected", "seconds"],
               [[r.stage, r.status, f"{r.rows_in:,}", f"{r.rows_out:,}", f"{r.rows_rejected:,}",
                 f"{r.seconds:.1f}"] for r in results])


def pop_global_flags(argv: list[str]) -> tuple[list[str], bool, bool]:
    """(argv without them, verbose, quiet): `-v` / `-q` work in any position (`corpusmill -v export ...`,
    `corpusmill export ... -v`, with `--help` too); after `--` they are arguments."""
    end = argv.index("--") if "--" in argv else len(argv)
    head, tail = argv[:end], argv[end:]
    verbose = any(a in VERBOSE_FLAGS for a in head)
    quiet = any(a in QUIET_FLAGS for a in head) and not verbose
    return [a for a in head if a not in VERBOSE_FLAGS + QUIET_FLAGS] + tail, verbose, quiet


def fail(e: BaseException, config=None, verbose: bool = False, traceback_unless_known: bool = False) -> int:
    """One line on stderr for any failure: exit 2 for the failures users can fix, 1 for the rest.

    The traceback follows with -v, or for an unexpected failure when traceback_unless_known (the
    spark-submit entry point: its logs should keep it)."""
    if verbose or (traceback_unless_known and not is_known(e)):
        traceback.print_exception(e)
    kind, msg = describe(e, config)
    print(f"corpusmill: {kind}: {msg}", file=sys.stderr)
    return 2 if is_known(e) else 1
