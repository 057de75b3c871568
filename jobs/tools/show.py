"""`corpusmill show`: sample documents a stage dropped (or kept), with the reason, the stage's signals
for each and the start of its text, so a rule can be judged by eye without writing SQL joins.

Where the pieces live, for a stage's latest successful run (`runs`):
- dropped documents: `rejected` (stage, reason, detail, url); their text: the stage's input table as the
  stage read it (the Delta version current when the run started), else `documents`;
- kept documents: the stage's main output (its last `outputs` table), or its signal table's `keep` rows
  when the main output is not keyed by document (code: `code_files`);
- signals: the table the stage writes just before its main output (`rule_signals`, `dedup`,
  `safety_signals`, `quality_signals`, `longctx_signals`, `code_files`), joined by id.

The sample is deterministic: documents ordered by xxhash64(id, seed), so the same seed shows the same
documents and another seed others. `examples_by_reason` is the same query for the report.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import textwrap
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, NumericType

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.pipeline import stages_by_name

TEXT_COLUMNS = ("text", "content")             # where a table keeps a document's text (code_files: content)
# columns a document's header already shows (reasons: the detail lists them) are left out of its signals
SHOWN_ELSEWHERE = {"doc_id", "file_id", "dump", "language", "url", "title", "source_file", "source_record", "keep",
                   "reasons", "signals_key"} | set(TEXT_COLUMNS)
_TABLE_NAME = re.compile(r"^\w+$")             # runs.inputs holds table names or file paths
MAX_VERSIONS_BACK = 200                        # commits looked through for the version a run read


class NoExamples(ConfigError):
    """Nothing matches what was asked (a reason the stage never gave, a language it never saw)."""


@dataclass
class Sources:
    """Where one stage's dropped and kept documents, their text and their signals are."""

    stage: str
    run: dict | None               # the latest successful `runs` row of the stage
    text: DataFrame | None         # documents as the stage read them (its input table), keyed by doc_id
    fallback_text: DataFrame | None  # `documents` now: text of a dropped document its input no longer holds
    kept: DataFrame | None         # what the stage kept
    signals: DataFrame | None      # the stage's signal table


def _key(df: DataFrame) -> str:
    """A table's document id column: doc_id, else its first column (code_files: file_id)."""
    return "doc_id" if "doc_id" in df.columns else df.columns[0]


def _text_col(df: DataFrame | None) -> str | None:
    return next((c for c in TEXT_COLUMNS if df is not None and c in df.columns), None)


def _read(spark: SparkSession, config: Config, name: str | None, version: int | None = None) -> DataFrame | None:
    if not name or not tableio.table_exists(spark, config, name):
        return None
    return tableio.read_table(spark, config, name, version=version)


def latest_run(spark: SparkSession, config: Config, stage: str) -> dict | None:
    if not tableio.table_exists(spark, config, "runs"):
        return None
    row = (tableio.read_table(spark, config, "runs").where((F.col("stage") == stage) & (F.col("status") == "success"))
           .orderBy(F.col("ended_at").desc()).first())
    return row.asDict() if row else None


def _commit_time(spark: SparkSession, config: Config, name: str, version: int) -> dt.datetime | None:
    """UTC time of a Delta commit (its commitInfo timestamp), None when the commit file is gone."""
    ms = (tableio.commit_info(spark, config, name, version) or {}).get("timestamp")
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).replace(tzinfo=None)


def version_at(spark: SparkSession, config: Config, name: str, started: dt.datetime | None) -> int | None:
    """The table's version when a run started (runs.started_at, UTC): the newest commit made before it.

    None means the current version (Parquet tables, no later commit, or the old commits are gone).
    One writer per storage root means no commit lands between a stage reading its input and starting.
    """
    current = tableio.table_version(spark, config, name)
    if current is None or started is None:
        return None
    for v in range(current, max(-1, current - MAX_VERSIONS_BACK), -1):
        when = _commit_time(spark, config, name, v)
        if when is None:
            return None
        if when <= started:
            return None if v == current else v
    return None


