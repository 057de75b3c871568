"""The `dedup` stage end to end on Spark + Delta: two dumps, keep rule, rejected, incremental, bad input."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.stages import dedup
from corpusmill.schemas import dedup as dedup_schema
from corpusmill.schemas import deduped as deduped_schema
from corpusmill.schemas import documents
from corpusmill.schemas import rejected as rejected_schema
from corpusmill.schemas.base import assert_matches
from corpusmill.udfs.dedup import evaluate as ev

OLD, NEW = "CC-MAIN-2023-06", "CC-MAIN-2024-10"


def _corpus():
    c = ev.generate(260, seed=31, dumps=(OLD, NEW), dup_share=0.45)
    rows = c.rows
    rng = random.Random(2)
    vocab = ev.vocabulary(20000, 31)
    # an old-dump document that later gets a shorter near copy in the new dump: the new one must win
    long_words = [rng.choice(vocab) for _ in range(400)]
    old = dict(rows[0], doc_id="1" * 32, dump=OLD, text=" ".join(long_words))
    new = dict(rows[0], doc_id="f" * 32, dump=NEW, text=" ".join(long_words[:390]))
    # exact copies after normalization (case, punctuation, digits), in both dumps
    ex = " ".join(rng.choice(vocab) for _ in range(120))
    exact = [dict(rows[0], doc_id=f"e{i}" + "0" * 30, dump=d, text=t) for i, (d, t) in enumerate(
        [(OLD, ex + " 2019."), (NEW, ex.upper() + " 2024!"), (NEW, ex + " 2024")])]
    # bad inputs: empty, null, shorter than a shingle, a 3 MB document
    bad = [dict(rows[0], doc_id="b0" + "0" * 30, dump=OLD, text=""),
           dict(rows[0], doc_id="b1" + "0" * 30, dump=NEW, text=None),
           dict(rows[0], doc_id="b2" + "0" * 30, dump=NEW, text="two words"),
           dict(rows[0], doc_id="b3" + "0" * 30, dump=NEW,
                text=" ".join(rng.choice(vocab) for _ in range(400_000)))]
    for r in [old, new, *exact, *bad]:
        r["text_bytes"] = len((r["text"] or "").encode())
    return rows + [old, new] + exact + bad


def _write(spark, config, rows, mode="overwrite"):
    tableio.write_table(spark, config, documents.TABLE, spark.createDataFrame(rows, documents.SCHEMA), mode=mode)


def _dedup_rows(spark, config):
    return {r.doc_id: r for r in tableio.read_table(spark, config, "dedup").collect()}


@pytest.mark.slow
def test_two_dumps_incremental_keep_newest_rejected(spark, config, config_factory, tmp_path):
    rows = _corpus()
    fresh = config_factory(f"storage.root={tmp_path / 'fresh'}", "dedup.incremental=false")
    first = [r for r in rows if r["dump"] == OLD]
    second = [r for r in rows if r["dump"] == NEW]

    # run 1: the old dump only
    _write(spark, config, first)
    r1 = dedup.run(spark, config)
    assert r1.status == "success" and r1.rows_in == len(first)
    d1 = _dedup_rows(spark, config)
    assert not d1["1" * 32].is_duplicate

    # run 2: the new dump arrives; only its signatures are computed
    _write(spark, config, second, mode="append")
    r2 = dedup.run(spark, config)
    assert r2.status == "success"
    assert tableio.last_write_rows(spark, config, "minhash_signatures") == len(second)
    assert tableio.read_table(spark, config, "minhash_signatures").count() == len(rows)

    # counts add up; every table has exactly its schema
    assert r2.rows_in == len(rows) == r2.rows_out + r2.rows_rejected
    for t in (dedup_schema.TABLE, deduped_schema.TABLE, rejected_schema.TABLE):
        assert_matches(tableio.read_table(spark, config, t.name).schema, t)
    d = _dedup_rows(spark, config)
    assert set(d) == {r["doc_id"] for r in rows}
    by_id = {r["doc_id"]: r for r in rows}

    # keep rule: per cluster one kept document, from the newest dump present in the cluster
    clusters: dict[str, list] = {}
    for x in d.values():
        clusters.setdefault(x.cluster_id, []).append(x)
    for members in clusters.values():
        kept = [m for m in members if not m.is_duplicate]
        assert len(kept) == 1
        assert all(m.kept_doc_id == kept[0].doc_id and m.cluster_size == len(members) for m in members)
        assert kept[0].dump == max(m.dump for m in members)
        assert kept[0].kept_dump == kept[0].dump
    # the old long copy lost to the new shorter copy after the new dump arrived
    assert d["1" * 32].is_duplicate and d["1" * 32].kept_doc_id == "f" * 32
    assert d["1" * 32].duplicate_kind == "near"
    # exact copies: one kept (new dump, then the longer text, then smallest id), others exact_duplicate
    e = [d[f"e{i}" + "0" * 30] for i in range(3)]
    assert len({x.exact_hash for x in e}) == 1 and e[0].exact_size == 3
    kept_e = [x for x in e if not x.is_duplicate]
    assert [x.doc_id for x in kept_e] == ["e1" + "0" * 30]       # NEW; "2024!" upper-case copy is longest
    assert {x.duplicate_kind for x in e if x.is_duplicate} == {"exact"}
    # bad input: empty and null texts are exact copies of each other; short and huge docs are fine
    assert d["b2" + "0" * 30].num_shingles == 1 and not d["b2" + "0" * 30].is_duplicate
    assert d["b3" + "0" * 30].num_shingles == 400_000 - 4
    assert d["b0" + "0" * 30].num_shingles == 0 and d["b0" + "0" * 30].exact_hash == d["b1" + "0" * 30].exact_hash
    assert d["b0" + "0" * 30].is_duplicate != d["b1" + "0" * 30].is_duplicate

    # rejected: exactly the duplicates, with the kept document as detail
    rej = {r.doc_id: r for r in tableio.read_table(spark, config, "rejected").where("stage = 'dedup'").collect()}
    dups = {k for k, x in d.items() if x.is_duplicate}
    assert set(rej) == dups and len(rej) == r2.rows_rejected
    for k, r in rej.items():
        assert r.reason == f"{d[k].duplicate_kind}_duplicate" and r.detail == d[k].kept_doc_id
        assert r.dump == by_id[k]["dump"] and r.source_file == "generated"
    kept_ids = {r.doc_id for r in tableio.read_table(spark, config, "deduped").select("doc_id").collect()}
    assert kept_ids == set(d) - dups

    # accuracy vs brute force on this corpus (removed documents)
    gen = [r for r in rows if r["doc_id"] not in {"b0" + "0" * 30, "b1" + "0" * 30, "b3" + "0" * 30}]
    truth = ev.true_pairs(gen)
    s = ev.score(gen, truth, {k: d[k].cluster_id for k in by_id if k in {g["doc_id"] for g in gen}},
                 {k for k in dups if k in {g["doc_id"] for g in gen}})
    assert s.doc_precision >= 0.99 and s.doc_recall >= 0.95, s

    # a fresh, non-incremental run elsewhere gives the very same table (incremental == full; deterministic)
    _write(spark, fresh, rows)
    dedup.run(spark, fresh)
    assert _dedup_rows(spark, fresh) == d


@pytest.mark.slow
def test_thirty_thousand_boilerplate_documents_one_cluster(spark, config_factory):
    """Every document in every band's one bucket: the hot-bucket star edges keep it linear (all pairs
    would be 4.5e8 edges)."""
    config = config_factory("dedup.minhash.hot_bucket_size=1000")
    n = 30_000
    boiler = " ".join(f"footer{w} link" for w in "abcdefghijklmnopqrstuvwxyzabcdefghijklmn")
    letters = F.translate(F.col("id").cast("string"), "0123456789", "abcdefghij")
    df = (spark.range(n, numPartitions=4)
          .select(F.substring(F.sha1(F.col("id").cast("string")), 1, 32).alias("doc_id"),
                  F.when(F.col("id") % 2 == 0, F.lit(OLD)).otherwise(F.lit(NEW)).alias("dump"),
                  F.lit("web").alias("source_type"), F.lit(None).cast("string").alias("url"),
                  F.lit(None).cast("string").alias("host"), F.lit(None).cast("string").alias("domain"),
                  F.lit(None).cast("timestamp").alias("fetch_date"), F.lit(None).cast("string").alias("title"),
                  F.concat(F.lit(boiler + " "), letters).alias("text"),
                  F.lit(None).cast("long").alias("text_bytes"), F.lit("en").alias("language"),
                  F.lit(None).cast("float").alias("language_pct"), F.lit(None).cast("boolean").alias("language_reliable"),
                  F.lit("range").alias("source_file"), F.col("id").cast("string").alias("source_record")))
    tableio.write_table(spark, config, documents.TABLE, df.withColumn("text_bytes", F.length("text").cast("long")))
    r = dedup.run(spark, config)
    assert r.status == "success" and r.rows_in == n
    d = tableio.read_table(spark, config, "dedup")
    stats = d.agg(F.countDistinct("cluster_id").alias("clusters"), F.min("cluster_size").alias("size"),
                  F.sum(F.col("is_duplicate").cast("int")).alias("dups"),
                  F.countDistinct("kept_doc_id").alias("kept"), F.max("kept_dump").alias("kd")).first()
    assert (stats.clusters, stats.size, stats.dups, stats.kept, stats.kd) == (1, n, n - 1, 1, NEW)
    assert r.rows_out == 1 and r.rows_rejected == n - 1


def test_config_errors_name_the_key(config_factory):
    with pytest.raises(ConfigError, match="dedup.minhash.bands"):
        config_factory("dedup.minhash.bands=20", "dedup.minhash.rows=9")
    with pytest.raises(ConfigError, match=r"^bands: bands\*rows = 180"):     # built in code: relative to itself
        replace(config_factory().dedup.minhash, bands=20, rows=9)
    with pytest.raises(ConfigError, match="dedup.tokenizer"):
        config_factory("dedup.tokenizer=bpe")
    with pytest.raises(ConfigError, match="dedup.minhash.verify_method"):
        config_factory("dedup.minhash.verify_method=fuzzy")
