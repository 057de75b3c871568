"""`code` stage: code repositories -> `code_files` (signals, dedup) -> `code_samples` (32K-token samples).

Steps (one Spark stage, two Delta tables):
  1. ingest     sources (dirs, tar/zip, git repos read at a ref, Parquet/Delta tables of repo/path/content)
                are listed on the driver (paths only); each is read on an executor by mapInArrow in
                bounded batches, then files are spread over tasks by hash(repo, path).
  2. signals    per-file batches: language, binary/generated/vendored/minified/lock/oversized flags,
                imports, summary, definitions; `code.reject` decides which flags reject a file.
  2b. benchmarks  with code.decontam, files holding benchmark n-grams (decontam.benchmarks whose
                targets include code, the decontam stage's index) are rejected (contamination:<benchmark>)
                and listed in `contamination`; with code.pii, personal data in files is replaced.
  3. dedup      exact (content hash) across repositories: the copy with the smallest (repo, path) is
                kept; then near duplicates with the dedup stage's MinHash-LSH (udfs.dedup.lsh, tokenizer
                "code"), same rule inside each cluster. Every rejected file goes to `rejected`.
  4. order+pack groupBy(repo, subtree).applyInPandas: resolve imports, order (dependency or
                depth_first), render markdown, pack into samples of at most `max_tokens` tokens.
                A repository with more than `max_group_files` files or `max_group_bytes` bytes is
                split by top-level folder (then 2nd, 3rd level, then hash buckets) so that no task holds
                more than those caps; imports across subtrees are not followed.
  5. small      optionally, samples under `pack_small_below` of the budget (small repositories and
                the tails of large ones) are merged first-fit-decreasing within hash buckets.
Counts: rows_in = files (and unreadable sources) read; rows_out = files kept (every one is in some
sample); rows_rejected = files in `rejected`. The number of samples is logged.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
from dataclasses import dataclass
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_files, run_stage
from corpusmill.jobs.stages import benchmark_index as bi
from corpusmill.schemas import contamination as contamination_schema
from corpusmill.schemas import code_files as files_schema
from corpusmill.schemas import code_samples as samples_schema
from corpusmill.udfs.code import ingest, pack
from corpusmill.udfs.code import markdown as md
from corpusmill.udfs.dedup.lsh import MinHashParams, near_duplicate_clusters
from corpusmill.udfs.ml_extra import require
from corpusmill.udfs.pii import redact as pii_redact

log = logging.getLogger("corpusmill")

FLAGS = ("binary", "generated", "vendored", "minified", "lock", "oversized", "unknown_language", "empty")
ORDERINGS = ("dependency", "depth_first")
INPUT_PREFIX = "code:"


@dataclass
class CodeConfig:
    inputs: list[str]                 # repositories: dirs, globs, .tar/.tgz/.zip, git repos, Parquet/Delta tables
    table_columns: dict[str, str]     # column names in table inputs: repo, path, content
    git_ref: str                      # commit-ish read from git repositories (committed tree, not the work tree)
    max_file_bytes: int               # larger files are flagged oversized and their content is not read
    reject: list[str]                 # flags that reject a file (see FLAGS)
    exact_dedup: bool                 # drop exact copies (content hash) across repositories
    near_dedup: bool                  # drop near copies with MinHash-LSH over code tokens
    min_dedup_bytes: int              # files smaller than this are never deduplicated
    minhash: MinHashParams            # the dedup stage's MinHash knobs, applied to code tokens
    ordering: str                     # dependency | depth_first
    max_tokens: int                   # token budget per sample
    split_to_fill: bool               # cut a file that does not fit to fill the current sample
    min_fill_split_tokens: int        # ... only when at least this many tokens are free
    pack_small: bool                  # merge small samples (small repos, tails) up to max_tokens
    pack_small_below: float           # ... samples under this fraction of max_tokens are merged
    tokenizer: str                    # HF tokenizer path or hub id; "" = <models>/code-bpe (trained if missing); regex
    tokenizer_vocab_size: int         # vocab of the BPE trained when the default tokenizer is missing
    tokenizer_train_bytes: int        # code sampled (deterministically) to train it
    file_header: str                  # per-file header template: {path} {part} {description} {language} {summary} {definitions}
    doc_header: str                   # header template of documentation files
    repo_header: str                  # sample header template: {repo} {part}
    max_group_files: int              # repository split by folder above this many files ...
    max_group_bytes: int              # ... or this many bytes
    ingest_batch_files: int           # files per Arrow batch when reading a source
    partitions: int                   # tasks for per-file work; 0 = spark.shuffle_partitions
    decontam: bool                    # drop files holding decontam.benchmarks text (benchmarks with target code)
    pii: bool                         # replace personal data in files as the pii stage does (pii section's settings)

    def __post_init__(self) -> None:
        bad = [f for f in self.reject if f not in FLAGS]
        if bad:
            raise ConfigError(f"code.reject: unknown flags {bad} (known: {', '.join(FLAGS)})")
        if self.ordering not in ORDERINGS:
            raise ConfigError(f"code.ordering: expected one of {ORDERINGS}, got {self.ordering!r}")
        if self.max_tokens < 256:
            raise ConfigError(f"code.max_tokens: must be at least 256, got {self.max_tokens}")
        if not 0 < self.pack_small_below <= 1:
            raise ConfigError(f"code.pack_small_below: expected a fraction in (0, 1], got {self.pack_small_below}")
        for key in ("repo", "path", "content"):
            if key not in self.table_columns:
                raise ConfigError(f"code.table_columns.{key}: missing")
        for key in ("file_header", "doc_header", "repo_header"):
            try:
                md.check_template(getattr(self, key), f"code.{key}")
            except ValueError as e:
                raise ConfigError(str(e)) from None
        if self.max_group_files < 1 or self.max_file_bytes < 1:
            raise ConfigError("code.max_group_files / code.max_file_bytes: must be positive")


def resolve_inputs(config: Config, inputs: list[str] | None) -> list[ingest.Source]:
    """The configured sources; `--input code:PATH,...` replaces them (other stages' inputs are ignored).

    Relative paths resolve under storage.root (as every configured path does).
    """
    cfg: CodeConfig = config.code
    chosen = [i[len(INPUT_PREFIX):] for i in (inputs or []) if i.startswith(INPUT_PREFIX)]
    key = "--input code:" if chosen else "code.inputs"
    patterns = [config.path(os.path.expanduser(p)) for p in (chosen or cfg.inputs)]
    if not patterns:
        raise ConfigError("code.inputs: no repositories configured (dirs, archives, git repos or tables)")
    sources, bad = ingest.discover_sources(patterns)
    if bad:
        raise ConfigError(f"{key}: {', '.join(bad)}: no directory, archive, git repository or table found")
    seen: dict[str, str] = {}
    for s in sources:
        if s.kind == "table":
            continue
        if s.repo in seen:
            raise ConfigError(f"{key}: two repositories named {s.repo!r} ({seen[s.repo]} and {s.path})")
        seen[s.repo] = s.path
    return sources


# ---- ingest + signals ----------------------------------------------------------------------------
def _raw_schema() -> T.StructType:
    return T.StructType([
        T.StructField("repo", T.StringType()), T.StructField("path", T.StringType()),
        T.StructField("source", T.StringType()), T.StructField("source_kind", T.StringType()),
        T.StructField("bytes", T.LongType()), T.StructField("content_hash", T.StringType()),
        T.StructField("data", T.BinaryType()), T.StructField("read_error", T.StringType())])


def _analyzed_schema() -> T.StructType:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(ingest.ANALYZED_SCHEMA)


def read_table_source(spark: SparkSession, cfg: CodeConfig, src: ingest.Source) -> DataFrame:
    c = cfg.table_columns
    path = src.path
    reader = spark.read.format("delta") if os.path.isdir(os.path.join(path, "_delta_log")) else spark.read.format("parquet")
    df = reader.load(path)
    missing = [c[k] for k in ("repo", "path", "content") if c[k] not in df.columns]
    if missing:
        raise ConfigError(f"code.table_columns: {path} has no column(s) {missing} (columns: {df.columns})")
    data = F.encode(F.col(c["content"]).cast("string"), "UTF-8")
    return df.select(
        F.col(c["repo"]).cast("string").alias("repo"), F.col(c["path"]).cast("string").alias("path"),
        F.lit(path).alias("source"), F.lit("table").alias("source_kind"),
        F.coalesce(F.octet_length(data), F.lit(0)).cast("long").alias("bytes"),
        F.sha1(data).alias("content_hash"), data.alias("data"),
        F.when(F.col(c["content"]).isNull(), F.lit("null content")).alias("read_error"))


def ingest_files(spark: SparkSession, cfg: CodeConfig, sources: list[ingest.Source], partitions: int) -> DataFrame:
    """All files of all sources, analyzed (one row each), spread over `partitions` tasks."""
    parts: list[DataFrame] = []
    streamed = [s for s in sources if s.kind != "table"]
    if streamed:
        rows = [(s.repo, s.path, s.kind) for s in streamed]
        rdd = spark.sparkContext.parallelize(rows, numSlices=len(rows))   # one source per task
        src_df = spark.createDataFrame(rdd, "repo string, path string, kind string")
        parts.append(src_df.mapInArrow(
            partial(ingest.read_sources_arrow, max_bytes=cfg.max_file_bytes, git_ref=cfg.git_ref,
                    batch_files=cfg.ingest_batch_files), _raw_schema()))
    for s in sources:
        if s.kind == "table":
            parts.append(read_table_source(spark, cfg, s))
    raw = parts[0]
    for p in parts[1:]:
        raw = raw.unionByName(p)
    raw = raw.repartition(partitions, "repo", "path")
    return raw.mapInArrow(partial(ingest.analyze_arrow, max_bytes=cfg.max_file_bytes), _analyzed_schema())


def decide(files: DataFrame, cfg: CodeConfig) -> DataFrame:
    """Add file_id, is_oversized and the flag reasons (before dedup) from config."""
    is_empty = F.col("content").isNotNull() & (F.length(F.trim(F.col("content"))) == 0)
    flags = {
        "binary": F.col("is_binary"), "generated": F.col("is_generated"), "vendored": F.col("is_vendored"),
        "minified": F.col("is_minified"), "lock": F.col("is_lock"), "oversized": F.col("is_oversized"),
        "unknown_language": F.col("language") == "unknown", "empty": is_empty,
    }
    reasons = [F.when(flags[f], F.lit(f)) for f in FLAGS if f in cfg.reject]
    reasons = F.when(F.col("read_error").isNotNull(), F.array(F.lit("unreadable"))).otherwise(
        F.filter(F.array(*reasons), lambda x: x.isNotNull()) if reasons else F.array().cast("array<string>"))
    return (files
            .withColumn("file_id", F.substring(F.sha1(F.concat_ws("\u0000", "repo", "path")), 1, 32))
            .withColumn("is_oversized", F.col("bytes") > F.lit(cfg.max_file_bytes))
            .withColumn("reasons", reasons))


def redact_files(files: DataFrame, config: Config) -> DataFrame:
    """code.pii: personal data in file contents replaced by the pii section's placeholders; pii_finds counts it."""
    from pyspark.sql.functions import pandas_udf

    p = config.pii
    settings, placeholders = p.settings(), dict(p.placeholders)

    @pandas_udf("struct<content:string, pii_finds:int>")
    def _redact(content):
        import pandas as pd

        out, n = [], []
        for text in content.tolist():
            finds = pii_redact.scan(text, settings) if text else []
            out.append(pii_redact.redact(text, finds, placeholders) if finds else text)
            n.append(len(finds))
        return pd.DataFrame({"content": out, "pii_finds": n})

    r = _redact("content")
    return files.withColumn("_p", r).withColumn("content", F.col("_p.content")).withColumn(
        "pii_finds", F.col("_p.pii_finds")).drop("_p")


def benchmark_matches(spark: SparkSession, files: DataFrame, config: Config, enabled: bool) -> DataFrame:
    """code.decontam: every readable file checked against the benchmarks with target code; files with at least
    decontam.min_ngrams matched n-grams get the reason contamination:<benchmark> (null columns when off)."""
    none = (files.withColumn("benchmark", F.lit(None).cast("string"))
            .withColumn("benchmark_ngrams", F.lit(None).cast("int"))
            .withColumn("benchmark_items", F.lit(None).cast(files_schema.TABLE.schema["benchmark_items"].dataType)))
    if not enabled or not bi.specs_for(config, "code"):
        return none
    index = bi.build_index(spark, config, "code")
    min_ngrams = config.decontam.min_ngrams
    cand = files.where(F.col("content").isNotNull())
    matches = (bi.match_rows(spark, cand, index, min_ngrams, id_col="file_id", text_col="content")
               .where(F.col("matched_ngrams") >= min_ngrams)
               .select(F.col("id").alias("file_id"), F.col("benchmark").alias("_b"),
                       F.col("matched_ngrams").alias("_n"), F.col("items").alias("_items")))
    return (none.join(matches, "file_id", "left")
           .withColumn("benchmark", F.col("_b")).withColumn("benchmark_ngrams", F.col("_n"))
           .withColumn("benchmark_items", F.col("_items"))
           .withColumn("reasons", F.when(F.col("_b").isNotNull(), F.array_union(
               "reasons", F.array(F.concat(F.lit("contamination:"), F.col("_b"))))).otherwise(F.col("reasons")))
           .drop("_b", "_n", "_items"))


def contamination_rows(written: DataFrame) -> DataFrame:
    """(benchmark item, code file) pairs for the `contamination` table (stage code)."""
    hit = written.where(F.col("benchmark").isNotNull())
    return hit.select(F.lit("code").alias("stage"), F.explode("benchmark_items").alias("it"), F.col("file_id").alias("doc_id"),
                      F.col("benchmark_ngrams").alias("doc_matched_ngrams"), F.lit("dropped").alias("action"),
                      F.concat_ws(":", "repo", "path").alias("url")).select(
        "stage", F.col("it.benchmark").alias("benchmark"), F.col("it.item_id").alias("item_id"), "doc_id",
        F.col("it.ngrams").alias("matched_ngrams"), "doc_matched_ngrams", "action", "url")


def dedup(spark: SparkSession, files: DataFrame, cfg: CodeConfig, ctx: StageRun) -> DataFrame:
    """Mark duplicate paths, exact copies and near copies; adds duplicate_of / duplicate_kind."""
    from pyspark.sql import Window

    w_path = Window.partitionBy("repo", "path").orderBy("content_hash", "source")
    files = files.withColumn("_path_rank", F.row_number().over(w_path))
    files = files.withColumn("reasons", F.when(F.col("_path_rank") > 1, F.array_union("reasons", F.array(F.lit("duplicate_path"))))
                             .otherwise(F.col("reasons"))).drop("_path_rank")
    files = files.withColumn("duplicate_of", F.lit(None).cast("string")).withColumn(
        "duplicate_kind", F.lit(None).cast("string"))
    eligible = (F.size("reasons") == 0) & F.col("content").isNotNull() & (F.col("bytes") >= cfg.min_dedup_bytes)
    if cfg.exact_dedup:
        ctx.describe("exact file dedup (content hash)")
        ranked = files.withColumn("_elig", eligible)
        first = F.first(F.when(F.col("_elig"), F.col("file_id")), ignorenulls=True).over(
            Window.partitionBy("content_hash", "_elig").orderBy("repo", "path")
            .rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing))
        ranked = ranked.withColumn("_first", first).withColumn("_rank", F.row_number().over(
            Window.partitionBy("content_hash", "_elig").orderBy("repo", "path")))
        is_dup = F.col("_elig") & (F.col("_rank") > 1)
        files = (ranked
                 .withColumn("duplicate_of", F.when(is_dup, F.col("_first")))
                 .withColumn("duplicate_kind", F.when(is_dup, F.lit("exact")))
                 .withColumn("reasons", F.when(is_dup, F.array_union("reasons", F.array(F.lit("exact_duplicate"))))
                             .otherwise(F.col("reasons")))
                 .drop("_elig", "_first", "_rank"))
    if cfg.near_dedup:
        ctx.describe("near-duplicate file dedup (MinHash-LSH over code tokens)")
        files = files.checkpoint(eager=True)      # the LSH reads its input several times
        cand = files.where(eligible).select("file_id", "content")
        clusters = near_duplicate_clusters(spark, cand, id_col="file_id", text_col="content", params=cfg.minhash,
                                           tokenizer="code")
        multi = clusters.where(F.col("cluster_size") > 1).join(files.select("file_id", "repo", "path"), "file_id")
        wc = Window.partitionBy("cluster_id").orderBy("repo", "path")
        keepers = (multi.withColumn("_rank", F.row_number().over(wc))
                   .withColumn("_first", F.first("file_id").over(wc.rowsBetween(Window.unboundedPreceding, 0)))
                   .where(F.col("_rank") > 1).select("file_id", F.col("_first").alias("_near_of")))
        files = files.join(keepers, "file_id", "left")
        is_near = F.col("_near_of").isNotNull()
        files = (files.withColumn("duplicate_of", F.when(is_near, F.col("_near_of")).otherwise(F.col("duplicate_of")))
                 .withColumn("duplicate_kind", F.when(is_near, F.lit("near")).otherwise(F.col("duplicate_kind")))
                 .withColumn("reasons", F.when(is_near, F.array_union("reasons", F.array(F.lit("near_duplicate"))))
                             .otherwise(F.col("reasons")))
                 .drop("_near_of"))
    return files.withColumn("keep", F.size("reasons") == 0)


