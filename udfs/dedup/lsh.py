"""MinHash-LSH near-duplicate clustering on Spark DataFrames, with no driver- or one-task funnel.

Phases (each a DataFrame transformation; nothing is collected but counts):
  1. signatures     mapInArrow over Arrow batches (udfs.dedup.minhash): exact hash, MinHash, band hashes.
  2. candidate edges  explode (band, band hash); every bucket member is linked to the bucket's
                    smallest id (star edges), never all pairs. The buckets with 2+ members and
                    their smallest ids come from one partially-aggregated pass and are joined back
                    map-side (broadcast) while they fit; past that, buckets with more than
                    hot_bucket_size members still go by broadcast and only the rest are shuffled,
                    so a 100k-member boilerplate bucket never lands on one task.
  3. verification   optional: the Jaccard estimate from the full signatures decides the clear
                    edges; exact shingle Jaccard (mapInArrow over the two texts) decides those
                    whose estimate is within exact_margin of the threshold. Edges below it dropped.
  4. components     alternating large-star / small-star (Kiveris et al., 2014) on DataFrames,
                    checkpointed every round; converges to a star per component around its
                    smallest id, which becomes the cluster id. Deterministic; rounds are logged.

GraphFrames' connectedComponents was the alternative; its Spark 4 build
(io.graphframes:graphframes-spark4_2.13) does not resolve from this project's Maven mirror, so
only large-star/small-star is implemented.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, IntegerType, LongType, StringType, StructField, StructType

from corpusmill.udfs.dedup import minhash as mh
from corpusmill.udfs.errors import ConfigError

log = logging.getLogger("corpusmill")

VERIFY_METHODS = ("exact", "signature")


@dataclass
class MinHashParams:
    """MinHash-LSH knobs: the `dedup.minhash` and `code.minhash` config sections.

    Its errors name keys relative to itself ("num_perm: ..."); the config loader puts them under the
    section's key (dedup.minhash.num_perm)."""

    num_perm: int                   # hash functions per signature
    ngram: int                      # tokens per shingle (words, characters or code tokens)
    threshold: float                # Jaccard at which two documents are near duplicates
    bands: int                      # LSH bands; 0 (with rows 0) = FP/FN-optimal for threshold
    rows: int                       # signature values per band; bands*rows <= num_perm
    seed: int                       # seed of the hash family: same seed = comparable signatures
    verify: bool                    # check candidate edges against threshold before clustering
    verify_method: str              # exact (shingle Jaccard from the texts) | signature (estimate)
    exact_margin: float             # exact: only edges whose estimate is this close to threshold read texts
    fp_weight: float                # optimizer weight of the false-positive area
    fn_weight: float                # optimizer weight of the false-negative area
    hot_bucket_size: int            # past the broadcast limit, buckets this big still join map-side
    max_iterations: int             # safety cap for connected components rounds
    lowercase: bool                 # normalization before shingling ...
    strip_punct: bool               # ... (punctuation kept for the code tokenizer)
    digits_to_zero: bool

    def __post_init__(self) -> None:
        if self.num_perm < 1 or self.num_perm > 1024:
            raise ConfigError(f"num_perm: expected 1..1024, got {self.num_perm}")
        if self.ngram < 1:
            raise ConfigError(f"ngram: expected >= 1, got {self.ngram}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold: expected a number in (0, 1], got {self.threshold}")
        if (self.bands == 0) != (self.rows == 0) or self.bands < 0 or self.rows < 0:
            raise ConfigError(f"bands/rows: set both (> 0) or both 0 (optimal), got {self.bands} x {self.rows}")
        if self.bands * self.rows > self.num_perm:
            raise ConfigError(f"bands: bands*rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        if self.verify_method not in VERIFY_METHODS:
            raise ConfigError(f"verify_method: expected one of {VERIFY_METHODS}, got {self.verify_method!r}")
        if not 0.0 <= self.exact_margin <= 1.0:
            raise ConfigError(f"exact_margin: expected a number in [0, 1], got {self.exact_margin}")
        if self.hot_bucket_size < 2:
            raise ConfigError(f"hot_bucket_size: expected >= 2, got {self.hot_bucket_size}")

    def bands_rows(self) -> tuple[int, int]:
        if self.bands and self.rows:
            return self.bands, self.rows
        return _optimal(self.threshold, self.num_perm, self.fp_weight, self.fn_weight)

    def spec(self) -> mh.SignatureSpec:
        b, r = self.bands_rows()
        return mh.SignatureSpec(num_perm=self.num_perm, ngram=self.ngram, seed=self.seed, bands=b, rows=r,
                                norm=mh.NormConfig(lowercase=self.lowercase, strip_punct=self.strip_punct,
                                                   digits_to_zero=self.digits_to_zero))


_OPT_CACHE: dict[tuple, tuple[int, int]] = {}


def _optimal(threshold: float, num_perm: int, fp_w: float, fn_w: float) -> tuple[int, int]:
    k = (threshold, num_perm, fp_w, fn_w)
    if k not in _OPT_CACHE:
        _OPT_CACHE[k] = mh.optimal_bands_rows(threshold, num_perm, fp_w, fn_w)
    return _OPT_CACHE[k]


def phase(df_or_spark, label: str, what: str) -> None:
    """Log a phase and name the Spark jobs that follow after it (the Spark UI reads like the stage)."""
    spark = df_or_spark if isinstance(df_or_spark, SparkSession) else df_or_spark.sparkSession
    spark.sparkContext.setJobDescription(f"[{label}] {what}")
    log.info("[%s] %s", label, what)


# ---------------------------------------------------------------------------------------------
# 1. signatures
def signatures(df: DataFrame, *, id_col: str, text_col: str, params: MinHashParams, tokenizer: str = "words",
               tokenizer_col: str | None = None, keep_cols: list[str] | None = None) -> DataFrame:
    """(id, exact_hash, num_shingles, signature array<int>, bands array<bigint>, *keep_cols) per row.

    tokenizer_col (optional) names a column holding each row's tokenizer; tokenizer is the default.
    keep_cols are input columns passed through unchanged.
    """
    if tokenizer not in mh.TOKENIZERS:
        raise ConfigError(f"tokenizer: expected one of {mh.TOKENIZERS}, got {tokenizer!r}")
    spec = params.spec()
    keep = [c for c in (keep_cols or []) if c not in (id_col,)]
    cols = list(dict.fromkeys([id_col, text_col] + ([tokenizer_col] if tokenizer_col else []) + keep))
    schema = StructType([
        StructField(id_col, df.schema[id_col].dataType, True),
        StructField("exact_hash", StringType(), True),
        StructField("num_shingles", IntegerType(), True),
        StructField("signature", ArrayType(IntegerType()), True),
        StructField("bands", ArrayType(LongType()), True),
        *[StructField(c, df.schema[c].dataType, True) for c in keep],
    ])
    fn = partial(mh.signature_batches, id_col=id_col, text_col=text_col, tokenizer_col=tokenizer_col,
                 default_tokenizer=tokenizer, spec=spec, keep_cols=tuple(keep))
    return df.select(*cols).mapInArrow(fn, schema)


# ---------------------------------------------------------------------------------------------
# 2. candidate edges
_BROADCAST_BUCKETS = 2_000_000      # (band, hash, root) rows joined map-side: ~50 MB at most


def candidate_edges(sigs: DataFrame, *, id_col: str, hot_bucket_size: int, label: str = "lsh") -> DataFrame:
    """Star edges (src, dst): each member of an LSH bucket linked to the bucket's smallest id.

    src > dst always; duplicates across bands removed. At most (members - 1) edges per bucket.
    One partially-aggregated pass finds every bucket with two or more members and its smallest
    id (most buckets are singletons); the members are then joined to that list. While it fits a
    broadcast the join is map-side (no shuffle, no sort of the band rows); beyond that, buckets
    with more than hot_bucket_size members still go by broadcast and the rest by a shuffle join,
    so a 100k-member boilerplate bucket never lands on one task.
    """
    b = (sigs.where(F.col("bands").isNotNull())
         .select(F.col(id_col).alias("id"), F.posexplode("bands").alias("band", "bhash")))
    multi = (b.groupBy("band", "bhash").agg(F.min("id").alias("root"), F.count(F.lit(1)).alias("n"))
             .where(F.col("n") > 1).localCheckpoint(eager=True))
    n_multi, n_hot = multi.agg(F.count(F.lit(1)), F.sum((F.col("n") > hot_bucket_size).cast("long"))).first()
    n_hot = n_hot or 0
    log.info("[%s] %d buckets with 2+ members, %d hot (> %d members)", label, n_multi, n_hot, hot_bucket_size)
    roots = multi.select("band", "bhash", "root")
    if n_multi <= _BROADCAST_BUCKETS:
        pairs = b.join(F.broadcast(roots), ["band", "bhash"])
    else:   # too many to broadcast: hot buckets still map-side, the rest by a shuffle join
        hot = multi.where(F.col("n") > hot_bucket_size).select("band", "bhash", "root")
        rest = b.join(F.broadcast(hot.select("band", "bhash")), ["band", "bhash"], "left_anti") if n_hot else b
        pairs = b.join(F.broadcast(hot), ["band", "bhash"]).unionByName(rest.join(roots, ["band", "bhash"]))
    return (pairs.where(F.col("id") != F.col("root"))
            .select(F.col("id").alias("src"), F.col("root").alias("dst"))
            .distinct())


# ---------------------------------------------------------------------------------------------
# 3. verification
def verify_exact(edges: DataFrame, sigs: DataFrame, docs: DataFrame, *, id_col: str, text_col: str,
                 params: MinHashParams, tokenizer: str = "words", tokenizer_col: str | None = None,
                 label: str = "lsh") -> DataFrame:
    """(src, dst, jaccard): the signature estimate where it is clear, exact Jaccard near the threshold.

    With 128 hashes the estimate's standard deviation at J = 0.7 is 0.04, so an estimate more than
    exact_margin = 0.15 (3.7 sd) away from the threshold is on the right side of it but for about
    one edge in 10^4; only the edges inside the margin pay for shipping and re-shingling two texts.
    exact_margin = 1 checks every edge on the texts.
    """
    t, m = params.threshold, params.exact_margin
    if m >= 1.0:
        return exact_jaccard(edges, docs, id_col=id_col, text_col=text_col, params=params,
                             tokenizer=tokenizer, tokenizer_col=tokenizer_col)
    est = verify_signature(edges, sigs, id_col=id_col, num_perm=params.num_perm).localCheckpoint(eager=True)
    clear = est.where((F.col("jaccard") >= t + m) | (F.col("jaccard") < t - m))
    unsure = est.where((F.col("jaccard") < t + m) & (F.col("jaccard") >= t - m)).select("src", "dst")
    n_all, n_unsure = est.agg(F.count(F.lit(1)), F.sum(((F.col("jaccard") < t + m) & (F.col("jaccard") >= t - m))
                                                         .cast("long"))).first()
    log.info("[%s] verification: %d candidate edges, %d within %.2f of the threshold checked on the texts",
             label, n_all, n_unsure or 0, m)
    checked = exact_jaccard(unsure, docs, id_col=id_col, text_col=text_col, params=params,
                            tokenizer=tokenizer, tokenizer_col=tokenizer_col)
    return clear.unionByName(checked)


_BROADCAST_IDS = {"long": 4_000_000, "other": 500_000}   # id sets broadcast to filter the texts map-side


def exact_jaccard(edges: DataFrame, docs: DataFrame, *, id_col: str, text_col: str, params: MinHashParams,
                  tokenizer: str = "words", tokenizer_col: str | None = None) -> DataFrame:
    """(src, dst, jaccard) of each edge: exact Jaccard of the two shingle sets, batched in Arrow.

    Only the texts of documents on an edge are shuffled: while their ids fit a broadcast (4M
    64-bit ids, 32 MB), the documents are filtered map-side; beyond that by a semi-join.
    """
    tok = F.coalesce(F.col(tokenizer_col), F.lit(tokenizer)) if tokenizer_col else F.lit(tokenizer)
    d = docs.select(F.col(id_col).alias("id"), F.col(text_col).alias("text"), tok.alias("tok"))
    ids = (edges.select(F.col("src").alias("id")).unionByName(edges.select(F.col("dst").alias("id")))
           .distinct().localCheckpoint(eager=True))
    kind = "long" if isinstance(edges.schema["src"].dataType, (LongType, IntegerType)) else "other"
    d = d.join(F.broadcast(ids) if ids.count() <= _BROADCAST_IDS[kind] else ids, "id", "left_semi")
    e = (edges.join(d.select(F.col("id").alias("src"), F.col("text").alias("src_text"), F.col("tok").alias("src_tok")),
                    "src")
         .join(d.select(F.col("id").alias("dst"), F.col("text").alias("dst_text"), F.col("tok").alias("dst_tok")),
               "dst")
         .select("src", "dst", "src_text", "dst_text", "src_tok", "dst_tok"))
    spec = params.spec()
    schema = StructType([StructField("src", edges.schema["src"].dataType), StructField("dst", edges.schema["dst"].dataType),
                         StructField("jaccard", DoubleType())])
    return e.mapInArrow(partial(mh.jaccard_batches, ngram=spec.ngram, norm=spec.norm), schema)


def verify_signature(edges: DataFrame, sigs: DataFrame, *, id_col: str, num_perm: int) -> DataFrame:
    """(src, dst, jaccard) of each edge: share of equal MinHash values (built-in Spark functions)."""
    s = sigs.select(F.col(id_col).alias("id"), "signature")
    e = (edges.join(s.select(F.col("id").alias("src"), F.col("signature").alias("s1")), "src")
         .join(s.select(F.col("id").alias("dst"), F.col("signature").alias("s2")), "dst"))
    eq = F.aggregate(F.zip_with("s1", "s2", lambda x, y: F.when(x == y, 1).otherwise(0)), F.lit(0),
                     lambda acc, x: acc + x)
    return e.select("src", "dst", (eq / F.lit(float(num_perm))).alias("jaccard"))


# ---------------------------------------------------------------------------------------------
# 4. connected components
def _checksum(e: DataFrame) -> tuple[int, int]:
    r = e.agg(F.count(F.lit(1)).alias("n"),
              F.coalesce(F.sum(F.xxhash64("src", "dst").cast("decimal(38,0)")), F.lit(0)).alias("h")).first()
    return int(r["n"]), int(r["h"])


def _large_star(e: DataFrame) -> DataFrame:
    """Each node's larger neighbours are re-pointed at the smallest id of its closed neighbourhood.

    The per-node minimum is a groupBy (partially aggregated map-side) joined back, not a window:
    a window puts all of a hub's edges (a 100k-member boilerplate star) in one task, while a
    sort-merge join's skewed partition is split by adaptive execution (skewJoin). Duplicates are
    left for the small-star step to remove.
    """
    both = e.select(F.col("src").alias("u"), F.col("dst").alias("v")).unionByName(
        e.select(F.col("dst").alias("u"), F.col("src").alias("v")))
    mins = both.groupBy("u").agg(F.min("v").alias("mv"))
    x = both.join(mins, "u")
    return x.where(F.col("v") > F.col("u")).select(F.col("v").alias("src"), F.least("u", "mv").alias("dst"))


def _small_star(e: DataFrame) -> DataFrame:
    """Each node and its smaller neighbours are re-pointed at the smallest of them (edges: larger -> smaller).

    Same groupBy + join (not a window) as _large_star, so a hub's edges are not bound to one task.
    """
    x = e.join(e.groupBy("src").agg(F.min("dst").alias("m")), "src")
    out = x.select(F.col("dst").alias("src"), F.col("m").alias("dst")).where(F.col("src") != F.col("dst"))
    return out.unionByName(x.select("src", F.col("m").alias("dst"))).distinct()


def connected_components(edges: DataFrame, *, max_iterations: int = 64, label: str = "cc") -> DataFrame:
    """(node, component) for every node that has an edge; component = smallest id of its component.

    Alternating large-star / small-star, checkpointed (reliable checkpoint dir) every round; stops
    when a round leaves the edge set unchanged (count and order-free hash sum both equal).
    """
    e = edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst")) \
        .where(F.col("src") != F.col("dst")).distinct()
    e = e.checkpoint(eager=True)
    prev = _checksum(e)
    log.info("[%s] components: %d edges", label, prev[0])
    for it in range(1, max_iterations + 1):
        e = _small_star(_large_star(e)).checkpoint(eager=True)
        cur = _checksum(e)
        log.info("[%s] large/small-star round %d: %d edges", label, it, cur[0])
        if cur == prev:
            break
        prev = cur
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} rounds "
                           f"(raise minhash.max_iterations)")
    roots = e.select(F.col("dst").alias("node"), F.col("dst").alias("component")).distinct()
    return e.select(F.col("src").alias("node"), F.col("dst").alias("component")).unionByName(roots)


