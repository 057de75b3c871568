"""Batched Hugging Face sequence-classification inference over a Spark text column.

Why this shape: a transformer is expensive to load and to run, so each Python worker loads the
model and tokenizer once (module-level cache keyed by model path, device and precision) and every
Arrow batch is scored in model batches of texts sorted by token length, so padding is only as long
as the longest text of its batch (NeMo Curator does the same). Long documents are handled by a
configurable strategy instead of silently truncated. CUDA with fp16/bf16 is used when a GPU is
visible to the worker; otherwise the CPU, with a clear warning when a GPU was asked for.

Plain-Python entry points (no SparkSession): `Scorer` / `get_scorer` / `clean_text` /
`resolve_device`. The Spark adapter: `score_column` (an iterator pandas UDF).
"""
from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from jobs.config import ConfigError
from udfs.model_files import hub_offline, in_hub_cache, is_hub_id, is_remote, local_path, ship

log = logging.getLogger("corpusmill")

STRATEGIES = ("head", "head_tail", "chunk_mean", "chunk_max")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
# Characters kept per token when a document is cut before tokenizing (a token covers >= 1 char and
# about 4-5 on average; 16 keeps even URL-heavy text whole while bounding a 1 MB document's cost).
CHARS_PER_TOKEN_CAP = 16
GROUP_DOCS = 1024   # documents tokenized, length-sorted and scored together (bounds memory per group)
HEAD_SHARE = 0.25   # head_tail: 1/4 of the window from the start, 3/4 from the end (Sun et al. 2019)


@dataclass
class ClassifierSpec:
    """What to run and how: a model (local directory or hub id) and its inference settings."""

    model: str
    strategy: str = "head"          # head | head_tail | chunk_mean | chunk_max (per-label max: no sum to 1)
    max_length: int = 256           # tokens per model input, special tokens included
    batch_size: int = 32            # texts (or chunks) per forward pass
    device: str = "auto"            # auto | cpu | cuda
    precision: str = "auto"         # auto | fp32 | fp16 | bf16 (auto: bf16/fp16 on CUDA, fp32 on CPU)
    sort_by_length: bool = True     # length-sorted batching (dynamic padding); off only to measure it
    max_chunks: int = 16            # chunk_mean / chunk_max: windows scored per document at most
    threads: int = 0                # torch CPU threads per Python worker; 0 = the task's CPUs (spark.task.cpus)


# ---- validation (driver side, before any Spark job) -----------------------------------------------

def check_settings(spec: ClassifierSpec, key: str) -> None:
    """The inference settings' values (config load time: no file system, no model)."""
    if spec.strategy not in STRATEGIES:
        raise ConfigError(f"{key}: strategy {spec.strategy!r} unknown (one of {', '.join(STRATEGIES)})")
    if spec.device not in DEVICES:
        raise ConfigError(f"{key}: device {spec.device!r} unknown (one of {', '.join(DEVICES)})")
    if spec.precision not in PRECISIONS:
        raise ConfigError(f"{key}: precision {spec.precision!r} unknown (one of {', '.join(PRECISIONS)})")
    if spec.max_length < 8 or spec.batch_size < 1 or spec.max_chunks < 1:
        raise ConfigError(f"{key}: max_length must be >= 8, batch_size and max_chunks >= 1")


def check_model(spec: ClassifierSpec, key: str) -> None:
    """Fail fast with one ConfigError naming `key` when the spec cannot work.

    A local directory must exist and hold a config.json. A hub id (org/name, not an existing local
    path) must be in the local Hugging Face cache or, unless HF_HUB_OFFLINE is set, on the hub.
    Callers resolve configured relative paths (config.path) before calling this.
    """
    if not spec.model:
        raise ConfigError(f"{key}: no model given (a local model directory or a Hugging Face hub id)")
    check_settings(spec, key)
    model = os.path.expanduser(spec.model)
    if os.path.isdir(model):
        if not os.path.isfile(os.path.join(model, "config.json")):
            raise ConfigError(f"{key}: model directory {spec.model} has no config.json "
                              f"(not a Hugging Face model directory; train one with `corpusmill train-classifier`)")
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
    raise ConfigError(f"{key}: model directory {spec.model} not found "
                      f"(train one with `corpusmill train-classifier` or give a hub id)")


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

