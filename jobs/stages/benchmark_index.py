"""What the decontam stage (documents) and the code stage (code files) share: the configured
benchmarks, their checks before Spark, the index built once per run on the driver, and the Spark
step that checks every row against it on the executors."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import fingerprint
from corpusmill.udfs.decontam import batch
from corpusmill.udfs.decontam import benchmarks as bm
from corpusmill.udfs.decontam.index import BenchmarkIndex, Item

log = logging.getLogger("corpusmill")

TARGETS = ("text", "code")


@dataclass
class BenchmarkSpec:
    """One `decontam.benchmarks` entry (a user's list replaces the default one whole, so the keys a
    user may leave out have their defaults here)."""

    name: str                      # the benchmark's name (in reasons: contamination:<name>)
    path: str                      # JSONL(.gz) / Parquet / CSV file or folder, or a Delta table (relative: under storage.root)
    prompt: str                    # field holding the prompt ("" = none); dotted names reach into nested records
    answer: str = ""               # field holding the gold answer ("" = none)
    id: str = ""                   # field holding the item id ("" = the row number)
    format: str = "auto"           # auto (from the name) | jsonl | parquet | csv | delta
    targets: list[str] = field(default_factory=lambda: list(TARGETS))  # text (documents) and/or code (code files)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ConfigError(f"name: {self.name!r} must be letters, digits, '-', '_' or '.'")
        if not (self.prompt or self.answer):
            raise ConfigError("prompt / answer: name at least one field")
        if self.format not in bm.FORMATS:
            raise ConfigError(f"format: expected one of {', '.join(bm.FORMATS)}, got {self.format!r}")
        bad = [t for t in self.targets if t not in TARGETS]
        if bad or not self.targets:
            raise ConfigError(f"targets: expected a non-empty list of {' and '.join(TARGETS)}, got {self.targets}")


def specs_for(config: Config, target: str) -> list[tuple[int, BenchmarkSpec]]:
    return [(i, b) for i, b in enumerate(config.decontam.benchmarks) if target in b.targets]


def _key(i: int) -> str:
    return f"decontam.benchmarks[{i}].path"


def check(config: Config, target: str) -> None:
    """Every benchmark file the target uses exists, holds records and has the named fields (no Spark)."""
    for i, b in specs_for(config, target):
        path = config.path(b.path)
        if "://" in path:
            continue                    # object stores: checked when Spark reads them
        if not os.path.exists(path):
            raise ConfigError(f"{_key(i)}: {path} not found (a JSONL, Parquet or CSV file, or a Delta table): "
                              f"give the benchmark's file, or leave it out of decontam.benchmarks "
                              f"(`decontam.benchmarks: []` checks nothing)")
        fmt = bm.detect_format(path, b.format)
        if fmt == "delta":
            fields = bm.delta_fields(path, _key(i))
            for what, f in (("id", b.id), ("prompt", b.prompt), ("answer", b.answer)):
                top = f.split(".")[0] if f else ""
                if fields and top and top not in fields:
                    raise ConfigError(f"{_key(i)}: {path} has no field {f!r} (the benchmark's {what}; fields: "
                                      f"{', '.join(fields)})")
        else:
            rows = bm.read_rows(path, fmt, _key(i))
            bm.items_from_rows(rows, b.name, b.id, b.prompt, b.answer, path, _key(i))


def _delta_rows(spark: SparkSession, path: str, b: BenchmarkSpec, key: str) -> list[dict]:
    df = spark.read.format("delta").load(path)
    tops = {f.split(".")[0] for f in (b.id, b.prompt, b.answer) if f}
    missing = sorted(t for t in tops if t not in df.columns)
    if missing:
        raise ConfigError(f"{key}: {path} has no field {missing[0]!r} (fields: {', '.join(df.columns)})")
    rows = [r.asDict(recursive=True) for r in df.select(*sorted(tops)).collect()]
    return sorted(rows, key=lambda r: repr(sorted(r.items())))      # Spark's row order varies: the index must not


def load_items(spark: SparkSession, config: Config, target: str) -> list[Item]:
    items: list[Item] = []
    for i, b in specs_for(config, target):
        path = config.path(b.path)
        fmt = bm.detect_format(path, b.format) if "://" not in path else (b.format if b.format != "auto" else "delta")
        if fmt == "delta":
            rows = _delta_rows(spark, path, b, _key(i))
        elif "://" in path:                 # an object store: Spark reads it
            reader = spark.read.format({"jsonl": "json"}.get(fmt, fmt)).option("header", True)
            rows = sorted((r.asDict(recursive=True) for r in reader.load(path).collect()), key=lambda r: repr(sorted(r.items())))
        else:
            rows = bm.read_rows(path, fmt, _key(i))
        items += bm.items_from_rows(rows, b.name, b.id, b.prompt, b.answer, path, _key(i))
    return items


def build_index(spark: SparkSession, config: Config, target: str) -> BenchmarkIndex:
    """The index of the target's benchmarks, built on the driver."""
    d = config.decontam
    index = BenchmarkIndex.build(load_items(spark, config, target), d.ngram_words, d.ngram_chars)
    per = index.items_per_benchmark()
    log.info("[decontam] %s index: %d distinct n-grams (%d words / %d CJK characters) from %s", target, len(index),
             d.ngram_words, d.ngram_chars, ", ".join(f"{b}: {n} items" for b, n in per.items()) or "no benchmarks")
    for b, n in index.unindexed.items():
        log.warning("[decontam] %s: %d items shorter than one n-gram are not checked", b, n)
    return index