# ---------------------------------------------------------------------------------------------
# the contract other stages use
def near_duplicate_clusters(spark: SparkSession, df: DataFrame, *, id_col: str, text_col: str,
                            params: MinHashParams, tokenizer: str = "words") -> DataFrame:
    """(id_col, cluster_id, cluster_size) for every row of df (ids must be unique).

    tokenizer: "words" (whitespace/punctuation words), "chars" (character n-grams, for zh/ja),
    "code" (identifier/number/operator tokens). cluster_id is the smallest id of the cluster
    (a singleton's own id). Rows with no token are singletons. Result is checkpointed (materialized).
    """
    sigs = signatures(df, id_col=id_col, text_col=text_col, params=params, tokenizer=tokenizer)
    sigs = sigs.checkpoint(eager=True)
    comp = cluster_edges(spark, sigs, df, id_col=id_col, text_col=text_col, params=params, tokenizer=tokenizer)
    return attach_clusters(df.select(id_col), comp, id_col=id_col).checkpoint(eager=True)


def long_key(ids: DataFrame, id_col: str, label: str = "lsh"):
    """A deterministic 64-bit key per id, so LSH, verification and components shuffle 8 bytes, not strings.

    Integral ids are used as they are. Others: xxhash64(salt, id) with the first salt (0, 1, ...)
    under which no two ids collide, checked with one aggregation (at 10^9 ids salt 0 collides with
    a chance of ~3%; the check makes a collision cost a retry, never a wrong merge).
    """
    if isinstance(ids.schema[id_col].dataType, (LongType, IntegerType)):
        return F.col(id_col).cast("long")
    for salt in range(8):
        key = F.xxhash64(F.lit(salt), F.col(id_col))
        if not ids.groupBy(key.alias("k")).count().where(F.col("count") > 1).limit(1).count():
            return key
        log.warning("[%s] 64-bit id hash collision under salt %d: trying the next salt", label, salt)
    raise RuntimeError(f"{id_col}: ids collide under 8 hash salts; are they unique?")


