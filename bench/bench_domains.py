"""Domain blocking at blocklist scale: broadcast structures vs a Spark join, against 5M generated domains.

Measures, in one process, on the same generated list and URLs:
  python-set   a Python dict of domain strings per worker (the naive broadcast structure): build, memory, lookups
  hash-index   udfs.safety.domains.DomainIndex (sorted 64-bit hashes + category codes): build, memory, lookups
  spark-index  the safety stage's broadcast path: index broadcast once, iterator pandas UDF over URL batches
  spark-join   udfs.safety.domains.match_join: explode parent domains / URL prefixes, join with the list DataFrame
Prints medians over --repeats and ratios against spark-join (the named peer), and writes JSON to
bench/results/bench_domains.json.

    python bench/bench_domains.py --domains 5000000 --urls 200000 --repeats 3 --build-repeats 1
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Tuple

ROOT = Path(__file__).resolve().parent.parent

import pandas as pd

from corpusmill.udfs.safety import domains

SYL = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qua", "ber", "tan", "dor", "fel", "gin"]
TLDS = ["com", "net", "org", "info", "cn", "ru", "de", "co.uk", "com.br", "xyz", "top", "biz"]


def gen_domains(n: int, seed: int) -> list[str]:
    """n distinct registrable-looking domains (deterministic)."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        name = "".join(rng.choice(SYL) for _ in range(rng.randint(2, 5))) + str(rng.randint(0, 99999))
        out.add(f"{name}.{rng.choice(TLDS)}")
    return sorted(out)