def sources(spark: SparkSession, config: Config, stage: str) -> Sources:
    by_name = {s.name: s for s in stages_by_name()}
    st = by_name.get(stage)
    if st is None:
        raise ConfigError(f"--stage: unknown stage {stage!r} (stages, in order: {', '.join(by_name)})")
    run = latest_run(spark, config, stage)
    if run is None:
        raise ConfigError(f"stage {stage} has no successful run under {config.path(config.storage.warehouse)}: "
                          f"run it first (corpusmill run --stages {stage})")
    signals = _read(spark, config, st.outputs[-2]) if len(st.outputs) >= 2 else None
    kept = _read(spark, config, st.outputs[-1])
    if kept is not None and "doc_id" not in kept.columns:
        kept = signals.where("keep") if signals is not None and "keep" in signals.columns else None
    text = fallback = None
    input_name = next((t for t in run.get("inputs") or [] if _TABLE_NAME.match(t)), None)
    if input_name and tableio.table_exists(spark, config, input_name):
        text = tableio.read_table(spark, config, input_name,
                                  version=version_at(spark, config, input_name, run.get("started_at")))
        if input_name != "documents":
            fallback = _read(spark, config, "documents")
    elif _text_col(signals):               # files in, one row per file in the signal table (code)
        text = signals
    return Sources(stage, run, text, fallback, kept, signals)


# ---- selecting ------------------------------------------------------------------------------------

def reason_matches(reason: str):
    """rejected.reason equal to or starting with `reason` (c4, gopher matches gopher_*); a rule name with
    a dot (c4.min_sentences) also matches the rules the detail lists, not only the first one."""
    col = F.col("reason")
    cond = (col == reason) | col.startswith(reason)
    if "." in reason:
        cond = cond | F.exists(F.split(F.coalesce(F.col("detail"), F.lit("")), r"[,;]\s*"),
                               lambda x: x.startswith(reason))
    return cond


def _rank(ident, seed: int):
    """The sample order: a hash of the id and the seed (the same seed, the same documents)."""
    return F.xxhash64(F.coalesce(ident.cast("string"), F.lit("")), F.lit(int(seed)))


def _rejected_id():
    """A rejected row's id: doc_id, or its source pointer for a record that never got one."""
    return F.coalesce(F.col("doc_id"), F.concat_ws("#", F.col("source_file"), F.col("source_record")))


def _rejected(spark: SparkSession, config: Config, stage: str) -> DataFrame:
    if not tableio.table_exists(spark, config, "rejected"):
        return None
    return tableio.read_table(spark, config, "rejected").where(F.col("stage") == stage)


def stage_reasons(spark: SparkSession, config: Config, stage: str) -> list[tuple[str, int]]:
    """(reason, documents) the stage dropped, most first."""
    rej = _rejected(spark, config, stage)
    if rej is None:
        return []
    return [(r["reason"], r["count"]) for r in rej.groupBy("reason").count()
            .orderBy(F.desc("count"), "reason").collect()]


def _with_language(rej: DataFrame, src: Sources, lang: str) -> DataFrame:
    if src.text is None or "language" not in src.text.columns:
        return rej.limit(0)
    langs = src.text.where(F.col("language") == lang).select(F.col(_key(src.text)).alias("doc_id"))
    return rej.join(langs, "doc_id", "left_semi")


def _no_match_message(spark, config, stage: str, reason: str | None, kept: bool, lang: str | None) -> str:
    if kept:
        return f"{stage} kept no document" + (f" in language {lang!r}" if lang else "") + " in its latest run"
    listed = stage_reasons(spark, config, stage)
    if not listed:
        return f"{stage} dropped no document in its latest run"
    reasons = ", ".join(f"{r} ({n:,})" for r, n in listed)
    if reason and not any(r == reason or r.startswith(reason) for r, _ in listed) and "." not in reason:
        return f"no document dropped by {stage} has a reason matching {reason!r}; its reasons: {reasons}"
    what = f"reason {reason!r}" if reason else "any reason"
    return (f"no document dropped by {stage} for {what}" + (f" is in language {lang!r}" if lang else " matches")
            + f"; its reasons: {reasons}")


# ---- filling in -----------------------------------------------------------------------------------

def _by_id(df: DataFrame | None, ids: list[str]) -> dict[str, dict]:
    if df is None or not ids:
        return {}
    key = _key(df)
    return {r[key]: r.asDict() for r in df.where(F.col(key).isin(ids)).collect()}


