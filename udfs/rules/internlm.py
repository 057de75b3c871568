"""InternLM2-style rules (Cai et al. 2024): separators and line breaks, abnormal characters, punctuation.

Three families over character-level signals; their limits sit above what clean web text reaches
(maxima measured on clean text are noted in conf/default.yaml).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from corpusmill.udfs.rules.base import Family, Units, ratio

# (name, kind, what it holds); kind: long | double | bool
SIGNALS: list[tuple[str, str, str]] = [
    ("sep_max_run", "long", "longest run of one repeated separator character (-=_*~#.·•─━═)"),
    ("sep_lines_frac", "double", "share of non-blank lines with no letter or digit (separator / symbol lines)"),
    ("max_line_chars", "long", "characters in the longest line"),
    ("newline_frac", "double", "line breaks / characters"),
    ("max_newline_run", "long", "longest run of consecutive line breaks"),
    ("chr_control_frac", "double", "control characters (other than tab / line breaks) / characters"),
    ("chr_replacement_frac", "double", "U+FFFD replacement characters / characters"),
    ("chr_private_use_frac", "double", "private-use code points / characters"),
    ("chr_mojibake_frac", "double", "mojibake sequences (UTF-8 read as Latin-1/cp1252, e.g. 'Ã©', 'â€™') / characters"),
    ("chr_symbol_frac", "double", "symbols, emoji and unassigned code points / non-space characters"),
    ("pun_frac", "double", "punctuation characters / non-space characters"),
    ("pun_max_run", "long", "longest run of consecutive punctuation / symbol characters"),
]


@dataclass
class SeparatorsThresholds:
    """Separators and line breaks; null switches a rule off."""

    max_separator_run: float | None         # longest run of one separator character
    max_separator_lines_frac: float | None  # lines without a letter or digit
    max_line_chars: float | None            # longest line: one-line dumps, minified data
    max_newline_frac: float | None          # line breaks / characters
    max_newline_run: float | None           # consecutive line breaks


SEPARATORS = Family("separators", SeparatorsThresholds, (
    ("max_separator_run", "sep_max_run", ">"),
    ("max_separator_lines_frac", "sep_lines_frac", ">"),
    ("max_line_chars", "max_line_chars", ">"),
    ("max_newline_frac", "newline_frac", ">"),
    ("max_newline_run", "max_newline_run", ">"),
))


@dataclass
class CharactersThresholds:
    """Abnormal characters; null switches a rule off."""

    max_control_frac: float | None          # control characters / characters
    max_replacement_frac: float | None      # U+FFFD / characters: broken decoding
    max_private_use_frac: float | None      # private-use code points (icon fonts, broken PDFs)
    max_mojibake_frac: float | None         # 'Ã©'-style sequences / characters
    max_symbol_frac: float | None           # symbols / emoji / non-space characters


CHARACTERS = Family("characters", CharactersThresholds, (
    ("max_control_frac", "chr_control_frac", ">"),
    ("max_replacement_frac", "chr_replacement_frac", ">"),
    ("max_private_use_frac", "chr_private_use_frac", ">"),
    ("max_mojibake_frac", "chr_mojibake_frac", ">"),
    ("max_symbol_frac", "chr_symbol_frac", ">"),
))


@dataclass
class PunctuationThresholds:
    """Punctuation distribution; null switches a rule off."""

    max_punct_frac: float | None            # punctuation / non-space characters
    max_punct_run: float | None             # longest run of punctuation / symbols


PUNCTUATION = Family("punctuation", PunctuationThresholds, (
    ("max_punct_frac", "pun_frac", ">"),
    ("max_punct_run", "pun_max_run", ">"),
))


_SEP_RUN = re.compile(r"([-=_*~#.·•─━═])\1+")
_NL_RUN = re.compile(r"\n\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PRIVATE = re.compile(r"[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
_MOJIBAKE = re.compile(r"[ÃÂ][\u0080-\u00bf]|â€[\u0080-\u00bf™œž˜’‘“”¦¢¡]|Ã[€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
_TEXT_RUNS = re.compile(r"[\w\s]+")
_NONTEXT_RUN = re.compile(r"[^\w\s]{2,}")
_HAS_TEXT = re.compile(r"[^\W_]")


def measure(u: Units) -> dict:
    """The sep_* / line, chr_* and pun_* signals of one document."""
    text, lines = u.text, u.lines
    n_chars = len(text)
    out: dict = {}
    out["sep_max_run"] = max((m.end() - m.start() for m in _SEP_RUN.finditer(text)), default=0)
    nonblank = [ln for ln in lines if ln.strip()]
    out["sep_lines_frac"] = ratio(sum(1 for ln in nonblank if not _HAS_TEXT.search(ln)), len(nonblank))
    out["max_line_chars"] = max(map(len, lines), default=0)
    out["newline_frac"] = ratio(u.newlines, n_chars)
    out["max_newline_run"] = max((m.end() - m.start() for m in _NL_RUN.finditer(text)),
                                 default=1 if u.newlines else 0)
    out["chr_control_frac"] = ratio(len(_CONTROL.findall(text)), n_chars)
    out["chr_replacement_frac"] = ratio(text.count("\ufffd"), n_chars)
    out["chr_private_use_frac"] = ratio(len(_PRIVATE.findall(text)), n_chars)
    out["chr_mojibake_frac"] = ratio(len(_MOJIBAKE.findall(text)), n_chars)
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
    out["chr_symbol_frac"] = ratio(symbols, non_space)
    out["pun_frac"] = ratio(punct, non_space)
    out["pun_max_run"] = max((m.end() - m.start() for m in _NONTEXT_RUN.finditer(text)), default=1 if rest else 0)
    return out
