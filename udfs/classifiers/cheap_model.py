"""The cascade's first pass: hashed word and character n-grams with logistic regression.

Why: on held-out toxicity data a linear model over n-grams is within a point or two of a fine-tuned
BERT (Davidson F1 0.962 vs 0.976) and beats an English-vocabulary BERT in Chinese, at about a
thousandth of the cost. So every document gets this score first, and only the documents it is
unsure of (its probability inside the head's band, see udfs/classifiers/cascade.py) go through the encoder.

Features: word 1-2-grams plus character 1-3-grams inside word boundaries (the character n-grams
carry Chinese and Japanese, which have no spaces), hashed into `n_features` buckets each (no
vocabulary to store), tf-idf weighted with sublinear tf, then multinomial logistic regression. The
fitted model is three arrays and a few settings, saved as `<dir>/cheap/<head>.npz` (no pickle).

A document is scored line by line: each non-empty line of its first and last `CHAR_WINDOW // 2`
characters gets its own probability, and the document's is their mean weighted by line length. The
model learns from rows of one or two sentences (a comment, a paragraph); scored whole, a page of
several paragraphs is a bag of n-grams unlike any of them, and a first pass scoring it so is
confidently wrong on such pages (bench/README.md, "Where the leaks come from"). Line by line, a page reads as its
training rows did, as the encoder reads a long document window by window; a one-line text is
scored as the single row it is. The lines' own probabilities also reach the cascade: a document whose mean the
first pass would clear while one of its lines alone it would flag goes to the encoder
(udfs/classifiers/cascade.py, `hidden_hits`). The window bounds the cost: a 1 MB page must not cost
a megabyte of n-grams.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from corpusmill.udfs.classifiers.char_ngrams import char_wb_counts

CHAR_WINDOW = 4000          # characters of a document the first pass reads (head + tail)
FORMAT = "corpusmill-cheap/1"


def cut(text: str | None) -> str:
    """The head and tail of a long text; None becomes ''."""
    if not text:
        return ""
    if len(text) <= CHAR_WINDOW:
        return text
    h = CHAR_WINDOW // 2
    return text[:h] + " " + text[-h:]


class Reading:
    """Documents as the first pass reads them: the lines of each one's head and tail (`lines`), the
    document each line belongs to (`owner`) and its weight (its length; an empty document is one empty
    line). The n-gram counts are hashed once per feature size and shared by the heads that read them."""

    def __init__(self, texts: list[str | None]):
        lines, owner = [], []
        for i, text in enumerate(texts):
            got = [x for x in (ln.strip() for ln in cut(text).split("\n")) if x] or [""]
            lines += got
            owner += [i] * len(got)
        self.n_docs = len(texts)
        self.lines = lines
        self.owner = np.asarray(owner, dtype=np.int64)
        self.weight = np.maximum(np.fromiter((len(x) for x in lines), np.float64, len(lines)), 1.0)
        self._counts: dict[int, object] = {}

    def counts(self, n_features: int):
        if n_features not in self._counts:
            self._counts[n_features] = hashed_counts(self.lines, n_features)
        return self._counts[n_features]

    def mean(self, per_line: np.ndarray) -> np.ndarray:
        """[n_docs, k]: each document's length-weighted mean of its lines' rows."""
        total = np.zeros((self.n_docs, per_line.shape[1]))
        np.add.at(total, self.owner, per_line * self.weight[:, None])
        return total / np.bincount(self.owner, weights=self.weight, minlength=self.n_docs)[:, None]


def hashed_counts(texts: list[str | None], n_features: int):
    """Hashed word 1-2-gram and character 1-3-gram counts of the texts' head and tail (CSR rows):
    scikit-learn's HashingVectorizer for the words, its char_wb analyzer's exact counts from
    udfs/classifiers/char_ngrams.py (4x faster) for the characters."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

    docs = [cut(t) for t in texts]
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=n_features, alternate_sign=False,
                              norm=None, dtype=np.float32).transform(docs)
    return sp.hstack([words, char_wb_counts(docs, n_features, (1, 3))]).tocsr()


@dataclass
class CheapModel:
    """A fitted first-pass model: probabilities for `labels` (sorted label strings)."""

    labels: list[str]
    idf: np.ndarray            # [2 * n_features] float32, tf-idf weights of the hashed features
    coef: np.ndarray           # [n_classes or 1, 2 * n_features] float32
    intercept: np.ndarray      # [n_classes or 1] float32
    n_features: int

    def features(self, texts: list[str | None], counts=None):
        """Normalised tf-idf rows; `counts` (hashed_counts of the same texts) skips the hashing."""
        import scipy.sparse as sp

        x = hashed_counts(texts, self.n_features) if counts is None else counts.copy()
        x.data = 1.0 + np.log(x.data, dtype=np.float32)            # sublinear tf
        x = x.multiply(self.idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms) @ x

    def predict_proba(self, docs: "list[str | None] | Reading") -> np.ndarray:
        """[n, len(labels)] probabilities of documents (texts, or a Reading of them), line by line (see
        the module's docstring); an empty text gets the model's prior (intercept only).

        The heads of one pass share one Reading: hashing the n-grams is most of the first pass's cost,
        and it does not depend on the model."""
        reading = docs if isinstance(docs, Reading) else Reading(docs)
        return reading.mean(self.predict_lines(reading)).astype(np.float32)

    def predict_lines(self, reading: "Reading") -> np.ndarray:
        """[lines, len(labels)] probabilities of each line of a Reading."""
        if not reading.lines:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.predict_rows(reading.lines, reading.counts(self.n_features))

    def predict_rows(self, texts: list[str], counts=None) -> np.ndarray:
        """[n, len(labels)] probabilities of each text as one row (as the model was fitted)."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        z = np.asarray(self.features(texts, counts) @ self.coef.T) + self.intercept[None, :]
        if z.shape[1] == 1:                                          # binary: one logit for labels[1]
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1).astype(np.float32)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, path: str) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        meta = json.dumps({"format": FORMAT, "labels": self.labels, "n_features": self.n_features})
        tmp = path + ".tmp.npz"
        np.savez_compressed(tmp, idf=self.idf, coef=self.coef, intercept=self.intercept, meta=np.array(meta))
        os.replace(tmp, path)


def load(path: str) -> CheapModel:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a first-pass model ({meta.get('format')!r})")
        return CheapModel(list(meta["labels"]), z["idf"], z["coef"], z["intercept"], int(meta["n_features"]))


def fit(texts: list[str], labels: list[str], *, n_features: int = 1 << 18, c: float = 8.0,
        class_weights: bool = True, seed: int = 0) -> CheapModel:
    """Fit on (text, label) pairs; `c` is the inverse L2 strength of the logistic regression."""
    from sklearn.linear_model import LogisticRegression

    names = sorted(set(labels))
    if len(names) < 2:
        raise ValueError(f"first-pass model: need at least two labels, got {names}")
    counts = hashed_counts(texts, n_features)
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float32)
    idf = (np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0).astype(np.float32)
    model = CheapModel(names, idf, np.zeros((1, counts.shape[1]), np.float32), np.zeros(1, np.float32), n_features)
    x = model.features(texts, counts)
    y = np.array([names.index(lab) for lab in labels])
    lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if class_weights else None,
                            solver="liblinear" if len(names) == 2 else "lbfgs", random_state=seed)
    lr.fit(x, y)
    model.coef = lr.coef_.astype(np.float32)
    model.intercept = lr.intercept_.astype(np.float32)
    return model
