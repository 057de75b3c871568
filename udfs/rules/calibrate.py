"""Per-language thresholds from a reference corpus, by FineWeb-2's method: each rule is cut where the
reference (text the user trusts in that language) loses at most a given share of its documents.

Plain numpy over the reference's rule signals (measured by the rules stage, so with the language's own
signal profile). A rule whose signal the reference cannot speak for keeps its current value, with
the reason:
- fewer than `min_documents` reference documents have a value for the signal;
- a line rule (a signal over lines or line breaks), when fewer than `min_documents` reference
  documents have `min_lines` non-blank lines: a corpus of one-paragraph documents says nothing
  about how web pages break lines (every newline ratio would be 0, and 0 would become the limit);
- the cut is the reference's median: the signal has no tail there (most documents share one value,
  as a '#' count of 0), so any document unlike the typical reference one would be dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa

from corpusmill.udfs.format.langid import detect_language
from corpusmill.udfs.rules import signals as rs

# signals measured over lines or line breaks (the line-structure guard above)
LINE_SIGNALS = frozenset({
    "gr_dup_para_frac", "gr_dup_para_char_frac", "gr_dup_line_frac", "gr_dup_line_char_frac",
    "gq_bullet_lines_frac", "gq_ellipsis_lines_frac", "fw_line_punct_frac", "fw_short_line_frac",
    "fw_dup_line_char_frac", "fw_newline_word_ratio", "sep_lines_frac", "newline_frac", "max_newline_run",
    "c4_sentences",
})
LINES_SIGNAL = "fw_lines"       # non-blank lines of a document


def numeric_rules() -> dict[str, tuple[str, str]]:
    """'family.rule' -> (signal, op) for every rule with a numeric limit ('<' or '>')."""
    return {f"{fam.name}.{key}": (signal, op) for fam in rs.FAMILIES for key, signal, op in fam.rules
            if op in ("<", ">")}


@dataclass
class Proposal:
    """One rule's calibrated limit (or why it keeps its current one)."""

    rule: str                       # family.rule
    signal: str
    op: str                         # '<': a document fails below the limit, '>': above it
    current: float | None           # the language's limit now (None: the rule is off)
    proposed: float | None          # the calibrated limit; None: not calibrated (see note)
    reference_docs: int             # reference documents the signal was read on
    reference_loss: float | None    # share of them the proposed limit drops
    current_loss: float | None      # share of them the current limit drops
    median: float | None            # the reference's median of the signal
    note: str = ""                  # why the rule was not calibrated

    @property
    def calibrated(self) -> bool:
        return self.proposed is not None


def fails(values: np.ndarray, op: str, limit: float | None) -> np.ndarray:
    """Which values a limit drops (as the stage decides: a null limit drops nothing)."""
    if limit is None:
        return np.zeros(len(values), dtype=bool)
    return values < limit if op == "<" else values > limit


def cut(values: np.ndarray, op: str, max_loss: float) -> float:
    """The tightest limit, rounded to 3 decimals away from the reference, that drops at most max_loss of values.

    '>': the smallest limit with share(values > limit) <= max_loss; '<': the largest with
    share(values < limit) <= max_loss. Rounding goes outwards, so it never drops more.
    """
    v = np.sort(values)
    n = len(v)
    k = int(math.floor(max_loss * n + 1e-9))          # documents the limit may drop
    if op == ">":
        limit = float(v[n - 1 - k])                    # at most k values lie above it
        return math.ceil(limit * 1000 - 1e-9) / 1000
    limit = float(v[k])                                # at most k values lie below it
    return math.floor(limit * 1000 + 1e-9) / 1000


def propose(signals: dict[str, np.ndarray], current: dict[str, float | None], rules: list[str], *,
            max_loss: float, min_documents: int, min_lines: int) -> list[Proposal]:
    """Proposals for `rules` ('family.rule') from the reference's signal columns.

    signals: signal name -> float array over the reference documents (NaN where the signal is null),
    including LINES_SIGNAL; current: 'family.rule' -> the language's limit now.
    """
    known = numeric_rules()
    multi_line = np.nan_to_num(signals[LINES_SIGNAL], nan=0.0) >= min_lines
    out = []
    for rule in rules:
        signal, op = known[rule]
        col = signals[signal]
        usable = ~np.isnan(col)
        if signal in LINE_SIGNALS:
            usable &= multi_line
        v = col[usable]
        cur = current[rule]
        p = Proposal(rule, signal, op, cur, None, len(v), None,
                     float(fails(v, op, cur).mean()) if len(v) else None,
                     float(np.median(v)) if len(v) else None)
        if len(v) < min_documents:
            p.note = (f"{len(v):,} reference documents have {min_lines}+ lines (needs {min_documents:,})"
                      if signal in LINE_SIGNALS else
                      f"{len(v):,} reference documents have a value (needs {min_documents:,})")
        else:
            limit = cut(v, op, max_loss)
            if (op == ">" and limit <= p.median) or (op == "<" and limit >= p.median):
                p.note = f"no tail in the reference: the cut ({limit:g}) is its median"
            else:
                p.proposed = limit
                p.reference_loss = float(fails(v, op, limit).mean())
        out.append(p)
    return out


def union_loss(signals: dict[str, np.ndarray], limits: dict[str, float | None]) -> float:
    """Share of documents that fail at least one of these 'family.rule' limits (null signals never fail)."""
    known = numeric_rules()
    n = len(next(iter(signals.values()))) if signals else 0
    dropped = np.zeros(n, dtype=bool)
    for rule, limit in limits.items():
        signal, op = known[rule]
        col = signals[signal]
        dropped |= np.where(np.isnan(col), False, fails(np.nan_to_num(col), op, limit))
    return float(dropped.mean()) if n else 0.0


def language_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: (doc_id, text) -> + language, pycld2's top language as the format stage detects it."""
    for batch in batches:
        langs = [detect_language(t)[0] for t in batch.column("text").to_pylist()]
        yield pa.RecordBatch.from_arrays([batch.column("doc_id"), batch.column("text"), pa.array(langs, pa.string())],
                                         names=["doc_id", "text", "language"])
