"""The benchmark index and the per-document check against it.

`BenchmarkIndex.build` turns benchmark items (benchmark name, item id, text: the prompt and the gold
answer joined by a line break, so the n-grams that straddle them count too) into one sorted array of
distinct n-gram hashes, with the items each hash comes from (CSR: `offsets` into `item_of`). About 12
bytes per distinct n-gram: 100k n-grams are 1.2 MB, broadcast once per worker and searched with
`np.searchsorted`. Past what a worker should hold, the stage joins instead: every document's distinct
n-gram hashes (`doc_hashes`) are joined with the index as a table, and each document with matches is
checked against an index of just the pairs it matched (`from_pairs`), which gives the same result.

`check` hashes a document the same way and looks every n-gram up. A document is contaminated when
at least `min_ngrams` distinct benchmark n-grams occur in it. Its evidence: the benchmark with the
most matched n-grams, every matched item with its own count, the matched count, and the share of
the document's tokens (words + CJK characters) that matched n-grams cover. For a document with a match, each
line's token counts place the matched tokens on lines (paragraphs): `cut` mode removes exactly those.
Memory per document is about 14 bytes per character (a 10 MB document: 140 MB), as texts over 1 MB
are tokenized in pieces.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from corpusmill.udfs.decontam import ngrams as ng


@dataclass
class Item:
    benchmark: str
    item_id: str
    text: str


@dataclass
class Match:
    """What `check` found in one document (empty when nothing matched)."""

    ngrams: int = 0                      # distinct benchmark n-grams found
    doc_ngrams: int = 0                  # n-grams (word + character) in the document
    coverage: float = 0.0                # share of the document's tokens inside matched n-grams
    benchmark: str | None = None         # the benchmark with the most matched n-grams
    benchmarks: list[str] = field(default_factory=list)
    items: list[tuple[str, str, int]] = field(default_factory=list)   # (benchmark, item id, n-grams), most first
    lines: list[int] = field(default_factory=list)   # 0-based lines holding a matched n-gram


@dataclass
class BenchmarkIndex:
    n_words: int
    n_chars: int
    hashes: np.ndarray                   # uint64, sorted, distinct
    offsets: np.ndarray                  # int64, len(hashes) + 1: hashes[i]'s items are item_of[offsets[i]:offsets[i+1]]
    item_of: np.ndarray                  # int32 item numbers
    item_bench: np.ndarray               # int32 benchmark number of each item
    item_ids: list[str]
    benchmarks: list[str]
    unindexed: dict[str, int] = field(default_factory=dict)   # benchmark -> items too short for one n-gram

    # ---- building ---------------------------------------------------------------------------------
    @classmethod
    def build(cls, items: list[Item], n_words: int, n_chars: int) -> "BenchmarkIndex":
        benchmarks: list[str] = []
        bench_no: dict[str, int] = {}
        item_bench, item_ids, hs, owners = [], [], [], []
        unindexed: dict[str, int] = {}
        first = {}
        for it in items:
            first.setdefault(it.benchmark, len(first))
        # the same items in any order give the same index (a Delta table is read in no fixed order)
        for it in sorted(items, key=lambda it: (first[it.benchmark], it.item_id, it.text)):
            b = bench_no.setdefault(it.benchmark, len(bench_no))
            if b == len(benchmarks):
                benchmarks.append(it.benchmark)
            w, c = ng.text_ngrams(it.text, n_words, n_chars)
            h = np.unique(np.concatenate([w, c]))
            if len(h) == 0:
                unindexed[it.benchmark] = unindexed.get(it.benchmark, 0) + 1
                continue
            k = len(item_ids)
            item_ids.append(it.item_id)
            item_bench.append(b)
            hs.append(h)
            owners.append(np.full(len(h), k, dtype=np.int32))
        if hs:
            all_h, all_o = np.concatenate(hs), np.concatenate(owners)
            order = np.lexsort((all_o, all_h))
            all_h, all_o = all_h[order], all_o[order]
            starts = np.flatnonzero(np.r_[True, all_h[1:] != all_h[:-1]])
            hashes = all_h[starts]
            offsets = np.r_[starts, len(all_h)].astype(np.int64)
        else:
            hashes, all_o, offsets = np.zeros(0, np.uint64), np.zeros(0, np.int32), np.zeros(1, np.int64)
        return cls(n_words, n_chars, hashes, offsets, all_o, np.asarray(item_bench, dtype=np.int32), item_ids,
                   benchmarks, unindexed)

    @classmethod
    def from_pairs(cls, hashes: np.ndarray, items: np.ndarray, like: "BenchmarkIndex") -> "BenchmarkIndex":
        """An index of the given (hash, item) pairs sharing `like`'s items and settings: what one document
        matched, from a join (`check` against it gives the same result as against the whole index)."""
        order = np.lexsort((items, hashes))
        h, it = hashes[order].astype(np.uint64), items[order].astype(np.int32)
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]]) if len(h) else np.zeros(0, np.int64)
        return cls(like.n_words, like.n_chars, h[starts] if len(h) else h, np.r_[starts, len(h)].astype(np.int64),
                   it, like.item_bench, like.item_ids, like.benchmarks)

    def __len__(self) -> int:
        return len(self.hashes)

    def digest(self) -> str:
        h = hashlib.sha1(self.hashes.tobytes())
        h.update(self.item_of.tobytes())
        h.update(f"{self.n_words}/{self.n_chars}".encode())
        h.update("\n".join(self.benchmarks + self.item_ids).encode())
        return h.hexdigest()[:16]

    def to_parts(self) -> tuple:
        """Plain arrays and lists (what a broadcast carries)."""
        return (self.n_words, self.n_chars, self.hashes, self.offsets, self.item_of, self.item_bench,
                self.item_ids, self.benchmarks, self.unindexed)

    @classmethod
    def from_parts(cls, parts: tuple) -> "BenchmarkIndex":
        return cls(*parts)

    def items_per_benchmark(self) -> dict[str, int]:
        counts = np.bincount(self.item_bench, minlength=len(self.benchmarks)) if len(self.item_bench) else []
        return {b: int(counts[i]) if len(counts) else 0 for i, b in enumerate(self.benchmarks)}

    # ---- checking ---------------------------------------------------------------------------------
    def lookup(self, h: np.ndarray) -> np.ndarray:
        """Position of each hash in the index, -1 where it is not there."""
        if len(h) == 0 or len(self.hashes) == 0:
            return np.full(len(h), -1, dtype=np.int64)
        order = np.argsort(h)                 # sorted queries walk the index in order: ~1.6x faster
        pos = np.empty(len(h), dtype=np.int64)
        pos[order] = np.searchsorted(self.hashes, h[order])
        pos[pos == len(self.hashes)] = 0
        return np.where(self.hashes[pos] == h, pos, -1)

    def doc_hashes(self, text: str) -> tuple[int, np.ndarray]:
        """(n-grams in the document, its distinct n-gram hashes): what the join path looks up."""
        w, segs, c = ng.text_tokens(text or "")
        wn = ng.word_ngrams(w, self.n_words)[ng.valid_windows(segs, self.n_words)]
        cn = ng.char_ngrams(c, self.n_chars)
        return len(wn) + len(cn), np.unique(np.concatenate([wn, cn]))

    def check(self, text: str, min_ngrams: int = 1, *, with_lines: bool = False) -> Match:
        """The document's matches; `with_lines` also finds the lines to cut (only when contaminated)."""
        w, segs, c = ng.text_tokens(text or "")
        wn, cn = ng.word_ngrams(w, self.n_words), ng.char_ngrams(c, self.n_chars)
        valid = ng.valid_windows(segs, self.n_words)
        total = int(valid.sum()) + len(cn)
        wp, cp = self.lookup(wn), self.lookup(cn)
        wp[~valid] = -1
        found = np.unique(np.concatenate([wp[wp >= 0], cp[cp >= 0]]))
        if len(found) == 0:
            return Match(doc_ngrams=total)
        w_cov, c_cov = _covered(wp >= 0, len(w), self.n_words), _covered(cp >= 0, len(c), self.n_chars)
        m = Match(ngrams=int(len(found)), doc_ngrams=total,
                  coverage=float(w_cov.sum() + c_cov.sum()) / max(1, len(w) + len(c)))
        self._attribute(found, m)
        if with_lines and m.ngrams >= min_ngrams:
            m.lines = lines_of(text, np.flatnonzero(w_cov), np.flatnonzero(c_cov))
        return m

    def _attribute(self, found: np.ndarray, m: Match) -> None:
        """Items and benchmarks of the matched index positions, by matched n-grams (most first)."""
        starts, ends = self.offsets[found], self.offsets[found + 1]
        owners = np.concatenate([self.item_of[s:e] for s, e in zip(starts, ends)])
        items, counts = np.unique(owners, return_counts=True)
        order = np.lexsort((items, -counts))
        m.items = [(self.benchmarks[self.item_bench[i]], self.item_ids[i], int(n))
                   for i, n in zip(items[order], counts[order])]
        # a benchmark's n-grams: distinct matched hashes owned by any of its items
        per_bench: dict[int, int] = {}
        for s, e in zip(starts, ends):
            for b in set(self.item_bench[self.item_of[s:e]].tolist()):
                per_bench[b] = per_bench.get(b, 0) + 1
        ranked = sorted(per_bench.items(), key=lambda kv: (-kv[1], self.benchmarks[kv[0]]))
        m.benchmarks = [self.benchmarks[b] for b, _ in ranked]
        m.benchmark = m.benchmarks[0]


