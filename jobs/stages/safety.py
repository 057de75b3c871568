"""`safety` stage: domain / URL blocklists, word blocklists, toxicity and pornography classifiers.

Reads the latest upstream text table (deduped, else clean, else documents). Signals first: every
document gets its blocklist match (kind, category, entry), its word-list hits and the two classifier
probabilities in `safety_signals`; then keep / reasons come from per-language thresholds in config.
Kept documents go to `safe` (documents columns), dropped ones to `rejected` with the category or
classifier as the reason. The signals table is written once and the split reads it back, so the
models run once per document.
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Iterator, Tuple

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError, defaults_from
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_tables, run_stage
from corpusmill.jobs.stages.blocklists import DomainListSpec, broadcast_index, domain_specs, files_fingerprint
from corpusmill.jobs.stages.classifier_stage import (checked_models, complete_thresholds, language_targets,
                                                    models_fingerprint, per_language, reasons_array, split_rows,
                                                    threshold_lines)
from corpusmill.schemas import safe as safe_schema
from corpusmill.schemas import safety_signals as signals_schema
from corpusmill.udfs.classifiers.classify import ClassifierSpec, score_targets_by_language
from corpusmill.udfs.safety import domains, wordlists
from corpusmill.udfs.safety.wordlists import load_wordlists

log = logging.getLogger("corpusmill")


@dataclass
class SafetyThresholds:
    """A document is dropped when a signal reaches its threshold; unset values fall back to `default`."""

    word_min_distinct: int | None = None   # word block needs at least this many distinct listed words ...
    word_per_1k: float | None = None       # ... and at least this many hits per 1,000 words (chars for zh/ja/th/ko)
    toxicity: float | None = None          # drop when p(toxic) >= this
    pornography: float | None = None       # drop when p(porn) >= this


@dataclass
class SafetyConfig:
    input_tables: list[str]                 # first existing one is read
    domain_lists: list[DomainListSpec]      # UT1 folders / plain lists
    domain_lookup: str                      # broadcast (sorted hash array per worker) | join (Spark join)
    word_lists: list[str]                   # LDNOOBW-style folders, files named by language, or lang=path
    toxicity: ClassifierSpec = defaults_from("classifiers.inference")  # that block with these keys over it
    pornography: ClassifierSpec = defaults_from("classifiers.inference")
    toxicity_label: str                     # the toxicity model's positive label
    pornography_label: str                  # the pornography model's positive label
    thresholds: dict[str, SafetyThresholds]  # `default` (complete) + per-language overrides (en, zh, ...)

    def __post_init__(self) -> None:
        """Values only: the models and lists on disk are the preflight's (`check`)."""
        if self.domain_lookup not in ("broadcast", "join"):
            raise ConfigError(f"safety.domain_lookup: expected broadcast or join, got {self.domain_lookup!r}")
        complete_thresholds(self.thresholds, SafetyThresholds, "safety.thresholds")


# ---- list resolution -------------------------------------------------------------------------------
def word_list_paths(config: Config) -> list[str]:
    out = []
    for i, w in enumerate(config.safety.word_lists):
        lang, sep, p = w.partition("=")
        if not sep or "/" in lang:
            lang, p = "", w
        key = f"safety.word_lists[{i}]"
        try:
            path = config.path(p) if not p.startswith(wordlists.PACKAGE_PREFIX) else wordlists.packaged_path(p)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
        if not os.path.exists(path):
            raise ConfigError(f"{key}: path {path} does not exist (a folder of files named by language, or lang=file)")
        spec = f"{lang}={path}" if lang else path
        try:
            load_wordlists([spec])
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
        out.append(spec)
    return out


# ---- the stage -------------------------------------------------------------------------------------
_SIGNAL_STRUCT = ("block_kind string, block_category string, block_match string, word_hits int, "
                  "word_distinct int, word_per_1k double, word_terms array<string>")


def blocklist_signals(df: DataFrame, spark, config: Config, dspecs, wspecs) -> DataFrame:
    """df + block_kind/category/match + word_hits/distinct/per_1k/terms (batched, one pass over the text)."""
    from pyspark.sql.functions import pandas_udf

    sc = spark.sparkContext
    terms = wordlists.load_wordlists(wspecs)
    wdigest = wordlists.terms_digest(terms)
    terms_bc = sc.broadcast(terms)
    use_index = config.safety.domain_lookup == "broadcast"
    if use_index:
        ddigest, index_bc = broadcast_index(spark, dspecs)

    @pandas_udf(_SIGNAL_STRUCT)
    def _signals(batches: Iterator[Tuple[pd.Series, pd.Series, pd.Series, pd.Series]]) -> Iterator[pd.DataFrame]:
        matcher = wordlists.cached_matcher(wdigest, lambda: terms_bc.value)
        idx = domains.cached_index(ddigest, lambda: domains.DomainIndex(*index_bc.value)) if use_index else None
        for url, host, text, lang in batches:
            out = wordlists.scan_batch(matcher, text.tolist(), lang.tolist())
            if idx is not None:
                kinds, cats, matched = idx.match_batch(url.tolist(), host.tolist())
            else:
                kinds = cats = matched = [None] * len(url)
            yield pd.DataFrame({"block_kind": kinds, "block_category": cats, "block_match": matched, **out})

    with_sig = df.withColumn("_s", _signals("url", "host", "text", "language")).select("*", "_s.*").drop("_s")
    if not use_index:
        entries = domains.entries_frame(spark, dspecs)
        joined = domains.match_join(df.select("doc_id", "url", "host"), entries)
        with_sig = with_sig.drop("block_kind", "block_category", "block_match").join(joined, "doc_id", "left")
    return with_sig


