"""FineWeb rules (Penedo et al. 2024), as datatrove's FineWebQualityFilter measures them.

Lines are the non-blank pieces of the text split on "\\n" (not str.splitlines, as in FineWeb).
"""
from __future__ import annotations

from dataclasses import dataclass

from corpusmill.udfs.rules import text_units
from corpusmill.udfs.rules.base import Family, Profile, Units, find_duplicates, ratio

# (name, kind, what it holds); kind: long | double | bool
SIGNALS: list[tuple[str, str, str]] = [
    ("fw_lines", "long", "FineWeb: non-blank lines"),
    ("fw_line_punct_frac", "double", "FineWeb: share of non-blank lines ending in terminal punctuation"),
    ("fw_short_line_frac", "double", "FineWeb: share of non-blank lines of at most short_line_chars characters"),
    ("fw_dup_line_char_frac", "double", "FineWeb: characters in repeated lines / non-newline characters"),
    ("fw_newline_word_ratio", "double", "FineWeb: newlines per word"),
]


@dataclass
class FineWebThresholds:
    """datatrove FineWebQualityFilter's limits; null switches a rule off."""

    drop_empty: bool | None                 # drop documents without a non-blank line
    min_line_punct_frac: float | None       # lines ending in terminal punctuation
    max_short_line_frac: float | None       # lines of at most short_line_chars characters
    max_dup_line_char_frac: float | None    # characters in repeated lines / non-newline characters
    max_newline_word_ratio: float | None    # newlines per word


FAMILY = Family("fineweb", FineWebThresholds, (
    ("drop_empty", "fw_lines", "zero"),
    ("min_line_punct_frac", "fw_line_punct_frac", "<"),
    ("max_short_line_frac", "fw_short_line_frac", ">"),
    ("max_dup_line_char_frac", "fw_dup_line_char_frac", ">"),
    ("max_newline_word_ratio", "fw_newline_word_ratio", ">"),
))


_STOP = tuple(text_units.TERMINAL_PUNCTUATION)


def measure(u: Units, profile: Profile) -> dict:
    """The fw_* signals of one document."""
    lines = [ln for ln in u.text.split("\n") if ln.strip()]
    n = len(lines)
    return {
        "fw_lines": n,
        "fw_line_punct_frac": ratio(sum(1 for ln in lines if ln.endswith(_STOP)), n),
        "fw_short_line_frac": ratio(sum(1 for ln in lines if len(ln) <= profile.short_line_chars), n),
        "fw_dup_line_char_frac": ratio(find_duplicates(lines)[1], len(u.text) - u.newlines) if n else None,
        "fw_newline_word_ratio": ratio(u.newlines, len(u.words_as(profile.fineweb_words))),
    }
