"""The `corpusmill` command: run, sql, tables, build-archive, and the tool verbs (demo, report,
export, training, ...) that the modules of jobs/tools and jobs/training declare."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import corpusmill
from corpusmill.jobs.core import rootlock
from corpusmill.jobs.core.console import fail, pop_global_flags, print_funnel, print_rows, progress, setup_logging
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.tableio import list_tables, read_table, register_views, table_version
from corpusmill.jobs.pipeline import preflight, run_pipeline, stages_by_name
from corpusmill.jobs.registry import add_config_arguments, add_global_flags, all_tools, load_config, split_inputs

log = logging.getLogger("corpusmill")

SQL_TABLE_ROWS = 1000      # rows `corpusmill sql` prints as a text table without --limit (stderr says when cut)


def _config_args(p: argparse.ArgumentParser) -> None:
    """What every verb takes: --conf, --set, and the global flags (listed in its help too)."""
    add_config_arguments(p)
    add_global_flags(p)


def split_stages(value: str | None) -> list[str] | None:
    """`--stages a,b` as a list, checked against the known stages (before Spark starts)."""
    if not value:
        return None
    names = [s.strip() for s in value.split(",") if s.strip()]
    stages_by_name(names)
    return names


def cmd_run(args, config) -> int:
    stages = split_stages(args.stages)
    inputs = split_inputs(args.input)
    rootlock.claim(config, "corpusmill run")  # one writer per storage root: a second run stops here (exit 2)
    preflight(config, stages)                 # models, lists: every check that needs no Spark
    spark = get_spark(config)
    results = run_pipeline(spark, config, stages, inputs=inputs, force=args.force, progress=progress)
    print_funnel(results)
    return 0


def cmd_sql(args, config) -> int:
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
    spark = get_spark(config)
    rows = []
    for n in list_tables(spark, config):
        rows.append([n, read_table(spark, config, n).count(), table_version(spark, config, n), config.table_path(n)])
    print_rows(["table", "rows", "version", "path"], rows, max_width=120)
    return 0


ARCHIVE_SUFFIXES = (".py", ".yaml", ".properties", ".txt", ".json")


def build_archive(out: str | Path = "dist/corpusmill.zip") -> Path:
    """Zip the `corpusmill` package for `spark-submit --py-files`, its folders inside it as a wheel
    has them (in a checkout they are symlinks to the top-level folders, followed here)."""
    pkg = Path(corpusmill.__file__).parent
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for folder, dirs, files in os.walk(pkg, followlinks=True):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                f = Path(folder) / name
                if f.suffix in ARCHIVE_SUFFIXES:
                    z.write(f, "corpusmill/" + f.relative_to(pkg).as_posix())
    return out


def cmd_build_archive(args, config) -> int:
    print(build_archive(args.out))
    return 0


def _version() -> str:
    """The installed package's version, else the checkout's pyproject.toml version."""
    try:
        return version("corpusmill")
    except PackageNotFoundError:    # running from a checkout (or a zip of one), not installed
        pass
    try:
        import tomllib

        with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown (not installed, no pyproject.toml)"


def _run_help() -> str:
    lines = ["stages, in order (all when --stages is not given):"]
    for st in stages_by_name():
        lines.append(f"  {st.name:<8} {', '.join(st.inputs)} -> {', '.join(st.outputs)}: {st.summary}")
    return "\n".join(lines)


DESCRIPTION = """Clean web crawls and text into a pretraining corpus, in Spark, stage by stage.

  corpusmill demo                      sample data through every stage
  corpusmill run --input 'crawl/*.warc.gz'
  corpusmill sql "SELECT * FROM runs"  any table by name"""

EPILOG = """-v / -q work in any position (before or after COMMAND). Long work prints progress lines
(done / total, rate, time left) every 10 s on a terminal, every 60 s in a log; the Spark UI address
is printed when Spark starts. `corpusmill COMMAND --help` describes each command."""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def build_parser() -> argparse.ArgumentParser:
    """The `corpusmill` argument parser (tool verbs parse their own arguments)."""
    ap = argparse.ArgumentParser(prog="corpusmill", description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_flags(ap)
    ap.add_argument("--version", action="version", version=f"corpusmill {_version()}")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="run stages in pipeline order (skips stages already done)",
                       description="Run stages in pipeline order; a stage already done for the same inputs and "
                                   "config is skipped.", epilog=_run_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _config_args(p)
    p.add_argument("--stages", help="comma-separated stages (default: all)")
    p.add_argument("--input", nargs="+", metavar="PATH",
                   help="input files or globs for the format stage, several at once or comma-separated: "
                        "WARC/ARC(.gz), or .jsonl / .jsonl.gz / .parquet text (read with format.input_text)")
    p.add_argument("--force", action="store_true", help="re-run stages even if done")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("sql", help="run Spark SQL with every pipeline table available by name",
                       description="Run one Spark SQL query; every pipeline table is there by name (documents, "
                                   "clean, pretrain, runs, rejected, ...). Prints a text table, or JSON lines with --json.")
    _config_args(p)
    p.add_argument("query", help='the query, quoted: "SELECT stage, count(*) FROM rejected GROUP BY stage"')
    p.add_argument("--json", action="store_true", help="print JSON lines, streaming every row (unless --limit)")
    p.add_argument("--limit", type=int, default=None,
                   help=f"at most this many rows (default: all with --json, {SQL_TABLE_ROWS:,} in the text table; "
                        f"a cut result says so on stderr)")
    p.set_defaults(fn=cmd_sql)
    p = sub.add_parser("tables", help="list tables with row counts and Delta versions",
                       description="List the tables under the storage root: rows, Delta version, path.")
    _config_args(p)
    p.set_defaults(fn=cmd_tables)
    p = sub.add_parser("build-archive", help="zip the code for spark-submit --py-files",
                       description="Zip the corpusmill package (code, conf/default.yaml) for spark-submit --py-files; "
                                   "prints the zip's path.")
    _config_args(p)
    p.add_argument("--out", default="dist/corpusmill.zip", help="zip to write (default: dist/corpusmill.zip)")
    p.set_defaults(fn=cmd_build_archive)
    for tool in all_tools():
        p = sub.add_parser(tool.name, help=tool.summary, description=_sentence(tool.summary))
        _config_args(p)
        tool.add_arguments(p)
        p.set_defaults(fn=tool.call, conf_layers=(tool.conf_layer,) if tool.conf_layer else ())
    return ap


def main(argv: list[str] | None = None) -> int:
    argv, verbose, quiet = pop_global_flags(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    setup_logging(verbose, quiet)
    config = None
    try:
        config = load_config(args.conf, args.set, getattr(args, "conf_layers", ()))
        return args.fn(args, config)
    except Exception as e:  # noqa: BLE001 - one readable line (jobs/core/errors.py); the traceback only with -v
        return fail(e, config, verbose)


if __name__ == "__main__":
    sys.exit(main())
