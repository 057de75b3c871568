"""Toxicity classifier vs. two baselines on real data (English and Chinese), same held-out splits.

    bench/eval_toxicity.py [--lang en,zh] [--train-rows N] [--max-length L] [--epochs E] [--runtimes torch,int8,onnx] [--reuse]
                           [--backbone-en NAME] [--backbone-zh NAME] [--freeze-embeddings] [--multihead N] [--out-json F]

English: davidson-hate-offensive (hate speech or offensive = toxic, neither = clean); a stratified 20%
of it (seed 0) is held out as the test split. Chinese: cold-chinese-offensive, train.csv to train,
dev.csv as the test split (the snapshot has no test.csv). Methods, all scored on the same test split:
  1. word list alone: the safety stage's matcher (udfs.safety.wordlists) with LDNOOBW (+ the Chinese
     lexicons for zh); toxic when hits >= k, k in 1..5 chosen for F1 on the training split;
  2. TF-IDF + logistic regression (word 1-2-grams for English, character 1-3-grams for Chinese),
     trained on the same training rows as the fine-tune (and, for reference, on the whole training split);
  3. the first-pass model alone (udfs/classifiers/cheap_model.py: hashed word 1-2-grams + char 1-3-grams, LR),
     fitted by train-classifier on the same training rows;
  4. the fine-tuned encoder alone (jobs.training.train_classifier.train_heads; MiniLM-L6 for English, the
     packaged multilingual-e5-small for Chinese by default), per CPU runtime (torch fp32, int8, onnx);
  5. the cascade: the first pass everywhere, the encoder inside the band chosen on the validation split.
Everything is scored through udfs.classifiers.classify.Scorer (the code the Spark stages run) in this process with
--threads torch threads; "to encoder" is the share of test documents the encoder scored.
F1 is the toxic class's F1 (macro F1 is printed too). --multihead N also trains toxicity together with
the demo's generated pornography / advertisement / fluency labels (N each) and scores its toxicity head.
"""
from __future__ import annotations

import argparse
import html
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from corpusmill.jobs.core.config import default_section
from corpusmill.jobs.training.train_classifier import (
    ClassifiersConfig,
    TrainSettings,
    classification_metrics,
    stratified_split,
    train_heads,
)

DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
LABELS = ["clean", "toxic"]


def load_davidson(data: Path = DATA) -> list[tuple[str, str]]:
    """(tweet, toxic|clean): class 0 hate speech or 1 offensive -> toxic, 2 neither -> clean."""
    import pandas as pd

    df = pd.read_csv(data / "davidson-hate-offensive" / "train.csv")
    return [(html.unescape(str(t)), "clean" if int(c) == 2 else "toxic") for t, c in zip(df["tweet"], df["class"])]


def davidson_split(data: Path = DATA, seed: int = 0):
    """(train, test): 20% of every class held out."""
    return stratified_split(load_davidson(data), 0.2, seed)


def cold_split(data: Path = DATA):
    """(train, test) = (train.csv, dev.csv) with label 1 offensive -> toxic, 0 -> clean."""
    import pandas as pd

    def read(name):
        df = pd.read_csv(data / "cold-chinese-offensive" / name)
        return [(str(t), "toxic" if int(lab) == 1 else "clean") for t, lab in zip(df["TEXT"], df["label"])]

    return read("train.csv"), read("dev.csv")


def subsample(records, n: int, seed: int = 0):
    """A deterministic stratified sample of n records (all when n <= 0 or n >= len)."""
    if n <= 0 or n >= len(records):
        return list(records)
    _, sample = stratified_split(records, n / len(records), seed)
    return sample


def f1_summary(gold, pred) -> dict:
    m = classification_metrics(gold, pred, LABELS)
    t = m["per_class"]["toxic"]
    return {"f1": t["f1"], "precision": t["precision"], "recall": t["recall"], "macro_f1": m["macro_f1"],
            "accuracy": m["accuracy"], "rows": m["rows"]}


# ---- baseline 1: word list alone ----------------------------------------------------------------------