def signal_columns(df: DataFrame | None) -> list[str]:
    """The signal table's columns worth showing: not the id, text or bookkeeping, nor numeric arrays
    (MinHash signatures)."""
    if df is None:
        return []
    out = []
    for f in df.schema.fields:
        if f.name in SHOWN_ELSEWHERE or f.name.endswith("_run_id"):
            continue
        if isinstance(f.dataType, ArrayType) and isinstance(f.dataType.elementType, NumericType):
            continue
        out.append(f.name)
    return out


def _truncate(text: str | None, chars: int) -> tuple[str | None, bool]:
    if text is None:
        return None, False
    return (text[:chars], True) if len(text) > chars else (text, False)


def _fill(spark, config, src: Sources, picked: list[dict], chars: int, kept: bool) -> list[dict]:
    """One dict per picked document: ids, reason, url, language, the signals and the text cut to chars."""
    ids = [p["doc_id"] for p in picked if p.get("doc_id")]
    texts = {} if kept else _by_id(src.text, ids)
    missing = [i for i in ids if i not in texts]
    if missing and src.fallback_text is not None:
        texts.update(_by_id(src.fallback_text, missing))
    sigs = _by_id(src.signals, ids)
    cols = signal_columns(src.signals)
    out = []
    for p in picked:
        doc = p if kept else {**texts.get(p.get("doc_id"), {}), **{k: v for k, v in p.items() if v is not None}}
        sig = sigs.get(p.get("doc_id"), {})
        full = doc.get(_text_col_of(doc))
        text, cut = _truncate(full, chars)
        out.append(dict(
            stage=src.stage, doc_id=p.get("doc_id"), kept=kept,
            reason=None if kept else p.get("reason"), detail=None if kept else p.get("detail"),
            url=doc.get("url"), language=doc.get("language") or sig.get("language"), dump=doc.get("dump"),
            title=doc.get("title") or doc.get("path"), source_file=p.get("source_file") or doc.get("source_file"),
            source_record=p.get("source_record") or doc.get("source_record"),
            signals={c: sig.get(c) for c in cols} if sig else {},
            text=text, text_chars=None if full is None else len(full), truncated=cut))
    return out


def _text_col_of(doc: dict) -> str:
    return next((c for c in TEXT_COLUMNS if doc.get(c) is not None), TEXT_COLUMNS[0])


# ---- the two entry points ---------------------------------------------------------------------------

def sample(spark: SparkSession, config: Config, stage: str, *, reason: str | None = None, kept: bool = False,
           n: int = 5, lang: str | None = None, seed: int = 0, chars: int = 300) -> list[dict]:
    """n documents the stage dropped (for a reason matching `reason`) or kept, in the seed's order.

    Raises NoExamples (a ConfigError: exit 2) naming the stage's reasons with counts when nothing matches.
    """
    if kept and reason:
        raise ConfigError("--reason selects dropped documents; leave it out with --kept")
    if n < 1 or chars < 0:
        raise ConfigError("-n must be at least 1 and --chars at least 0")
    src = sources(spark, config, stage)
    if kept:
        if src.kept is None:
            raise NoExamples(f"{stage} has no table of kept documents under "
                             f"{config.path(config.storage.warehouse)}")
        df = src.kept
        key = _key(df)
        if lang:
            df = df.where(F.col("language") == lang)
        rows = df.withColumn("_rank", _rank(F.col(key), seed)).orderBy("_rank", key).limit(n).collect()
        picked = [dict(r.asDict(), doc_id=r[key]) for r in rows]
    else:
        rej = _rejected(spark, config, stage)
        if rej is None:
            raise NoExamples(f"{stage} dropped no document in its latest run (no rejected table)")
        if reason:
            rej = rej.where(reason_matches(reason))
        if lang:
            rej = _with_language(rej, src, lang)
        rows = rej.withColumn("_rank", _rank(_rejected_id(), seed)).orderBy("_rank", "doc_id").limit(n).collect()
        picked = [r.asDict() for r in rows]
    if not picked:
        raise NoExamples(_no_match_message(spark, config, stage, reason, kept, lang))
    return _fill(spark, config, src, picked, chars, kept)


