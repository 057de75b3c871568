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
import re
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


# ---------------------------------------------------------------------------------------------
# web-like prose: case, punctuation and numbers, so that raw-text and normalized shingles differ
def generate_prose(n_docs: int, *, seed: int = 1, dup_share: float = 0.35, template_share: float = 0.1,
                   symbol_share: float = 0.01,
                   dumps: tuple[str, ...] = ("CC-MAIN-2023-06", "CC-MAIN-2024-10"), mean_words: int = 300,
                   vocab_size: int = 20000, max_variants: int = 3,
                   rates: tuple[float, ...] = (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1)) -> Corpus:
    """Documents written as web prose (capitalised sentences, commas, quotes, years, counts, prices).

    Three kinds, mixed:
    - articles, and their near copies: word edits at `rates`, and in half of the copies the numbers
      updated (dates, counters: a re-crawled page) or the typography changed (curly quotes, case of
      a heading): the same text to a reader, fewer equal raw-text shingles;
    - listing pages made from one template (`template_share` of the documents, families of 2-6) that
      differ only in their numbers (prices, stock, ratings, dates): often near duplicates after digit
      normalization (digits -> 0 keeps a number's length), never as written;
    - pages of symbols only (`symbol_share`: icon rows, arrows, stars), each its own: no word survives
      normalization, and none is a copy of another;
    - everything else unrelated.
    `planted` pairs the first document of a family with each later member.
    """
    rng = random.Random(seed)
    vocab = vocabulary(vocab_size, seed)
    weights = np.cumsum([1.0 / (i + 1) ** 1.05 for i in range(len(vocab))])
    weights /= weights[-1]
    nprng = np.random.default_rng(seed)

    def words(n: int) -> list[str]:
        return [vocab[i] for i in np.searchsorted(weights, nprng.random(n))]

    rows: list[dict] = []
    planted: list[tuple[str, str]] = []
    i = 0
    while len(rows) < n_docs:
        dump = rng.choice(dumps)
        bid = doc_id("prose", str(seed), str(i))
        if rng.random() < symbol_share:
            family = [(bid, " ".join("".join(rng.choice(_SYMBOL_CHARS) for _ in range(rng.randint(1, 4)))
                                     for _ in range(rng.randint(3, 30))))]
        elif rng.random() < template_share / 4:
            template = _listing_template(rng, words)
            family = [(bid, _fill(template, rng))]
            for k in range(rng.randint(1, 5)):
                family.append((doc_id("prose", str(seed), f"{i}.{k}"), _fill(template, rng)))
        else:
            base = _article_tokens(rng, words, max(20, int(nprng.lognormal(np.log(mean_words), 0.4))))
            family = [(bid, _render(base))]
            if rng.random() < dup_share / (1 - dup_share) / ((1 + max_variants) / 2):
                for k in range(rng.randint(1, max_variants)):
                    v = _edit_tokens(base, rng.choice(rates), rng, vocab)
                    text = _render(v)
                    style = rng.random()
                    if style < 0.25:
                        text = _renumber(text, rng)
                    elif style < 0.5:
                        text = _retype(text, rng)
                    family.append((doc_id("prose", str(seed), f"{i}.{k}"), text))
        for k, (did, text) in enumerate(family):
            if len(rows) >= n_docs:
                break
            rows.append(_row(did, dump if k == 0 else rng.choice(dumps), text, len(rows)))
            if k:
                planted.append((bid, did))
        i += 1
    return Corpus(rows, planted)


_NUM = re.compile(r"\d+")
_SYMBOL_CHARS = "★☆→←↑↓■□▶◀●○◆◇♦♥♠♣✓✗…·|/-=+*#~"


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return str(rng.randint(1950, 2024))
    if kind < 0.7:
        return str(rng.randint(2, 500))
    if kind < 0.85:
        return f"${rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
    return f"{rng.randint(1, 99)}%"


def _article_tokens(rng: random.Random, words, n: int) -> list[str]:
    """Tokens of an article: words, numbers, and sentence / paragraph marks ('.', ',', '\n\n')."""
    out: list[str] = []
    while len(out) < n:
        sent = words(rng.randint(6, 22))
        for j in range(len(sent)):
            if rng.random() < 0.06:
                sent[j] = _number(rng)
        if rng.random() < 0.3:
            sent.insert(rng.randint(2, len(sent) - 1), ",")
        if rng.random() < 0.1:
            j = rng.randrange(len(sent) - 2)
            sent[j:j + 2] = ['"', sent[j], sent[j + 1], '"']
        out += sent + ["."] + (["\n\n"] if rng.random() < 0.2 else [])
    return out


def _render(tokens: list[str]) -> str:
    """Tokens as prose: capitalised sentence starts, no space before punctuation, quotes hugging words."""
    parts: list[str] = []
    cap, quote_open = True, False
    for t in tokens:
        if t in (".", ","):
            parts.append(t)
            cap = t == "."
        elif t == "\n\n":
            parts.append("\n\n")
        elif t == '"':
            parts.append(" \"" if not quote_open else "\"")
            quote_open = not quote_open
        else:
            w = t.capitalize() if cap else t
            sep = "" if not parts or parts[-1] in ("\n\n", " \"") else " "
            parts.append(sep + w)
            cap = False
    return "".join(parts).strip()


