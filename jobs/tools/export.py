r"""`corpusmill export`: a pipeline table as files training frameworks read.

Formats: JSON lines (plain or gzip) and Parquet for `datasets.load_dataset`, Megatron-LM indexed
datasets (.bin/.idx, tokenized) for megatron-core's `IndexedDataset`, and MosaicML MDS shards for
`streaming.StreamingDataset`.

Every format writes the same rows in the same order: rows are range-partitioned into write tasks
(one per `export.task_text_bytes` of text) by an order key, the id (`doc_id` / `sample_id`) or, with a
shuffle seed, xxhash64(seed, id), and sorted by it within each task; a task's files are named by its
partition index, so the same table and options give the same files. JSON lines and Parquet go
through Spark's DataFrame writers (`maxRecordsPerFile` = the shard size). Megatron and MDS files
are written by the executors themselves (`mapInPandas`, one task streaming its rows into its own
files under the shared output folder, bounded Arrow batches), not through the driver
(`toLocalIterator` would funnel every row through one process); the driver only collects one small
record per file set, merges the MDS indexes and writes `_manifest.json` and `_SUCCESS`. These two
formats therefore need an output path every executor sees (a local folder in local mode, a shared
mount on a cluster).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import re
import shutil
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import arrow_batches, get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.udfs.export import mds, megatron, tasks

TABLES = ("pretrain", "longctx", "code_samples")
FORMATS = ("jsonl", "jsonl.gz", "parquet", "megatron", "mds")
PARTITION_COLUMNS = ("language", "source_type")
ID_COLUMN = {"pretrain": "doc_id", "longctx": "doc_id", "code_samples": "sample_id"}
ORDER = "__export_order"
ARROW_BATCH_ROWS = 256                  # Megatron/MDS tasks: rows per Arrow batch at most ...
ARROW_BATCH_BYTES = 64 << 20            # ... and bytes, so runs of huge documents stay bounded
_SPARK_PART = re.compile(r"^part-(\d{5})-.*[-.]c(\d{3})\.")


@dataclass
class ExportConfig:
    """The `export:` section of conf/default.yaml (the CLI's flags override it)."""

    table: str                  # pretrain | longctx | code_samples
    format: str                 # jsonl | jsonl.gz | parquet | megatron | mds
    columns: list[str]          # exported columns; [] = every column of the table (megatron: text_column only)
    text_column: str            # the text megatron tokenizes; also what task_text_bytes measures
    partition_by: str           # "" | language | source_type: one folder per value (`language=en/`)
    shard_size: int             # rows per file (megatron: per .bin/.idx, mds: per shard) at most; 0 = one per task
    shuffle_seed: int | None    # null = ordered by id; else by xxhash64(seed, id)
    task_text_bytes: int        # write tasks: one per this many bytes of text
    tokenizer: str              # megatron: tokenizer.json (file or folder) or hub id; "" = <models>/code-bpe
    eod_token: str              # megatron: token appended to every document; "" = the tokenizer's own

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise ConfigError(f"export.table: expected one of {', '.join(TABLES)}, got {self.table!r}")
        if self.format not in FORMATS:
            raise ConfigError(f"export.format: expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.partition_by not in ("",) + PARTITION_COLUMNS:
            raise ConfigError(f"export.partition_by: expected language, source_type or \"\", got {self.partition_by!r}")
        if self.shard_size < 0:
            raise ConfigError(f"export.shard_size: expected rows >= 0, got {self.shard_size}")
        if self.task_text_bytes < 1 << 20:
            raise ConfigError(f"export.task_text_bytes: expected at least 1048576, got {self.task_text_bytes}")
        if not self.text_column:
            raise ConfigError("export.text_column: required")


@dataclass
class ExportResult:
    path: str
    rows: int
    files: list[str]            # relative to path (megatron: the .bin/.idx prefixes)


# ---- what is exported ---------------------------------------------------------------------------
def export_view(spark: SparkSession, config: Config, table: str) -> DataFrame:
    """The table as exported: code_samples' file entries as their paths, plus source_type = code."""
    if not tableio.table_exists(spark, config, table):
        raise ConfigError(f"--table: {table} does not exist under {config.path(config.storage.warehouse)}; "
                          f"run the stage that writes it first")
    df = tableio.read_table(spark, config, table)
    if table == "code_samples":
        df = df.withColumn("files", F.expr("transform(files, f -> f.path)")).withColumn("source_type", F.lit("code"))
    return df


def _columns(cfg: ExportConfig, df: DataFrame) -> list[str]:
    have = df.columns
    if cfg.text_column not in have:
        raise ConfigError(f"--text-column: {cfg.table} has no column {cfg.text_column!r}")
    if cfg.partition_by and cfg.partition_by not in have:
        raise ConfigError(f"--partition-by: {cfg.table} has no column {cfg.partition_by!r}")
    if cfg.format == "megatron":
        return [cfg.text_column]
    cols = cfg.columns or [c for c in have if c != cfg.partition_by]
    unknown = [c for c in cols if c not in have]
    if unknown:
        raise ConfigError(f"--columns: {cfg.table} has no column {', '.join(map(repr, unknown))} "
                          f"(columns: {', '.join(have)})")
    return [c for c in dict.fromkeys(cols) if c != cfg.partition_by]   # the folder holds the partition value


def order_key(id_column: str, seed: int | None):
    """The export order: the id, or a seeded 64-bit hash of it (a deterministic shuffle)."""
    if seed is None:
        return F.col(id_column)
    return F.xxhash64(F.lit(int(seed)), F.col(id_column))


def ordered_rows(df: DataFrame, cfg: ExportConfig, columns: list[str], tasks_n: int) -> DataFrame:
    """The exported columns (+ the partition column), range-partitioned into tasks_n tasks by the
    order key, each sorted by (partition value, order key, id)."""
    id_col = ID_COLUMN[cfg.table]
    keep = columns + ([cfg.partition_by] if cfg.partition_by else [])
    out = df.select(*[F.col(c) for c in keep], order_key(id_col, cfg.shuffle_seed).alias(ORDER),
                    F.col(id_col).alias("__export_id"))
    out = out.repartitionByRange(tasks_n, ORDER, "__export_id")
    sort = ([cfg.partition_by] if cfg.partition_by else []) + [ORDER, "__export_id"]
    return out.sortWithinPartitions(*sort)


# ---- writers --------------------------------------------------------------------------------------
def _fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p, p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _write_text(spark: SparkSession, path: str, text: str) -> None:
    p, fs = _fs(spark, path)
    out = fs.create(p, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def _spark_files(spark: SparkSession, root: str, ext: str) -> list[str]:
    """Rename Spark's part files (part-TTTTT-<job uuid>-cNNN.<ext>) to part-TTTTT-NNN<ext>, so the same
    export gives the same names; returns them relative to root, sorted."""
    p, fs = _fs(spark, root)
    jvm = spark.sparkContext._jvm
    names = []
    it = fs.listFiles(p, True)
    files = []
    while it.hasNext():
        files.append(it.next().getPath())
    base = str(fs.makeQualified(p).toUri().getPath()).rstrip("/")
    for f in files:
        m = _SPARK_PART.match(f.getName())
        if not m:
            continue
        target = jvm.org.apache.hadoop.fs.Path(f.getParent(), f"part-{m.group(1)}-{m.group(2)}{ext}")
        if not fs.rename(f, target):
            raise RuntimeError(f"export: cannot rename {f} to {target}")
        names.append(str(target.toUri().getPath())[len(base) + 1:])
    return sorted(names)


def _write_spark(spark: SparkSession, rows: DataFrame, cfg: ExportConfig, path: str) -> list[str]:
    w = rows.drop(ORDER, "__export_id").write.mode("overwrite")
    if cfg.shard_size:
        w = w.option("maxRecordsPerFile", cfg.shard_size)
    if cfg.partition_by:
        w = w.partitionBy(cfg.partition_by)
    if cfg.format == "parquet":
        w.parquet(path)
        return _spark_files(spark, path, ".parquet")
    gz = cfg.format == "jsonl.gz"
    w.option("compression", "gzip" if gz else "none").option("ignoreNullFields", "false").json(path)
    return _spark_files(spark, path, ".jsonl.gz" if gz else ".jsonl")


def _local_dir(path: str) -> str:
    if "://" in path:
        scheme, rest = path.split("://", 1)
        if scheme.lower() != "file":
            raise ConfigError(f"--out: megatron and mds files are written by the executors with plain file I/O; "
                              f"give a local or shared-mount path, not {path}")
        path = rest
    return path


def resolve_tokenizer(config: Config, name: str) -> tuple[str, str]:
    """(tokenizer.json string, name): a file or folder (relative to storage.root or not), a hub id
    (transformers, from its cache offline), or "" = the code stage's <models>/code-bpe."""
    name = name.strip()
    if not name:
        name = config.path(config.storage.models.rstrip("/") + "/code-bpe")
        if not os.path.exists(name):
            raise ConfigError(f"--tokenizer: none given and no code-stage tokenizer at {name}; "
                              f"give a tokenizer.json (or its folder)")
    for cand in (name, config.path(name)):
        if os.path.exists(cand):
            f = os.path.join(cand, "tokenizer.json") if os.path.isdir(cand) else cand
            if not os.path.isfile(f):
                raise ConfigError(f"--tokenizer: {cand} has no tokenizer.json (a fast Hugging Face tokenizer)")
            with open(f, encoding="utf-8") as fh:
                return fh.read(), name
    try:
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(name)
    except Exception as e:  # noqa: BLE001 - ImportError, OSError, hub errors: all mean "cannot load"
        raise ConfigError(f"--tokenizer: cannot load {name!r} as a path or hub id "
                          f"({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})") from None
    if not getattr(hf, "is_fast", False):
        raise ConfigError(f"--tokenizer: {name!r} is not a fast tokenizer (needs tokenizer.json)")
    return hf.backend_tokenizer.to_str(), name


def mds_encodings(df: DataFrame, columns: list[str], nullable: set[str]) -> dict[str, str]:
    """MDS column encodings: str / int / float64 for scalar columns without nulls (nulls cannot be
    encoded there), json for the rest (lists, structs, nullable scalars)."""
    out = {}
    types = {f.name: f.dataType for f in df.schema.fields}
    for c in columns:
        t = types[c]
        if c in nullable:
            out[c] = "json"
        elif isinstance(t, T.StringType):
            out[c] = "str"
        elif isinstance(t, (T.IntegerType, T.LongType, T.ShortType, T.ByteType)):
            out[c] = "int"
        elif isinstance(t, (T.FloatType, T.DoubleType)):
            out[c] = "float64"
        else:
            out[c] = "json"
    return out


def _plain_types(df: DataFrame, columns: list[str]) -> DataFrame:
    """Timestamps and dates as ISO strings, decimals as doubles (what JSON and MDS can hold)."""
    types = {f.name: f.dataType for f in df.schema.fields}
    for c in columns:
        if isinstance(types[c], (T.TimestampType, T.TimestampNTZType, T.DateType)):
            df = df.withColumn(c, F.date_format(c, "yyyy-MM-dd'T'HH:mm:ss") if not isinstance(types[c], T.DateType)
                               else F.col(c).cast("string"))
        elif isinstance(types[c], T.DecimalType):
            df = df.withColumn(c, F.col(c).cast("double"))
    return df


def _write_by_tasks(spark: SparkSession, rows: DataFrame, cfg: ExportConfig, config: Config, out_dir: str,
                    columns: list[str], nullable: set[str]) -> tuple[list[str], dict]:
    extra: dict = {}
    shipped = None
    if cfg.format == "megatron":
        spec, name = resolve_tokenizer(config, cfg.tokenizer)
        try:
            tok = megatron.load_tokenizer(spec)
            eod = megatron.eod_id(tok, cfg.eod_token)
        except ValueError as e:
            raise ConfigError(f"--eod-token: {e}") from None
        except Exception as e:  # noqa: BLE001 - a malformed tokenizer.json
            raise ConfigError(f"--tokenizer: {name!r} is not a tokenizer.json ({e})") from None
        vocab = tok.get_vocab_size(with_added_tokens=True)
        shipped = spark.sparkContext.broadcast(spec)
        fn = functools.partial(tasks.megatron_task, out_dir=out_dir, tokenizer_json=shipped,
                               eod_token=tok.id_to_token(eod), shard_rows=cfg.shard_size, text_column=cfg.text_column,
                               folder_column=cfg.partition_by or None)
        extra = {"tokenizer": name, "eod_token": tok.id_to_token(eod), "eod_id": eod, "vocab_size": vocab,
                 "dtype": megatron.token_dtype(vocab).__name__}
    else:
        encodings = mds_encodings(rows, columns, nullable)
        fn = functools.partial(tasks.mds_task, out_dir=out_dir, columns=encodings, shard_rows=cfg.shard_size,
                               folder_column=cfg.partition_by or None)
        extra = {"column_encodings": encodings}
    if os.path.exists(out_dir):                 # checks passed: replace the previous export
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    with arrow_batches(spark, ARROW_BATCH_BYTES, ARROW_BATCH_ROWS):
        recs = sorted((r.asDict() for r in rows.drop(ORDER, "__export_id")
                       .mapInPandas(fn, schema=tasks.RESULT_DDL).collect()),
                      key=lambda r: (r["folder"], r["name"]))
    if cfg.format == "megatron":
        shipped.unpersist()
    files = [f"{r['folder']}/{r['name']}" if r["folder"] else r["name"] for r in recs]
    if cfg.format == "mds":
        folders = sorted({r["folder"] for r in recs})
        for folder in folders:
            if folder:
                mds.merge_index(os.path.join(out_dir, folder), [r["name"] for r in recs if r["folder"] == folder])
        mds.merge_index(out_dir, files)
        extra["shards"] = sum(r["shards"] for r in recs)
    else:
        extra["tokens"] = sum(r["tokens"] for r in recs)
    extra["file_rows"] = {f: r["rows"] for f, r in zip(files, recs)}
    return files, extra


def export_table(spark: SparkSession, config: Config, out: str, cfg: ExportConfig | None = None) -> ExportResult:
    """Write `cfg.table` (default: the config's `export:` section) under `out` in `cfg.format`."""
    cfg = cfg or config.export
    df = export_view(spark, config, cfg.table)
    columns = _columns(cfg, df)
    if cfg.format == "mds":
        df = _plain_types(df, columns)
    if cfg.format == "megatron":
        df = df.where(F.col(cfg.text_column).isNotNull())
    stats = [F.count(F.lit(1)).alias("rows"), F.sum(F.octet_length(cfg.text_column)).alias("bytes")]
    scalar = [c for c in columns if not isinstance(df.schema[c].dataType, (T.ArrayType, T.MapType, T.StructType))]
    if cfg.format == "mds":
        stats += [F.sum(F.col(c).isNull().cast("long")).alias(f"null_{i}") for i, c in enumerate(scalar)]
    got = df.agg(*stats).first()
    n_rows, n_bytes = got["rows"], got["bytes"] or 0
    nullable = {c for i, c in enumerate(scalar) if cfg.format == "mds" and got[f"null_{i}"]}
    rows = ordered_rows(df, cfg, columns, max(1, math.ceil(n_bytes / cfg.task_text_bytes)))
    path = config.path(out)
    if cfg.format in ("megatron", "mds"):
        path = _local_dir(path)
        files, extra = _write_by_tasks(spark, rows, cfg, config, path, columns, nullable)
    else:
        files, extra = _write_spark(spark, rows, cfg, path), {}
    manifest = {"table": cfg.table, "table_version": tableio.table_version(spark, config, cfg.table),
                "format": cfg.format, "columns": columns, "partition_by": cfg.partition_by or None,
                "shard_size": cfg.shard_size, "shuffle_seed": cfg.shuffle_seed, "order": ID_COLUMN[cfg.table]
                if cfg.shuffle_seed is None else f"xxhash64({cfg.shuffle_seed}, {ID_COLUMN[cfg.table]})",
                "rows": n_rows, "files": files, **extra}
    _write_text(spark, path.rstrip("/") + "/_manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if cfg.format in ("megatron", "mds"):
        _write_text(spark, path.rstrip("/") + "/_SUCCESS", "")
    return ExportResult(path, n_rows, files)


# ---- the verb -------------------------------------------------------------------------------------
def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--out", required=True, help="output folder (relative paths under storage.root); replaced")
    ap.add_argument("--table", choices=TABLES, help="table to export (export.table)")
    ap.add_argument("--format", choices=FORMATS, help="jsonl | jsonl.gz | parquet (datasets.load_dataset), "
                    "megatron (.bin/.idx), mds (streaming.StreamingDataset) (export.format)")
    ap.add_argument("--columns", help="comma-separated columns to export (export.columns; default: all)")
    ap.add_argument("--partition-by", choices=PARTITION_COLUMNS, help="a folder per value (export.partition_by)")
    ap.add_argument("--shard-size", type=int, help="rows per output file at most; 0 = one per write task "
                    "(export.shard_size)")
    ap.add_argument("--shuffle-seed", type=int, help="order rows by a hash of (seed, id) instead of the id "
                    "(export.shuffle_seed)")
    ap.add_argument("--tokenizer", help="megatron: tokenizer.json file or folder, or hub id (export.tokenizer)")
    ap.add_argument("--eod-token", help="megatron: end-of-document token (export.eod_token)")
    ap.add_argument("--text-column", help="column megatron tokenizes (export.text_column)")


def options(args: argparse.Namespace, config: Config) -> ExportConfig:
    """The `export:` section with the flags given on the command line put over it."""
    flags = {"table": args.table, "format": args.format, "partition_by": args.partition_by,
             "shard_size": args.shard_size, "shuffle_seed": args.shuffle_seed, "tokenizer": args.tokenizer,
             "eod_token": args.eod_token, "text_column": args.text_column,
             "columns": [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None}
    return dataclasses.replace(config.export, **{k: v for k, v in flags.items() if v is not None})


def run_cli(args: argparse.Namespace, config: Config) -> int:
    cfg = options(args, config)
    res = export_table(get_spark(config), config, args.out, cfg)
    print(f"exported {res.rows:,} rows of {cfg.table} to {res.path} ({cfg.format}, {len(res.files)} files)")
    return 0


TOOLS = [Tool("export", "write a table as training files: JSON lines, Parquet, Megatron .bin/.idx or MDS shards",
              add_arguments, run_cli, section=ExportConfig)]
