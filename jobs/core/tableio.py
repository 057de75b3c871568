"""Reading and writing pipeline tables (Delta by default, Parquet selectable) by name."""
from __future__ import annotations

import json
import logging
import re

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core.config import Config
from corpusmill.schemas.base import Table

log = logging.getLogger("corpusmill")


class SchemaMismatch(ValueError):
    pass


def conform(df: DataFrame, table: Table) -> DataFrame:
    """Select exactly the table's columns, in order, cast to their declared types.

    A missing column is an error (a job bug), as is an extra one: jobs write exactly their schema.
    """
    have = set(df.columns)
    missing = [c for c in table.column_names if c not in have]
    extra = [c for c in df.columns if c not in set(table.column_names)]
    if missing or extra:
        raise SchemaMismatch(f"table {table.name}: missing columns {missing}, unexpected columns {extra}")
    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in table.columns])


def _hadoop_path(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p, p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def path_exists(spark: SparkSession, path: str) -> bool:
    p, fs = _hadoop_path(spark, path)
    return bool(fs.exists(p))


class TableNotFound(FileNotFoundError):
    """read_table of a table that does not exist (never written, or its first write never committed)."""


# A Delta version is committed once its commit (NNNNNNNNNNNNNNNNNNNN.json) or a checkpoint of it sits in
# _delta_log; temp files (.NNN.json.<uuid>.tmp), _staged_commits/ and _commits/ do not make a table.
_COMMITTED = re.compile(r"^\d{20}\.(json|checkpoint(\.[^./]+)*\.(parquet|json))$")


def _delta_committed(spark: SparkSession, path: str) -> bool:
    """True when the Delta log at path holds a committed version (one or two cheap FS calls as a rule)."""
    log_dir, fs = _hadoop_path(spark, path.rstrip("/") + "/_delta_log")
    jvm = spark.sparkContext._jvm
    if fs.exists(jvm.org.apache.hadoop.fs.Path(log_dir, "00000000000000000000.json")):
        return True                       # version 0 is kept until a checkpoint lets the log be cleaned
    if not fs.exists(log_dir):
        return False
    if fs.exists(jvm.org.apache.hadoop.fs.Path(log_dir, "_last_checkpoint")):
        return True                       # written only after a checkpoint of a committed version
    return any(_COMMITTED.match(s.getPath().getName()) for s in fs.listStatus(log_dir))


def table_exists(spark: SparkSession, config: Config, name: str) -> bool:
    """A table exists once a write to it has committed: a Delta version in _delta_log (Parquet: _SUCCESS).

    A folder without one (files of a first write that was killed before its commit) is not a table:
    readers treat it as absent and the next write of the table removes it (`recover_half_created`).
    """
    path = config.table_path(name)
    if config.storage.table_format == "delta":
        return _delta_committed(spark, path)
    return path_exists(spark, path + "/_SUCCESS")


def recover_half_created(spark: SparkSession, config: Config, name: str) -> bool:
    """Remove the table's folder if it exists without a committed version; True when it did.

    Only an interrupted first write leaves such a folder (later writes add files next to a committed
    version, which readers ignore until their commit), and one run writes a storage root at a time, so
    nothing else can be writing it.
    """
    path = config.table_path(name)
    p, fs = _hadoop_path(spark, path)
    if not fs.exists(p) or table_exists(spark, config, name):
        return False
    fs.delete(p, True)
    log.warning("[tableio] removed half-created table %s at %s (no committed version; left by an interrupted run)",
                name, path)
    return True


def read_table(spark: SparkSession, config: Config, name: str, version: int | None = None) -> DataFrame:
    path = config.table_path(name)
    if not table_exists(spark, config, name):
        raise TableNotFound(f"table {name} does not exist at {path} (no committed version): run the stage that "
                            f"writes it first (corpusmill run)")
    if config.storage.table_format == "delta":
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(path)
    return spark.read.parquet(path)


_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


def _log_dir(config: Config, name: str) -> str:
    return config.table_path(name).rstrip("/") + "/_delta_log"


def table_version(spark: SparkSession, config: Config, name: str) -> int | None:
    """Current Delta version (None for Parquet or a missing table), from one listing of _delta_log.

    The newest commit file names it (Delta keeps the newest commit's JSON even after a checkpoint);
    one writer per storage root (jobs/core/rootlock.py) means no commit races the listing.
    """
    if config.storage.table_format != "delta":
        return None
    log_dir, fs = _hadoop_path(spark, _log_dir(config, name))
    if not fs.exists(log_dir):
        return None
    versions = [int(m.group(1)) for st in fs.listStatus(log_dir) if (m := _COMMIT_FILE.match(st.getPath().getName()))]
    return max(versions, default=None)


def commit_info(spark: SparkSession, config: Config, name: str, version: int) -> dict | None:
    """The commitInfo of Delta commit `version` (operation, operationMetrics, timestamp, ...), read
    from its commit file; None when the file is gone or holds none."""
    path, fs = _hadoop_path(spark, f"{_log_dir(config, name)}/{version:020d}.json")
    if not fs.exists(path):
        return None
    stream = fs.open(path)
    try:
        text = spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    line = next((x for x in text.splitlines() if '"commitInfo"' in x), None)
    return json.loads(line)["commitInfo"] if line else None


def _commit_rows(spark: SparkSession, config: Config, name: str, version: int) -> int | None:
    """Rows the commit `version` wrote, from the operationMetrics in its commit file (no re-scan);
    None when the metrics do not say (metrics turned off)."""
    metrics = (commit_info(spark, config, name, version) or {}).get("operationMetrics") or {}
    if "numOutputRows" in metrics:
        return int(metrics["numOutputRows"])
    if metrics.get("numFiles") == "0":       # an overwrite that wrote nothing reports no numOutputRows
        return 0
    return None


def last_write_rows(spark: SparkSession, config: Config, name: str) -> int | None:
    """Rows written by the table's newest commit; None for Parquet or when the metrics do not say."""
    version = table_version(spark, config, name)
    return None if version is None else _commit_rows(spark, config, name, version)


def write_counted(spark: SparkSession, config: Config, table: Table, df: DataFrame, **kw) -> tuple[int | None, int | None]:
    """write_table, then (new version, rows the write added) from its commit's metrics.

    Delta makes no commit for a write that changes nothing (no rows in, none to replace): the version
    stays and 0 rows were added (the newest commit is another write's). Rows are None where the
    metrics do not say (Parquet tables)."""
    before = table_version(spark, config, table.name)
    version = write_table(spark, config, table, df, **kw)
    if version is None:
        return None, None
    if version == before:
        return version, 0
    return version, _commit_rows(spark, config, table.name, version)


def write_table(
    spark: SparkSession,
    config: Config,
    table: Table,
    df: DataFrame,
    *,
    mode: str = "overwrite",
    replace_where: str | None = None,
) -> int | None:
    """Write df as `table` atomically (Delta) and return the new version.

    overwrite replaces the table (or only the rows matching replace_where) in one commit, so a
    crash mid-write leaves the previous version readable and a re-run gives the same content.
    """
    df = conform(df, table)
    path = config.table_path(table.name)
    recover_half_created(spark, config, table.name)
    fmt = config.storage.table_format
    writer = df.write.mode(mode)
    if table.partition_by:
        writer = writer.partitionBy(*table.partition_by)
    if fmt == "delta":
        writer = writer.format("delta")
        if replace_where and mode == "overwrite" and table_exists(spark, config, table.name):
            writer = writer.option("replaceWhere", replace_where)
        writer.save(path)
        register(spark, config, table.name)
        return table_version(spark, config, table.name)
    # parquet: dynamic partition overwrite gives the replace_where behaviour for partition predicates
    if replace_where:
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    try:
        writer.parquet(path)
    finally:
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "static")
    register(spark, config, table.name)
    return None


