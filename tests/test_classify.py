"""Classifier inference (udfs/classifiers/classify.py): plain scorer and the Spark pandas UDF, with a real model.

Batching and strategy checks run the eager fp32 runtime: bf16 and int8 results move slightly with
the other texts of their batch (shapes and activation scales), which these tests compare exactly.

A tiny toxicity model is fine-tuned once for this module from the offline MiniLM-L6 backbone
(a few examples, max_length 32), then scored through Spark.
"""
from __future__ import annotations

import logging
import os
import warnings

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from corpusmill.jobs.core.config import ConfigError  # noqa: E402
from corpusmill.udfs.classifiers import classify  # noqa: E402
from corpusmill.udfs.classifiers.classify import ClassifierSpec, check_model, clean_text, cut_text, get_scorer, score_column  # noqa: E402

TOXIC = ["you are a stupid idiot", "shut up you moron", "i hate you, you disgusting pig",
         "go to hell you idiot", "you stupid worthless fool", "what a dumb moron you are"]
CLEAN = ["the weather is nice today", "i enjoyed the concert last night", "the recipe needs two eggs",
         "our meeting is at noon", "the library opens at nine", "thanks for the lovely gift"]
# the inference settings these tests (and test_cascade's) do not vary
SETTINGS = dict(head="", strategy="head", max_length=256, batch_size=32, device="auto", precision="auto",
                sort_by_length=True, max_chunks=16, threads=0, runtime="auto", cascade=True)


def make_spec(model: str, **changes) -> ClassifierSpec:
    return ClassifierSpec(**{**SETTINGS, "band": [], "model": model, **changes})


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from corpusmill.jobs.training.train_classifier import train_from_records

    out = tmp_path_factory.mktemp("tiny-toxicity")
    recs = ([(t, "toxic") for t in TOXIC] + [(t, "clean") for t in CLEAN]) * 2
    metrics = train_from_records(recs, str(out), epochs=3, max_length=32, seed=0, lr=3e-4, batch_size=8,
                                 validation_share=0.0, threads=1, evals_per_epoch=1, patience=3)
    assert metrics["labels"] == ["clean", "toxic"]
    return str(out)


def p_toxic(scores):
    return [s["toxic"] for s in scores]


# ---- plain functions ------------------------------------------------------------------------------

def test_clean_text_replaces_control_characters():
    assert clean_text("a\x00b\x07c\x1bd\x7f\ne\tf") == "a b c d \ne\tf"
    assert clean_text(None) == "" and clean_text("") == ""


def test_cut_text_bounds_huge_documents():
    doc = "h" * 600_000 + "t" * 600_000
    head = cut_text(doc, make_spec("m", strategy="head", max_length=64))
    assert head == "h" * (64 * classify.CHARS_PER_TOKEN_CAP)
    ht = cut_text(doc, make_spec("m", strategy="head_tail", max_length=64))
    assert len(ht) == 64 * classify.CHARS_PER_TOKEN_CAP + 1 and ht.startswith("h") and ht.endswith("t")
    chunks = cut_text(doc, make_spec("m", strategy="chunk_mean", max_length=64, max_chunks=4))
    assert len(chunks) == 4 * 64 * classify.CHARS_PER_TOKEN_CAP
    assert cut_text("short", make_spec("m")) == "short"


def test_check_model_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^safety\.toxicity\.model: model directory .*/nope not found"):
        check_model(make_spec(str(tmp_path / "nope")), "safety.toxicity.model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="quality.ads.model: model directory .* has no config.json"):
        check_model(make_spec(str(tmp_path / "empty")), "quality.ads.model")
    with pytest.raises(ConfigError, match="^strategy 'middle' unknown"):      # checked when the spec is built
        make_spec(str(tmp_path), strategy="middle")
    with pytest.raises(ConfigError, match="^device 'tpu' unknown"):
        make_spec(str(tmp_path), device="tpu")
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache"):
        check_model(make_spec("no-such-org/no-such-model"), "k")   # HF_HUB_OFFLINE=1 here


def test_scorer_separates_and_survives_bad_input(tiny_model):
    scorer = get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, batch_size=4))
    texts = ["you stupid idiot moron", "the concert was lovely today", "", None, "idiot\x00\x07 moron\x1b",
             "x" * 1_000_000, "the " * 250_000]
    out = scorer.score(texts)
    assert out[3] is None
    for s in out[:3] + out[4:]:
        assert set(s) == {"clean", "toxic"} and abs(sum(s.values()) - 1) < 1e-5
    assert out[0]["toxic"] > 0.5 > out[1]["toxic"]
    # the model and tokenizer are loaded once per process and shared by every spec naming them
    again = get_scorer(make_spec(tiny_model, runtime="torch", max_length=16, batch_size=2))
    assert again.model is scorer.model and again.tokenizer is scorer.tokenizer


