"""Reading and writing pipeline tables (Delta by default, Parquet selectable) by name."""
from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.config import Config
from schemas.base import Table

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


def table_exists(spark: SparkSession, config: Config, name: str) -> bool:
    path = config.table_path(name)
    if config.storage.table_format == "delta":
        return path_exists(spark, path + "/_delta_log")
    return path_exists(spark, path + "/_SUCCESS")


def read_table(spark: SparkSession, config: Config, name: str, version: int | None = None) -> DataFrame:
    path = config.table_path(name)
    if config.storage.table_format == "delta":
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(path)
    return spark.read.parquet(path)


def table_version(spark: SparkSession, config: Config, name: str) -> int | None:
    """Current Delta version (None for Parquet or a missing table)."""
    if config.storage.table_format != "delta" or not table_exists(spark, config, name):
        return None
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, config.table_path(name)).history(1).select("version").first()
    return int(row[0]) if row else None


def last_write_rows(spark: SparkSession, config: Config, name: str) -> int | None:
    """Rows written by the latest commit, from Delta's operation metrics (no re-scan)."""
    if config.storage.table_format != "delta":
        return None
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, config.table_path(name)).history(1).select("operationMetrics").first()
    metrics = (row[0] or {}) if row else {}
    n = metrics.get("numOutputRows")
    return int(n) if n is not None else None


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


def register(spark: SparkSession, config: Config, name: str) -> None:
    """Register the table in the persistent catalog (as an external table over its path)."""
    if not _catalog_on(spark, config):
        return
    db, path = config.storage.database, config.table_path(name)
    fmt = config.storage.table_format
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{db}`")
    full = f"`{db}`.`{name}`"
    if spark.catalog.tableExists(f"{db}.{name}"):
        loc = spark.sql(f"DESCRIBE TABLE EXTENDED {full}").where("col_name = 'Location'").first()
        if loc is not None and loc[1].rstrip("/").removeprefix("file:") == path.rstrip("/").removeprefix("file:"):
            if fmt == "parquet":
                spark.sql(f"REFRESH TABLE {full}")
            return
        spark.sql(f"DROP TABLE {full}")       # external: drops the entry, never the data
    spark.sql(f"CREATE TABLE {full} USING {fmt} LOCATION '{path}'")
    if fmt == "parquet":
        spark.sql(f"MSCK REPAIR TABLE {full}")


def register_views(spark: SparkSession, config: Config) -> list[str]:
    """Make every pipeline table queryable by bare name in this session (catalog or temp views)."""
    names = list_tables(spark, config)
    if _catalog_on(spark, config):
        for n in names:
            register(spark, config, n)
        spark.sql(f"USE `{config.storage.database}`")
        return names
    for n in names:
        read_table(spark, config, n).createOrReplaceTempView(n)
    return names


def first_existing(spark: SparkSession, config: Config, names: list[str]) -> str:
    """The first of names that exists (a stage reads the latest upstream stage that has run)."""
    for n in names:
        if table_exists(spark, config, n):
            return n
    raise FileNotFoundError(f"none of the input tables {names} exist under {config.path(config.storage.warehouse)}: "
                            f"run the earlier stages first (corpusmill run)")