def files_fingerprint(config: Config, target: str) -> str:
    """Benchmark paths, sizes and modification times plus the n-gram settings (the skip-if-done key)."""
    items = [f"{config.decontam.ngram_words}/{config.decontam.ngram_chars}"]
    for _, b in specs_for(config, target):
        path = config.path(b.path)
        items.append(f"{b}")
        if os.path.isdir(path):
            items += [f"{p}|{os.path.getsize(os.path.join(r, p))}|{int(os.path.getmtime(os.path.join(r, p)))}"
                      for r, _, fs in os.walk(path) for p in fs]
        elif os.path.exists(path):
            items.append(f"{path}|{os.path.getsize(path)}|{int(os.path.getmtime(path))}")
    return fingerprint(items)


def match_rows(spark: SparkSession, df: DataFrame, index: BenchmarkIndex, min_ngrams: int, *, id_col: str,
               text_col: str, pass_cols: tuple[str, ...] = ()) -> DataFrame:
    """One row per input row: `id` (the id_col value), pass_cols (strings) and the match signals
    (udfs/decontam/batch.py), the index broadcast once."""
    bc = spark.sparkContext.broadcast(index.to_parts())
    fn = partial(batch.check_arrow, digest=index.digest(), load=lambda: bc.value, min_ngrams=min_ngrams,
                 id_col=id_col, text_col=text_col, pass_cols=pass_cols)
    return df.select(id_col, text_col, *pass_cols).mapInArrow(fn, from_arrow_schema(batch.signals_type(pass_cols)))


def match_rows_join(spark: SparkSession, df: DataFrame, index: BenchmarkIndex, min_ngrams: int, *, id_col: str,
                    text_col: str, pass_cols: tuple[str, ...] = ()) -> DataFrame:
    """match_rows for an index too large to broadcast: the documents' distinct n-gram hashes are joined with
    the index as a table; each document is then checked against the pairs it matched (same rows)."""
    import pandas as pd

    pairs_pdf = pd.DataFrame({"h": np.repeat(index.hashes.view(np.int64), np.diff(index.offsets)),
                              "item": index.item_of})
    index_df = spark.createDataFrame(pairs_pdf, "h bigint, item int")
    hashes = df.select(id_col, text_col).mapInArrow(
        partial(batch.hashes_arrow, n_words=index.n_words, n_chars=index.n_chars, id_col=id_col, text_col=text_col),
        "id string, hashes array<bigint>")
    pairs = (hashes.select(F.col("id").alias(id_col), F.explode("hashes").alias("h")).join(index_df, "h")
             .groupBy(id_col).agg(F.collect_list(F.struct("h", "item")).alias("pairs")))
    items_only = BenchmarkIndex(index.n_words, index.n_chars, np.zeros(0, np.uint64), np.zeros(1, np.int64),
                                np.zeros(0, np.int32), index.item_bench, index.item_ids, index.benchmarks)
    bc = spark.sparkContext.broadcast(items_only.to_parts())
    fn = partial(batch.check_pairs_arrow, digest=index.digest() + "-items", load=lambda: bc.value,
                 min_ngrams=min_ngrams, id_col=id_col, text_col=text_col, pass_cols=pass_cols)
    return (df.select(id_col, text_col, *pass_cols).join(pairs, id_col, "left")
            .mapInArrow(fn, from_arrow_schema(batch.signals_type(pass_cols))))