def test_length_sorting_keeps_order(tiny_model):
    texts = TOXIC + CLEAN + ["word " * n for n in (1, 40, 3, 25, 7)]
    on = get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, batch_size=3, sort_by_length=True)).score(texts)
    off = get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, batch_size=3, sort_by_length=False)).score(texts)
    for a, b in zip(on, off):
        assert a["toxic"] == pytest.approx(b["toxic"], abs=1e-4)
    single = [get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, batch_size=1)).score([t])[0] for t in texts]
    for a, b in zip(on, single):
        assert a["toxic"] == pytest.approx(b["toxic"], abs=1e-4)
    # documents are scored in groups of max(GROUP_DOCS, 16 batches): 17 texts at batch 1 -> groups of 16 + 1
    grouped = get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, batch_size=1)).score(texts)
    assert [g["toxic"] for g in grouped] == pytest.approx([b["toxic"] for b in single], abs=1e-4)


def test_out_of_memory_halves_the_batch(tiny_model):
    """A CUDA out-of-memory error on a big batch is retried in halves instead of failing the task."""
    import torch

    scorer = get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, batch_size=8))
    real = scorer.encoder
    sizes = []

    class Picky:
        def pooled(self, input_ids, attention_mask):
            sizes.append(input_ids.shape[0])
            if input_ids.shape[0] > 2:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
            return real.pooled(input_ids, attention_mask)

    expected = scorer.score(TOXIC + CLEAN)
    scorer.encoder = Picky()
    got = scorer.score(TOXIC + CLEAN)
    assert [g["toxic"] for g in got] == pytest.approx([e["toxic"] for e in expected], abs=1e-4)
    assert sizes == [8, 4, 2, 2, 4, 2, 2, 4, 2, 2]          # 12 texts: batches of 8 and 4, halved to 2s


def test_long_document_strategies(tiny_model):
    """Toxic text only at the end: head misses it, head_tail and chunk_max see it."""
    doc = " ".join(CLEAN * 5) + " " + " ".join(TOXIC)     # ~8 windows of 30 tokens, toxic in the last 2
    score = {s: get_scorer(make_spec(tiny_model, runtime="torch", strategy=s, max_length=32)).score([doc])[0]["toxic"]
             for s in classify.STRATEGIES}
    assert score["head_tail"] > score["head"] + 0.1
    assert score["chunk_max"] > score["chunk_mean"] > score["head"]
    assert score["chunk_max"] > score["head"] + 0.1
    # chunk_max takes each label's highest window probability: values need not sum to 1
    cm = get_scorer(make_spec(tiny_model, runtime="torch", strategy="chunk_max", max_length=32)).score([doc])[0]
    assert cm["toxic"] > 0.5 and cm["clean"] > 0.5
    # chunk_mean is the mean of the per-window probabilities
    sc = get_scorer(make_spec(tiny_model, runtime="torch", strategy="chunk_mean", max_length=32, max_chunks=3))
    ids = sc.tokenizer(doc, add_special_tokens=False)["input_ids"]
    windows = [sc.tokenizer.decode(ids[i:i + sc.body_len]) for i in range(0, 3 * sc.body_len, sc.body_len)]
    per = get_scorer(make_spec(tiny_model, runtime="torch", strategy="head", max_length=32)).score(windows)
    assert sc.score([doc])[0]["toxic"] == pytest.approx(sum(p_toxic(per)) / 3, abs=0.02)


