"""Rule signals: every family's evidence for one document, measured once into `rule_signals`.

``compute_signals(text, profile)`` cuts the text into shared units (words, lines) once and lets each
family module measure its signals from them (plain Python + numpy, no Spark). Keep / reasons are
decided elsewhere from these numbers and configurable thresholds, so thresholds can be re-tuned
without measuring again. ``signals_mapper`` is the ``mapInArrow`` adapter that runs it on the workers.
"""
from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa

from corpusmill.udfs.rules import c4, fineweb, gopher, internlm
from corpusmill.udfs.rules.base import Family, Profile, units

# (name, kind, what it holds); kind: long | double | bool. The table schema is built from this list.
SIGNALS: list[tuple[str, str, str]] = [
    ("chars", "long", "characters in text"),
    ("words", "long", "word tokens (punctuation tokens included) from the profile's word splitter"),
    *gopher.SIGNALS, *c4.SIGNALS, *fineweb.SIGNALS, *internlm.SIGNALS,
]
SIGNAL_NAMES = [s[0] for s in SIGNALS]

# In the order FineWeb applies them: `reason` in `rejected` is the first family that fails.
FAMILIES: list[Family] = [gopher.REPETITION, gopher.QUALITY, c4.FAMILY, fineweb.FAMILY,
                          internlm.SEPARATORS, internlm.CHARACTERS, internlm.PUNCTUATION]

__all__ = ["FAMILIES", "SIGNALS", "SIGNAL_NAMES", "Profile", "compute_signals", "failed_rules", "signals_mapper"]


def compute_signals(text: str | None, profile: Profile, language: str | None = None) -> dict:
    """All rule signals of one text (see SIGNALS for what each holds)."""
    u = units(text, profile)
    return {"chars": len(u.text), "words": len(u.words), **gopher.measure(u, profile, language),
            **c4.measure(u, profile), **fineweb.measure(u, profile), **internlm.measure(u)}


def failed_rules(signals: dict, thresholds: dict[str, Any]) -> list[str]:
    """Names ("family.rule") of the rules a document fails; the reference for the Spark decision.

    thresholds: family name -> its thresholds dataclass (a family left out is not applied).
    """
    return [r for fam in FAMILIES if fam.name in thresholds for r in fam.failed(signals, thresholds[fam.name])]


# ---- Arrow batch adapter -------------------------------------------------------------------------

def profile_name(names, language: str | None) -> str:
    """The profile of a document language: its own, else its base language's (zh for pycld2's zh-Hant),
    else `default`."""
    lang = (language or "").lower()
    for name in (lang, lang.split("-")[0]):
        if name in names and name != "default":
            return name
    return "default"


def resolve_profile(profiles: dict[str, dict], language: str | None) -> tuple[str, Profile]:
    """(profile name, Profile) for a document language (profile_name)."""
    name = profile_name(profiles, language)
    return name, Profile(**profiles[name])


def signals_mapper(profiles: dict[str, dict], out_schema, passthrough: list[str]):
    """A mapInArrow function: batches with `passthrough` columns + text -> passthrough, signal_profile, signals.

    profiles: signal profile name -> Profile fields (plain dicts, so the closure pickles small);
    the profile is chosen by the lower-cased `language` column. out_schema: pyarrow output schema.
    """
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        cache: dict[str, tuple[str, Profile]] = {}
        for batch in batches:
            cols: dict[str, list] = {name: [] for name in out_schema.names}
            langs = batch.column("language").to_pylist()
            texts = batch.column("text").to_pylist()
            for name in passthrough:
                cols[name] = batch.column(name).to_pylist()
            prof_col = cols["signal_profile"]
            sig_cols = [(name, cols[name]) for name in SIGNAL_NAMES]
            for lang, text in zip(langs, texts):
                key = lang or ""
                if key not in cache:
                    cache[key] = resolve_profile(profiles, lang)
                pname, prof = cache[key]
                sig = compute_signals(text, prof, lang)
                prof_col.append(pname)
                for name, col in sig_cols:
                    col.append(sig[name])
            yield pa.RecordBatch.from_arrays(
                [pa.array(cols[f.name], type=f.type) for f in out_schema], schema=out_schema)

    return run
