"""The safety stage through Spark: blocklists, word lists and a real (tiny) fine-tuned classifier."""
from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import pytest
from conftest import ut1_adult
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.schemas import documents, rejected, safe, safety_signals
from corpusmill.schemas.base import assert_matches

BIG = ("Plain words about gardening and weather. " * 26000)[:1_000_000]


def tiny_classifier(base) -> str:
    """One tiny model (labels toxic / clean) fine-tuned once per session, reused by every stage test.

    $CORPUSMILL_TEST_CLASSIFIER names a directory to keep it in across sessions (trained there if empty).
    """
    out = Path(os.environ.get("CORPUSMILL_TEST_CLASSIFIER") or base / "tiny-classifier")
    if not (out / "heads.json").exists():
        from corpusmill.jobs.training.train_classifier import train_from_records
        from corpusmill.samplegen import crawl as samplegen

        train_from_records(samplegen.classifier_examples("toxicity", 0, 24), str(out), epochs=1, max_length=32,
                           seed=0, batch_size=8)
    return str(out)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return tiny_classifier(tmp_path_factory.getbasetemp())


def doc(doc_id, url, text, language="en", dump="CC-MAIN-2024-10"):
    from corpusmill.udfs.safety.domains import host_of

    return dict(doc_id=doc_id, dump=dump, source_type="web", url=url, host=host_of(url) or None, domain=None,
                fetch_date=dt.datetime(2024, 3, 1), title=None, text=text,
                text_bytes=len(text.encode()) if text is not None else 0, language=language,
                language_pct=99.0, language_reliable=True, source_file="in.warc.gz", source_record=doc_id)


DOCS = [
    doc("clean", "https://news.example.org/a", "The council approved the new library budget on Tuesday."),
    doc("domain", "https://www.hot-xxx.net/videos/1", "Nothing bad in the text itself."),
    doc("parent", "https://cdn.img.hot-xxx.net/x.jpg", "Still nothing bad."),
    doc("urlprefix", "https://mixed-site.com/adult/gallery?id=3", "A gallery page."),
    doc("urlother", "https://mixed-site.com/adulthood-essay", "An essay about growing up."),
    doc("words", "https://blog.example.com/1",
        "Free porn, xxx videos and nude cams all night: porn porn xxx. More nude cams here."),
    doc("oneword", "https://health.example.com/2",
        "A long public-health article about clinics and education, mentioning porn once. " + "Fine text. " * 40),
    doc("zhwords", "https://luntan.example.cn/3", "免费看色情电影，裸聊直播，成人视频，色情图片天天更新。", "zh"),
    doc("zhclean", "https://xinwen.example.cn/4", "今天市政府公布了新的图书馆预算，市民普遍表示欢迎。", "zh"),
    doc("empty", "https://empty.example.org/", "", "en"),
    doc("control", "https://ctl.example.org/", "Bell\x07 and\x00 null\x1b[31m porn\x0b xxx\x0c nude cams", "en"),
    doc("big", "https://big.example.org/", BIG, "en"),
    doc("nolang", None, "Text without url or language.", None),
    doc("french", "https://journal.example.fr/5", "Le conseil a voté le budget de la bibliothèque.", "fr"),
]


@pytest.fixture
def lists(tmp_path):
    ut1 = ut1_adult(tmp_path / "lists" / "ut1")
    words = tmp_path / "lists" / "words"
    words.mkdir()
    (words / "en").write_text("porn\nxxx\nnude cams\n")
    (words / "zh").write_text("色情\n裸聊\n成人视频\n")
    return ut1, words


def safety_config(config_factory, lists, model, *extra):
    ut1, words = lists
    return config_factory(
        f"safety.domain_lists=[{{path: {ut1}}}]", f"safety.word_lists=[{words}]",
        f"safety.toxicity.model={model}", f"safety.pornography.model={model}",
        'safety.toxicity.head=""', 'safety.pornography.head=""',        # the tiny model's only head
        "safety.toxicity_label=toxic", "safety.pornography_label=toxic",
        "safety.toxicity.max_length=32", "safety.pornography.max_length=32",
        "safety.toxicity.strategy=head", "safety.pornography.strategy=chunk_max",
        # classifiers decide only where confident (default) or, for French, always: exercises the override
        "safety.thresholds.default.toxicity=0.999", "safety.thresholds.default.pornography=0.999",
        "safety.thresholds.fr={toxicity: 0.0}", *extra)


def write_docs(spark, config, rows=DOCS):
    df = spark.createDataFrame(rows, schema=documents.SCHEMA)
    tableio.write_table(spark, config, documents.TABLE, df)


def by_id(df, key="doc_id"):
    return {r[key]: r for r in df.collect()}


