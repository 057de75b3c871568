"""Benchmark + accuracy of the `dedup` stage vs datatrove's four-stage MinHash on the same corpus.

    python bench/bench_dedup.py --docs 10000 --repeats 3            # speed, both, median of 3
    python bench/bench_dedup.py --docs 3000 --accuracy               # + precision/recall vs brute force

The corpus (udfs.dedup_eval.generate: ~300-word documents, planted near duplicates over two dumps)
is written once as JSONL; datatrove reads that JSONL, corpusmill reads the same rows from a Delta
`documents` table written beforehand (the format stage's job, not timed). Both run in this process
on 2 cores: corpusmill on Spark local[2], datatrove with LocalPipelineExecutor(tasks=2, workers=2)
for signatures/filter, 14 bucket tasks on 2 workers, 1 cluster task; 14 x 9 = 126 hashes,
5-grams, sha1 64-bit hashing (its xxhash default fails with xxhash 4.x, see REFERENCE.md).
Peak memory = the highest summed RSS of this process and all its descendants, sampled every 0.2 s.
"""
from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from udfs import dedup_eval as ev  # noqa: E402

log = logging.getLogger("bench")


# ---------------------------------------------------------------------------------------------
class PeakRSS:
    """Peak of the summed RSS of this process tree (reads /proc; Linux only)."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    @staticmethod
    def tree_rss() -> int:
        me = os.getpid()
        parent, rss = {}, {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/status") as f:
                    txt = f.read()
            except OSError:
                continue
            pp = r = 0
            for line in txt.splitlines():
                if line.startswith("PPid:"):
                    pp = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    r = int(line.split()[1]) * 1024
            parent[int(d)], rss[int(d)] = pp, r
        total = 0
        for pid in rss:
            p = pid
            while p and p != me:
                p = parent.get(p, 0)
            if p == me:
                total += rss[pid]
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.tree_rss())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self.tree_rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()


class PhaseTimer(logging.Handler):
    """Splits a dedup run into phases from the stage's own progress messages."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[float, str]] = []

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("[dedup] ") and not msg.startswith("[dedup] done"):
            self.marks.append((time.monotonic(), msg[8:].split(":")[0][:40]))


# ---------------------------------------------------------------------------------------------
def make_corpus(n: int, work: Path, seed: int) -> tuple[list[dict], Path]:
    rows = ev.generate(n, seed=seed, mean_words=300).rows
    jl = work / "corpus"
    jl.mkdir(parents=True, exist_ok=True)
    half = (len(rows) + 1) // 2
    for i, part in enumerate((rows[:half], rows[half:])):       # 2 files = 2 datatrove tasks
        with open(jl / f"part{i}.jsonl", "w") as f:
            for r in part:
                f.write(json.dumps({"id": r["doc_id"], "text": r["text"], "metadata": {"dump": r["dump"]}}) + "\n")
    return rows, jl


