"""udfs.dedup.minhash as plain Python: normalization, shingles, signatures, band math (no Spark)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from corpusmill.udfs.dedup import evaluate as ev
from corpusmill.udfs.dedup import minhash as mh


def test_band_math_14x9_at_128_hashes_and_0_7():
    assert mh.optimal_bands_rows(0.7, 128) == (14, 9)
    p = [mh.candidate_probability(j, 14, 9) for j in (0.70, 0.75, 0.80)]
    assert [round(x, 2) for x in p] == [0.44, 0.66, 0.87]          # REFERENCE: 0.44 / 0.67 / 0.87
    assert round(mh.candidate_probability(0.7, 14, 8), 2) == 0.56   # datatrove / FineWeb 14 x 8
    assert round(mh.candidate_probability(0.7, 16, 8), 2) == 0.61
    # weighting false negatives more buys recall with more bands of fewer rows
    b, r = mh.optimal_bands_rows(0.7, 128, fp_weight=0.1, fn_weight=0.9)
    assert b * r <= 128 and r < 9 and mh.candidate_probability(0.7, b, r) > 0.9


def test_normalization_and_tokenizers():
    assert mh.tokens("Hello,  WORLD! It's 2024.") == ["hello", "world", "it", "s", "0000"]
    assert mh.tokens("中文，文本 测试", "chars") == list("中文文本测试")
    assert mh.tokens("x = foo(a, b)+1", "code") == ["x", "=", "foo", "(", "a", ",", "b", ")", "+", "0"]
    raw = mh.NormConfig(lowercase=False, strip_punct=False, digits_to_zero=False)
    assert mh.tokens("Hello,  World 42", norm=raw) == ["Hello,", "World", "42"]
    with pytest.raises(ValueError, match="unknown tokenizer"):
        mh.normalize("x", "sentencepiece")


def test_shingle_counts_short_and_empty_documents():
    spec = mh.SignatureSpec()
    r = mh.compute_batch(["a b c d e f g", "a b", "", None, "!!! ...", "一二三四五六"],
                         ["words", "words", "words", "words", "words", "chars"], spec)
    # 7 words -> 3 five-word shingles; 2 words -> one shingle of both; nothing -> 0; 6 chars -> 2
    assert r.num_shingles.tolist() == [3, 1, 0, 0, 0, 2]
    assert (r.signatures[2] == 0xFFFFFFFF).all()
    # normalization decides exact duplicates; a text with no token is a copy of the same text only
    assert r.exact_hash[2] == r.exact_hash[3] != r.exact_hash[4]
    r2 = mh.compute_batch(["A, B!"], ["words"], spec)
    assert r2.exact_hash[0] == r.exact_hash[1] and (r2.signatures[0] == r.signatures[1]).all()


def test_signature_independent_of_batch_and_piece_boundaries(monkeypatch):
    c = ev.generate(40, seed=11)
    texts = [r["text"] for r in c.rows]
    spec = mh.SignatureSpec()
    together = mh.compute_batch(texts, ["words"] * len(texts), spec)
    alone = mh.compute_batch(texts[7:8], ["words"], spec)
    assert (together.signatures[7] == alone.signatures[0]).all()
    # hashing in tiny pieces (as for a 10 MB document) gives identical shingles and signatures
    monkeypatch.setattr(mh, "_PIECE_BYTES", 64)
    mh._powers.cache_clear()
    pieces = mh.compute_batch(texts, ["words"] * len(texts), spec)
    mh._powers.cache_clear()
    assert (pieces.signatures == together.signatures).all()
    assert (pieces.bands == together.bands).all()


def test_estimate_tracks_exact_jaccard():
    rng = random.Random(3)
    vocab = ev.vocabulary(5000)
    spec = mh.SignatureSpec(num_perm=128)
    errs = []
    for k in range(60):
        base = [rng.choice(vocab) for _ in range(400)]
        var = ev.mutate(base, rng.choice([0.01, 0.03, 0.05, 0.1]), rng, vocab)
        sets = mh.shingle_sets([" ".join(base), " ".join(var)], ["words"] * 2, 5)
        j = mh.jaccard(*sets)
        r = mh.compute_batch([" ".join(base), " ".join(var)], ["words"] * 2, spec)
        est = mh.estimate_jaccard(r.signatures[0], r.signatures[1])
        errs.append((est - j) / max(np.sqrt(j * (1 - j) / 128), 1e-3))
    errs = np.array(errs)
    assert abs(errs.mean()) < 0.5          # unbiased
    assert np.abs(errs).max() < 4.5        # within binomial noise: the hash family behaves as min-wise


def test_band_hashes_equal_iff_rows_equal():
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 4], [1, 2, 3, 4]], dtype=np.uint32)
    b = mh.band_hashes(sig, 2, 2)
    assert b[0, 0] == b[1, 0] == b[2, 0]
    assert b[0, 1] != b[1, 1] and b[0, 1] == b[2, 1]
    assert b[0, 0] != b[0, 1]                      # the band index is part of the hash


def test_ten_megabyte_document():
    rng = random.Random(5)
    vocab = ev.vocabulary(30000)
    words = [rng.choice(vocab) for _ in range(1_400_000)]
    text = " ".join(words)
    assert len(text) > 10_000_000
    r = mh.compute_batch([text, "tiny doc here"], ["words", "words"], mh.SignatureSpec())
    assert r.num_shingles.tolist() == [len(words) - 4, 1]
    assert r.signatures.shape == (2, 128)


def test_ascii_fast_path_gives_the_tokens_of_normalize():
    """ASCII "words" documents are tokenized by a byte table; the regex path must give the same hashes.

    NFKC leaves these texts unchanged but sends every document down the per-document regex path.
    """
    import string
    import unicodedata

    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " \t\n_\x00\x7f"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 5, 50, 300]))) for _ in range(3000)]
    texts += [None, "", "   ", "__", "a", " a ", "A1b2 C3", "x\x01y", "café  Über 2024", "hello—world", "漢字 かな"]
    assert all(unicodedata.normalize("NFKC", t or "") == (t or "") for t in texts)
    toks = [["words", "chars", "code"][i % 3] if i % 7 == 0 else "words" for i in range(len(texts))]
    for norm in (mh.NormConfig(), mh.NormConfig(lowercase=False), mh.NormConfig(digits_to_zero=False)):
        slow = mh.NormConfig(lowercase=norm.lowercase, digits_to_zero=norm.digits_to_zero, unicode_nfkc=True)
        h, d = mh.batch_token_hashes(texts, toks, norm)
        h2, d2 = mh.batch_token_hashes(texts, toks, slow)
        assert (d == d2).all() and (h == h2).all()
        counts = np.bincount(d, minlength=len(texts))
        assert counts.tolist() == [len(mh.tokens(t or "", k, norm)) for t, k in zip(texts, toks)]


def test_exact_hash_is_the_normalized_token_sequence():
    spec = mh.SignatureSpec()
    texts = ["The cat, sat!", "the CAT sat", "sat the cat", "the cat sat sat", "", None, "!!!", "the cat",
             " !!!\n", "★ ★"]
    h = mh.compute_batch(texts, ["words"] * len(texts), spec).exact_hash
    assert h[0] == h[1]                                # normalization: case and punctuation
    assert len({h[0], h[2], h[3], h[7]}) == 4          # order, repetition and length all count
    assert h[4] == h[5] and h[6] == h[8]               # no token: the same text (spacing aside) only
    assert len({h[4], h[6], h[9], h[0]}) == 4
    assert all(len(x) == 32 for x in h)
    alone = mh.compute_batch(texts[2:3], ["words"], spec).exact_hash
    assert alone[0] == h[2]                            # independent of the batch
