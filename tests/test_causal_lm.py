"""The causal-LM coherence scorer (udfs/longctx/causal_lm.py) and `corpusmill train-causal-lm`, with a real tiny
Llama trained here in seconds on the project's generated text: chunk math against a manual torch
computation, batching, determinism, the stage through Spark, bad input (missing model, 50 MB doc)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from test_longctx import SMALL_COHERENCE, coherent_doc, doc_row, lc_models, shuffled_doc, write_docs  # noqa: F401

from corpusmill.jobs import cli
from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.stages import longctx
from corpusmill.jobs.tools import demo_assets
from corpusmill.jobs.tools.demo_assets import causal_lm_text
from corpusmill.jobs.training.train_causal_lm import CausalTrainConfig, train_causal_lm
from corpusmill.schemas import longctx_signals
from corpusmill.schemas.base import assert_matches
from corpusmill.udfs.longctx import causal_lm
from corpusmill.udfs.longctx.causal_lm import CausalLMSpec, chunk_spans, fit_window

TINY = CausalTrainConfig(vocab_size=400, layers=2, hidden=32, heads=2, positions=256, steps=30, batch_size=4,
                         lr=3e-3, seed=0, max_chars=200_000, threads=1)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    """A 2-layer, 32-wide Llama + byte-level BPE from generated en/zh articles (a few seconds)."""
    d = str(tmp_path_factory.mktemp("tiny-causal-lm"))
    train_causal_lm(causal_lm_text(["en", "zh"], 10, 0), d, TINY, source="test")
    return d


def spec(model: str, **kw) -> CausalLMSpec:
    base = dict(chunk_tokens=256, target_tokens=64, short_context_tokens=64, stride_tokens=128, max_chunks=8,
                batch_size=4, threads=1)
    return CausalLMSpec(model=model, **{**base, **kw})


# ---- chunk geometry -----------------------------------------------------------------------------------
def test_chunk_spans_and_window_fit():
    assert chunk_spans(1000, 256, 64, 64, 128, 32) == [(s, s + 256) for s in range(0, 745, 128)]
    assert chunk_spans(1000, 256, 64, 64, 0, 32) == [(0, 256), (256, 512), (512, 768)]     # tail dropped
    assert chunk_spans(1000, 256, 64, 64, 128, 2) == [(0, 256), (128, 384)]              # max_chunks
    assert chunk_spans(200, 256, 64, 64, 0, 32) == [(0, 200)]      # short doc: long context 136 >= 2 x 64
    assert chunk_spans(150, 256, 64, 64, 0, 32) == []              # too short to tell with from without
    assert fit_window(4096, 1024, 1024, 512) == (512, 128, 128)
    assert fit_window(4096, 1024, 1024, 8192) == (4096, 1024, 1024)
    assert fit_window(4096, 1024, 1024, None) == (4096, 1024, 1024)


def test_tokenize_prefix_reads_only_what_the_chunks_need(tiny_lm):
    tok = causal_lm.load(spec(tiny_lm))[0]
    text = coherent_doc("en", 3, min_bytes=60_000)
    full = tok(text, add_special_tokens=False)["input_ids"]
    part = causal_lm.tokenize_prefix(tok, text, 1000, block_chars=4096)
    assert len(part) == 1000 and part[:900] == full[:900]      # cut at line breaks: same tokens
    assert causal_lm.tokenize_prefix(tok, text, 10 ** 9, block_chars=4096) == full


# ---- the scores against a manual computation -----------------------------------------------------------
def _manual(model, ids: list[int], target: int) -> tuple[float, float]:
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    pred, gold = logits[-target - 1:-1], torch.tensor(ids[-target:])
    nll = torch.nn.functional.cross_entropy(pred, gold).item()
    return math.exp(nll), (pred.argmax(-1) == gold).float().mean().item()


def test_scores_equal_a_manual_torch_computation(tiny_lm):
    sc = causal_lm.CausalCoherence(spec(tiny_lm))
    model = causal_lm.load(sc.spec)[1]
    ids = sc.tokenizer(coherent_doc("en", 5, min_bytes=8000), add_special_tokens=False)["input_ids"][:600]
    res = sc.score_ids([ids])[0]
    spans = chunk_spans(600, 256, 64, 64, 128, 8)
    assert res.n_chunks == len(spans) == 3
    for (s, e), c in zip(spans, res.chunks):
        ppl_w, acc_w = _manual(model, ids[s:e], 64)
        ppl_s, acc_s = _manual(model, ids[e - 128:e], 64)
        assert c.ppl_with == pytest.approx(ppl_w, rel=1e-4) and c.ppl_without == pytest.approx(ppl_s, rel=1e-4)
        assert c.acc_with == pytest.approx(acc_w) and c.acc_without == pytest.approx(acc_s)
        assert c.ppl_with != c.ppl_without
    agg = res.aggregate()
    gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))  # noqa: E731
    assert agg["coh_ppl_with"] == pytest.approx(gm([c.ppl_with for c in res.chunks]))
    assert agg["coh_ppl_diff"] == pytest.approx(agg["coh_ppl_without"] - agg["coh_ppl_with"])
    assert agg["coh_ppl_ratio"] == pytest.approx(agg["coh_ppl_with"] / agg["coh_ppl_without"])
    assert agg["coh_acc_diff"] == pytest.approx(sum(c.acc_with - c.acc_without for c in res.chunks) / 3)


def test_no_extra_context_means_equal_scores(tiny_lm):
    """chunk = short + target: both inputs are the same tokens, so with == without exactly."""
    sc = causal_lm.CausalCoherence(spec(tiny_lm, chunk_tokens=128, stride_tokens=0))
    ids = sc.tokenizer(coherent_doc("en", 6, min_bytes=8000), add_special_tokens=False)["input_ids"]
    res = sc.score_ids([ids])[0]
    assert res.n_chunks == 8
    assert all(c.ppl_with == c.ppl_without and c.acc_with == c.acc_without for c in res.chunks)
    assert res.aggregate()["coh_ppl_ratio"] == 1.0 and res.aggregate()["coh_acc_diff"] == 0.0


def test_batching_and_repeats_give_the_same_scores(tiny_lm):
    texts = [coherent_doc("en", 7, min_bytes=6000), shuffled_doc("zh", 7, min_bytes=3000), "short text",
             coherent_doc("zh", 8, min_bytes=5000)]
    one = causal_lm.CausalCoherence(spec(tiny_lm, batch_size=1)).score_texts(texts)
    many = causal_lm.CausalCoherence(spec(tiny_lm, batch_size=16)).score_texts(texts)
    again = causal_lm.CausalCoherence(spec(tiny_lm, batch_size=16)).score_texts(texts)
    assert [r.n_chunks for r in one] == [r.n_chunks for r in many] and one[2].n_chunks == 0 and one[0].n_chunks > 2
    for a, b, c in zip(one, many, again):
        for x, y, z in zip(a.chunks, b.chunks, c.chunks):
            assert x.ppl_with == pytest.approx(y.ppl_with, rel=1e-5) and y == z
    n = causal_lm.loaded_model_count()
    assert causal_lm.get_scorer(spec(tiny_lm)) is causal_lm.get_scorer(spec(tiny_lm))
    assert causal_lm.loaded_model_count() == n                 # weights loaded once per process


# ---- through the stage (Spark + Delta) ---------------------------------------------------------------------
def _cfg(config_factory, models, lm, *more):
    return config_factory(f"longctx.models_dir={models}", f"longctx.coherence.model={lm}",
                          "longctx.coherence.scorer=causal_lm", "longctx.coherence.threads=1", *SMALL_COHERENCE, *more)


@pytest.mark.slow
def test_stage_scores_coherence_with_the_causal_lm(spark, config_factory, lc_models, tiny_lm):
    config = _cfg(config_factory, lc_models, tiny_lm, "longctx.thresholds.*={max_coh_ppl_ratio: 1.0}")
    rows = [doc_row("coh-0", coherent_doc("en", 40), "en")]
    rows += [doc_row("shuf", shuffled_doc("en", 40), "en"), doc_row("zh", coherent_doc("zh", 40), "zh"),
             doc_row("de", coherent_doc("en", 41), "de"), doc_row("spaces", " \n" * 17_000, "en")]
    write_docs(spark, config, rows)
    res = longctx.run(spark, config)
    assert res.status == "success" and res.rows_in == 5 == res.rows_out + res.rows_rejected
    sig = tableio.read_table(spark, config, "longctx_signals")
    assert_matches(sig.schema, longctx_signals.TABLE)
    names = {doc_row(r["title"], "", "")["doc_id"]: r["title"] for r in rows}
    got = {names[r["doc_id"]]: r for r in sig.collect()}
    # the chunk is capped at the model's 256 positions: 1,024 / 256 / 256 -> 256 / 64 / 64, stride 64
    p = spec(tiny_lm, stride_tokens=64, max_chunks=32)
    for name in ("coh-0", "shuf", "zh", "de"):
        r = got[name]
        assert r["coh_scorer"] == "causal_lm" and r["coh_n_chunks"] == len(r["coh_chunk_ppl_with"]) == 32
        assert len(r["coh_chunk_acc_diff"]) == 32 and r["coh_acc_diff"] is not None
        assert r["coh_ppl_ratio"] == pytest.approx(r["coh_ppl_with"] / r["coh_ppl_without"])
        # the Spark path computes what the plain scorer computes
        text = next(x["text"] for x in rows if x["title"] == name)
        plain = causal_lm.CausalCoherence(p).score_texts([text])[0].aggregate()
        assert r["coh_ppl_with"] == pytest.approx(plain["coh_ppl_with"], rel=1e-5)
        assert r["coh_ppl_without"] == pytest.approx(plain["coh_ppl_without"], rel=1e-5)
    assert got["de"]["lm_status"] == "no_model"                 # no KenLM for de; the causal LM still scores
    assert got["spaces"]["coh_n_chunks"] == 0 and got["spaces"]["coh_scorer"] is None
    assert got["coh-0"]["coh_hit_diff"] > got["shuf"]["coh_hit_diff"]
    fails = {n for n, r in got.items() if "max_coh_ppl_ratio" in r["reasons"]}
    assert fails == {n for n, r in got.items() if r["coh_ppl_ratio"] is not None and r["coh_ppl_ratio"] > 1.0}


def test_missing_or_bad_causal_lm_is_one_config_error_before_the_job(spark, config_factory, lc_models, tmp_path):
    config = _cfg(config_factory, lc_models, str(tmp_path / "no-model"))
    write_docs(spark, config, [doc_row("x", coherent_doc("en", 1), "en")])
    with pytest.raises(ConfigError, match=r"^longctx.coherence.model: .*no-model not found.*train-causal-lm"):
        longctx.run(spark, config)
    (tmp_path / "not-hf").mkdir()
    with pytest.raises(ConfigError, match=r"^longctx.coherence.model: .*no config.json"):
        longctx.run(spark, _cfg(config_factory, lc_models, str(tmp_path / "not-hf")))
    with pytest.raises(ConfigError, match=r"^longctx.coherence.model: nobody/no-such-model is not a local "
                                          r"directory and not in the local Hugging Face cache"):
        longctx.check_models(_cfg(config_factory, lc_models, "nobody/no-such-model"))
    assert not tableio.table_exists(spark, config, "runs")
    with pytest.raises(ConfigError, match=r"^longctx.coherence.scorer"):
        config_factory("longctx.coherence.scorer=gpt")
    with pytest.raises(ConfigError, match=r"^longctx.coherence.model: device 'tpu'"):
        longctx.check_models(_cfg(config_factory, lc_models, "x", "longctx.coherence.device=tpu"))


def test_kenlm_cache_scorer_is_still_there(lc_models):
    from corpusmill.udfs.longctx.stats import SignalParams, document_signals

    p = SignalParams(lc_models, ("en",), chunk_tokens=1024, target_tokens=256, short_context_tokens=256)
    s = document_signals(coherent_doc("en", 2), "en", p)
    assert s["coh_scorer"] == "kenlm_cache" and s["coh_n_chunks"] > 3 and s["coh_acc_diff"] is None


def test_report_thresholds_marks_the_default_selector(config):
    star = config.longctx.thresholds["*"]
    t = longctx.report_thresholds(config)["longctx_signals"]
    assert t["coh_ppl_ratio"] == star["max_coh_ppl_ratio"] and t["digit_rate"] == star["max_digit_rate"]
    assert "doc_perplexity" not in t        # only set for */en and */zh, not the default selector


# ---- bad input: a 50 MB document -------------------------------------------------------------------------
_HUGE = r"""
import resource, sys, time
sys.path.insert(0, "tests")
from test_longctx import coherent_doc
from corpusmill.udfs.longctx.causal_lm import CausalLMSpec, get_scorer
sc = get_scorer(CausalLMSpec(sys.argv[1], chunk_tokens=256, target_tokens=64, short_context_tokens=64,
                             stride_tokens=64, max_chunks=32, threads=1))
