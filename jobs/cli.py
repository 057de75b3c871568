"""The `corpusmill` command: run, demo, sql, tables, build-archive, and the tools stages add."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import zipfile
from pathlib import Path

from jobs.config import ConfigError, load_config

log = logging.getLogger("corpusmill")

# Commands implemented in other modules: name -> "module:function(argv) -> int"
TOOLS = {
    "train-lm": "jobs.train_lm:cli",
    "train-causal-lm": "jobs.train_causal_lm:cli",
    "train-classifier": "jobs.train_classifier:cli",
    "classify": "jobs.train_classifier:classify_cli",
    "report": "jobs.report:cli",
    "borderline": "jobs.longctx:borderline_cli",
    "export": "jobs.code_repos:export_cli",
}


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "jieba", "trafilatura", "htmldate", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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


def cmd_run(args, config) -> int:
    from jobs.pipeline import run_pipeline
    from jobs.session import get_spark

    spark = get_spark(config)
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    inputs = [s for s in args.input.split(",")] if args.input else None
    results = run_pipeline(spark, config, stages, inputs=inputs, force=args.force, progress=_progress)
    print_funnel(results)
    return 0


def print_funnel(results) -> None:
    print()
    print_rows(["stage", "status", "rows_in", "rows_out", "rejected", "seconds"],
               [[r.stage, r.status, f"{r.rows_in:,}", f"{r.rows_out:,}", f"{r.rows_rejected:,}",
                 f"{r.seconds:.1f}"] for r in results])


def cmd_sql(args, config) -> int:
    from jobs.session import get_spark
    from jobs.tableio import register_views

    spark = get_spark(config)
    register_views(spark, config)
    df = spark.sql(args.query)
    rows = df.limit(args.limit).collect()
    if args.json:
        for r in rows:
            print(json.dumps(r.asDict(recursive=True), default=str, ensure_ascii=False))
    else:
        print_rows(df.columns, [list(r) for r in rows])
    return 0


def cmd_tables(args, config) -> int:
    from jobs.session import get_spark
    from jobs.tableio import list_tables, read_table, table_version

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
    from jobs.demo import run_demo

    return run_demo(config, force=args.force, progress=_progress)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:
        setup_logging()
        mod, _, fn = TOOLS[argv[0]].partition(":")
        try:
            return getattr(importlib.import_module(mod), fn)(argv[1:])
        except ConfigError as e:
            print(f"corpusmill: config error: {e}", file=sys.stderr)
            return 2

    ap = argparse.ArgumentParser(prog="corpusmill", description=__doc__)
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="run stages in pipeline order (skips stages already done)")
    _config_args(p)
    p.add_argument("--stages", help="comma-separated stages (default: all)")
    p.add_argument("--input", help="comma-separated input paths/globs for the format stage")
    p.add_argument("--force", action="store_true", help="re-run stages even if done")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("demo", help="generate the sample data, run every stage, print the funnel")
    _config_args(p)
    p.add_argument("--force", action="store_true")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("sql", help="run Spark SQL with every pipeline table available by name")
    _config_args(p)
    p.add_argument("query")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.add_argument("--limit", type=int, default=1000)
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
    args = ap.parse_args(argv)
    setup_logging(args.verbose)
    config = None
    try:
        config = load_config(args.conf, args.set)
        return args.fn(args, config)
    except ConfigError as e:
        print(f"corpusmill: config error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # one readable line (jobs/errors.py); the traceback only with -v
        from jobs.errors import describe

        if args.verbose:
            raise
        kind, msg = describe(e, config)
        print(f"corpusmill: {kind}: {msg}", file=sys.stderr)
        return 1


def stage_main(stage: str, argv: list[str] | None = None) -> int:
    """Entry point of `spark-submit jobs/<stage>.py --conf FILE [--set k=v] [--input P] [--force]`."""
    ap = argparse.ArgumentParser(prog=f"jobs/{stage}.py")
    _config_args(ap)
    ap.add_argument("--input", help="comma-separated input paths/globs")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    setup_logging()
    try:
        config = load_config(args.conf, args.set)
    except ConfigError as e:
        print(f"corpusmill: config error: {e}", file=sys.stderr)
        return 2
    from jobs.pipeline import run_pipeline
    from jobs.session import get_spark

    spark = get_spark(config, app_name=f"corpusmill-{stage}")
    inputs = args.input.split(",") if args.input else None
    try:
        results = run_pipeline(spark, config, [stage], inputs=inputs, force=args.force, progress=_progress)
    except ConfigError as e:
        print(f"corpusmill: config error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from jobs.errors import describe, is_disk_full

        if not is_disk_full(e):
            raise
        print(f"corpusmill: disk full: {describe(e, config)[1]}", file=sys.stderr)
        return 1
    print_funnel(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
