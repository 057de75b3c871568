"""MinHash signatures, vectorized with numpy over whole Arrow batches (no per-shingle Python).

Pipeline per batch of documents:
  normalize (a byte lookup table over the whole batch for ASCII text, Python str/regex per
  document otherwise) -> 64-bit token hashes -> 64-bit shingle hashes (n consecutive tokens)
  -> 128 minimums of a universal hash family -> band hashes; and a 128-bit hash of the token
  sequence for exact dedup.

Token hashing is done on the UTF-8 bytes of a whole batch at once: a polynomial hash whose prefix
sums are taken with wrap-around uint64 arithmetic, made position-independent by multiplying with
the modular inverse of the base (odd numbers are invertible mod 2^64), then mixed with splitmix64.
The batch is cut into pieces of bounded size at token boundaries, so a 10 MB document costs the
same memory as many small ones.

Tokenizers: "words" (letters/digits words after normalization), "chars" (Unicode characters with
whitespace removed: for zh/ja, which have no spaces), "code" (identifiers, numbers and operator
characters; punctuation is meaningful in code so it is never stripped).

Documents with fewer tokens than the shingle size get one shingle made of all their tokens (so
short exact copies still match each other); documents with no token get no signature at all
(num_shingles = 0, signature null) and can only be exact duplicates, of documents with the same text.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa

M64 = (1 << 64) - 1
TOKENIZERS = ("words", "chars", "code")
_P = 0x100000001B3 * 2 + 1          # odd base of the byte polynomial (invertible mod 2^64)
_P_INV = pow(_P, -1, 1 << 64)
_Q = 0x9E3779B97F4A7C15             # odd base combining token hashes into a shingle hash
_PIECE_BYTES = 1 << 21              # bytes hashed at once: bounds memory for any document size
_SIG_CHUNK = 16384                  # shingles x num_perm evaluated at once (16384 x 128 x 8 B = 16 MB)
_SENTINEL = np.uint32(0xFFFFFFFF)


# ---------------------------------------------------------------------------------------------
# normalization and tokens
@dataclass(frozen=True)
class NormConfig:
    """How text is normalized before shingling (all on by default, as in datatrove/text-dedup)."""

    lowercase: bool = True
    strip_punct: bool = True        # ignored for the code tokenizer
    digits_to_zero: bool = True     # "2019" and "2024" shingle alike: dates/counters don't hide copies
    unicode_nfkc: bool = False      # fold full-width forms etc. (slower)


_WORD_SEP = re.compile(r"[\W_]+", re.UNICODE)
_WS = re.compile(r"\s+", re.UNICODE)
_DIGIT = re.compile(r"\d", re.UNICODE)
_CODE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[^\sA-Za-z0-9_]", re.UNICODE)


def normalize(text: str, tokenizer: str = "words", norm: NormConfig = NormConfig()) -> str:
    """Normalized text in which tokens are separated by exactly one space (chars: no spaces).

    The same normalization feeds the exact-duplicate hash, so exact and near dedup agree.
    """
    if not text:
        return ""
    if norm.unicode_nfkc:
        import unicodedata

        text = unicodedata.normalize("NFKC", text)
    if norm.lowercase:
        text = text.lower()
    if norm.digits_to_zero:
        text = _DIGIT.sub("0", text)
    if tokenizer == "words":
        return _WORD_SEP.sub(" ", text).strip() if norm.strip_punct else _WS.sub(" ", text).strip()
    if tokenizer == "chars":
        if norm.strip_punct:
            text = _WORD_SEP.sub("", text)
        return _WS.sub("", text)
    if tokenizer == "code":
        return " ".join(_CODE_TOKEN.findall(text))
    raise ValueError(f"unknown tokenizer {tokenizer!r} (known: {', '.join(TOKENIZERS)})")


@lru_cache(maxsize=8)
def _ascii_lut(lowercase: bool, digits_to_zero: bool) -> np.ndarray:
    """Byte map of the "words" normalization for ASCII: token bytes kept (case/digits folded),
    every other byte (the ASCII part of [\\W_]) a space, \\x01 kept as the document separator."""
    lut = np.full(256, 32, dtype=np.uint8)
    for c in range(256):
        ch = chr(c)
        if c < 128 and ch.isalnum():
            ch = ch.lower() if lowercase else ch
            ch = "0" if digits_to_zero and ch.isdigit() else ch
            lut[c] = ord(ch)
    lut[1] = 1
    return lut


def tokens(text: str, tokenizer: str = "words", norm: NormConfig = NormConfig()) -> list[str]:
    """The token list the hashes are built from (for tests and brute-force evaluation)."""
    n = normalize(text, tokenizer, norm)
    if not n:
        return []
    return list(n) if tokenizer == "chars" else n.split(" ")


# ---------------------------------------------------------------------------------------------
# 64-bit hashing primitives (uint64 arrays wrap around on overflow, which is what we want)
def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads polynomial hashes over all 64 bits."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=2)
def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i mod 2^64 for i < n (computed once per worker)."""
    with np.errstate(over="ignore"):
        p = np.full(n, _P, dtype=np.uint64)
        p[0] = 1
        pinv = np.full(n, _P_INV, dtype=np.uint64)
        pinv[0] = 1
        return np.cumprod(p, dtype=np.uint64), np.cumprod(pinv, dtype=np.uint64)