@pytest.mark.slow
def test_safety_stage_end_to_end(spark, config_factory, lists, tiny_model):
    from corpusmill.jobs.stages import safety
    from corpusmill.udfs.classifiers.classify import ClassifierSpec, get_scorer

    config = safety_config(config_factory, lists, tiny_model, "safety.pornography.cascade=false",
                           "safety.pornography.runtime=torch")      # fp32: the same numbers in any batch
    write_docs(spark, config)
    result = safety.run(spark, config)
    assert result.status == "success"
    assert (result.rows_in, result.rows_out + result.rows_rejected) == (len(DOCS), len(DOCS))

    sig_df = tableio.read_table(spark, config, "safety_signals")
    assert_matches(sig_df.schema, safety_signals.TABLE)
    sig = by_id(sig_df)
    assert set(sig) == {d["doc_id"] for d in DOCS}

    # blocklists: kind, category and entry are signals; the reason names the category
    assert (sig["domain"].block_kind, sig["domain"].block_category, sig["domain"].block_match) == ("domain", "adult", "hot-xxx.net")
    assert sig["parent"].block_match == "hot-xxx.net"
    assert (sig["urlprefix"].block_kind, sig["urlprefix"].block_match) == ("url", "mixed-site.com/adult")
    assert sig["urlother"].block_kind is None
    assert sig["domain"].reasons[0] == "domain_blocklist:adult" and sig["urlprefix"].reasons[0] == "url_blocklist:adult"

    # words: dense + several distinct terms drops; one mention does not
    w = sig["words"]
    assert (w.word_hits, w.word_distinct, w.word_terms) == (7, 3, ["nude cams", "porn", "xxx"])
    assert "word_blocklist" in w.reasons
    assert sig["oneword"].word_hits == 1 and "word_blocklist" not in sig["oneword"].reasons
    assert sig["zhwords"].word_distinct == 3 and "word_blocklist" in sig["zhwords"].reasons
    assert sig["zhclean"].word_hits == 0
    assert sig["control"].word_distinct == 3                       # control characters act as spaces
    assert sig["empty"].word_hits == 0 and sig["big"].word_hits == 0
    assert sig["nolang"].word_hits == 0 and sig["nolang"].block_kind is None

    # classifiers: the stored probabilities are the real models', for every document incl. empty / 1 MB;
    # toxicity through the cascade (the deciding model's score), pornography with the cascade off
    scorer = get_scorer(ClassifierSpec(model=tiny_model, head="", strategy="chunk_max", max_length=32, batch_size=32,
                                       device="auto", precision="auto", sort_by_length=True, max_chunks=16,
                                       threads=0, runtime="torch", cascade=True, band=[]))
    want = scorer.score([DOCS[0]["text"], DOCS[1]["text"]])
    assert sig["clean"].p_pornography == pytest.approx(want[0]["toxic"], abs=1e-4)
    assert sig["domain"].p_pornography == pytest.approx(want[1]["toxic"], abs=1e-4)
    for r in sig.values():
        assert 0.0 <= r.p_toxicity <= 1.0 and 0.0 <= r.p_pornography <= 1.0 and math.isfinite(r.p_toxicity)
        assert r.pornography_decided_by == "bert" and r.p_pornography_cheap is None
        assert r.toxicity_decided_by in ("cheap", "bert") and r.p_toxicity_cheap is not None
        assert r.p_toxicity == (r.p_toxicity_bert if r.toxicity_decided_by == "bert" else r.p_toxicity_cheap)
    # thresholds: the French override (toxicity >= 0.0) always fires, the default (0.999) only when confident
    assert "toxicity" in sig["french"].reasons
    for r in sig.values():
        assert ("toxicity" in r.reasons) == (r.language == "fr" or r.p_toxicity >= 0.999)
        assert r.keep == (len(r.reasons) == 0)

    # outputs: safe = kept rows with the documents columns; rejected = the others with their reason
    safe_df = tableio.read_table(spark, config, "safe")
    assert_matches(safe_df.schema, safe.TABLE)
    kept = {k for k, r in sig.items() if r.keep}
    assert {r.doc_id for r in safe_df.select("doc_id").collect()} == kept
    assert {"clean", "oneword", "zhclean", "empty", "big"} <= kept
    assert safe_df.where(F.col("doc_id") == "big").first().text == BIG
    rej = tableio.read_table(spark, config, "rejected").where(F.col("stage") == "safety")
    assert_matches(rej.schema, rejected.TABLE)
    rej_rows = by_id(rej)
    assert set(rej_rows) == set(sig) - kept
    assert rej_rows["domain"].reason == "domain_blocklist:adult"
    assert "match=hot-xxx.net" in rej_rows["domain"].detail
    assert rej_rows["domain"].source_record == "domain" and rej_rows["domain"].url == DOCS[1]["url"]
    assert rej_rows["words"].reason == "word_blocklist" and "words=nude cams,porn,xxx" in rej_rows["words"].detail

    runs = tableio.read_table(spark, config, "runs").where(F.col("stage") == "safety").first()
    assert runs.rows_in == runs.rows_out + runs.rows_rejected == len(DOCS)
    # same inputs, lists, models and config: skipped
    assert safety.run(spark, config).status == "skipped"


