"""Batched Hugging Face sequence-classification inference over a Spark text column.

Why this shape: a transformer is expensive to load and to run, so each Python worker loads the
model and tokenizer once (module-level cache keyed by model path, device and precision) and every
Arrow batch is scored in model batches of texts sorted by token length, so padding is only as long
as the longest text of its batch (NeMo Curator does the same). Long documents are handled by a
configurable strategy instead of silently truncated. CUDA with fp16/bf16 is used when a GPU is
visible to the worker; otherwise the CPU, with a clear warning when a GPU was asked for.

Cascade: when the model directory holds a first-pass model per head (udfs/classifiers/cheap_model.py) with its
band (udfs/classifiers/cascade.py), every document gets the cheap score and only those inside a band reach the
encoder, once for all the heads that share it (udfs/classifiers/multihead.py).

Plain-Python entry points (no SparkSession): `Scorer` / `get_scorer` / `clean_text` /
`resolve_device`. The Spark adapters (iterator pandas UDFs): `score_targets` (the stages: cascade,
several heads per pass) and `score_column` (every label of one head, encoder only).
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from corpusmill.udfs.classifiers import cascade, cheap_model
from corpusmill.udfs.classifiers.encoder_runtime import RUNTIMES, load_encoder
from corpusmill.udfs.classifiers.multihead import is_multihead, load_heads, read_meta
from corpusmill.udfs.errors import ConfigError
from corpusmill.udfs.model_files import hub_offline, in_hub_cache, is_hub_id, is_remote, local_path, ship

log = logging.getLogger("corpusmill")

STRATEGIES = ("head", "head_tail", "chunk_mean", "chunk_max")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
PROGRESS_SECONDS = 30
# Characters kept per token when a document is cut before tokenizing (a token covers >= 1 char and
# about 4-5 on average; 16 keeps even URL-heavy text whole while bounding a 1 MB document's cost).
CHARS_PER_TOKEN_CAP = 16
GROUP_DOCS = 1024   # documents tokenized, length-sorted and scored together (bounds memory per group)
HEAD_SHARE = 0.25   # head_tail: 1/4 of the window from the start, 3/4 from the end (Sun et al. 2019)


MODEL_OFF = "none"


@dataclass
class ClassifierSpec:
    """What to run and how: a model (local directory or hub id) and its inference settings.

    Also a config section (safety.toxicity, quality.fluency, ..., each laid over the shared block
    classifiers.inference): its values are checked here, at construction, and its errors name no key;
    the config loader puts them under the section's key."""

    model: str | dict[str, str]     # model dir or hub id ("none": off, no torch needed), or language -> model
                                    #   ({default: X, zh: Y}: each document by its language, as thresholds)
    head: str                       # head of a multi-head model ("": the model's only head)
    strategy: str                   # head | head_tail | chunk_mean | chunk_max (per-label max: no sum to 1)
    max_length: int                 # tokens per model input, special tokens included
    batch_size: int                 # texts (or chunks) per forward pass
    device: str                     # auto | cpu | cuda
    precision: str                  # auto | fp32 | fp16 | bf16 (auto: bf16/fp16 on CUDA, fp32 on CPU)
    sort_by_length: bool            # length-sorted batching (dynamic padding); off only to measure it
    max_chunks: int                 # chunk_mean / chunk_max: windows scored per document at most
    threads: int                    # torch CPU threads per Python worker; 0 = the task's CPUs (spark.task.cpus)
    runtime: str                    # auto | torch | int8 | bf16 | onnx | onnx-int8 (encoder_runtime.RUNTIMES): how the encoder runs on the CPU
    cascade: bool                   # the first-pass model decides outside its band (when the model has one)
    band: list[float]               # [lo, hi] replacing the band stored with the model; [] = the model's own

    @property
    def off(self) -> bool:
        """`model: none` (for every language): no scores (null probabilities, decided by "off"), so no
        reason fires."""
        return all(m.strip().lower() == MODEL_OFF for m in self.models().values())

    def models(self) -> dict[str, str]:
        """language key -> model; one model is {"default": model}."""
        return dict(self.model) if isinstance(self.model, dict) else {"default": self.model}

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            if "default" not in self.model:
                raise ConfigError(f"model: a per-language map needs a `default` entry (the model of every other "
                                  f"language, or none), got keys {sorted(self.model)}")
            bad = [k for k in self.model if k != k.strip().lower() or not k]
            if bad:
                raise ConfigError(f"model: language keys are lower-case tags (zh, pt-br), got {bad}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy {self.strategy!r} unknown (one of {', '.join(STRATEGIES)})")
        if self.device not in DEVICES:
            raise ConfigError(f"device {self.device!r} unknown (one of {', '.join(DEVICES)})")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r} unknown (one of {', '.join(PRECISIONS)})")
        if self.max_length < 8 or self.batch_size < 1 or self.max_chunks < 1:
            raise ConfigError("max_length must be >= 8, batch_size and max_chunks >= 1")
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"runtime {self.runtime!r} unknown (one of {', '.join(RUNTIMES)})")
        if self.band and (len(self.band) != 2
                          or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in self.band)):
            raise ConfigError(f"band must be [] (the model's own) or [lo, hi] with 0 <= lo, hi <= 1, "
                              f"got {self.band!r}")


