"""`pii` stage: personal data (e-mail, IP, phone, identity and card numbers) found, then replaced.

safe ──scan (mapInArrow)──▶ pii_signals (counts per kind, spans) ──keep/reasons──▶ redacted (placeholders in text)
                                                                            └──▶ rejected (reason pii)

Signals first: each document's finds are stored as counts per kind and character spans (offsets
only: the personal data itself is never copied into another table). A document with more finds
than `pii.max_finds` is dropped, as Dolma drops documents with more than 5; the others go to
`redacted` with each find replaced by its kind's placeholder, applied from the stored spans (only
documents with a find go through Python a second time). Code samples are not touched here: the
`code` stage redacts code files only when `code.pii` is true.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from functools import partial

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import arrow_batches
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_tables, run_stage
from corpusmill.schemas import pii_signals as signals_schema
from corpusmill.schemas import redacted as redacted_schema
from corpusmill.udfs.pii import redact as pr
from corpusmill.udfs.pii.detect import KINDS

log = logging.getLogger("corpusmill")
ARROW_BATCH_BYTES = 64 << 20            # Arrow batch cap: runs of 10 MB documents stay bounded


@dataclass
class PiiConfig:
    input_tables: list[str]              # the first of these that exists is read
    kinds: list[str]                     # what to find: email, id_number, card, ip, phone
    placeholders: dict[str, str]         # kind -> text that replaces each find
    max_finds: int                       # documents with more finds (all kinds together) are dropped
    scan_limit: int                      # finds collected per kind and document at most (> max_finds)
    ip_global_only: bool                 # only globally routable IP addresses are personal data
    batch_rows: int                      # documents per Arrow batch

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ConfigError(f"pii.kinds: unknown {bad} (known: {', '.join(KINDS)})")
        missing = [k for k in self.kinds if k not in self.placeholders]
        if missing:
            raise ConfigError(f"pii.placeholders: no placeholder for {missing}")
        if self.max_finds < 0 or self.scan_limit <= self.max_finds:
            raise ConfigError(f"pii.max_finds / pii.scan_limit: need 0 <= max_finds < scan_limit, got "
                              f"{self.max_finds} and {self.scan_limit}")
        if self.batch_rows < 1:
            raise ConfigError(f"pii.batch_rows: must be positive, got {self.batch_rows}")

    def settings(self) -> pr.ScanSettings:
        return pr.ScanSettings(kinds=tuple(self.kinds), limit=self.scan_limit, ip_global_only=self.ip_global_only)


def _scan_schema():
    import pyarrow as pa

    span = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("kind", pa.string())])
    return from_arrow_schema(pa.schema([("doc_id", pa.string()), ("dump", pa.string()), ("language", pa.string()), *[(f"n_{k}", pa.int32()) for k in KINDS],
                                        ("spans", pa.list_(span))]))


def pii_signals(src: DataFrame, cfg: PiiConfig) -> DataFrame:
    """The `pii_signals` rows of src: finds per kind and their spans, then keep / reasons."""
    pass_cols = ("doc_id", "dump", "language")
    scanned = src.select(*pass_cols, "text").mapInArrow(
        partial(pr.scan_arrow, settings=cfg.settings(), pass_cols=pass_cols), _scan_schema())
    total = sum((F.col(f"n_{k}") for k in KINDS), F.lit(0))
    keep = total <= F.lit(cfg.max_finds)
    return (scanned
            .withColumn("n_total", total)
            .withColumn("keep", keep)
            .withColumn("reasons", F.when(keep, F.array().cast("array<string>")).otherwise(F.array(F.lit("pii")))))


def redacted_rows(src: DataFrame, sig: DataFrame, cfg: PiiConfig) -> DataFrame:
    """Kept documents, their finds replaced by placeholders (documents without finds pass untouched)."""
    from pyspark.sql.functions import pandas_udf

    placeholders = dict(cfg.placeholders)

    @pandas_udf("string")
    def _redact(text: pd.Series, spans: pd.Series) -> pd.Series:
        return pd.Series(pr.redact_series(text.tolist(), spans.tolist(), placeholders))

    kept = sig.where("keep").select("doc_id", "n_total", "spans")
    joined = src.join(kept, "doc_id")
    clean = joined.where(F.col("n_total") == 0)
    found = joined.where(F.col("n_total") > 0).withColumn("text", _redact("text", "spans")).withColumn(
        "text_bytes", F.octet_length(F.encode("text", "UTF-8")).cast("long"))
    cols = redacted_schema.TABLE.column_names
    return clean.select(cols).unionByName(found.select(cols))


def _detail() -> F.Column:
    return F.concat(F.lit("pii: "), F.concat_ws(" ", *[F.concat(F.lit(f"{k}="), F.col(f"n_{k}")) for k in KINDS]))


def run(spark: SparkSession, config: Config, *, force: bool = False, inputs=None, run_id: str | None = None) -> StageResult:
    cfg: PiiConfig = config.pii
    src_name = tableio.first_existing(spark, config, cfg.input_tables)
    version = tableio.table_version(spark, config, src_name)

    def body(ctx: StageRun) -> Counts:
        src = tableio.read_table(spark, config, src_name, version=version)
        ctx.describe(f"find personal data in {src_name}")
        with arrow_batches(spark, ARROW_BATCH_BYTES, cfg.batch_rows):
            ctx.write_output(signals_schema.TABLE, pii_signals(src, cfg))
        sig = tableio.read_table(spark, config, signals_schema.TABLE.name)
        rows_in = ctx.rows_written(signals_schema.TABLE.name)
        ctx.describe("redact and write redacted")
        with arrow_batches(spark, ARROW_BATCH_BYTES, cfg.batch_rows):
            version_out = ctx.write_output(redacted_schema.TABLE, redacted_rows(src, sig, cfg))
        dropped = sig.where(~F.col("keep")).select("doc_id", F.lit("pii").alias("reason"), _detail().alias("detail"))
        n_rej = ctx.write_rejected(src.select("doc_id", "url", "dump", "source_file", "source_record").join(dropped, "doc_id"))
        return Counts(rows_in, ctx.rows_written(redacted_schema.TABLE.name), n_rej, version_out)

    fp = fingerprint([fingerprint_tables(spark, config, [src_name])])
    return run_stage(spark, config, "pii", inputs=[src_name], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """pii_signals.n_total against pii.max_finds (the report's histogram line)."""
    if "pii" not in config.sections:
        return {}
    m = config.pii.max_finds
    return {signals_schema.TABLE.name: {"n_total": [(m + 0.5, f"max_finds {m} (more: dropped)")]}}


STAGE = Stage(
    name="pii",
    order=42,
    summary="e-mail, IP, phone, identity and card numbers replaced by placeholders; documents with many dropped",
    section=PiiConfig,
    run=run,
    inputs=("safe",),
    outputs=("pii_signals", "redacted"),
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/pii.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("pii", None))
