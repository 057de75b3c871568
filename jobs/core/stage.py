"""The stage and tool contracts, and the bookkeeping every stage shares: skip-if-done, `runs`
records, `rejected` writes, Spark job names."""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config
from corpusmill.jobs.core.errors import is_disk_full, summary
from corpusmill.jobs.core.progress import spark_progress
from corpusmill.schemas import rejected as rejected_schema
from corpusmill.schemas import runs as runs_schema
from corpusmill.udfs.ml_extra import require

log = logging.getLogger("corpusmill")


@dataclass(frozen=True)
class Stage:
    """What a stage module declares (as `STAGE`); the pipeline order, the config sections and the
    CLI are derived from these records (jobs/stages/__init__.py finds them)."""

    name: str                  # the stage's name and its YAML section
    order: int                 # stages run in ascending order
    summary: str               # one line for `corpusmill run --help`
    section: type              # the section's dataclass: types, and value checks in __post_init__
    run: Callable[..., "StageResult"]  # run(spark, config, *, force, inputs, run_id) -> StageResult
    inputs: tuple[str, ...]    # tables read ("files": the --input paths)
    outputs: tuple[str, ...]   # tables written (besides `rejected` and `runs`), the main output last
    check: Callable[[Config], Any] | None = None       # checks that need no Spark, run before it starts
    report_thresholds: Callable[[Config], dict] | None = None            # {table: {column: [(value, label)]}}


@dataclass(frozen=True)
class Tool:
    """A `corpusmill` verb other than the built-in ones, declared by its module (as `TOOLS`).

    The CLI gives every tool `--conf` and `--set`, loads the config and calls run(args, config)."""

    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Config], int]
    section: type | None = None    # a config section the tool owns ...
    section_name: str = ""         # ... under this YAML name (default: the tool's name)
    needs_ml: bool = False         # needs the [ml] extra (torch, transformers): checked before run
    conf_layer: str = ""           # a YAML file of conf/ read over default.yaml for this verb (the demo's)

    def call(self, args: argparse.Namespace, config: Config) -> int:
        """run(args, config), after checking that the ML extra is installed when the tool needs it."""
        if self.needs_ml:
            require(f"corpusmill {self.name}")
        return self.run(args, config)


@dataclass
class StageResult:
    stage: str
    status: str                 # success | skipped | failed
    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    run_id: str = ""
    output_version: int | None = None
    error: str | None = None


@dataclass
class Counts:
    rows_in: int
    rows_out: int
    rows_rejected: int
    output_version: int | None = None


@dataclass
class StageRun:
    """What a stage body gets: the session, config, its name, and helpers that keep the books."""

    spark: SparkSession
    config: Config
    stage: str
    run_id: str
    inputs: list[str] = field(default_factory=list)
    _written: dict[str, int | None] = field(default_factory=dict)   # table -> rows its whole-table write committed

    def describe(self, what: str) -> None:
        """Name the next Spark jobs after the stage, so the Spark UI reads like the pipeline."""
        sc = self.spark.sparkContext
        sc.setJobGroup(job_group(self.stage), f"[{self.stage}] {what}", interruptOnCancel=False)
        log.info("[%s] %s", self.stage, what)

    def write_output(self, table, df: DataFrame, replace_where: str | None = None) -> int | None:
        self.describe(f"write {table.name}")
        _fault_point(f"{self.stage}:{table.name}")
        version, rows = tableio.write_counted(self.spark, self.config, table, df, replace_where=replace_where)
        if replace_where is None:     # a whole-table write: its commit's row count is the table's
            self._written[table.name] = rows
        return version

    def write_rejected(self, df: DataFrame) -> int:
        """Replace this stage's rows of `rejected` with df (missing pointer columns become null)."""
        cols = {c: F.lit(None) for c in rejected_schema.TABLE.column_names if c not in df.columns}
        out = df.withColumns(cols).withColumn("stage", F.lit(self.stage))
        self.describe("write rejected")
        _, n = tableio.write_counted(
            self.spark, self.config, rejected_schema.TABLE, out, replace_where=f"stage = '{self.stage}'"
        )
        # the replacing commit added exactly this stage's rows; counted only where its metrics do not say
        if n is not None:
            return n
        return tableio.read_table(self.spark, self.config, "rejected").where(F.col("stage") == self.stage).count()

    def rows_written(self, name: str) -> int:
        """Rows of a table this stage wrote whole (from its commit), else a count of the table."""
        n = self._written.get(name)
        if n is not None:
            return n
        return tableio.read_table(self.spark, self.config, name).count()


def job_group(stage: str) -> str:
    """The Spark job group of a stage's jobs (the UI's grouping; the progress lines count its tasks)."""
    return f"corpusmill:{stage}"


def _fault_point(where: str) -> None:
    """Test-only fault injection: CORPUSMILL_FAULT=pause:<stage>:<table> blocks right before that
    table's write (mid-stage), so the crash-safety test can SIGKILL the driver at a known point."""
    spec = os.environ.get("CORPUSMILL_FAULT", "")
    if spec == f"pause:{where}":
        log.warning("CORPUSMILL_FAULT: paused before writing %s (waiting to be killed)", where)
        while True:
            time.sleep(1)


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def fingerprint(items: list[str]) -> str:
    return hashlib.sha1("\n".join(sorted(items)).encode()).hexdigest()[:16]


