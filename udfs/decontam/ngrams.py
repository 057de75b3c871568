"""Text to 64-bit n-gram hashes, the same way for benchmark items and for corpus documents.

Normalization: Unicode NFKC (full-width letters and digits become ASCII), then lower case. Two token
streams come out of one text:
- words: maximal runs of letters and digits outside the CJK ranges (punctuation, `_` and spaces
  separate them), for space-delimited languages and for code; a word n-gram never spans CJK text
  (the Latin words scattered through a Chinese page are not one sentence);
- characters: every Han, Hiragana and Katakana character, for Chinese and Japanese, which have no
  spaces between words; everything else is left out of this stream.
Choosing by script rather than by the document's language tag handles mixed documents (an English
page quoting a Chinese passage, a Chinese page with English terms) without a language decision.

A token is hashed once (word: blake2b-64 of its UTF-8, cached per worker; character: a 64-bit mix of
its code point); an n-gram hash is the polynomial sum over its n token hashes modulo 2^64, every
window of a document at once from one numpy prefix sum (P is odd, so P^-1 exists modulo 2^64), then
mixed. With random token hashes and an
odd multiplier two different n-grams collide with probability 2^-64. Word and character n-grams
are salted apart, so the two streams share one sorted index.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORDS = re.compile(rf"[^\W_{CJK_RANGES}]+")
_NOT_CJK = re.compile(rf"[^{CJK_RANGES}]+")
_CJK_RUN = re.compile(rf"[{CJK_RANGES}]+")

_P = np.uint64(0x9E3779B97F4A7C15)          # odd: multiplication by it is invertible modulo 2^64
_WORD_SALT = np.uint64(0x243F6A8885A308D3)
_CHAR_SALT = np.uint64(0x13198A2E03707344)
_CHAR_TOKEN = np.uint64(0xA4093822299F31D0)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_EMPTY = np.zeros(0, dtype=np.uint64)

_TOKEN_CACHE: dict[str, int] = {}
_TOKEN_CACHE_MAX = 1 << 20               # entries per worker (~100 MB at most), cleared when full


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, element-wise (uint64 arithmetic wraps modulo 2^64)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        return x ^ (x >> _S31)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def words(normalized: str) -> list[str]:
    return _WORDS.findall(normalized)


def cjk_chars(normalized: str) -> str:
    return _NOT_CJK.sub("", normalized)


def _word_hash(w: str) -> int:
    h = _TOKEN_CACHE.get(w)
    if h is None:
        if len(_TOKEN_CACHE) >= _TOKEN_CACHE_MAX:
            _TOKEN_CACHE.clear()
        h = _TOKEN_CACHE[w] = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
    return h


def word_token_hashes(tokens: list[str]) -> np.ndarray:
    if not tokens:
        return _EMPTY
    hs = list(map(_TOKEN_CACHE.get, tokens))          # C-level lookups; a Python call only for new words
    if None in hs:
        hs = [h if h is not None else _word_hash(t) for h, t in zip(hs, tokens)]
    return np.array(hs, dtype=np.uint64)


def char_token_hashes(chars: str) -> np.ndarray:
    if not chars:
        return _EMPTY
    cps = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return mix64(cps ^ _CHAR_TOKEN)


_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_POWERS: dict[str, np.ndarray] = {"p": np.ones(1, dtype=np.uint64), "q": np.ones(1, dtype=np.uint64)}


def _powers(k: int) -> tuple[np.ndarray, np.ndarray]:
    """P^0..P^(k-1) and P^-0..P^-(k-1) modulo 2^64 (grown on demand, kept per worker)."""
    if len(_POWERS["p"]) < k:
        size = max(k, 2 * len(_POWERS["p"]), 4096)
        for key, base in (("p", _P), ("q", _P_INV)):
            a = np.full(size, base, dtype=np.uint64)
            a[0] = 1
            with np.errstate(over="ignore"):
                _POWERS[key] = np.cumprod(a, dtype=np.uint64)
    return _POWERS["p"][:k], _POWERS["q"][:k]


def ngram_hashes(tokens: np.ndarray, n: int, salt: np.uint64) -> np.ndarray:
    """Hash of every window of n consecutive token hashes (len(tokens) - n + 1 of them, or none):
    sum over the window of t[i+j] * P^(n-1-j) modulo 2^64, from one prefix sum of t[j] * P^-j."""
    m = len(tokens) - n + 1
    if m <= 0:
        return _EMPTY
    p, q = _powers(len(tokens))
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(tokens) + 1, dtype=np.uint64)
        np.cumsum(tokens * q, dtype=np.uint64, out=prefix[1:])
        h = (prefix[n:] - prefix[:m]) * p[n - 1:]
    return mix64(h ^ salt)


def word_ngrams(tokens: np.ndarray, n: int) -> np.ndarray:
    return ngram_hashes(tokens, n, _WORD_SALT)


def char_ngrams(tokens: np.ndarray, n: int) -> np.ndarray:
    return ngram_hashes(tokens, n, _CHAR_SALT)


def _segmented_words(normalized: str, first_segment: int, cjk: str) -> tuple[list[str], list[int], int]:
    """Words of a normalized text with the number of the CJK-free segment each lies in; the segment
    number goes up at every CJK run (cjk: the text's CJK characters). Returns (words, segment numbers,
    the last segment number)."""
    if not cjk:
        w = words(normalized)
        return w, [first_segment] * len(w), first_segment
    out, segs, seg = [], [], first_segment
    for j, piece in enumerate(_CJK_RUN.split(normalized)):
        seg += j > 0
        w = words(piece)
        out += w
        segs += [seg] * len(w)
    return out, segs, seg


def valid_windows(segments: np.ndarray, n: int) -> np.ndarray:
    """Boolean per word window (len - n + 1 of them): its first and last word lie in one segment."""
    m = len(segments) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=bool)
    return segments[:m] == segments[n - 1:]


CHUNK_CHARS = 1 << 20       # longer texts are read in pieces cut at line breaks (no word list of a 10 MB text)


def _pieces(text: str):
    """text in pieces of at most CHUNK_CHARS, cut after a line break (else a space), where no token is cut."""
    start = 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            cut = cut if cut > start else text.rfind(" ", start, end)
            end = cut + 1 if cut > start else end
        yield text[start:end]
        start = end


def text_tokens(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(word token hashes, their segment numbers, character token hashes) of a raw text."""
    ws, ss, cs, seg = [], [], [], 0
    for piece in _pieces(text) if len(text) > CHUNK_CHARS else [text]:
        norm = normalize(piece)
        cjk = cjk_chars(norm)
        w, segs, seg = _segmented_words(norm, seg, cjk)
        ws.append(word_token_hashes(w))
        ss.append(np.asarray(segs, dtype=np.int64))
        cs.append(char_token_hashes(cjk))
    if len(ws) == 1:
        return ws[0], ss[0], cs[0]
    return np.concatenate(ws), np.concatenate(ss), np.concatenate(cs)


def text_ngrams(text: str, n_words: int, n_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """(word n-gram hashes, character n-gram hashes) of a raw text; word windows across CJK text left out."""
    w, segs, c = text_tokens(text)
    return word_ngrams(w, n_words)[valid_windows(segs, n_words)], char_ngrams(c, n_chars)
