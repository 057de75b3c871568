"""Fixed costs per stage: every stage on a small input (default 1,000 documents), warm, and how much
of each stage's wall time is bookkeeping rather than its own compute.

    .venv/bin/python bench/bench_overhead.py --docs 1000 --repeats 3 --models DIR [--jobs]

The corpus is bench_pipeline.py's generator (text-source input, the same mix), in a store with the
default catalog (embedded Derby metastore). One warm-up pass runs every stage once (JVM, Python
workers, models loaded), then each stage runs --repeats more times with --force.

  compute      the Spark jobs a stage names after its own steps ("[rules] write clean": computing and
               writing its data), summed from the Spark UI's REST API;
  bookkeeping  the rest of the stage's wall time: skip check, input fingerprints, counts, Delta's
               commit work on the driver (snapshots, file listing, checkpoints), catalog registration,
               the `runs` record, planning.

The timed calls column wraps the shared bookkeeping functions of jobs/core/stage.py and
jobs/core/tableio.py (whichever a version of the code has, so older and newer code are measured
alike) and lists where their share of the time went in the last run.
"""
from __future__ import annotations

import argparse
import functools
import logging
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench_pipeline import bench_config, generate_corpus  # bench/ is sys.path[0] when run as a script


# (module, attribute) of the bookkeeping functions; methods as "Class.method"
BOOKKEEPING = [
    ("corpusmill.jobs.core.stage", "_last_success"), ("corpusmill.jobs.core.stage", "_record"),
    ("corpusmill.jobs.core.stage", "fingerprint_files"), ("corpusmill.jobs.core.stage", "fingerprint_tables"),
    ("corpusmill.jobs.core.stage", "StageRun.rows_written"),
    ("corpusmill.jobs.core.tableio", "register"), ("corpusmill.jobs.core.tableio", "table_version"),
    ("corpusmill.jobs.core.tableio", "recover_half_created"), ("corpusmill.jobs.core.tableio", "last_write_rows"),
    ("corpusmill.jobs.core.tableio", "_commit_rows"),
]
_timings: dict[str, list[float]] = defaultdict(list)
_depth = [0]


def _wrap(name: str, fn):
    @functools.wraps(fn)
    def timed(*a, **kw):
        _depth[0] += 1
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            _depth[0] -= 1
            if _depth[0] == 0:          # nested bookkeeping calls count once, in the outermost
                _timings[name].append(time.perf_counter() - t0)
    return timed


def instrument() -> list[str]:
    import importlib

    found = []
    for mod_name, attr in BOOKKEEPING:
        mod = importlib.import_module(mod_name)
        owner, _, leaf = attr.rpartition(".")
        target = getattr(mod, owner) if owner else mod
        if hasattr(target, leaf):
            setattr(target, leaf, _wrap(attr, getattr(target, leaf)))
            found.append(attr)
    return found


def spark_jobs(spark) -> list[dict]:
    """The application's Spark jobs (description, seconds) from the UI's REST API; [] without a UI."""
    import datetime as dt
    import json
    import urllib.request

    url = spark.sparkContext.uiWebUrl
    if not url:
        return []
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/jobs", timeout=10) as r:
        jobs = json.load(r)

    def ts(s):
        return dt.datetime.strptime(s.replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")

    return [{"id": j["jobId"], "what": j.get("description") or j.get("name", ""),
             "seconds": (ts(j["completionTime"]) - ts(j["submissionTime"])).total_seconds()}
            for j in jobs if j.get("completionTime")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", help="copy this models dir (demo classifiers) instead of training them")
    ap.add_argument("--work", default=str(Path.home() / ".cache" / "corpusmill" / "bench" / "overhead"))
    ap.add_argument("--stages", help="comma-separated stages (default: all)")
    ap.add_argument("--jobs", action="store_true", help="also list each stage's Spark jobs by description")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    found = instrument()
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.pipeline import run_pipeline, stages_by_name
    from corpusmill.jobs.tools import demo_assets
    from corpusmill.samplegen import code_repos as samplegen_code

    work = Path(args.work).resolve()
    root = work / "store"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    generate_corpus(work / "corpus", args.docs, 0, 2)
    if args.models:
        shutil.copytree(args.models, root / "models", dirs_exist_ok=True)
    config = bench_config(root, work / "corpus", "4g", 4)
    spark = get_spark(config)
    stages = stages_by_name(args.stages.split(",") if args.stages else None)
    demo_assets.prepare(config)                # the demo's blocklists and models, and code repositories
    samplegen_code.generate_for_config(config)
    print(f"wrapped: {', '.join(found)}", flush=True)
    for s in stages:                            # warm-up: JVM, workers, models, Delta classes
        run_pipeline(spark, config, [s.name], force=True)
    walls, books, compute = defaultdict(list), defaultdict(list), defaultdict(list)
    calls: dict[str, dict[str, list[float]]] = {}
    spark_s: dict[str, tuple[int, float, dict]] = {}
    rows: dict[str, int] = {}
    for _ in range(args.repeats):
        for s in stages:
            _timings.clear()
            seen = {j["id"] for j in spark_jobs(spark)}
            t0 = time.perf_counter()
            (res,) = run_pipeline(spark, config, [s.name], force=True)
            walls[s.name].append(time.perf_counter() - t0)
            jobs = [j for j in spark_jobs(spark) if j["id"] not in seen]
            by_what: dict[str, float] = defaultdict(float)
            for j in jobs:
                by_what[j["what"][:60]] += j["seconds"]
            spark_s[s.name] = (len(jobs), sum(j["seconds"] for j in jobs), by_what)
            compute[s.name].append(sum(j["seconds"] for j in jobs if j["what"].startswith(f"[{s.name}]")))
            books[s.name].append(sum(sum(v) for v in _timings.values()))
            calls[s.name] = {k: list(v) for k, v in _timings.items()}
            rows[s.name] = res.rows_in
            print(f"  {s.name:8s} {res.rows_in:6,} in  wall {walls[s.name][-1]:5.1f}s  compute "
                  f"{compute[s.name][-1]:5.1f}s  timed calls {books[s.name][-1]:5.1f}s", flush=True)
    spark.stop()
    print(f"\nmedian of {args.repeats} warm runs per stage ({args.docs:,} generated documents, local[2]):")
    print("| stage | rows in | wall s | compute s | bookkeeping s | timed calls s | calls (last run) |")
    print("|---|---|---|---|---|---|---|")
    for s in stages:
        detail = ", ".join(f"{k} x{len(v)} {sum(v):.2f}" for k, v in sorted(calls[s.name].items(),
                                                                           key=lambda kv: -sum(kv[1])) if sum(v) >= 0.05)
        book = statistics.median(w - c for w, c in zip(walls[s.name], compute[s.name]))
        print(f"| {s.name} | {rows[s.name]:,} | {statistics.median(walls[s.name]):.1f} | "
              f"{statistics.median(compute[s.name]):.1f} | {book:.1f} | {statistics.median(books[s.name]):.1f} | "
              f"{detail} |")
    if args.jobs:
        print("\nSpark jobs of each stage's last run (count, summed seconds; jobs may overlap the timed calls):")
        for s in stages:
            n, total, by_what = spark_s[s.name]
            print(f"{s.name:8s} {n:3d} jobs {total:6.1f}s  " + "; ".join(
                f"{k} {v:.1f}s" for k, v in sorted(by_what.items(), key=lambda kv: -kv[1])[:8]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
