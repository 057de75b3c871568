"""Conditional-perplexity coherence, P(S2|S1) vs P(S2), with a KenLM n-gram plus a cache model.

LongWanjuan splits a document into chunks (4,096 tokens) and scores the last 1,024 tokens of each
chunk twice: with the whole chunk before them as context, and with only the preceding 1,024 tokens.
A 5-gram sees 4 tokens of history, so with KenLM alone both scores are identical. We make the
context matter the way classic cache language models do (Kuhn & De Mori 1990):

    P(w | h, C) = (1 - lam) * P_kenlm(w | last 4 tokens) + lam * count_C(w) / |C|

where C is the context (plus the target tokens already read). With the long context C is the whole
chunk before the target; without it, only the preceding 1,024 tokens. In a coherent document the
earlier text repeats the target's topic words (names, terms), so the larger cache predicts the
target better (ppl_with < ppl_without). In fragments glued together from unrelated sources the
extra context is about other things and does not help (ratio ~ 1, or worse).

Per chunk we return ppl_with, ppl_without, and the share of target tokens already seen in each
context ("cache hit rate", a cheap analogue of LongWanjuan's token-accuracy difference).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

LN10 = math.log(10.0)


@dataclass
class ChunkScore:
    ppl_with: float
    ppl_without: float
    hit_with: float
    hit_without: float
    acc_with: float | None = None       # causal LM only: share of target tokens that are the argmax
    acc_without: float | None = None


@dataclass
class CoherenceResult:
    chunks: list[ChunkScore] = field(default_factory=list)
    n_tokens: int = 0

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def aggregate(self) -> dict:
        """Document-level values: geometric mean of chunk perplexities, their difference/ratio."""
        if not self.chunks:
            return dict(coh_ppl_with=None, coh_ppl_without=None, coh_ppl_diff=None, coh_ppl_ratio=None,
                        coh_hit_diff=None, coh_acc_diff=None, coh_n_chunks=0)
        n = len(self.chunks)
        with_ = math.exp(sum(math.log(c.ppl_with) for c in self.chunks) / n)
        without = math.exp(sum(math.log(c.ppl_without) for c in self.chunks) / n)
        return dict(
            coh_ppl_with=with_,
            coh_ppl_without=without,
            coh_ppl_diff=without - with_,          # > 0: the long context helps
            coh_ppl_ratio=with_ / without,         # < 1: the long context helps
            coh_hit_diff=sum(c.hit_with - c.hit_without for c in self.chunks) / n,
            coh_acc_diff=(None if any(c.acc_with is None for c in self.chunks)
                          else sum(c.acc_with - c.acc_without for c in self.chunks) / n),
            coh_n_chunks=n,
        )


class CoherenceScorer:
    """Feed a document's tokens in order (`feed`), then `finish()`.

    Holds at most one chunk of tokens, so memory is bounded whatever the document length; stops
    scoring after max_chunks chunks (the rest of a huge document is not needed for the signal).
    A document shorter than one chunk is scored as one chunk when it has at least
    target + 2 * short_context tokens (so the long context is really longer), else not at all.
    """

    def __init__(self, model, chunk_tokens: int = 4096, target_tokens: int = 1024,
                 short_context_tokens: int = 1024, cache_weight: float = 0.2, max_chunks: int = 32,
                 stride_tokens: int = 0):
        if not 0.0 < cache_weight < 1.0:
            raise ValueError("cache_weight must be in (0, 1)")
        if target_tokens + short_context_tokens >= chunk_tokens:
            raise ValueError("chunk_tokens must exceed target_tokens + short_context_tokens")
        self.model = model
        self.chunk = chunk_tokens
        self.target = target_tokens
        self.short = short_context_tokens
        self.lam = cache_weight
        self.stride = stride_tokens or chunk_tokens
        self.max_chunks = max_chunks
        self.buf: list[str] = []
        self.result = CoherenceResult()

    def feed(self, pieces: list[str]) -> None:
        if self.result.n_chunks >= self.max_chunks:
            return
        self.result.n_tokens += len(pieces)
        self.buf.extend(pieces)
        while len(self.buf) >= self.chunk and self.result.n_chunks < self.max_chunks:
            self.result.chunks.append(self._score_chunk(self.buf[: self.chunk]))
            del self.buf[: self.stride]

    def finish(self) -> CoherenceResult:
        if self.result.n_chunks == 0 and len(self.buf) >= self.target + 2 * self.short:
            self.result.chunks.append(self._score_chunk(self.buf))
        self.buf = []
        return self.result

    # -------------------------------------------------------------------------------------------
    def _score_chunk(self, tokens: list[str]) -> ChunkScore:
        target = tokens[-self.target:]
        ctx_long = tokens[: -self.target]
        ctx_short = ctx_long[-self.short:]
        # n-gram part: identical in both conditions; the n-gram history runs into the context
        hist = ctx_long[-(self.model.lm.order - 1):]
        base = self.model.token_log10probs(hist + target)[len(hist):]
        ll_with, hits_with = self._cache_loglik(target, base, Counter(ctx_long), len(ctx_long))
        ll_without, hits_without = self._cache_loglik(target, base, Counter(ctx_short), len(ctx_short))
        n = len(target)
        return ChunkScore(
            ppl_with=math.exp(-ll_with / n),
            ppl_without=math.exp(-ll_without / n),
            hit_with=hits_with / n,
            hit_without=hits_without / n,
        )

    def _cache_loglik(self, target: list[str], base_log10: list[float], cache: Counter, size: int):
        """Natural-log likelihood of target under the n-gram/cache interpolation; the cache holds the
        context and the target tokens already read (a standard cache LM)."""
        lam = self.lam
        seen: Counter = Counter()
        ll = 0.0
        hits = 0
        for j, (w, lp) in enumerate(zip(target, base_log10)):
            c = cache.get(w, 0)
            if c:
                hits += 1
            p_cache = (c + seen[w]) / (size + j)
            ll += math.log((1.0 - lam) * math.exp(lp * LN10) + lam * p_cache)
            seen[w] += 1
        return ll, hits
