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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterator, Tuple

import pandas as pd

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.core import tableio
from jobs.cli import stage_main
from jobs.core.config import Config, ConfigError
from jobs.core.stage import Counts, StageResult, StageRun, fingerprint, fingerprint_tables, run_stage
from schemas import safe as safe_schema
from schemas import safety_signals as signals_schema
from udfs.classifiers.classify import ClassifierSpec, Target, cascade_note, check_model, check_settings, model_labels, score_targets
from udfs.model_files import in_hub_cache, is_hub_id

log = logging.getLogger("corpusmill")

STAGE = "safety"


@dataclass
class DomainListSpec:
    path: str                   # UT1 root, UT1 category folder or a one-domain-a-line file (relative: under storage.root)
    category: str = ""          # category of a plain file (default: the file name)
    categories: list[str] = field(default_factory=list)  # UT1 categories to use ([] = all not marked "white")


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
    toxicity: ClassifierSpec                # model dir (relative: under storage.models) or hub id + inference settings
    pornography: ClassifierSpec
    toxicity_label: str                     # the toxicity model's positive label
    pornography_label: str                  # the pornography model's positive label
    thresholds: dict[str, SafetyThresholds]  # `default` (complete) + per-language overrides (en, zh, ...)

    def __post_init__(self) -> None:
        # value checks at config load time; models and lists are checked when a run starts (check)
        if self.domain_lookup not in ("broadcast", "join"):
            raise ConfigError(f"safety.domain_lookup: expected broadcast or join, got {self.domain_lookup!r}")
        complete_thresholds(self.thresholds, SafetyThresholds, "safety.thresholds")
        check_settings(self.toxicity, "safety.toxicity")
        check_settings(self.pornography, "safety.pornography")


# ---- helpers shared with the quality stage -------------------------------------------------------
def resolve_model(config: Config, model: str) -> str:
    """Relative model paths live under storage.models; an absolute path, URI or hub id stays as it is."""
    if not model or "://" in model or os.path.isabs(os.path.expanduser(model)):
        return os.path.expanduser(model)
    under_models = os.path.join(config.path(config.storage.models), model)
    if os.path.exists(under_models):
        return under_models
    if os.path.exists(model):
        return os.path.abspath(model)
    if is_hub_id(model) and ("/" in model or in_hub_cache(model)):
        # `org/name` (check_model looks in the cache, then on the hub), or a bare `name` such as `gpt2`
        # that is in the Hugging Face cache; other bare names are model folders under storage.models
        return model
    return under_models         # not there: check_model says so, naming the key


def checked_spec(config: Config, spec: ClassifierSpec, label: str, key: str, label_key: str) -> ClassifierSpec:
    """The spec with its model path resolved, after checking the model exists and has `label`."""
    resolved = ClassifierSpec(**{**spec.__dict__, "model": resolve_model(config, spec.model)})
    check_model(resolved, f"{key}.model")
    if os.path.isdir(resolved.model):
        labels = model_labels(resolved)
        if label not in labels:
            raise ConfigError(f"{label_key}: label {label!r} is not one of the model's labels {labels} "
                              f"({resolved.model})")
        note = cascade_note(resolved)
        if note:
            log.warning("%s: %s", key, note)
    return resolved


def complete_thresholds(thresholds: dict, cls: type, key: str) -> dict:
    """lang -> thresholds with every unset value taken from `default` (which must be complete)."""
    if "default" not in thresholds:
        raise ConfigError(f"{key}.default: missing (the thresholds for languages without an override)")
    default = thresholds["default"]
    for f in fields(cls):
        if getattr(default, f.name) is None:
            raise ConfigError(f"{key}.default.{f.name}: missing")
    out = {}
    for lang, t in thresholds.items():
        out[lang] = cls(**{f.name: getattr(t, f.name) if getattr(t, f.name) is not None else getattr(default, f.name)
                           for f in fields(cls)})
    return out


def per_language(lang: Column, thresholds: dict, name: str) -> Column:
    """The threshold `name` for each row's language: exact tag, then primary subtag, then default."""
    overrides = {k: getattr(v, name) for k, v in thresholds.items() if k != "default"}
    default = F.lit(getattr(thresholds["default"], name))
    if not overrides:
        return default
    m = F.create_map(*[x for k, v in sorted(overrides.items()) for x in (F.lit(k.lower()), F.lit(v))])
    low = F.lower(F.coalesce(lang, F.lit("")))
    return F.coalesce(F.try_element_at(m, low), F.try_element_at(m, F.split(low, "-")[0]), default)


def reasons_array(*conds: tuple[Column, Column]) -> Column:
    """array of the reason strings whose condition is true (in the given order)."""
    return F.filter(F.array(*[F.when(c, r) for c, r in conds]), lambda x: x.isNotNull())


