"""Gopher quality and repetition rules (Rae et al. 2021, table A1), as datatrove measures them.

Same quantities as datatrove's GopherQualityFilter and GopherRepetitionFilter: same line and
paragraph splitting, same greedy duplicate-n-gram scan, same "first most common n-gram" tie-break.
Each family counts words in its profile's unit (base.WORD_UNITS: datatrove's tokens, or the Gopher
paper's whitespace words); with one unit for both, they share one word-id array.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from corpusmill.udfs.rules import text_units
from corpusmill.udfs.rules.base import Family, Profile, Units, find_duplicates, ratio
from corpusmill.udfs.rules.stopwords import stop_words_for

# (name, kind, what it holds); kind: long | double | bool
SIGNALS: list[tuple[str, str, str]] = [
    ("gq_nonsymbol_words", "long", "Gopher: words with at least one non-punctuation character (gq_*: words in "
                                   "the profile's gopher_quality_words unit, gr_*: gopher_repetition_words)"),
    ("gq_mean_word_len", "double", "Gopher: mean length of the non-symbol words (null when none)"),
    ("gq_hash_ratio", "double", "Gopher: '#' characters per word"),
    ("gq_ellipsis_ratio", "double", "Gopher: ellipses ('...' or '…') per word"),
    ("gq_bullet_lines_frac", "double", "Gopher: share of lines starting with a bullet ('•' or '-')"),
    ("gq_ellipsis_lines_frac", "double", "Gopher: share of lines ending with an ellipsis"),
    ("gq_alpha_words_frac", "double", "Gopher: share of words containing a letter"),
    ("gq_stop_words", "long", "Gopher: distinct stop words of the document's language present (null: no list)"),
    ("gr_dup_para_frac", "double", "Gopher: share of paragraphs (split on blank lines) that repeat an earlier one"),
    ("gr_dup_para_char_frac", "double", "Gopher: characters in repeated paragraphs / characters"),
    ("gr_dup_line_frac", "double", "Gopher: share of lines that repeat an earlier line"),
    ("gr_dup_line_char_frac", "double", "Gopher: characters in repeated lines / characters"),
    *[(f"gr_top{n}_char_frac", "double", f"Gopher: characters covered by the most frequent word {n}-gram / characters")
      for n in (2, 3, 4)],
    *[(f"gr_dup{n}_char_frac", "double", f"Gopher: characters in duplicated word {n}-grams / characters")
      for n in range(5, 11)],
]


@dataclass
class GopherRepetitionThresholds:
    """datatrove GopherRepetitionFilter's limits; null switches a rule off."""

    drop_empty: bool | None                 # drop documents with no text
    max_dup_para_frac: float | None         # repeated paragraphs / paragraphs
    max_dup_para_char_frac: float | None    # characters in repeated paragraphs / characters
    max_dup_line_frac: float | None         # repeated lines / lines
    max_dup_line_char_frac: float | None    # characters in repeated lines / characters
    max_top2_char_frac: float | None        # most frequent word 2-gram's characters / characters
    max_top3_char_frac: float | None        # ... 3-gram's
    max_top4_char_frac: float | None        # ... 4-gram's
    max_dup5_char_frac: float | None        # characters in duplicated word 5-grams / characters
    max_dup6_char_frac: float | None        # ... 6-grams
    max_dup7_char_frac: float | None        # ... 7-grams
    max_dup8_char_frac: float | None        # ... 8-grams
    max_dup9_char_frac: float | None        # ... 9-grams
    max_dup10_char_frac: float | None       # ... 10-grams


REPETITION = Family("gopher_repetition", GopherRepetitionThresholds, (
    ("drop_empty", "chars", "zero"),
    ("max_dup_para_frac", "gr_dup_para_frac", ">"),
    ("max_dup_para_char_frac", "gr_dup_para_char_frac", ">"),
    ("max_dup_line_frac", "gr_dup_line_frac", ">"),
    ("max_dup_line_char_frac", "gr_dup_line_char_frac", ">"),
    *[(f"max_top{n}_char_frac", f"gr_top{n}_char_frac", ">") for n in (2, 3, 4)],
    *[(f"max_dup{n}_char_frac", f"gr_dup{n}_char_frac", ">") for n in range(5, 11)],
))


@dataclass
class GopherQualityThresholds:
    """datatrove GopherQualityFilter's limits; null switches a rule off."""

    min_words: float | None                 # fewest non-symbol words
    max_words: float | None                 # most non-symbol words
    min_mean_word_len: float | None         # shortest mean characters per non-symbol word
    max_mean_word_len: float | None         # longest mean characters per non-symbol word
    max_hash_ratio: float | None            # '#' per word
    max_ellipsis_ratio: float | None        # ellipses per word
    max_bullet_lines_frac: float | None     # lines starting with a bullet
    max_ellipsis_lines_frac: float | None   # lines ending with an ellipsis
    min_alpha_words_frac: float | None      # words with a letter
    min_stop_words: float | None            # distinct stop words of the language (skipped when it has no list)