def run_corpusmill(rows: list[dict], work: Path, repeats: int, overrides: list[str]) -> dict:
    from jobs import dedup, tableio
    from jobs.config import load_config
    from jobs.session import get_spark
    from schemas import documents

    base = ["spark.master=local[2]", "spark.driver_memory=2g", "spark.shuffle_partitions=8", *overrides]
    src_cfg = load_config(None, [f"storage.root={work / 'cm-src'}", *base])
    spark = get_spark(src_cfg)
    if not tableio.table_exists(spark, src_cfg, "documents"):
        df = spark.createDataFrame(rows, documents.SCHEMA)
        tableio.write_table(spark, src_cfg, documents.TABLE, df.repartition(4))
    times, phases, peaks, result = [], [], [], None
    timer = PhaseTimer()
    logging.getLogger("corpusmill").addHandler(timer)
    for k in range(repeats):
        root = work / f"cm-{k}"
        shutil.rmtree(root, ignore_errors=True)
        cfg = load_config(None, [f"storage.root={root}", *base])
        (root / "warehouse").mkdir(parents=True, exist_ok=True)
        os.symlink(src_cfg.table_path("documents"), cfg.table_path("documents"))
        timer.marks.clear()
        with PeakRSS() as mem:
            t0 = time.monotonic()
            res = dedup.run(spark, cfg, force=True)
            dt = time.monotonic() - t0
        end = time.monotonic()
        marks = timer.marks + [(end, "end")]
        ph = {}
        for (t, name), (t2, _) in zip(marks, marks[1:]):
            ph[name] = ph.get(name, 0.0) + (t2 - t)
        times.append(dt)
        phases.append(ph)
        peaks.append(mem.peak)
        log.info("corpusmill run %d: %.1fs, %d removed, peak %.2f GiB, phases %s", k, dt, res.rows_rejected,
                 mem.peak / 2**30, {a: round(b, 1) for a, b in ph.items()})
        d = tableio.read_table(spark, cfg, "dedup").select("doc_id", "cluster_id", "is_duplicate").collect()
        result = ({r.doc_id: r.cluster_id for r in d}, {r.doc_id for r in d if r.is_duplicate})
    logging.getLogger("corpusmill").removeHandler(timer)
    med_ph = {name: statistics.median(p.get(name, 0.0) for p in phases) for name in phases[0]}
    return dict(seconds=statistics.median(times), all_seconds=times, phases=med_ph, peak=max(peaks), result=result)