def model_fingerprint(spec: ClassifierSpec) -> str:
    """Model identity for the skip-if-done key: files + sizes + mtimes of a local dir (else the id),
    and the settings that change scores (head, strategy, lengths, cascade, band)."""
    p = Path(spec.model)
    settings = f"{spec.head}|{spec.strategy}|{spec.max_length}|{spec.max_chunks}|{spec.cascade}|{spec.band}"
    if p.is_dir():
        items = [f"{f.relative_to(p)}|{f.stat().st_size}|{int(f.stat().st_mtime)}" for f in sorted(p.rglob("*"))
                 if f.is_file() and "onnx" not in f.relative_to(p).parts]
        return fingerprint(items + [settings])
    return fingerprint([spec.model, settings])


def files_fingerprint(paths: list[str]) -> str:
    items = []
    for path in paths:
        p = Path(path)
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        items += [f"{f}|{f.stat().st_size}|{int(f.stat().st_mtime)}" for f in files]
    return fingerprint(items)


# ---- list resolution -------------------------------------------------------------------------------
def domain_specs(config: Config) -> list[tuple[str, str, list[str]]]:
    from udfs.safety.domains import list_files

    out = []
    for i, d in enumerate(config.safety.domain_lists):
        path = config.path(d.path)
        key = f"safety.domain_lists[{i}].path"
        if not os.path.exists(path):
            raise ConfigError(f"{key}: path {path} does not exist (a UT1 folder or a one-domain-a-line file)")
        try:
            list_files(path, d.category, d.categories)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
        out.append((path, d.category, list(d.categories)))
    return out


def word_list_paths(config: Config) -> list[str]:
    from udfs.safety.wordlists import load_wordlists

    out = []
    for i, w in enumerate(config.safety.word_lists):
        lang, sep, p = w.partition("=")
        if not sep or "/" in lang:
            lang, p = "", w
        path = config.path(p)
        key = f"safety.word_lists[{i}]"
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

    from udfs.safety import domains, wordlists

    sc = spark.sparkContext
    terms = wordlists.load_wordlists(wspecs)
    wdigest = wordlists.terms_digest(terms)
    terms_bc = sc.broadcast(terms)
    use_index = config.safety.domain_lookup == "broadcast"
    if use_index:
        index = domains.build_index(dspecs)
        ddigest = index.digest()
        index_bc = sc.broadcast((index.keys, index.codes, index.categories))
        log.info("[safety] domain index: %d entries, %s", len(index), ", ".join(index.categories))

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


def safety_signals(df: DataFrame, spark, config: Config, dspecs, wspecs, tox: ClassifierSpec,
                   porn: ClassifierSpec) -> DataFrame:
    """The `safety_signals` rows for df (documents columns): signals, then keep / reasons."""
    s = config.safety
    th = complete_thresholds(s.thresholds, SafetyThresholds, "safety.thresholds")
    base = df.select("doc_id", "dump", "language", "url", "host", "text")
    sig = blocklist_signals(base, spark, config, dspecs, wspecs)
    sig = score_targets(sig, "text", [Target(tox, s.toxicity_label, "p_toxicity", "toxicity_decided_by"),
                                      Target(porn, s.pornography_label, "p_pornography", "pornography_decided_by")],
                        what="safety")
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
    """Everything that can be wrong with the config, found before any Spark job starts."""
    s = config.safety
    if s.domain_lookup not in ("broadcast", "join"):
        raise ConfigError(f"safety.domain_lookup: expected broadcast or join, got {s.domain_lookup!r}")
    complete_thresholds(s.thresholds, SafetyThresholds, "safety.thresholds")
    dspecs = domain_specs(config)
    wspecs = word_list_paths(config)
    tox = checked_spec(config, s.toxicity, s.toxicity_label, "safety.toxicity", "safety.toxicity_label")
    porn = checked_spec(config, s.pornography, s.pornography_label, "safety.pornography", "safety.pornography_label")
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

    fp = fingerprint([fingerprint_tables(spark, config, [src_name]), model_fingerprint(tox), model_fingerprint(porn),
                      files_fingerprint([p for p, _, _ in dspecs]),
                      files_fingerprint([w.partition("=")[2] or w for w in wspecs])])
    return run_stage(spark, config, STAGE, inputs=[src_name], input_fingerprint=fp, body=body, force=force,
                     run_id=run_id)


def language_note(thresholds: dict, name: str) -> str:
    """'; ja: 2; zh: 2' for the languages whose threshold `name` differs from default's."""
    default = getattr(thresholds["default"], name)
    return "".join(f"; {lang}: {getattr(t, name):g}" for lang, t in sorted(thresholds.items())
                   if lang != "default" and getattr(t, name) != default)


def threshold_lines(thresholds: dict, columns: dict[str, tuple[str, str]]) -> dict[str, list[tuple[float, str]]]:
    """column -> [(default value, label)] for the report; columns: column -> (threshold name, verb, e.g. 'drop at')."""
    out = {}
    for col, (name, word) in columns.items():
        v = float(getattr(thresholds["default"], name))
        out[col] = [(v, f"{name} {word} {v:g} (default{language_note(thresholds, name)})")]
    return out


