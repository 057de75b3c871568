"""SparkSession builder: local mode by default, never overriding what spark-submit was given."""
from __future__ import annotations

import glob
import logging
import os
import sys
from pathlib import Path

from jobs.config import Config

log = logging.getLogger("corpusmill")

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
DELTA_PACKAGES = "io.delta:delta-spark_4.2_2.13:4.4.0,io.delta:delta-storage:4.4.0"


class MissingJarsError(RuntimeError):
    pass


def under_spark_submit() -> bool:
    """spark-submit launches Python with a gateway already running and its confs in the JVM."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def jars_dir(config: Config) -> Path:
    d = config.spark.jars_dir or os.environ.get("CORPUSMILL_JARS") or "~/.cache/corpusmill/jars"
    return Path(d).expanduser()


def local_jars(config: Config) -> list[str]:
    """The jar cache filled by scripts/setup.sh; one clear error when Delta's jars are missing."""
    jars = sorted(glob.glob(str(jars_dir(config) / "*.jar")))
    if config.storage.table_format == "delta" and not any("delta-spark" in j for j in jars):
        raise MissingJarsError(
            f"Delta jars not found in {jars_dir(config)}: run `bash scripts/setup.sh` (resolves them with "
            f"mvn from jars/pom.xml), set CORPUSMILL_JARS, or use spark-submit --packages {DELTA_PACKAGES}"
        )
    return jars


def get_spark(config: Config, app_name: str | None = None):
    """Return the active session or build one.

    Local: master, driver memory, jars, warehouse and shuffle partitions come from config.
    spark-submit: the master and every conf given there win; we only add what is unset.
    """
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    root = config.path("")
    wanted = {
        "spark.sql.extensions": DELTA_EXTENSION if config.storage.table_format == "delta" else None,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG if config.storage.table_format == "delta" else None,
        "spark.sql.warehouse.dir": config.path(config.storage.warehouse),
        "spark.sql.shuffle.partitions": str(config.spark.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    builder = SparkSession.builder
    if config.storage.catalog == "derby":
        # embedded metastore: one per storage root, shared by every later session on this root
        wanted["spark.sql.catalogImplementation"] = "hive"
        wanted["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={config.path('metastore_db')};create=true")
        wanted["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={config.path('')}"
    elif config.storage.catalog == "hive":
        wanted["spark.sql.catalogImplementation"] = "hive"
        wanted["spark.hadoop.hive.metastore.uris"] = config.storage.metastore_uri
    wanted.update(config.spark.conf)          # the user's extra confs win over our defaults
    if under_spark_submit():
        from pyspark import SparkContext

        SparkContext._ensure_initialized()       # connect to spark-submit's JVM so its confs are visible
        given = dict(SparkConf().getAll())
        wanted["spark.app.name"] = app_name or config.spark.app_name     # only if --name was not given
        for k, v in wanted.items():
            if v is not None and k not in given:
                builder = builder.config(k, v)
    else:
        if "://" not in root:
            Path(root).mkdir(parents=True, exist_ok=True)
        builder = builder.master(os.environ.get("CORPUSMILL_MASTER", config.spark.master))
        builder = builder.appName(app_name or config.spark.app_name)
        # Python workers must run this interpreter (it sees the project and its dependencies)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.driver.memory", config.spark.driver_memory)
        if config.storage.table_format == "delta":
            # Delta rebuilds a table's snapshot (the state of its log) in 50 tasks by default; a
            # local table's log is small, and one task makes a write + read 2.3x faster (10.5 s vs
            # 4.6 s for 3 cycles, local[2]); 50 tasks cost ~20 s of a 90 s dedup run at 100k docs
            builder = builder.config("spark.databricks.delta.snapshotPartitions", "1")
        jars = local_jars(config)
        if jars:
            builder = builder.config("spark.jars", ",".join(jars))
        for k, v in wanted.items():
            if v is not None:
                builder = builder.config(k, v)
    spark = builder.getOrCreate()
    level = os.environ.get("CORPUSMILL_SPARK_LOG_LEVEL", "WARN")
    spark.sparkContext.setLogLevel(level)
    if not under_spark_submit() and level == "WARN":
        _quiet_task_failure_logs(spark)
    ckpt = config.path(config.storage.tmp) + "/checkpoints"
    spark.sparkContext.setCheckpointDir(ckpt)
    return spark


# Loggers that print a failed task's whole Java trace to the console (once per logger, so a full disk
# is ~600 lines). In local mode the same trace travels in the driver's exception, which the CLI turns
# into one line (`-v` shows it all); CORPUSMILL_SPARK_LOG_LEVEL=INFO/DEBUG/ERROR keeps them.
TASK_FAILURE_LOGGERS = (
    "org.apache.spark.executor.Executor", "org.apache.spark.util.Utils", "org.apache.spark.scheduler.TaskSetManager",
    "org.apache.spark.sql.execution.datasources.FileFormatWriter",
    "org.apache.spark.sql.execution.datasources.FileFormatDataWriter",
    "org.apache.hadoop.mapreduce.lib.output.FileOutputCommitter",
    "org.apache.spark.sql.execution.datasources.SQLHadoopMapReduceCommitProtocol",
    "org.apache.spark.sql.delta.files.DeltaFileFormatWriter",
)


def _quiet_task_failure_logs(spark) -> None:
    try:
        jvm = spark.sparkContext._jvm
        fatal = jvm.org.apache.logging.log4j.Level.FATAL
        for name in TASK_FAILURE_LOGGERS:
            jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, fatal)
    except Exception as e:  # noqa: BLE001 - another logging backend: keep Spark's default output
        log.debug("could not quiet task-failure loggers: %s", e)


