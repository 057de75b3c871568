"""`corpusmill demo`: generate the sample data, build the demo models, run every stage, show the funnel."""
from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.core.config import Config

log = logging.getLogger("corpusmill")


@dataclass
class DemoConfig:
    seed: int                 # sample generator seed (same seed -> byte-identical sample data)
    pages_per_dump: int       # generated web pages per crawl dump (two dumps)
    samples_dir: str          # where the generated inputs go, relative to storage.root


def generate_samples(config: Config) -> Path:
    """Write the sample crawl and text sources once (deterministic; skipped when present)."""
    from samplegen import crawl as samplegen

    base = Path(config.path(config.demo.samples_dir))
    crawl, text = base / "crawl", base / "text"
    if not (crawl / "manifest.json").exists():
        samplegen.generate_crawl(str(crawl), seed=config.demo.seed, pages_per_dump=config.demo.pages_per_dump)
    if not text.exists() or not any(text.iterdir()):
        samplegen.generate_text_sources(str(text), seed=config.demo.seed)
    return base


def funnel_rows(spark, config: Config, results) -> list[list]:
    """Per stage: in / out / rejected, and the top rejection reasons from `rejected`."""
    from pyspark.sql import functions as F

    from jobs.core import tableio

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
    from jobs.core import rootlock

    with rootlock.hold(config, "corpusmill demo"):
        return _run_demo(config, force=force, progress=progress)


def _run_demo(config: Config, *, force: bool, progress) -> int:
    from jobs.cli import print_rows
    from jobs.pipeline import available_stages, run_pipeline, stage_module
    from jobs.core.session import get_spark

    t0 = time.monotonic()
    progress(f"corpusmill demo: tables under {config.path(config.storage.warehouse)}")
    progress("generating sample data ...")
    generate_samples(config)
    spark = get_spark(config)
    stages = available_stages()
    for name in stages:
        prepare = getattr(stage_module(name), "prepare_demo", None)
        if prepare is not None:
            progress(f"preparing demo assets for {name} ...")
            prepare(spark, config)
    results = run_pipeline(spark, config, stages, force=force, progress=progress)
    progress("")
    progress("funnel:")
    print_rows(["stage", "status", "in", "out", "rejected", "top reasons", "seconds"],
               funnel_rows(spark, config, results), max_width=90)
    try:
        report = importlib.import_module("jobs.tools.report")
    except ModuleNotFoundError:
        report = None
    if report is not None:
        html, md = report.write_report(spark, config)
        progress(f"report: {html}")
    progress(f"done in {time.monotonic() - t0:.0f}s. Query the tables: corpusmill sql \"SELECT * FROM runs\"")
    return 0
