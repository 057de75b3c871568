"""Conditional-perplexity coherence with a Hugging Face causal LM (LongWanjuan, InternLM2 §3.1).

Each long document is split into chunks (default 4,096 tokens, tail dropped). In each chunk the last
`target` tokens (1,024) are scored twice: with the whole chunk before them as context ("with"), and
with only the `short` (1,024) tokens just before them ("without"). A document that uses its earlier
text predicts the target better with the long context (ppl_with < ppl_without, higher token accuracy);
fragments glued together from unrelated sources gain nothing from it.

Why this shape: a transformer is expensive to load and to run, so each Python worker loads the model
once (cache keyed by model, device and precision), chunks of all documents of an Arrow batch are
scored together in model batches of equal-length inputs (no padding, so the math is exactly the
per-sequence math), and only the logits of the target positions are materialised (a 150k-word
vocabulary over 4,096 positions would otherwise be 2.4 GB per sequence). Documents are tokenized
only as far as max_chunks chunks reach, so a 50 MB document costs a few chunks, not 12M tokens.

Plain Python entry points: `CausalLMSpec`, `check_model`, `chunk_spans`, `CausalCoherence`
(`get_scorer` caches one per worker). The Spark adapter is udfs.longctx.stats.signals_mapper.
"""
from __future__ import annotations

import inspect
import logging
import math
import os
import threading
from dataclasses import dataclass, replace

from corpusmill.udfs.classifiers.classify import DEVICES, PRECISIONS, _set_threads, resolve_device, resolve_precision
from corpusmill.udfs.errors import ConfigError
from corpusmill.udfs.longctx.coherence import ChunkScore, CoherenceResult
from corpusmill.udfs.model_files import is_hub_id, is_remote, local_path

log = logging.getLogger("corpusmill")

TOKENIZE_BLOCK_CHARS = 1 << 16    # characters tokenized per call while reading a document's prefix


@dataclass(frozen=True)
class CausalLMSpec:
    """Which causal LM and how to run it (picklable; built on the driver from longctx.coherence)."""

    model: str                      # local HF directory or hub id
    device: str = "auto"            # auto | cpu | cuda
    precision: str = "auto"         # auto (bf16/fp16 on CUDA, fp32 on CPU) | fp32 | fp16 | bf16
    batch_size: int = 8             # sequences per forward pass
    chunk_tokens: int = 4096
    target_tokens: int = 1024
    short_context_tokens: int = 1024
    stride_tokens: int = 0          # 0 = chunk_tokens (non-overlapping chunks)
    max_chunks: int = 32
    local_files_only: bool = True   # never reach the hub at run time unless asked to
    threads: int = 0                # torch CPU threads per worker; 0 = the task's CPUs


# ---- driver-side check ------------------------------------------------------------------------------
def check_model(spec: CausalLMSpec, key: str) -> None:
    """One ConfigError naming `key` when the model cannot be loaded (before any Spark job)."""
    if spec.device not in DEVICES:
        raise ConfigError(f"{key}: device {spec.device!r} unknown (one of {', '.join(DEVICES)})")
    if spec.precision not in PRECISIONS:
        raise ConfigError(f"{key}: precision {spec.precision!r} unknown (one of {', '.join(PRECISIONS)})")
    hint = "build one with `corpusmill train-causal-lm --text FILE` (or set longctx.coherence.model)"
    path = local_path(spec.model)
    if not spec.model:
        raise ConfigError(f"{key}: no causal LM given; {hint}")
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise ConfigError(f"{key}: {spec.model} has no config.json (not a Hugging Face model directory); {hint}")
        return
    if is_remote(spec.model) and not os.path.isdir(path):
        return                                       # not shipped yet (longctx ships it when the run starts)
    if not is_hub_id(spec.model):
        raise ConfigError(f"{key}: model directory {spec.model} not found; {hint}")
    try:                                             # a hub id: local cache, or the hub if allowed
        from transformers import AutoConfig

        AutoConfig.from_pretrained(spec.model, local_files_only=spec.local_files_only)
    except Exception as e:  # noqa: BLE001 - any failure means the job could not load it
        where = "in the local Hugging Face cache" if spec.local_files_only else "on the hub"
        raise ConfigError(f"{key}: {spec.model} is not a local directory and not {where} "
                          f"({str(e).strip().splitlines()[0][:100]}); {hint}") from None


