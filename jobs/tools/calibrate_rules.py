"""`corpusmill calibrate-rules`: a language's rule thresholds from reference text, by FineWeb-2's method.

The reference (files, or a table of the store) is read with Spark; its documents in the language
(pycld2, as the format stage detects it; a table's own `language` column) are measured by the rules
stage's own signal code under the language's signal profile; each configured rule is cut where the
reference loses at most `calibrate_rules.max_loss` (udfs/rules/calibrate.py). The proposals go to a
YAML file that is a `--conf` overlay (`rules.thresholds.<language>`), written only once everything
has succeeded and the block has loaded as config; the report beside it says what each limit drops
of the reference and of the store's current `documents` in that language.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.console import print_rows
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.stages import rules as rules_stage
from corpusmill.udfs.rules import calibrate as cal
from corpusmill.udfs.rules import signals as rs


@dataclass
class CalibrateRulesConfig:
    """The `calibrate_rules:` section of conf/default.yaml."""

    max_loss: float             # each calibrated rule drops at most this share of the reference documents
    min_documents: int          # fewer reference documents in the language: stop; fewer with a value: rule kept
    min_lines: int              # line rules read only reference documents with this many non-blank lines
    rules: list[str]            # the family.rule limits calibrated; every other rule keeps its value

    def __post_init__(self) -> None:
        if not 0.0 < self.max_loss < 0.5:
            raise ConfigError(f"calibrate_rules.max_loss: expected a share in (0, 0.5), got {self.max_loss}")
        if self.min_documents < 1:
            raise ConfigError(f"calibrate_rules.min_documents: expected >= 1, got {self.min_documents}")
        if self.min_lines < 1:
            raise ConfigError(f"calibrate_rules.min_lines: expected >= 1, got {self.min_lines}")
        known = cal.numeric_rules()
        for r in self.rules:
            if r not in known:
                raise ConfigError(f"calibrate_rules.rules: {r!r} is not a rule with a numeric limit "
                                  f"(family.rule, e.g. gopher_quality.min_alpha_words_frac)")


class ReferenceTooSmall(ValueError):
    """The reference cannot calibrate the language (one line, exit 2)."""

    cli_kind = "reference too small"


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--language", required=True, help="language code the thresholds are for (zh, ja, de, ...)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--reference", nargs="+", metavar="PATH",
                     help="reference files: .jsonl / .jsonl.gz / .json (one document per line, --text-field), "
                          ".txt (one document per file); folders and globs too")
    src.add_argument("--table", help="a table of the store as the reference (its `language` column selects)")
    ap.add_argument("--text-field", default="text", help="the text field of JSON lines (default: text)")
    ap.add_argument("--out", required=True, metavar="FILE", help="YAML overlay to write (rules.thresholds.<language>)")


def _files(paths: list[str]) -> tuple[list[str], list[str]]:
    """(JSON files, text files) under the given paths; a local path that matches nothing is an error."""
    found: list[str] = []
    for p in paths:
        if "://" in p:
            found.append(p)
            continue
        hits = sorted(glob.glob(os.path.expanduser(p)))
        if not hits:
            raise FileNotFoundError(f"--reference {p}: no such file or folder")
        for h in hits:
            found += sorted(str(f) for f in Path(h).rglob("*") if f.is_file()) if os.path.isdir(h) else [h]
    is_json = [f for f in found if f.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz"))]
    is_text = [f for f in found if f.endswith((".txt", ".txt.gz"))]
    if not is_json and not is_text:
        raise FileNotFoundError(f"--reference {' '.join(paths)}: no .jsonl, .json or .txt files there")
    return is_json, is_text


def reference_frame(spark: SparkSession, config: Config, args: argparse.Namespace) -> DataFrame:
    """doc_id, language, text of the reference documents (language as detected, or the table's)."""
    if args.table:
        df = tableio.read_table(spark, config, args.table)
        if "text" not in df.columns or "language" not in df.columns:
            raise ConfigError(f"--table {args.table}: needs `text` and `language` columns")
        return df.select(F.sha1(F.coalesce("text", F.lit(""))).alias("doc_id"), "language", "text")
    json_files, text_files = _files(args.reference)
    parts = []
    if json_files:
        parts.append(spark.read.schema(f"`{args.text_field}` string").json(json_files)
                     .select(F.col(f"`{args.text_field}`").alias("text")))
    if text_files:
        parts.append(spark.read.text(text_files, wholetext=True).select(F.col("value").alias("text")))
    df = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    df = df.where(F.col("text").isNotNull()).select(F.sha1("text").alias("doc_id"), "text")
    return df.mapInArrow(cal.language_batches, "doc_id string, text string, language string")


def in_language(df: DataFrame, lang: str) -> DataFrame:
    """The rows whose language is `lang` or one of its variants (zh-Hant for zh), relabelled `lang`."""
    base = F.lower(F.split(F.coalesce(F.col("language"), F.lit("")), "-").getItem(0))
    return (df.where(base == lang).select("doc_id", "text", F.lit(lang).alias("language"))
            .withColumn("dump", F.lit("reference")))


def signal_columns(spark: SparkSession, config: Config, docs: DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    """The documents' rule signals (the stage's own measure), as float arrays with NaN for null."""
    pdf = rules_stage.measure(docs, config).select(*names).toPandas()
    return {n: pdf[n].astype("float64").to_numpy() for n in names}


def current_limits(config: Config, lang: str) -> dict[str, float | None]:
    resolved = config.rules.resolved_thresholds()
    prof = resolved[lang] if lang in resolved else resolved["default"]
    out = {}
    for rule in cal.numeric_rules():
        fam, key = rule.split(".")
        v = getattr(prof[fam], key)
        out[rule] = None if v is None else float(v)
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    return "off" if x is None else f"{x:g}"


def overlay_yaml(lang: str, proposals: list[cal.Proposal], header: list[str]) -> str:
    """The calibrated limits as a `rules.thresholds.<lang>` block, a comment per rule."""
    by_family: dict[str, list[cal.Proposal]] = {}
    for p in proposals:
        if p.calibrated:
            by_family.setdefault(p.rule.split(".")[0], []).append(p)
    lines = [f"# {h}" for h in header] + ["rules:", "  thresholds:", f"    {lang}:"]
    for fam in (f.name for f in rs.FAMILIES):
        if fam not in by_family:
            continue
        lines.append(f"      {fam}:")
        for p in by_family[fam]:
            key = p.rule.split(".")[1]
            lines.append(f"        {key}: {p.proposed:g}".ljust(44)
                         + f"# was {_num(p.current)}; drops {_pct(p.reference_loss)} of the reference")
    return "\n".join(lines) + "\n"


def run_cli(args: argparse.Namespace, config: Config) -> int:
    cfg: CalibrateRulesConfig = config.calibrate_rules
    lang = args.language.lower()
    spark = get_spark(config)
    known = cal.numeric_rules()
    names = sorted({known[r][0] for r in cfg.rules} | {cal.LINES_SIGNAL})

    ref_all = reference_frame(spark, config, args).cache()
    ref = in_language(ref_all, lang).cache()
    n_all, n_ref = ref_all.count(), ref.count()
    if n_ref < cfg.min_documents:
        raise ReferenceTooSmall(
            f"{n_ref:,} reference document{'s' if n_ref != 1 else ''} in {lang} (of {n_all:,} read); calibrating "
            f"needs at least {cfg.min_documents:,} (calibrate_rules.min_documents): give more {lang} text")
    ref_signals = signal_columns(spark, config, ref, names)
    current = current_limits(config, lang)
    proposals = cal.propose(ref_signals, current, cfg.rules, max_loss=cfg.max_loss,
                            min_documents=cfg.min_documents, min_lines=cfg.min_lines)
    new_limits = {**{r: current[r] for r in cfg.rules}, **{p.rule: p.proposed for p in proposals if p.calibrated}}

    doc_signals = None
    if tableio.table_exists(spark, config, "documents"):
        docs = in_language(tableio.read_table(spark, config, "documents"), lang)
        if docs.limit(1).count():
            doc_signals = signal_columns(spark, config, docs, names)

    def doc_loss(rule: str, limit: float | None) -> float | None:
        if doc_signals is None:
            return None
        col = doc_signals[known[rule][0]]
        return float(np.where(np.isnan(col), False, cal.fails(np.nan_to_num(col), known[rule][1], limit)).mean())

    rows = [[p.rule, _num(p.current), _num(p.proposed) if p.calibrated else "(kept)",
             f"{_pct(p.current_loss)} -> {_pct(p.reference_loss if p.calibrated else p.current_loss)}",
             f"{_pct(doc_loss(p.rule, p.current))} -> {_pct(doc_loss(p.rule, new_limits[p.rule]))}", p.note]
            for p in proposals]
    n_docs = len(next(iter(doc_signals.values()))) if doc_signals else 0
    print(f"calibrate-rules {lang}: {n_ref:,} reference documents (of {n_all:,} read), each rule cut where the "
          f"reference loses at most {_pct(cfg.max_loss)}; documents in {lang}: {n_docs:,}")
    print_rows(["rule", "current", "calibrated", "reference dropped", f"documents ({lang}) dropped", "note"], rows,
               max_width=90)
    cur_all = {r: current[r] for r in cfg.rules}
    print(f"all {len(cfg.rules)} rules together drop {_pct(cal.union_loss(ref_signals, cur_all))} -> "
          f"{_pct(cal.union_loss(ref_signals, new_limits))} of the reference"
          + (f", {_pct(cal.union_loss(doc_signals, cur_all))} -> {_pct(cal.union_loss(doc_signals, new_limits))} "
             f"of the documents in {lang}" if doc_signals else ""))

    header = [f"written by `corpusmill calibrate-rules --language {lang}` on {dt.date.today().isoformat()}: "
              f"{n_ref:,} reference documents", f"each rule cut where the reference loses at most "
              f"{_pct(cfg.max_loss)} (calibrate_rules.max_loss); rules not listed keep their values"]
    write_overlay(Path(args.out), overlay_yaml(lang, proposals, header))
    print(f"wrote {args.out}: {sum(p.calibrated for p in proposals)} calibrated limits for rules.thresholds.{lang} "
          f"(use it as --conf, or copy the block into your config)")
    return 0


def write_overlay(out: Path, text: str) -> None:
    """Write the overlay atomically, once its `rules` block has loaded over conf/default.yaml's."""
    import yaml

    from corpusmill.jobs.core import config as config_mod

    merged = config_mod._merge(config_mod._default_yaml(), yaml.safe_load(text))
    config_mod._check(merged["rules"], rules_stage.RulesConfig, "rules")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


TOOLS = [Tool("calibrate-rules", "propose a language's rule thresholds from reference text (FineWeb-2's method)",
              add_arguments, run_cli, section=CalibrateRulesConfig, section_name="calibrate_rules")]