def _hash_tokens_bytes(buf: np.ndarray, sep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash every maximal run of non-separator bytes of buf; returns (hashes, start offsets)."""
    n = len(buf)
    if n == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    is_tok = ~sep
    prev = np.concatenate(([False], is_tok[:-1]))
    nxt = np.concatenate((is_tok[1:], [False]))
    starts = np.flatnonzero(is_tok & ~prev)
    ends = np.flatnonzero(is_tok & ~nxt)            # inclusive
    pw, pinv = _powers(max(_PIECE_BYTES + 1, 1 << 10))
    with np.errstate(over="ignore"):
        c = (buf.astype(np.uint64) + np.uint64(1)) * pw[:n]
        cs = np.cumsum(c, dtype=np.uint64)
        before = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], np.uint64(0)).astype(np.uint64)
        raw = (cs[ends] - before) * pinv[starts]
        # the length goes in too, so "ab" and "ab\0" style prefixes never collide structurally
        raw = raw ^ ((ends - starts + 1).astype(np.uint64) << np.uint64(56))
    return _mix64(raw), starts


def _pieces(n: int, is_sep: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Cut [0, n) into pieces of about `limit` bytes, each cut right after a separator byte."""
    if n <= limit:
        return [(0, n)]
    out, lo = [], 0
    while lo < n:
        hi = min(lo + limit, n)
        if hi < n:
            cut = np.flatnonzero(is_sep[lo:hi])
            if len(cut):
                hi = lo + int(cut[-1]) + 1
            # else: a single token longer than the piece: hash it split (still deterministic)
        out.append((lo, hi))
        lo = hi
    return out


def _hash_buffer(buf: np.ndarray, doc_map: np.ndarray, hs: list, ds: list) -> None:
    """Hash the tokens (runs of bytes other than space and \x01) of a buffer of \x01-separated documents."""
    is_doc_sep = buf == 1
    is_sep = (buf == 32) | is_doc_sep
    doc_of_byte = np.cumsum(is_doc_sep)
    for lo, hi in _pieces(len(buf), is_sep, _PIECE_BYTES):
        h, st = _hash_tokens_bytes(buf[lo:hi], is_sep[lo:hi])
        hs.append(h)
        ds.append(doc_map[doc_of_byte[lo + st]])


def batch_token_hashes(texts: list[str | None], tokenizers: list[str],
                       norm: NormConfig = NormConfig()) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every token of a batch, in order, and the document index of each token.

    The tokens are those of normalize(): words/code tokens are hashed from their UTF-8 bytes,
    char tokens (zh/ja) from their code points. ASCII "words" documents (most of a web crawl)
    never become normalized strings: a byte lookup table maps the raw bytes of the whole batch
    to token bytes and separators in one numpy pass (the same tokens, tested), which halves
    the cost of tokenizing.
    """
    fast: list[int] = []
    words: list[int] = []
    chars: list[int] = []
    normed: dict[int, str] = {}
    ascii_ok = norm.strip_punct and not norm.unicode_nfkc
    for i, (t, tok) in enumerate(zip(texts, tokenizers)):
        if not t:
            continue
        if ascii_ok and tok == "words" and t.isascii() and "\x01" not in t:
            fast.append(i)
            continue
        n = normalize(t, tok, norm)
        if n:
            normed[i] = n
            (chars if tok == "chars" else words).append(i)
    hs: list[np.ndarray] = []
    ds: list[np.ndarray] = []
    if fast:
        raw = np.frombuffer("\x01".join([texts[i] for i in fast]).encode("ascii"), dtype=np.uint8)
        _hash_buffer(_ascii_lut(norm.lowercase, norm.digits_to_zero)[raw], np.asarray(fast, np.int64), hs, ds)
    if words:
        buf = np.frombuffer("\x01".join(normed[i] for i in words).encode("utf-8"), dtype=np.uint8)
        _hash_buffer(buf, np.asarray(words, np.int64), hs, ds)
    for i in chars:
        cps = np.frombuffer(normed[i].encode("utf-32-le"), dtype=np.uint32)
        hs.append(_mix64(cps.astype(np.uint64) + np.uint64(0x632BE59BD9B4E019)))
        ds.append(np.full(len(cps), i, dtype=np.int64))
    if not hs:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    h = np.concatenate(hs)
    d = np.concatenate(ds)
    order = np.argsort(d, kind="stable")          # documents contiguous, token order kept
    return h[order], d[order]


def exact_hashes(tok_h: np.ndarray, tok_d: np.ndarray, n_docs: int) -> list[str]:
    """128-bit hash (32 hex) of each document's token sequence: equal normalized texts, equal hash.

    Two independent 64-bit sums of (position, token hash) mixes per document, plus the token
    count; documents without a token all share one value here (compute_batch gives those a hash
    of their text instead).
    """
    counts = np.bincount(tok_d, minlength=n_docs).astype(np.uint64) if len(tok_d) else np.zeros(n_docs, np.uint64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    s1 = np.zeros(n_docs, np.uint64)
    s2 = np.zeros(n_docs, np.uint64)
    with np.errstate(over="ignore"):
        if len(tok_h):
            pos = np.arange(len(tok_h), dtype=np.uint64) - starts[tok_d].astype(np.uint64)
            v1 = _mix64(tok_h ^ (pos * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x7F4A7C159E3779B9)))
            v2 = _mix64(tok_h * np.uint64(0xD6E8FEB86659FD93) ^ (pos * np.uint64(0xC2B2AE3D27D4EB4F)
                                                                 + np.uint64(0x165667B19E3779F9)))
            nz = counts > 0
            s1[nz] = np.add.reduceat(v1, starts[nz])
            s2[nz] = np.add.reduceat(v2, starts[nz])
        f1 = _mix64(s1 ^ (counts * np.uint64(0xFF51AFD7ED558CCD)))
        f2 = _mix64(s2 + counts * np.uint64(0xC4CEB9FE1A85EC53))
    return [f"{a:016x}{b:016x}" for a, b in zip(f1.tolist(), f2.tolist())]


def shingle_hashes(tok_h: np.ndarray, tok_d: np.ndarray, ngram: int, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every window of `ngram` consecutive tokens inside one document.

    A document with 1..ngram-1 tokens gets one shingle of all its tokens.
    """
    counts = np.bincount(tok_d, minlength=n_docs) if len(tok_d) else np.zeros(n_docs, np.int64)
    n = len(tok_h)
    parts_h, parts_d = [], []
    if n >= ngram:
        m = n - ngram + 1
        with np.errstate(over="ignore"):
            s = tok_h[:m].copy()
            for i in range(1, ngram):
                s = s * np.uint64(_Q) + tok_h[i:i + m]
        valid = tok_d[:m] == tok_d[ngram - 1:ngram - 1 + m]
        parts_h.append(_mix64(s[valid]))
        parts_d.append(tok_d[:m][valid])
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    if len(short):
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        sh = np.empty(len(short), np.uint64)
        with np.errstate(over="ignore"):
            for j, di in enumerate(short):
                s = np.uint64(0)
                for t in tok_h[starts[di]:starts[di] + counts[di]]:
                    s = s * np.uint64(_Q) + t
                sh[j] = s ^ np.uint64(0xA5A5A5A5A5A5A5A5)   # never equal to a full-length shingle
        parts_h.append(_mix64(sh))
        parts_d.append(short.astype(np.int64))
    if not parts_h:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    h = np.concatenate(parts_h)
    d = np.concatenate(parts_d)
    order = np.argsort(d, kind="stable")
    return h[order], d[order]


# ---------------------------------------------------------------------------------------------
# MinHash
@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (a odd, b) of num_perm multiply-add-shift hashes h(x) = ((a*x + b) mod 2^64) >> 32.

    Multiply-shift (Dietzfelbinger et al.) is a universal family on 64-bit keys and needs no
    128-bit products or modulo, so numpy evaluates it at full speed.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, size=num_perm, dtype=np.uint64)
    return a, b