class Scorer:
    """A loaded model + tokenizer that turns texts into a probability per label."""

    def __init__(self, spec: ClassifierSpec):
        import torch

        self.spec = spec
        self.tokenizer, self.model, self.device, self.dtype = _load(spec.model, spec.device, spec.precision)
        cfg = self.model.config
        limit = getattr(cfg, "max_position_embeddings", None) or 512
        self.max_length = min(spec.max_length, int(limit))
        self.prefix, self.suffix = _special_template(self.tokenizer)
        self.n_special = len(self.prefix) + len(self.suffix)
        self.body_len = max(1, self.max_length - self.n_special)
        self.labels = [str(cfg.id2label.get(i, f"LABEL_{i}")) for i in range(cfg.num_labels)]
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

    def _forward(self, batch: list[list[int]]):
        """Logits (float32, CPU) for one padded batch; on CUDA out-of-memory, halve the batch and retry."""
        torch = self._torch
        enc = self.tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        try:
            return self.model(**enc).logits.float().cpu()
        except torch.cuda.OutOfMemoryError:
            if len(batch) == 1:
                raise
            del enc
            torch.cuda.empty_cache()
            half = len(batch) // 2
            return torch.cat([self._forward(batch[:half]), self._forward(batch[half:])])

    def score(self, texts: list[str | None]) -> list[dict[str, float] | None]:
        """Probability per label for each text (None for a null text); order is preserved.

        Texts are handled in groups (GROUP_DOCS, at least 16 model batches) so that chunked long
        documents never hold more than one group's token ids in memory.
        """
        keep = [i for i, t in enumerate(texts) if t is not None]
        out: list[dict[str, float] | None] = [None] * len(texts)
        group = max(GROUP_DOCS, 16 * self.spec.batch_size)
        for g in range(0, len(keep), group):
            part = keep[g:g + group]
            for i, row in zip(part, self._score_group([texts[i] for i in part])):
                out[i] = row
        return out

    def _score_group(self, texts: list[str]) -> list[dict[str, float]]:
        torch = self._torch
        prepared = [cut_text(clean_text(t), self.spec) for t in texts]
        ids = self.tokenizer(prepared, add_special_tokens=False, truncation=False)["input_ids"]
        inputs: list[list[int]] = []
        owner: list[int] = []                       # model input -> document
        for j, doc_ids in enumerate(ids):
            for x in self._inputs_for(doc_ids):
                inputs.append(x)
                owner.append(j)
        order = list(range(len(inputs)))
        if self.spec.sort_by_length:
            order.sort(key=lambda k: len(inputs[k]))
        logits = torch.empty((len(inputs), len(self.labels)), dtype=torch.float32)
        bs = self.spec.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), bs):
                idx = order[start:start + bs]
                logits[idx] = self._forward([inputs[k] for k in idx])
        owner_t = torch.tensor(owner)
        n_docs = len(texts)
        p = torch.softmax(logits, dim=-1)
        if self.spec.strategy == "chunk_max":
            # per label, its highest probability over the windows: "toxic anywhere" scores high
            # (the values are each a probability but no longer sum to 1 across labels)
            probs = torch.zeros((n_docs, len(self.labels))).scatter_reduce(
                0, owner_t[:, None].expand_as(p), p, reduce="amax", include_self=False)
        else:
            sums = torch.zeros((n_docs, len(self.labels))).index_add_(0, owner_t, p)
            counts = torch.bincount(owner_t, minlength=n_docs).clamp(min=1)[:, None]
            probs = sums / counts                   # chunk_mean; head / head_tail have one input each
        return [{lab: float(v) for lab, v in zip(self.labels, row)} for row in probs.tolist()]


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


def _load(model: str, device: str, precision: str):
    """(tokenizer, model, device, dtype), loaded once per process for each model/device/precision."""
    path = local_path(model)
    key = (os.path.abspath(path) if os.path.exists(path) else model, device, precision)
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is None:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()    # one bar per worker per model floods executor logs

            dev = resolve_device(device)
            dtype = resolve_precision(precision, dev)
            tok = AutoTokenizer.from_pretrained(path)
            # documents are cut by us; silence "sequence longer than model_max_length" warnings
            tok.model_max_length = 1 << 30
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


def model_labels(spec: ClassifierSpec) -> list[str]:
    """Label names from the model's config.json (driver side, no weights loaded)."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(local_path(spec.model))
    return [str(cfg.id2label.get(i, f"LABEL_{i}")) for i in range(cfg.num_labels)]


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


def score_column(df, text_col: str, spec: ClassifierSpec, out_col: str, *, key: str | None = None):
    """df plus `out_col`: map<string,double> label -> probability (null where text is null).

    Runs as an iterator pandas UDF: each Python worker loads the model once and reuses it across
    batches and tasks (spark.python.worker.reuse). Documents are cut to what the strategy can use
    in the JVM first (built-in substring), so a 1 MB text never crosses to Python whole.
    The model is checked first (ConfigError naming `key`, before any Spark job).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import DoubleType, MapType, StringType

    key = key or f"classifier for column {out_col}"
    check_model(spec, key)
    if is_remote(spec.model):
        check_model(ClassifierSpec(**{**spec.__dict__, "model": ship(df.sparkSession, spec.model)}), key)
    _warn_driver_gpu(df, spec)
    spec = ClassifierSpec(**{**spec.__dict__, "model": _abs_if_local(spec.model)})

    @pandas_udf(MapType(StringType(), DoubleType()))
    def _score(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        scorer = get_scorer(spec)
        for texts in batches:
            values = texts.tolist()
            yield pd.Series(scorer.score([None if v is None or v is pd.NA else str(v) for v in values]))

    n = char_window(spec)
    txt = F.col(text_col).cast("string")
    if spec.strategy == "head_tail":
        h = int(n * HEAD_SHARE)
        cut = F.when(F.length(txt) <= n, txt).otherwise(
            F.concat(F.substring(txt, 1, h), F.lit(" "), F.right(txt, F.lit(n - h))))
    else:
        cut = F.substring(txt, 1, n)
    return df.withColumn(out_col, _score(cut))


def _abs_if_local(model: str) -> str:
    p = os.path.expanduser(model)
    return str(Path(p).resolve()) if os.path.exists(p) else model