def examples_by_reason(spark: SparkSession, config: Config, stage: str, reasons: list[str], *, per_reason: int = 2,
                       seed: int = 0, chars: int = 200) -> dict[str, list[dict]]:
    """{reason: up to per_reason dropped documents} for the named reasons (exact), in one query per stage;
    the report's examples. A stage without a successful run gives {}."""
    rej = _rejected(spark, config, stage)
    if rej is None or not reasons:
        return {}
    try:
        src = sources(spark, config, stage)
    except ConfigError:          # rejected rows without a run to find the text by: ids and urls only
        src = Sources(stage, None, None, _read(spark, config, "documents"), None, None)
    order = Window.partitionBy("reason").orderBy("_rank", "doc_id")
    rows = (rej.where(F.col("reason").isin(reasons)).withColumn("_rank", _rank(_rejected_id(), seed))
            .withColumn("_n", F.row_number().over(order)).where(F.col("_n") <= per_reason)
            .orderBy("reason", "_n").collect())
    docs = _fill(spark, config, src, [r.asDict() for r in rows], chars, kept=False)
    out: dict[str, list[dict]] = {r: [] for r in reasons}
    for d in docs:
        out[d["reason"]].append(d)
    return {r: v for r, v in out.items() if v}


# ---- printing ----------------------------------------------------------------------------------------

def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_value(x) for x in v) + "]"
    return str(v)


def format_text(docs: list[dict], width: int | None = None) -> str:
    """The terminal form: a header line per document, its fields, signals wrapped, the text indented."""
    width = width or max(60, min(120, shutil.get_terminal_size((100, 20)).columns))
    lines = []
    for i, d in enumerate(docs, 1):
        verdict = "kept" if d["kept"] else f"dropped: {d['reason']}"
        lines.append(f"── {i}/{len(docs)}  {d['stage']}  {d['doc_id']}  [{verdict}]")
        for label, value in (("url", d["url"]), ("title", d["title"]), ("language", d["language"]),
                             ("dump", d["dump"]), ("detail", d["detail"]),
                             ("source", d["source_file"] and f"{d['source_file']} @ {d['source_record']}")):
            if value:
                lines.append(f"{label + ':':<10}{value}")
        sig = "  ".join(f"{k}={_value(v)}" for k, v in d["signals"].items() if v not in (None, ""))
        if sig:
            lines.extend(textwrap.wrap(sig, width, initial_indent="signals:  ", subsequent_indent=" " * 10,
                                       break_on_hyphens=False, break_long_words=False))
        if d["text"] is None:
            lines.append("text:     (none stored for this record)")
        else:
            cut = f", the first {len(d['text']):,} shown" if d["truncated"] else ""
            lines.append(f"text ({d['text_chars']:,} chars{cut}):")
            body = d["text"] + (" …" if d["truncated"] else "")
            lines.extend("    " + ln for ln in body.splitlines() or [""])
        lines.append("")
    return "\n".join(lines)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--stage", required=True, help="the stage whose dropped (or kept) documents to show")
    ap.add_argument("--reason", help="only this reason: exact or a prefix (c4, gopher matches gopher_*); a rule "
                                     "with a dot (c4.min_sentences) also matches the rules listed in the detail")
    ap.add_argument("--kept", action="store_true", help="documents the stage kept instead of dropped ones")
    ap.add_argument("-n", type=int, default=5, help="how many documents (default 5)")
    ap.add_argument("--lang", help="only documents in this language (documents.language, e.g. en, zh)")
    ap.add_argument("--chars", type=int, default=300, help="characters of text shown per document (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="another seed shows other documents (default 0)")
    ap.add_argument("--json", action="store_true", help="one JSON object per document")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    spark = get_spark(config)
    docs = sample(spark, config, args.stage, reason=args.reason, kept=args.kept, n=args.n, lang=args.lang,
                  seed=args.seed, chars=args.chars)
    if args.json:
        for d in docs:
            print(json.dumps(d, default=str, ensure_ascii=False))
    else:
        print(format_text(docs))
    return 0


TOOLS = [Tool("show", "print sample documents a stage dropped (by reason) or kept, with their signals and text",
              add_arguments, run_cli)]