def minhash(sh: np.ndarray, sd: np.ndarray, n_docs: int, num_perm: int, seed: int) -> np.ndarray:
    """(n_docs, num_perm) uint32 signatures; rows of documents without shingles stay at 2^32-1.

    Evaluated transposed, (num_perm, shingles) per chunk, so the per-document minimum is a
    reduceat along the contiguous axis, and in place in one reused buffer (5x faster than the
    (shingles, num_perm) layout with temporaries).
    """
    a, b = permutations(num_perm, seed)
    sig = np.full((num_perm, n_docs), np.uint64(_SENTINEL), dtype=np.uint64)
    buf = np.empty((num_perm, min(_SIG_CHUNK, max(len(sh), 1))), dtype=np.uint64)
    a_col, b_col, shift = a[:, None], b[:, None], np.uint64(32)
    for lo in range(0, len(sh), _SIG_CHUNK):
        x = sh[lo:lo + _SIG_CHUNK]
        d = sd[lo:lo + _SIG_CHUNK]
        v = buf[:, :len(x)]
        np.multiply(a_col, x[None, :], out=v)         # wraps mod 2^64
        np.add(v, b_col, out=v)
        np.right_shift(v, shift, out=v)
        run_starts = np.flatnonzero(np.concatenate(([True], d[1:] != d[:-1])))
        red = np.minimum.reduceat(v, run_starts, axis=1)
        docs = d[run_starts]
        sig[:, docs] = np.minimum(sig[:, docs], red)
    return np.ascontiguousarray(sig.T).astype(np.uint32)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) int64: one hash per band of `rows` consecutive signature values."""
    n = sig.shape[0]
    out = np.empty((n, bands), dtype=np.uint64)
    s64 = sig.astype(np.uint64)
    with np.errstate(over="ignore"):
        for bi in range(bands):
            h = np.full(n, np.uint64(bi + 1) * np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
            for r in range(rows):
                h = _mix64(h ^ s64[:, bi * rows + r])
            out[:, bi] = h
    return out.view(np.int64)


def estimate_jaccard(sig1: np.ndarray, sig2: np.ndarray) -> float:
    """Share of equal signature positions: an unbiased Jaccard estimate."""
    return float(np.mean(np.asarray(sig1) == np.asarray(sig2)))


# ---------------------------------------------------------------------------------------------
# LSH parameters
def candidate_probability(j: float, bands: int, rows: int) -> float:
    """P(two documents at Jaccard j share at least one band) = 1 - (1 - j^r)^b."""
    return 1.0 - (1.0 - j ** rows) ** bands


def _integrate(f, a: float, b: float, steps: int = 400) -> float:
    if b <= a:
        return 0.0
    h = (b - a) / steps
    return h * (0.5 * f(a) + sum(f(a + i * h) for i in range(1, steps)) + 0.5 * f(b))


def optimal_bands_rows(threshold: float, num_perm: int, fp_weight: float = 0.5,
                       fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimizing the weighted FP and FN areas.

    FP area = integral over [0, t] of P(candidate); FN area = integral over [t, 1] of
    1 - P(candidate). With 128 hashes at t = 0.7 and equal weights this gives 14 x 9.
    """
    best, best_err = (1, 1), math.inf
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = _integrate(lambda s: candidate_probability(s, b, r), 0.0, threshold)
            fn = _integrate(lambda s: 1.0 - candidate_probability(s, b, r), threshold, 1.0)
            err = fp * fp_weight + fn * fn_weight
            if err < best_err - 1e-15:
                best, best_err = (b, r), err
    return best