QUALITY = Family("gopher_quality", GopherQualityThresholds, (
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
))


_PARA_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")
_TOKEN_INFO: dict[str, tuple[int, bool, bool]] = {}


def measure(u: Units, profile: Profile, language: str | None) -> dict:
    """The gq_* and gr_* signals of one document, each family over its profile's word unit."""
    q_words = u.words_as(profile.gopher_quality_words)
    q = _word_ids(q_words)
    r_words = u.words_as(profile.gopher_repetition_words)
    r = q if r_words is q_words else _word_ids(r_words)
    return {**_quality(u, q_words, q, profile, language), **_repetition(u.text, r)}


def _word_ids(words: list[str]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(vocabulary in first-occurrence order, each word's id, per-vocabulary (length, non-symbol, alpha))."""
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words))
    info = _TOKEN_INFO.get
    vinfo = np.array([info(w) or _token_info(w) for w in vocab], dtype=np.int64).reshape(-1, 3)
    return vocab, ids, vinfo


def _quality(u: Units, words: list[str], wid, profile: Profile, language: str | None) -> dict:
    text, n_words, n_lines = u.text, len(words), len(u.lines)
    vocab, ids, vinfo = wid
    out: dict = {}
    vcount = np.bincount(ids, minlength=len(vocab))
    nonsym = int(vcount @ vinfo[:, 1])
    nonsym_len = int(vcount @ (vinfo[:, 0] * vinfo[:, 1]))
    alpha = int(vcount @ vinfo[:, 2])
    out["gq_nonsymbol_words"] = nonsym
    out["gq_mean_word_len"] = ratio(nonsym_len, nonsym)
    out["gq_hash_ratio"] = ratio(text.count("#"), n_words)
    out["gq_ellipsis_ratio"] = ratio(text.count("...") + text.count("…"), n_words)
    bullets = ellipsis_lines = 0
    for ln in u.lines:
        if ln.lstrip().startswith(("•", "-")):
            bullets += 1
        if ln.rstrip().endswith(("...", "…")):
            ellipsis_lines += 1
    out["gq_bullet_lines_frac"] = ratio(bullets, n_lines)
    out["gq_ellipsis_lines_frac"] = ratio(ellipsis_lines, n_lines)
    out["gq_alpha_words_frac"] = ratio(alpha, n_words)
    if profile.stop_words == "none":
        stop = None
    else:
        stop = stop_words_for(language if profile.stop_words == "auto" else profile.stop_words)
    out["gq_stop_words"] = len(set(stop) & vocab.keys()) if stop is not None else None
    return out


def _repetition(text: str, wid) -> dict:
    _vocab, ids, vinfo = wid
    n_chars = len(text)
    out: dict = {}
    paras = _PARA_SPLIT.split(text.strip())
    d, dc = find_duplicates(paras)
    out["gr_dup_para_frac"] = ratio(d, len(paras)) if n_chars else None
    out["gr_dup_para_char_frac"] = ratio(dc, n_chars)
    rlines = _LINE_SPLIT.split(text)
    d, dc = find_duplicates(rlines)
    out["gr_dup_line_frac"] = ratio(d, len(rlines)) if n_chars else None
    out["gr_dup_line_char_frac"] = ratio(dc, n_chars)
    lens = vinfo[ids, 0] if len(ids) else np.zeros(0, dtype=np.int64)
    lens_cum = np.concatenate(([0], np.cumsum(lens)))
    grams = ngram_hash_series(ids, 10)
    for n in (2, 3, 4):
        out[f"gr_top{n}_char_frac"] = ratio(top_ngram_chars(grams.get(n), lens_cum, n), n_chars)
    for n in range(5, 11):
        out[f"gr_dup{n}_char_frac"] = ratio(dup_ngram_chars(grams.get(n), lens_cum, n), n_chars)
    return out


def _token_info(tok: str) -> tuple[int, bool, bool]:
    """(length, is a non-symbol word, contains a letter), cached per process."""
    info = _TOKEN_INFO.get(tok)
    if info is None:
        info = (len(tok), not text_units.is_symbol_token(tok), any(c.isalpha() for c in tok))
        if len(_TOKEN_INFO) > 1_000_000:
            _TOKEN_INFO.clear()
        _TOKEN_INFO[tok] = info
    return info


def ngram_hash_series(ids: np.ndarray, n_max: int) -> dict[int, np.ndarray]:
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


def top_ngram_chars(h: np.ndarray | None, lens_cum: np.ndarray, n: int) -> int:
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


def dup_ngram_chars(h: np.ndarray | None, lens_cum: np.ndarray, n: int) -> int:
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
