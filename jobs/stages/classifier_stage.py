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
from corpusmill.udfs.classifiers.cascade import cut_for
from corpusmill.udfs.classifiers.classify import (ClassifierSpec, Target, cascade_note, check_model, head_meta,
                                                model_labels, operating_band)
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


def checked_models(config: Config, spec: ClassifierSpec, label: str, key: str, label_key: str,
                   thresholds: dict[str, float]) -> dict[str, ClassifierSpec]:
    """language key -> the spec of that key's model (one key, `default`, unless `model` is a
    per-language map): resolved, checked, its band chosen for the thresholds (language -> threshold,
    `default` included) its documents are flagged at."""
    models = spec.models()
    keys = sorted(models)
    return {k: checked_spec(config, replace(spec, model=models[k]), label, key, label_key,
                            key_thresholds(thresholds, k, keys),
                            model_key=f"{key}.model" if keys == ["default"] else f"{key}.model.{k}")
            for k in keys}


def key_thresholds(thresholds: dict[str, float], key: str, keys: list[str]) -> list[float]:
    """The thresholds the documents of a language key are flagged at: those of the languages that
    fall under it (exact tag, then primary subtag, else default, as language_key routes them), and
    the key's own or `default` for its other documents."""
    def key_of(lang: str) -> str:
        low = lang.lower()
        return low if low in keys else (low.split("-")[0] if low.split("-")[0] in keys else "default")

    own = [v for lang, v in thresholds.items() if lang != "default" and key_of(lang) == key]
    return own + [thresholds.get(key, thresholds["default"])]


def checked_spec(config: Config, spec: ClassifierSpec, label: str, key: str, label_key: str,
                 thresholds: list[float], model_key: str = "") -> ClassifierSpec:
    """The spec (one model) with its model path resolved, after checking the model exists and has
    `label`, and with the cascade band chosen for the `thresholds` at which the stage flags `label`; a
    classifier turned off (`model: none`) is returned as it is."""
    if spec.off:
        return spec
    require(f"{key} (a classifier; `{key}.model: none` turns it off)")
    resolved = replace(spec, model=resolve_model(config, spec.model))
    check_model(resolved, model_key or f"{key}.model")
    if os.path.isdir(resolved.model):
        labels = model_labels(resolved)
        if label not in labels:
            raise ConfigError(f"{label_key}: label {label!r} is not one of the model's labels {labels} "
                              f"({resolved.model})")
        note = cascade_note(resolved)
        if note:
            log.warning("%s: %s", key, note)
        elif resolved.cascade and not resolved.band:
            resolved = with_operating_band(config, resolved, label, key, thresholds)
    return resolved


def with_operating_band(config: Config, spec: ClassifierSpec, label: str, key: str,
                        thresholds: list[float]) -> ClassifierSpec:
    """spec with the band for the stage's thresholds (from the validation probabilities the model
    keeps), said in one log line. A model without them keeps its stored band only where that was
    chosen for these thresholds; otherwise one ConfigError names the ways out."""
    choice = operating_band(spec, label, thresholds, config.classifiers.cascade_tolerance)
    if choice is None:
        found = head_meta(spec)
        stored = (found[1].get("cascade") or {}).get("cuts", [0.5]) if found else [0.5]
        flagged = model_labels(spec).index(label)
        wanted = sorted({cut_for(t, flagged) for t in thresholds})
        if not all(any(abs(c - s) < 1e-9 for s in stored) for c in wanted):
            said = ", ".join(f"{cut_for(c, flagged):g}" for c in stored)
            raise ConfigError(
                f"{key}: the model's cascade band was chosen for p({label}) >= {said}, and the stage decides at "
                f"{', '.join(f'{t:g}' for t in sorted(set(thresholds)))}; retrain it with `corpusmill train-classifier` "
                f"(the model then keeps what a stage needs to choose its own band), set {key}.cascade: false, or "
                f"give {key}.band: [lo, hi]")
        return spec
    line = f"{key}: {band_line(label, thresholds, choice)}"
    if line not in _said:                  # preflight and the stage's run both check: one line per process
        _said.add(line)
        log.info("%s", line)
    return replace(spec, band=choice["band"])


_said: set[str] = set()


def band_line(label: str, thresholds: list[float], choice: dict) -> str:
    """What the chosen band costs and keeps on the model's validation split, per threshold."""
    parts = []
    for i, cut in enumerate(choice["cuts"]):
        t = cut if choice["flagged"] == 1 else 1 - cut
        f = choice["f1"][i][choice["flagged"]]
        fb, fc = choice["f1_bert"][i][choice["flagged"]], choice["f1_cheap"][i][choice["flagged"]]
        parts.append(f"at p({label}) >= {t:g}: F1 {f:.3f}, recall {choice['recall'][i]:.3f} (encoder alone "
                     f"{fb:.3f} / {choice['recall_bert'][i]:.3f}, first pass alone {fc:.3f} / "
                     f"{choice['recall_cheap'][i]:.3f})")
    lo, hi = choice["band"]
    return (f"cascade band {lo:.3f}..{hi:.3f}, {100 * choice['share']:.1f}% of the model's validation split to "
            f"the encoder; there " + "; ".join(parts))


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


def models_fingerprint(specs: dict[str, ClassifierSpec]) -> str:
    """model_fingerprint of every language key's model."""
    return fingerprint([f"{k}={model_fingerprint(s)}" for k, s in sorted(specs.items())])


def language_targets(*classifiers: tuple[dict[str, ClassifierSpec], str, str, str]) -> dict[str, list[Target]]:
    """language key -> the targets its documents are scored with: for each (specs by key, label,
    column, decided column), the key's own model or the classifier's `default` one."""
    keys = sorted({k for specs, *_ in classifiers for k in specs})
    return {k: [Target(specs.get(k, specs["default"]), label, col, decided) for specs, label, col, decided in classifiers]
            for k in keys}


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
