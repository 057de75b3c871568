"""The quality stage through Spark after safety: classifier signals, per-language thresholds, `pretrain`."""
from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from test_safety import lists, safety_config, tiny_classifier, write_docs  # noqa: F401 (fixture)

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.schemas import pretrain, quality_signals
from corpusmill.schemas.base import assert_matches


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return tiny_classifier(tmp_path_factory.getbasetemp())   # the same directory test_safety trains once


def quality_overrides(model, *extra):
    return (f"quality.advertisement.model={model}", f"quality.fluency.model={model}",
            'quality.advertisement.head=""', 'quality.fluency.head=""',
            "quality.advertisement_label=toxic", "quality.disfluent_label=clean",
            "quality.advertisement.max_length=32", "quality.fluency.max_length=32",
            "quality.fluency.strategy=chunk_mean", *extra)


@pytest.mark.slow
def test_quality_after_safety_writes_pretrain(spark, config_factory, lists, tiny_model):
    from corpusmill.jobs.pipeline import run_pipeline
    from corpusmill.jobs.stages import quality, safety

    config = safety_config(config_factory, lists, tiny_model, *quality_overrides(
        tiny_model, "quality.thresholds.default.advertisement=0.999", "quality.thresholds.default.disfluent=0.999",
        "quality.thresholds.zh={disfluent: 0.0}"))
    write_docs(spark, config)
    results = run_pipeline(spark, config, ["safety", "quality"])
    assert [r.status for r in results] == ["success", "success"]
    s_res, q_res = results
    assert q_res.rows_in == s_res.rows_out
    assert q_res.rows_in == q_res.rows_out + q_res.rows_rejected

    sig = {r.doc_id: r for r in tableio.read_table(spark, config, "quality_signals").collect()}
    assert_matches(tableio.read_table(spark, config, "quality_signals").schema, quality_signals.TABLE)
    safe_ids = {r.doc_id for r in tableio.read_table(spark, config, "safe").select("doc_id").collect()}
    assert set(sig) == safe_ids
    for r in sig.values():
        assert 0.0 <= r.p_advertisement <= 1.0 and 0.0 <= r.p_disfluent <= 1.0
        assert ("disfluent" in r.reasons) == (r.language == "zh" or r.p_disfluent >= 0.999)
        assert ("advertisement" in r.reasons) == (r.p_advertisement >= 0.999)
        assert r.keep == (not r.reasons)
    assert "disfluent" in sig["zhclean"].reasons               # the zh override fires

    pre = tableio.read_table(spark, config, "pretrain")
    assert_matches(pre.schema, pretrain.TABLE)
    assert {r.doc_id for r in pre.select("doc_id").collect()} == {k for k, r in sig.items() if r.keep}
    assert "clean" in {r.doc_id for r in pre.select("doc_id").collect()}
    rej = {r.doc_id: r for r in tableio.read_table(spark, config, "rejected").where(F.col("stage") == "quality").collect()}
    assert set(rej) == {k for k, r in sig.items() if not r.keep}
    assert rej["zhclean"].reason == "disfluent" and "p_disfluent=" in rej["zhclean"].detail
    # safety's rejected rows are still there: each stage replaces only its own partition
    assert tableio.read_table(spark, config, "rejected").where(F.col("stage") == "safety").count() == s_res.rows_rejected


def test_quality_checks_before_spark(spark, config_factory, lists, tiny_model, tmp_path):
    from corpusmill.jobs.stages import quality

    config = safety_config(config_factory, lists, tiny_model, *quality_overrides(tiny_model),
                           f"quality.fluency.model={tmp_path / 'gone'}")
    with pytest.raises(ConfigError, match=r"quality\.fluency\.model: model directory .*gone not found"):
        quality.run(spark, config)
    config = safety_config(config_factory, lists, tiny_model, *quality_overrides(tiny_model, "quality.disfluent_label=meh"))
    with pytest.raises(ConfigError, match=r"quality\.disfluent_label"):
        quality.check(config)
