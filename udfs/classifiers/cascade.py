"""Which documents the encoder must see: the first-pass model's uncertainty band, per head.

A binary head's band is an interval [lo, hi] of the first-pass probability of its second label
(labels sorted: clean/toxic, ad/clean, ...). Inside it the encoder decides, outside it the first
pass does. The band is chosen on the validation split when the model is trained: the narrowest
one (fewest documents sent to the encoder) whose F1, for every label, is within `tolerance` of the
better of the two models alone. Heads with more than two labels always go to the encoder.
"""
from __future__ import annotations

import numpy as np

TOLERANCE = 0.005
EMPTY = [1.0, 0.0]      # a band nothing falls in: the first pass decides every document


def f1_per_label(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    out = np.zeros(n_labels)
    for k in range(n_labels):
        tp = np.sum((gold == k) & (pred == k))
        fp = np.sum((gold != k) & (pred == k))
        fn = np.sum((gold == k) & (pred != k))
        out[k] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def in_band(p: np.ndarray, band: tuple[float, float] | None) -> np.ndarray:
    """True where the encoder decides: p (first-pass probability of labels[1]) inside [lo, hi]."""
    if band is None:
        return np.ones(len(p), dtype=bool)
    lo, hi = band
    return (p >= lo) & (p <= hi)


def choose_band(cheap: np.ndarray, bert: np.ndarray, gold: np.ndarray, tolerance: float = TOLERANCE) -> dict:
    """The band for one binary head from validation probabilities of labels[1] and gold ids (0/1).

    Returns {"band": [lo, hi], "share": ..., "f1": cascade F1 per label, "f1_cheap": ..., "f1_bert": ...}.
    Candidate edges are quantiles of the first-pass probabilities below and above 0.5; an empty
    band (first pass alone) and the full band (encoder alone) are always candidates.
    """
    cheap, bert, gold = np.asarray(cheap, float), np.asarray(bert, float), np.asarray(gold, int)
    f_cheap = f1_per_label(gold, (cheap >= 0.5).astype(int), 2)
    f_bert = f1_per_label(gold, (bert >= 0.5).astype(int), 2)
    target = np.maximum(f_cheap, f_bert) - tolerance
    below, above = cheap[cheap < 0.5], cheap[cheap >= 0.5]
    q = np.linspace(0, 1, 41)
    los = np.unique(np.concatenate([[0.5, 0.0], np.quantile(below, q) if len(below) else []]))
    his = np.unique(np.concatenate([[0.5, 1.0], np.quantile(above, q) if len(above) else []]))
    best = None
    for lo in los:
        for hi in his:
            if hi < lo:
                continue
            route = (cheap >= lo) & (cheap <= hi)
            if lo == 0.5 and hi == 0.5:
                route = np.zeros(len(cheap), dtype=bool)            # the empty band: first pass alone
            p = np.where(route, bert, cheap)
            f = f1_per_label(gold, (p >= 0.5).astype(int), 2)
            share = float(route.mean()) if len(route) else 0.0
            slack = float(np.min(f - target))
            key = (slack >= 0, -share if slack >= 0 else slack, float(f.mean()))
            if best is None or key > best[0]:
                best = (key, [float(lo), float(hi)] if route.any() else EMPTY, share, f)
    _, band, share, f = best
    return {"band": band, "share": share, "f1": f.tolist(), "f1_cheap": f_cheap.tolist(),
            "f1_bert": f_bert.tolist(), "tolerance": tolerance}