def test_device_and_precision_resolution(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(classify, "_warned", set())
    with pytest.warns(RuntimeWarning, match="device=cuda was asked for but no GPU"):
        assert classify.resolve_device("cuda") == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # warned once per process, not per batch
        assert classify.resolve_device("cuda") == "cpu"
    assert classify.resolve_device("auto") == "cpu"
    assert classify.resolve_precision("auto", "cpu") == torch.float32
    with pytest.warns(RuntimeWarning, match="fp16 on the CPU"):
        assert classify.resolve_precision("fp16", "cpu") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert classify.resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert classify.resolve_precision("auto", "cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert classify.resolve_precision("auto", "cuda") == torch.float16
    assert classify.resolve_precision("fp32", "cuda") == torch.float32


# ---- through Spark --------------------------------------------------------------------------------

def test_score_column_through_spark(spark, tiny_model):
    texts = [*TOXIC[:3], *CLEAN[:3], "", None, "you idiot\x00\x01\x02 moron", "y" * 1_000_000,
             "calm words " * 20_000 + "you stupid idiot"]
    df = spark.createDataFrame(list(enumerate(texts)), "id int, text string").repartition(2)
    spec = make_spec(tiny_model, runtime="torch", max_length=32, batch_size=4)
    out = score_column(df, "text", spec, "tox")
    assert dict(out.dtypes)["tox"] == "map<string,double>"
    rows = {r["id"]: r["tox"] for r in out.select("id", "tox").collect()}
    assert len(rows) == len(texts)
    assert rows[7] is None
    for i, s in rows.items():
        if i != 7:
            assert set(s) == {"clean", "toxic"} and sum(s.values()) == pytest.approx(1.0, abs=1e-5)
    assert min(rows[i]["toxic"] for i in range(3)) > max(rows[i]["toxic"] for i in range(3, 6))
    # same numbers as the plain scorer (order restored after length sorting, cut in the JVM = cut in Python)
    plain = get_scorer(spec).score(texts)
    for i, p in enumerate(plain):
        if p is not None:
            assert rows[i]["toxic"] == pytest.approx(p["toxic"], abs=1e-4)


def test_cuda_requested_without_gpu_falls_back_to_cpu(spark, tiny_model, caplog):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the fallback is not exercised")
    df = spark.createDataFrame([(0, TOXIC[0]), (1, CLEAN[0])], "id int, text string")
    with caplog.at_level(logging.WARNING, logger="corpusmill"):
        out = score_column(df, "text", make_spec(tiny_model, runtime="torch", max_length=32, device="cuda", precision="fp16"),
                           "tox")
    assert any("device=cuda asked for but no GPU is visible" in r.getMessage() for r in caplog.records)
    rows = {r["id"]: r["tox"] for r in out.collect()}
    cpu = get_scorer(make_spec(tiny_model, runtime="torch", max_length=32, device="cpu")).score([TOXIC[0], CLEAN[0]])
    assert rows[0]["toxic"] == pytest.approx(cpu[0]["toxic"], abs=1e-4)   # fp32 on the CPU, same numbers
    assert rows[1]["toxic"] == pytest.approx(cpu[1]["toxic"], abs=1e-4)


def test_missing_model_fails_before_any_spark_job(spark, tmp_path):
    sc = spark.sparkContext
    df = spark.createDataFrame([(0, "text")], "id int, text string")
    sc.setJobGroup("classify-missing-model", "should stay empty")
    try:
        with pytest.raises(ConfigError, match="safety.toxicity.model: model directory .* not found"):
            out = score_column(df, "text", make_spec(str(tmp_path / "missing")), "tox",
                               key="safety.toxicity.model")
            out.collect()
    finally:
        sc.setJobGroup("corpusmill", "corpusmill")
    assert list(sc.statusTracker().getJobIdsForGroup("classify-missing-model")) == []


def test_gpu_example_config_loads():
    """conf/gpu.example.yaml is valid config: GPU scheduling confs and the matching CUDA batch sizes."""
    from corpusmill.jobs.core.config import DEFAULT_CONF
    from corpusmill.jobs.registry import load_config

    cfg = load_config(str(DEFAULT_CONF.parent / "gpu.example.yaml"))
    conf = cfg.spark.conf
    assert float(conf["spark.executor.resource.gpu.amount"]) == 1
    tasks_per_gpu = 1 / float(conf["spark.task.resource.gpu.amount"])
    assert tasks_per_gpu == int(conf["spark.executor.cores"]) / int(conf["spark.task.cpus"])
    assert conf["spark.executor.resource.gpu.discoveryScript"].endswith(".sh")
    specs = []
    for section, names in (("safety", ("toxicity", "pornography")), ("quality", ("advertisement", "fluency"))):
        if section in cfg.sections:
            specs += [getattr(cfg.sections[section], n) for n in names]
    for s in specs:
        assert s.device == "cuda" and s.precision in classify.PRECISIONS and s.batch_size >= 128
    assert cfg.classifiers.device == "cuda" and cfg.classifiers.score_batch_size >= 128
