"""Throughput of the `decontam` and `pii` stages per core, beside the `rules` stage, on 2 KB documents.

Documents: the extracted text of the 990 trafilatura-eval pages (../shared/data, cached as
bench/bench_rules.py caches it) cut at line breaks into pieces of about 2,000 UTF-8 bytes; 1% of them
get a 60-word WikiText-2 passage pasted in, so the contaminated path (line numbers, cut) runs too.
Benchmark: WikiText-2 validation paragraphs, as many as give --ngrams distinct n-grams (100,000).
Both sides are measured in the same process and run:

1. plain: the udfs in one process on one core: `BenchmarkIndex.check` (decontam), `find_all` +
   `redact` (pii) and `udfs.rules.signals.compute_signals` + `failed_rules` (rules), over the same
   documents; medians over --repeats, per CPU-second of the process (on a shared machine the wall
   clock also counts other processes' time) and per wall-clock second beside it.
2. Spark: the whole stages (`decontam`, `pii`, `rules`: signals, decision and every Delta write) on
   local[--cores] over --spark-docs documents, each run with force; medians over --repeats.

    .venv/bin/python bench/bench_decontam.py --spark-docs 100000 --repeats 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from proctree import PeakRSS  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def documents(cache: Path, target_bytes: int = 2000) -> list[str]:
    from bench_rules import extracted_texts

    docs = []
    for _, text in extracted_texts(cache):
        cur, size = [], 0
        for line in text.split("\n"):
            cur.append(line)
            size += len(line.encode()) + 1
            if size >= target_bytes:
                docs.append("\n".join(cur))
                cur, size = [], 0
        if size >= target_bytes // 2:
            docs.append("\n".join(cur))
    return docs


def benchmark_items(n_ngrams: int, n_words: int, n_chars: int):
    from corpusmill.udfs.decontam.index import BenchmarkIndex, Item

    paras = [ln.strip() for ln in (DATA / "wikitext-2-valid" / "valid.txt").read_text(encoding="utf-8").splitlines()
             if len(ln.split()) >= 20 and not ln.strip().startswith("=")]
    from corpusmill.udfs.decontam import ngrams as ng

    items, seen = [], set()
    for i, p in enumerate(paras):              # paragraphs until the index holds n_ngrams distinct n-grams
        w, c = ng.text_ngrams(p, n_words, n_chars)
        new = set(w.tolist()) | set(c.tolist())
        if len(seen | new) > n_ngrams:
            break
        seen |= new
        items.append(Item("wikitext", str(i), p))
    index = BenchmarkIndex.build(items, n_words, n_chars)
    return items, index, paras


def contaminate(docs: list[str], paras: list[str], share: float, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for d in docs:
        if rng.random() < share:
            words = rng.choice(paras).split()
            d = d + "\n" + " ".join(words[:60])
        out.append(d)
    return out


def plain_rates(docs: list[str], index, config, repeats: int) -> dict[str, float]:
    from corpusmill.udfs.pii.redact import redact, scan
    from corpusmill.udfs.rules.signals import Profile, compute_signals, failed_rules

    pii_settings = config.pii.settings()
    placeholders = config.pii.placeholders
    prof = Profile(**config.rules.signal_profiles()["default"])
    th = config.rules.resolved_thresholds()["en"]
    m = config.decontam.min_ngrams

    def run_decontam():
        for d in docs:
            index.check(d, m, with_lines=True)

    def run_pii():
        for d in docs:
            f = scan(d, pii_settings)
            if f:
                redact(d, f, placeholders)

    def run_rules():
        for d in docs:
            failed_rules(compute_signals(d, prof, "en"), th)

    out = {}
    for name, fn in (("decontam", run_decontam), ("pii", run_pii), ("rules", run_rules)):
        cpu, wall = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpu.append(len(docs) / (time.process_time() - c0))
            wall.append(len(docs) / (time.perf_counter() - t0))
        out[name] = (statistics.median(cpu), statistics.median(wall))
    return out


def spark_rates(docs: list[str], bench_file: Path, n_docs: int, cores: int, repeats: int) -> dict[str, list[float]]:
    from pyspark.sql import functions as F

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.stages import decontam, pii, rules
    from corpusmill.schemas import documents as documents_schema

    root = Path(tempfile.mkdtemp(prefix="bench-decontam-"))
    bench = json.dumps([{"name": "wikitext", "path": str(bench_file), "prompt": "text", "id": "id"}])
    cfg = load_config(None, [f"storage.root={root}", f"spark.master=local[{cores}]", "spark.driver_memory=2g",
                             f"spark.shuffle_partitions={cores * 2}", "storage.catalog=none",
                             f"decontam.benchmarks={bench}", "pii.input_tables=[documents]",
                             "decontam.input_tables=[documents]"])
    spark = get_spark(cfg)
    base = spark.createDataFrame([(i, t) for i, t in enumerate(docs)], "k long, text string")
    reps = max(1, -(-n_docs // len(docs)))
    table = (spark.range(reps).withColumnRenamed("id", "rep").crossJoin(base).limit(n_docs)
             .select(F.sha1(F.concat_ws("|", "rep", "k")).substr(1, 32).alias("doc_id"),
                     F.lit("CC-MAIN-2024-10").alias("dump"), F.lit("web").alias("source_type"),
                     F.concat(F.lit("https://example.org/"), F.col("k").cast("string"), F.lit("#"),
                              F.col("rep").cast("string")).alias("url"),
                     F.lit("example.org").alias("host"), F.lit("example.org").alias("domain"),
                     F.lit(dt.datetime(2024, 3, 1)).alias("fetch_date"), F.lit(None).cast("string").alias("title"),
                     "text", F.octet_length("text").cast("long").alias("text_bytes"), F.lit("en").alias("language"),
                     F.lit(99.0).cast("float").alias("language_pct"), F.lit(True).alias("language_reliable"),
                     F.lit("bench").alias("source_file"), F.col("k").cast("string").alias("source_record")))
    tableio.write_table(spark, cfg, documents_schema.TABLE, table.repartition(cores * 4))
    n = tableio.read_table(spark, cfg, "documents").count()
    out: dict[str, list[float]] = {"decontam": [], "pii": [], "rules": []}
    for _ in range(repeats):                    # interleaved, so drift in the machine's load hits all three
        for name, stage in (("decontam", decontam), ("pii", pii), ("rules", rules)):
            t0 = time.perf_counter()
            res = stage.run(spark, cfg, force=True)
            out[name].append(n / (time.perf_counter() - t0))
            assert res.rows_in == n == res.rows_out + res.rows_rejected, (name, res)
    spark.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ngrams", type=int, default=100_000, help="distinct benchmark n-grams in the index")
    ap.add_argument("--spark-docs", type=int, default=100_000, help="documents for the Spark stage runs (0: skip)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "corpusmill" / "bench"))
    args = ap.parse_args()
    from corpusmill.jobs.registry import load_config

    config = load_config()
    d = config.decontam
    docs = documents(Path(args.cache))
    items, index, paras = benchmark_items(args.ngrams, d.ngram_words, d.ngram_chars)
    docs = contaminate(docs, [i.text for i in items], 0.01)
    mean_bytes = sum(len(x.encode()) for x in docs) / len(docs)
    print(f"{len(docs):,} documents of {mean_bytes:,.0f} bytes on average; index: {len(index):,} n-grams from "
          f"{len(items)} paragraphs ({d.ngram_words} words / {d.ngram_chars} characters)")
    with PeakRSS() as mem:
        plain = plain_rates(docs, index, config, args.repeats)
    print(f"plain, one process (median of {args.repeats}, peak RSS {mem.peak / 2**20:,.0f} MiB):")
    for name, (r, w) in plain.items():
        print(f"  {name:9s} {r:9,.0f} docs per CPU-second   ({r / plain['rules'][0]:.1f}x rules; "
              f"{w:,.0f} docs per wall-clock second)")
    if args.spark_docs:
        bench_file = Path(tempfile.mkdtemp()) / "wikitext.jsonl"
        bench_file.write_text("".join(json.dumps({"id": i.item_id, "text": i.text}) + "\n" for i in items))
        with PeakRSS() as mem:
            rates = spark_rates(docs, bench_file, args.spark_docs, args.cores, args.repeats)
        print(f"Spark stages, local[{args.cores}], {args.spark_docs:,} documents (median of {args.repeats}; peak RSS "
              f"driver+JVM+workers {mem.peak / 2**20:,.0f} MiB):")
        rules_rate = statistics.median(rates["rules"]) / args.cores
        for name, rs in rates.items():
            r = statistics.median(rs) / args.cores
            print(f"  {name:9s} {r:9,.0f} docs/s per core   ({r / rules_rate:.1f}x rules; runs "
                  f"{', '.join(f'{x:,.0f}' for x in rs)} docs/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
