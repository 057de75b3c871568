"""The `corpusmill` command: run, demo, sql, tables, build-archive, and the tools stages add."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import zipfile
from pathlib import Path

from jobs.core import rootlock
from jobs.core.config import load_config

log = logging.getLogger("corpusmill")

SQL_TABLE_ROWS = 1000      # rows `corpusmill sql` prints as a text table without --limit (stderr says when cut)
VERBOSE_FLAGS = ("-v", "--verbose")

# Commands implemented in other modules: name -> "module:function(argv) -> int"
TOOLS = {
    "train-lm": "jobs.training.train_lm:cli",
    "train-causal-lm": "jobs.training.train_causal_lm:cli",
    "train-classifier": "jobs.training.train_classifier:cli",
    "classify": "jobs.training.train_classifier:classify_cli",
    "report": "jobs.tools.report:cli",
    "borderline": "jobs.stages.longctx:borderline_cli",
    "export": "jobs.stages.code:export_cli",
}


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "jieba", "trafilatura", "htmldate", "urllib3", "filelock", "matplotlib"):
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


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conf", help="YAML config (default: conf/default.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value (repeatable)")


def _progress(msg: str) -> None:
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


def split_inputs(values: list[str] | None) -> list[str] | None:
    """`--input a b` (what a shell glob expands to), `--input a,b` and repeated `--input` all work."""
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def split_stages(value: str | None) -> list[str] | None:
    """`--stages a,b` as a list, checked against the known stages (before Spark starts)."""
    from jobs.pipeline import check_stage_names

    if not value:
        return None
    return check_stage_names([s.strip() for s in value.split(",") if s.strip()])


def cmd_run(args, config) -> int:
    from jobs.pipeline import preflight, run_pipeline
    from jobs.core.session import get_spark

    stages = split_stages(args.stages)
    inputs = split_inputs(args.input)
    rootlock.claim(config, "corpusmill run")  # one writer per storage root: a second run stops here (exit 2)
    preflight(config, stages)                 # models, lists: every check that needs no Spark
    spark = get_spark(config)
    results = run_pipeline(spark, config, stages, inputs=inputs, force=args.force, progress=_progress)
    print_funnel(results)
    return 0


def print_funnel(results) -> None:
    print()
    print_rows(["stage", "status", "rows_in", "rows_out", "rejected", "seconds"],
               [[r.stage, r.status, f"{r.rows_in:,}", f"{r.rows_out:,}", f"{r.rows_rejected:,}",
                 f"{r.seconds:.1f}"] for r in results])


def cmd_sql(args, config) -> int:
    from jobs.core.session import get_spark
    from jobs.core.tableio import register_views

    spark = get_spark(config)
    register_views(spark, config)
    df = spark.sql(args.query)
    limit = args.limit if args.limit is not None or args.json else SQL_TABLE_ROWS
    if args.json:
        # every row, streamed a partition at a time (driver memory stays bounded), unless --limit
        src = df if limit is None else df.limit(limit + 1)
        for n, r in enumerate(src.toLocalIterator(prefetchPartitions=True)):
            if n == limit:
                print(f"corpusmill: result cut at --limit {limit:,} rows", file=sys.stderr)
                break
            print(json.dumps(r.asDict(recursive=True), default=str, ensure_ascii=False))
        return 0
    rows = df.limit(limit + 1).collect()
    if len(rows) > limit:
        rows = rows[:limit]
        print(f"corpusmill: result cut at --limit {limit:,} rows" if args.limit is not None else
              f"corpusmill: showing the first {limit:,} rows (--limit N for more, --json streams every row)",
              file=sys.stderr)
    print_rows(df.columns, [list(r) for r in rows])
    return 0


def cmd_tables(args, config) -> int:
    from jobs.core.session import get_spark
    from jobs.core.tableio import list_tables, read_table, table_version

    spark = get_spark(config)
    rows = []
    for n in list_tables(spark, config):
        rows.append([n, read_table(spark, config, n).count(), table_version(spark, config, n), config.table_path(n)])
    print_rows(["table", "rows", "version", "path"], rows, max_width=120)
    return 0


def build_archive(out: str | Path = "dist/corpusmill.zip") -> Path:
    """Zip jobs/, udfs/, schemas/ and conf/ for `spark-submit --py-files`."""
    root = Path(__file__).resolve().parent.parent
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for pkg in ("jobs", "udfs", "schemas", "conf"):
            for f in sorted((root / pkg).rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts and f.suffix in (".py", ".yaml", ".txt", ".json"):
                    z.write(f, f.relative_to(root).as_posix())
    return out


def cmd_build_archive(args, config) -> int:
    print(build_archive(args.out))
    return 0


def cmd_demo(args, config) -> int:
    from jobs.tools.demo import run_demo

    return run_demo(config, force=args.force, progress=_progress)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("corpusmill")
    except Exception:  # noqa: BLE001 - running from a checkout or a zip, not installed
        return "unknown (not installed)"


def fail(e: BaseException, config=None, verbose: bool = False) -> int:
    """One line on stderr for any failure: exit 2 for the failures users can fix, 1 for the rest."""
    from jobs.core.errors import describe, is_known

    if verbose:
        import traceback

        traceback.print_exception(e)
    kind, msg = describe(e, config)
    print(f"corpusmill: {kind}: {msg}", file=sys.stderr)
    return 2 if is_known(e) else 1


def _pop_global_flags(argv: list[str]) -> tuple[list[str], bool]:
    """`-v` works in any position (`corpusmill -v export ...`, `corpusmill export ... -v`)."""
    verbose = any(a in VERBOSE_FLAGS for a in argv)
    return [a for a in argv if a not in VERBOSE_FLAGS], verbose


def build_parser() -> argparse.ArgumentParser:
    """The `corpusmill` argument parser (tool verbs parse their own arguments)."""
    ap = argparse.ArgumentParser(prog="corpusmill", description=__doc__)
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks (any position)")
    ap.add_argument("--version", action="version", version=f"corpusmill {_version()}")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="run stages in pipeline order (skips stages already done)")
    _config_args(p)
    p.add_argument("--stages", help="comma-separated stages (default: all)")
    p.add_argument("--input", nargs="+", metavar="PATH",
                   help="input files or globs for the format stage, several at once or comma-separated: "
                        "WARC/ARC(.gz), or .jsonl / .jsonl.gz / .parquet text (read with format.input_text)")
    p.add_argument("--force", action="store_true", help="re-run stages even if done")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("demo", help="generate the sample data, run every stage, print the funnel")
    _config_args(p)
    p.add_argument("--force", action="store_true")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("sql", help="run Spark SQL with every pipeline table available by name")
    _config_args(p)
    p.add_argument("query")
    p.add_argument("--json", action="store_true", help="print JSON lines, streaming every row (unless --limit)")
    p.add_argument("--limit", type=int, default=None,
                   help=f"at most this many rows (default: all with --json, {SQL_TABLE_ROWS:,} in the text table; "
                        f"a cut result says so on stderr)")
    p.set_defaults(fn=cmd_sql)
    p = sub.add_parser("tables", help="list tables with row counts and Delta versions")
    _config_args(p)
    p.set_defaults(fn=cmd_tables)
    p = sub.add_parser("build-archive", help="zip the code for spark-submit --py-files")
    _config_args(p)
    p.add_argument("--out", default="dist/corpusmill.zip")
    p.set_defaults(fn=cmd_build_archive)
    for name in TOOLS:
        sub.add_parser(name, help=f"see `corpusmill {name} --help`", add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv, verbose = _pop_global_flags(list(sys.argv[1:] if argv is None else argv))
    if argv and argv[0] in TOOLS:
        setup_logging(verbose)
        mod, _, fn = TOOLS[argv[0]].partition(":")
        try:
            return getattr(importlib.import_module(mod), fn)(argv[1:])
        except Exception as e:  # noqa: BLE001 - one line per failure; the traceback only with -v
            return fail(e, None, verbose)

    args = build_parser().parse_args(argv)
    setup_logging(verbose)
    config = None
    try:
        config = load_config(args.conf, args.set)
        return args.fn(args, config)
    except Exception as e:  # noqa: BLE001 - one readable line (jobs/core/errors.py); the traceback only with -v
        return fail(e, config, verbose)


def stage_main(stage: str, argv: list[str] | None = None) -> int:
    """Entry point of `spark-submit jobs/<stage>.py --conf FILE [--set k=v] [--input P ...] [--force]`."""
    argv, verbose = _pop_global_flags(list(sys.argv[1:] if argv is None else argv))
    ap = argparse.ArgumentParser(prog=f"jobs/{stage}.py")
    _config_args(ap)
    ap.add_argument("--input", nargs="+", metavar="PATH", help="input paths/globs (several, or comma-separated)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    setup_logging(verbose)
    config = None
    try:
        from jobs.pipeline import preflight, run_pipeline
        from jobs.core.session import get_spark

        config = load_config(args.conf, args.set)
        rootlock.claim(config, f"spark-submit jobs/{stage}.py")   # before Spark: one writer per storage root
        preflight(config, [stage])
        spark = get_spark(config, app_name=f"corpusmill-{stage}")
        results = run_pipeline(spark, config, [stage], inputs=split_inputs(args.input), force=args.force,
                               progress=_progress)
    except Exception as e:  # noqa: BLE001 - spark-submit logs keep the traceback of an unexpected failure
        from jobs.core.errors import is_known

        return fail(e, config, verbose or not is_known(e))
    print_funnel(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
