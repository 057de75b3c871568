"""SparkSession builder: local mode by default, never overriding what spark-submit was given."""
from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import sys
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from corpusmill.jobs.core import class_archive, rootlock
from corpusmill.jobs.core.config import Config, cache_dir

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
    d = config.spark.jars_dir or os.environ.get("CORPUSMILL_JARS")
    return Path(d).expanduser() if d else cache_dir() / "jars"


def local_jars(config: Config) -> list[str]:
    """The jar cache filled by scripts/setup.sh; one clear error when Delta's jars are missing."""
    jars = sorted(glob.glob(str(jars_dir(config) / "*.jar")))
    if config.storage.table_format == "delta" and not any("delta-spark" in j for j in jars):
        raise MissingJarsError(
            f"Delta jars not found in {jars_dir(config)}: run `bash scripts/setup.sh` (resolves them with "
            f"mvn from jars/pom.xml), set CORPUSMILL_JARS, or use spark-submit --packages {DELTA_PACKAGES}"
        )
    if config.path("").startswith("s3a://") and not any("hadoop-aws" in os.path.basename(j) for j in jars):
        raise MissingJarsError(
            f"storage.root is on s3a:// but no hadoop-aws jar is in {jars_dir(config)}: run `bash scripts/setup.sh` "
            f"again (it resolves hadoop-aws and the AWS SDK v2 modules from jars/pom.xml), or set CORPUSMILL_JARS"
        )
    return jars


def read_only_catalog(config: Config, read_only: bool | None = None) -> bool:
    """Whether a session for config must leave the embedded Derby metastore alone (see get_spark)."""
    if read_only is not None:
        return read_only
    return not rootlock.held_here(config)


_metastores_checked: set[str] = set()


def recover_half_created_metastore(config: Config) -> bool:
    """Remove the embedded Derby metastore (storage.catalog derby) if its creation was interrupted.

    Derby writes `service.properties` last when it creates a database; a folder without it (a run
    killed during the store's first catalog registration) makes every later boot fail with XBM0A /
    XBM0J, and Derby's own advice is to delete it. It holds no entry yet, so nothing is lost; the
    tables are registered again as they are written. Checked once per process, before the first
    catalog statement (get_spark, before a session that boots the metastore); True when it removed one.
    """
    if config.storage.catalog != "derby":
        return False
    db = config.path("metastore_db")
    if "://" in db.removeprefix("file://") or db in _metastores_checked:
        return False
    _metastores_checked.add(db)
    folder = Path(db.removeprefix("file://"))
    if not folder.is_dir() or (folder / "service.properties").exists():
        return False
    shutil.rmtree(folder)
    log.warning("removed half-created Derby metastore at %s (no service.properties; left by an "
                "interrupted run); tables are registered again as they are written", folder)
    return True


def get_spark(config: Config, app_name: str | None = None, read_only: bool | None = None):
    """Return the active session or build one.

    Local: master, driver memory, jars, warehouse and shuffle partitions come from config.
    spark-submit: the master and every conf given there win; we only add what is unset.

    With storage.catalog derby only the process holding the root's writer lock (jobs/core/rootlock.py)
    boots the embedded metastore: Derby admits one JVM, so a reader (sql, tables, report, a notebook)
    that booted it would block the next run, or fail while a run holds it. Every other session is
    read-only (read_only=None decides so; True/False forces it): an in-memory catalog, where
    tableio.register_views exposes the tables as views by bare name and as <database>.<table>.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    wanted = _project_confs(config)
    wanted.update(_catalog_confs(config, read_only))
    _log4j_from_start(wanted)
    wanted.update(config.spark.conf)          # the user's extra confs win over our defaults
    if under_spark_submit():
        builder = _submit_builder(config, app_name, wanted)
    else:
        builder = _local_builder(config, app_name, wanted)
    spark = builder.getOrCreate()
    _after_start(spark, config)
    return spark


def _project_confs(config: Config) -> dict[str, str | None]:
    """The confs every corpusmill session wants, whoever launched it (None: leave unset): Delta when
    tables are Delta, Arrow for the Python UDFs with no silent fallback, UTC, no schema merging."""
    return {
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


def _catalog_confs(config: Config, read_only: bool | None) -> dict[str, str]:
    """The catalog confs of storage.catalog; a session that boots the Derby metastore takes the root's
    writer lock first (see get_spark), a reader gets an in-memory catalog."""
    if config.storage.catalog == "derby" and read_only_catalog(config, read_only):
        log.info("storage.catalog derby: reading %s without the metastore (only the run holding the root's writer "
                 "lock boots it); tables are views", config.path(config.storage.warehouse))
        return {"spark.sql.catalogImplementation": "in-memory"}
    if config.storage.catalog == "derby":
        # embedded metastore: one per storage root, booted by the root's writer; Derby stays booted as long as
        # this JVM lives, so the writer lock is kept (one more level, never released) until the process exits
        rootlock.acquire(config, "spark session with the derby metastore")
        recover_half_created_metastore(config)
        return {"spark.sql.catalogImplementation": "hive",
                "spark.hadoop.javax.jdo.option.ConnectionURL":
                    f"jdbc:derby:;databaseName={config.path('metastore_db')};create=true",
                "spark.driver.extraJavaOptions": f"-Dderby.system.home={config.path('')}"}
    if config.storage.catalog == "hive":
        return {"spark.sql.catalogImplementation": "hive",
                "spark.hadoop.hive.metastore.uris": config.storage.metastore_uri}
    return {}


def _log4j_from_start(wanted: dict) -> None:
    """Point the driver JVM at conf/log4j2.properties when Spark's log level is the default WARN: from the
    JVM's start, so start-up warnings (native library, loopback host) are filtered too."""
    quiet = os.environ.get("CORPUSMILL_SPARK_LOG_LEVEL", "WARN") == "WARN"
    if quiet and LOG4J2_CONF.is_file():
        opts = wanted.get("spark.driver.extraJavaOptions")
        wanted["spark.driver.extraJavaOptions"] = " ".join(
            x for x in (opts, f"-Dlog4j2.configurationFile=file:{LOG4J2_CONF}") if x)