# ---- chunk geometry ---------------------------------------------------------------------------------
def fit_window(chunk: int, target: int, short: int, max_positions: int | None) -> tuple[int, int, int]:
    """(chunk, target, short) scaled down together when the model's context is shorter than chunk."""
    if not max_positions or chunk <= max_positions:
        return chunk, target, short
    f = max_positions / chunk
    return max_positions, max(1, int(target * f)), max(1, int(short * f))


def chunk_spans(n_tokens: int, chunk: int, target: int, short: int, stride: int, max_chunks: int
                ) -> list[tuple[int, int]]:
    """(start, end) of the chunks scored in a document of n_tokens; the tail after the last full chunk
    is dropped. A document shorter than one chunk is one chunk when its long context is at least
    twice the short one (otherwise "with" and "without" would barely differ)."""
    stride = stride or chunk
    spans = [(s, s + chunk) for s in range(0, n_tokens - chunk + 1, stride)][:max_chunks]
    if not spans and n_tokens >= target + 2 * short:
        spans = [(0, n_tokens)]
    return spans


def tokens_needed(chunk: int, stride: int, max_chunks: int) -> int:
    return (max_chunks - 1) * (stride or chunk) + chunk


def tokenize_prefix(tokenizer, text: str, max_tokens: int, block_chars: int = TOKENIZE_BLOCK_CHARS) -> list[int]:
    """Token ids of text, read block by block (cut at a line or space break) until max_tokens are there;
    the rest of a huge document is never tokenized."""
    ids: list[int] = []
    pos, n = 0, len(text)
    while pos < n and len(ids) < max_tokens:
        end = min(n, pos + block_chars)
        if end < n:                                  # cut after a newline, else a space, else anywhere
            cut = text.rfind("\n", pos + block_chars // 2, end)
            if cut < 0:
                cut = text.rfind(" ", pos + block_chars // 2, end)
            end = cut + 1 if cut >= 0 else end
        ids.extend(tokenizer(text[pos:end], add_special_tokens=False)["input_ids"])
        pos = end
    return ids[:max_tokens]


# ---- model loading (once per worker) ---------------------------------------------------------------
_LOADED: dict[tuple, tuple] = {}
_LOCK = threading.Lock()


def load(spec: CausalLMSpec):
    """(tokenizer, model, device, dtype) for spec.model, loaded once per process."""
    path = local_path(spec.model)
    key = (os.path.abspath(path) if os.path.exists(path) else spec.model, spec.device, spec.precision)
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()    # one bar per worker per model floods executor logs

            dev = resolve_device(spec.device)
            dtype = resolve_precision(spec.precision, dev)
            tok = AutoTokenizer.from_pretrained(path, local_files_only=spec.local_files_only)
            tok.model_max_length = 1 << 30          # we cut documents ourselves
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, local_files_only=spec.local_files_only)
            model.to(dev).eval()
            hit = (tok, model, dev, dtype)
            _LOADED[key] = hit
            log.info("coherence: loaded causal LM %s on %s (%s)", spec.model, dev, dtype)
    return hit


def loaded_model_count() -> int:
    """Causal LMs held by this process (tests check one load per worker)."""
    return len(_LOADED)


def max_positions(model) -> int | None:
    cfg = model.config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        v = getattr(cfg, name, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


# ---- scoring ------------------------------------------------------------------------------------------
class CausalCoherence:
    """Scores documents' chunks with one loaded causal LM; `score_texts` / `score_ids`."""

    def __init__(self, spec: CausalLMSpec):
        import torch

        _set_threads(spec)
        self.spec = spec
        self.tokenizer, self.model, self.device, self.dtype = load(spec)
        self._torch = torch
        limit = max_positions(self.model)
        self.chunk, self.target, self.short = fit_window(spec.chunk_tokens, spec.target_tokens,
                                                         spec.short_context_tokens, limit)
        self.stride = spec.stride_tokens or spec.chunk_tokens
        if self.chunk != spec.chunk_tokens:
            self.stride = max(1, int(self.stride * self.chunk / spec.chunk_tokens))
            _log_once(f"coherence: {spec.model} takes at most {limit} positions; chunk {spec.chunk_tokens} -> "
                      f"{self.chunk} tokens (target {self.target}, short context {self.short}, stride {self.stride})")
        params = inspect.signature(self.model.forward).parameters
        self._keep_arg = "logits_to_keep" if "logits_to_keep" in params else None

    def score_texts(self, texts: list[str]) -> list[CoherenceResult]:
        need = tokens_needed(self.chunk, self.stride, self.spec.max_chunks)
        return self.score_ids([tokenize_prefix(self.tokenizer, t or "", need) for t in texts])

    def score_ids(self, docs: list[list[int]]) -> list[CoherenceResult]:
        """Every chunk of every document, batched by input length across documents."""
        results = [CoherenceResult(n_tokens=len(d)) for d in docs]
        jobs = []                                    # (doc, chunk index, token ids of the chunk)
        for i, ids in enumerate(docs):
            for k, (s, e) in enumerate(chunk_spans(len(ids), self.chunk, self.target, self.short, self.stride,
                                                   self.spec.max_chunks)):
                jobs.append((i, k, ids[s:e]))
        scores: dict[tuple[int, int], dict] = {}
        with_inputs = [(i, k, c) for i, k, c in jobs]
        without_inputs = [(i, k, c[-(self.target + self.short):]) for i, k, c in jobs]
        for tag, inputs in (("with", with_inputs), ("without", without_inputs)):
            for (i, k), (nll, acc) in self._score_targets(inputs).items():
                scores.setdefault((i, k), {})[tag] = (nll, acc)
        for i, k, c in jobs:
            (nll_w, acc_w), (nll_s, acc_s) = scores[(i, k)]["with"], scores[(i, k)]["without"]
            ctx = c[:-self.target]
            long_set, short_set = set(ctx), set(ctx[-self.short:])
            tgt = c[-self.target:]
            results[i].chunks.append(ChunkScore(
                ppl_with=math.exp(nll_w), ppl_without=math.exp(nll_s),
                hit_with=sum(t in long_set for t in tgt) / len(tgt),
                hit_without=sum(t in short_set for t in tgt) / len(tgt),
                acc_with=acc_w, acc_without=acc_s))
        return results

    def _score_targets(self, inputs: list[tuple[int, int, list[int]]]) -> dict:
        """{(doc, chunk): (mean NLL, accuracy) of the last `target` tokens of each input}."""
        by_len: dict[int, list] = {}
        for item in inputs:
            by_len.setdefault(len(item[2]), []).append(item)
        out = {}
        bs = self.spec.batch_size
        for _, group in sorted(by_len.items()):
            for b in range(0, len(group), bs):
                part = group[b:b + bs]
                nll, acc = self._forward([x[2] for x in part])
                for (i, k, _), n, a in zip(part, nll, acc):
                    out[(i, k)] = (n, a)
        return out

    def _forward(self, batch: list[list[int]]) -> tuple[list[float], list[float]]:
        """Mean NLL and accuracy of the last `target` tokens of equal-length sequences; on CUDA out of
        memory, halve the batch and retry."""
        torch = self._torch
        t = self.target
        try:
            with torch.inference_mode():
                ids = torch.tensor(batch, dtype=torch.long, device=self.device)
                if self._keep_arg:
                    logits = self.model(input_ids=ids, logits_to_keep=t + 1).logits
                else:
                    logits = self.model(input_ids=ids).logits[:, -(t + 1):]
                logits = logits[:, :-1].float()          # position j predicts token j + 1
                gold = ids[:, -t:]
                logp = torch.log_softmax(logits, dim=-1)
                nll = -logp.gather(-1, gold.unsqueeze(-1)).squeeze(-1).mean(dim=1)
                acc = (logits.argmax(dim=-1) == gold).float().mean(dim=1)
                return nll.cpu().tolist(), acc.cpu().tolist()
        except torch.cuda.OutOfMemoryError:
            if len(batch) == 1:
                raise
            torch.cuda.empty_cache()
            h = len(batch) // 2
            a, b = self._forward(batch[:h]), self._forward(batch[h:])
            return a[0] + b[0], a[1] + b[1]


_LOGGED: set[str] = set()
_SCORERS: dict[CausalLMSpec, CausalCoherence] = {}


def _log_once(msg: str) -> None:
    if msg not in _LOGGED:
        _LOGGED.add(msg)
        log.info(msg)


def get_scorer(spec: CausalLMSpec) -> CausalCoherence:
    """One CausalCoherence per spec and process (the weights are shared through `load`)."""
    if spec not in _SCORERS:
        _SCORERS[spec] = CausalCoherence(spec)
    return _SCORERS[spec]


def resolved(spec: CausalLMSpec) -> CausalLMSpec:
    """spec with a local model path made absolute (executors may run elsewhere than the driver's cwd)."""
    p = os.path.expanduser(spec.model)
    return replace(spec, model=os.path.abspath(p)) if os.path.exists(p) else spec