# ---- validation (driver side, before any Spark job) -----------------------------------------------

def check_model(spec: ClassifierSpec, key: str) -> None:
    """Fail fast with one ConfigError naming `key` when the spec cannot work.

    A local directory must exist and hold a config.json. A hub id (org/name, not an existing local
    path) must be in the local Hugging Face cache or, unless HF_HUB_OFFLINE is set, on the hub.
    Callers resolve configured relative paths (config.path) before calling this.
    """
    if not spec.model:
        raise ConfigError(f"{key}: no model given (a local model directory or a Hugging Face hub id)")
    model = os.path.expanduser(spec.model)
    if os.path.isdir(model):
        if not os.path.isfile(os.path.join(model, "config.json")):
            raise ConfigError(f"{key}: model directory {spec.model} has no config.json "
                              f"(not a Hugging Face model directory; train one with `corpusmill train-classifier`)")
        try:
            heads = model_heads(replace(spec, model=model))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{key}: model directory {spec.model} is unreadable ({str(e).splitlines()[0][:160]})") from None
        try:
            head_name(heads, spec.head, spec.model)
        except ConfigError as e:
            raise ConfigError(f"{key}: {e}") from None
        return
    if is_remote(model):
        return  # a directory on another file system: score_column ships it to every node first
    if is_hub_id(spec.model):
        if in_hub_cache(spec.model):
            return
        if hub_offline():
            raise ConfigError(f"{key}: model directory {spec.model} not found, and as a hub id it is not in "
                              f"the local Hugging Face cache (HF_HUB_OFFLINE is set)")
        try:
            from transformers import AutoConfig

            AutoConfig.from_pretrained(spec.model)        # fetches config.json only
            return
        except Exception as e:  # noqa: BLE001 - any failure: unusable
            raise ConfigError(f"{key}: model directory {spec.model} not found, and the hub has no such model "
                              f"or cannot be reached ({str(e).strip().splitlines()[0][:120]})") from None
    raise ConfigError(f"{key}: model directory {spec.model} not found: train one (`corpusmill train-classifier "
                      f"--input HEAD=labeled.csv --out DIR`), give a model directory or hub id, or turn it off with "
                      f"`{key}: none` (`classifiers.inference.model: none` turns off all four)")


# ---- device and precision -------------------------------------------------------------------------

_warned: set[str] = set()


def _warn_once(msg: str) -> None:
    if msg in _warned:
        return
    _warned.add(msg)
    log.warning(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=3)


def resolve_device(device: str) -> str:
    """auto -> cuda when a GPU is visible, else cpu; cuda without a GPU -> one warning, then cpu."""
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        _warn_once("classifier: device=cuda was asked for but no GPU is visible to this worker; "
                   "running on the CPU instead")
        return "cpu"
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    return device


def resolve_precision(precision: str, device: str):
    """torch dtype for the model weights: half precision only where it pays (CUDA)."""
    import torch

    if device == "cuda":
        if precision in ("auto", "bf16"):
            if torch.cuda.is_bf16_supported():
                return torch.bfloat16
            if precision == "bf16":
                _warn_once("classifier: bf16 not supported by this GPU; using fp16")
            return torch.float16
        return torch.float16 if precision == "fp16" else torch.float32
    if precision == "fp16":
        _warn_once("classifier: fp16 on the CPU is slow and inexact; using fp32")
        return torch.float32
    return torch.bfloat16 if precision == "bf16" else torch.float32


