"""Table I/O and stage bookkeeping on the real engine (Spark + Delta)."""
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.stage import Counts, fingerprint_tables, run_stage
from corpusmill.schemas import documents, rejected, runs
from corpusmill.schemas.base import assert_matches


def _docs(spark, n, dump="CC-MAIN-2024-10"):
    rows = [dict(doc_id=f"{i:032x}", dump=dump, source_type="web", url=f"https://e.com/{i}", host="e.com",
                 domain="e.com", fetch_date=None, title=None, text=f"text {i}", text_bytes=6, language="en",
                 language_pct=99.0, language_reliable=True, source_file="f", source_record=str(i))
            for i in range(n)]
    return spark.createDataFrame(rows, documents.SCHEMA)


def test_write_read_schema_and_versions(spark, config):
    v0 = tableio.write_table(spark, config, documents.TABLE, _docs(spark, 5))
    v1 = tableio.write_table(spark, config, documents.TABLE, _docs(spark, 3))
    assert (v0, v1) == (0, 1)
    back = tableio.read_table(spark, config, "documents")
    assert_matches(back.schema, documents.TABLE)
    assert back.count() == 3
    assert tableio.read_table(spark, config, "documents", version=0).count() == 5  # previous version readable
    assert tableio.last_write_rows(spark, config, "documents") == 3


@pytest.mark.slow
def test_versions_and_counts_come_from_the_commit_files(spark, config):
    """table_version and the stage's counts read the newest commit file, no scan: right across a
    checkpoint (every 10th commit), for a replaceWhere that writes nothing, and for a whole-table write."""
    from corpusmill.jobs.core.stage import StageRun

    for i in range(12):
        v = tableio.write_table(spark, config, documents.TABLE, _docs(spark, i + 1))
        assert v == i == tableio.table_version(spark, config, "documents")
    log_dir = Path(config.table_path("documents").removeprefix("file:")) / "_delta_log"
    assert (log_dir / "00000000000000000010.checkpoint.parquet").exists()
    assert tableio.last_write_rows(spark, config, "documents") == 12
    ctx = StageRun(spark, config, "demo", "run-1")
    docs = tableio.read_table(spark, config, "documents")
    assert ctx.write_rejected(docs.where("text_bytes > 6").select("doc_id", F.lit("r").alias("reason"))) == 0
    assert ctx.write_rejected(docs.limit(4).select("doc_id", F.lit("r").alias("reason"))) == 4
    assert ctx.write_rejected(docs.where("text_bytes > 6").select("doc_id", F.lit("r").alias("reason"))) == 0
    assert tableio.read_table(spark, config, "rejected").where("stage = 'demo'").count() == 0
    ctx.write_rejected(docs.limit(3).select("doc_id", F.lit("r").alias("reason")))
    other = StageRun(spark, config, "other", "run-1")     # no rows before, none now: Delta commits nothing
    before = tableio.table_version(spark, config, "rejected")
    assert other.write_rejected(docs.where("text_bytes > 6").select("doc_id", F.lit("r").alias("reason"))) == 0
    assert tableio.table_version(spark, config, "rejected") == before and tableio.last_write_rows(
        spark, config, "rejected") == 3                    # the newest commit is the other stage's write
    ctx.write_output(documents.TABLE, _docs(spark, 7))
    assert ctx.rows_written("documents") == 7
    assert tableio.table_version(spark, config, "missing") is None


def test_conform_rejects_missing_and_extra_columns(spark, config):
    with pytest.raises(tableio.SchemaMismatch, match="missing columns"):
        tableio.write_table(spark, config, documents.TABLE, _docs(spark, 1).drop("url"))
    with pytest.raises(tableio.SchemaMismatch, match="unexpected columns"):
        tableio.write_table(spark, config, documents.TABLE, _docs(spark, 1).withColumn("x", F.lit(1)))


def test_parquet_format_selectable(spark, config_factory):
    cfg = config_factory("storage.table_format=parquet")
    tableio.write_table(spark, cfg, documents.TABLE, _docs(spark, 4))
    assert tableio.table_exists(spark, cfg, "documents")
    assert tableio.read_table(spark, cfg, "documents").count() == 4


def test_run_stage_records_skips_and_replaces_rejected(spark, config):
    tableio.write_table(spark, config, documents.TABLE, _docs(spark, 6))
    calls = []

    def body(ctx):
        calls.append(1)
        df = tableio.read_table(spark, config, "documents")
        ctx.write_rejected(df.where("cast(source_record as int) < 2")
                           .select("doc_id", "url", "dump", F.lit("too_small").alias("reason")))
        return Counts(6, 4, 2)

    fp = fingerprint_tables(spark, config, ["documents"])
    r1 = run_stage(spark, config, "demo", inputs=["documents"], input_fingerprint=fp, body=body)
    r2 = run_stage(spark, config, "demo", inputs=["documents"], input_fingerprint=fp, body=body)
    r3 = run_stage(spark, config, "demo", inputs=["documents"], input_fingerprint=fp, body=body, force=True)
    assert [r1.status, r2.status, r3.status] == ["success", "skipped", "success"]
    assert len(calls) == 2
    rej = tableio.read_table(spark, config, "rejected")
    assert_matches(rej.schema, rejected.TABLE)
    assert rej.where("stage = 'demo'").count() == 2          # replaced, not appended, on the forced re-run
    log = tableio.read_table(spark, config, "runs")
    assert_matches(log.schema, runs.TABLE)
    assert log.where("status = 'success'").count() == 2


def test_failed_stage_is_recorded_and_raises(spark, config):
    def body(ctx):
        raise RuntimeError("boom\nsecond line")

    with pytest.raises(RuntimeError):
        run_stage(spark, config, "demo", inputs=[], input_fingerprint="x", body=body)
    row = tableio.read_table(spark, config, "runs").first()
    assert row.status == "failed" and row.error == "RuntimeError: boom"