def wordlist_paths(lang: str, data: Path = DATA) -> list[str]:
    if lang == "en":
        return [str(data / "ldnoobw" / "en")]
    lex = data / "zh-sensitive-lexicon"
    return [str(data / "ldnoobw" / "zh"), f"zh={lex / 'porn_words_seqing_ciku.txt'}",
            f"zh={lex / 'porn_words_seqing_leixing.txt'}"]


def wordlist_baseline(train_recs, test_recs, lang: str, data: Path = DATA) -> dict:
    """Toxic when the matcher finds >= k terms; k in 1..5 picked for F1 on the training split."""
    from corpusmill.udfs.safety.wordlists import build_matcher, load_wordlists

    matcher = build_matcher(load_wordlists(wordlist_paths(lang, data)))
    tr_hits = [matcher.scan(t, lang).hits for t, _ in train_recs]
    best_k, best_f1 = 1, -1.0
    for k in range(1, 6):
        f1 = f1_summary([g for _, g in train_recs], ["toxic" if h >= k else "clean" for h in tr_hits])["f1"]
        if f1 > best_f1:
            best_k, best_f1 = k, f1
    te_hits = [matcher.scan(t, lang).hits for t, _ in test_recs]
    out = f1_summary([g for _, g in test_recs], ["toxic" if h >= best_k else "clean" for h in te_hits])
    out["min_hits"] = best_k
    out["terms"] = sum(len(v) for v in load_wordlists(wordlist_paths(lang, data)).values())
    return out


# ---- baseline 2: TF-IDF + logistic regression -----------------------------------------------------------

