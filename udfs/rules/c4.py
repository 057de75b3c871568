"""C4 rules (Raffel et al. 2020), as datatrove's C4QualityFilter applies them.

C4 drops lines one after another (long word, no terminal punctuation, too few words, javascript,
policy boilerplate) and judges what is left; the signals count each drop, so the line filters are
part of the measurement (their settings live in the signal profile) and the thresholds only judge
the result.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from corpusmill.udfs.rules import text_units
from corpusmill.udfs.rules.base import Family, Profile, Units

# (name, kind, what it holds); kind: long | double | bool
SIGNALS: list[tuple[str, str, str]] = [
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
]


@dataclass
class C4Thresholds:
    """datatrove C4QualityFilter's document checks; null switches a rule off."""

    min_sentences: float | None         # sentences left after the line filters
    drop_lorem_ipsum: bool | None       # drop when a remaining line says 'lorem ipsum'
    drop_curly_bracket: bool | None     # drop when a remaining line holds '{' (code)


FAMILY = Family("c4", C4Thresholds, (
    ("min_sentences", "c4_sentences", "<"),
    ("drop_lorem_ipsum", "c4_lorem_ipsum", "true"),
    ("drop_curly_bracket", "c4_curly_bracket", "true"),
))


_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SENT_END_CJK = re.compile(r"[。！？!?．｡]+[」』”’\"')）]*(?=[^\s。！？!?．｡])")


def measure(u: Units, profile: Profile) -> dict:
    """The c4_* signals of one document."""
    long = cit = nopunct = short = js = policy = kept = sents = 0
    lorem = curly = False
    end_punct = tuple(profile.terminal_punctuation)
    latin = profile.words == "latin"
    token_words = profile.c4_line_words == "tokens"
    for raw, lwords in zip(u.lines, u.line_words if token_words else u.line_whitespace_words):
        line = raw.strip()
        if lwords and max(map(len, lwords)) > profile.max_word_chars:
            long += 1
            continue
        if profile.remove_citations:
            line, k = _CITATION.subn("", line)
            cit += k
        if not line.endswith(end_punct) or line.endswith("..."):
            nopunct += 1
            continue
        if token_words:
            lwords = [w for w in lwords if not text_units.is_symbol_token(w)]
        if len(lwords) < 3:
            short += 1
            continue
        low = line.lower()
        if "lorem ipsum" in low:
            lorem = True
        if "javascript" in low:
            js += 1
            continue
        if "{" in line:
            curly = True
        if any(p in low for p in _POLICY):
            policy += 1
            continue
        kept += 1
        sents += text_units.count_sentences(text_units.words_latin(line)) if latin else _count_sentences_cjk(line)
    return dict(c4_lines=len(u.lines), c4_long_word_lines=long, c4_citations=cit, c4_no_terminal_punct_lines=nopunct,
                c4_short_lines=short, c4_lorem_ipsum=lorem, c4_javascript_lines=js, c4_curly_bracket=curly,
                c4_policy_lines=policy, c4_kept_lines=kept, c4_sentences=sents)


def _count_sentences_cjk(line: str) -> int:
    return 1 + len(_SENT_END_CJK.findall(line)) if line else 0