@pytest.mark.slow
def test_join_lookup_gives_the_same_signals(spark, config_factory, lists, tiny_model):
    from corpusmill.jobs.stages import safety

    config = safety_config(config_factory, lists, tiny_model, "safety.domain_lookup=join",
                           "safety.thresholds.default.toxicity=2.0", "safety.thresholds.default.pornography=2.0")
    write_docs(spark, config, DOCS[:6])
    safety.run(spark, config)
    sig = by_id(tableio.read_table(spark, config, "safety_signals"))
    assert {k: (r.block_kind, r.block_category, r.block_match) for k, r in sig.items()} == {
        "clean": (None, None, None), "domain": ("domain", "adult", "hot-xxx.net"),
        "parent": ("domain", "adult", "hot-xxx.net"), "urlprefix": ("url", "adult", "mixed-site.com/adult"),
        "urlother": (None, None, None), "words": (None, None, None)}


def test_missing_model_fails_before_any_spark_job(spark, config_factory, lists, tiny_model, tmp_path):
    from corpusmill.jobs.stages import safety

    config = safety_config(config_factory, lists, tiny_model, f"safety.pornography.model={tmp_path / 'no-such-model'}")
    write_docs(spark, config, DOCS[:2])
    sc = spark.sparkContext
    sc.setJobGroup("probe-missing-model", "probe")
    try:
        with pytest.raises(ConfigError, match=r"safety\.pornography\.model: model directory .*no-such-model not found"):
            safety.run(spark, config)
        assert list(sc.statusTracker().getJobIdsForGroup("probe-missing-model")) == []
    finally:
        sc.setJobGroup("corpusmill", "corpusmill")


def test_config_errors_name_the_key(spark, config_factory, lists, tiny_model, tmp_path):
    from corpusmill.jobs.stages import safety

    bad = [
        (("safety.toxicity_label=hateful",), r"safety\.toxicity_label: label 'hateful' is not one of"),
        ((f"safety.word_lists=[{tmp_path / 'nowords'}]",), r"safety\.word_lists\[0\]: path .* does not exist"),
        ((f"safety.domain_lists=[{{path: {tmp_path / 'nolist'}}}]",), r"safety\.domain_lists\[0\]\.path"),
        (("safety.domain_lookup=magic",), r"safety\.domain_lookup"),
        (("safety.thresholds={zh: {toxicity: 0.5}}",), r"safety\.thresholds\.default"),
    ]
    for overrides, pattern in bad:
        with pytest.raises(ConfigError, match=pattern):     # a bad value fails when the config loads
            safety.check(safety_config(config_factory, lists, tiny_model, *overrides))


def test_real_lists_through_the_stage(spark, config_factory, shared_data, tiny_model):
    """UT1 folders, the UT1-derived top-1M adult list, LDNOOBW and the Chinese lexicon, as configured by a user."""
    from corpusmill.jobs.stages import safety

    config = config_factory(
        f"safety.domain_lists=[{{path: {shared_data / 'ut1-blacklists-partial'}}}, "
        f"{{path: {shared_data / 'ut1-adult-top1m-chadmayfield' / 'pi_blocklist_porn_top1m.list'}, category: adult}}]",
        f"safety.word_lists=[{shared_data / 'ldnoobw'}, zh={shared_data / 'zh-sensitive-lexicon' / 'porn_words_seqing_ciku.txt'}]",
        f"safety.toxicity.model={tiny_model}", f"safety.pornography.model={tiny_model}",
        'safety.toxicity.head=""', 'safety.pornography.head=""',
        "safety.toxicity_label=toxic", "safety.pornography_label=toxic",
        "safety.toxicity.max_length=32", "safety.pornography.max_length=32",
        "safety.thresholds.default.toxicity=2.0", "safety.thresholds.default.pornography=2.0")
    rows = [
        doc("ph", "https://www.pornhub.com/view_video.php?viewkey=1", "A video page."),
        doc("casino", "https://0-casino.info/", "Casino page."),
        doc("sexed", "https://www.sexualeducation.example/", "Sexual education is not blocked by the domain lists."),
        doc("urls", "https://020sextoy.com/sk/catalog", "Shop."),
        doc("en", "https://blog.example.com/", "Hot xxx porn: nude blowjob, hardcore anal and milf videos. " * 3),
        doc("zh", "https://luntan.example.cn/", "免费看三级片，全裸美女，色情电影，成人游戏，天天更新。", "zh"),
        doc("wiki", "https://wiki.example.org/", "The sexual reproduction of plants involves pollen.", "en"),
    ]
    write_docs(spark, config, rows)
    safety.run(spark, config)
    sig = by_id(tableio.read_table(spark, config, "safety_signals"))
    assert sig["ph"].reasons == ["domain_blocklist:adult"] and sig["ph"].block_match == "pornhub.com"
    assert sig["casino"].reasons == ["domain_blocklist:gambling"]
    assert sig["urls"].reasons == ["url_blocklist:adult"]
    assert sig["sexed"].keep
    assert sig["en"].reasons == ["word_blocklist"] and sig["en"].word_distinct >= 5
    assert sig["zh"].reasons == ["word_blocklist"]
    assert sig["wiki"].keep and sig["wiki"].word_hits <= 1