# ---- text preparation -----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(text: str | None) -> str:
    """Replace control characters (leftovers from extraction) by spaces; None becomes ''."""
    if not text:
        return ""
    return _CONTROL.sub(" ", text)


def char_window(spec: ClassifierSpec) -> int:
    """Characters of a document the strategy can ever look at (the rest is never tokenized)."""
    per_input = spec.max_length * CHARS_PER_TOKEN_CAP
    if spec.strategy in ("chunk_mean", "chunk_max"):
        return per_input * spec.max_chunks
    return per_input


def cut_text(text: str, spec: ClassifierSpec) -> str:
    """Bound the work on huge documents: head (and tail, for head_tail) of at most char_window chars."""
    n = char_window(spec)
    if len(text) <= n:
        return text
    if spec.strategy == "head_tail":
        h = int(n * HEAD_SHARE)
        return text[:h] + " " + text[-(n - h):]
    return text[:n]


# ---- the scorer (plain Python, one per worker and model) ------------------------------------------

@dataclass
class Target:
    """One probability a stage asks for: `label` of `spec`'s head, written to `column`."""

    spec: ClassifierSpec
    label: str
    column: str          # final probability; also <column>_cheap and <column>_bert
    decided_col: str     # 'cheap' or 'encoder': which model decided


class Scorer:
    """A loaded encoder (or a plain HF sequence classifier) and its heads: texts -> probabilities.

    Multi-head directories (udfs/classifiers/multihead.py) run the encoder once per input and every head reads
    the same mean-pooled vector; a plain Hugging Face classification directory is one unnamed head.
    """

    def __init__(self, spec: ClassifierSpec):
        import torch

        self.spec = spec
        self.path = local_path(spec.model)
        self.multi = os.path.isdir(self.path) and is_multihead(self.path)
        if self.multi:
            self.meta = read_meta(self.path)
            self.tokenizer, self.encoder, self.head_weights, self.device = _load_multi(
                self.path, spec.device, spec.precision, spec.runtime)
            self.heads = {h: list(m["labels"]) for h, m in self.meta["heads"].items()}
            with open(os.path.join(self.path, "config.json"), encoding="utf-8") as f:
                limit = json.load(f).get("max_position_embeddings") or 512
            self.model = None
        else:
            self.tokenizer, self.model, self.device, self.dtype = _load(spec.model, spec.device, spec.precision)
            cfg = self.model.config
            self.heads = {"": [str(cfg.id2label.get(i, f"LABEL_{i}")) for i in range(cfg.num_labels)]}
            limit = getattr(cfg, "max_position_embeddings", None) or 512
            self.meta = {"heads": {"": {}}}
        # the head `score` reads; score_targets names its heads per target
        self.head = head_name(self.heads, spec.head, spec.model) if spec.head or len(self.heads) == 1 else None
        self.labels = self.heads[self.head] if self.head is not None else []
        self.max_length = min(spec.max_length, int(limit))
        self.prefix, self.suffix = _special_template(self.tokenizer)
        self.n_special = len(self.prefix) + len(self.suffix)
        self.body_len = max(1, self.max_length - self.n_special)
        self._cheap: dict[str, object] = {}
        self._torch = torch

    # one document -> one or more token-id inputs (special tokens added)
    def _inputs_for(self, ids: list[int]) -> list[list[int]]:
        n, s = self.body_len, self.spec.strategy
        pre, suf = self.prefix, self.suffix

        def build(body: list[int]) -> list[int]:
            return pre + body + suf
        if len(ids) <= n or s == "head":
            return [build(ids[:n])]
        if s == "head_tail":
            h = int(n * HEAD_SHARE)
            return [build(ids[:h] + ids[len(ids) - (n - h):])]
        chunks = [ids[i:i + n] for i in range(0, len(ids), n)][: self.spec.max_chunks]
        return [build(c) for c in chunks]

    def _forward(self, batch: list[list[int]], heads: list[str]) -> dict:
        """head -> logits (float32, CPU) for one padded batch; on CUDA out-of-memory, halve the batch and retry."""
        torch = self._torch
        enc = self.tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt")
        try:
            if not self.multi:
                enc = {k: v.to(self.device) for k, v in enc.items()}
                return {"": self.model(**enc).logits.float().cpu()}
            pooled = self.encoder.pooled(enc["input_ids"], enc["attention_mask"])
            return {h: pooled @ self.head_weights[h][0].T + self.head_weights[h][1] for h in heads}
        except torch.cuda.OutOfMemoryError:
            if len(batch) == 1:
                raise
            del enc
            torch.cuda.empty_cache()
            half = len(batch) // 2
            a, b = self._forward(batch[:half], heads), self._forward(batch[half:], heads)
            return {h: torch.cat([a[h], b[h]]) for h in heads}

    def score(self, texts: list[str | None]) -> list[dict[str, float] | None]:
        """Probability per label of this spec's head for each text (None for a null text), encoder only."""
        if self.head is None:
            head_name(self.heads, "", self.spec.model)          # raises: several heads, none named
        keep = [i for i, t in enumerate(texts) if t is not None]
        out: list[dict[str, float] | None] = [None] * len(texts)
        probs = self.encode([texts[i] for i in keep], [self.head])[self.head]
        for i, row in zip(keep, probs.tolist()):
            out[i] = {lab: float(v) for lab, v in zip(self.labels, row)}
        return out

    def encode(self, texts: list[str], heads: list[str]) -> dict:
        """head -> [n, n_labels] float32 tensor of probabilities from the encoder.

        Texts are handled in groups (GROUP_DOCS, at least 16 model batches) so that chunked long
        documents never hold more than one group's token ids in memory.
        """
        torch = self._torch
        out = {h: torch.empty((len(texts), len(self.heads[h]))) for h in heads}
        group = max(GROUP_DOCS, 16 * self.spec.batch_size)
        for g in range(0, len(texts), group):
            part = self._score_group(texts[g:g + group], heads)
            for h in heads:
                out[h][g:g + group] = part[h]
        return out

    def _score_group(self, texts: list[str], heads: list[str]) -> dict:
        torch = self._torch
        prepared = [cut_text(clean_text(t), self.spec) for t in texts]
        ids = self.tokenizer(prepared, add_special_tokens=False, truncation=False)["input_ids"] if texts else []
        inputs: list[list[int]] = []
        owner: list[int] = []                       # model input -> document
        for j, doc_ids in enumerate(ids):
            for x in self._inputs_for(doc_ids):
                inputs.append(x)
                owner.append(j)
        order = list(range(len(inputs)))
        if self.spec.sort_by_length:
            order.sort(key=lambda k: len(inputs[k]))
        logits = {h: torch.empty((len(inputs), len(self.heads[h])), dtype=torch.float32) for h in heads}
        bs = self.spec.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), bs):
                idx = order[start:start + bs]
                for h, v in self._forward([inputs[k] for k in idx], heads).items():
                    logits[h][idx] = v.float()
        owner_t = torch.tensor(owner, dtype=torch.long)
        n_docs = len(texts)
        out = {}
        for h in heads:
            p = torch.softmax(logits[h], dim=-1)
            k = p.shape[1]
            if self.spec.strategy == "chunk_max":
                # per label, its highest probability over the windows: "toxic anywhere" scores high
                # (the values are each a probability but no longer sum to 1 across labels)
                out[h] = torch.zeros((n_docs, k)).scatter_reduce(
                    0, owner_t[:, None].expand_as(p), p, reduce="amax", include_self=False)
            else:
                sums = torch.zeros((n_docs, k)).index_add_(0, owner_t, p)
                counts = torch.bincount(owner_t, minlength=n_docs).clamp(min=1)[:, None]
                out[h] = sums / counts              # chunk_mean; head / head_tail have one input each
        return out

    # ---- the cascade ------------------------------------------------------------------------------
    def band(self, spec: ClassifierSpec, head: str):
        """[lo, hi] on the first pass's p(labels[1]) for head, or None when the encoder sees everything."""
        if not spec.cascade or len(self.heads[head]) != 2:
            return None
        if spec.band:
            return tuple(spec.band)
        stored = self.meta["heads"][head].get("band")
        return tuple(stored) if stored and self.cheap_model(head) is not None else None

    def cheap_model(self, head: str):
        if head not in self._cheap:
            f = self.meta["heads"][head].get("cheap")
            self._cheap[head] = cheap_model.load(os.path.join(self.path, f)) if f else None
        return self._cheap[head]

    def score_targets(self, texts: list[str | None], targets: list[Target]) -> dict[str, list]:
        """For each target: final probability, first-pass probability, encoder probability, decided_by.

        Every text gets the first-pass score of each head that has a cascade; texts inside any
        head's band, with a line beyond it that the mean hides (cascade.hidden_hits), or under any head
        without a cascade go through the encoder once, for all heads. A head's decision comes from the
        encoder only where its own band (or hidden hit) says so.
        """
        n = len(texts)
        live = np.array([t is not None for t in texts], dtype=bool)
        heads = sorted({head_name(self.heads, t.spec.head, t.spec.model) for t in targets})
        cheap_p: dict[str, np.ndarray] = {}
        route: dict[str, np.ndarray] = {}
        reading = None                        # the texts line by line, hashed once for every head
        for h in heads:
            mine = [t for t in targets if head_name(self.heads, t.spec.head, t.spec.model) == h]
            band = self.band(mine[0].spec, h)
            if band is None:
                route[h] = live.copy()
                continue
            if reading is None:
                reading = cheap_model.Reading([t if t is not None else "" for t in texts])
            lines_p = self.cheap_model(h).predict_lines(reading)
            cheap_p[h] = reading.mean(lines_p).astype(np.float32)
            route[h] = live & cascade.in_band(cheap_p[h][:, 1], band)
            for k in {self.heads[h].index(t.label) for t in mine}:         # the label each target flags
                route[h] |= live & cascade.hidden_hits(cheap_p[h][:, 1], lines_p[:, 1], reading.owner, band, k)
        need = np.flatnonzero(np.logical_or.reduce([route[h] for h in heads])) if heads else np.array([], int)
        enc_p = {h: np.full((n, len(self.heads[h])), np.nan, dtype=np.float32) for h in heads}
        if len(need):
            got = self.encode([texts[i] for i in need], heads)
            for h in heads:
                enc_p[h][need] = got[h].numpy()
        out: dict[str, list] = {}
        for t in targets:
            h = head_name(self.heads, t.spec.head, t.spec.model)
            k = self.heads[h].index(t.label)
            p_enc = enc_p[h][:, k]
            p_cheap = cheap_p[h][:, k] if h in cheap_p else np.full(n, np.nan, dtype=np.float32)
            final = np.where(route[h], p_enc, p_cheap)
            nulls = ~live
            out[t.column] = _nullable(final, nulls)
            out[t.column + "_cheap"] = _nullable(p_cheap, nulls)
            out[t.column + "_bert"] = _nullable(p_enc, nulls)
            out[t.decided_col] = [None if x else ("bert" if r else "cheap") for x, r in zip(nulls, route[h])]
        return out


