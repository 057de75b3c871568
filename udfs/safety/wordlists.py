"""Word blocking: multilingual bad-word lists matched with one Aho-Corasick automaton per language.

Lists: LDNOOBW-style folders (one file per language, the file name is the language code, one term a
line) and single lexicon files given as `lang=path` (e.g. the Chinese porn lexicons). Space-delimited
languages match whole words and phrases case-insensitively (so "ass" does not fire inside "class");
languages written without spaces (zh, ja, th, ko, ...) match substrings, except terms made only of
Latin letters/digits (e.g. "3p", "13."), which still need word boundaries there.

Signals per document: hit count, distinct terms, hits per 1,000 words (or per 1,000 non-space
characters for substring languages). The decision is the stage's, from thresholds in config.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import ahocorasick

# Languages written without spaces between words: substring matching, density per 1,000 characters.
SUBSTRING_LANGS = frozenset({"zh", "ja", "th", "ko", "lo", "km", "my", "bo"})
# A file in a list folder is a language list when its name is a language tag (skips LICENSE, README).
_LANG_FILE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200d\u2028\u2029\ufeff]+")
_LATIN_TERM = re.compile(r"^[0-9a-z .'\-&]+$")
# Single characters of substring languages are skipped by default: 性 / 乳 / 卵 are morphemes of
# countless neutral words (性能 "performance", 可能性 "possibility"); on 1,104 Chinese Wikipedia
# paragraphs they made 35% of documents hit a porn lexicon, against 9% without them.
MIN_SUBSTRING_CHARS = 2
MAX_TERMS_REPORTED = 20


def lang_key(lang: str | None) -> str:
    """Primary language subtag, lower case: 'zh-Hant' -> 'zh', 'fr-CA-u-sd-caqc' -> 'fr'."""
    return (lang or "").split("-")[0].split("_")[0].strip().lower()


def normalize(text: str) -> str:
    """Case-fold and turn every run of whitespace / control characters into one space."""
    return _SPACE.sub(" ", (text or "").casefold())


def _read_terms(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            t = line.strip().lstrip("\ufeff")
            if t and not t.startswith("#"):
                out.append(t)
    return out


PACKAGED = Path(__file__).resolve().parent / "data"
PACKAGE_PREFIX = "package:"


def packaged_path(entry: str) -> str:
    """`package:NAME` -> the folder of word lists NAME that ships with corpusmill (ldnoobw); other
    entries as they are."""
    if not entry.startswith(PACKAGE_PREFIX):
        return entry
    name = entry[len(PACKAGE_PREFIX):]
    found = PACKAGED / name
    if not name or "/" in name or not found.is_dir():
        shipped = sorted(p.name for p in PACKAGED.iterdir() if p.is_dir())
        raise ValueError(f"{entry}: no such packaged list (packaged: {', '.join(PACKAGE_PREFIX + s for s in shipped)})")
    return str(found)


def load_wordlists(paths: list[str]) -> dict[str, list[str]]:
    """lang -> sorted distinct terms, from LDNOOBW-style folders/files and `lang=path` lexicons.

    A folder contributes every file whose name is a language tag; `lang=folder` assigns every file in
    the folder to lang; a file counts for its own name's language unless given as `lang=file`.
    """
    terms: dict[str, set[str]] = {}
    for spec in paths:
        lang, sep, p = spec.partition("=")
        if not sep or os.sep in lang or "/" in lang:
            lang, p = "", spec
        path = Path(p).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"word list {p} does not exist")
        if path.is_dir():
            files = sorted(f for f in path.iterdir() if f.is_file())
            chosen = [(lang or f.name.removesuffix(".txt"), f) for f in files
                      if lang or _LANG_FILE.match(f.name.removesuffix(".txt"))]
        else:
            name = lang or path.name.removesuffix(".txt")
            if not _LANG_FILE.match(name):
                raise ValueError(f"word list {p}: cannot tell its language from the file name; give it as lang={p}")
            chosen = [(name, path)]
        for name, f in chosen:
            terms.setdefault(lang_key(name), set()).update(_read_terms(f))
    return {k: sorted(v) for k, v in sorted(terms.items())}


@dataclass
class WordHits:
    hits: int = 0                  # term occurrences
    distinct: int = 0              # distinct terms among them
    terms: list[str] = field(default_factory=list)  # the distinct terms (first MAX_TERMS_REPORTED, sorted)
    per_1k: float = 0.0            # hits per 1,000 words (per 1,000 non-space chars for substring langs)


NONE, WORD, ASCII = 0, 1, 2


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


class WordMatcher:
    """One Aho-Corasick automaton per language; build once per Python worker and reuse."""

    def __init__(self, terms_by_lang: dict[str, list[str]], substring_langs=SUBSTRING_LANGS,
                 min_substring_chars: int = MIN_SUBSTRING_CHARS):
        self.substring_langs = frozenset(substring_langs)
        self._automata: dict[str, ahocorasick.Automaton] = {}
        self.sizes: dict[str, int] = {}
        for lang, terms in terms_by_lang.items():
            key = lang_key(lang)
            substring = key in self.substring_langs
            auto = self._automata.get(key) or ahocorasick.Automaton()
            for t in terms:
                norm = normalize(t).strip()
                # boundary rule: WORD (no letter/digit of any script next to it), ASCII (Latin term in
                # a substring language: no ASCII letter/digit next to it; Han characters are fine), or none
                boundary = WORD if not substring else (ASCII if _LATIN_TERM.match(norm) else NONE)
                if not norm or (boundary == NONE and len(norm) < min_substring_chars):
                    continue
                auto.add_word(norm, (norm, boundary))
            self._automata[key] = auto
        for key, auto in self._automata.items():
            self.sizes[key] = len(auto)
            if len(auto):
                auto.make_automaton()

    def languages(self) -> list[str]:
        return sorted(k for k, n in self.sizes.items() if n)

    def scan(self, text: str, lang: str) -> WordHits:
        """Hits of lang's list in text (no list for lang: no hits)."""
        key = lang_key(lang)
        auto = self._automata.get(key)
        if auto is None or not self.sizes.get(key) or not text:
            return WordHits()
        norm = normalize(text)
        n = len(norm)
        counts: dict[str, int] = {}
        for end, (term, boundary) in auto.iter(norm):
            if boundary != NONE:
                is_word = _is_word_char if boundary == WORD else _is_ascii_word_char
                start = end - len(term) + 1
                if (start > 0 and is_word(norm[start - 1]) and is_word(term[0])) or (
                        end + 1 < n and is_word(norm[end + 1]) and is_word(term[-1])):
                    continue
            counts[term] = counts.get(term, 0) + 1
        hits = sum(counts.values())
        if key in self.substring_langs:
            units = n - norm.count(" ")
        else:
            units = len(norm.split())
        per_1k = 1000.0 * hits / units if units else 0.0
        return WordHits(hits, len(counts), sorted(counts)[:MAX_TERMS_REPORTED], per_1k)