def list_tables(spark: SparkSession, config: Config) -> list[str]:
    """Names of the tables under the warehouse directory."""
    base = config.path(config.storage.warehouse)
    if not path_exists(spark, base):
        return []
    p, fs = _hadoop_path(spark, base)
    names = [s.getPath().getName() for s in fs.listStatus(p) if s.isDirectory()]
    return sorted(n for n in names if table_exists(spark, config, n))


def _catalog_on(spark: SparkSession, config: Config) -> bool:
    return (config.storage.catalog != "none"
            and spark.conf.get("spark.sql.catalogImplementation", "in-memory") == "hive")


# (application id, database, table, path) registered by this process: a Delta table's entry stays valid
# across its writes, so one registration per session is enough (the metastore calls cost seconds)
_registered: set[tuple[str, str, str, str]] = set()


def register(spark: SparkSession, config: Config, name: str) -> None:
    """Register the table in the persistent catalog (as an external table over its path)."""
    if not _catalog_on(spark, config):
        return
    db, path = config.storage.database, config.table_path(name)
    fmt = config.storage.table_format
    key = (spark.sparkContext.applicationId, db, name, path)
    if fmt == "delta" and key in _registered:
        return
    _register(spark, db, name, path, fmt)
    _registered.add(key)


def _register(spark: SparkSession, db: str, name: str, path: str, fmt: str) -> None:
    if not spark.catalog.databaseExists(db):     # Hive logs an ERROR trace for IF NOT EXISTS on an existing one
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{db}`")
    full = f"`{db}`.`{name}`"
    if spark.catalog.tableExists(f"{db}.{name}"):
        try:
            loc = spark.sql(f"DESCRIBE TABLE EXTENDED {full}").where("col_name = 'Location'").first()
        except Exception:  # noqa: BLE001 - an entry over a folder that is no table (any more): replace it
            loc = None
        if loc is not None and loc[1].rstrip("/").removeprefix("file:") == path.rstrip("/").removeprefix("file:"):
            if fmt == "parquet":
                spark.sql(f"REFRESH TABLE {full}")
            return
        spark.sql(f"DROP TABLE {full}")       # external: drops the entry, never the data
    spark.sql(f"CREATE TABLE {full} USING {fmt} LOCATION '{path}'")
    if fmt == "parquet":
        spark.sql(f"MSCK REPAIR TABLE {full}")


def register_views(spark: SparkSession, config: Config) -> list[str]:
    """Make every pipeline table queryable by bare name in this session (catalog or temp views).

    A session without the persistent catalog gets temp views; when a catalog is configured (a derby
    root opened read-only while its writer holds the metastore: jobs/core/session.py) it also gets views
    `<database>.<table>` in its in-memory catalog, so the names that work with the metastore work here.
    """
    names = list_tables(spark, config)
    db = config.storage.database
    if _catalog_on(spark, config):
        for n in names:
            register(spark, config, n)
        if spark.catalog.databaseExists(db):     # a new store has no database yet
            spark.sql(f"USE `{db}`")
        return names
    for n in names:
        read_table(spark, config, n).createOrReplaceTempView(n)
    if config.storage.catalog != "none" and names:
        try:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        except Exception as e:  # noqa: BLE001 - e.g. a read-only warehouse: bare names still work
            log.warning("tables are available by bare name only (could not create database %s: %s)",
                        db, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
            return names
        fmt = config.storage.table_format
        for n in names:
            spark.sql(f"CREATE OR REPLACE VIEW `{db}`.`{n}` AS SELECT * FROM {fmt}.`{config.table_path(n)}`")
        spark.sql(f"USE `{db}`")
    return names


def first_existing(spark: SparkSession, config: Config, names: list[str]) -> str:
    """The first of names that exists (a stage reads the latest upstream stage that has run)."""
    for n in names:
        if table_exists(spark, config, n):
            return n
    raise FileNotFoundError(f"none of the input tables {names} exist under {config.path(config.storage.warehouse)}: "
                            f"run the earlier stages first (corpusmill run)")
