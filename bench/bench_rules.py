"""Rules stage throughput vs datatrove's Gopher / C4 / FineWeb filters, on the same documents.

Texts: trafilatura's extraction of the 990 trafilatura-eval pages (../shared/data), cached after the
first run. In one process and one run it measures:

1. datatrove: GopherRepetition -> GopherQuality -> C4Quality -> FineWebQuality (default thresholds,
   spaCy English tokenizer), each document through all four as a datatrove pipeline does; one core.
2. ours, plain: udfs.rules.signals.compute_signals over the same texts; one core (same process).
3. ours, Spark: the full rules stage (jobs.stages.rules.run: signals + decision + rule_signals / clean /
   rejected Delta writes) on local[N] over the texts repeated to --spark-docs documents.

It prints medians over --repeats, docs/s, per-core ratios against datatrove, the keep/drop agreement
of each family with datatrove over all pages, and peak resident memory (driver + JVM + Python workers).

    python bench/bench_rules.py --spark-docs 200000 --repeats 3
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from proctree import PeakRSS  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
FAMILIES = ["gopher_repetition", "gopher_quality", "c4", "fineweb"]


def extracted_texts(cache: Path) -> list[tuple[str, str]]:
    manifest = DATA / "trafilatura-eval" / "manifest.jsonl"
    key = hashlib.sha1(manifest.read_bytes()).hexdigest()[:12]
    cached = cache / f"trafilatura-eval-{key}.jsonl"
    if cached.exists():
        return [tuple(json.loads(line)) for line in cached.read_text().splitlines()]
    import trafilatura

    out = []
    for line in manifest.read_text().splitlines():
        m = json.loads(line)
        html = gzip.open(DATA / "trafilatura-eval" / m["path"]).read()
        out.append((m["url"], trafilatura.extract(html, url=m["url"]) or ""))
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in out))
    return out


def run_datatrove(texts: list[str]) -> tuple[float, dict[str, list[bool]]]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    filters = {"gopher_repetition": GopherRepetitionFilter(), "gopher_quality": GopherQualityFilter(),
               "c4": C4QualityFilter(), "fineweb": FineWebQualityFilter()}
    keeps = {f: [] for f in filters}
    t0 = time.perf_counter()
    for i, text in enumerate(texts):
        for fam, flt in filters.items():
            keeps[fam].append(flt.filter(Document(text=text, id=str(i))) is True)
    return time.perf_counter() - t0, keeps


def run_plain(texts: list[str], config) -> tuple[float, list[list[str]]]:
    from corpusmill.udfs.rules.signals import Profile, compute_signals, failed_rules

    prof = Profile(**config.rules.signal_profiles()["default"])
    th = config.rules.resolved_thresholds()["en"]
    t0 = time.perf_counter()
    sigs = [compute_signals(t, prof, "en") for t in texts]
    secs = time.perf_counter() - t0
    return secs, [failed_rules(s, th) for s in sigs]


def run_spark(texts: list[tuple[str, str]], n_docs: int, cores: int, repeats: int) -> list[float]:
    import datetime as dt

    from pyspark.sql import functions as F

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.stages import rules
    from corpusmill.schemas import documents

    root = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    cfg = load_config(None, [f"storage.root={root}", f"spark.master=local[{cores}]", "spark.driver_memory=2g",
                             f"spark.shuffle_partitions={cores * 2}"])
    spark = get_spark(cfg)
    rows = [(url, text) for url, text in texts]
    base = spark.createDataFrame(rows, "url string, text string").withColumn("k", F.monotonically_increasing_id())
    n_base = len(rows)
    reps = max(1, -(-n_docs // n_base))
    docs = (spark.range(reps).withColumnRenamed("id", "rep").crossJoin(base)
            .limit(n_docs)
            .select(F.sha1(F.concat_ws("|", "rep", "url")).substr(1, 32).alias("doc_id"),
                    F.lit("CC-MAIN-2024-10").alias("dump"), F.lit("web").alias("source_type"),
                    F.concat("url", F.lit("#"), F.col("rep").cast("string")).alias("url"),
                    F.lit("example.org").alias("host"), F.lit("example.org").alias("domain"),
                    F.lit(dt.datetime(2024, 3, 1)).alias("fetch_date"), F.lit(None).cast("string").alias("title"),
                    "text", F.length("text").cast("long").alias("text_bytes"), F.lit("en").alias("language"),
                    F.lit(99.0).cast("float").alias("language_pct"), F.lit(True).alias("language_reliable"),
                    F.lit("bench").alias("source_file"), F.col("k").cast("string").alias("source_record")))
    tableio.write_table(spark, cfg, documents.TABLE, docs.repartition(cores * 4))
    n = tableio.read_table(spark, cfg, "documents").count()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = rules.run(spark, cfg, force=True)
        times.append(time.perf_counter() - t0)
        assert res.rows_in == n and res.rows_in == res.rows_out + res.rows_rejected
    spark.stop()
    return [n / t for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--spark-docs", type=int, default=200_000, help="documents for the Spark stage run (0: skip)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--datatrove-docs", type=int, default=990, help="pages datatrove runs on (its side is slow)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "corpusmill" / "bench"))
    args = ap.parse_args()
    from corpusmill.jobs.registry import load_config

    config = load_config()
    pages = extracted_texts(Path(args.cache))
    texts = [t for _u, t in pages]
    dt_texts = texts[: args.datatrove_docs]
    print(f"{len(texts)} pages, {sum(map(len, texts)) / len(texts):,.0f} characters on average")

    with PeakRSS() as mem_dt:
        dt_runs = [run_datatrove(dt_texts) for _ in range(args.repeats)]
    dt_rate = statistics.median(len(dt_texts) / s for s, _k in dt_runs)
    keeps = dt_runs[0][1]
    print(f"datatrove 4 filters, 1 core:  {dt_rate:8.1f} docs/s  (median of {args.repeats}; "
          f"peak RSS {mem_dt.peak / 2**20:,.0f} MiB)")

    with PeakRSS() as mem_plain:
        plain_runs = [run_plain(texts, config) for _ in range(args.repeats)]
    plain_rate = statistics.median(len(texts) / s for s, _r in plain_runs)
    reasons = plain_runs[0][1]
    print(f"ours, signals+decision, 1 core: {plain_rate:8.1f} docs/s  -> {plain_rate / dt_rate:.1f}x datatrove per core "
          f"(peak RSS {mem_plain.peak / 2**20:,.0f} MiB)")

    for fam in FAMILIES:
        ours = [not any(r.startswith(fam + ".") for r in rs) for rs in reasons[: len(dt_texts)]]
        agree = sum(a == b for a, b in zip(ours, keeps[fam]))
        print(f"  agreement {fam:18s} {agree}/{len(dt_texts)} = {agree / len(dt_texts):.4f} "
              f"(datatrove keeps {sum(keeps[fam])}, we keep {sum(ours)})")

    if args.spark_docs:
        with PeakRSS() as mem_spark:
            rates = run_spark(pages, args.spark_docs, args.cores, args.repeats)
        rate = statistics.median(rates)
        print(f"ours, Spark rules stage local[{args.cores}] on {args.spark_docs:,} docs: {rate:8.1f} docs/s "
              f"= {rate / args.cores:.1f} docs/s/core -> {rate / args.cores / dt_rate:.1f}x datatrove per core "
              f"(runs: {', '.join(f'{r:.0f}' for r in rates)}; peak RSS driver+JVM+workers "
              f"{mem_spark.peak / 2**20:,.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