def lines_of(text: str, word_tokens: np.ndarray, char_tokens: np.ndarray) -> list[int]:
    """0-based lines (text.split('\\n')) holding the given word and CJK-character tokens (their positions in
    the document's streams). Tokens never span a line break: each line's token counts place them."""
    w_counts, c_counts = [], []
    for line in text.split("\n"):
        norm = ng.normalize(line)
        w_counts.append(len(ng.words(norm)))
        c_counts.append(len(ng.cjk_chars(norm)))
    hit = set()
    for counts, toks in ((w_counts, word_tokens), (c_counts, char_tokens)):
        if len(toks):
            ends = np.cumsum(np.asarray(counts, dtype=np.int64))
            hit.update(np.unique(np.searchsorted(ends, toks, side="right")).tolist())
    return sorted(hit)


def _covered(matched: np.ndarray, n_tokens: int, n: int) -> np.ndarray:
    """Boolean per token: inside at least one matched window (window i covers tokens i .. i+n-1)."""
    out = np.zeros(n_tokens, dtype=bool)
    starts = np.flatnonzero(matched)
    if len(starts) == 0:
        return out
    diff = np.zeros(n_tokens + 1, dtype=np.int64)
    np.add.at(diff, starts, 1)
    np.add.at(diff, starts + n, -1)
    return np.cumsum(diff[:-1]) > 0


def cut_lines(text: str, lines: list[int]) -> str:
    """text without the given lines (numbers from `lines_of`)."""
    drop = set(lines)
    return "\n".join(x for i, x in enumerate(text.split("\n")) if i not in drop)
