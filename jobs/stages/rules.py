"""Rules stage: measure Gopher / C4 / FineWeb / InternLM2-style signals, then decide from thresholds.

documents ──signals (mapInArrow, once per signal config)──▶ rule_signals ──keep/reasons (Spark SQL)──▶ clean
                                                                                                   └──▶ rejected

Two keys decide what is redone:
- the whole `rules` section hash (run_stage's skip-if-done): nothing changed -> the stage is skipped;
- the signals key (the `rules.signals` profiles + input table version + signal code version), stored
  in `rule_signals.signals_key`: when it matches, only the thresholds changed, and keep / reasons are
  recomputed from the stored signals with Spark built-ins; no text is read by Python at all.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.core import tableio
from jobs.core.config import Config, ConfigError
from jobs.core.stage import Counts, StageResult, StageRun, fingerprint_tables, run_stage
from schemas import clean as clean_schema
from schemas import rule_signals as signals_schema
from udfs.rules import signals as rs
from udfs.rules.text_units import SPLITTERS

log = logging.getLogger("corpusmill")

SIGNALS_VERSION = "1"      # bump when udfs.rules.signals measures differently: stored signals go stale
INHERIT = "inherit"        # a threshold left out of a language profile takes thresholds.default's value


@dataclass
class SignalProfile:
    """How one language is measured (changing any of these re-measures the signals)."""

    words: str                  # word splitter: latin (spaCy-like rules) | jieba (Chinese) | chars (Japanese)
    stop_words: str             # auto (list of the document's language) | none | a language code
    short_line_chars: int       # FineWeb: a line of at most this many characters is short
    max_word_chars: int         # C4: lines with a longer word are dropped
    c4_line_words: str          # C4 words per line: whitespace (str.split) | tokens (the word splitter)
    terminal_punctuation: str   # C4: a line must end with one of these characters
    remove_citations: bool      # C4: strip [1], [edit], [citation needed] first


def _family_class(family: str, rules: list[tuple[str, str, str]]):
    fields = []
    for key, _signal, op in rules:
        tp = (bool | None) if op in ("true", "zero") else (float | None)
        fields.append((key, tp, field(default=INHERIT)))
    name = "".join(p.title() for p in family.split("_")) + "Thresholds"
    return make_dataclass(name, fields)


FAMILY_TYPES = {fam: _family_class(fam, rules) for fam, rules in rs.RULES.items()}
ThresholdProfile = make_dataclass(
    "ThresholdProfile",
    [(fam, tp, field(default_factory=tp)) for fam, tp in FAMILY_TYPES.items()],
)
ThresholdProfile.__doc__ = "Thresholds of one language; null switches a rule off, a missing key inherits default."


@dataclass
class RulesConfig:
    input_tables: list[str]                    # the first that exists is filtered (documents)
    signals: dict[str, SignalProfile]          # per language (key = documents.language) + default
    thresholds: dict[str, Any]                 # per language + default: family -> rule -> value

    def __post_init__(self) -> None:
        if "default" not in self.signals:
            raise ConfigError("rules.signals.default: missing (the profile of languages without their own)")
        for name, p in self.signals.items():
            if p.words not in SPLITTERS:
                raise ConfigError(f"rules.signals.{name}.words: {p.words!r} is not one of {', '.join(SPLITTERS)}")
            if p.c4_line_words not in ("whitespace", "tokens"):
                raise ConfigError(f"rules.signals.{name}.c4_line_words: expected whitespace or tokens")
        if "default" not in self.thresholds:
            raise ConfigError("rules.thresholds.default: missing (the thresholds of languages without their own)")
        from jobs.core.config import _check

        self.thresholds = {name: (v if isinstance(v, ThresholdProfile)
                                  else _check(v, ThresholdProfile, f"rules.thresholds.{name}"))
                           for name, v in self.thresholds.items()}
        for fam in FAMILY_TYPES:
            for key, value in dataclasses.asdict(getattr(self.thresholds["default"], fam)).items():
                if value == INHERIT:
                    raise ConfigError(f"rules.thresholds.default.{fam}.{key}: missing (default must set every rule)")

    def resolved_thresholds(self) -> dict[str, dict[str, dict[str, Any]]]:
        """profile -> family -> rule -> value, with inherited values filled in from default."""
        base = dataclasses.asdict(self.thresholds["default"])
        out = {}
        for name, prof in self.thresholds.items():
            own = dataclasses.asdict(prof)
            out[name] = {fam: {k: (v if v != INHERIT else base[fam][k]) for k, v in rules.items()}
                         for fam, rules in own.items()}
        return out

    def signal_profiles(self) -> dict[str, dict]:
        return {name: dataclasses.asdict(p) for name, p in self.signals.items()}


# ---- signals ------------------------------------------------------------------------------------

_PASS = ["doc_id", "dump", "language"]
_MEASURED = _PASS + ["signal_profile"] + rs.SIGNAL_NAMES


def signals_key(config: Config, input_fingerprint: str) -> str:
    blob = json.dumps({"v": SIGNALS_VERSION, "signals": config.rules.signal_profiles(), "in": input_fingerprint},
                      sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def measure(docs: DataFrame, config: Config) -> DataFrame:
    """doc_id, dump, language, signal_profile and every signal, computed in Arrow batches."""
    from pyspark.sql.pandas.types import to_arrow_schema

    out = signals_schema.TABLE.schema
    spark_schema = type(out)([out[c] for c in _MEASURED])
    arrow_schema = to_arrow_schema(spark_schema)
    profiles = config.rules.signal_profiles()
    src = docs.select(*_PASS, "text")
    return src.mapInArrow(rs.signals_mapper(profiles, arrow_schema, passthrough=_PASS), spark_schema)


# ---- decision -----------------------------------------------------------------------------------

def threshold_profile_col(config: Config) -> Column:
    names = sorted(n for n in config.rules.thresholds if n != "default")
    lang = F.lower(F.col("language"))
    return F.when(lang.isin(names), lang).otherwise(F.lit("default")) if names else F.lit("default")


def _fails(signal: str, op: str, value: Any) -> Column:
    c = F.col(signal)
    if value is None or value is False:
        return F.lit(False)
    if op == "<":
        cond = c < F.lit(float(value))
    elif op == ">":
        cond = c > F.lit(float(value))
    elif op == "true":
        cond = c
    else:  # zero
        cond = c == 0
    return F.coalesce(cond, F.lit(False))


def decide(signals: DataFrame, config: Config, run_id: str) -> DataFrame:
    """Add threshold_profile, keep and reasons (every failed rule, in family order) from stored signals."""
    resolved = config.rules.resolved_thresholds()
    prof = F.col("threshold_profile")
    names = [n for n in resolved if n != "default"]
    failed = []
    for fam, rules in rs.RULES.items():
        for key, signal, op in rules:
            expr = _fails(signal, op, resolved["default"][fam][key])
            for n in names:   # only profiles that differ from default get their own branch
                if resolved[n][fam][key] != resolved["default"][fam][key]:
                    expr = F.when(prof == n, _fails(signal, op, resolved[n][fam][key])).otherwise(expr)
            failed.append(F.when(expr, F.lit(f"{fam}.{key}")))
    reasons = F.filter(F.array(*failed), lambda x: x.isNotNull())
    return (signals.withColumn("threshold_profile", threshold_profile_col(config))
            .withColumn("reasons", reasons)
            .withColumn("keep", F.size("reasons") == 0)
            .withColumn("decision_run_id", F.lit(run_id)))


# ---- report ---------------------------------------------------------------------------------------

def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """rule_signals column -> the `default` profile's limits on it, for the report's histograms.

    One (value, label) per numeric rule that is on in `default` (a column can carry a lower and an upper
    limit, e.g. gq_nonsymbol_words); languages whose own profile differs are named in the label.
    """
    if "rules" not in config.sections:
        return {}
    resolved = config.rules.resolved_thresholds()
    out: dict[str, list[tuple[float, str]]] = {}
    for fam, rules in rs.RULES.items():
        for key, signal, op in rules:
            if op not in ("<", ">"):
                continue
            value = resolved["default"][fam][key]
            if value is None or isinstance(value, bool):
                continue
            others = sorted((n, p[fam][key]) for n, p in resolved.items() if n != "default" and p[fam][key] != value)
            note = "".join(f"; {n}: {'off' if v is None else format(float(v), 'g')}" for n, v in others)
            word = "min" if op == "<" else "max"
            out.setdefault(signal, []).append((float(value), f"{fam}.{key} {word} {float(value):g} (default{note})"))
    return {signals_schema.TABLE.name: out}


# ---- stage --------------------------------------------------------------------------------------

def _stored_key(spark: SparkSession, config: Config) -> str | None:
    if not tableio.table_exists(spark, config, signals_schema.TABLE.name):
        return None
    df = tableio.read_table(spark, config, signals_schema.TABLE.name)
    if "signals_key" not in df.columns:
        return None
    row = df.select("signals_key").limit(1).first()
    return row[0] if row else None


def run(spark: SparkSession, config: Config, *, force: bool = False, inputs=None, run_id=None) -> StageResult:
    if "rules" not in config.sections:
        raise ConfigError("rules: section missing from the config")
    src = tableio.first_existing(spark, config, config.rules.input_tables)
    fp = fingerprint_tables(spark, config, [src])

    def body(ctx: StageRun) -> Counts:
        docs = tableio.read_table(spark, config, src)
        key = signals_key(config, fp)
        stored = _stored_key(spark, config)
        if stored == key and not force:
            ctx.describe("re-decide keep/reasons from stored signals (thresholds changed)")
            old = tableio.read_table(spark, config, signals_schema.TABLE.name)
            base = old.drop("threshold_profile", "keep", "reasons", "decision_run_id")
            if config.storage.table_format != "delta":
                base = base.checkpoint(eager=True)   # parquet cannot overwrite a path it is reading
            decided = decide(base, config, ctx.run_id)
        else:
            ctx.describe("measure rule signals")
            decided = decide(measure(docs, config), config, ctx.run_id) \
                .withColumn("signals_key", F.lit(key)).withColumn("signals_run_id", F.lit(ctx.run_id))
        ctx.write_output(signals_schema.TABLE, decided)

        verdict = tableio.read_table(spark, config, signals_schema.TABLE.name).select("doc_id", "keep", "reasons")
        ctx.describe("write clean")
        kept = docs.join(verdict.where("keep").select("doc_id"), "doc_id", "left_semi")
        version = ctx.write_output(clean_schema.TABLE, kept)
        dropped = docs.join(verdict.where(~F.col("keep")), "doc_id").select(
            "doc_id",
            F.split(F.col("reasons")[0], r"\.")[0].alias("reason"),
            F.array_join("reasons", ",").alias("detail"),
            "source_file", "source_record", "url", "dump")
        n_rej = ctx.write_rejected(dropped)
        rows_in = docs.count()
        return Counts(rows_in, ctx.rows_written("clean"), n_rej, version)

    return run_stage(spark, config, "rules", inputs=[src], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def main() -> int:
    from jobs.cli import stage_main

    return stage_main("rules")


if __name__ == "__main__":
    sys.exit(main())
