"""Language-aware text units (words, lines, sentences) for the rule signals.

Three word splitters, chosen per language profile:

- ``latin``: whitespace chunks split into words and punctuation tokens with prefix / suffix / infix
  rules modelled on spaCy's English tokenizer (the tokenizer datatrove's Gopher and FineWeb filters
  use), so word counts, mean word length and n-grams agree with datatrove's. Pure Python + ``re``
  with a per-process cache of chunk splits: natural text is Zipfian, so most chunks are cache hits.
- ``rjieba``: Chinese word segmentation by rjieba (jieba-rs: jieba's dictionary and HMM, native
  code, ~20x faster), with runs like ``zh-hk`` or ``formula_1`` split the way jieba splits them, so
  its words are jieba's (99.999% of the words of the CMRC 2018 passages); whitespace dropped.
- ``jieba``: the same segmentation by the pure-Python jieba package (the reference for ``rjieba``).
- ``chars``: Japanese (or any unsegmented script) in character units: every CJK / kana character
  is a word, runs of other letters and digits are words, punctuation characters are tokens.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib.resources import files
from itertools import chain

# ---- character classes ---------------------------------------------------------------------------

# Characters that make a token a "symbol" (no real word): ASCII punctuation, typographic and CJK
# punctuation, and control characters. Matches the set datatrove uses for "non-symbol words".
PUNCTUATION_CHARS = frozenset(
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    "﹗﹒﹖‽⁈⁉｡።፧܂؞؟"
    + "".join(map(chr, [*range(0, 9), *range(11, 13), *range(13, 32), *range(127, 160)]))
)

# Sentence-final punctuation (a line "ends in terminal punctuation" when it ends with one of these).
TERMINAL_PUNCTUATION = frozenset(".!?。！？．﹒﹗﹖｡‽⁈⁉‼⁇։؟۔܂।॥።፧᙮")

# Characters after which the spaCy sentencizer starts a new sentence (at the next non-punct token).
SENTENCE_PUNCT = frozenset("!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡。")

_PREFIX_CHARS = set("؟،۔؛٪।§%=—–([{<>_#*&,:;!?¿¡。？！，、；：～·)]}'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉$£€¥฿₽₴₩₪₫₹₺₿…")
_SUFFIX_CHARS = set("؟،۔؛٪।,:;!?¿¡()[]{}<>_#*&。？！，、；：～·'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉…—–")
_CURRENCY = set("$£€¥฿₽₴₩₪₫₹₺₿")
_QUOTES = set("'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉")
_PUNCT_FOR_PERIOD = set(",:;!?¿¡()[]{}<>_#*&。？！，、；：～·%²-+") | _QUOTES
_UNITS = tuple(
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h kmh "
    "mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см см² см³ мм мм² мм³ "
    "нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тб".split()
)
_HYPHENS = ("---", "--", "——", "-", "–", "—", "~")
_POSSESSIVE_SUFFIXES = ("'s", "'S", "’s", "’S")
# URLs, e-mail addresses and domain names stay one token (top-level label: 2+ lower-case letters).
_URL = re.compile(
    r"(?:[\w+.-]{2,}://)?(?:\S+(?::\S*)?@)?"
    r"(?:(?:[^\W_](?:[\w-]{0,62}[^\W_])?|[^\W_])\.)+[a-zß-öø-ÿа-яα-ω][a-zß-öø-ÿа-яα-ω]{1,62}"
    r"(?::\d{2,5})?(?:[/?#]\S*)?$"
)
_PLAIN = re.compile(r"(?:[^\W\d_]+|\d+)$")   # only letters or only digits: one token, no rule applies


def _load_exceptions() -> dict[str, tuple[str, ...]]:
    """Chunks with a fixed split (contractions, abbreviations, emoticons) -> their tokens.

    The exceptions of spaCy's English tokenizer (MIT, see ``data/LICENSE-spacy.txt``) that its affix
    rules would not reproduce; one ``chunk<TAB>token token ...`` line each in the package data file.
    """
    text = files("corpusmill.udfs.rules").joinpath(_EXCEPTIONS_FILE).read_text(encoding="utf-8")
    return {chunk: tuple(toks.split(" "))
            for chunk, _, toks in (line.partition("\t") for line in text.strip("\n").split("\n"))}


_EXCEPTIONS_FILE = "data/spacy_en_tokenizer_exceptions.txt"
_EXCEPTIONS: dict[str, tuple[str, ...]] = _load_exceptions()


def _is_lower(c: str) -> bool:
    return c.islower() or (c.isalpha() and not c.isupper())


def _is_upper(c: str) -> bool:
    return c.isupper() or (c.isalpha() and not c.islower())


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_icon(c: str) -> bool:
    return unicodedata.category(c) == "So"


def _prefix_len(s: str) -> int:
    if s.startswith(".."):
        n = 2
        while n < len(s) and s[n] == ".":
            n += 1
        return n
    c = s[0]
    if c == "+":
        return 0 if len(s) > 1 and _digit(s[1]) else 1
    if c in _PREFIX_CHARS or _is_icon(c):
        return 1
    if s.startswith(("US$", "C$", "A$")):
        return 3 if s[0] == "U" else 2
    return 0


def _suffix_len(s: str) -> int:
    n = len(s)
    if s.endswith(".."):
        k = 2
        while k < n and s[n - k - 1] == ".":
            k += 1
        return k
    for suf in _POSSESSIVE_SUFFIXES:
        if s.endswith(suf) and n > len(suf):
            return len(suf)
    c = s[-1]
    if c in _SUFFIX_CHARS or _is_icon(c):
        return 1
    if n > 1 and _digit(s[-2]):
        if c == "+" or c in _CURRENCY:
            return 1
    best = 0
    for u in _UNITS:
        if len(u) > best and s.endswith(u) and n > len(u) and _digit(s[n - len(u) - 1]):
            best = len(u)
    if best:
        return best
    if c == "." and n > 1:
        p = s[-2]
        if _digit(p) or _is_lower(p) or p in _PUNCT_FOR_PERIOD:
            return 1
        if n > 2 and _is_upper(p) and _is_upper(s[-3]):
            return 1
    return 0


def _split_infixes(s: str) -> list[str]:
    out: list[str] = []
    start = 0
    i = 1
    n = len(s)
    while i < n - 1 or (i < n and (s[i] == "…" or _is_icon(s[i]))):
        c = s[i]
        k = 0
        prev, nxt = s[i - 1], (s[i + 1] if i + 1 < n else "")
        if c == "." and nxt == ".":
            k = 2
            while i + k < n and s[i + k] == ".":
                k += 1
        elif c == "…" or _is_icon(c):
            k = 1
        elif c in "+-*^" and _digit(prev) and (_digit(nxt) or nxt == "-"):
            k = 1
        elif c == "." and (_is_lower(prev) or prev in _QUOTES) and (_is_upper(nxt) or nxt in _QUOTES):
            k = 1
        elif c == "," and prev.isalpha() and nxt.isalpha():
            k = 1
        elif c in ":<>=/" and (prev.isalpha() or _digit(prev)) and nxt.isalpha():
            k = 1
        elif c in "-–—~" and (prev.isalpha() or _digit(prev)):
            for h in _HYPHENS:
                if s.startswith(h, i) and i + len(h) < n and s[i + len(h)].isalpha():
                    k = len(h)
                    break
        if k:
            if i > start:
                out.append(s[start:i])
            out.append(s[i:i + k])
            start = i + k
            i = start + 1 if start < n else start
            continue
        i += 1
    if start < n:
        out.append(s[start:])
    return out


def _split_chunk_uncached(chunk: str) -> tuple[str, ...]:
    if chunk in _EXCEPTIONS:
        return _EXCEPTIONS[chunk]
    if _PLAIN.match(chunk):
        return (chunk,)
    prefixes: list[str] = []
    suffixes: list[str] = []
    s = chunk
    while s:
        if s in _EXCEPTIONS:
            break
        before = len(s)
        p = _prefix_len(s)
        if p:
            prefixes.append(s[:p])
            s = s[p:]
            if s in _EXCEPTIONS:
                break
        if s:
            q = _suffix_len(s)
            if q and q <= len(s):
                suffixes.append(s[len(s) - q:])
                s = s[: len(s) - q]
        if len(s) == before:
            break
    middle: list[str] = []
    if s:
        if s in _EXCEPTIONS:
            middle = list(_EXCEPTIONS[s])
        elif _URL.match(s) or _PLAIN.match(s):
            middle = [s]
        else:
            middle = _split_infixes(s)
    return _merge_exceptions(prefixes + middle + suffixes[::-1])


def _merge_exceptions(toks: list[str]) -> tuple[str, ...]:
    """Re-join adjacent tokens that together spell an exception (``z`` ``.`` -> ``z.``; ``)`` ``:`` -> ``):``)."""
    n = len(toks)
    if n < 2:
        return tuple(toks)
    out: list[str] = []
    i = 0
    while i < n:
        for j in range(min(n, i + 6), i + 1, -1):
            cand = "".join(toks[i:j])
            if cand in _EXCEPTIONS:
                out.extend(_EXCEPTIONS[cand])
                i = j
                break
        else:
            out.append(toks[i])
            i += 1
    return tuple(out)


_CHUNK_CACHE: dict[str, tuple[str, ...]] = {}
_CHUNK_CACHE_MAX = 500_000


def split_chunk(chunk: str) -> tuple[str, ...]:
    """Tokens of one whitespace-free chunk (cached per process)."""
    t = _CHUNK_CACHE.get(chunk)
    if t is None:
        t = _split_chunk_uncached(chunk)
        if len(_CHUNK_CACHE) >= _CHUNK_CACHE_MAX:
            _CHUNK_CACHE.clear()
        if len(chunk) <= 64:
            _CHUNK_CACHE[chunk] = t
    return t


def words_latin(text: str) -> list[str]:
    """Words and punctuation tokens of space-delimited text (spaCy-English-like rules)."""
    chunks = text.split()
    toks = list(map(_CHUNK_CACHE.get, chunks))
    if None in toks:
        toks = [t if t is not None else split_chunk(c) for t, c in zip(toks, chunks)]
    return list(chain.from_iterable(toks))


# ---- Chinese: jieba ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def words_jieba(text: str) -> list[str]:
    """Chinese words by jieba (precise mode, HMM for unknown words); whitespace tokens dropped."""
    return [w for w in (t.strip() for t in _jieba().lcut(text, HMM=True)) if w]


@lru_cache(maxsize=1)
def _rjieba():
    import rjieba

    return rjieba


# jieba cuts a run of Latin letters / digits joined by these characters ("zh-hk", "formula_1") into its
# alphanumeric pieces and the joiners (its fallback pattern below); jieba-rs keeps the run whole.
_JOINED = re.compile(r"[+#&._%\-]")
_ALNUM_PIECE = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


def words_rjieba(text: str) -> list[str]:
    """Chinese words by rjieba (jieba-rs), cut as jieba cuts them; whitespace tokens dropped."""
    rj = _rjieba()
    words = rj.cut(text, True)
    if _JOINED.search(text):              # else no word holds a joiner: nothing to cut again
        out: list[str] = []
        for w in words:
            if len(w) > 1 and _JOINED.search(w) and not rj.has_word(w):   # "C++" is a dictionary word: kept
                out.extend(p for p in _ALNUM_PIECE.split(w) if p)
            else:
                out.append(w)
        words = out
    return [w for w in map(str.strip, words) if w]


# ---- Japanese and other unsegmented scripts: character units ------------------------------------

_CHAR_UNITS = re.compile(
    r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]"
    r"|[^\W_\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+"
    r"|[^\w\s]"
)


def words_chars(text: str) -> list[str]:
    """One token per CJK/kana character, per run of other letters/digits, per punctuation char."""
    return _CHAR_UNITS.findall(text)


SPLITTERS = {"latin": words_latin, "rjieba": words_rjieba, "jieba": words_jieba, "chars": words_chars}
# the package each splitter imports (checked before Spark starts: jobs/stages/rules.py)
SPLITTER_PACKAGES = {"rjieba": "rjieba", "jieba": "jieba"}


def word_splitter(name: str):
    try:
        return SPLITTERS[name]
    except KeyError:
        raise ValueError(f"unknown word splitter {name!r} (known: {', '.join(SPLITTERS)})") from None


_SYMBOL_TOKENS: dict[str, bool] = {}


def is_symbol_token(tok: str) -> bool:
    """True when every character is punctuation/control (the token is no real word); cached per process."""
    v = _SYMBOL_TOKENS.get(tok)
    if v is None:
        v = all(ch in PUNCTUATION_CHARS for ch in tok)
        if len(_SYMBOL_TOKENS) >= 1_000_000:
            _SYMBOL_TOKENS.clear()
        _SYMBOL_TOKENS[tok] = v
    return v


def is_punct_token(tok: str) -> bool:
    """Unicode punctuation only (spaCy's is_punct)."""
    return all(unicodedata.category(ch).startswith("P") for ch in tok)


def count_sentences(tokens: list[str]) -> int:
    """Sentences in one line of tokens, the way spaCy's rule-based sentencizer splits them.

    A new sentence starts at the first non-punctuation token after a sentence-final character token.
    """
    if not tokens:
        return 0
    n = 1
    seen = False
    for t in tokens:
        if seen and not (t in SENTENCE_PUNCT or is_punct_token(t)):
            n += 1
            seen = False
        elif t in SENTENCE_PUNCT:
            seen = True
    return n