def build_matcher(terms_by_lang: dict[str, list[str]], substring_langs=SUBSTRING_LANGS,
                  min_substring_chars: int = MIN_SUBSTRING_CHARS) -> WordMatcher:
    """One automaton per language over terms_by_lang (see WordMatcher)."""
    return WordMatcher(terms_by_lang, substring_langs, min_substring_chars)


def terms_digest(terms_by_lang: dict[str, list[str]]) -> str:
    """Content hash of the lists: the key of the per-worker automaton cache."""
    return hashlib.sha1(json.dumps(terms_by_lang, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


# ---- per-worker cache + Spark batch adapter ---------------------------------------------------
_MATCHERS: dict[str, WordMatcher] = {}


def cached_matcher(digest: str, terms_by_lang_fn) -> WordMatcher:
    """The worker's matcher for these lists, built on first use (terms_by_lang_fn() gives the lists)."""
    m = _MATCHERS.get(digest)
    if m is None:
        _MATCHERS.clear()
        m = _MATCHERS[digest] = build_matcher(terms_by_lang_fn())
    return m


def scan_batch(matcher: WordMatcher, texts, langs) -> dict[str, list]:
    """Column-wise scan of one batch: word_hits, word_distinct, word_per_1k, word_terms."""
    out: dict[str, list] = {"word_hits": [], "word_distinct": [], "word_per_1k": [], "word_terms": []}
    for text, lang in zip(texts, langs):
        h = matcher.scan(text if isinstance(text, str) else "", lang if isinstance(lang, str) else "")
        out["word_hits"].append(h.hits)
        out["word_distinct"].append(h.distinct)
        out["word_per_1k"].append(h.per_1k)
        out["word_terms"].append(h.terms)
    return out


def iter_scan(batches: Iterator, digest: str, terms_by_lang_fn) -> Iterator[dict[str, list]]:
    matcher = cached_matcher(digest, terms_by_lang_fn)
    for texts, langs in batches:
        yield scan_batch(matcher, texts, langs)
