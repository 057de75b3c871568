"""The `longctx` stage through Spark + Delta with real SentencePiece/KenLM models trained here from the
project's generated reference text: length selection, signals, thresholds, counts, bad input."""
from __future__ import annotations

import datetime as dt
import hashlib
import random

import pytest
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.stages import longctx
from corpusmill.schemas import documents, longctx_signals, rejected, runs
from corpusmill.schemas import longctx as longctx_schema
from corpusmill.schemas.base import assert_matches

SMALL_COHERENCE = ["longctx.coherence.chunk_tokens=1024", "longctx.coherence.target_tokens=256",
                   "longctx.coherence.short_context_tokens=256", "longctx.coherence.stride_tokens=256"]


# ---- shared fixtures / builders (also imported by the other longctx test files) -------------------
@pytest.fixture(scope="session")
def lc_models(tmp_path_factory):
    """en + zh SentencePiece/KenLM models from samplegen.crawl reference text (a few seconds each)."""
    from corpusmill.jobs.tools.demo_assets import build_kenlm_models

    d = tmp_path_factory.mktemp("lc-models")
    build_kenlm_models(str(d), ["en", "zh"], n_sentences=3000, seed=0, vocab_size=1500)
    return str(d)


def gen_module(lang: str):
    from corpusmill.samplegen import en as samplegen_en
    from corpusmill.samplegen import zh as samplegen_zh

    return {"en": samplegen_en, "zh": samplegen_zh}[lang]


def coherent_doc(lang: str, seed: int, min_bytes: int = 34_000) -> str:
    """One generated article on one topic, grown until it is long (coherent long document)."""
    rng = random.Random(seed)
    mod = gen_module(lang)
    topic = rng.choice(mod.TOPIC_NAMES)
    paras: list[str] = []
    while len("\n".join(paras).encode()) < min_bytes:
        paras += mod.article(rng, topic=topic, paragraphs=(30, 40))["paragraphs"]
    return "\n".join(paras)


def shuffled_doc(lang: str, seed: int, min_bytes: int = 34_000) -> str:
    """Paragraphs of articles on many different topics, shuffled (concatenated unrelated fragments)."""
    rng = random.Random(10_000 + seed)
    mod = gen_module(lang)
    pool = [p for t in mod.TOPIC_NAMES for p in mod.article(rng, topic=t, paragraphs=(8, 10))["paragraphs"]]
    rng.shuffle(pool)
    out: list[str] = []
    for p in pool:
        out.append(p)
        if len("\n".join(out).encode()) >= min_bytes:
            break
    return "\n".join(out)


def number_table(seed: int, rows: int = 900) -> str:
    rng = random.Random(seed)
    return "\n".join(" | ".join(f"{rng.uniform(0, 1e5):.2f}" for _ in range(8)) for _ in range(rows))


def link_list(seed: int, rows: int = 900) -> str:
    rng = random.Random(seed)
    w = ["buy", "cheap", "best", "free", "online", "deals", "shop", "casino", "loans", "pills", "news", "hot"]
    return "\n".join(f"http://www.{rng.choice(w)}{rng.choice(w)}{rng.randint(1, 999)}.com/{rng.choice(w)}-"
                     f"{rng.choice(w)}.html" for _ in range(rows))


def log_lines(seed: int, rows: int = 500) -> str:
    rng = random.Random(seed)
    return "\n".join(f"2024-01-{rng.randint(1, 28):02d} 12:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} INFO "
                     f"[worker-{rng.randint(1, 8)}] request id={rng.randint(10**6, 10**7)} status=200 "
                     f"latency_ms={rng.randint(1, 900)}" for _ in range(rows))


def doc_row(name: str, text: str, lang: str, source_type: str = "web", dump: str = "CC-MAIN-2024-10") -> dict:
    return dict(doc_id=hashlib.sha1(name.encode()).hexdigest()[:32], dump=dump, source_type=source_type,
                url=f"https://example.org/{name}", host="example.org", domain="example.org",
                fetch_date=dt.datetime(2024, 3, 1), title=name, text=text, text_bytes=len(text.encode()),
                language=lang, language_pct=99.0, language_reliable=True, source_file="gen.jsonl",
                source_record=name)


