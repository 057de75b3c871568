"""Hashed character n-gram counts, identical to scikit-learn's, computed with numpy over a whole batch.

Why: the first-pass models read character 1-3-grams inside word boundaries through scikit-learn's
`HashingVectorizer(analyzer="char_wb")`, which builds every n-gram as a Python string and hashes them
one at a time: ~3-5 ms per 2 KB document on one core, most of a first pass and paid by both the
`safety` and the `quality` stage for every document. The same counts come from array operations over
the batch's UTF-8 bytes: every n-gram's bytes are gathered, hashed with MurmurHash3 (x86, 32 bit,
seed 0, as scikit-learn) in vectorised uint32 arithmetic and bucketed the way scikit-learn buckets
them, so existing models read exactly the features they were trained on (tests/test_char_ngrams.py
compares the matrices).

What scikit-learn does, and this repeats: lowercase the text; split it at whitespace; pad each word
with one space on either side; emit every window of `lo..hi` characters inside each padded word (a
padded word shorter than n gives one window, then no longer ones); hash each window's UTF-8 bytes;
bucket = |h| mod n_features (h = -2**31 gets its own rule); count.
"""
from __future__ import annotations

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M5, _N = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


CHUNK_DOCS = 512     # documents per array pass: ~12 MB of keys for 2 KB documents, still cache friendly
                     # (per-document time 0.8-1.0 ms from 64 to 1,024, 1.8 ms at 4,000)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix(k: np.ndarray) -> np.ndarray:
    k = k * _C1
    return _rotl(k, 15) * _C2


def murmur3_32(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Signed MurmurHash3_x86_32 (seed 0) of keys given as [n, W] little-endian uint32 words whose bytes
    past each key's length are zero, and the keys' byte lengths [n]."""
    with np.errstate(over="ignore"):
        h = np.zeros(len(lengths), dtype=np.uint32)
        blocks = lengths // 4
        for b in range(words.shape[1]):
            full = blocks > b
            hb = h ^ _mix(words[:, b])
            hb = _rotl(hb, 13) * _M5 + _N
            h = np.where(full, hb, h)
        tail = np.take_along_axis(words, np.minimum(blocks, words.shape[1] - 1)[:, None], axis=1)[:, 0]
        tail = np.where(blocks < words.shape[1], tail, np.uint32(0))
        h ^= _mix(tail)                      # a zero tail (length a multiple of 4) mixes to zero: a no-op
        h ^= lengths.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= _F1
        h ^= h >> np.uint32(13)
        h *= _F2
        h ^= h >> np.uint32(16)
    return h.view(np.int32)


def bucket(h: np.ndarray, n_features: int) -> np.ndarray:
    """scikit-learn's column for a signed hash: |h| mod n_features, with its rule for -2**31."""
    h64 = h.astype(np.int64)
    np.abs(h64, out=h64)                     # |-2**31| = 2**31 in int64; the rule below replaces it
    out = h64 & (n_features - 1) if n_features & (n_features - 1) == 0 else h64 % n_features
    out[h == np.int32(-2**31)] = (2**31 - 1 - (n_features - 1)) % n_features
    return out


def _utf8_lengths(cps: np.ndarray) -> np.ndarray:
    return 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)


def char_wb_counts(docs: list[str], n_features: int, ngram_range: tuple[int, int] = (1, 3)):
    """[len(docs), n_features] float32 CSR counts, equal to HashingVectorizer(analyzer="char_wb",
    ngram_range=ngram_range, n_features=n_features, alternate_sign=False, norm=None).transform(docs)."""
    import scipy.sparse as sp

    if len(docs) <= CHUNK_DOCS:
        return _chunk_counts(docs, n_features, ngram_range)
    return sp.vstack([_chunk_counts(docs[i:i + CHUNK_DOCS], n_features, ngram_range)
                      for i in range(0, len(docs), CHUNK_DOCS)], format="csr")


def _chunk_counts(docs: list[str], n_features: int, ngram_range: tuple[int, int]):
    import scipy.sparse as sp

    lo, hi = ngram_range
    pieces, word_len, word_doc = [], [], []
    for j, doc in enumerate(docs):
        words = doc.lower().split()
        pieces.append("".join(f" {w} " for w in words))
        word_len.extend(len(w) + 2 for w in words)
        word_doc.extend([j] * len(words))
    if not word_len:
        return sp.csr_matrix((len(docs), n_features), dtype=np.float32)
    text = "".join(pieces)
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    wlen = np.asarray(word_len, dtype=np.int64)
    wend = np.cumsum(wlen)
    wstart = wend - wlen
    word_of = np.repeat(np.arange(len(wlen)), wlen)            # every character's padded word
    end_of = wend[word_of]
    doc_of = np.asarray(word_doc, dtype=np.int64)[word_of]
    offset = np.concatenate([[0], np.cumsum(_utf8_lengths(cps))])   # byte offset of every character
    raw = np.frombuffer(text.encode("utf-8") + bytes(4 * (hi + 1)), dtype=np.uint8).astype(np.uint32)
    at = raw[:-3] | (raw[1:-2] << np.uint32(8)) | (raw[2:-1] << np.uint32(16)) | (raw[3:] << np.uint32(24))
    pos = np.arange(len(cps), dtype=np.int64)
    rows, cols = [], []
    for n in range(lo, hi + 1):
        # windows of n characters inside a padded word; a word shorter than n gives itself once, at
        # the first n only (scikit-learn stops at the first n a padded word is not longer than)
        start = pos[pos + n <= end_of]
        end = start + n
        if n == lo and (wlen < n).any():
            start, end = np.concatenate([start, wstart[wlen < n]]), np.concatenate([end, wend[wlen < n]])
        start_b = offset[start]
        length = offset[end] - start_b
        keys = np.empty((len(start), n), dtype=np.uint32)     # n characters are at most 4n bytes
        for k in range(n):
            valid = np.clip(length - 4 * k, 0, 4)
            mask = ((np.uint64(1) << (8 * valid).astype(np.uint64)) - np.uint64(1)).astype(np.uint32)
            keys[:, k] = at[start_b + 4 * k] & mask
        cols.append(bucket(murmur3_32(keys, length), n_features))
        rows.append(doc_of[start])
    return _count_matrix(np.concatenate(rows), np.concatenate(cols), len(docs), n_features)


def _count_matrix(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int):
    """CSR counts of (row, col) pairs, indices sorted: one sort of row * n_cols + col."""
    import scipy.sparse as sp

    key = rows * n_cols + cols
    key.sort()
    new = np.empty(len(key), dtype=bool)
    new[:1] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    first = np.flatnonzero(new)
    counts = np.diff(np.append(first, len(key))).astype(np.float32)
    uniq = key[first]
    indptr = np.searchsorted(uniq, np.arange(n_rows + 1, dtype=np.int64) * n_cols)
    return sp.csr_matrix((counts, (uniq % n_cols).astype(np.int32), indptr), shape=(n_rows, n_cols))
