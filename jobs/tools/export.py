"""`corpusmill export`: training shards (text + metadata) of a pipeline table."""
from __future__ import annotations

import argparse
import math

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool

EXPORT_FORMATS = ("jsonl", "parquet")
SHARD_TEXT_BYTES = 256 << 20       # shards = 0: one shard per this much text


def export_samples(spark: SparkSession, config: Config, out: str, *, fmt: str = "jsonl", shards: int = 0,
                   table: str = "code_samples") -> int:
    """Write training shards (text + metadata) of `table`; returns the number of samples written.

    Shards are ranges of sample_id, each sorted by it, so the same table exports to the same files'
    contents. shards = 0 picks one shard per ~256 MB of text.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format: expected one of {EXPORT_FORMATS}, got {fmt!r}")
    if not tableio.table_exists(spark, config, table):
        raise ConfigError(f"--table: {table} does not exist under {config.path(config.storage.warehouse)}; "
                          f"run the code stage first")
    df = tableio.read_table(spark, config, table)
    if table == "code_samples":
        df = df.select("sample_id", "text", "repo", "repos", "subtree", "sample_index", "kind", "ordering",
                       "token_count", "tokenizer", F.expr("transform(files, f -> f.path)").alias("files"),
                       F.lit("code").alias("source_type"))
    if shards <= 0:
        total = df.agg(F.sum(F.length("text"))).first()[0] or 0
        shards = max(1, math.ceil(total / SHARD_TEXT_BYTES))
    key = "sample_id" if "sample_id" in df.columns else df.columns[0]
    df = df.repartitionByRange(shards, key).sortWithinPartitions(key)
    path = config.path(out)
    if fmt == "jsonl":
        df.write.mode("overwrite").option("compression", "gzip").json(path)
    else:
        df.write.mode("overwrite").parquet(path)
    return df.count()


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--out", required=True, help="output folder (relative paths under storage.root)")
    ap.add_argument("--format", default="jsonl", choices=EXPORT_FORMATS, help="gzip JSON lines or Parquet")
    ap.add_argument("--shards", type=int, default=0, help="number of shards (default: one per 256 MB of text)")
    ap.add_argument("--table", default="code_samples", help="the table to export (default: code_samples)")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    n = export_samples(get_spark(config), config, args.out, fmt=args.format, shards=args.shards, table=args.table)
    print(f"exported {n:,} samples of {args.table} to {config.path(args.out)} ({args.format})")
    return 0


TOOLS = [Tool("export", "write training shards (gzip JSONL or Parquet) of code_samples", add_arguments, run_cli)]