def tfidf_baseline(train_recs, test_recs, lang: str, seed: int = 0) -> dict:
    """Word 1-2-grams (en) or char 1-3-grams (zh); C chosen on a 10% validation share of train."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def vec():
        if lang == "zh":
            return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
        return TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)

    fit, val = stratified_split(train_recs, 0.1, seed)
    best_c, best_f1 = 1.0, -1.0
    v = vec()
    xf = v.fit_transform([t for t, _ in fit])
    xv = v.transform([t for t, _ in val])
    for c in (0.25, 1.0, 4.0, 16.0):
        lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        lr.fit(xf, [g for _, g in fit])
        f1 = f1_summary([g for _, g in val], list(lr.predict(xv)))["f1"]
        if f1 > best_f1:
            best_c, best_f1 = c, f1
    v = vec()
    x = v.fit_transform([t for t, _ in train_recs])
    lr = LogisticRegression(C=best_c, max_iter=2000, class_weight="balanced").fit(x, [g for _, g in train_recs])
    out = f1_summary([g for _, g in test_recs], list(lr.predict(v.transform([t for t, _ in test_recs]))))
    out["C"] = best_c
    out["train_rows"] = len(train_recs)
    return out


# ---- the fine-tuned classifier and its cascade ------------------------------------------------------------

def _timed(fn, texts):
    t0 = time.monotonic()
    out = fn(texts)
    return out, len(texts) / max(time.monotonic() - t0, 1e-9)


def finetune(train_recs, test_recs, out_dir: str, settings: TrainSettings, backbone: str | None = None,
             runtimes=("torch", "int8", "onnx"), extra_tasks: dict | None = None, reuse: bool = False) -> dict:
    """Fine-tune (one head, or toxicity plus extra_tasks' heads), then score the test split with the code
    the Spark stages run (udfs.classifiers.classify.Scorer): the encoder alone per CPU runtime, the first pass alone,
    and the cascade with the band chosen on the validation split."""
    from corpusmill.udfs.classifiers import cascade
    from corpusmill.udfs.classifiers.classify import ClassifierSpec, Target, get_scorer

    def spec(runtime: str, band: list[float]) -> ClassifierSpec:
        return ClassifierSpec(out_dir, head="toxicity", strategy="head", max_length=settings.max_length, batch_size=64,
                              device="cpu", precision="auto", sort_by_length=True, max_chunks=16, threads=0,
                              runtime=runtime, cascade=True, band=band)

    tasks = {"toxicity": train_recs, **(extra_tasks or {})}
    done = Path(out_dir, "metrics.json")
    if reuse and done.is_file() and Path(out_dir, "heads.json").is_file():
        m = json.loads(done.read_text())                              # --reuse: score the model trained before
    else:
        m = train_heads(tasks, out_dir, settings, backbone=backbone)
    hm = m["heads"]["toxicity"]
    texts, gold = [t for t, _ in test_recs], [g for _, g in test_recs]
    out = {"train_rows": hm["train_rows"], "validation_rows": hm["validation_rows"], "best_epoch": m["best_epoch"],
           "steps": m["steps"], "train_seconds": m["seconds"], "heads": sorted(tasks),
           "validation_macro_f1": hm["validation"]["macro_f1"], "band": hm.get("cascade", {}).get("band"),
           "validation_cascade": hm.get("cascade"), "settings": m["settings"]}
    for rt in runtimes:
        scorer = get_scorer(spec(rt, []))
        scorer.score(texts[:64])                                     # load / export outside the timing
        probs, rate = _timed(scorer.score, texts)
        out[f"encoder_{rt}"] = {**f1_summary(gold, [max(p, key=p.get) for p in probs]), "docs_per_s": rate}
    ref = out.get("encoder_torch", out[f"encoder_{runtimes[0]}"])["f1"]
    best = max(runtimes, key=lambda rt: out[f"encoder_{rt}"]["docs_per_s"] if out[f"encoder_{rt}"]["f1"] >= ref - 0.005
               else -1)
    out["fastest_runtime_within_0.005"] = best
    scorer = get_scorer(spec(best, []))
    for name, band in (("first_pass", cascade.EMPTY), ("cascade", [])):
        target = Target(spec(best, band), "toxic", "p", "by")
        res, rate = _timed(lambda x: scorer.score_targets(x, [target]), texts)
        pred = ["toxic" if p >= 0.5 else "clean" for p in res["p"]]
        out[name] = {**f1_summary(gold, pred), "docs_per_s": rate,
                     "share_to_encoder": sum(1 for d in res["by"] if d == "bert") / max(1, len(texts))}
    return out


# ---- through the stage: what a user gets -----------------------------------------------------------------

STAGE_MODES = {"cascade": [], "encoder alone": ["safety.toxicity.cascade=false"],
               "first pass alone": ["safety.toxicity.band=[1.0, 0.0]"]}


def through_stage(model_dir: str, test_recs, runtimes: list[str], work: Path, lang: str) -> list[dict]:
    """The held-out split as a user's JSON-lines input through the real `format` and `safety` stages
    (local[2], language by pycld2, the toxicity classifier at the configured threshold, pornography
    and the blocklists off), for each runtime and mode; F1 / precision / recall of "dropped for
    toxicity" against the labels, the share the encoder scored, the stage's documents/s."""
    from pyspark.sql import functions as F

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.pipeline import preflight, run_pipeline
    from corpusmill.jobs.registry import load_config

    work.mkdir(parents=True, exist_ok=True)
    src = work / f"heldout-{lang}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i, (text, label) in enumerate(test_recs):
            f.write(json.dumps({"id": f"{lang}-{i}", "url": f"heldout://{lang}/{i}", "text": text}) + "\n")
    gold = {f"heldout://{lang}/{i}": label for i, (_, label) in enumerate(test_recs)}
    base = [f"storage.root={work / f'store-{lang}'}", "storage.catalog=none", "spark.master=local[2]",
            "spark.driver_memory=4g", "spark.shuffle_partitions=4", "format.text_sources=[]",
            "safety.domain_lists=[]", "safety.word_lists=[]", "safety.pornography.model=none",
            f"safety.toxicity.model={model_dir}", "safety.toxicity.head=toxicity", "safety.toxicity_label=toxic"]
    out = []
    spark = None
    for runtime in runtimes:
        for mode, sets in STAGE_MODES.items():
            config = load_config(None, [*base, f"safety.toxicity.runtime={runtime}", *sets])
            spark = spark or get_spark(config)
            stages = ["safety"] if tableio.table_exists(spark, config, "documents") else ["format", "safety"]
            preflight(config, stages)
            res = {r.stage: r for r in run_pipeline(spark, config, stages, inputs=[str(src)], force=True)}
            threshold = config.safety.thresholds["default"].toxicity
            sig = (tableio.read_table(spark, config, "safety_signals").alias("s")
                   .join(tableio.read_table(spark, config, "documents").select("doc_id", "url"), "doc_id")
                   .select("url", F.array_contains("reasons", "toxicity").alias("dropped"),
                           "toxicity_decided_by").collect())
            seen = {r["url"]: r for r in sig}
            pairs = [(gold[u], "toxic" if seen[u]["dropped"] else "clean") for u in gold if u in seen]
            m = f1_summary([g for g, _ in pairs], [p for _, p in pairs])
            s = res["safety"]
            out.append({"lang": lang, "runtime": runtime, "mode": mode, "threshold": threshold, **m,
                        "reached_safety": len(pairs), "held_out": len(gold),
                        "share_to_encoder": sum(1 for r in sig if r["toxicity_decided_by"] == "bert") / max(1, len(sig)),
                        "stage_docs_per_s": s.rows_in / max(s.seconds, 1e-9), "stage_seconds": s.seconds})
            print(json.dumps(out[-1]), flush=True)
    return out


def band_draws(model_dir: str, test_recs, work: Path, lang: str, draws: int, sizes=(200, 500, 1000)) -> list[dict]:
    """How many validation rows a band needs: bands chosen at the stage's 0.8 (udfs/classifiers/cascade.py)
    on `draws` random draws of n validation rows, scored on the held-out split with the probabilities a
    --through-stage run stored (the first pass's and the encoder's, from the `safety_signals` versions
    of its cascade and encoder-alone modes), against the encoder alone. Also the whole split, once."""
    import numpy as np
    from deltalake import DeltaTable

    from corpusmill.udfs.classifiers import cascade

    v = np.load(Path(model_dir) / "cheap" / "toxicity.validation.npz")
    vc, vb, vg = v["cheap"], v["bert"], v["gold"]
    wh = work / f"store-{lang}" / "warehouse"
    if not (wh / "safety_signals").is_dir():
        raise SystemExit(f"--band-draws reads a --through-stage run's store: {wh} has no safety_signals")
    cols = ["doc_id", "p_toxicity_cheap", "p_toxicity_bert"]
    tables = [DeltaTable(str(wh / "safety_signals"), version=h["version"]).to_pandas(columns=cols)
              for h in sorted(DeltaTable(str(wh / "safety_signals")).history(), key=lambda h: h["version"])]
    cheap = next(t for t in tables if t.p_toxicity_cheap.notna().all())
    bert = next(t for t in tables if t.p_toxicity_bert.notna().all())
    urls = DeltaTable(str(wh / "documents")).to_pandas(columns=["doc_id", "url"])
    m = urls.merge(cheap[["doc_id", "p_toxicity_cheap"]], on="doc_id").merge(bert[["doc_id", "p_toxicity_bert"]],
                                                                            on="doc_id")
    gold = {f"heldout://{lang}/{i}": int(label == "toxic") for i, (_, label) in enumerate(test_recs)}
    tc, tb, tg = m.p_toxicity_cheap.to_numpy(), m.p_toxicity_bert.to_numpy(), np.array([gold[u] for u in m.url])
    cut = 0.8

    def f1_recall(p):
        pred = cascade.decide(p, cut, 1)
        return cascade.f1_per_label(tg, pred, 2)[1], cascade.recall(tg, pred, 1)

    enc_f1, enc_r = f1_recall(tb)
    rng = np.random.default_rng(0)
    out = []
    for n in [*[x for x in sizes if x < len(vg)], len(vg)]:
        rows = []
        for _ in range(draws if n < len(vg) else 1):
            idx = rng.choice(len(vg), n, replace=False) if n < len(vg) else np.arange(len(vg))
            band = cascade.choose_band(vc[idx], vb[idx], vg[idx], cascade.TOLERANCE, cuts=(cut,))["band"]
            routed = cascade.in_band(tc, tuple(band))
            f1, r = f1_recall(np.where(routed, tb, tc))
            rows.append((f1 - enc_f1, r - enc_r, routed.mean()))
        a = np.array(rows)
        out.append({"lang": lang, "validation_rows": n, "draws": len(rows),
                    "missed_by_more_than_0.01": int(np.sum((a[:, 0] < -0.01) | (a[:, 1] < -0.01))),
                    "f1_minus_encoder_median": float(np.median(a[:, 0])), "f1_minus_encoder_worst": float(a[:, 0].min()),
                    "recall_minus_encoder_median": float(np.median(a[:, 1])),
                    "recall_minus_encoder_worst": float(a[:, 1].min()), "to_encoder_median": float(np.median(a[:, 2]))})
        r = out[-1]
        print(f"{lang} validation rows {n:>5} x {r['draws']:>2}: missed by > 0.01 {r['missed_by_more_than_0.01']:>2}; "
              f"F1 - encoder median {r['f1_minus_encoder_median']:+.4f} worst {r['f1_minus_encoder_worst']:+.4f}; "
              f"recall - encoder median {r['recall_minus_encoder_median']:+.4f} worst {r['recall_minus_encoder_worst']:+.4f}; "
              f"to encoder {100 * r['to_encoder_median']:.1f}%", flush=True)
    return out


def print_stage_table(rows: list[dict]) -> None:
    print(f"{'lang':4} {'runtime':7} {'mode':17} {'thr':>4} {'F1':>7} {'P':>6} {'R':>6} {'to encoder':>10} "
          f"{'stage docs/s':>12} {'reached':>8}")
    for r in rows:
        print(f"{r['lang']:4} {r['runtime']:7} {r['mode']:17} {r['threshold']:4.2f} {r['f1']:7.4f} "
              f"{r['precision']:6.3f} {r['recall']:6.3f} {100 * r['share_to_encoder']:9.1f}% "
              f"{r['stage_docs_per_s']:12.1f} {r['reached_safety']:>5}/{r['held_out']}")


def generated_tasks(n: int, seed: int = 0) -> dict:
    """The demo's generated labels for the other three heads (pornography, advertisement, fluency)."""
    from corpusmill.samplegen import crawl as samplegen

    return {task: samplegen.classifier_examples(task, seed, n) for task in ("pornography", "advertisement", "fluency")}


def run_lang(lang: str, args) -> dict:
    train_all, test = davidson_split() if lang == "en" else cold_split()
    if args.test_rows:
        test = subsample(test, args.test_rows, args.seed)
    if args.band_draws and not args.through_stage:     # from an earlier --through-stage run's store
        return {"lang": lang, "band_draws": band_draws(str(Path(args.model_dir) / f"toxicity-{lang}"), test,
                                                       Path(args.model_dir) / "stage", lang, args.band_draws)}
    train_sub = subsample(train_all, args.train_rows, args.seed)
    res = {"lang": lang, "train_split_rows": len(train_all), "train_rows_used": len(train_sub), "test_rows": len(test)}
    t = time.monotonic()
    if not args.finetune_only:
        res["wordlist"] = wordlist_baseline(train_sub, test, lang)
        res["tfidf_same_rows"] = tfidf_baseline(train_sub, test, lang, args.seed)
        if len(train_sub) != len(train_all):
            res["tfidf_full_train"] = tfidf_baseline(train_all, test, lang, args.seed)
    res["baseline_seconds"] = round(time.monotonic() - t, 1)
    backbone = (args.backbone_zh if lang == "zh" else args.backbone_en) or None
    s = replace(TrainSettings.from_config(default_section("classifiers", ClassifiersConfig)), epochs=args.epochs,
                lr=args.lr, batch_size=args.batch_size, max_length=args.max_length, patience=args.patience,
                evals_per_epoch=args.evals_per_epoch, validation_share=0.1, seed=args.seed, threads=args.threads,
                extend_vocab=args.extend_vocab, freeze_embeddings=args.freeze_embeddings)
    res["backbone"] = backbone or "MiniLM-L6"
    model = str(Path(args.model_dir) / f"toxicity-{lang}")
    res["finetuned"] = finetune(train_sub, test, model, s, backbone, tuple(args.runtimes.split(",")), reuse=args.reuse)
    if args.through_stage:
        res["through_stage"] = through_stage(model, test, (args.stage_runtimes or args.runtimes).split(","),
                                             Path(args.model_dir) / "stage", lang)
        if args.band_draws:
            res["band_draws"] = band_draws(model, test, Path(args.model_dir) / "stage", lang, args.band_draws)
    if args.multihead:
        res["multihead"] = finetune(train_sub, test, str(Path(args.model_dir) / f"multihead-{lang}"), s, backbone,
                                    ("torch",), generated_tasks(args.multihead))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lang", default="en,zh")
    ap.add_argument("--train-rows", type=int, default=0, help="fine-tuning rows (stratified sample); 0 = all")
    ap.add_argument("--test-rows", type=int, default=0, help="test rows (stratified sample); 0 = whole split")
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--evals-per-epoch", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backbone-en", default="", help="English backbone ('' = MiniLM-L6)")
    ap.add_argument("--backbone-zh", default="multilingual-e5-small", help="Chinese backbone ('' = MiniLM-L6)")
    ap.add_argument("--freeze-embeddings", action="store_true", help="keep token embeddings fixed")
    ap.add_argument("--runtimes", default="torch,int8,onnx", help="CPU runtimes to score the test split with")
    ap.add_argument("--stage-runtimes", default="",
                    help="--through-stage: runtimes the stage runs with ('' = --runtimes); torch in --runtimes alone "
                         "gives the fp32 reference the others are held to")
    ap.add_argument("--reuse", action="store_true", help="score the models a previous run left in --model-dir")
    ap.add_argument("--multihead", type=int, default=0,
                    help="also train toxicity + three generated heads (N examples each) and score toxicity")
    ap.add_argument("--extend-vocab", type=int, default=0, help="add up to N [UNK] characters as new tokens")
    ap.add_argument("--model-dir", default="/tmp/corpusmill-eval-toxicity")
    ap.add_argument("--finetune-only", action="store_true", help="skip the baselines (another setting, same split)")
    ap.add_argument("--through-stage", action="store_true",
                    help="also run the held-out split through the format and safety stages (each --stage-runtimes entry; "
                         "cascade, encoder alone, first pass alone) at the configured threshold")
    ap.add_argument("--band-draws", type=int, default=0, metavar="N",
                    help="bands chosen on N random draws of 200 / 500 / 1,000 validation rows, scored held out at "
                         "0.8 (with --through-stage, or alone: from an earlier --through-stage run in --model-dir)")
    ap.add_argument("--out-json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    results = [run_lang(lang.strip(), args) for lang in args.lang.split(",") if lang.strip()]
    print()
    print(f"{'lang':4} {'method':40} {'train rows':>10} {'test rows':>9} {'F1 toxic':>8} {'P':>6} {'R':>6} "
          f"{'macroF1':>7} {'to encoder':>10} {'docs/s':>8}")
    for r in (r for r in results if "finetuned" in r):
        ft = r["finetuned"]
        rows = [("wordlist", "word list alone", r.get("wordlist")),
                ("tfidf", "TF-IDF + LR (same rows)", r.get("tfidf_same_rows")),
                ("tfidf", "TF-IDF + LR (whole train split)", r.get("tfidf_full_train")),
                ("ft", "first pass alone (hashed n-grams + LR)", ft["first_pass"])]
        rows += [("ft", f"{r['backbone']} alone, {k[8:]}", ft[k]) for k in ft if k.startswith("encoder_")]
        rows += [("ft", f"cascade ({ft['fastest_runtime_within_0.005']})", ft["cascade"])]
        if "multihead" in r:
            mh = r["multihead"]
            rows += [("mh", f"4-head {r['backbone']} alone, torch", mh["encoder_torch"]),
                     ("mh", "4-head cascade", mh["cascade"])]
        for kind, name, m in rows:
            if m is None:
                continue
            n = m.get("train_rows") or (ft["train_rows"] if kind in ("ft", "mh") else "-")
            share = f"{100 * m['share_to_encoder']:.1f}%" if "share_to_encoder" in m else (
                "100%" if "encoder_" in name or "alone," in name else "-")
            rate = f"{m['docs_per_s']:.0f}" if "docs_per_s" in m else "-"
            print(f"{r['lang']:4} {name:40} {n!s:>10} {r['test_rows']:>9} {m['f1']:8.4f} {m['precision']:6.3f} "
                  f"{m['recall']:6.3f} {m['macro_f1']:7.4f} {share:>10} {rate:>8}")
    stage_rows = [row for r in results for row in r.get("through_stage", [])]
    if stage_rows:
        print()
        print_stage_table(stage_rows)
    if args.out_json:
        Path(args.out_json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