def run_datatrove(jl: Path, work: Path, repeats: int, bands: int, rows_per_band: int, clusters: bool = False) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    cfg = MinhashConfig(n_grams=5, num_buckets=bands, hashes_per_bucket=rows_per_band, seed=1,
                        hash_config=HashConfig(precision=64, hash_fc="sha1"))
    times, phases, peaks, removed = [], [], [], set()
    for k in range(repeats):
        w = work / f"dt-{k}"
        shutil.rmtree(w, ignore_errors=True)
        stages = [
            ("signatures", LocalPipelineExecutor(
                [JsonlReader(str(jl)), MinhashDedupSignature(output_folder=str(w / "sigs"), config=cfg)],
                tasks=2, workers=2, logging_dir=str(w / "logs1"))),
            ("buckets", LocalPipelineExecutor(
                [MinhashDedupBuckets(input_folder=str(w / "sigs"), output_folder=str(w / "buckets"), config=cfg)],
                tasks=cfg.num_buckets, workers=2, logging_dir=str(w / "logs2"))),
            ("cluster", LocalPipelineExecutor(
                [MinhashDedupCluster(input_folder=str(w / "buckets"), output_folder=str(w / "remove"), config=cfg,
                                     save_cluster_id=clusters)],
                tasks=1, workers=1, logging_dir=str(w / "logs3"))),
            ("filter", LocalPipelineExecutor(
                [JsonlReader(str(jl)),
                 MinhashDedupFilter(input_folder=str(w / "remove"), load_cluster_ids=clusters,
                                    exclusion_writer=JsonlWriter(str(w / "removed"))),
                 JsonlWriter(str(w / "kept"))],
                tasks=2, workers=2, logging_dir=str(w / "logs4"))),
        ]
        ph = {}
        with PeakRSS() as mem:
            t0 = time.monotonic()
            for name, ex in stages:
                t = time.monotonic()
                ex.run()
                ph[name] = time.monotonic() - t
            dt = time.monotonic() - t0
        times.append(dt)
        phases.append(ph)
        peaks.append(mem.peak)
        removed, cluster_of = set(), {}
        for sub in ("removed", "kept"):
            for f in sorted((w / sub).glob("*.jsonl*")):
                opener = gzip.open if f.suffix == ".gz" else open
                with opener(f, "rt") as fh:
                    for line in fh:
                        d = json.loads(line)
                        cid = d.get("metadata", {}).get("minhash_cluster_id", -1)
                        cluster_of[d["id"]] = f"dt{cid}" if cid != -1 else d["id"]
                        if sub == "removed":
                            removed.add(d["id"])
        log.info("datatrove run %d: %.1fs, %d removed, peak %.2f GiB, phases %s", k, dt, len(removed),
                 mem.peak / 2**30, {a: round(b, 1) for a, b in ph.items()})
    med_ph = {name: statistics.median(p[name] for p in phases) for name in phases[0]}
    return dict(seconds=statistics.median(times), all_seconds=times, phases=med_ph, peak=max(peaks), removed=removed,
                cluster_of=cluster_of)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/corpusmill-bench-dedup")
    ap.add_argument("--accuracy", action="store_true", help="score both against brute force (small corpora)")
    ap.add_argument("--no-peer", action="store_true", help="skip datatrove")
    ap.add_argument("--set", action="append", default=[], help="corpusmill config override (dedup.minhash.verify=false)")
    ap.add_argument("--dt-bands", type=int, default=14)
    ap.add_argument("--dt-rows", type=int, default=9)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("py4j", "datatrove"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from loguru import logger as _lg   # datatrove logs through loguru: keep the bench output readable
        _lg.remove()
        _lg.add(sys.stderr, level="WARNING")
    except ImportError:
        pass
    work = Path(args.work) / f"n{args.docs}-s{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    rows, jl = make_corpus(args.docs, work, args.seed)
    mb = sum(r["text_bytes"] for r in rows) / 1e6
    print(f"corpus: {len(rows):,} documents, {mb:.1f} MB of text, {len(rows) and mb * 1e6 / len(rows):.0f} B/doc")
    cm = run_corpusmill(rows, work, args.repeats, args.set)
    out = {"corpusmill": cm}
    if not args.no_peer:
        out["datatrove"] = run_datatrove(jl, work, args.repeats, args.dt_bands, args.dt_rows, clusters=args.accuracy)
    print(f"\n== {len(rows):,} docs, median of {args.repeats} (2 cores, local[2]) ==")
    for name, r in out.items():
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in r["phases"].items())
        print(f"{name:11s} {r['seconds']:8.1f}s  {len(rows) / r['seconds']:9.0f} docs/s  peak {r['peak'] / 2**30:.2f} GiB"
              f"  runs {[round(x, 1) for x in r['all_seconds']]}\n            phases: {phases}")
    if "datatrove" in out:
        print(f"ratio corpusmill/datatrove docs/s: {out['datatrove']['seconds'] / cm['seconds']:.2f}x")
    if args.accuracy:
        truth = ev.true_pairs(rows)
        cluster_of, removed = cm["result"]
        s = ev.score(rows, truth, cluster_of, removed)
        print(f"\naccuracy vs brute force (J >= 0.7; {s.true_pairs} true pairs, {s.truth_cluster_pairs} pairs in "
              f"true components)")
        print(f"corpusmill  pairs P {s.pair_precision:.4f} R {s.pair_recall:.4f} (direct R {s.direct_recall:.4f})  "
              f"removed docs P {s.doc_precision:.4f} R {s.doc_recall:.4f}")
        print("            recall by true-Jaccard bucket: " +
              ", ".join(f"{k} {v[0]:.3f} (n={v[1]})" for k, v in s.recall_by_bucket.items()))
        if "datatrove" in out:
            # datatrove keeps the first document of a cluster (no dump rule), so removed-document P/R
            # against our keep rule would mislead; the pair scores are keep-rule free
            d = ev.score(rows, truth, out["datatrove"]["cluster_of"], set())
            print(f"datatrove   pairs P {d.pair_precision:.4f} R {d.pair_recall:.4f} (direct R {d.direct_recall:.4f})"
                  f"  removed {len(out['datatrove']['removed'])} docs vs {len(removed)} corpusmill")
            print("            recall by true-Jaccard bucket: " +
                  ", ".join(f"{k} {v[0]:.3f} (n={v[1]})" for k, v in d.recall_by_bucket.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