def fingerprint_files(spark: SparkSession, patterns: list[str]) -> tuple[list[str], str]:
    """Expand globs on any Hadoop FS; fingerprint = paths + sizes + modification times."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    files: list[tuple[str, int, int]] = []
    for pat in patterns:
        p = jvm.org.apache.hadoop.fs.Path(pat)
        fs = p.getFileSystem(conf)
        stats = fs.globStatus(p) or []
        for st in stats:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    f = it.next()
                    files.append((f.getPath().toString(), f.getLen(), f.getModificationTime()))
            else:
                files.append((st.getPath().toString(), st.getLen(), st.getModificationTime()))
    files = sorted(set(files))
    return [f[0] for f in files], fingerprint([f"{a}|{b}|{c}" for a, b, c in files])


def fingerprint_tables(spark: SparkSession, config: Config, names: list[str]) -> str:
    return fingerprint([f"{n}@{tableio.table_version(spark, config, n)}" for n in names])


def _last_success(spark: SparkSession, config: Config, stage: str, config_hash: str, fp: str):
    if not tableio.table_exists(spark, config, "runs"):
        return None
    runs = tableio.read_table(spark, config, "runs")
    return (
        runs.where((F.col("stage") == stage) & (F.col("status") == "success")
                   & (F.col("config_hash") == config_hash) & (F.col("input_fingerprint") == fp))
        .orderBy(F.col("ended_at").desc())
        .first()
    )


def _record(spark: SparkSession, config: Config, row: dict) -> None:
    df = spark.createDataFrame([row], schema=runs_schema.SCHEMA)
    tableio.write_table(spark, config, runs_schema.TABLE, df, mode="append")


def _record_failure(spark: SparkSession, config: Config, stage: str, row: dict) -> None:
    """Append the failed run to `runs`; never let a failure to record hide the stage's own error.

    After a disk-full write the failed tasks' half-written files can stay allocated until the JVM
    closes their streams (a GC), so one retry follows a GC before giving up.
    """
    for attempt in (1, 2):
        try:
            _record(spark, config, row)
            return
        except Exception as e:  # noqa: BLE001
            if attempt == 1 and is_disk_full(e):
                try:
                    spark.sparkContext._jvm.System.gc()
                except Exception:  # noqa: BLE001
                    pass
                time.sleep(1)
                continue
            log.error("[%s] could not record the failed run in `runs`: %s", stage, summary(e, config))
            return


def run_stage(
    spark: SparkSession,
    config: Config,
    stage: str,
    *,
    inputs: list[str],
    input_fingerprint: str,
    body: Callable[[StageRun], Counts],
    force: bool = False,
    run_id: str | None = None,
    config_section: str | None = None,
) -> StageResult:
    """Run body unless the same stage already succeeded on the same inputs and config.

    Appends one `runs` row (success or failed). A failure propagates after it is recorded; the
    stage's tables keep their previous Delta version because every write is one atomic commit.
    """
    run_id = run_id or new_run_id()
    config_hash = config.section_hash(config_section or stage)
    if not force:
        prev = _last_success(spark, config, stage, config_hash, input_fingerprint)
        if prev is not None:
            log.info("[%s] skipped: done by run %s for the same inputs and config (use --force)", stage, prev.run_id)
            return StageResult(stage, "skipped", prev.rows_in, prev.rows_out, prev.rows_rejected, 0.0,
                               prev.run_id, prev.output_version)
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    t0 = time.monotonic()
    ctx = StageRun(spark, config, stage, run_id, inputs)
    log.info("[%s] started (run %s)", stage, run_id)
    row = dict(run_id=run_id, stage=stage, config_hash=config_hash, input_fingerprint=input_fingerprint,
               inputs=inputs[:1000], started_at=started)
    try:
        with spark_progress(spark, stage, job_group(stage)):    # tasks done / total, rate, time left
            counts = body(ctx)
    except Exception as e:
        ended = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        error = summary(e, config)       # one line: "DiskFull: ..." rather than "Py4JJavaError: An error occurred ..."
        _record_failure(spark, config, stage, dict(row, rows_in=None, rows_out=None, rows_rejected=None,
                                                   ended_at=ended, status="failed", error=error, output_version=None))
        log.error("[%s] failed: %s", stage, error)
        raise
    finally:
        spark.sparkContext.setJobGroup("corpusmill", "corpusmill", interruptOnCancel=False)
    ended = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    _record(spark, config, dict(row, rows_in=counts.rows_in, rows_out=counts.rows_out,
                                rows_rejected=counts.rows_rejected, ended_at=ended, status="success",
                                error=None, output_version=counts.output_version))
    secs = time.monotonic() - t0
    log.info("[%s] done in %.1fs: %d in, %d out, %d rejected", stage, secs, counts.rows_in, counts.rows_out,
             counts.rows_rejected)
    return StageResult(stage, "success", counts.rows_in, counts.rows_out, counts.rows_rejected, secs, run_id,
                       counts.output_version)
