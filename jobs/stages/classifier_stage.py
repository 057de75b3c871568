"""What the two classifier stages (safety, quality) share: model resolution and checks, per-language
thresholds, the keep/reject split from stored signals, report lines."""
from __future__ import annotations

import logging
import os
from dataclasses import fields, replace
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import Counts, StageRun, fingerprint
from corpusmill.udfs.classifiers.classify import ClassifierSpec, cascade_note, check_model, model_labels
from corpusmill.udfs.ml_extra import require
from corpusmill.udfs.model_files import in_hub_cache, is_hub_id

log = logging.getLogger("corpusmill")


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
    """The spec with its model path resolved, after checking the model exists and has `label`; a
    classifier turned off (`model: none`) is returned as it is."""
    if spec.off:
        return spec
    require(f"{key} (a classifier; `{key}.model: none` turns it off)")
    resolved = replace(spec, model=resolve_model(config, spec.model))
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


def split_rows(ctx: StageRun, src: DataFrame, sig: DataFrame, out_table, signals_name: str, detail: Column) -> Counts:
    """Kept rows of src -> out_table, the others -> `rejected` (reason = first reason), from stored signals."""
    rows_in = ctx.rows_written(signals_name)
    kept_ids = sig.where(F.col("keep")).select("doc_id")
    dropped = sig.where(~F.col("keep")).select("doc_id", F.col("reasons")[0].alias("reason"), detail.alias("detail"))
    version = ctx.write_output(out_table, src.join(kept_ids, "doc_id", "left_semi").select(out_table.column_names))
    rejected = src.select("doc_id", "url", "dump", "source_file", "source_record").join(dropped, "doc_id")
    n_rej = ctx.write_rejected(rejected)
    return Counts(rows_in, ctx.rows_written(out_table.name), n_rej, version)
