"""`quality` stage: advertisement and fluency classifiers over `decontaminated`, writing the final `pretrain`.

Signals first, as in `safety`: both probabilities go to `quality_signals`, then keep / reasons come
from per-language thresholds in config; kept documents become `pretrain` (documents columns: what
passed every stage), the rest go to `rejected`.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, defaults_from
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_tables, run_stage
from corpusmill.jobs.stages.classifier_stage import (checked_models, complete_thresholds, language_targets,
                                                    models_fingerprint, per_language, reasons_array, split_rows,
                                                    threshold_lines)
from corpusmill.schemas import pretrain as pretrain_schema
from corpusmill.schemas import quality_signals as signals_schema
from corpusmill.udfs.classifiers.classify import ClassifierSpec, score_targets_by_language

log = logging.getLogger("corpusmill")


@dataclass
class QualityThresholds:
    """Drop when a probability reaches its threshold; unset values fall back to `default`."""

    advertisement: float | None = None     # drop when p(ad) >= this
    disfluent: float | None = None         # drop when p(disfluent) >= this


@dataclass
class QualityConfig:
    input_tables: list[str]                 # first existing one is read (the decontam stage's `decontaminated`)
    advertisement: ClassifierSpec = defaults_from("classifiers.inference")  # that block with these keys over it
    fluency: ClassifierSpec = defaults_from("classifiers.inference")
    advertisement_label: str                # the advertisement model's positive label
    disfluent_label: str                    # the fluency model's label for disfluent text
    thresholds: dict[str, QualityThresholds]  # `default` (complete) + per-language overrides

    def __post_init__(self) -> None:
        """Values only: the models on disk are the preflight's (`check`)."""
        complete_thresholds(self.thresholds, QualityThresholds, "quality.thresholds")


def check(config: Config) -> tuple[ClassifierSpec, ClassifierSpec]:
    """The models the config names exist and have its labels (preflight, before any Spark job)."""
    q = config.quality
    th = complete_thresholds(q.thresholds, QualityThresholds, "quality.thresholds")
    ad = checked_models(config, q.advertisement, q.advertisement_label, "quality.advertisement",
                        "quality.advertisement_label", {lang: t.advertisement for lang, t in th.items()})
    flu = checked_models(config, q.fluency, q.disfluent_label, "quality.fluency", "quality.disfluent_label",
                         {lang: t.disfluent for lang, t in th.items()})
    return ad, flu


def quality_signals(df: DataFrame, config: Config, ad: dict[str, ClassifierSpec],
                    flu: dict[str, ClassifierSpec]) -> DataFrame:
    """The `quality_signals` rows for df: both probabilities, then keep / reasons."""
    q = config.quality
    th = complete_thresholds(q.thresholds, QualityThresholds, "quality.thresholds")
    sig = df.select("doc_id", "dump", "language", "text")
    targets = language_targets((ad, q.advertisement_label, "p_advertisement", "advertisement_decided_by"),
                               (flu, q.disfluent_label, "p_disfluent", "fluency_decided_by"))
    sig = score_targets_by_language(sig, "text", "language", targets, what="quality")
    lang = F.col("language")
    reasons = reasons_array(
        (F.col("p_advertisement") >= per_language(lang, th, "advertisement"), F.lit("advertisement")),
        (F.col("p_disfluent") >= per_language(lang, th, "disfluent"), F.lit("disfluent")),
    )
    return sig.withColumn("reasons", reasons).withColumn("keep", F.size("reasons") == 0)


def _detail() -> Column:
    return F.concat_ws("; ", F.array_join("reasons", ","),
                       F.concat(F.lit("p_advertisement="), F.format_number(F.coalesce("p_advertisement", F.lit(0.0)), 3)),
                       F.concat(F.lit("p_disfluent="), F.format_number(F.coalesce("p_disfluent", F.lit(0.0)), 3)))


def run(spark, config: Config, *, force: bool = False, inputs=None, run_id: str | None = None) -> StageResult:
    ad, flu = check(config)
    src_name = tableio.first_existing(spark, config, config.quality.input_tables)
    version = tableio.table_version(spark, config, src_name)

    def body(ctx: StageRun) -> Counts:
        src = tableio.read_table(spark, config, src_name, version=version)
        ctx.describe(f"advertisement + fluency classifiers over {src_name}")
        ctx.write_output(signals_schema.TABLE, quality_signals(src, config, ad, flu)
                         .select(signals_schema.TABLE.column_names))
        sig = tableio.read_table(spark, config, signals_schema.TABLE.name)
        return split_rows(ctx, src, sig, pretrain_schema.TABLE, signals_schema.TABLE.name, _detail())

    fp = fingerprint([fingerprint_tables(spark, config, [src_name]), models_fingerprint(ad), models_fingerprint(flu)])
    return run_stage(spark, config, "quality", inputs=[src_name], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """quality_signals columns -> the default thresholds that drop a document (for the report's histograms)."""
    if "quality" not in config.sections:
        return {}
    th = complete_thresholds(config.quality.thresholds, QualityThresholds, "quality.thresholds")
    return {signals_schema.TABLE.name: threshold_lines(th, {"p_advertisement": ("advertisement", "drop at"),
                                                             "p_disfluent": ("disfluent", "drop at")})}


STAGE = Stage(
    name="quality",
    order=50,
    summary="advertisement and fluency classifiers -> the final pretraining table",
    section=QualityConfig,
    run=run,
    inputs=("decontaminated",),
    outputs=("quality_signals", "pretrain"),
    check=check,
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/quality.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("quality", None))
