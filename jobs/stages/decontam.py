"""`decontam` stage: documents holding benchmark text are dropped, or lose the lines that hold it.

redacted ──n-grams vs the benchmark index (mapInArrow)──▶ decontam_signals ──keep/reasons──▶ decontaminated
                                                                  ├──▶ contamination (benchmark item -> documents)
                                                                  └──▶ rejected (contamination:<benchmark>)

The index (jobs/stages/benchmark_index.py, udfs/decontam/) is built once per run on the driver from
the benchmarks in `decontam.benchmarks` whose targets include `text`: word n-grams of
`ngram_words` words, and character n-grams of `ngram_chars` Han / kana characters. It is broadcast as
one sorted array of 64-bit hashes and every document is checked on the executors (`lookup: join`:
the documents' n-gram hashes are joined with the index as a table instead, for indexes too large to
hold per worker; same signals). Signals first: a
document's matched benchmark(s), items, matched n-gram count, coverage and the lines holding matches
go to `decontam_signals`; a document with at least `min_ngrams` matched n-grams is contaminated.
`action: drop` drops it (`rejected`, reason `contamination:<benchmark>`); `action: cut` removes the
lines holding matched n-grams and keeps the rest (dropped only when nothing is left). Every
contaminated (item, document) pair is a row of `contamination`. The same index checks code files in
the `code` stage (benchmarks whose targets include `code`).
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import arrow_batches
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_tables, run_stage
from corpusmill.jobs.stages import benchmark_index as bi
from corpusmill.jobs.stages.benchmark_index import BenchmarkSpec
from corpusmill.schemas import contamination as contamination_schema
from corpusmill.schemas import decontam_signals as signals_schema
from corpusmill.schemas import decontaminated as out_schema
from corpusmill.udfs.decontam.index import cut_lines

log = logging.getLogger("corpusmill")
ACTIONS = ("drop", "cut")
LOOKUPS = ("broadcast", "join")
ARROW_BATCH_BYTES = 64 << 20            # Arrow batch cap: runs of 10 MB documents stay bounded


@dataclass
class DecontamConfig:
    input_tables: list[str]              # the first of these that exists is read
    benchmarks: list[BenchmarkSpec]      # evaluation sets to keep out of the corpus
    ngram_words: int                     # words per n-gram (space-delimited text and code)
    ngram_chars: int                     # Han / kana characters per n-gram (Chinese, Japanese)
    min_ngrams: int                      # a document holding at least this many distinct benchmark n-grams is contaminated
    action: str                          # drop | cut
    lookup: str                          # broadcast (sorted array per worker) | join (Spark join: no per-worker bound)
    batch_rows: int                      # documents per Arrow batch

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ConfigError(f"decontam.action: expected drop or cut, got {self.action!r}")
        if self.lookup not in LOOKUPS:
            raise ConfigError(f"decontam.lookup: expected broadcast or join, got {self.lookup!r}")
        for key in ("ngram_words", "ngram_chars", "min_ngrams", "batch_rows"):
            if getattr(self, key) < 1:
                raise ConfigError(f"decontam.{key}: must be at least 1, got {getattr(self, key)}")
        names = [b.name for b in self.benchmarks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"decontam.benchmarks: the name(s) {', '.join(dupes)} appear twice")


def check(config: Config) -> None:
    """The benchmark files exist, hold records and have their fields (preflight, before Spark)."""
    bi.check(config, "text")


def decide(matches: DataFrame, cfg: DecontamConfig) -> DataFrame:
    """keep / action / reasons from the stored matches and config."""
    hit = F.col("matched_ngrams") >= F.lit(cfg.min_ngrams)
    if cfg.action == "drop":
        action, keep = F.when(hit, F.lit("drop")).otherwise(F.lit("none")), ~hit
    else:
        emptied = F.col("kept_chars") == 0
        action = F.when(hit & emptied, F.lit("drop")).when(hit, F.lit("cut")).otherwise(F.lit("none"))
        keep = ~(hit & emptied)
    return (matches.withColumn("action", action).withColumn("keep", keep)
            .withColumn("cut_lines", F.when(hit, F.col("cut_lines")).otherwise(F.array().cast("array<int>")))
            .withColumn("reasons", F.when(hit, F.array(F.concat(F.lit("contamination:"), F.col("benchmark"))))
                        .otherwise(F.array().cast("array<string>"))))


def output_rows(src: DataFrame, sig: DataFrame) -> DataFrame:
    """Kept documents; those with cut lines lose them (the others pass untouched)."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def _cut(text: pd.Series, lines: pd.Series) -> pd.Series:
        return pd.Series([cut_lines(t, list(ls)) if t is not None else t for t, ls in zip(text, lines)])

    joined = src.join(sig.where("keep").select("doc_id", "action", "cut_lines"), "doc_id")
    cols = out_schema.TABLE.column_names
    cut = joined.where(F.col("action") == "cut").withColumn("text", _cut("text", "cut_lines")).withColumn(
        "text_bytes", F.octet_length(F.encode("text", "UTF-8")).cast("long"))
    return joined.where(F.col("action") != "cut").select(cols).unionByName(cut.select(cols))