def report_thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """safety_signals columns -> the default thresholds that drop a document (drawn on the report's histograms)."""
    if "safety" not in config.sections:
        return {}
    th = complete_thresholds(config.safety.thresholds, SafetyThresholds, "safety.thresholds")
    return {signals_schema.TABLE.name: threshold_lines(th, {
        "word_distinct": ("word_min_distinct", "drop at"), "word_per_1k": ("word_per_1k", "drop at"),
        "p_toxicity": ("toxicity", "drop at"), "p_pornography": ("pornography", "drop at")})}


def split_rows(ctx: StageRun, src: DataFrame, sig: DataFrame, out_table, signals_name: str, detail: Column) -> Counts:
    """Kept rows of src -> out_table, the others -> `rejected` (reason = first reason), from stored signals."""
    rows_in = ctx.rows_written(signals_name)
    kept_ids = sig.where(F.col("keep")).select("doc_id")
    dropped = sig.where(~F.col("keep")).select("doc_id", F.col("reasons")[0].alias("reason"), detail.alias("detail"))
    version = ctx.write_output(out_table, src.join(kept_ids, "doc_id", "left_semi").select(out_table.column_names))
    rejected = src.select("doc_id", "url", "dump", "source_file", "source_record").join(dropped, "doc_id")
    n_rej = ctx.write_rejected(rejected)
    return Counts(rows_in, ctx.rows_written(out_table.name), n_rej, version)


# ---- demo ------------------------------------------------------------------------------------------
# Small on purpose: the demo trains one four-head encoder on 2 CPU cores in about two minutes (128
# generated examples per head). Measured on those examples' validation split: lr 5e-4 collapses the
# shared encoder to one class on every head (macro F1 0.33); 1e-4 for three epochs reaches 0.83-1.0.
DEMO_TRAIN = dict(n=128, epochs=3, max_length=48, seed=0, batch_size=8, lr=1e-4, evals_per_epoch=1)


def demo_classifiers(config: Config) -> dict[str, dict[str, tuple[ClassifierSpec, str]]]:
    """model path -> head -> (spec, generator task) for the classifiers the demo's config names."""
    out: dict[str, dict[str, tuple[ClassifierSpec, str]]] = {}
    sections = (("safety", ("toxicity", "pornography")), ("quality", ("advertisement", "fluency")))
    for name, tasks in sections:
        if name not in config.sections:
            continue
        for task in tasks:
            spec = getattr(config.sections[name], task)
            out.setdefault(resolve_model(config, spec.model), {})[spec.head or "default"] = (spec, f"{name}.{task}")
    return out


def train_demo_models(config: Config) -> None:
    """Fine-tune the demo's classifiers (one multi-head model per model path) unless already there."""
    from samplegen import crawl as samplegen
    from jobs.training.train_classifier import TrainSettings, train_heads

    for out, heads in demo_classifiers(config).items():
        key = next(iter(heads.values()))[1]
        if "://" in out or os.path.isfile(os.path.join(out, "config.json")):
            continue
        if not (os.path.isabs(out) and out.startswith(config.path(config.storage.models))):
            raise ConfigError(f"{key}.model: {out} is not a local model under storage.models; the demo only "
                              f"trains models there")
        tasks = {h: samplegen.classifier_examples(task.split(".")[1], DEMO_TRAIN["seed"], DEMO_TRAIN["n"])
                 for h, (_, task) in heads.items()}
        log.info("[demo] training one encoder with %d heads (%s) on generated examples -> %s", len(tasks),
                 ", ".join(tasks), out)
        settings = TrainSettings(**{k: v for k, v in DEMO_TRAIN.items() if k != "n"})
        train_heads(tasks, out, settings)


def write_demo_blocklists(config: Config) -> None:
    """The demo's UT1-format domain folder and per-language word files, from the sample generator."""
    from samplegen import crawl as samplegen

    s = config.safety
    if s.domain_lists:
        root = Path(config.path(s.domain_lists[0].path))
        if not root.exists():
            for cat, doms in sorted(samplegen.DEMO_BLOCKED_DOMAINS.items()):
                (root / cat).mkdir(parents=True, exist_ok=True)
                (root / cat / "domains").write_text("".join(f"{d}\n" for d in doms))
                (root / cat / "usage").write_text("black\n")
    if s.word_lists:
        w = s.word_lists[0]
        root = Path(config.path(w.partition("=")[2] if "=" in w and "/" not in w.partition("=")[0] else w))
        if not root.exists():
            root.mkdir(parents=True)
            for lang, words in sorted(samplegen.DEMO_BLOCKED_WORDS.items()):
                (root / lang).write_text("".join(f"{t}\n" for t in words))


def prepare_demo(spark, config: Config) -> None:
    """Build the demo blocklists and fine-tune the demo classifiers (skipped when present)."""
    write_demo_blocklists(config)
    train_demo_models(config)


def main() -> int:
    return stage_main(STAGE)


if __name__ == "__main__":
    sys.exit(main())
