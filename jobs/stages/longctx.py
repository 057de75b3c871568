"""`longctx` stage: select long-context training documents (InternLM2 §3.1, LongWanjuan, CCNet).

1. Length selection: documents at or over `min_length` (bytes, or SentencePiece tokens) per source
   type and language are the candidates. Shorter documents are not rejected from the corpus, they
   are just not long-context candidates: rows_in counts candidates only, and the number left out
   is logged as `not_selected`. So rows_in == rows_out + rows_rejected over candidates.
2. Signals (stored first, in `longctx_signals`): LongWanjuan statistics, CCNet KenLM perplexity per
   paragraph and document, and the conditional-perplexity coherence signal (udfs/longctx/coherence.py).
3. Decisions from per-source-type / per-language thresholds in config: `keep`, `reasons`; dropped
   candidates go to `rejected`, kept ones to `longctx`.

    spark-submit jobs/stages/longctx.py --conf FILE     # run the stage
    corpusmill borderline --conf FILE                    # documents nearest each threshold (jobs/tools/borderline.py)
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_tables, run_stage
from corpusmill.jobs.training.train_causal_lm import CausalTrainConfig, default_model_dir
from corpusmill.jobs.training.train_lm import models_dir
from corpusmill.schemas import longctx as longctx_schema
from corpusmill.schemas import longctx_signals as signals_schema
from corpusmill.udfs.longctx.causal_lm import CausalLMSpec, check_model, resolved
from corpusmill.udfs.longctx.perplexity import has_model, model_paths
from corpusmill.udfs.longctx.stats import SignalParams, signals_mapper
from corpusmill.udfs.ml_extra import require
from corpusmill.udfs.model_files import is_remote, ship

log = logging.getLogger("corpusmill")

SCORERS = ("causal_lm", "kenlm_cache")
ARROW_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"


@dataclass
class CoherenceConfig:
    scorer: str                    # causal_lm (udfs/longctx/causal_lm.py) | kenlm_cache (udfs/longctx/coherence.py)
    model: str                     # causal_lm: HF directory or hub id; "" = <storage.models>/causal-lm
    device: str                    # causal_lm: auto | cpu | cuda
    precision: str                 # causal_lm: auto | fp32 | fp16 | bf16
    batch_size: int                # causal_lm: sequences per forward pass
    local_files_only: bool         # causal_lm: never download from the hub
    threads: int                   # causal_lm: torch CPU threads per worker; 0 = the task's CPUs
    chunk_tokens: int              # LongWanjuan chunk (4,096)
    target_tokens: int             # scored tail of each chunk (1,024)
    short_context_tokens: int      # context of the "without" score (1,024)
    stride_tokens: int             # step between chunks; 0 = chunk_tokens (non-overlapping)
    cache_weight: float            # weight of the context cache against the n-gram
    max_chunks: int                # chunks scored per document at most


@dataclass
class LMConfig:
    kenlm_bin_dir: str             # where lmplz/build_binary are; "" = $CORPUSMILL_KENLM_BIN, $CORPUSMILL_CACHE/bin, PATH
    vocab_size: int
    order: int
    memory: str                    # lmplz -S
    max_lines: int


@dataclass
class LongCtxConfig:
    input_tables: list[str]
    length_unit: str
    min_length: dict[str, int]
    models_dir: str
    languages: list[str]
    require_lm: bool
    bucket_percentiles: list[float]
    max_paragraph_chars: int
    max_paragraph_scores: int
    batch_rows: int
    borderline_rows: int
    coherence: CoherenceConfig
    lm: LMConfig
    causal_lm: CausalTrainConfig
    thresholds: dict[str, dict[str, float]]

    def __post_init__(self) -> None:
        if self.length_unit not in ("bytes", "tokens"):
            raise ConfigError(f"longctx.length_unit: expected bytes or tokens, got {self.length_unit!r}")
        if "*" not in self.min_length:
            raise ConfigError("longctx.min_length: needs a '*' entry (the default length threshold)")
        for k in self.min_length:
            _check_selector(k, "longctx.min_length")
        known = set(signals_schema.THRESHOLD_SIGNALS)
        for sel, limits in self.thresholds.items():
            _check_selector(sel, "longctx.thresholds")
            for name in limits:
                kind, _, signal = name.partition("_")
                if kind not in ("min", "max") or signal not in known:
                    raise ConfigError(f"longctx.thresholds.{sel}.{name}: unknown threshold (min_<signal> or "
                                      f"max_<signal>; signals: {', '.join(sorted(known))})")
        p = self.bucket_percentiles
        if len(p) != 2 or not (0 < p[0] < p[1] < 100):
            raise ConfigError(f"longctx.bucket_percentiles: expected two increasing percentiles in (0, 100), got {p}")
        co = self.coherence
        if co.scorer not in SCORERS:
            raise ConfigError(f"longctx.coherence.scorer: expected one of {', '.join(SCORERS)}, got {co.scorer!r}")
        if co.batch_size < 1:
            raise ConfigError(f"longctx.coherence.batch_size: must be >= 1, got {co.batch_size}")
        if co.target_tokens + co.short_context_tokens >= co.chunk_tokens:
            raise ConfigError("longctx.coherence.chunk_tokens: must exceed target_tokens + short_context_tokens")
        if not 0 < co.cache_weight < 1:
            raise ConfigError(f"longctx.coherence.cache_weight: expected a value in (0, 1), got {co.cache_weight}")
        if co.stride_tokens < 0 or co.max_chunks < 1 or self.batch_rows < 1:
            raise ConfigError("longctx.coherence.stride_tokens / max_chunks / longctx.batch_rows: must be positive")


def _check_selector(key: str, where: str) -> None:
    parts = key.split("/")
    if not key or len(parts) > 2 or any(not p for p in parts) or (len(parts) == 2 and parts[1] == "*"):
        raise ConfigError(f"{where}.{key}: bad selector (use *, <source_type>, */<language> or "
                          f"<source_type>/<language>)")


def check_models(config: Config, spark: SparkSession | None = None) -> str:
    """The models dir, after checking every configured language has its two model files and, with the
    causal_lm coherence scorer, that its causal LM can be loaded. Models on another file system
    (s3a://, hdfs://) are shipped to every node first, so without a session they are checked later."""
    d = models_dir(config)
    causal = causal_spec(config) if config.longctx.coherence.scorer == "causal_lm" else None
    if causal is not None:
        require("longctx.coherence.scorer: causal_lm (kenlm_cache needs no ML extra)")
    if spark is None and (is_remote(d) or (causal and is_remote(causal.model))):
        return d
    for remote in [m for m in (d, causal.model if causal else "") if is_remote(m)]:
        ship(spark, remote)
    missing = [lang for lang in config.longctx.languages if not all(p.is_file() for p in model_paths(d, lang))]
    problems = []
    if missing:
        problems.append(f"longctx.languages: no KenLM model for {', '.join(missing)} in {d}: build each with "
                        f"`corpusmill train-lm --lang {missing[0]} --text FILE`, set longctx.models_dir, or leave "
                        f"longctx out of --stages")
    if causal is not None:
        try:
            check_model(causal, "longctx.coherence.model")
        except ConfigError as e:
            problems.append(f"{e}; or `longctx.coherence.scorer: kenlm_cache` (no causal LM)")
    if problems:
        raise ConfigError("; and ".join(problems))
    return d


def causal_spec(config: Config):
    """The causal LM spec of longctx.coherence (model path resolved against storage.root)."""
    co = config.longctx.coherence
    return resolved(CausalLMSpec(
        model=default_model_dir(config), device=co.device, precision=co.precision, batch_size=co.batch_size,
        chunk_tokens=co.chunk_tokens, target_tokens=co.target_tokens, short_context_tokens=co.short_context_tokens,
        stride_tokens=co.stride_tokens, max_chunks=co.max_chunks, local_files_only=co.local_files_only,
        threads=co.threads))


# ---- selector expressions -------------------------------------------------------------------------
def _selector_order(keys) -> list[str]:
    """Most specific first: source/lang, source, */lang, *."""
    def rank(k: str) -> int:
        src, _, lang = k.partition("/")
        return 0 if (src != "*" and lang) else 1 if src != "*" else 2 if lang else 3
    return sorted(keys, key=lambda k: (rank(k), k))


def _selector_match(key: str) -> Column:
    src, _, lang = key.partition("/")
    cond = F.lit(True)
    if src != "*":
        cond = cond & (F.col("source_type") == src)
    if lang:
        cond = cond & (F.col("language") == lang)
    return cond


def resolve(values: dict[str, float]) -> tuple[Column, Column]:
    """(value, selector) of the most specific selector that matches each row (null when none)."""
    val, sel = None, None
    for k in reversed(_selector_order(values)):     # least specific first, so specific ones wrap them
        v = values[k]
        val = F.when(_selector_match(k), F.lit(v)).otherwise(val if val is not None else F.lit(None))
        sel = F.when(_selector_match(k), F.lit(k)).otherwise(sel if sel is not None else F.lit(None))
    return (val if val is not None else F.lit(None)), (sel if sel is not None else F.lit(None).cast("string"))


def threshold_names(config: Config) -> list[str]:
    return sorted({n for limits in config.longctx.thresholds.values() for n in limits})


def _threshold_expr(config: Config, name: str) -> tuple[Column, Column]:
    per_sel = {sel: limits[name] for sel, limits in config.longctx.thresholds.items() if name in limits}
    val, sel = resolve(per_sel)
    return val.cast("double"), sel


# ---- decisions ------------------------------------------------------------------------------------
def decide(signals: DataFrame, config: Config, cutoffs: dict[str, tuple[float, float]]) -> DataFrame:
    """Add ppl_bucket, keep, reasons and reason_detail to the signals with Spark expressions."""
    bucket = F.lit(None).cast("string")
    for lang, (lo, hi) in sorted(cutoffs.items()):
        b = (F.when(F.col("doc_perplexity") < lo, "head").when(F.col("doc_perplexity") < hi, "middle")
             .otherwise("tail"))
        bucket = F.when((F.col("language") == lang) & F.col("doc_perplexity").isNotNull(), b).otherwise(bucket)
    reasons, details = [], []
    status = F.col("lm_status")
    if config.longctx.require_lm:
        nolm = (status == "no_model") | (status == "empty")
        reasons.append(F.when(nolm, F.lit("no_lm_model")))
        details.append(F.when(nolm, F.concat(F.lit("no_lm_model: lm_status="), status,
                                              F.lit(", language="), F.coalesce(F.col("language"), F.lit("null")))))
    err = status.startswith("error")
    reasons.append(F.when(err, F.lit("signal_error")))
    details.append(F.when(err, F.concat(F.lit("signal_error: "), status)))
    for name in threshold_names(config):
        kind, _, signal = name.partition("_")
        limit, sel = _threshold_expr(config, name)
        value = F.col(signal).cast("double")
        fail = limit.isNotNull() & value.isNotNull() & ((value < limit) if kind == "min" else (value > limit))
        reasons.append(F.when(fail, F.lit(name)))
        details.append(F.when(fail, F.format_string(f"{name}: %.4g {'<' if kind == 'min' else '>'} %.4g [%s]",
                                                     value, limit, sel)))
    reasons_col = F.filter(F.array(*reasons), lambda x: x.isNotNull())
    return (signals.withColumn("ppl_bucket", bucket)
            .withColumn("reasons", reasons_col)
            .withColumn("keep", F.size("reasons") == 0)
            .withColumn("reason_detail", F.concat_ws("; ", *details)))


def bucket_cutoffs(signals: DataFrame, config: Config) -> dict[str, tuple[float, float]]:
    """Per-language doc-perplexity percentiles of this run (a tiny aggregate, one row per language)."""
    lo, hi = (p / 100.0 for p in config.longctx.bucket_percentiles)
    rows = (signals.where(F.col("doc_perplexity").isNotNull())
            .groupBy("language").agg(F.percentile_approx("doc_perplexity", [lo, hi], 10000).alias("q"))
            .collect())
    return {r["language"]: (float(r["q"][0]), float(r["q"][1])) for r in rows if r["language"] is not None}


# ---- the stage ----------------------------------------------------------------------------------------
def signal_params(config: Config, models_dir: str):
    c, co = config.longctx, config.longctx.coherence
    return SignalParams(
        models_dir=models_dir,
        model_languages=tuple(l for l in c.languages if has_model(models_dir, l)),
        max_paragraph_chars=c.max_paragraph_chars, max_paragraph_scores=c.max_paragraph_scores,
        chunk_tokens=co.chunk_tokens, target_tokens=co.target_tokens,
        short_context_tokens=co.short_context_tokens, cache_weight=co.cache_weight, max_chunks=co.max_chunks,
        stride_tokens=co.stride_tokens, coherence_scorer=co.scorer,
        causal=causal_spec(config) if co.scorer == "causal_lm" else None,
    )


def compute_signals(spark: SparkSession, config: Config, candidates: DataFrame, models_dir: str) -> DataFrame:
    """Run the scoring UDF (mapInArrow) over the candidates, spread evenly over the cluster."""
    passthrough = [c.name for c in signals_schema.POINTERS]
    n_parts = max(spark.sparkContext.defaultParallelism, config.spark.shuffle_partitions)
    src = candidates.select(*passthrough, "text").repartition(n_parts, "doc_id")
    return src.mapInArrow(signals_mapper(signal_params(config, models_dir), passthrough, signals_schema.UDF_SCHEMA),
                          signals_schema.UDF_SCHEMA)


def run(spark: SparkSession, config: Config, *, force: bool = False, inputs=None, run_id=None) -> StageResult:
    models_dir = check_models(config, spark)
    c = config.longctx
    src_name = tableio.first_existing(spark, config, c.input_tables)

    def body(ctx: StageRun) -> Counts:
        docs = tableio.read_table(spark, config, src_name)
        min_len, _ = resolve({k: float(v) for k, v in c.min_length.items()})
        # bytes: the threshold itself; tokens: a safe pre-filter (a token is at least one byte)
        candidates = docs.where(F.col("text_bytes") >= min_len)
        ctx.describe("compute long-context signals (statistics, KenLM perplexity, coherence)")
        old_batch = spark.conf.get(ARROW_BATCH_CONF, None)
        spark.conf.set(ARROW_BATCH_CONF, str(c.batch_rows))
        signals = compute_signals(spark, config, candidates, models_dir)
        if c.length_unit == "tokens":
            n_tok = F.coalesce(F.col("n_lm_tokens"), F.col("text_bytes"))
            signals = signals.where(n_tok >= min_len)
        signals = signals.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            rows_in = signals.count()
            n_docs = docs.count()
            log.info("[longctx] %d candidates of %d documents; %d not_selected (under min_length)",
                     rows_in, n_docs, n_docs - rows_in)
            ctx.describe("perplexity buckets per language")
            cutoffs = bucket_cutoffs(signals, config)
            decided = decide(signals, config, cutoffs)
            ctx.write_output(signals_schema.TABLE, decided)
            stored = tableio.read_table(spark, config, signals_schema.TABLE.name)
            kept = stored.where("keep").select("doc_id", "n_lm_tokens", "doc_perplexity", "ppl_bucket",
                                               "coh_ppl_ratio", "coh_n_chunks")
            out = candidates.join(kept, "doc_id")
            version = ctx.write_output(longctx_schema.TABLE, out)
            rows_out = ctx.rows_written(longctx_schema.TABLE.name)
            dropped = stored.where(~F.col("keep")).select(
                "doc_id", F.col("reasons")[0].alias("reason"), F.col("reason_detail").alias("detail"),
                "source_file", "source_record", "url", "dump")
            n_rej = ctx.write_rejected(dropped)
        finally:
            signals.unpersist()
            if old_batch is None:
                spark.conf.unset(ARROW_BATCH_CONF)
            else:
                spark.conf.set(ARROW_BATCH_CONF, old_batch)
        return Counts(rows_in, rows_out, n_rej, version)

    models_fp = _models_fingerprint(models_dir, c.languages, config)
    return run_stage(spark, config, "longctx", inputs=[src_name],
                     input_fingerprint=fingerprint([fingerprint_tables(spark, config, [src_name]), models_fp]),
                     body=body, force=force, run_id=run_id)


def _models_fingerprint(models_dir: str, languages: list[str], config: Config) -> str:
    """Re-run the stage when a model file changes (path + size + mtime), the causal LM's files included."""
    import os

    items = _stat_items(p for lang in languages for p in model_paths(models_dir, lang))
    if config.longctx.coherence.scorer == "causal_lm":
        d = causal_spec(config).model
        if os.path.isdir(d):
            items += _stat_items(sorted(os.path.join(d, f) for f in os.listdir(d)
                                        if os.path.isfile(os.path.join(d, f))))
        else:
            items.append(f"hub:{d}")                 # a hub id: its name is what we can fingerprint
    return fingerprint(items)


def _stat_items(paths) -> list[str]:
    import os

    return [f"{p}|{os.stat(p).st_size}|{int(os.stat(p).st_mtime)}" for p in paths]


def report_thresholds(config: Config) -> dict[str, dict[str, float]]:
    """{longctx_signals: {signal: limit}} for the report's histograms: the '*' selector's limits (the
    ones every document meets unless a more specific selector overrides them)."""
    base = config.longctx.thresholds.get("*", {})
    return {signals_schema.TABLE.name: {name.partition("_")[2]: float(v) for name, v in base.items()}}


# ---- borderline view -----------------------------------------------------------------------------------
def borderline(spark: SparkSession, config: Config, n: int | None = None, excerpt_chars: int = 300) -> DataFrame:
    """Per threshold, the n candidates whose signal is nearest to the limit (both sides), with an
    excerpt of the text, for tuning thresholds by inspection."""
    from pyspark.sql.window import Window

    n = n or config.longctx.borderline_rows
    sig = tableio.read_table(spark, config, signals_schema.TABLE.name)
    parts = []
    for name in threshold_names(config):
        kind, _, signal = name.partition("_")
        limit, sel = _threshold_expr(config, name)
        value = F.col(signal).cast("double")
        parts.append(sig.select(
            F.lit(name).alias("threshold"), sel.alias("selector"), limit.alias("limit"), value.alias("value"),
            (F.abs(value - limit) / F.greatest(F.abs(limit), F.lit(1e-9))).alias("distance"),
            F.when((value < limit) if kind == "min" else (value > limit), "fails").otherwise("passes").alias("side"),
            "keep", "doc_id", "source_type", "language").where(F.col("limit").isNotNull() & F.col("value").isNotNull()))
    if not parts:
        return spark.createDataFrame([], "threshold string")
    allp = parts[0]
    for p in parts[1:]:
        allp = allp.unionByName(p)
    w = Window.partitionBy("threshold", "selector").orderBy("distance", "doc_id")
    near = allp.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= n)
    src = tableio.read_table(spark, config, tableio.first_existing(spark, config, config.longctx.input_tables))
    text = src.select("doc_id", F.regexp_replace(F.substring("text", 1, excerpt_chars), r"\s+", " ").alias("excerpt"))
    return near.join(text, "doc_id", "left").orderBy("threshold", "selector", "rank")


STAGE = Stage(
    name="longctx",
    order=60,
    summary=">=32K documents: statistics, KenLM perplexity, conditional-perplexity coherence",
    section=LongCtxConfig,
    run=run,
    inputs=("pretrain",),
    outputs=("longctx_signals", "longctx"),
    check=check_models,
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/longctx.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("longctx", None))