def gen_urls(listed: list[str], m: int, hit_rate: float, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    urls = []
    for i in range(m):
        if rng.random() < hit_rate:
            d = rng.choice(listed)
            sub = rng.choice(["", "www.", "cdn.", "m.", "a.b."])
        else:
            d = f"clean{rng.randint(0, 10**9)}.{rng.choice(TLDS)}"
            sub = rng.choice(["", "www.", "news."])
        urls.append(f"https://{sub}{d}/path/{i}?q={i % 7}")
    return urls


def rss() -> int:
    """Resident set size in bytes (Linux /proc; 0 elsewhere)."""
    gc.collect()
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def median(xs):
    return statistics.median(xs)


def bench_python_set(list_file: Path, urls: list[str], repeats: int, build_repeats: int) -> dict:
    builds, looks = [], []
    before = rss()
    table = None
    for _ in range(build_repeats):
        table = None
        gc.collect()
        t = time.perf_counter()
        table = {}
        with open(list_file) as f:
            for line in f:
                d = domains.normalize_domain(line)
                if d and d not in table:
                    table[d] = "bench"
        builds.append(time.perf_counter() - t)
    mem = rss() - before
    url_table: dict[str, str] = {}           # the list has no URL entries, but the lookups are done (as the index does)
    hits = 0
    for _ in range(repeats):
        t = time.perf_counter()
        hits = 0
        for u in urls:
            h = domains.host_of(u)
            if any(c in url_table for c in domains.url_candidates(u, h)) or any(
                    c in table for c in domains.domain_candidates(h)):
                hits += 1
        looks.append(time.perf_counter() - t)
    del table
    return {"build_s": median(builds), "memory_mb": mem / 2**20, "lookup_s": median(looks),
            "lookups_per_s": len(urls) / median(looks), "hits": hits}


def bench_hash_index(list_file: Path, urls: list[str], repeats: int,
                     build_repeats: int) -> tuple[dict, domains.DomainIndex]:
    builds, looks = [], []
    idx = None
    for _ in range(build_repeats):
        idx = None
        gc.collect()
        t = time.perf_counter()
        idx = domains.build_index([(str(list_file), "bench", [])])
        builds.append(time.perf_counter() - t)
    hits = 0
    for _ in range(repeats):
        t = time.perf_counter()
        hits = 0
        for s in range(0, len(urls), 10_000):            # Arrow-batch-sized calls, as in the stage
            kinds, _, _ = idx.match_batch(urls[s:s + 10_000], [None] * len(urls[s:s + 10_000]))
            hits += sum(k is not None for k in kinds)
        looks.append(time.perf_counter() - t)
    mem = idx.keys.nbytes + idx.codes.nbytes
    return ({"build_s": median(builds), "memory_mb": mem / 2**20, "lookup_s": median(looks),
             "lookups_per_s": len(urls) / median(looks), "hits": hits}, idx)


def spark_session(tmp: Path):
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config

    config = load_config(None, [f"storage.root={tmp}", "spark.master=local[2]", "spark.driver_memory=2g",
                                "spark.shuffle_partitions=4", "storage.catalog=none"])
    return get_spark(config)


def bench_spark_index(spark, idx: domains.DomainIndex, url_df, repeats: int) -> dict:
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    times = []
    hits = 0
    for r in range(repeats):
        t = time.perf_counter()
        bc = spark.sparkContext.broadcast((idx.keys, idx.codes, idx.categories))
        digest = f"{idx.digest()}-{r}"     # a fresh worker cache per repeat: the load is part of the cost

        @pandas_udf("string")
        def block(batches: Iterator[Tuple[pd.Series, pd.Series]]) -> Iterator[pd.Series]:
            for url, host in batches:
                index = domains.cached_index(digest, lambda: domains.DomainIndex(*bc.value))
                yield pd.Series(index.match_batch(url.tolist(), host.tolist())[1])

        hits = url_df.select(block("url", "host").alias("c")).where("c is not null").count()
        times.append(time.perf_counter() - t)
        bc.unpersist()
    return {"seconds": median(times), "runs": times, "hits": hits}


def bench_spark_join(spark, list_file: Path, url_df, repeats: int) -> dict:
    times = []
    hits = 0
    for _ in range(repeats):
        t = time.perf_counter()
        entries = domains.entries_frame(spark, [(str(list_file), "bench", [])])
        hits = domains.match_join(url_df, entries).where("block_kind is not null").count()
        times.append(time.perf_counter() - t)
    return {"seconds": median(times), "runs": times, "hits": hits}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", type=int, default=5_000_000)
    ap.add_argument("--urls", type=int, default=200_000)
    ap.add_argument("--hit-rate", type=float, default=0.05)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of lookups and Spark runs (median)")
    ap.add_argument("--build-repeats", type=int, default=1, help="repeats of building the 5M-entry structures")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_domains.json"))
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-domains-"))
    t = time.perf_counter()
    listed = gen_domains(args.domains, args.seed)
    list_file = tmp / "domains.list"
    list_file.write_text("\n".join(listed) + "\n")
    urls = gen_urls(listed, args.urls, args.hit_rate, args.seed)
    del listed
    print(f"generated {args.domains:,} domains ({list_file.stat().st_size / 2**20:.0f} MB) and {args.urls:,} URLs "
          f"in {time.perf_counter() - t:.1f}s", flush=True)

    res = {"domains": args.domains, "urls": args.urls, "hit_rate": args.hit_rate, "repeats": args.repeats,
           "cpu_count": os.cpu_count()}
    res["python_set"] = bench_python_set(list_file, urls, args.repeats, args.build_repeats)
    print("python-set ", json.dumps(res["python_set"]), flush=True)
    res["hash_index"], idx = bench_hash_index(list_file, urls, args.repeats, args.build_repeats)
    print("hash-index ", json.dumps(res["hash_index"]), flush=True)
    assert res["hash_index"]["hits"] == res["python_set"]["hits"], "the two structures disagree"

    if not args.skip_spark:
        spark = spark_session(tmp / "spark")
        rows = [(str(i), u, None) for i, u in enumerate(urls)]
        url_df = spark.createDataFrame(rows, "doc_id string, url string, host string").repartition(4).cache()
        url_df.count()
        res["spark_index"] = bench_spark_index(spark, idx, url_df, args.repeats)
        print("spark-index", json.dumps(res["spark_index"]), flush=True)
        res["spark_join"] = bench_spark_join(spark, list_file, url_df, args.repeats)
        print("spark-join ", json.dumps(res["spark_join"]), flush=True)
        assert res["spark_index"]["hits"] == res["spark_join"]["hits"] == res["hash_index"]["hits"]
        res["ratio_join_over_index"] = res["spark_join"]["seconds"] / res["spark_index"]["seconds"]
        spark.stop()

    print()
    print(f"{'method':<12} {'build s':>9} {'memory MB':>10} {'lookups/s':>12} {'spark s':>9}")
    for k in ("python_set", "hash_index"):
        r = res[k]
        print(f"{k:<12} {r['build_s']:>9.1f} {r['memory_mb']:>10.0f} {r['lookups_per_s']:>12,.0f} {'':>9}")
    for k in ("spark_index", "spark_join"):
        if k in res:
            print(f"{k:<12} {'':>9} {'':>10} {args.urls / res[k]['seconds']:>12,.0f} {res[k]['seconds']:>9.1f}")
    if "ratio_join_over_index" in res:
        print(f"spark-join / spark-index time: {res['ratio_join_over_index']:.2f}x")
    if res["python_set"]["memory_mb"] > 1:
        print(f"hash-index memory / python-set memory: {res['hash_index']['memory_mb'] / res['python_set']['memory_mb']:.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
