"""What the rule families share: the language profile, the per-document text units, the rule record.

Each family module (gopher, c4, fineweb, internlm) keeps one family readable in one place: the
signals it measures, its thresholds dataclass and its rules table. Signals are measured once per
document; keep / reasons come later from thresholds over the stored signals (in Spark:
jobs/stages/rules.py `decide`; in plain Python: `Family.failed`, the reference for it).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from itertools import chain
from typing import Any

from corpusmill.udfs.rules import text_units


@dataclass(frozen=True)
class Profile:
    """How one language is measured: a `rules.signals` entry (values in conf/default.yaml)."""

    words: str                  # word splitter: latin (spaCy-like rules) | rjieba, jieba (Chinese) | chars (Japanese)
    stop_words: str             # auto (list of the document's language) | none | a language code
    short_line_chars: int       # FineWeb: a line of at most this many characters is short
    max_word_chars: int         # C4: lines with a longer word are dropped
    c4_line_words: str          # C4 words per line: whitespace | tokens (WORD_UNITS)
    terminal_punctuation: str   # C4: a line must end with one of these characters
    remove_citations: bool      # C4: strip [1], [edit], [citation needed] first
    gopher_quality_words: str   # the words Gopher quality counts: whitespace | tokens (WORD_UNITS)
    gopher_repetition_words: str  # the words of Gopher repetition's n-grams: whitespace | tokens
    fineweb_words: str          # the words of FineWeb's newlines-per-word: whitespace | tokens


# How a rule family counts words:
#   tokens      the splitter's tokens, every punctuation mark a token of its own (datatrove's words);
#   whitespace  the Gopher paper's words: whitespace-separated, punctuation attached. A segmenter's
#               language has no spaces between words, so there it is the splitter's words with each
#               punctuation-only token attached to the word before it (what spaces do in English).
WORD_UNITS = ("whitespace", "tokens")


@dataclass(frozen=True)
class Units:
    """One document cut once into what every family reads, so no family tokenizes the text again."""

    text: str                                # "" for a null text
    words: list[str]                         # the profile's word tokens (punctuation included; [] when blank)
    lines: list[str]                         # text.splitlines()
    line_words: list[list[str]]              # the word tokens of each line; `words` is their concatenation
    newlines: int                            # "\n" characters
    segmented: bool                          # words come from a segmenter / character units, not spaces

    def words_as(self, unit: str) -> list[str]:
        """The document's words in a WORD_UNITS unit (computed once per document and unit)."""
        return self.words if unit == "tokens" else self.whitespace_words

    @cached_property
    def whitespace_words(self) -> list[str]:
        return list(chain.from_iterable(self.line_whitespace_words))

    @cached_property
    def line_whitespace_words(self) -> list[list[str]]:
        """Each line's words in the `whitespace` unit (punctuation never attaches across a line break)."""
        if not self.segmented:
            return [ln.split() for ln in self.lines]
        out = []
        for toks in self.line_words:
            words: list[str] = []
            for t in toks:
                if words and text_units.is_symbol_token(t):
                    words[-1] += t
                else:
                    words.append(t)
            out.append(words)
        return out


def units(text: str | None, profile: Profile) -> Units:
    """Every splitter treats line breaks as whitespace and no token spans one (jieba segments each run
    of Han characters on its own), so the words of the text are the words of its lines put together:
    the text is segmented once, line by line, for the whole-text and the per-line signals."""
    text = text or ""
    split = text_units.word_splitter(profile.words)
    lines = text.splitlines()
    line_words = [split(line) if line.strip() else [] for line in lines]
    return Units(text, list(chain.from_iterable(line_words)), lines, line_words, text.count("\n"),
                 profile.words != "latin")


def ratio(a: float, b: float) -> float | None:
    """a / b, or None (not measurable) when b is 0."""
    return a / b if b else None


def find_duplicates(items: list[str]) -> tuple[int, int]:
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


# (threshold, signal, op). op "<": fail when the signal is below the threshold, ">": above it;
# "true": fail when the boolean signal is true, "zero": when the signal is 0 (for both, the threshold
# true / false switches the rule on / off). A null threshold switches a rule off; a null signal never fails.
Rule = tuple[str, str, str]
OPS = ("<", ">", "true", "zero")


@dataclass(frozen=True)
class Family:
    """A family of rules: `rules.thresholds.<profile>.<name>` in config, reasons named `<name>.<threshold>`."""

    name: str
    thresholds: type            # dataclass with one field per rule, in the rules' order
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in fields(self.thresholds)]
        if names != [r[0] for r in self.rules] or any(r[2] not in OPS for r in self.rules):
            raise TypeError(f"{self.name}: rules must name {self.thresholds.__name__}'s fields in order, "
                            f"with an op in {OPS}")

    def failed(self, signals: dict, thresholds: Any) -> list[str]:
        """Reasons (`family.threshold`) of the rules the signals fail under these thresholds."""
        out = []
        for key, signal, op in self.rules:
            t = getattr(thresholds, key)
            v = signals.get(signal)
            if t is None or t is False or v is None:
                continue
            if ((op == "<" and v < t) or (op == ">" and v > t) or (op == "true" and v is True)
                    or (op == "zero" and v == 0)):
                out.append(f"{self.name}.{key}")
        return out
