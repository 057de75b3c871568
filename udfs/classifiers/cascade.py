"""Which documents the encoder must see: the first-pass model's uncertainty band, per head.

A binary head's band is an interval [lo, hi] of the first-pass probability of its second label
(labels sorted: clean/toxic, ad/clean, ...). Inside it the encoder decides, outside it the first
pass does. A stage decides at a cut on that probability (toxicity 0.8: toxic when p(toxic) >= 0.8;
advertisement 0.9 on labels ad/clean: ad when p(clean) <= 0.1), so the band is chosen for the cuts
the stage runs, on the validation split the model was trained with: the narrowest band (fewest
documents to the encoder) whose decisions at every cut keep each label's F1 within `tolerance` of the
better of the two models alone, and the flagged label's recall within `tolerance` of the encoder's.
A first pass whose probabilities are less extreme than the encoder's would otherwise let through, at
0.8, the documents the encoder flags at 0.8 and the first pass puts at 0.6. Heads with more than two
labels always go to the encoder. The first pass scores a document line by line
(udfs/classifiers/cheap_model.py); a document it would clear goes to the encoder too when one of its
lines alone lies beyond the band on the flagged side (`hidden_hits`).
"""
from __future__ import annotations

import numpy as np

TOLERANCE = 0.005
EMPTY = [1.0, 0.0]      # a band nothing falls in: the first pass decides every document
EDGES = 61              # candidate band edges: quantiles of the first-pass probabilities, plus the cuts
# Validation rows below which a band is a gamble: toxicity bands chosen at 0.8 on 20 random draws of
# n validation rows, scored on the held-out split, missed the encoder's recall or F1 by more than 0.01
# in 6 (COLD) and 2 (Davidson) of the draws at n = 200, 0 and 2 at 500, none at 1,000
# (bench/README.md, "Toxicity through the stage").
MIN_BAND_ROWS = 1000


