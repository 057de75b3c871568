"""Rule signals: per-document evidence for the Gopher, C4, FineWeb and InternLM2-style rules.

``compute_signals(text, profile)`` measures one text (plain Python + numpy, no Spark); the
decision (keep / reasons) is made elsewhere from these numbers and configurable thresholds, so
thresholds can be re-tuned without measuring again. ``signals_mapper`` is the ``mapInArrow``
adapter that runs it over Arrow batches on the workers.

The Gopher / C4 / FineWeb signals reproduce the quantities datatrove's GopherQualityFilter,
GopherRepetitionFilter, C4QualityFilter and FineWebQualityFilter compare against their thresholds
(same line splitting, same greedy duplicate-n-gram scan, same "first most common n-gram" tie-break),
with a spaCy-like word splitter instead of spaCy itself.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from udfs.rules import text_units
from udfs.rules.stopwords import stop_words_for

# (name, kind, what it holds); kind: long | double | bool. The table schema is built from this list.
SIGNALS: list[tuple[str, str, str]] = [
    ("chars", "long", "characters in text"),
    ("words", "long", "word tokens (punctuation tokens included) from the profile's word splitter"),
    # Gopher quality
    ("gq_nonsymbol_words", "long", "Gopher: words with at least one non-punctuation character"),
    ("gq_mean_word_len", "double", "Gopher: mean length of the non-symbol words (null when none)"),
    ("gq_hash_ratio", "double", "Gopher: '#' characters per word"),
    ("gq_ellipsis_ratio", "double", "Gopher: ellipses ('...' or '…') per word"),
    ("gq_bullet_lines_frac", "double", "Gopher: share of lines starting with a bullet ('•' or '-')"),
    ("gq_ellipsis_lines_frac", "double", "Gopher: share of lines ending with an ellipsis"),
    ("gq_alpha_words_frac", "double", "Gopher: share of words containing a letter"),
    ("gq_stop_words", "long", "Gopher: distinct stop words of the document's language present (null: no list)"),
    # Gopher repetition
    ("gr_dup_para_frac", "double", "Gopher: share of paragraphs (split on blank lines) that repeat an earlier one"),
    ("gr_dup_para_char_frac", "double", "Gopher: characters in repeated paragraphs / characters"),
    ("gr_dup_line_frac", "double", "Gopher: share of lines that repeat an earlier line"),
    ("gr_dup_line_char_frac", "double", "Gopher: characters in repeated lines / characters"),
    *[(f"gr_top{n}_char_frac", "double", f"Gopher: characters covered by the most frequent word {n}-gram / characters")
      for n in (2, 3, 4)],
    *[(f"gr_dup{n}_char_frac", "double", f"Gopher: characters in duplicated word {n}-grams / characters")
      for n in range(5, 11)],
    # C4
    ("c4_lines", "long", "C4: lines"),
    ("c4_long_word_lines", "long", "C4: lines dropped for a word longer than max_word_chars"),
    ("c4_citations", "long", "C4: citation markers removed ([1], [edit], [citation needed])"),
    ("c4_no_terminal_punct_lines", "long", "C4: lines dropped for not ending in terminal punctuation"),
    ("c4_short_lines", "long", "C4: lines dropped for having fewer than 3 words"),
    ("c4_lorem_ipsum", "bool", "C4: a remaining line contains 'lorem ipsum'"),
    ("c4_javascript_lines", "long", "C4: lines dropped for mentioning javascript"),
    ("c4_curly_bracket", "bool", "C4: a remaining line contains '{'"),
    ("c4_policy_lines", "long", "C4: lines dropped as cookie / terms-of-use / privacy boilerplate"),
    ("c4_kept_lines", "long", "C4: lines that survive the line filters"),
    ("c4_sentences", "long", "C4: sentences in the surviving lines"),
    # FineWeb
    ("fw_lines", "long", "FineWeb: non-blank lines"),
    ("fw_line_punct_frac", "double", "FineWeb: share of non-blank lines ending in terminal punctuation"),
    ("fw_short_line_frac", "double", "FineWeb: share of non-blank lines of at most short_line_chars characters"),
    ("fw_dup_line_char_frac", "double", "FineWeb: characters in repeated lines / non-newline characters"),
    ("fw_newline_word_ratio", "double", "FineWeb: newlines per word"),
    # InternLM2: separators and line breaks
    ("sep_max_run", "long", "longest run of one repeated separator character (-=_*~#.·•─━═)"),
    ("sep_lines_frac", "double", "share of non-blank lines with no letter or digit (separator / symbol lines)"),
    ("max_line_chars", "long", "characters in the longest line"),
    ("newline_frac", "double", "line breaks / characters"),
    ("max_newline_run", "long", "longest run of consecutive line breaks"),
    # InternLM2: abnormal characters
    ("chr_control_frac", "double", "control characters (other than tab / line breaks) / characters"),
    ("chr_replacement_frac", "double", "U+FFFD replacement characters / characters"),
    ("chr_private_use_frac", "double", "private-use code points / characters"),
    ("chr_mojibake_frac", "double", "mojibake sequences (UTF-8 read as Latin-1/cp1252, e.g. 'Ã©', 'â€™') / characters"),
    ("chr_symbol_frac", "double", "symbols, emoji and unassigned code points / non-space characters"),
    # InternLM2: punctuation distribution
    ("pun_frac", "double", "punctuation characters / non-space characters"),
    ("pun_max_run", "long", "longest run of consecutive punctuation / symbol characters"),
]
SIGNAL_NAMES = [s[0] for s in SIGNALS]


@dataclass(frozen=True)
class Profile:
    """How to measure one language (resolved from the config's signal profile)."""

    words: str = "latin"                     # word splitter: latin | jieba | chars
    stop_words: str = "auto"                 # auto (by document language) | none | a language code
    short_line_chars: int = 30               # FineWeb short-line length
    max_word_chars: int = 1000               # C4: drop lines with a longer word
    c4_line_words: str = "whitespace"        # C4 words per line: whitespace (str.split) | tokens (the splitter)
    terminal_punctuation: str = ".!?\"'"     # C4 line endings counted as terminal
    remove_citations: bool = True            # C4: strip [1] / [edit] / [citation needed] before the checks


_PARA_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SEP_RUN = re.compile(r"([-=_*~#.·•─━═])\1+")
_NL_RUN = re.compile(r"\n\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PRIVATE = re.compile(r"[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
_MOJIBAKE = re.compile(r"[ÃÂ][\u0080-\u00bf]|â€[\u0080-\u00bf™œž˜’‘“”¦¢¡]|Ã[€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
_TEXT_RUNS = re.compile(r"[\w\s]+")
_NONTEXT_RUN = re.compile(r"[^\w\s]{2,}")
_HAS_TEXT = re.compile(r"[^\W_]")
_SENT_END_CJK = re.compile(r"[。！？!?．｡]+[」』”’\"')）]*(?=[^\s。！？!?．｡])")
_FW_STOP = tuple(text_units.TERMINAL_PUNCTUATION)

_TOKEN_INFO: dict[str, tuple[int, bool, bool]] = {}


def _token_info(tok: str) -> tuple[int, bool, bool]:
    """(length, is a non-symbol word, contains a letter), cached per process."""
    info = _TOKEN_INFO.get(tok)
    if info is None:
        info = (len(tok), not text_units.is_symbol_token(tok), any(c.isalpha() for c in tok))
        if len(_TOKEN_INFO) > 1_000_000:
            _TOKEN_INFO.clear()
        _TOKEN_INFO[tok] = info
    return info


def _find_duplicates(items: list[str]) -> tuple[int, int]:
    """(repeated items, characters in repeated items), counting every repeat after the first."""
    seen: set[str] = set()
    dup = dup_chars = 0
    for x in items:
        if x in seen:
            dup += 1
            dup_chars += len(x)
        else:
            seen.add(x)
    return dup, dup_chars


def _ngram_hash_series(ids: np.ndarray, n_max: int) -> dict[int, np.ndarray]:
    """n -> uint64 hash of every word n-gram (n = 2..n_max), each built from the (n-1)-gram hashes."""
    out: dict[int, np.ndarray] = {}
    mult = np.uint64(0x100000001B3)
    h = ids.astype(np.uint64) + np.uint64(1)
    for n in range(2, n_max + 1):
        m = len(ids) - n + 1
        if m <= 0:
            break
        h = h[:m] * mult + ids[n - 1:].astype(np.uint64) + np.uint64(1)
        out[n] = h
    return out


def _top_ngram_chars(h: np.ndarray | None, lens_cum: np.ndarray, n: int) -> int:
    """Characters of the most frequent n-gram (joined with spaces) times its count.

    Ties go to the n-gram seen first, as collections.Counter.most_common does.
    """
    if h is None:
        return 0
    _, first, counts = np.unique(h, return_index=True, return_counts=True)
    top = counts.max()
    pos = int(first[counts == top].min())
    chars = int(lens_cum[pos + n] - lens_cum[pos]) + n - 1
    return chars * int(top)


def _dup_ngram_chars(h: np.ndarray | None, lens_cum: np.ndarray, n: int) -> int:
    """Characters in duplicated n-grams with Gopher's greedy scan: after a repeat, skip its n words.

    Only n-grams occurring more than once can ever be found "seen", so the scan visits just those
    positions; the others only move the cursor on by one, which the jump test below accounts for.
    """
    if h is None:
        return 0
    _, inv, counts = np.unique(h, return_inverse=True, return_counts=True)
    cand = np.flatnonzero(counts[inv] > 1)
    if len(cand) == 0:
        return 0
    glen = (lens_cum[cand + n] - lens_cum[cand]).tolist()
    hl = h[cand].tolist()
    seen: set[int] = set()
    next_free = 0
    chars = 0
    for q, x, g in zip(cand.tolist(), hl, glen):
        if q < next_free:
            continue                      # skipped over by an earlier repeat: not visited
        if x in seen:
            chars += g
            next_free = q + n
        else:
            seen.add(x)
    return chars


def _count_sentences_cjk(line: str) -> int:
    return 1 + len(_SENT_END_CJK.findall(line)) if line else 0


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def compute_signals(text: str | None, profile: Profile, language: str | None = None) -> dict:
    """All rule signals of one text (see SIGNALS for what each holds)."""
    text = text or ""
    split_words = text_units.word_splitter(profile.words)
    out: dict = {}
    n_chars = len(text)
    out["chars"] = n_chars
    words = split_words(text) if text.strip() else []
    n_words = len(words)
    out["words"] = n_words

    # ---- Gopher quality ----------------------------------------------------------------------
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}     # first-occurrence order
    ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=n_words)
    info = _TOKEN_INFO.get
    vinfo = np.array([info(w) or _token_info(w) for w in vocab], dtype=np.int64).reshape(-1, 3)
    vcount = np.bincount(ids, minlength=len(vocab))
    nonsym = int(vcount @ vinfo[:, 1])
    nonsym_len = int(vcount @ (vinfo[:, 0] * vinfo[:, 1]))
    alpha = int(vcount @ vinfo[:, 2])
    lens = vinfo[ids, 0] if n_words else np.zeros(0, dtype=np.int64)
    out["gq_nonsymbol_words"] = nonsym
    out["gq_mean_word_len"] = _ratio(nonsym_len, nonsym)
    out["gq_hash_ratio"] = _ratio(text.count("#"), n_words)
    out["gq_ellipsis_ratio"] = _ratio(text.count("...") + text.count("…"), n_words)
    lines = text.splitlines()
    n_lines = len(lines)
    bullets = ellipsis_lines = 0
    for ln in lines:
        s = ln.lstrip()
        if s.startswith(("•", "-")):
            bullets += 1
        if ln.rstrip().endswith(("...", "…")):
            ellipsis_lines += 1
    out["gq_bullet_lines_frac"] = _ratio(bullets, n_lines)
    out["gq_ellipsis_lines_frac"] = _ratio(ellipsis_lines, n_lines)
    out["gq_alpha_words_frac"] = _ratio(alpha, n_words)
    if profile.stop_words == "none":
        stop = None
    else:
        stop = stop_words_for(language if profile.stop_words == "auto" else profile.stop_words)
    out["gq_stop_words"] = len(set(stop) & vocab.keys()) if stop is not None else None

    # ---- Gopher repetition -------------------------------------------------------------------
    paras = _PARA_SPLIT.split(text.strip())
    d, dc = _find_duplicates(paras)
    out["gr_dup_para_frac"] = _ratio(d, len(paras)) if n_chars else None
    out["gr_dup_para_char_frac"] = _ratio(dc, n_chars)
    rlines = _LINE_SPLIT.split(text)
    d, dc = _find_duplicates(rlines)
    out["gr_dup_line_frac"] = _ratio(d, len(rlines)) if n_chars else None
    out["gr_dup_line_char_frac"] = _ratio(dc, n_chars)
    lens_cum = np.concatenate(([0], np.cumsum(lens)))
    grams = _ngram_hash_series(ids, 10)
    for n in (2, 3, 4):
        out[f"gr_top{n}_char_frac"] = _ratio(_top_ngram_chars(grams.get(n), lens_cum, n), n_chars)
    for n in range(5, 11):
        out[f"gr_dup{n}_char_frac"] = _ratio(_dup_ngram_chars(grams.get(n), lens_cum, n), n_chars)

    # ---- C4 ----------------------------------------------------------------------------------
    c = dict(long=0, cit=0, nopunct=0, short=0, js=0, policy=0, kept=0, sents=0)
    lorem = curly = False
    end_punct = tuple(profile.terminal_punctuation)
    latin = profile.words == "latin"
    token_words = profile.c4_line_words == "tokens"
    for raw in lines:
        line = raw.strip()
        lwords = split_words(line) if token_words else line.split()
        if lwords and max(map(len, lwords)) > profile.max_word_chars:
            c["long"] += 1
            continue
        if profile.remove_citations:
            line, k = _CITATION.subn("", line)
            c["cit"] += k
        if not line.endswith(end_punct) or line.endswith("..."):
            c["nopunct"] += 1
            continue
        if token_words:
            lwords = [w for w in lwords if not text_units.is_symbol_token(w)]
        if len(lwords) < 3:
            c["short"] += 1
            continue
        low = line.lower()
        if "lorem ipsum" in low:
            lorem = True
        if "javascript" in low:
            c["js"] += 1
            continue
        if "{" in line:
            curly = True
        if any(p in low for p in _POLICY):
            c["policy"] += 1
            continue
        c["kept"] += 1
        c["sents"] += (text_units.count_sentences(text_units.words_latin(line)) if latin
                       else _count_sentences_cjk(line))
    out.update(c4_lines=n_lines, c4_long_word_lines=c["long"], c4_citations=c["cit"],
               c4_no_terminal_punct_lines=c["nopunct"], c4_short_lines=c["short"], c4_lorem_ipsum=lorem,
               c4_javascript_lines=c["js"], c4_curly_bracket=curly, c4_policy_lines=c["policy"],
               c4_kept_lines=c["kept"], c4_sentences=c["sents"])

    # ---- FineWeb -----------------------------------------------------------------------------
    flines = [ln for ln in text.split("\n") if ln.strip()]
    nf = len(flines)
    out["fw_lines"] = nf
    out["fw_line_punct_frac"] = _ratio(sum(1 for ln in flines if ln.endswith(_FW_STOP)), nf)
    out["fw_short_line_frac"] = _ratio(sum(1 for ln in flines if len(ln) <= profile.short_line_chars), nf)
    n_newlines = text.count("\n")
    out["fw_dup_line_char_frac"] = _ratio(_find_duplicates(flines)[1], n_chars - n_newlines) if nf else None
    out["fw_newline_word_ratio"] = _ratio(n_newlines, n_words)

    # ---- InternLM2: separators, line breaks, characters, punctuation --------------------------
    out["sep_max_run"] = max((m.end() - m.start() for m in _SEP_RUN.finditer(text)), default=0)
    nonblank = [ln for ln in lines if ln.strip()]
    out["sep_lines_frac"] = _ratio(sum(1 for ln in nonblank if not _HAS_TEXT.search(ln)), len(nonblank))
    out["max_line_chars"] = max(map(len, lines), default=0)
    out["newline_frac"] = _ratio(n_newlines, n_chars)
    out["max_newline_run"] = max((m.end() - m.start() for m in _NL_RUN.finditer(text)), default=1 if n_newlines else 0)
    out["chr_control_frac"] = _ratio(len(_CONTROL.findall(text)), n_chars)
    out["chr_replacement_frac"] = _ratio(text.count("\ufffd"), n_chars)
    out["chr_private_use_frac"] = _ratio(len(_PRIVATE.findall(text)), n_chars)
    out["chr_mojibake_frac"] = _ratio(len(_MOJIBAKE.findall(text)), n_chars)
    rest = _TEXT_RUNS.sub("", text)        # what is neither word character nor space
    punct = symbols = 0
    cat = unicodedata.category
    for ch in rest:
        k = cat(ch)[0]
        if k == "P":
            punct += 1
        elif k != "M":
            symbols += 1
    non_space = len("".join(text.split()))
    out["chr_symbol_frac"] = _ratio(symbols, non_space)
    out["pun_frac"] = _ratio(punct, non_space)
    out["pun_max_run"] = max((m.end() - m.start() for m in _NONTEXT_RUN.finditer(text)),
                             default=1 if rest else 0)
    return out


# ---- rules: which signal each threshold is compared with ------------------------------------------

# family -> [(threshold key, signal, op)]; op "<": fail when signal < threshold, ">": when above,
# "true": fail when the boolean signal is true (threshold true/false switches the rule on/off),
# "zero": fail when the signal is 0 (threshold true/false switches it on/off). Null signal: not failed.
# Families are listed in the order FineWeb applies them; `reason` in `rejected` is the first that fails.
RULES: dict[str, list[tuple[str, str, str]]] = {
    "gopher_repetition": [
        ("drop_empty", "chars", "zero"),
        ("max_dup_para_frac", "gr_dup_para_frac", ">"),
        ("max_dup_para_char_frac", "gr_dup_para_char_frac", ">"),
        ("max_dup_line_frac", "gr_dup_line_frac", ">"),
        ("max_dup_line_char_frac", "gr_dup_line_char_frac", ">"),
        *[(f"max_top{n}_char_frac", f"gr_top{n}_char_frac", ">") for n in (2, 3, 4)],
        *[(f"max_dup{n}_char_frac", f"gr_dup{n}_char_frac", ">") for n in range(5, 11)],
    ],
    "gopher_quality": [
        ("min_words", "gq_nonsymbol_words", "<"),
        ("max_words", "gq_nonsymbol_words", ">"),
        ("min_mean_word_len", "gq_mean_word_len", "<"),
        ("max_mean_word_len", "gq_mean_word_len", ">"),
        ("max_hash_ratio", "gq_hash_ratio", ">"),
        ("max_ellipsis_ratio", "gq_ellipsis_ratio", ">"),
        ("max_bullet_lines_frac", "gq_bullet_lines_frac", ">"),
        ("max_ellipsis_lines_frac", "gq_ellipsis_lines_frac", ">"),
        ("min_alpha_words_frac", "gq_alpha_words_frac", "<"),
        ("min_stop_words", "gq_stop_words", "<"),
    ],
    "c4": [
        ("min_sentences", "c4_sentences", "<"),
        ("drop_lorem_ipsum", "c4_lorem_ipsum", "true"),
        ("drop_curly_bracket", "c4_curly_bracket", "true"),
    ],
    "fineweb": [
        ("drop_empty", "fw_lines", "zero"),
        ("min_line_punct_frac", "fw_line_punct_frac", "<"),
        ("max_short_line_frac", "fw_short_line_frac", ">"),
        ("max_dup_line_char_frac", "fw_dup_line_char_frac", ">"),
        ("max_newline_word_ratio", "fw_newline_word_ratio", ">"),
    ],
    "separators": [
        ("max_separator_run", "sep_max_run", ">"),
        ("max_separator_lines_frac", "sep_lines_frac", ">"),
        ("max_line_chars", "max_line_chars", ">"),
        ("max_newline_frac", "newline_frac", ">"),
        ("max_newline_run", "max_newline_run", ">"),
    ],
    "characters": [
        ("max_control_frac", "chr_control_frac", ">"),
        ("max_replacement_frac", "chr_replacement_frac", ">"),
        ("max_private_use_frac", "chr_private_use_frac", ">"),
        ("max_mojibake_frac", "chr_mojibake_frac", ">"),
        ("max_symbol_frac", "chr_symbol_frac", ">"),
    ],
    "punctuation": [
        ("max_punct_frac", "pun_frac", ">"),
        ("max_punct_run", "pun_max_run", ">"),
    ],
}


def failed_rules(signals: dict, thresholds: dict[str, dict]) -> list[str]:
    """Names ("family.rule") of the rules a document fails; the reference for the Spark decision.

    thresholds: family -> rule -> value (None switches a rule off).
    """
    failed = []
    for family, rules in RULES.items():
        for key, signal, op in rules:
            t = thresholds.get(family, {}).get(key)
            v = signals.get(signal)
            if t is None or t is False or v is None:
                continue
            if ((op == "<" and v < t) or (op == ">" and v > t) or (op == "true" and v is True)
                    or (op == "zero" and v == 0)):
                failed.append(f"{family}.{key}")
    return failed


# ---- Arrow batch adapter -------------------------------------------------------------------------

def resolve_profile(profiles: dict[str, dict], language: str | None) -> tuple[str, Profile]:
    """(profile name, Profile) for a document language: its own profile or `default`."""
    lang = (language or "").lower()
    name = lang if lang in profiles and lang != "default" else "default"
    return name, Profile(**profiles[name])


def signals_mapper(profiles: dict[str, dict], out_schema, passthrough: list[str]):
    """A mapInArrow function: batches with `passthrough` columns + text -> passthrough, signal_profile, signals.

    profiles: signal profile name -> Profile fields (plain dicts, so the closure pickles small);
    the profile is chosen by the lower-cased `language` column. out_schema: pyarrow output schema.
    """
    import pyarrow as pa

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        cache: dict[str, tuple[str, Profile]] = {}
        for batch in batches:
            cols: dict[str, list] = {name: [] for name in rs_names(out_schema)}
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


def rs_names(schema) -> list[str]:
    return list(schema.names)