# ---------------------------------------------------------------------------------------------
# batch entry point
@dataclass(frozen=True)
class SignatureSpec:
    """Everything a signature depends on; its key() goes into the stored signatures table."""

    num_perm: int = 128
    ngram: int = 5
    seed: int = 42
    bands: int = 14
    rows: int = 9
    norm: NormConfig = NormConfig()

    def key(self) -> str:
        n = self.norm
        blob = (f"v3|{self.num_perm}|{self.ngram}|{self.seed}|{self.bands}x{self.rows}|"
                f"{int(n.lowercase)}{int(n.strip_punct)}{int(n.digits_to_zero)}{int(n.unicode_nfkc)}")
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


@dataclass
class BatchSignatures:
    exact_hash: list[str | None]
    num_shingles: np.ndarray        # int32
    signatures: np.ndarray          # (n, num_perm) uint32
    bands: np.ndarray               # (n, bands) int64


def compute_batch(texts: list[str | None], tokenizers: list[str], spec: SignatureSpec) -> BatchSignatures:
    """Signatures of a batch of documents (each with its own tokenizer)."""
    n = len(texts)
    th, td = batch_token_hashes(texts, tokenizers, spec.norm)
    sh, sd = shingle_hashes(th, td, spec.ngram, n)
    counts = np.bincount(sd, minlength=n).astype(np.int32) if len(sd) else np.zeros(n, np.int32)
    sig = minhash(sh, sd, n, spec.num_perm, spec.seed)
    bands = band_hashes(sig, spec.bands, spec.rows)
    exact = exact_hashes(th, td, n)
    n_tokens = np.bincount(td, minlength=n) if len(td) else np.zeros(n, np.int64)
    for i in np.flatnonzero(n_tokens == 0).tolist():
        exact[i] = textless_hash(texts[i])
    return BatchSignatures(exact, counts, sig, bands)