def write_docs(spark, config, rows, table: str = "documents") -> None:
    from corpusmill.schemas.base import table as mk

    t = documents.TABLE if table == "documents" else mk(table, "test input", *documents.TABLE.columns,
                                                          partition_by=documents.TABLE.partition_by)
    tableio.write_table(spark, config, t, spark.createDataFrame(rows, documents.SCHEMA))


def cfg(config_factory, models_dir, *more):
    """These tests drive the KenLM + cache coherence scorer (tests/test_causal_lm.py: the causal LM)."""
    return config_factory(f"longctx.models_dir={models_dir}", "longctx.coherence.scorer=kenlm_cache",
                          *SMALL_COHERENCE, *more)


# ---- the stage end to end -----------------------------------------------------------------------------
@pytest.mark.slow
def test_stage_selects_long_coherent_documents_and_rejects_junk(spark, config_factory, lc_models):
    config = cfg(config_factory, lc_models)
    rows = [doc_row(f"en-coherent-{i}", coherent_doc("en", i), "en") for i in range(3)]
    rows += [doc_row("zh-coherent-0", coherent_doc("zh", 0), "zh")]
    rows += [doc_row("numbers", number_table(1), "en"), doc_row("links", link_list(2), "en"),
             doc_row("logs", log_lines(3), "en")]
    rows += [doc_row("short-en", coherent_doc("en", 9, min_bytes=2000)[:3000], "en")]       # not a candidate
    rows += [doc_row("german", coherent_doc("en", 7), "de")]                                # no model for de
    # bad input: blank paragraphs around prose, only whitespace, no language at all
    rows += [doc_row("blank-lines", "\n\n   \n" * 200 + coherent_doc("en", 8) + "\n\n\n\n", "en"),
             doc_row("only-space", " \n" * 17_000, "en"), doc_row("null-lang", coherent_doc("en", 6), None)]
    write_docs(spark, config, rows)

    res = longctx.run(spark, config)
    assert res.status == "success"
    sig = tableio.read_table(spark, config, "longctx_signals")
    assert_matches(sig.schema, longctx_signals.TABLE)
    out = tableio.read_table(spark, config, "longctx")
    assert_matches(out.schema, longctx_schema.TABLE)
    rej = tableio.read_table(spark, config, "rejected").where("stage = 'longctx'")
    assert_matches(rej.schema, rejected.TABLE)

    by_title = {r["doc_id"]: r for r in sig.collect()}
    names = {doc_row(r["title"], "", "")["doc_id"]: r["title"] for r in rows}
    got = {names[k]: v for k, v in by_title.items()}
    # length selection: the short document is not a candidate; every long one is
    assert "short-en" not in got and len(got) == len(rows) - 1
    assert res.rows_in == len(rows) - 1 == res.rows_out + res.rows_rejected
    kept = {names[r["doc_id"]] for r in out.collect()}
    assert kept == {"en-coherent-0", "en-coherent-1", "en-coherent-2", "zh-coherent-0", "blank-lines"}
    reasons = {names[r["doc_id"]]: r["reason"] for r in rej.collect()}
    assert set(reasons) == {"numbers", "links", "logs", "german", "only-space", "null-lang"}
    assert reasons["german"] == "no_lm_model" and got["german"]["lm_status"] == "no_model"
    assert got["only-space"]["lm_status"] == "empty" and got["only-space"]["reasons"] == ["no_lm_model"]
    assert got["null-lang"]["lm_status"] == "no_model" and reasons["null-lang"] == "no_lm_model"
    blank = got["blank-lines"]
    assert blank["lm_status"] == "ok" and blank["n_paragraphs"] == coherent_doc("en", 8).count("\n") + 1
    assert "max_digit_rate" in got["numbers"]["reasons"] and "max_pipe_rate" in got["numbers"]["reasons"]
    assert "min_connectives_per_kw" in got["links"]["reasons"]
    assert "max_doc_perplexity" in got["logs"]["reasons"]

    prose = got["en-coherent-0"]
    assert prose["lm_status"] == "ok" and prose["n_lm_tokens"] > 5000
    assert len(prose["para_perplexity"]) == prose["n_paragraphs"] > 30
    assert prose["doc_perplexity"] < got["numbers"]["doc_perplexity"] / 5
    assert prose["coh_n_chunks"] == len(prose["coh_chunk_ppl_with"]) > 3
    assert prose["coh_ppl_ratio"] < 1.0 and prose["coh_ppl_diff"] > 0
    assert prose["ppl_bucket"] in ("head", "middle", "tail") and prose["connectives_per_kw"] > 3
    assert got["zh-coherent-0"]["connectives_per_kw"] > 1 and got["zh-coherent-0"]["ppl_bucket"] is not None
    # the funnel in `runs`
    run = tableio.read_table(spark, config, "runs").where("stage = 'longctx'").collect()[-1]
    assert (run.rows_in, run.rows_out, run.rows_rejected) == (res.rows_in, res.rows_out, res.rows_rejected)
    # same input + config: skipped
    assert longctx.run(spark, config).status == "skipped"

    # the borderline view: per threshold, the documents nearest to the limit, with an excerpt
    bl = longctx.borderline(spark, config, n=2).collect()
    per = {}
    for r in bl:
        per.setdefault((r["threshold"], r["selector"]), []).append(r)
    assert ("max_digit_rate", "*") in per and ("max_doc_perplexity", "*/en") in per
    assert all(len(v) <= 2 for v in per.values())
    r = per[("max_digit_rate", "*")][0]
    assert r["excerpt"] and len(r["excerpt"]) <= 300 and r["limit"] == 0.25 and r["side"] in ("fails", "passes")
    dists = [x["distance"] for x in per[("max_doc_perplexity", "*/en")]]
    assert dists == sorted(dists) and len(dists) == 2