def _submit_builder(config: Config, app_name: str | None, wanted: dict):
    """Under spark-submit: the master and every conf given there win, so only the unset ones are added."""
    SparkContext._ensure_initialized()       # connect to spark-submit's JVM so its confs are visible
    given = dict(SparkConf().getAll())
    wanted["spark.app.name"] = app_name or config.spark.app_name     # only if --name was not given
    builder = SparkSession.builder
    for k, v in wanted.items():
        if v is not None and k not in given:
            builder = builder.config(k, v)
    return builder


def _local_builder(config: Config, app_name: str | None, wanted: dict):
    """Local mode: config decides the master, driver memory and jars, and the storage root is created."""
    root = config.path("")
    if "://" not in root:
        Path(root).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.master(os.environ.get("CORPUSMILL_MASTER", config.spark.master))
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
    fast_start = class_archive.java_options(jars)      # the classes a local session loads, pre-parsed
    if fast_start:
        wanted["spark.driver.extraJavaOptions"] = " ".join(
            x for x in (wanted.get("spark.driver.extraJavaOptions"), *fast_start) if x)
    for k, v in wanted.items():
        if v is not None:
            builder = builder.config(k, v)
    return builder


def _after_start(spark, config: Config) -> None:
    """What a new session needs once it runs: the JVM's log level (and the noisy loggers silenced), the
    checkpoint directory under storage.tmp, and the UI's address in the log."""
    level = os.environ.get("CORPUSMILL_SPARK_LOG_LEVEL", "WARN")
    spark.sparkContext.setLogLevel(level)
    if level == "WARN":
        _quiet(spark, quiet_loggers() + ([] if under_spark_submit() else list(TASK_FAILURE_LOGGERS)))
    ckpt = config.path(config.storage.tmp) + "/checkpoints"
    spark.sparkContext.setCheckpointDir(ckpt)
    if spark.sparkContext.uiWebUrl:
        log.info("Spark UI: %s", spark.sparkContext.uiWebUrl)       # once: a session is built once per process


LOG4J2_CONF = Path(__file__).resolve().parents[2] / "conf" / "log4j2.properties"


def quiet_loggers() -> list[str]:
    """The JVM loggers conf/log4j2.properties silences below ERROR (re-applied to a running JVM, e.g.
    spark-submit's, where the file could not be given at start)."""
    if not LOG4J2_CONF.is_file():
        return []
    props = dict(ln.split("=", 1) for ln in LOG4J2_CONF.read_text().splitlines() if "=" in ln and not ln.startswith("#"))
    props = {k.strip(): v.strip() for k, v in props.items()}
    return [props[f"{k[:-5]}.name"] for k, v in props.items()
            if k.startswith("logger.") and k.endswith(".level") and v == "error" and f"{k[:-5]}.name" in props]


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


def _quiet(spark, names: list[str]) -> None:
    """Raise these JVM loggers to FATAL (no console output) in the running JVM."""
    try:
        jvm = spark.sparkContext._jvm
        fatal = jvm.org.apache.logging.log4j.Level.FATAL
        for name in names:
            jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, fatal)
    except Exception as e:  # noqa: BLE001 - another logging backend: keep Spark's default output
        log.debug("could not quiet task-failure loggers: %s", e)


@contextlib.contextmanager
def arrow_batches(spark, max_bytes: int, max_records: int):
    """Bound the Arrow batches Python workers get by bytes as well as rows (a run of huge documents
    cannot blow a worker); the session's previous settings come back afterwards."""
    keys = {"spark.sql.execution.arrow.maxBytesPerBatch": str(max_bytes),
            "spark.sql.execution.arrow.maxRecordsPerBatch": str(max_records)}
    old = {k: spark.conf.get(k, None) for k in keys}
    for k, v in keys.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
