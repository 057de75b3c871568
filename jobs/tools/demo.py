"""`corpusmill demo`: generate the sample data, build the demo models (demo_assets.py), run every stage, show
the funnel."""
from __future__ import annotations

import argparse
import logging
import time

from pyspark.sql import functions as F

from corpusmill.jobs.core import rootlock, tableio
from corpusmill.jobs.core.config import Config
from corpusmill.jobs.core.console import print_rows, progress
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.pipeline import run_pipeline
from corpusmill.jobs.tools.demo_assets import DemoConfig, generate_samples, prepare
from corpusmill.jobs.tools.report import write_report

log = logging.getLogger("corpusmill")


def funnel_rows(spark, config: Config, results) -> list[list]:
    """Per stage: in / out / rejected, and the top rejection reasons from `rejected`."""
    reasons: dict[str, str] = {}
    if tableio.table_exists(spark, config, "rejected"):
        rows = (tableio.read_table(spark, config, "rejected").groupBy("stage", "reason").count()
                .orderBy("stage", F.desc("count")).collect())
        for r in rows:
            cur = reasons.get(r["stage"], "")
            if cur.count(",") < 3:
                reasons[r["stage"]] = (cur + ", " if cur else "") + f"{r['reason']}={r['count']}"
    return [[r.stage, r.status, f"{r.rows_in:,}", f"{r.rows_out:,}", f"{r.rows_rejected:,}",
             reasons.get(r.stage, ""), f"{r.seconds:.1f}"] for r in results]


def run_demo(config: Config, *, force: bool = False, progress=print) -> int:
    """Holds the root's writer lock before the sample data and the session, so that this process
    is the one that boots the embedded Derby metastore (jobs/core/session.py get_spark)."""
    with rootlock.hold(config, "corpusmill demo"):
        return _run_demo(config, force=force, progress=progress)


def _run_demo(config: Config, *, force: bool, progress) -> int:
    t0 = time.monotonic()
    progress(f"corpusmill demo: tables under {config.path(config.storage.warehouse)}")
    progress("generating sample data ...")
    generate_samples(config)
    prepare(config, progress)
    spark = get_spark(config)
    results = run_pipeline(spark, config, force=force, progress=progress)
    progress("")
    progress("funnel:")
    print_rows(["stage", "status", "in", "out", "rejected", "top reasons", "seconds"],
               funnel_rows(spark, config, results), max_width=90)
    html, _ = write_report(spark, config)
    progress(f"report: {html}")
    progress(f"done in {time.monotonic() - t0:.0f}s. Query the tables: corpusmill sql \"SELECT * FROM runs\"")
    return 0


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--force", action="store_true", help="re-run stages even if done")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    return run_demo(config, force=args.force, progress=progress)


TOOLS = [Tool("demo", "generate the sample data, build the demo models, run every stage, print the funnel",
              add_arguments, run_cli, section=DemoConfig, needs_ml=True, conf_layer="demo.yaml")]