sc.score_texts(["warm up " * 2000])
base = coherent_doc("en", 9, min_bytes=500_000)
text = (base + "\n") * 100                       # 50 MB
text += "y" * 1_000_000                          # and a 1 MB line without spaces at the end
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
res = sc.score_texts([text, "z" * 3_000_000])[0]
print(len(text), res.n_chunks, res.n_tokens, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      time.perf_counter() - t0)
"""


@pytest.mark.slow
def test_50mb_document_is_bounded(tiny_lm):
    """Only the tokens max_chunks chunks reach are tokenized and scored: peak memory grows by far less
    than the text's size (a subprocess, so ru_maxrss is this scorer's own)."""
    from conftest import ROOT

    out = subprocess.run([sys.executable, "-c", _HUGE, tiny_lm], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    n_chars, n_chunks, n_tokens, before_kb, after_kb, _seconds = out.stdout.split()
    assert int(n_chars) > 50_000_000 and int(n_chunks) == 32
    assert int(n_tokens) == 31 * 64 + 256                      # what 32 chunks with stride 64 need, no more
    assert (int(after_kb) - int(before_kb)) * 1024 < 0.2 * int(n_chars)


# ---- train-causal-lm -------------------------------------------------------------------------------------------
def test_cli_trains_a_standard_hf_directory_deterministically(tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    txt = tmp_path / "ref.txt"
    txt.write_text("\n".join(causal_lm_text(["en", "zh"], 4, 1)) + "\n")
    args = ["train-causal-lm", "--text", str(txt), "--steps", "6", "--set", f"storage.root={tmp_path}",
            *[f"--set=longctx.causal_lm.{k}={getattr(TINY, k)}" for k in ("vocab_size", "hidden", "heads",
                                                                         "positions", "batch_size", "threads")]]
    assert cli.main(args) == 0
    meta = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = tmp_path / "models" / "causal-lm"
    assert meta["out"] == str(out) and meta["steps"] == 6 and meta["vocab"] <= 400 and meta["layers"] == 2
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    assert model.config.max_position_embeddings == 256 and model.config.num_hidden_layers == 2
    text = "长文本 and long text, übergroß"                      # byte-level BPE: any script round-trips
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    # same seed, same reference text: the same weights
    assert cli.main([*args, "--out", str(tmp_path / "again")]) == 0
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "again", local_files_only=True)
    import torch

    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_cli_bad_reference_input(tmp_path, capsys):
    rc = cli.main(["train-causal-lm", "--text", str(tmp_path / "none.txt"), "--set", f"storage.root={tmp_path}"])
    assert rc == 2 and "none.txt not found" in capsys.readouterr().err
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one line\n")
    rc = cli.main(["train-causal-lm", "--text", str(tiny), "--set", f"storage.root={tmp_path}"])
    assert rc == 1 and "need more" in capsys.readouterr().err
    assert not (tmp_path / "models" / "causal-lm").exists()


def test_the_demo_builds_the_default_causal_lm_once(config_factory, lc_models, tmp_path):
    config = config_factory(f"longctx.models_dir={lc_models}", "demo.causal_lm.steps=3",
                            "demo.causal_lm.docs=3", "demo.causal_lm.hidden=32")
    demo_assets.build_longctx_models(config)
    d = tmp_path / "models" / "causal-lm"
    meta = json.loads((d / "meta.json").read_text())
    assert meta["steps"] == 3 and meta["hidden"] == 32 and meta["positions"] == 256 and "causal_lm_text" in meta["source"]
    mtime = os.stat(d / "model.safetensors").st_mtime
    demo_assets.build_longctx_models(config)
    assert os.stat(d / "model.safetensors").st_mtime == mtime
    longctx.check_models(config)                                # the default path now resolves
