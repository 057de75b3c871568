"""Stage `dedup`: exact dedup, then MinHash-LSH near dedup; keeps the newest dump's copy.

Reads `clean` (or `documents`), writes
  minhash_signatures  signatures of documents not seen before (appended; reused by later runs),
  dedup               one row per input document: exact hash, cluster, kept or not, kept_doc_id,
  deduped             the kept documents (exactly the `documents` columns),
  rejected            the removed ones (reason exact_duplicate / near_duplicate, detail = kept doc_id).

Keep rule, per cluster: the newest dump (InternLM2 prioritizes larger CC dump numbers), then the
longest text (within one dump the fuller copy; near copies are mostly truncated or trimmed pages),
then the smallest doc_id (a content-derived id, so the choice never depends on input order or
partitioning). It is one min() over a struct per group: partially aggregated, no skew.

Incremental: signatures are stored with the doc_id, an xxhash64 of the raw text and a key of every
parameter they depend on; a later run computes signatures only for documents whose (doc_id, text)
is not stored yet, then re-clusters everything (LSH and components run on stored band hashes), so
a new dump's copy still wins over an old dump's.

Per-language shingling: languages in `char_languages` (zh, ja by default) are shingled by
characters. They are written without spaces, so whitespace words would be whole clauses; character
5-grams need no segmenter (jieba is ~100x slower and context-dependent, so a one-character edit can
re-segment its neighbours) and 5 characters span about 2-3 Chinese words, a shingle about as
specific as 5 English words.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import arrow_batches
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint_tables, run_stage
from corpusmill.schemas import dedup as dedup_schema
from corpusmill.schemas import deduped as deduped_schema
from corpusmill.schemas import minhash_signatures as sig_schema
from corpusmill.udfs.dedup import lsh
from corpusmill.udfs.dedup import minhash as mh

log = logging.getLogger("corpusmill")


@dataclass
class DedupConfig:
    input_tables: list[str]                       # first existing one is read
    minhash: lsh.MinHashParams                    # MinHash-LSH knobs (udfs/dedup/lsh.py checks them)
    exact: bool                                   # exact dedup by normalized-text hash before MinHash
    tokenizer: str                                # shingling for other languages: words | code
    char_languages: list[str]                     # shingled by characters
    incremental: bool                             # reuse stored signatures (else recompute all)
    max_arrow_batch_bytes: int                    # Arrow batch size cap (10 MB documents stay bounded)

    def __post_init__(self) -> None:
        if not self.input_tables:
            raise ConfigError("dedup.input_tables: expected at least one table name")
        if self.tokenizer not in mh.TOKENIZERS:
            raise ConfigError(f"dedup.tokenizer: expected one of {mh.TOKENIZERS}, got {self.tokenizer!r}")


def dump_ranks(spark: SparkSession, docs: DataFrame) -> dict[str, int]:
    """Rank of every dump, newest highest (distinct dumps: a few hundred at most)."""
    dumps = [r[0] for r in docs.select("dump").distinct().collect()]
    order = sorted((d for d in dumps if d is not None), key=_dump_key)
    return {d: i + 1 for i, d in enumerate(order)}


def _dump_key(d: str) -> tuple:
    # 'unknown' / '' is the oldest; CC-MAIN-YYYY-WW (and most dump names) sort by date as strings
    return (0, "") if d in ("", "unknown") else (1, d)


def keep_key(ranks: dict[str, int]):
    """A struct whose min() is the document to keep: newest dump, longest text, smallest doc_id."""
    if ranks:
        m = F.create_map(*[x for d, r in sorted(ranks.items()) for x in (F.lit(d), F.lit(r))])
        rank = F.coalesce(m[F.col("dump")], F.lit(0))
    else:
        rank = F.lit(0)
    return F.struct((-rank).alias("neg_dump_rank"), (-F.coalesce(F.col("text_bytes"), F.lit(0))).alias("neg_bytes"),
                    F.col("doc_id").alias("doc_id"), F.col("dump").alias("dump"))


def tokenizer_column(cfg: DedupConfig):
    langs = [x.lower() for x in cfg.char_languages]
    base = F.lower(F.split(F.coalesce(F.col("language"), F.lit("")), "-").getItem(0))
    return F.when(base.isin(langs), F.lit("chars")).otherwise(F.lit(cfg.tokenizer)) if langs else F.lit(cfg.tokenizer)


def update_signatures(spark: SparkSession, config: Config, cfg: DedupConfig, docs: DataFrame, ctx: StageRun) -> int:
    """Compute and append signatures of the documents not stored yet; returns how many were computed."""
    key = cfg.minhash.spec().key()
    stored_exists = tableio.table_exists(spark, config, sig_schema.TABLE.name)
    new = docs
    if cfg.incremental and stored_exists:
        stored = (tableio.read_table(spark, config, sig_schema.TABLE.name)
                  .where(F.col("params_key") == key).select("doc_id", "text_hash"))
        new = docs.join(stored, ["doc_id", "text_hash"], "left_anti")
    sigs = lsh.signatures(new, id_col="doc_id", text_col="text", params=cfg.minhash, tokenizer=cfg.tokenizer,
                          tokenizer_col="tokenizer", keep_cols=["dump", "text_hash", "tokenizer"])
    out = sigs.withColumn("params_key", F.lit(key))
    ctx.describe("signatures of new documents")
    if cfg.incremental and stored_exists:
        _, n = tableio.write_counted(spark, config, sig_schema.TABLE, out, mode="append")
    else:   # recompute this parameter set's signatures from scratch
        _, n = tableio.write_counted(spark, config, sig_schema.TABLE, out, replace_where=f"params_key = '{key}'")
    log.info("[dedup] signatures computed for %s new documents (params %s)", n, key)
    return int(n or 0)


def decide(spark: SparkSession, cfg: DedupConfig, docs: DataFrame, sigs: DataFrame) -> DataFrame:
    """The `dedup` table rows: exact groups, near clusters over exact representatives, keep rule."""
    lsh.phase(spark, "dedup", "dump order, signatures joined to the documents")
    ranks = dump_ranks(spark, docs)
    log.info("[dedup] dump order (newest last): %s", ", ".join(sorted(ranks, key=ranks.get)))
    # the small columns only: signatures and bands are read again for the exact representatives
    sd = (docs.select("doc_id", "dump", "text_bytes", "text_hash", "tokenizer")
          .join(sigs.select("doc_id", "text_hash", "exact_hash", "num_shingles"), ["doc_id", "text_hash"])
          .withColumn("key", keep_key(ranks)))
    sd = sd.checkpoint(eager=True)
    lsh.phase(spark, "dedup", "exact groups")
    if cfg.exact:
        ex = sd.groupBy("exact_hash").agg(F.min("key").alias("exact_best"), F.count(F.lit(1)).alias("exact_size"))
        sd = (sd.join(ex, "exact_hash")
              .withColumn("exact_kept_doc_id", F.col("exact_best.doc_id")).drop("exact_best"))
    else:
        sd = sd.withColumn("exact_size", F.lit(1).cast("long")).withColumn("exact_kept_doc_id", F.col("doc_id"))
    sd = sd.checkpoint(eager=True)
    reps = sd.where(F.col("doc_id") == F.col("exact_kept_doc_id"))
    rep_sigs = (sigs.select("doc_id", "text_hash", "signature", "bands")
                .join(reps.select("doc_id", "text_hash"), ["doc_id", "text_hash"], "left_semi")
                .checkpoint(eager=True))
    comp = lsh.cluster_edges(spark, rep_sigs, docs, id_col="doc_id", text_col="text", params=cfg.minhash,
                             tokenizer=cfg.tokenizer, tokenizer_col="tokenizer", label="dedup")
    lsh.phase(spark, "dedup", "keep rule")
    rc = (reps.select("doc_id", "key")
          .join(comp.select(F.col("node").alias("doc_id"), F.col("component").alias("cluster_id")), "doc_id", "left")
          .withColumn("cluster_id", F.coalesce("cluster_id", "doc_id")))
    best = rc.groupBy("cluster_id").agg(F.min("key").alias("best"))
    rep_info = (rc.join(best, "cluster_id")
                .select(F.col("doc_id").alias("exact_kept_doc_id"), "cluster_id",
                        F.col("best.doc_id").alias("kept_doc_id"), F.col("best.dump").alias("kept_dump")))
    out = sd.join(rep_info, "exact_kept_doc_id")
    sizes = out.groupBy("cluster_id").agg(F.count(F.lit(1)).alias("cluster_size"))
    is_dup = F.col("doc_id") != F.col("kept_doc_id")
    return (out.join(sizes, "cluster_id")
            .withColumn("is_duplicate", is_dup)
            .withColumn("duplicate_kind", F.when(~is_dup, F.lit(None).cast("string"))
                        .when(F.col("doc_id") != F.col("exact_kept_doc_id"), F.lit("exact"))
                        .otherwise(F.lit("near")))
            .select(*dedup_schema.TABLE.column_names))


def run(spark: SparkSession, config: Config, *, force: bool = False, inputs=None, run_id=None) -> StageResult:
    cfg: DedupConfig = config.dedup
    src = tableio.first_existing(spark, config, cfg.input_tables)

    def body(ctx: StageRun) -> Counts:
        with arrow_batches(spark, cfg.max_arrow_batch_bytes, 2000):
            raw = tableio.read_table(spark, config, src)
            docs = raw.select("doc_id", "dump", "text", "text_bytes", "language",
                              F.xxhash64(F.coalesce("text", F.lit(""))).alias("text_hash"),
                              tokenizer_column(cfg).alias("tokenizer"))
            update_signatures(spark, config, cfg, docs, ctx)
            key = cfg.minhash.spec().key()
            sigs = tableio.read_table(spark, config, sig_schema.TABLE.name).where(F.col("params_key") == key)
            decided = decide(spark, cfg, docs, sigs)
            version = ctx.write_output(dedup_schema.TABLE, decided)
            d = tableio.read_table(spark, config, dedup_schema.TABLE.name)
            rows_in = ctx.rows_written(dedup_schema.TABLE.name)
            kept = raw.join(d.where(~F.col("is_duplicate")).select("doc_id"), "doc_id", "left_semi")
            ctx.write_output(deduped_schema.TABLE, kept)
            rows_out = ctx.rows_written(deduped_schema.TABLE.name)
            dups = (raw.select("doc_id", "url", "dump", "source_file", "source_record")
                    .join(d.where(F.col("is_duplicate")).select("doc_id", "duplicate_kind", "kept_doc_id"), "doc_id")
                    .select("doc_id", F.concat(F.col("duplicate_kind"), F.lit("_duplicate")).alias("reason"),
                            F.col("kept_doc_id").alias("detail"), "url", "dump", "source_file", "source_record"))
            n_rej = ctx.write_rejected(dups)
        log.info("[dedup] %d documents: %d kept, %d removed", rows_in, rows_out, n_rej)
        return Counts(rows_in, rows_out, n_rej, version)

    return run_stage(spark, config, "dedup", inputs=[src], input_fingerprint=fingerprint_tables(spark, config, [src]),
                     body=body, force=force, run_id=run_id)


STAGE = Stage(
    name="dedup",
    order=30,
    summary="exact and MinHash-LSH near-duplicate removal, newest dump kept",
    section=DedupConfig,
    run=run,
    inputs=("clean",),
    outputs=("minhash_signatures", "dedup", "deduped"),
)


if __name__ == "__main__":   # spark-submit jobs/stages/dedup.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("dedup", None))
