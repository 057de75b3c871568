"""Generated corpora with planted near-duplicates, and brute-force truth to score dedup against.

Plain Python (no Spark): used by tests/test_dedup*.py and bench/bench_dedup.py. Documents are
drawn from a Zipf-distributed synthetic vocabulary (so unrelated documents share almost no
5-gram), and planted variants are made by replacing, inserting and deleting words at random
positions, which spreads their true Jaccard over about 0.4 .. 1.0. The truth is always the
measured exact shingle Jaccard, never the intended one.
"""
from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from corpusmill.udfs.dedup import minhash as mh

_SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "ze", "bo", "fi", "ha", "ju",
        "qua", "rix", "tor", "wen", "yl", "ost", "ank", "em"]


def vocabulary(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(_SYL) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def doc_id(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:32]


@dataclass
class Corpus:
    rows: list[dict]                                  # documents rows (doc_id, dump, text, ...)
    planted: list[tuple[str, str]] = field(default_factory=list)   # (base id, variant id)


def mutate(words: list[str], rate: float, rng: random.Random, vocab: list[str]) -> list[str]:
    """Replace / insert / delete about `rate` of the words at random positions."""
    out = list(words)
    k = max(0, int(round(rate * len(words))))
    for _ in range(k):
        op = rng.random()
        if not out:
            break
        i = rng.randrange(len(out))
        if op < 0.6:
            out[i] = rng.choice(vocab)
        elif op < 0.8:
            out.insert(i, rng.choice(vocab))
        else:
            del out[i]
    return out


def generate(n_docs: int, *, dup_share: float = 0.4, dumps: tuple[str, ...] = ("CC-MAIN-2023-06", "CC-MAIN-2024-10"),
             mean_words: int = 300, seed: int = 1, vocab_size: int = 20000, max_variants: int = 3,
             rates: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1)) -> Corpus:
    """n_docs documents; about dup_share of them are variants of an earlier base document."""
    rng = random.Random(seed)
    vocab = vocabulary(vocab_size, seed)
    weights = [1.0 / (i + 1) ** 1.05 for i in range(len(vocab))]
    cum = np.cumsum(weights)
    cum /= cum[-1]
    nprng = np.random.default_rng(seed)

    def draw(n: int) -> list[str]:
        return [vocab[i] for i in np.searchsorted(cum, nprng.random(n))]

    rows: list[dict] = []
    planted: list[tuple[str, str]] = []
    i = 0
    while len(rows) < n_docs:
        n_words = max(20, int(nprng.lognormal(np.log(mean_words), 0.4)))
        base = draw(n_words)
        dump = rng.choice(dumps)
        bid = doc_id("gen", str(seed), str(i))
        rows.append(_row(bid, dump, " ".join(base), i))
        i += 1
        if rng.random() < dup_share / (1 - dup_share) / ((1 + max_variants) / 2):
            for _ in range(rng.randint(1, max_variants)):
                if len(rows) >= n_docs:
                    break
                vid = doc_id("gen", str(seed), str(i))
                v = mutate(base, rng.choice(rates), rng, vocab)
                rows.append(_row(vid, rng.choice(dumps), " ".join(v), i))
                planted.append((bid, vid))
                i += 1
    return Corpus(rows, planted)


def _row(did: str, dump: str, text: str, i: int) -> dict:
    return dict(doc_id=did, dump=dump, source_type="web", url=f"https://example.org/{did}", host="example.org",
                domain="example.org", fetch_date=None, title=None, text=text, text_bytes=len(text.encode()),
                language="en", language_pct=99.0, language_reliable=True, source_file="generated",
                source_record=str(i))


# ---------------------------------------------------------------------------------------------
# brute force truth
def true_pairs(rows: list[dict], ngram: int = 5, min_jaccard: float = 0.3,
               tokenizer_of=lambda r: "words") -> dict[tuple[str, str], float]:
    """Exact Jaccard of every pair of documents sharing a shingle, for pairs with J >= min_jaccard.

    An inverted index over shingles finds every pair with a non-empty intersection, which is the
    same answer as comparing all n^2 pairs (pairs sharing nothing have J = 0).
    """
    sets = mh.shingle_sets([r["text"] for r in rows], [tokenizer_of(r) for r in rows], ngram)
    index: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for h in s.tolist():
            index[h].append(i)
    inter: dict[tuple[int, int], int] = defaultdict(int)
    for members in index.values():
        if len(members) < 2:
            continue
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                inter[(members[a], members[b])] += 1
    out = {}
    for (a, b), k in inter.items():
        j = k / (len(sets[a]) + len(sets[b]) - k)
        if j >= min_jaccard:
            x, y = sorted((rows[a]["doc_id"], rows[b]["doc_id"]))
            out[(x, y)] = j
    return out


