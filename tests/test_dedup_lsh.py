"""udfs.dedup.lsh on Spark: star edges for hot buckets, large/small-star components, accuracy vs brute force."""
from __future__ import annotations

import random

import pytest
from pyspark.sql import functions as F

from corpusmill.schemas import documents
from corpusmill.udfs.dedup import evaluate as ev
from corpusmill.udfs.dedup import lsh

# the `dedup.minhash` knobs these tests do not vary; bands = rows = 0: the FP/FN-optimal split
PARAMS = dict(num_perm=128, ngram=5, threshold=0.7, bands=0, rows=0, seed=42, verify=True, verify_method="exact",
              exact_margin=0.15, fp_weight=0.5, fn_weight=0.5, hot_bucket_size=1000, max_iterations=64,
              lowercase=True, strip_punct=True, digits_to_zero=True)


def _params(**changes) -> lsh.MinHashParams:
    return lsh.MinHashParams(**{**PARAMS, **changes})


def _sigs(spark, rows):
    return spark.createDataFrame(rows, "doc_id string, bands array<bigint>")


@pytest.mark.parametrize("broadcast_buckets", [2_000_000, 0], ids=["broadcast", "shuffle"])
def test_hot_buckets_get_star_edges_never_all_pairs(spark, monkeypatch, broadcast_buckets):
    """Same star edges whether the multi-member buckets are broadcast or (past the limit) shuffled."""
    monkeypatch.setattr(lsh, "_BROADCAST_BUCKETS", broadcast_buckets)
    n = 3000
    ids = [f"d{i:05d}" for i in range(n)]
    # band 0: one bucket of all 3000 (hot); band 1: 30 buckets of 100 (hot at size 50); band 2: pairs
    rows = [(d, [7, i % 30, i // 2]) for i, d in enumerate(ids)]
    edges = lsh.candidate_edges(_sigs(spark, rows), id_col="doc_id", hot_bucket_size=50).collect()
    got = {(e.src, e.dst) for e in edges}
    assert len(got) == len(edges)                                    # distinct
    expected = {(d, "d00000") for d in ids[1:]}                      # band 0 star
    expected |= {(ids[i], ids[i % 30]) for i in range(30, n)}        # band 1 stars on each bucket's min
    expected |= {(ids[i], ids[i - 1]) for i in range(1, n, 2)}       # band 2 pairs
    assert got == expected
    assert len(got) < 3 * n                 # all pairs would be ~4.5M for band 0 alone


def test_hot_bucket_rows_never_shuffle_to_one_task(spark):
    """The hot bucket's members are joined against a broadcast list, so no shuffle touches them."""
    rows = [(f"d{i:04d}", [1]) for i in range(500)] + [(f"x{i:04d}", [10 + i // 2]) for i in range(20)]
    df = lsh.candidate_edges(_sigs(spark, rows), id_col="doc_id", hot_bucket_size=10)
    plan = df._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan
    assert df.where(F.col("dst") == "d0000").count() == 499


def test_connected_components_match_union_find(spark):
    rng = random.Random(4)
    nodes = [f"n{i:04d}" for i in range(400)]
    pairs = []
    chain = rng.sample(nodes, 60)           # a long path in random id order: needs several rounds
    pairs += list(zip(chain, chain[1:]))
    for _ in range(150):
        a, b = rng.sample(nodes, 2)
        pairs.append((a, b))
    edges = spark.createDataFrame(pairs, "src string, dst string")
    got = {r.node: r.component for r in lsh.connected_components(edges).collect()}
    want = ev.components(nodes, pairs)
    in_edges = {x for p in pairs for x in p}
    assert got == {k: v for k, v in want.items() if k in in_edges}
    again = {r.node: r.component for r in lsh.connected_components(edges.repartition(3)).collect()}
    assert again == got                    # deterministic, whatever the partitioning


@pytest.fixture(scope="module")
def corpus():
    c = ev.generate(900, seed=21, dup_share=0.45)
    return c, ev.true_pairs(c.rows)


@pytest.mark.parametrize("verify", ["exact", "exact_all", "signature", "off"])
def test_near_duplicate_clusters_vs_brute_force(spark, corpus, verify):
    c, truth = corpus
    df = spark.createDataFrame(c.rows, documents.SCHEMA)
    params = _params(bands=25, rows=5, verify=verify != "off",
                     verify_method="signature" if verify == "signature" else "exact",
                     exact_margin=1.0 if verify == "exact_all" else 0.15)
    out = lsh.near_duplicate_clusters(spark, df, id_col="doc_id", text_col="text", params=params)
    assert out.columns == ["doc_id", "cluster_id", "cluster_size"]
    rows = out.collect()
    assert len(rows) == len(c.rows)
    cluster_of = {r.doc_id: r.cluster_id for r in rows}
    sizes = {}
    for r in rows:
        sizes[r.cluster_id] = sizes.get(r.cluster_id, 0) + 1
        assert r.cluster_id <= r.doc_id
    assert all(r.cluster_size == sizes[r.cluster_id] for r in rows)
    s = ev.score(c.rows, truth, cluster_of, set())
    assert s.true_pairs > 150
    if verify in ("exact", "exact_all"):
        assert s.pair_precision >= 0.99, s
        assert s.pair_recall >= 0.95, s
        assert s.direct_recall >= 0.95, s
    elif verify == "signature":
        # the 128-hash estimate is noisy near the threshold (sd ~0.04 at J = 0.7): it drops a share
        # of true pairs at 0.70-0.75 and lets some at 0.65-0.70 through
        assert s.direct_recall >= 0.9 and s.pair_precision >= 0.9, s
    else:
        # 25 x 5 without verification: recall as high, but pairs at J 0.5-0.7 leak in
        assert s.direct_recall >= 0.95, s
        assert s.pair_precision < 0.97, s


def test_chars_tokenizer_clusters_chinese_near_duplicates(spark):
    rng = random.Random(8)
    chars = [chr(0x4E00 + i) for i in range(3000)]
    base = "".join(rng.choice(chars) for _ in range(400))
    near = base[:200] + "的" + base[201:]           # one character changed
    other = "".join(rng.choice(chars) for _ in range(400))
    rows = [("a", base), ("b", near), ("c", other)]
    df = spark.createDataFrame(rows, "id string, text string")
    params = _params()
    got = {r.id: r.cluster_id for r in
           lsh.near_duplicate_clusters(spark, df, id_col="id", text_col="text", params=params, tokenizer="chars")
           .collect()}
    assert got == {"a": "a", "b": "a", "c": "c"}
    # the same texts as whitespace "words" are one token each: no shingle in common
    got_w = {r.id: r.cluster_id for r in
             lsh.near_duplicate_clusters(spark, df, id_col="id", text_col="text", params=params).collect()}
    assert got_w == {"a": "a", "b": "b", "c": "c"}


def test_exact_margin_reads_texts_only_near_the_threshold(spark):
    """Clear estimates decide alone; estimates within exact_margin of the threshold go to the texts."""
    text_a = " ".join(f"alpha{i}" for i in range(60))
    text_b = " ".join(f"beta{i}" for i in range(60))          # shares no shingle with text_a
    sig = list(range(128))
    near = sig[:90] + [-1 - i for i in range(38)]              # estimate 90/128 = 0.70
    docs = spark.createDataFrame([("a", text_a), ("b", text_b), ("c", text_a), ("d", text_a)],
                                 "doc_id string, text string")
    sigs = spark.createDataFrame([("a", sig), ("b", sig), ("c", sig), ("d", near)],
                                 "doc_id string, signature array<int>")
    edges = spark.createDataFrame([("b", "a"), ("d", "c")], "src string, dst string")

    def kept(margin):
        p = _params(exact_margin=margin)
        out = lsh.verify_exact(edges, sigs, docs, id_col="doc_id", text_col="text", params=p)
        return {(r.src, r.dst): r.jaccard for r in out.collect()}

    j = kept(0.15)
    assert j[("b", "a")] == 1.0               # estimate 1.0 is clear: the texts are not read
    assert j[("d", "c")] == 1.0               # estimate 0.70 is not: exact Jaccard of equal texts
    j = kept(1.0)
    assert j == {("b", "a"): 0.0, ("d", "c"): 1.0}   # every edge on the texts


def test_raw_and_normalized_truth_and_what_explains_a_removal():
    """The prose generator's listing pages differ only in their numbers: many are near duplicates after the
    stage's normalization (digits -> 0), none as written; removal_causes names the normalization step
    that made each removal, and `none` when nothing does."""
    c = ev.generate_prose(400, seed=5, template_share=0.3)
    norm, raw = ev.true_pairs(c.rows, min_jaccard=0.0), ev.true_pairs(c.rows, norm=ev.RAW, min_jaccard=0.0)
    listings = [(a, b) for a, b in c.planted if "price $" in next(r["text"] for r in c.rows if r["doc_id"] == a)]
    assert len(listings) > 20
    key = lambda a, b: tuple(sorted((a, b)))                                    # noqa: E731
    assert all(raw.get(key(a, b), 0) < 0.1 for a, b in listings)
    assert sum(norm.get(key(a, b), 0) >= 0.7 for a, b in listings) > len(listings) / 3

    words = " ".join(f"w{i}" for i in range(60))
    text = f"The shop sold 120 lamps in 2019 and 45 chairs. {words}. It opened 3 stores in 1998 and 7 in 2004."
    rows = [dict(doc_id=d, text=t) for d, t in (
        ("a", text), ("b", text.replace("120", "987").replace("2019", "2021").replace("45", "61")
                                .replace("3 ", "8 ").replace("1998", "1999").replace("2004", "2011")),
        ("c", text.upper()), ("d", " ".join(f"x{i}" for i in range(80))))]
    raw_truth = ev.true_pairs(rows, norm=ev.RAW)
    assert all(j < 0.7 for j in raw_truth.values())
    causes = ev.removal_causes(rows, {"b", "c", "d"}, {d: "a" for d in "abcd"}, raw_truth)
    assert causes == {"digits": 1, "case": 1, "none": 1}