def rejected_rows(files: DataFrame) -> DataFrame:
    detail = F.concat_ws("; ", F.concat_ws(",", "reasons"),
                         F.when(F.col("duplicate_of").isNotNull(), F.concat(F.lit("duplicate_of="), F.col("duplicate_of"))),
                         F.col("read_error"))
    return files.where(~F.col("keep")).select(
        F.col("file_id").alias("doc_id"), F.col("reasons")[0].alias("reason"), detail.alias("detail"),
        F.col("source").alias("source_file"), F.concat_ws(":", "repo", "path").alias("source_record"))


# ---- tokenizer -----------------------------------------------------------------------------------
def default_tokenizer_dir(config: Config) -> str:
    return config.path(config.storage.models.rstrip("/") + "/code-bpe")


def _read_tokenizer_json(path: str) -> str | None:
    f = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
    if os.path.isfile(f) and f.endswith(".json"):
        with open(f, encoding="utf-8") as fh:
            return fh.read()
    return None


def train_default_tokenizer(spark: SparkSession, config: Config, kept: DataFrame) -> str:
    """Byte-level BPE trained on a deterministic sample of the kept code (bounded bytes on the driver)."""
    cfg: CodeConfig = config.code
    sample = (kept.where(F.col("bytes") <= 65536)
              .select("file_id", "content", "bytes")
              .orderBy("file_id").limit(max(1, cfg.tokenizer_train_bytes // 2048)).collect())
    texts, used = [], 0
    for r in sample:
        if used >= cfg.tokenizer_train_bytes:
            break
        texts.append(r["content"])
        used += r["bytes"]
    if not texts:
        raise ConfigError("code.tokenizer: no code to train the default tokenizer on; set code.tokenizer")
    out = default_tokenizer_dir(config)
    log.info("[code] training byte-level BPE (vocab %d) on %d files, %d bytes -> %s",
             cfg.tokenizer_vocab_size, len(texts), used, out)
    return pack.train_bpe(texts, out, vocab_size=cfg.tokenizer_vocab_size)


def resolve_tokenizer(spark: SparkSession, config: Config, kept: DataFrame | None) -> tuple[str, str]:
    """(spec, name): spec is a tokenizer.json string (or 'regex'), name says which tokenizer it is."""
    cfg: CodeConfig = config.code
    t = cfg.tokenizer.strip()
    if t == pack.REGEX_TOKENIZER:
        return t, f"regex@{hashlib.sha1(pack._REGEX.pattern.encode()).hexdigest()[:12]}"
    if not t:
        spec = _read_tokenizer_json(default_tokenizer_dir(config))
        if spec is None:
            if kept is None:
                raise ConfigError(f"code.tokenizer: no tokenizer at {default_tokenizer_dir(config)}")
            spec = train_default_tokenizer(spark, config, kept)
        name = "code-bpe"
    else:
        spec = None
        for cand in (t, config.path(t)):
            if os.path.exists(cand):
                spec = _read_tokenizer_json(cand)
                if spec is None:
                    raise ConfigError(f"code.tokenizer: {cand} has no tokenizer.json (a fast Hugging Face tokenizer)")
                break
        if spec is None:
            require(f"code.tokenizer {t!r} (a hub id; a path to a tokenizer.json needs no ML extra)", ("transformers",))
            try:
                from transformers import AutoTokenizer

                hf = AutoTokenizer.from_pretrained(t)
            except Exception as e:
                raise ConfigError(f"code.tokenizer: cannot load {t!r} as a path or hub id "
                                  f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
            if not getattr(hf, "is_fast", False):
                raise ConfigError(f"code.tokenizer: {t!r} is not a fast tokenizer (needs tokenizer.json)")
            spec = hf.backend_tokenizer.to_str()
        name = t
    return spec, f"{name}@{hashlib.sha1(spec.encode()).hexdigest()[:12]}"


# ---- grouping, packing ---------------------------------------------------------------------------
def assign_subtrees(kept: DataFrame, cfg: CodeConfig) -> DataFrame:
    """(file_id, subtree): '' for repositories under the caps, else the shallowest folder prefix
    (depth 1..3) whose files fit the caps, else that depth-3 folder split into hash buckets."""
    parts = F.split("path", "/")

    def prefix(depth: int):
        return F.when(F.size(parts) > depth, F.array_join(F.slice(parts, 1, depth), "/")).otherwise(F.lit(""))

    base = kept.select("file_id", "repo", "path", "bytes").withColumns(
        {f"_d{d}": prefix(d) for d in (1, 2, 3)}).withColumn("_d0", F.lit(""))
    fits = {}
    for d in (0, 1, 2, 3):
        agg = base.groupBy("repo", f"_d{d}").agg(F.count(F.lit(1)).alias(f"_n{d}"), F.sum("bytes").alias(f"_b{d}"))
        base = base.join(agg, ["repo", f"_d{d}"])
        fits[d] = (F.col(f"_n{d}") <= cfg.max_group_files) & (F.col(f"_b{d}") <= cfg.max_group_bytes)
    buckets = F.greatest(F.ceil(F.col("_n3") / cfg.max_group_files), F.ceil(F.col("_b3") / cfg.max_group_bytes))
    bucket = F.pmod(F.xxhash64("path"), buckets.cast("long"))
    subtree = (F.when(fits[0], F.lit("")).when(fits[1], F.col("_d1")).when(fits[2], F.col("_d2"))
               .when(fits[3], F.col("_d3"))
               .otherwise(F.concat(F.col("_d3"), F.lit("#"), bucket.cast("string"))))
    return base.select("file_id", subtree.alias("subtree"))


def _pack_options(cfg: CodeConfig) -> pack.PackOptions:
    return pack.PackOptions(max_tokens=cfg.max_tokens, split_to_fill=cfg.split_to_fill,
                            min_fill_split_tokens=cfg.min_fill_split_tokens, file_header=cfg.file_header,
                            doc_header=cfg.doc_header, repo_header=cfg.repo_header)


def build_samples(spark: SparkSession, config: Config, kept: DataFrame, spec: str, name: str) -> DataFrame:
    cfg: CodeConfig = config.code
    per_repo = kept.groupBy("repo").agg(F.count(F.lit(1)).alias("n"), F.sum("bytes").alias("b"))
    biggest = per_repo.agg(F.max("n"), F.max("b")).first()
    if (biggest[0] or 0) <= cfg.max_group_files and (biggest[1] or 0) <= cfg.max_group_bytes:
        rows = kept.withColumn("subtree", F.lit(""))      # no repository needs splitting: skip the joins
    else:
        rows = kept.join(assign_subtrees(kept, cfg), "file_id")
    rows = rows.select("repo", "subtree", "path", "language", "is_doc", "content", "summary",
                                            "definitions", "imports")
    bspec = spark.sparkContext.broadcast(spec)
    opt = _pack_options(cfg)
    schema = samples_schema.SCHEMA

    def pack_fn(pdf):
        return pack.pack_group_frame(pdf, tokenizer_spec=bspec.value, tokenizer_name=name, ordering=cfg.ordering,
                                     opt=opt)

    samples = rows.groupBy("repo", "subtree").applyInPandas(pack_fn, schema)
    if not cfg.pack_small:
        return samples
    samples = samples.checkpoint(eager=True)
    small_cond = (F.col("token_count") < F.lit(cfg.pack_small_below * cfg.max_tokens)) & (
        (F.col("kind") == "whole") | (F.col("sample_index") == F.col("num_samples") - 1))
    small = samples.where(small_cond)
    big = samples.where(~small_cond)
    total = small.agg(F.sum("text_bytes")).first()[0] or 0
    n_buckets = max(1, math.ceil(total / (64 << 20)))
    max_tokens = cfg.max_tokens

    def merge_fn(pdf):
        return pack.merge_small_frame(pdf.drop(columns=["_bucket"]), tokenizer_spec=bspec.value, max_tokens=max_tokens)

    merged = (small.withColumn("_bucket", F.pmod(F.xxhash64("repo"), F.lit(n_buckets)))
              .groupBy("_bucket").applyInPandas(merge_fn, schema))
    return big.unionByName(merged)


# ---- the stage -----------------------------------------------------------------------------------
def _git_commit(path: str, ref: str) -> str:
    import subprocess

    gd = os.path.join(path, ".git") if os.path.isdir(os.path.join(path, ".git")) else path
    res = subprocess.run(["git", "-c", "safe.directory=*", f"--git-dir={gd}", "rev-parse", "--verify", "-q",
                          ref + "^{commit}"], capture_output=True, text=True)
    return res.stdout.strip() or "unresolved"


def input_fingerprint(spark: SparkSession, cfg: CodeConfig, sources: list[ingest.Source]) -> str:
    """Files' paths/sizes/mtimes for dirs, archives and tables; the resolved commit for git repositories
    (so edits to a work tree that were not committed do not force a re-run)."""
    items = [f"git:{s.path}@{_git_commit(s.path, cfg.git_ref)}" for s in sources if s.kind == "git"]
    others = [s.path for s in sources if s.kind != "git"]
    if others:
        items.append(fingerprint_files(spark, others)[1])
    items += [f"{s.kind}:{s.path}" for s in sources]
    return fingerprint(items)


def settings_fingerprint(config: Config) -> list[str]:
    """What the code stage reads from other sections: the code benchmarks and n-gram settings (code.decontam),
    the pii settings (code.pii)."""
    cfg: CodeConfig = config.code
    out = []
    if cfg.decontam:
        out.append(f"decontam:{bi.files_fingerprint(config, 'code')}:{config.decontam.min_ngrams}")
    if cfg.pii:
        out.append(f"pii:{config.section_hash('pii')}")
    return out


def check(config: Config) -> None:
    """With code.decontam, the code benchmarks' files exist and have their fields (preflight, before Spark)."""
    if "code" in config.sections and config.code.decontam:
        bi.check(config, "code")


def run(spark: SparkSession, config: Config, *, force: bool = False, inputs: list[str] | None = None,
        run_id: str | None = None) -> StageResult:
    if "code" not in config.sections:
        raise ConfigError("code: section missing from the config")
    cfg: CodeConfig = config.code
    if not cfg.inputs and not any(i.startswith(INPUT_PREFIX) for i in (inputs or [])):
        log.warning("[code] no repositories to read (code.inputs, or --input code:PATH): skipped")
        return StageResult("code", "skipped")
    sources = resolve_inputs(config, inputs)
    paths = [s.path for s in sources]
    check(config)
    fp = fingerprint([input_fingerprint(spark, cfg, sources), *settings_fingerprint(config)])
    partitions = cfg.partitions or config.spark.shuffle_partitions

    def body(ctx: StageRun) -> Counts:
        ctx.describe(f"ingest {len(sources)} sources and compute file signals")
        files = decide(ingest_files(spark, cfg, sources, partitions), cfg)
        files = redact_files(files, config) if cfg.pii else files.withColumn("pii_finds", F.lit(None).cast("int"))
        if cfg.decontam:
            ctx.describe("check files against the code benchmarks")
        files = benchmark_matches(spark, files, config, cfg.decontam)
        files = dedup(spark, files, cfg, ctx)
        version = ctx.write_output(files_schema.TABLE, files)
        written = tableio.read_table(spark, config, files_schema.TABLE.name)
        if cfg.decontam:
            ctx.write_output(contamination_schema.TABLE, contamination_rows(written), replace_where="stage = 'code'")
        rows_in = ctx.rows_written(files_schema.TABLE.name)
        n_rej = ctx.write_rejected(rejected_rows(written))
        kept = written.where("keep")
        ctx.describe("tokenizer")
        spec, name = resolve_tokenizer(spark, config, kept)
        ctx.describe(f"order ({cfg.ordering}) and pack into {cfg.max_tokens}-token samples")
        samples = build_samples(spark, config, kept, spec, name)
        ctx.write_output(samples_schema.TABLE, samples)
        n_samples = ctx.rows_written(samples_schema.TABLE.name)
        n_kept = rows_in - n_rej            # every file is kept or rejected (keep is never null)
        log.info("[code] %d files in, %d kept, %d rejected; %d samples (tokenizer %s)", rows_in, n_kept, n_rej,
                 n_samples, name)
        return Counts(rows_in, n_kept, n_rej, version)

    return run_stage(spark, config, "code", inputs=paths, input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """code_samples token_count / fill against the packing budget (code.max_tokens), for the report."""
    if "code" not in config.sections:
        return {}
    budget = config.code.max_tokens
    lines = {"token_count": [(float(budget), f"max_tokens {budget:,} (budget)")],
             "fill": [(1.0, "budget (fill 1.0)")]}
    if config.code.pack_small:
        lines["fill"].append((config.code.pack_small_below, f"pack_small_below {config.code.pack_small_below:g}"))
    return {"code_samples": lines}


def _submit_args(argv: list[str]) -> list[str]:
    """spark-submit jobs/stages/code_repos.py --input REPOS: the inputs are repositories (code: prefix)."""
    argv = list(argv)
    for i, a in enumerate(argv):
        if a == "--input" and i + 1 < len(argv):
            argv[i + 1] = ",".join(x if x.startswith(INPUT_PREFIX) else INPUT_PREFIX + x for x in argv[i + 1].split(","))
    return argv


STAGE = Stage(
    name="code",
    order=70,
    summary="repositories -> filtered, deduplicated files -> ordered 32K-token samples",
    section=CodeConfig,
    run=run,
    inputs=("files",),
    outputs=("code_files", "code_samples"),
    check=check,
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/code_repos.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("code", _submit_args(sys.argv[1:])))