def components(nodes: list[str], pairs) -> dict[str, str]:
    """Union-find (for small evaluation corpora only): node -> smallest id of its component."""
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in nodes}


def dump_order(dump: str | None) -> str:
    """Sort key of a dump name: 'unknown'/empty is the oldest; CC-MAIN-YYYY-WW sorts by date."""
    return "" if not dump or dump == "unknown" else dump


def removed_by_keep_rule(rows: list[dict], comp: dict[str, str]) -> set[str]:
    """Documents a perfect deduplicator removes: all but the newest dump, longest, smallest id."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[comp[r["doc_id"]]].append(r)
    removed = set()
    for members in groups.values():
        best = min(members, key=lambda r: (_neg(dump_order(r["dump"])), -r["text_bytes"], r["doc_id"]))
        removed.update(r["doc_id"] for r in members if r["doc_id"] != best["doc_id"])
    return removed


def _neg(s: str) -> tuple:
    return tuple(-ord(c) for c in s) + (1,)


# ---------------------------------------------------------------------------------------------
# scores
def cluster_pairs(cluster_of: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for d, c in cluster_of.items():
        groups[c].append(d)
    out = set()
    for m in groups.values():
        m.sort()
        for a in range(len(m)):
            for b in range(a + 1, len(m)):
                out.add((m[a], m[b]))
    return out


@dataclass
class Scores:
    pair_precision: float           # same-cluster pairs vs same-component pairs of the brute-force graph
    pair_recall: float
    doc_precision: float            # removed documents vs the keep rule on the brute-force components
    doc_recall: float
    direct_recall: float            # pairs with exact J >= threshold that end up in one cluster
    true_pairs: int                 # pairs with exact J >= threshold
    truth_cluster_pairs: int        # pairs in one brute-force component (transitive closure)
    predicted_pairs: int
    recall_by_bucket: dict[str, tuple[float, int]]   # share of pairs put in one cluster, by exact J


def score(rows: list[dict], truth: dict[tuple[str, str], float], cluster_of: dict[str, str],
          removed: set[str], threshold: float = 0.7) -> Scores:
    """Score a clustering against brute force.

    The reference is what a perfect deduplicator does: connected components of the graph of all
    pairs with exact Jaccard >= threshold, then the keep rule. Comparing same-cluster pairs with
    same-component pairs is apples to apples (both are transitive); pairs joined only through a
    third document can have a direct Jaccard below the threshold in both.
    """
    t_pairs = {p for p, j in truth.items() if j >= threshold}
    comp = components([r["doc_id"] for r in rows], t_pairs)
    t_cluster_pairs = cluster_pairs(comp)
    p_pairs = cluster_pairs(cluster_of)
    tp = len(t_cluster_pairs & p_pairs)
    t_removed = removed_by_keep_rule(rows, comp)
    buckets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    edges = [0.3, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0001]
    for p, j in truth.items():
        for lo, hi in zip(edges, edges[1:]):
            if lo <= j < hi:
                k = f"[{lo:.2f},{min(hi, 1.0):.2f}{')' if hi < 1 else ']'}"
                buckets[k][1] += 1
                buckets[k][0] += p in p_pairs
    return Scores(
        pair_precision=tp / len(p_pairs) if p_pairs else 1.0,
        pair_recall=tp / len(t_cluster_pairs) if t_cluster_pairs else 1.0,
        doc_precision=len(removed & t_removed) / len(removed) if removed else 1.0,
        doc_recall=len(removed & t_removed) / len(t_removed) if t_removed else 1.0,
        direct_recall=len(t_pairs & p_pairs) / len(t_pairs) if t_pairs else 1.0,
        true_pairs=len(t_pairs), truth_cluster_pairs=len(t_cluster_pairs), predicted_pairs=len(p_pairs),
        recall_by_bucket={k: (v[0] / v[1], v[1]) for k, v in sorted(buckets.items())},
    )
