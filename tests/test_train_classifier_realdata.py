"""Toxicity on real data (../shared/data): held-out splits, the two baselines, and a small fine-tune.

The full-size comparison (more rows, both languages) is bench/eval_toxicity.py; these tests keep the
same code paths small enough for the suite.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

_spec = importlib.util.spec_from_file_location(
    "eval_toxicity", Path(__file__).resolve().parent.parent / "bench" / "eval_toxicity.py")
ev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ev)


def test_real_splits_and_baselines(shared_data):
    en_train, en_test = ev.davidson_split(shared_data)
    assert abs(len(en_test) - 0.2 * (len(en_train) + len(en_test))) <= 3
    assert not {t for t, _ in en_test} <= {t for t, _ in en_train}
    share = sum(1 for _, g in en_test if g == "clean") / len(en_test)
    assert 0.1 < share < 0.25                         # "neither" is ~17% of Davidson; hate + offensive = toxic
    zh_train, zh_test = ev.cold_split(shared_data)
    assert len(zh_train) == 25_726 and len(zh_test) == 6_431

    for lang, train, test in (("en", en_train, en_test), ("zh", zh_train, zh_test)):
        train, test = ev.subsample(train, 2000), ev.subsample(test, 600)
        words = ev.wordlist_baseline(train, test, lang, shared_data)
        tfidf = ev.tfidf_baseline(train, test, lang)
        assert words["terms"] > 100 and 1 <= words["min_hits"] <= 5
        assert 0 < words["f1"] < tfidf["f1"]           # a word list alone misses most offensive text
        assert tfidf["rows"] == words["rows"] == 600


def test_small_finetune_on_davidson_beats_the_word_list(spark, shared_data, tmp_path):
    """600 training tweets, one epoch: the fine-tuned model, scored through Spark, beats the word list."""
    from pyspark.sql import functions as F

    from corpusmill.jobs.training.train_classifier import train_from_records
    from corpusmill.udfs.classifiers.classify import ClassifierSpec, score_column

    train, test = ev.davidson_split(shared_data)
    train, test = ev.subsample(train, 600), ev.subsample(test, 300)
    m = train_from_records(train, str(tmp_path / "tox"), epochs=1, max_length=32, seed=0, lr=1.5e-4,
                           batch_size=16, threads=1)
    assert m["labels"] == ["clean", "toxic"]
    df = spark.createDataFrame([(i, t, g) for i, (t, g) in enumerate(test)], "id int, text string, gold string")
    scored = score_column(df, "text", ClassifierSpec(str(tmp_path / "tox"), head="", strategy="head", max_length=32,
                                                      batch_size=32, device="auto", precision="auto",
                                                      sort_by_length=True, max_chunks=16, threads=0, runtime="auto",
                                                      cascade=True, band=[]), "p")
    rows = scored.select("gold", F.col("p")["toxic"].alias("t")).collect()
    gold = [r["gold"] for r in rows]
    pred = ["toxic" if r["t"] >= 0.5 else "clean" for r in rows]
    tuned = ev.f1_summary(gold, pred)
    words = ev.wordlist_baseline(train, test, "en", shared_data)
    assert tuned["macro_f1"] > words["macro_f1"]
    assert tuned["f1"] > words["f1"]