@pytest.mark.slow
def test_reads_latest_upstream_table_and_token_length_unit(spark, config_factory, lc_models):
    config = cfg(config_factory, lc_models, "longctx.length_unit=tokens", "longctx.min_length.*=6000")
    doc_a = coherent_doc("en", 21, min_bytes=40_000)       # > 6000 tokens
    doc_b = coherent_doc("en", 22, min_bytes=12_000)       # > 6000 bytes but < 6000 tokens
    write_docs(spark, config, [doc_row("old", doc_a, "en")], "documents")
    write_docs(spark, config, [doc_row("a", doc_a, "en"), doc_row("b", doc_b, "en")], "safe")
    res = longctx.run(spark, config)
    sig = tableio.read_table(spark, config, "longctx_signals").collect()
    assert [r["doc_id"] for r in sig] == [doc_row("a", "", "")["doc_id"]]   # read `safe`, token length
    assert sig[0]["n_lm_tokens"] >= 6000
    assert res.rows_in == 1 and res.rows_out + res.rows_rejected == 1


def test_thresholds_per_source_type_and_language(spark, config_factory, lc_models):
    config = cfg(config_factory, lc_models, "longctx.min_length.*=1000",
                 "longctx.min_length.book=100000",                       # books must be longer
                 "longctx.thresholds.web/en={min_n_words: 1000000}",      # impossible for web/en only
                 "longctx.thresholds.*/en={min_connectives_per_kw: 0.0, max_doc_perplexity: 100000.0}")
    text = coherent_doc("en", 31, min_bytes=5000)
    write_docs(spark, config, [doc_row("web", text, "en", "web"), doc_row("paper", text, "en", "paper"),
                               doc_row("book", text, "en", "book")])
    longctx.run(spark, config)
    sig = {r["source_type"]: r for r in tableio.read_table(spark, config, "longctx_signals").collect()}
    assert set(sig) == {"web", "paper"}                       # book under its own 100,000-byte length
    assert sig["web"]["reasons"] == ["min_n_words"] and "[web/en]" in sig["web"]["reason_detail"]
    assert sig["paper"]["keep"] and sig["paper"]["reasons"] == []


