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
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError, _check
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint_tables, run_stage
from corpusmill.schemas import clean as clean_schema
from corpusmill.schemas import rule_signals as signals_schema
from corpusmill.udfs.rules import signals as rs
from corpusmill.udfs.rules.base import WORD_UNITS, Profile
from corpusmill.udfs.rules.text_units import SPLITTER_PACKAGES, SPLITTERS

log = logging.getLogger("corpusmill")

SIGNALS_VERSION = "1"      # bump when udfs.rules measures differently: stored signals go stale
INHERIT = "inherit"        # a threshold left out of a language profile takes thresholds.default's value


@dataclass
class RulesConfig:
    input_tables: list[str]                    # the first that exists is filtered (documents)
    signals: dict[str, Profile]                # per language (key = documents.language) + default
    thresholds: dict[str, dict[str, dict[str, Any]]]  # per language + default: family -> rule -> value or INHERIT

    def __post_init__(self) -> None:
        if "default" not in self.signals:
            raise ConfigError("rules.signals.default: missing (the profile of languages without their own)")
        for name, p in self.signals.items():
            if p.words not in SPLITTERS:
                raise ConfigError(f"rules.signals.{name}.words: {p.words!r} is not one of {', '.join(SPLITTERS)}")
            for unit in ("c4_line_words", "gopher_quality_words", "gopher_repetition_words", "fineweb_words"):
                if getattr(p, unit) not in WORD_UNITS:
                    raise ConfigError(f"rules.signals.{name}.{unit}: expected one of {', '.join(WORD_UNITS)}, "
                                      f"got {getattr(p, unit)!r}")
        if "default" not in self.thresholds:
            raise ConfigError("rules.thresholds.default: missing (the thresholds of languages without their own)")
        default = _checked_thresholds(self.thresholds["default"], None, "default")
        self.thresholds = {name: default if name == "default" else _checked_thresholds(v, default, name)
                           for name, v in self.thresholds.items()}

    def resolved_thresholds(self) -> dict[str, dict[str, Any]]:
        """profile -> family -> its thresholds dataclass, inherited values taken from default."""
        base = self.thresholds["default"]
        return {name: {fam.name: fam.thresholds(**{k: base[fam.name][k] if v == INHERIT else v
                                                    for k, v in prof[fam.name].items()})
                       for fam in rs.FAMILIES}
                for name, prof in self.thresholds.items()}

    def signal_profiles(self) -> dict[str, dict]:
        return {name: dataclasses.asdict(p) for name, p in self.signals.items()}


def _checked_thresholds(raw: dict, default: dict | None, name: str) -> dict[str, dict[str, Any]]:
    """One profile's family -> rule -> value, type-checked by each family's thresholds dataclass.

    INHERIT marks a rule a language profile leaves to `default` (checked first; it must set every rule).
    """
    key = f"rules.thresholds.{name}"
    families = [fam.name for fam in rs.FAMILIES]
    for fam in raw:
        if fam not in families:
            raise ConfigError(f"{key}.{fam}: unknown key (known: {', '.join(sorted(families))})")
    out = {}
    for fam in rs.FAMILIES:
        given = {k: v for k, v in raw.get(fam.name, {}).items() if v != INHERIT}
        checked = _check({**(default[fam.name] if default else {}), **given}, fam.thresholds, f"{key}.{fam.name}")
        out[fam.name] = {k: (v if k in given or default is None else INHERIT)
                         for k, v in dataclasses.asdict(checked).items()}
    return out


def check(config: Config) -> None:
    """Before Spark: every word splitter the signal profiles name can be imported here."""
    import importlib.util

    if "rules" not in config.sections:
        return
    for name, p in config.rules.signals.items():
        pkg = SPLITTER_PACKAGES.get(p.words)
        if pkg and importlib.util.find_spec(pkg) is None:
            other = next((w for w, q in SPLITTER_PACKAGES.items() if q != pkg), "")
            raise ConfigError(f"rules.signals.{name}.words: {p.words} needs the Python package {pkg!r}, which is "
                              f"not installed (pip install {pkg}, or set words: {other})")


# ---- signals ------------------------------------------------------------------------------------

_PASS = ["doc_id", "dump", "language"]
_MEASURED = _PASS + ["signal_profile"] + rs.SIGNAL_NAMES


def signals_key(config: Config, input_fingerprint: str) -> str:
    blob = json.dumps({"v": SIGNALS_VERSION, "signals": config.rules.signal_profiles(), "in": input_fingerprint},
                      sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def measure(docs: DataFrame, config: Config) -> DataFrame:
    """doc_id, dump, language, signal_profile and every signal, computed in Arrow batches."""
    out = signals_schema.TABLE.schema
    spark_schema = type(out)([out[c] for c in _MEASURED])
    arrow_schema = to_arrow_schema(spark_schema)
    profiles = config.rules.signal_profiles()
    src = docs.select(*_PASS, "text")
    return src.mapInArrow(rs.signals_mapper(profiles, arrow_schema, passthrough=_PASS), spark_schema)


# ---- decision -----------------------------------------------------------------------------------

def threshold_profile_col(config: Config) -> Column:
    """The thresholds profile of each document's language, as udfs.rules.signals.profile_name picks it."""
    names = sorted(n for n in config.rules.thresholds if n != "default")
    if not names:
        return F.lit("default")
    lang = F.lower(F.coalesce(F.col("language"), F.lit("")))
    base = F.split(lang, "-").getItem(0)
    return F.when(lang.isin(names), lang).when(base.isin(names), base).otherwise(F.lit("default"))


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
    for fam in rs.FAMILIES:
        for key, signal, op in fam.rules:
            value = getattr(resolved["default"][fam.name], key)
            expr = _fails(signal, op, value)
            for n in names:   # only profiles that differ from default get their own branch
                own = getattr(resolved[n][fam.name], key)
                if own != value:
                    expr = F.when(prof == n, _fails(signal, op, own)).otherwise(expr)
            failed.append(F.when(expr, F.lit(f"{fam.name}.{key}")))
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
    for fam in rs.FAMILIES:
        for key, signal, op in fam.rules:
            if op not in ("<", ">"):
                continue
            value = getattr(resolved["default"][fam.name], key)
            if value is None or isinstance(value, bool):
                continue
            others = sorted((n, getattr(p[fam.name], key)) for n, p in resolved.items()
                            if n != "default" and getattr(p[fam.name], key) != value)
            note = "".join(f"; {n}: {'off' if v is None else format(float(v), 'g')}" for n, v in others)
            label = f"{fam.name}.{key} {'min' if op == '<' else 'max'} {float(value):g} (default{note})"
            out.setdefault(signal, []).append((float(value), label))
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
        rows_in = ctx.rows_written(signals_schema.TABLE.name)     # one signals row per input document
        return Counts(rows_in, ctx.rows_written("clean"), n_rej, version)

    return run_stage(spark, config, "rules", inputs=[src], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


STAGE = Stage(
    name="rules",
    order=20,
    summary="Gopher / C4 / FineWeb / InternLM2-style signals, then per-language thresholds",
    section=RulesConfig,
    run=run,
    inputs=("documents",),
    outputs=("rule_signals", "clean"),
    check=check,
    report_thresholds=report_thresholds,
)


if __name__ == "__main__":   # spark-submit jobs/stages/rules.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("rules", None))