def cluster_edges(spark: SparkSession, sigs: DataFrame, docs: DataFrame, *, id_col: str, text_col: str,
                  params: MinHashParams, tokenizer: str = "words", tokenizer_col: str | None = None,
                  label: str = "lsh") -> DataFrame:
    """Phases 2-4 on stored signatures: (node, component) for documents that have a duplicate.

    Runs on 64-bit keys (long_key); the component is named by the smallest id_col value in it.
    """
    phase(spark, label, "LSH candidate edges")
    key = long_key(docs, id_col, label)      # docs: every id that can meet a key (a superset of sigs)
    s = sigs.select(key.alias("nid"), "bands", "signature")
    edges = candidate_edges(s, id_col="nid", hot_bucket_size=params.hot_bucket_size, label=label)
    edges = edges.localCheckpoint(eager=True)
    log.info("[%s] %d candidate edges", label, edges.count())
    if params.verify:
        phase(spark, label, f"verification ({params.verify_method})")
        if params.verify_method == "exact":
            scored = verify_exact(edges, s, docs.withColumn("nid", key), id_col="nid", text_col=text_col,
                                  params=params, tokenizer=tokenizer, tokenizer_col=tokenizer_col, label=label)
        else:
            scored = verify_signature(edges, s, id_col="nid", num_perm=params.num_perm)
        edges = scored.where(F.col("jaccard") >= F.lit(params.threshold)).select("src", "dst")
    phase(spark, label, "connected components")
    comp = connected_components(edges, max_iterations=params.max_iterations, label=label)
    named = comp.join(sigs.select(key.alias("node"), F.col(id_col).alias("id")), "node")
    first = named.groupBy("component").agg(F.min("id").alias("name"))
    return named.join(first, "component").select(F.col("id").alias("node"), F.col("name").alias("component"))


def attach_clusters(ids: DataFrame, comp: DataFrame, *, id_col: str) -> DataFrame:
    """(id_col, cluster_id, cluster_size) for every id: unclustered ids are their own cluster."""
    c = comp.select(F.col("node").alias(id_col), F.col("component").alias("cluster_id"))
    out = ids.join(c, id_col, "left").withColumn("cluster_id", F.coalesce("cluster_id", F.col(id_col)))
    sizes = out.groupBy("cluster_id").agg(F.count(F.lit(1)).alias("cluster_size"))
    return out.join(sizes, "cluster_id").select(id_col, "cluster_id", F.col("cluster_size").cast("long"))