def safety_signals(df: DataFrame, spark, config: Config, dspecs, wspecs, tox: dict[str, ClassifierSpec],
                   porn: dict[str, ClassifierSpec]) -> DataFrame:
    """The `safety_signals` rows for df (documents columns): signals, then keep / reasons."""
    s = config.safety
    th = complete_thresholds(s.thresholds, SafetyThresholds, "safety.thresholds")
    base = df.select("doc_id", "dump", "language", "url", "host", "text")
    sig = blocklist_signals(base, spark, config, dspecs, wspecs)
    targets = language_targets((tox, s.toxicity_label, "p_toxicity", "toxicity_decided_by"),
                               (porn, s.pornography_label, "p_pornography", "pornography_decided_by"))
    sig = score_targets_by_language(sig, "text", "language", targets, what="safety")
    lang = F.col("language")
    word_block = ((F.col("word_distinct") >= per_language(lang, th, "word_min_distinct"))
                  & (F.col("word_per_1k") >= per_language(lang, th, "word_per_1k")))
    reasons = reasons_array(
        (F.col("block_kind") == "domain", F.concat(F.lit("domain_blocklist:"), F.col("block_category"))),
        (F.col("block_kind") == "url", F.concat(F.lit("url_blocklist:"), F.col("block_category"))),
        (word_block, F.lit("word_blocklist")),
        (F.col("p_toxicity") >= per_language(lang, th, "toxicity"), F.lit("toxicity")),
        (F.col("p_pornography") >= per_language(lang, th, "pornography"), F.lit("pornography")),
    )
    return sig.withColumn("reasons", reasons).withColumn("keep", F.size("reasons") == 0)


def _detail() -> Column:
    return F.concat_ws("; ", F.array_join("reasons", ","),
                       F.when(F.col("block_match").isNotNull(), F.concat(F.lit("match="), F.col("block_match"))),
                       F.when(F.col("word_hits") > 0, F.concat(F.lit("words="), F.array_join(F.slice("word_terms", 1, 5), ","),
                                                                 F.lit(" per_1k="), F.format_number("word_per_1k", 2))),
                       F.concat(F.lit("p_toxicity="), F.format_number(F.coalesce("p_toxicity", F.lit(0.0)), 3)),
                       F.concat(F.lit("p_pornography="), F.format_number(F.coalesce("p_pornography", F.lit(0.0)), 3)))


def check(config: Config):
    """The lists and models the config names exist and fit (preflight, before any Spark job starts)."""
    s = config.safety
    dspecs = domain_specs(config)
    wspecs = word_list_paths(config)
    th = complete_thresholds(s.thresholds, SafetyThresholds, "safety.thresholds")
    tox = checked_models(config, s.toxicity, s.toxicity_label, "safety.toxicity", "safety.toxicity_label",
                         {lang: t.toxicity for lang, t in th.items()})
    porn = checked_models(config, s.pornography, s.pornography_label, "safety.pornography", "safety.pornography_label",
                          {lang: t.pornography for lang, t in th.items()})
    return dspecs, wspecs, tox, porn


def run(spark, config: Config, *, force: bool = False, inputs=None, run_id: str | None = None) -> StageResult:
    dspecs, wspecs, tox, porn = check(config)
    src_name = tableio.first_existing(spark, config, config.safety.input_tables)
    version = tableio.table_version(spark, config, src_name)

    def body(ctx: StageRun) -> Counts:
        src = tableio.read_table(spark, config, src_name, version=version)
        ctx.describe(f"blocklists + classifiers over {src_name}")
        sig = safety_signals(src, spark, config, dspecs, wspecs, tox, porn)
        ctx.write_output(signals_schema.TABLE, sig.select(signals_schema.TABLE.column_names))
        sig_rows = tableio.read_table(spark, config, signals_schema.TABLE.name)
        return split_rows(ctx, src, sig_rows, safe_schema.TABLE, signals_schema.TABLE.name, _detail())

    fp = fingerprint([fingerprint_tables(spark, config, [src_name]), models_fingerprint(tox), models_fingerprint(porn),
                      files_fingerprint([p for p, _, _ in dspecs]),
                      files_fingerprint([w.partition("=")[2] or w for w in wspecs])])
    return run_stage(spark, config, "safety", inputs=[src_name], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """safety_signals columns -> the default thresholds that drop a document (drawn on the report's histograms)."""
    if "safety" not in config.sections:
        return {}
    th = complete_thresholds(config.safety.thresholds, SafetyThresholds, "safety.thresholds")
    return {signals_schema.TABLE.name: threshold_lines(th, {
        "word_distinct": ("word_min_distinct", "drop at"), "word_per_1k": ("word_per_1k", "drop at"),
        "p_toxicity": ("toxicity", "drop at"), "p_pornography": ("pornography", "drop at")})}


STAGE = Stage(
    name="safety",
    order=40,
    summary="domain and word blocklists, toxicity and pornography classifiers",
    section=SafetyConfig,
    run=run,
    inputs=("deduped",),
    outputs=("safety_signals", "safe"),
    check=check,
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/safety.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("safety", None))