# ---- bad input ----------------------------------------------------------------------------------------
def test_missing_model_is_one_config_error_before_the_job(spark, config_factory, tmp_path):
    config = config_factory(f"longctx.models_dir={tmp_path / 'nowhere'}")
    write_docs(spark, config, [doc_row("x", "text " * 10000, "en")])
    with pytest.raises(ConfigError, match=r"longctx.languages: no KenLM model for en, zh in .*nowhere: build each with `corpusmill train-lm"):
        longctx.run(spark, config)
    assert not tableio.table_exists(spark, config, "runs")


@pytest.mark.parametrize("override, key", [
    ("longctx.thresholds.*={max_nonsense: 1}", "longctx.thresholds.*.max_nonsense"),
    ("longctx.length_unit=lines", "longctx.length_unit"),
    ("longctx.thresholds.web/={max_digit_rate: 1}", "longctx.thresholds.web/"),
    ("longctx.coherence.chunk_tokens=100", "longctx.coherence.chunk_tokens"),
])
def test_bad_config_names_the_key(config_factory, override, key):
    with pytest.raises(ConfigError) as e:
        config_factory(override)
    assert str(e.value).startswith(key)


@pytest.mark.slow
def test_huge_document_is_scored_with_bounded_memory(lc_models):
    """A 4 MB single document (no Spark, so the memory measured is the scorer's own): streaming
    paragraphs and one coherence chunk at a time keep peak memory far below the text's size x 10."""
    import tracemalloc

    from corpusmill.udfs.longctx.stats import SignalParams, document_signals

    base = coherent_doc("en", 61, min_bytes=200_000)
    text = (base + "\n") * 20 + "x" * 100_000            # 4 MB, ends in a 100 kB line without spaces
    params = SignalParams(lc_models, ("en",), max_chunks=4)
    tracemalloc.start()
    sig = document_signals(text, "en", params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sig["lm_status"] == "ok" and sig["coh_n_chunks"] == 4
    assert len(sig["para_perplexity"]) == 4096 < sig["n_paragraphs"]
    assert peak < 3 * len(text)


def test_demo_models_and_the_demo_long_documents(spark, config_factory, demo_store):
    """The demo builds en/zh KenLM models and the causal LM from samplegen.crawl text; with them and the
    default config (4,096-token coherence chunks, default thresholds) the demo's long stories are kept
    and its incoherent dumps (fragments + logs + number tables) are rejected."""
    from corpusmill.samplegen import kinds as K
    from corpusmill.samplegen.grammar import rng_for
    from corpusmill.udfs.longctx.perplexity import has_model

    models = demo_store[0] / "models"
    config = config_factory(f"longctx.models_dir={models / 'kenlm'}", f"longctx.coherence.model={models / 'causal-lm'}")
    assert has_model(str(models / "kenlm"), "en") and has_model(str(models / "kenlm"), "zh")
    rows = []
    for lang in ("en", "zh"):
        for i in range(2):
            rows.append(doc_row(f"story-{lang}-{i}", "\n".join(K.long_story(rng_for("t", lang, i), lang)["paragraphs"]), lang))
            rows.append(doc_row(f"dump-{lang}-{i}", "\n".join(K.long_incoherent(rng_for("t", lang, i), lang)["paragraphs"]), lang))
    write_docs(spark, config, rows)
    res = longctx.run(spark, config)
    assert res.rows_in == 8 and res.rows_out == 4 and res.rows_rejected == 4
    kept = {r["title"] for r in tableio.read_table(spark, config, "longctx").collect()}
    assert kept == {"story-en-0", "story-en-1", "story-zh-0", "story-zh-1"}
    sig = {r["doc_id"]: r for r in tableio.read_table(spark, config, "longctx_signals").collect()}
    stories = [sig[doc_row(n, "", "")["doc_id"]] for n in sorted(kept)]
    assert all(s["coh_n_chunks"] >= 1 and s["coh_ppl_ratio"] < 1.0 for s in stories)