def _edit_tokens(tokens: list[str], rate: float, rng: random.Random, vocab: list[str]) -> list[str]:
    """Replace / insert / delete about `rate` of the word tokens (marks stay where they are)."""
    out = list(tokens)
    for _ in range(int(round(rate * len(tokens)))):
        i = rng.randrange(len(out))
        if out[i] in (".", ",", "\n\n", '"'):
            continue
        op = rng.random()
        if op < 0.6:
            out[i] = rng.choice(vocab)
        elif op < 0.8:
            out.insert(i, rng.choice(vocab))
        elif len(out) > 1:
            del out[i]
    return out


def _renumber(text: str, rng: random.Random) -> str:
    """A re-crawled copy: most numbers (dates, counters, prices) changed."""
    return _NUM.sub(lambda m: str(rng.randint(1, 10 ** len(m.group()) - 1)).zfill(len(m.group()))
                    if rng.random() < 0.8 else m.group(), text)


def _retype(text: str, rng: random.Random) -> str:
    """The same words in another typography: curly quotes and apostrophes, a shouted first line."""
    text = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", text)
    first, _, rest = text.partition(". ")
    return (first.upper() if rng.random() < 0.5 else first) + (". " + rest if rest else "")


def _listing_template(rng: random.Random, words) -> list[str]:
    """Lines of a listing page with number slots ({})."""
    lines = [" ".join(words(rng.randint(3, 7))).title()]
    for _ in range(rng.randint(8, 20)):
        name = " ".join(words(rng.randint(1, 3))).title()
        lines.append(f"{name}: {{}} in stock, price {{}}, rated {{}} of 5, updated {{}}")
    return lines


def _fill(template: list[str], rng: random.Random) -> str:
    return "\n".join(line.format(*(f"{rng.randint(0, 500)}", f"${rng.randint(1, 999)}.{rng.randint(0, 99):02d}",
                                    f"{rng.randint(1, 5)}.{rng.randint(0, 9)}",
                                    f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"))
                      for line in template)


def _row(did: str, dump: str, text: str, i: int) -> dict:
    return dict(doc_id=did, dump=dump, source_type="web", url=f"https://example.org/{did}", host="example.org",
                domain="example.org", fetch_date=None, title=None, text=text, text_bytes=len(text.encode()),
                language="en", language_pct=99.0, language_reliable=True, source_file="generated",
                source_record=str(i))


# ---------------------------------------------------------------------------------------------
# brute force truth
RAW = mh.NormConfig(lowercase=False, strip_punct=False, digits_to_zero=False)   # whitespace words as written


def true_pairs(rows: list[dict], ngram: int = 5, min_jaccard: float = 0.3,
               tokenizer_of=lambda r: "words", norm: mh.NormConfig = mh.NormConfig()) -> dict[tuple[str, str], float]:
    """Exact Jaccard of every pair of documents sharing a shingle, for pairs with J >= min_jaccard.

    An inverted index over shingles finds every pair with a non-empty intersection, which is the
    same answer as comparing all n^2 pairs (pairs sharing nothing have J = 0). `norm` is the
    normalization of the shingles: the stage's (default) or RAW (the text as written).
    """
    sets = mh.shingle_sets([r["text"] for r in rows], [tokenizer_of(r) for r in rows], ngram, norm)
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


def removal_causes(rows: list[dict], removed: set[str], cluster_of: dict[str, str], raw_truth: dict, *,
                   threshold: float = 0.7, ngram: int = 5) -> dict[str, int]:
    """Why removed documents have no neighbour at `threshold` in the raw-text truth.

    For each such document, the best Jaccard to another member of its cluster is recomputed under
    each part of the stage's normalization alone: `digits`, `case` or `punctuation` names the first
    that lifts it to the threshold, `several` needs more than one, `none` means no normalization
    explains the removal (the stage removed a document it should have kept by its own measure).
    """
    with_raw = {d for p, j in raw_truth.items() if j >= threshold for d in p}
    by_id = {r["doc_id"]: r for r in rows}
    members: dict[str, list[str]] = defaultdict(list)
    for d, c in cluster_of.items():
        members[c].append(d)
    norms = {"digits": mh.NormConfig(False, False, True), "case": mh.NormConfig(True, False, False),
             "punctuation": mh.NormConfig(False, True, False), "several": mh.NormConfig()}
    out: dict[str, int] = defaultdict(int)
    for d in sorted(removed - with_raw):
        others = [o for o in members[cluster_of[d]] if o != d]
        texts = [by_id[d]["text"]] + [by_id[o]["text"] for o in others]
        cause = "none"
        for name, norm in norms.items():
            sets = mh.shingle_sets(texts, ["words"] * len(texts), ngram, norm)
            if max((mh.jaccard(sets[0], x) for x in sets[1:]), default=0.0) >= threshold:
                cause = name
                break
        out[cause] += 1
    return dict(out)