def textless_hash(text: str | None) -> str:
    """Exact hash of a document the normalization leaves no token of ("!!!", "★ ★", ""): its text with
    runs of whitespace made one space, so only copies of the same symbols are exact duplicates (a
    shared value would make every such document a copy of every other)."""
    flat = " ".join((text or "").split())
    return hashlib.blake2b(b"\x00no-token\x00" + flat.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def shingle_sets(texts: list[str | None], tokenizers: list[str], ngram: int,
                 norm: NormConfig = NormConfig()) -> list[np.ndarray]:
    """Sorted unique shingle hashes per document (exact Jaccard for verification and evaluation)."""
    n = len(texts)
    th, td = batch_token_hashes(texts, tokenizers, norm)
    sh, sd = shingle_hashes(th, td, ngram, n)
    bounds = np.searchsorted(sd, np.arange(n + 1))
    return [np.unique(sh[bounds[i]:bounds[i + 1]]) for i in range(n)]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays (two empty sets: 0, never a duplicate)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def _list_array(values: np.ndarray, width: int, valid: np.ndarray, value_type: pa.DataType) -> pa.Array:
    n = len(valid)
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * width)
    arr = pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), type=value_type),
                                   mask=pa.array(~valid))
    return arr


def signature_batches(batches: Iterable[pa.RecordBatch], *, id_col: str, text_col: str, tokenizer_col: str | None,
                      default_tokenizer: str, spec: SignatureSpec, keep_cols: tuple[str, ...] = (),
                      max_batch_bytes: int = 8 << 20) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: (id, text[, tokenizer]) -> (id, exact_hash, num_shingles, signature, bands, *keep_cols).

    Splits Arrow batches so that one numpy pass sees at most ~max_batch_bytes of text.
    """
    for batch in batches:
        ids = batch.column(id_col)
        texts_all = batch.column(text_col).to_pylist()
        toks_all = (batch.column(tokenizer_col).to_pylist() if tokenizer_col
                    else [default_tokenizer] * batch.num_rows)
        lo = 0
        while lo < batch.num_rows:
            size, hi = 0, lo
            while hi < batch.num_rows and (hi == lo or size + len(texts_all[hi] or "") <= max_batch_bytes):
                size += len(texts_all[hi] or "")
                hi += 1
            texts = texts_all[lo:hi]
            toks = [t or default_tokenizer for t in toks_all[lo:hi]]
            res = compute_batch(texts, toks, spec)
            valid = res.num_shingles > 0
            yield pa.RecordBatch.from_arrays(
                [ids.slice(lo, hi - lo),
                 pa.array(res.exact_hash, type=pa.string()),
                 pa.array(res.num_shingles, type=pa.int32()),
                 _list_array(res.signatures.view(np.int32), spec.num_perm, valid, pa.int32()),
                 _list_array(res.bands, spec.bands, valid, pa.int64()),
                 *[batch.column(c).slice(lo, hi - lo) for c in keep_cols]],
                names=[id_col, "exact_hash", "num_shingles", "signature", "bands", *keep_cols])
            lo = hi


def jaccard_batches(batches: Iterable[pa.RecordBatch], *, ngram: int, norm: NormConfig) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for verification: (src, dst, src_text, dst_text, src_tok, dst_tok) -> + jaccard."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        t1 = batch.column("src_text").to_pylist()
        t2 = batch.column("dst_text").to_pylist()
        k1 = batch.column("src_tok").to_pylist()
        k2 = batch.column("dst_tok").to_pylist()
        sets = shingle_sets(t1 + t2, k1 + k2, ngram, norm)
        n = batch.num_rows
        j = np.array([jaccard(sets[i], sets[n + i]) for i in range(n)], dtype=np.float64)
        yield pa.RecordBatch.from_arrays([batch.column("src"), batch.column("dst"), pa.array(j)],
                                         names=["src", "dst", "jaccard"])