def contamination_rows(sig: DataFrame, src: DataFrame) -> DataFrame:
    """(benchmark item, document) pairs of the contaminated documents."""
    hit = sig.where(F.col("action") != "none").select(
        "doc_id", F.col("matched_ngrams").alias("doc_matched_ngrams"),
        F.when(F.col("action") == "drop", F.lit("dropped")).otherwise(F.lit("cut")).alias("action"),
        F.explode("items").alias("it"))
    return (hit.join(src.select("doc_id", "url"), "doc_id", "left")
            .select(F.lit("decontam").alias("stage"), F.col("it.benchmark").alias("benchmark"),
                    F.col("it.item_id").alias("item_id"), "doc_id", F.col("it.ngrams").alias("matched_ngrams"),
                    "doc_matched_ngrams", "action", "url"))


def _detail() -> F.Column:
    return F.concat_ws("; ", F.array_join("reasons", ","),
                       F.concat(F.lit("ngrams="), F.col("matched_ngrams")),
                       F.concat(F.lit("coverage="), F.format_number("coverage", 3)),
                       F.concat(F.lit("items="), F.array_join(F.slice(F.transform(
                           "items", lambda x: F.concat(x["benchmark"], F.lit("/"), x["item_id"])), 1, 5), ",")))


def run(spark: SparkSession, config: Config, *, force: bool = False, inputs=None, run_id: str | None = None) -> StageResult:
    cfg: DecontamConfig = config.decontam
    check(config)
    src_name = tableio.first_existing(spark, config, cfg.input_tables)
    version = tableio.table_version(spark, config, src_name)

    def body(ctx: StageRun) -> Counts:
        ctx.describe("build the benchmark index")
        index = bi.build_index(spark, config, "text")
        src = tableio.read_table(spark, config, src_name, version=version)
        ctx.describe(f"check {src_name} against {len(index):,} benchmark n-grams")
        with arrow_batches(spark, ARROW_BATCH_BYTES, cfg.batch_rows):
            match = bi.match_rows if cfg.lookup == "broadcast" else bi.match_rows_join
            matches = match(spark, src, index, cfg.min_ngrams, id_col="doc_id", text_col="text",
                            pass_cols=("dump", "language")).withColumnRenamed("id", "doc_id")
            ctx.write_output(signals_schema.TABLE, decide(matches, cfg))
        sig = tableio.read_table(spark, config, signals_schema.TABLE.name)
        rows_in = ctx.rows_written(signals_schema.TABLE.name)
        ctx.write_output(contamination_schema.TABLE, contamination_rows(sig, src), replace_where="stage = 'decontam'")
        ctx.describe("write decontaminated")
        with arrow_batches(spark, ARROW_BATCH_BYTES, cfg.batch_rows):
            version_out = ctx.write_output(out_schema.TABLE, output_rows(src, sig))
        dropped = sig.where(~F.col("keep")).select("doc_id", F.col("reasons")[0].alias("reason"),
                                                   _detail().alias("detail"))
        n_rej = ctx.write_rejected(src.select("doc_id", "url", "dump", "source_file", "source_record").join(dropped, "doc_id"))
        return Counts(rows_in, ctx.rows_written(out_schema.TABLE.name), n_rej, version_out)

    fp = fingerprint([fingerprint_tables(spark, config, [src_name]), bi.files_fingerprint(config, "text")])
    return run_stage(spark, config, "decontam", inputs=[src_name], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """decontam_signals.matched_ngrams against decontam.min_ngrams (the report's histogram line)."""
    if "decontam" not in config.sections:
        return {}
    m = config.decontam.min_ngrams
    return {signals_schema.TABLE.name: {"matched_ngrams": [(float(m), f"min_ngrams {m} ({config.decontam.action} at)")]}}


STAGE = Stage(
    name="decontam",
    order=45,
    summary="benchmark n-grams (words; Chinese/Japanese characters): contaminated documents dropped or cut",
    section=DecontamConfig,
    run=run,
    inputs=("redacted",),
    outputs=("contamination", "decontam_signals", "decontaminated"),
    check=check,
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/decontam.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("decontam", None))