def _nullable(values: np.ndarray, nulls: np.ndarray) -> list:
    return [None if z or v != v else float(v) for v, z in zip(values.tolist(), nulls)]


def head_name(heads: dict[str, list[str]], wanted: str, model: str) -> str:
    """The head a spec reads: its `head`, or the model's only head when none is named."""
    if wanted in heads:
        return wanted
    if not wanted and len(heads) == 1:
        return next(iter(heads))
    named = ", ".join(h for h in heads if h) or "none: a single-task model"
    if not wanted:
        raise ConfigError(f"model {model} has several heads ({named}); name one with `head:`")
    raise ConfigError(f"model {model} has no head {wanted!r} (heads: {named})")


def _special_template(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after one sequence ([CLS] .. [SEP], <s> .. </s>)."""
    probe = "hello world"
    body = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(body) + 1):
        if full[i:i + len(body)] == body:
            return list(full[:i]), list(full[i + len(body):])
    return [], []


_LOADED: dict[tuple, tuple] = {}
_LOCK = threading.Lock()
_THREADS_SET = False


def _set_threads(spec: ClassifierSpec) -> None:
    """One torch thread pool per worker sized to the task's CPUs, so local[N] does not oversubscribe."""
    global _THREADS_SET
    if _THREADS_SET:
        return
    import torch

    n = spec.threads
    if n <= 0:
        try:
            from pyspark import TaskContext

            tc = TaskContext.get()
            n = tc.cpus() if tc is not None else 0
        except Exception:  # noqa: BLE001 - outside Spark
            n = 0
    if n <= 0:
        n = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or max(1, (os.cpu_count() or 2) // 2)
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already fixed once parallel work ran in this process
    _THREADS_SET = True


def _load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.model_max_length = 1 << 30      # documents are cut by us: no "sequence longer than" warnings
    return tok


def _load_multi(path: str, device: str, precision: str, runtime: str):
    """(tokenizer, encoder, head weights, device) of a multi-head directory, once per process."""
    key = ("multi", os.path.abspath(path), device, precision, runtime)
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is None:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            dev = resolve_device(device)
            # `precision` sets the weights of the torch runtime (and of CUDA); the CPU runtimes fix their own
            dtype = resolve_precision(precision, dev) if runtime == "torch" or dev != "cpu" else None
            enc = load_encoder(path, runtime, dev, dtype)
            hit = (_load_tokenizer(path), enc, load_heads(path), dev)
            _LOADED[key] = hit
            log.info("classifier: loaded %s on %s (%s runtime)", path, dev, enc.runtime)
    return hit


def _load(model: str, device: str, precision: str):
    """(tokenizer, model, device, dtype) of a plain HF classifier, loaded once per process."""
    path = local_path(model)
    key = (os.path.abspath(path) if os.path.exists(path) else model, device, precision)
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is None:
            from transformers import AutoModelForSequenceClassification
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()    # one bar per worker per model floods executor logs

            dev = resolve_device(device)
            dtype = resolve_precision(precision, dev)
            tok = _load_tokenizer(path)
            m = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype)
            m.to(dev).eval()
            hit = (tok, m, dev, dtype)
            _LOADED[key] = hit
            log.info("classifier: loaded %s on %s (%s)", model, dev, dtype)
    return hit


def get_scorer(spec: ClassifierSpec) -> Scorer:
    """A Scorer for spec; the weights are shared by every spec naming the same model in this worker."""
    _set_threads(spec)
    return Scorer(spec)


def model_heads(spec: ClassifierSpec) -> dict[str, list[str]]:
    """head -> label names, from heads.json or the model's config.json (driver side, no weights loaded)."""
    path = local_path(spec.model)
    if os.path.isdir(path) and is_multihead(path):
        return {h: list(m["labels"]) for h, m in read_meta(path)["heads"].items()}
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(path)
    return {"": [str(cfg.id2label.get(i, f"LABEL_{i}")) for i in range(cfg.num_labels)]}


def model_labels(spec: ClassifierSpec) -> list[str]:
    """Label names of the head spec reads (driver side, no weights loaded)."""
    heads = model_heads(spec)
    return heads[head_name(heads, spec.head, spec.model)]


def cascade_note(spec: ClassifierSpec) -> str | None:
    """Why the cascade cannot run for spec although it is on (None when it can, or is off)."""
    if not spec.cascade or spec.band:
        return None
    path = local_path(spec.model)
    if not (os.path.isdir(path) and is_multihead(path)):
        return (f"{spec.model} has no first-pass model (a plain Hugging Face classifier, or trained before "
                f"cascades); the encoder scores every document")
    heads = read_meta(path)["heads"]
    h = heads[head_name({k: v["labels"] for k, v in heads.items()}, spec.head, spec.model)]
    if len(h["labels"]) != 2:
        return None
    if not h.get("cheap") or not h.get("band"):
        return f"{spec.model} head {spec.head or '(only)'} has no first-pass model; the encoder scores every document"
    return None


def head_meta(spec: ClassifierSpec) -> tuple[str, dict] | None:
    """(model directory, heads.json entry) of spec's head for a local multi-head model, else None."""
    path = local_path(spec.model)
    if not (os.path.isdir(path) and is_multihead(path)):
        return None
    heads = read_meta(path)["heads"]
    return path, heads[head_name({k: v["labels"] for k, v in heads.items()}, spec.head, spec.model)]


def operating_band(spec: ClassifierSpec, label: str, thresholds: list[float], tolerance: float) -> dict | None:
    """The cascade band for spec's head when a stage flags `label` at `thresholds` (one per language
    setting): chosen on the validation probabilities stored with the model (cascade.choose_band);
    None when the model stores none. The result also says what it costs and keeps, on that split."""
    found = head_meta(spec)
    if found is None or not found[1].get("validation_probs") or len(found[1]["labels"]) != 2:
        return None
    path, h = found
    with np.load(os.path.join(path, h["validation_probs"])) as v:
        cheap, bert, gold = v["cheap"], v["bert"], v["gold"]
    flagged = h["labels"].index(label)
    cuts = sorted({cascade.cut_for(t, flagged) for t in thresholds})
    return cascade.choose_band(cheap, bert, gold, tolerance, cuts=tuple(cuts), flagged=flagged)


class Meter:
    """Rows scored in this worker, printed to stderr at most every PROGRESS_SECONDS (executor logs)."""

    def __init__(self, what: str):
        self.what, self.rows, self.encoded = what, 0, 0
        self.t0 = self.last = time.monotonic()

    def add(self, rows: int, encoded: int) -> None:
        self.rows += rows
        self.encoded += encoded
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            rate = self.rows / max(now - self.t0, 1e-9)
            share = f", {100 * self.encoded / self.rows:.0f}% through the encoder" if self.rows else ""
            print(f"[{self.what}] worker {os.getpid()}: {self.rows:,} rows scored ({rate:,.0f}/s{share})",
                  file=sys.stderr, flush=True)


# ---- Spark adapter --------------------------------------------------------------------------------

def _warn_driver_gpu(df, spec: ClassifierSpec) -> None:
    """In local mode the driver sees the same hardware as the workers: say it once, up front."""
    if spec.device != "cuda":
        return
    try:
        master = df.sparkSession.sparkContext.master
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return
    if master.startswith("local"):
        import torch

        if not torch.cuda.is_available():
            log.warning("classifier %s: device=cuda asked for but no GPU is visible; scoring on the CPU",
                        spec.model)


def _prepared(df, spec: ClassifierSpec):
    """Checked, shipped (remote model dirs) and absolute-path spec for the workers."""
    if is_remote(spec.model):
        spec = ClassifierSpec(**{**spec.__dict__, "model": ship(df.sparkSession, spec.model)})
    _warn_driver_gpu(df, spec)
    return ClassifierSpec(**{**spec.__dict__, "model": _abs_if_local(spec.model)})


def _cut_column(text_col: str, spec: ClassifierSpec):
    """The text cut in the JVM to what the strategy can use, so a 1 MB text never crosses to Python whole."""
    from pyspark.sql import functions as F

    n = char_window(spec)
    txt = F.col(text_col).cast("string")
    if spec.strategy == "head_tail":
        h = int(n * HEAD_SHARE)
        return F.when(F.length(txt) <= n, txt).otherwise(
            F.concat(F.substring(txt, 1, h), F.lit(" "), F.right(txt, F.lit(n - h))))
    return F.substring(txt, 1, n)


def _texts(series: pd.Series) -> list[str | None]:
    return [None if v is None or v is pd.NA else str(v) for v in series.tolist()]


def score_column(df, text_col: str, spec: ClassifierSpec, out_col: str, *, key: str | None = None):
    """df plus `out_col`: map<string,double> label -> probability of spec's head (null where text is null).

    The encoder scores every row (no cascade). Each Python worker loads the model once and reuses it
    across batches and tasks (spark.python.worker.reuse). The model is checked first (ConfigError
    naming `key`, before any Spark job).
    """
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import DoubleType, MapType, StringType

    check_model(spec, key or f"classifier for column {out_col}")
    spec = _prepared(df, spec)

    @pandas_udf(MapType(StringType(), DoubleType()))
    def _score(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        scorer = get_scorer(spec)
        meter = Meter("classify")
        for texts in batches:
            values = _texts(texts)
            yield pd.Series(scorer.score(values))
            meter.add(len(values), len(values))

    return df.withColumn(out_col, _score(_cut_column(text_col, spec)))


def _pass_key(spec: ClassifierSpec) -> tuple:
    """Specs equal in everything but head, cascade and band share one encoder pass."""
    return tuple((k, str(v)) for k, v in sorted(spec.__dict__.items()) if k not in ("head", "cascade", "band"))


def score_targets(df, text_col: str, targets: list[Target], *, what: str = "classify"):
    """df plus, per target, `column`, `column`_cheap, `column`_bert (doubles) and `decided_col` (string).

    Targets whose specs differ only in head / cascade / band share one pandas UDF and so one encoder
    pass per document; others get a pass each. Null texts give nulls. Callers check the models first
    (check_model) so that errors name their config keys.
    """
    return _score_one_key(df, text_col, targets, what, "", None)


def score_targets_by_language(df, text_col: str, lang_col: str, targets: dict[str, list[Target]], *,
                              what: str = "classify"):
    """score_targets with a model per language key: targets[key] (the same columns for every key)
    score only the rows whose language_key is `key`, and each row's columns hold its key's scores."""
    from pyspark.sql import functions as F

    keys = sorted(targets)
    if keys == ["default"]:
        return score_targets(df, text_col, targets["default"], what=what)
    route = language_key(F.col(lang_col), keys)
    for key in keys:
        df = _score_one_key(df, text_col, targets[key], what, f"__{_safe(key)}", route == key)
    for t in targets["default"]:
        for c in (t.column, t.column + "_cheap", t.column + "_bert", t.decided_col):
            parts = [f"{c}__{_safe(k)}" for k in keys]
            df = df.withColumn(c, F.coalesce(*[F.col(x) for x in parts])).drop(*parts)
    return df

def _safe(key: str) -> str:
    return re.sub(r"[^0-9a-z]", "_", key)


def language_key(lang_col, keys: list[str]):
    """Each row's key among `keys` for its language: the exact tag, else its primary subtag, else
    `default` (as the stages' per-language thresholds)."""
    from pyspark.sql import functions as F

    named = sorted(k for k in keys if k != "default")
    if not named:
        return F.lit("default")
    m = F.create_map(*[x for k in named for x in (F.lit(k), F.lit(k))])
    low = F.lower(F.coalesce(lang_col, F.lit("")))
    return F.coalesce(F.try_element_at(m, low), F.try_element_at(m, F.split(low, "-")[0]), F.lit("default"))


def _score_one_key(df, text_col: str, targets: list[Target], what: str, suffix: str, rows):
    """score_targets for specs with one model each; output columns get `suffix`; only `rows` (a
    boolean column; None: all) are scored, the others get nulls."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    groups: dict[tuple, list[Target]] = {}
    for t in targets:
        if t.spec.off:
            off = F.lit("off") if rows is None else F.when(rows, F.lit("off"))
            df = df.select("*", *[F.lit(None).cast(DoubleType()).alias(c + suffix)
                                  for c in (t.column, t.column + "_cheap", t.column + "_bert")],
                           off.alias(t.decided_col + suffix))
            continue
        groups.setdefault(_pass_key(t.spec), []).append(t)
    for n, group in enumerate(groups.values()):
        spec = _prepared(df, group[0].spec)
        group = [Target(ClassifierSpec(**{**t.spec.__dict__, "model": spec.model}), t.label, t.column, t.decided_col)
                 for t in group]
        fields = []
        for t in group:
            fields += [StructField(c, DoubleType()) for c in (t.column, t.column + "_cheap", t.column + "_bert")]
            fields.append(StructField(t.decided_col, StringType()))
        names = [f.name for f in fields]

        def make(spec=spec, group=group, names=names):
            def _score(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
                scorer = get_scorer(spec)
                meter = Meter(what)
                for texts in batches:
                    values = _texts(texts)
                    res = scorer.score_targets(values, group)
                    yield pd.DataFrame({c: res[c] for c in names})
                    live = sum(1 for v in values if v is not None)
                    encoded = sum(1 for i in range(len(values))
                                  if any(res[t.decided_col][i] == "bert" for t in group))
                    meter.add(live, encoded)
            return _score

        col = f"_scores{suffix}{n}"
        text = _cut_column(text_col, spec)
        text = text if rows is None else F.when(rows, text)
        df = df.withColumn(col, pandas_udf(make(), StructType(fields))(text))
        df = df.select("*", *[F.col(f"{col}.{c}").alias(c + suffix) for c in names]).drop(col)
    return df


def _abs_if_local(model: str) -> str:
    p = os.path.expanduser(model)
    return str(Path(p).resolve()) if os.path.exists(p) else model
