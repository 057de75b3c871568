"""The vectorised character n-gram counts equal scikit-learn's, so first-pass models keep their features."""
from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from corpusmill.udfs.classifiers import char_ngrams, cheap_model

EDGE = ["", "   ", "\n\t", "a", "ab", "I", "İstanbul ÇAĞ ǅ", "emoji 😀😀 x 👍🏽", "中文文本，没有空格。日本語のテキスト",
        "tab\tsep\nnew\x1cline\x85end", "ß ﬁ ŉ", "a\u00a0b\u3000c\u2028d", "𝒜𝒝 𝔸 long", "x" * 300,
        "mixed: naïve café – “quotes” — 1,234.5", " leading and trailing  ", "\u0301combining e\u0301"]


def sklearn_char(docs, n_features, ngram_range):
    return HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range, n_features=n_features,
                             alternate_sign=False, norm=None, dtype=np.float32).transform(docs)


def assert_same(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert (a != b).nnz == 0
    assert b.has_sorted_indices


def test_murmur_matches_sklearn():
    rng = random.Random(0)
    keys = [bytes(rng.randrange(256) for _ in range(n)) for n in range(13) for _ in range(50)]
    words = np.zeros((len(keys), 3), dtype=np.uint32)
    for i, k in enumerate(keys):
        words[i] = np.frombuffer(k + bytes(12 - len(k)), dtype="<u4")
    got = char_ngrams.murmur3_32(words, np.array([len(k) for k in keys]))
    assert got.tolist() == [murmurhash3_32(k, seed=0) for k in keys]


def test_bucket_rule_for_min_int():
    h = np.array([-2**31, -5, 5, 2**31 - 1], dtype=np.int32)
    for n in (7, 1 << 18):
        assert char_ngrams.bucket(h, n).tolist() == [(2**31 - 1 - (n - 1)) % n, 5 % n, 5 % n, (2**31 - 1) % n]


@pytest.mark.parametrize("n_features", [7, 1 << 18, 1 << 20])
@pytest.mark.parametrize("ngram_range", [(1, 3), (2, 4), (1, 1), (3, 5)])
def test_edge_cases(n_features, ngram_range):
    assert_same(sklearn_char(EDGE, n_features, ngram_range), char_ngrams.char_wb_counts(EDGE, n_features, ngram_range))


def test_empty_batch_and_no_words():
    assert char_ngrams.char_wb_counts([], 16).shape == (0, 16)
    assert char_ngrams.char_wb_counts(["", " \n "], 16).nnz == 0


def test_real_text_in_chunks(shared_data, monkeypatch):
    """English and Chinese texts over several chunks; and cheap_model.hashed_counts, word part included."""
    docs = []
    with open(shared_data / "davidson-hate-offensive" / "train.csv", encoding="utf-8", newline="") as fh:
        docs += [row["tweet"] for _, row in zip(range(300), csv.DictReader(fh))]
    with open(shared_data / "cmrc2018-zh-wikipedia" / "contexts.jsonl", encoding="utf-8") as fh:
        docs += [json.loads(line)["text"] for _, line in zip(range(300), fh)]
    monkeypatch.setattr(char_ngrams, "CHUNK_DOCS", 64)
    docs = [cheap_model.cut(d) for d in docs]
    assert_same(sklearn_char(docs, 1 << 18, (1, 3)), char_ngrams.char_wb_counts(docs, 1 << 18))
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=1 << 18, alternate_sign=False,
                              norm=None, dtype=np.float32).transform(docs)
    import scipy.sparse as sp

    assert_same(sp.hstack([words, sklearn_char(docs, 1 << 18, (1, 3))]).tocsr(), cheap_model.hashed_counts(docs, 1 << 18))