def f1_per_label(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    out = np.zeros(n_labels)
    for k in range(n_labels):
        tp = np.sum((gold == k) & (pred == k))
        fp = np.sum((gold != k) & (pred == k))
        fn = np.sum((gold == k) & (pred != k))
        out[k] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def recall(gold: np.ndarray, pred: np.ndarray, label: int) -> float:
    n = np.sum(gold == label)
    return float(np.sum((gold == label) & (pred == label)) / n) if n else 1.0


def in_band(p: np.ndarray, band: tuple[float, float] | None) -> np.ndarray:
    """True where the encoder decides: p (first-pass probability of labels[1]) inside [lo, hi]."""
    if band is None:
        return np.ones(len(p), dtype=bool)
    lo, hi = band
    return (p >= lo) & (p <= hi)


def hidden_hits(p_doc: np.ndarray, p_lines: np.ndarray, owner: np.ndarray, band, flagged: int) -> np.ndarray:
    """True for the documents the first pass would clear (p_doc outside the band on the clean side)
    although one of their lines alone lies beyond the band on the flagged side: one insult in a thread
    of six polite comments, a garbled paragraph in a clean page. They go to the encoder; the mean of
    the lines cannot see them, and the validation rows (one line each) never show them. p_lines:
    p(labels[1]) of each line, owner: its document's index. An empty band routes nothing."""
    p_doc, p_lines = np.asarray(p_doc), np.asarray(p_lines)
    if band is None or band[0] > band[1]:
        return np.zeros(len(p_doc), dtype=bool)
    lo, hi = band
    clear, hot = (p_doc < lo, p_lines > hi) if flagged == 1 else (p_doc > hi, p_lines < lo)
    any_hot = np.zeros(len(p_doc), dtype=bool)
    np.logical_or.at(any_hot, owner, hot)
    return clear & any_hot


def cut_for(threshold: float, label_index: int) -> float:
    """The cut on p(labels[1]) that flags label_index at threshold (p(labels[0]) = 1 - p(labels[1]))."""
    return float(threshold) if label_index == 1 else round(1.0 - float(threshold), 12)


def decide(p: np.ndarray, cut: float, flagged: int) -> np.ndarray:
    """Predicted label ids at a cut: the flagged label where its probability reaches the threshold."""
    hit = p >= cut if flagged == 1 else p <= cut
    return np.where(hit, flagged, 1 - flagged)


def small_validation_note(head: str, rows: int) -> str | None:
    """A warning when head's band is chosen on fewer than MIN_BAND_ROWS validation rows, else None."""
    if rows >= MIN_BAND_ROWS:
        return None
    return (f"{head}: the cascade's band is chosen on {rows} validation rows (fewer than {MIN_BAND_ROWS}): held "
            f"out, the cascade may miss what the encoder catches; label more rows, raise "
            f"classifiers.validation_share, or run the stage with cascade: false")


def _scores(gold, p, cut, flagged) -> tuple[np.ndarray, float]:
    pred = decide(p, cut, flagged)
    return f1_per_label(gold, pred, 2), recall(gold, pred, flagged)


def choose_band(cheap: np.ndarray, bert: np.ndarray, gold: np.ndarray, tolerance: float = TOLERANCE,
                cuts: tuple[float, ...] = (0.5,), flagged: int = 1) -> dict:
    """The band for one binary head from validation probabilities of labels[1] and gold ids (0/1),
    for decisions at `cuts` (on p(labels[1])) that flag label `flagged`.

    Returns {"band": [lo, hi], "share", "cuts", "flagged", "f1", "f1_cheap", "f1_bert", "recall",
    "recall_bert", "tolerance"}: per-label F1 and the flagged label's recall at each cut (lists in
    the order of `cuts`), for the cascade, the first pass alone and the encoder alone.
    """
    cheap, bert, gold = np.asarray(cheap, float), np.asarray(bert, float), np.asarray(gold, int)
    cuts = tuple(float(c) for c in cuts)
    alone = {"cheap": [_scores(gold, cheap, c, flagged) for c in cuts],
             "bert": [_scores(gold, bert, c, flagged) for c in cuts]}
    f1_target = [np.maximum(fc, fb) - tolerance for (fc, _), (fb, _) in zip(alone["cheap"], alone["bert"])]
    rec_target = [rb - tolerance for _, rb in alone["bert"]]
    q = np.linspace(0, 1, EDGES)
    edges = np.unique(np.concatenate([[0.0, 1.0], cuts, np.quantile(cheap, q) if len(cheap) else []]))
    candidates = [None] + [(lo, hi) for i, lo in enumerate(edges) for hi in edges[i:]]   # None: no band
    best = None
    for band in candidates:
        route = np.zeros(len(cheap), dtype=bool) if band is None else (cheap >= band[0]) & (cheap <= band[1])
        p = np.where(route, bert, cheap)
        got = [_scores(gold, p, c, flagged) for c in cuts]
        slack = min(min(float(np.min(f - t)), r - rt) for (f, r), t, rt in zip(got, f1_target, rec_target))
        share = float(route.mean()) if len(route) else 0.0
        key = (slack >= 0, -share if slack >= 0 else slack, float(np.mean([f.mean() for f, _ in got])))
        if best is None or key > best[0]:
            best = (key, [float(band[0]), float(band[1])] if route.any() else EMPTY, share, got)
    _, band, share, got = best
    return {"band": band, "share": share, "cuts": list(cuts), "flagged": flagged,
            "f1": [f.tolist() for f, _ in got], "recall": [r for _, r in got],
            "f1_cheap": [f.tolist() for f, _ in alone["cheap"]], "recall_cheap": [r for _, r in alone["cheap"]],
            "f1_bert": [f.tolist() for f, _ in alone["bert"]], "recall_bert": [r for _, r in alone["bert"]],
            "tolerance": tolerance}
