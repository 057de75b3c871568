"""Benchmark + accuracy of the `dedup` stage vs datatrove's four-stage MinHash on the same JSONL corpus.

    python bench/bench_dedup.py --docs 100000 --repeats 3 --cold
    python bench/bench_dedup.py --docs 3000 --accuracy   # + brute force P/R
    python bench/bench_dedup.py --docs 100000 --boilerplate 100000 --no-peer

What runs: the corpus (udfs.dedup.evaluate.generate: lognormal ~300-word documents, about 40% planted
near duplicates of earlier documents over two dumps; --boilerplate N adds N copies of one ~300-word
page that differ in one word each, all in one LSH bucket) is written once as JSONL. corpusmill
loads that JSONL into the Delta `documents` table (the format stage's job: timed and printed as
"load", not counted) and runs `dedup` on Spark local[2]. datatrove reads the same JSONL files
(JsonlReader, id_key=doc_id) with LocalPipelineExecutor: signatures 2 tasks / 2 workers, buckets
14 tasks / 2 workers, cluster 1 task, filter 2 tasks / 2 workers; 14 x 9 = 126 hashes, 5-grams,
sha1 64-bit hashing (its xxhash default fails with xxhash 4.x, see REFERENCE.md). Both write their
kept documents (datatrove: JSONL.gz; corpusmill: the Delta `deduped`, `dedup` and `rejected`
tables), so both timings are corpus in -> deduplicated corpus out.

Each system runs in its own child process (`--child`), one after the other, never overlapping, so
neither's peak memory includes the other's JVM or worker pool; peak memory = the highest summed
RSS of that child and all its descendants (Spark JVM, Python workers, datatrove's pool), sampled
every 0.2 s. Corpus generation runs in a child too and is timed separately (excluded).

Accuracy: --accuracy scores both against brute force (every pair's exact shingle Jaccard; small N
only). At any N the generator knows the planted families, so the bench also reports
  family precision  share of same-cluster pairs whose documents come from one planted family
                    (unrelated generated documents share almost no 5-gram, so a cross-family pair
                    is a false merge);
  planted recall    share of planted (base, variant) pairs with exact Jaccard >= 0.7 (measured,
                    up to 20,000 sampled pairs) that end up in one cluster;
  agreement         documents in a non-singleton cluster by one system and not the other.

Sessions. corpusmill runs the stage in one of two kinds of process, both timed from the stage's
start to its last commit (the Spark session itself is started before the clock):
  warm  (default)  the child first writes the JSONL into `documents` (untimed), as the format stage
                   does right before dedup inside `corpusmill run`: JVM, Delta and the metastore
                   client are up, the Python UDF path is not;
  cold  (--cold)   a fresh process whose first work is the dedup stage (as `spark-submit
                   jobs/stages/dedup.py`), on a table another process wrote. It pays the one-off warm-up
                   (first Delta snapshot, metastore client, first Python UDF pass, JIT): ~14 s at 100k.
A corpusmill run's CPU seconds are the stage's own (the untimed load excluded); its peak RSS is the
highest sampled while the stage runs (the JVM keeps the heap the load grew).

Results at 100k, one invocation, the three systems alternating (local[2], 2 cores):

    python bench/bench_dedup.py --docs 100000 --repeats 3 --cold

  system            median s  docs/s  runs (s)              CPU s  peak RSS
  corpusmill (warm)     79.9   1,252  91.5, 79.9, 62.6        153  3.70 GiB
  corpusmill (cold)     93.9   1,065  97.7, 93.9, 78.1        179  3.59 GiB
  datatrove            426.6     234  455.3, 404.1, 426.6     846  1.35 GiB

  ratio of medians: warm 5.34x wall (5.54x per CPU second), cold 4.54x (4.71x per CPU second).
  The host sped up during the run (all three systems' last runs are the fastest); ratios within
  each round: warm 4.98x, 5.06x, 6.81x; cold 4.66x, 4.30x, 5.46x.
  Phases (warm median): signatures 23.9 s, join 4.5, exact groups 4.3, LSH 6.1, verification 5.3,
  components (incl. the exact-Jaccard texts) 14.6, keep rule + write dedup 9.6, write deduped +
  rejected 11.2; cold adds setup 6.4 s (first Delta snapshot) and 8.8 s of signatures (first UDF
  pass). datatrove: signatures 379.6 s, buckets 3.1, cluster 0.5, filter 44.0.
  Candidate edges join each bucket member to the list of 2+-member buckets (broadcast) rather than
  take a window over all band rows: 2.9 s vs 4.7 s on the 100k signatures, median of 3, same process.

Accuracy, brute force over every pair (--docs 1000 --accuracy, 293 true pairs at J >= 0.7):

    python bench/bench_dedup.py --docs 1000 --accuracy

    corpusmill default (25 x 5, estimate + exact Jaccard within 0.15)  pairs P 1.0000 R 0.9905
    corpusmill exact_margin=1.0 (every edge on the texts)              pairs P 1.0000 R 0.9905
    corpusmill verify_method=signature                                 pairs P 0.9510 R 0.9180
    corpusmill verify=false                                            pairs P 0.5532 R 1.0000
    datatrove 14 x 9, no verification                                  pairs P 0.8770 R 0.8770
  recall by true Jaccard, corpusmill default: [0.70,0.75) 0.978, [0.75,0.80) 1.000, >= 0.80 1.000;
  datatrove: 0.630, 0.750, [0.80,0.90) 0.947, [0.90,1.00] 1.000.
  Every record accounted for: corpusmill in = deduped + rejected, datatrove in = kept
  + removed, checked and printed per run. Corpus generation and the JSONL -> Delta load are not
  timed; datatrove's time includes reading the JSONL twice (it has no separate load step).

Accuracy on web-like prose (--style prose: case, punctuation, numbers, re-crawled copies, listing
templates, 46 pages of symbols only), 7,000 documents, against both truths:

    python bench/bench_dedup.py --style prose --docs 7000 --accuracy

    truth: the stage's normalized shingles (1,781 true pairs)   pairs P 1.0000 R 0.9960, removed docs P 1.0000 R 0.9971
      (before signature key v3, symbol pages one exact group)   pairs P 0.6561 R 0.9960, removed docs P 0.9680 R 0.9971
    truth: the raw text (923 true pairs)                        pairs P 0.4952 R 0.9969, removed docs P 0.5831 R 0.9975
      removed with no raw-text neighbour at 0.7: 520, all explained by normalization (digits 431, case 29,
      punctuation 24, several 36)
    datatrove 14 x 9                                             normalized P 0.7910 R 0.9218, raw P 0.3951 R 0.9307
    --set dedup.minhash.{lowercase,strip_punct,digits_to_zero}=false, raw truth:
                                                                 pairs P 1.0000 R 0.9990, removed docs P 1.0000 R 0.9987
"""
from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path


from proctree import PeakRSS, tree_cpu  # bench/ is sys.path[0] when run as a script

log = logging.getLogger("bench")


# ---------------------------------------------------------------------------------------------
def run_child(args: list[str], out_json: Path, log_file: Path) -> dict:
    """Run this script as a child process; returns its result JSON plus the tree's peak RSS."""
    out_json.unlink(missing_ok=True)
    with open(log_file, "w") as lf:
        p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args, "--out-json", str(out_json)],
                             stdout=lf, stderr=subprocess.STDOUT)
        with PeakRSS(p.pid) as mem:
            rc = p.wait()
    if rc != 0 or not out_json.exists():
        tail = log_file.read_text(errors="replace").splitlines()[-40:]
        raise RuntimeError(f"child {args[:2]} exited {rc}; last lines of {log_file}:\n" + "\n".join(tail))
    res = json.loads(out_json.read_text())
    # a corpusmill child measures its timed stage itself (its untimed JSONL load is excluded)
    res["peak"] = res.pop("stage_peak", None) or mem.peak
    res["cpu"] = res.pop("stage_cpu", None) or mem.cpu_seconds
    return res


# ---------------------------------------------------------------------------------------------
# children
def child_generate(a) -> dict:
    from corpusmill.udfs.dedup import evaluate as ev

    t0 = time.monotonic()
    gen = ev.generate_prose if a.style == "prose" else ev.generate
    corpus = gen(a.docs, seed=a.seed, mean_words=300)
    rows, planted = corpus.rows, list(corpus.planted)
    if a.boilerplate:
        rng = random.Random(a.seed)
        vocab = ev.vocabulary(20000, a.seed)
        page = [rng.choice(vocab) for _ in range(300)]
        for i in range(a.boilerplate):
            words = list(page)
            words[rng.randrange(len(words))] = rng.choice(vocab)       # one word differs: J ~ 0.97
            did = ev.doc_id("boiler", str(a.seed), str(i))
            rows.append(ev._row(did, rng.choice(("CC-MAIN-2023-06", "CC-MAIN-2024-10")), " ".join(words),
                                a.docs + i))
            if i:
                planted.append((ev.doc_id("boiler", str(a.seed), "0"), did))
    jl = Path(a.corpus)
    shutil.rmtree(jl, ignore_errors=True)
    jl.mkdir(parents=True)
    half = (len(rows) + 1) // 2
    for i, part in enumerate((rows[:half], rows[half:])):       # 2 files = 2 datatrove tasks
        with open(jl / f"part{i}.jsonl", "w") as f:
            for r in part:
                f.write(json.dumps(r) + "\n")
    with open(Path(a.corpus).parent / "planted.json", "w") as f:
        json.dump(planted, f)
    return dict(seconds=time.monotonic() - t0, docs=len(rows), text_bytes=sum(r["text_bytes"] for r in rows),
                planted=len(planted))


class PhaseTimer(logging.Handler):
    """Splits a dedup run into phases from the stage's own progress messages."""

    PHASES = [("signatures of new documents", "signatures"),
              ("dump order", "join"),
              ("exact groups", "exact"),
              ("LSH candidate edges", "LSH"),
              ("verification", "verify"),
              ("connected components", "components"),
              ("keep rule", "keep rule+write dedup"),
              ("write deduped", "write deduped+rejected"),
              ("write dedup", "keep rule+write dedup")]

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[float, str]] = []

    def emit(self, record):
        msg = record.getMessage()
        for prefix, name in self.PHASES:
            if msg.startswith("[dedup] " + prefix):
                if not self.marks or self.marks[-1][1] != name:
                    self.marks.append((time.monotonic(), name))
                return


def child_corpusmill(a) -> dict:
    """One dedup run. Warm (default): this session first writes the JSONL into `documents` (untimed),
    as the format stage does right before dedup inside `corpusmill run`, so the JVM, Delta and the
    metastore client are up. Cold (--cold): a fresh process whose first work is the dedup stage, on
    a table an earlier process wrote; it pays the one-off JVM/Delta/metastore warm-up (~14 s at 100k)."""
    from pyspark.sql import functions as F

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.stages import dedup
    from corpusmill.schemas import documents

    logging.getLogger("py4j").setLevel(logging.WARNING)
    base = ["spark.master=local[2]", f"spark.driver_memory={a.driver_memory}", "spark.shuffle_partitions=8", *a.set]
    work = Path(a.work)
    src = work / ("cm-src" if a.cold or a.load_only else "cm-load")
    if not a.cold:
        shutil.rmtree(src, ignore_errors=True)
    src_cfg = load_config(None, [f"storage.root={src}", *base])
    spark = get_spark(src_cfg)
    load_s = None
    if not a.cold:
        t = time.monotonic()
        df = spark.read.schema(documents.SCHEMA).json(str(Path(a.corpus)))
        tableio.write_table(spark, src_cfg, documents.TABLE, df)
        load_s = time.monotonic() - t
        if a.load_only:
            spark.stop()
            return dict(load_seconds=load_s)
    elif not tableio.table_exists(spark, src_cfg, "documents"):
        raise RuntimeError(f"--cold needs {src} loaded first (--load-only)")
    root = work / "cm-run"
    shutil.rmtree(root, ignore_errors=True)
    cfg = load_config(None, [f"storage.root={root}", *base])
    (root / "warehouse").mkdir(parents=True, exist_ok=True)
    os.symlink(src_cfg.table_path("documents"), cfg.table_path("documents"))
    timer = PhaseTimer()
    logging.getLogger("corpusmill").addHandler(timer)
    cpu0 = tree_cpu()
    with PeakRSS() as mem:          # the stage alone (the untimed load is outside)
        t0 = time.monotonic()
        timer.marks.append((t0, "setup"))
        res = dedup.run(spark, cfg, force=True)
        end = time.monotonic()
    marks = timer.marks + [(end, "end")]
    phases: dict[str, float] = {}
    for (t, name), (t2, _) in zip(marks, marks[1:]):
        phases[name] = phases.get(name, 0.0) + (t2 - t)
    d = tableio.read_table(spark, cfg, "dedup")
    rej = tableio.read_table(spark, cfg, "rejected").where(F.col("stage") == "dedup")
    n_docs = tableio.read_table(spark, cfg, "documents").count()
    n_kept = tableio.read_table(spark, cfg, "deduped").count()
    n_rej = rej.count()
    clustered = d.where(F.col("cluster_size") > 1).select("doc_id", "cluster_id", "is_duplicate").collect()
    if a.spark_stages:
        spark_stage_times(spark)
    out = dict(seconds=end - t0, phases=phases, load_seconds=load_s, stage_peak=mem.peak,
               stage_cpu=mem.cpu_since(cpu0), rows_in=res.rows_in, rows_out=res.rows_out,
               rows_rejected=res.rows_rejected, docs_table=n_docs, deduped_table=n_kept, rejected_table=n_rej,
               cluster_of={r.doc_id: r.cluster_id for r in clustered},
               removed=sorted(r.doc_id for r in clustered if r.is_duplicate))
    spark.stop()
    return out


def spark_stage_times(spark, top: int = 25) -> None:
    """Print the Spark stages that took longest (from the UI's REST API): where the time went."""
    import urllib.request

    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages?status=complete"
    stages = json.loads(urllib.request.urlopen(url).read())
    stages.sort(key=lambda s: s.get("executorRunTime", 0), reverse=True)
    print(f"slowest Spark stages by executor run time (of {len(stages)}):", file=sys.stderr)
    for s in stages[:top]:
        print(f"  {s['executorRunTime'] / 1000:7.1f}s  tasks {s['numTasks']:4d}  in {s.get('inputBytes', 0) / 1e6:7.1f} MB"
              f"  shuffle r/w {s.get('shuffleReadBytes', 0) / 1e6:7.1f}/{s.get('shuffleWriteBytes', 0) / 1e6:7.1f} MB"
              f"  {s.get('description') or ''} | {s['name'][:70]}", file=sys.stderr)


def child_datatrove(a) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    try:
        from loguru import logger as _lg  # datatrove logs through loguru: keep the output readable
        _lg.remove()
        _lg.add(sys.stderr, level="WARNING")
    except ImportError:
        pass
    jl, w = str(Path(a.corpus)), Path(a.work) / "dt-run"
    cfg = MinhashConfig(n_grams=5, num_buckets=a.dt_bands, hashes_per_bucket=a.dt_rows, seed=1,
                        hash_config=HashConfig(precision=64, hash_fc="sha1"))
    shutil.rmtree(w, ignore_errors=True)

    def reader():
        return JsonlReader(jl, id_key="doc_id", text_key="text")

    stages = [
        ("signatures", LocalPipelineExecutor(
            [reader(), MinhashDedupSignature(output_folder=str(w / "sigs"), config=cfg)],
            tasks=2, workers=2, logging_dir=str(w / "logs1"))),
        ("buckets", LocalPipelineExecutor(
            [MinhashDedupBuckets(input_folder=str(w / "sigs"), output_folder=str(w / "buckets"), config=cfg)],
            tasks=cfg.num_buckets, workers=2, logging_dir=str(w / "logs2"))),
        ("cluster", LocalPipelineExecutor(
            [MinhashDedupCluster(input_folder=str(w / "buckets"), output_folder=str(w / "remove"), config=cfg,
                                 save_cluster_id=True)],
            tasks=1, workers=1, logging_dir=str(w / "logs3"))),
        ("filter", LocalPipelineExecutor(
            [reader(),
             MinhashDedupFilter(input_folder=str(w / "remove"), load_cluster_ids=True,
                                exclusion_writer=JsonlWriter(str(w / "removed"))),
             JsonlWriter(str(w / "kept"))],
            tasks=2, workers=2, logging_dir=str(w / "logs4"))),
    ]
    phases = {}
    t0 = time.monotonic()
    for name, ex in stages:
        t = time.monotonic()
        ex.run()
        phases[name] = time.monotonic() - t
    dt = time.monotonic() - t0
    removed, cluster_of, n_kept = [], {}, 0
    for sub in ("removed", "kept"):
        for f in sorted((w / sub).glob("*.jsonl*")):
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rt") as fh:
                for line in fh:
                    d = json.loads(line)
                    cid = d.get("metadata", {}).get("minhash_cluster_id", -1)
                    if cid != -1:
                        cluster_of[d["id"]] = f"dt{cid}"
                    if sub == "removed":
                        removed.append(d["id"])
                    else:
                        n_kept += 1
    return dict(seconds=dt, phases=phases, cluster_of=cluster_of, removed=removed, rows_out=n_kept)


# ---------------------------------------------------------------------------------------------
# scoring (generator truth; no brute force)
def family_scores(planted_pairs: list, cluster_of: dict[str, str], corpus: Path, rng_seed: int = 0,
                  max_pairs: int = 20000, threshold: float = 0.7) -> dict:
    from corpusmill.udfs.dedup import minhash as mh

    family = {}
    for base, var in planted_pairs:
        family[var] = family.get(base, base)
    groups: dict[str, list[str]] = defaultdict(list)
    for d, c in cluster_of.items():
        groups[c].append(d)
    pairs = same = 0
    for members in groups.values():
        k = len(members)
        pairs += k * (k - 1) // 2
        for n in Counter(family.get(m, m) for m in members).values():
            same += n * (n - 1) // 2
    sample = list(planted_pairs)
    random.Random(rng_seed).shuffle(sample)
    sample = sample[:max_pairs]
    need = {x for p in sample for x in p}
    text = {}
    for f in sorted(corpus.glob("*.jsonl")):
        with open(f) as fh:
            for line in fh:
                r = json.loads(line)
                if r["doc_id"] in need:
                    text[r["doc_id"]] = r["text"]
    ids = sorted(text)
    sets = dict(zip(ids, mh.shingle_sets([text[i] for i in ids], ["words"] * len(ids), 5)))
    true = [(x, y) for x, y in sample if mh.jaccard(sets[x], sets[y]) >= threshold]
    found = sum(1 for x, y in true if x in cluster_of and cluster_of.get(x) == cluster_of.get(y))
    return dict(family_precision=same / pairs if pairs else 1.0, cluster_pairs=pairs,
                planted_recall=found / len(true) if true else 1.0, planted_true=len(true), planted_sampled=len(sample))


# ---------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--boilerplate", type=int, default=0, help="add N near-identical boilerplate pages")
    ap.add_argument("--style", choices=["words", "prose"], default="words",
                    help="words: lower-case synthetic words (default); prose: web-like text with case, "
                         "punctuation, numbers, re-crawled copies and listing templates (evaluate.generate_prose)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/corpusmill-bench-dedup")
    ap.add_argument("--accuracy", action="store_true", help="score both against brute force (small corpora)")
    ap.add_argument("--no-peer", action="store_true", help="skip datatrove")
    ap.add_argument("--only-peer", action="store_true", help="skip corpusmill")
    ap.add_argument("--set", action="append", default=[], help="corpusmill config override (dedup.minhash.verify=false)")
    ap.add_argument("--driver-memory", default="2g")
    ap.add_argument("--spark-stages", action="store_true", help="log corpusmill's slowest Spark stages")
    ap.add_argument("--cold", action="store_true",
                    help="also time corpusmill in fresh processes whose first work is dedup (one-off JVM warm-up)")
    ap.add_argument("--dt-bands", type=int, default=14)
    ap.add_argument("--dt-rows", type=int, default=9)
    ap.add_argument("--child", choices=["generate", "corpusmill", "datatrove"], help=argparse.SUPPRESS)
    ap.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--out-json", help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.child:
        res = {"generate": child_generate, "corpusmill": child_corpusmill, "datatrove": child_datatrove}[args.child](args)
        Path(args.out_json).write_text(json.dumps(res))
        return 0

    work = Path(args.work) / f"n{args.docs}-b{args.boilerplate}-s{args.seed}-{args.style}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    corpus = work / "corpus"
    common = ["--docs", str(args.docs), "--boilerplate", str(args.boilerplate), "--seed", str(args.seed),
              "--style", args.style,
              "--corpus", str(corpus), "--dt-bands", str(args.dt_bands), "--dt-rows", str(args.dt_rows),
              "--driver-memory", args.driver_memory,
              *(["--spark-stages"] if args.spark_stages else []), *[x for s in args.set for x in ("--set", s)]]
    gen = run_child(["--child", "generate", *common, "--work", str(work)], work / "gen.json", work / "gen.log")
    n = gen["docs"]
    print(f"corpus: {n:,} documents ({gen['planted']:,} planted variants), {gen['text_bytes'] / 1e6:.1f} MB of text, "
          f"{gen['text_bytes'] / n:.0f} B/doc; generated + written as JSONL in {gen['seconds']:.1f}s (not timed)",
          flush=True)
    systems = (([] if args.only_peer else ["corpusmill"] + (["corpusmill-cold"] if args.cold else []))
               + ([] if args.no_peer else ["datatrove"]))
    if args.cold and not args.only_peer:      # the table the cold runs read, written by another process
        run_child(["--child", "corpusmill", "--load-only", *common, "--work", str(work)], work / "load.json",
                  work / "load.log")
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for k in range(args.repeats):
        for s in systems:
            child = ["--child", s.removesuffix("-cold"), *(["--cold"] if s.endswith("-cold") else [])]
            r = run_child([*child, *common, "--work", str(work)], work / f"{s}-{k}.json", work / f"{s}-{k}.log")
            runs[s].append(r)
            extra = f", load JSONL->Delta {r['load_seconds']:.1f}s (not timed)" if r.get("load_seconds") else ""
            print(f"{s} run {k}: {r['seconds']:.1f}s, {len(r['removed']):,} removed, peak {r['peak'] / 2**30:.2f} GiB, "
                  f"phases {({a: round(b, 1) for a, b in r['phases'].items()})}{extra}", flush=True)
    planted = json.loads((work / "planted.json").read_text())
    print(f"\n== {n:,} docs, median of {args.repeats} run(s) (2 cores, corpusmill on local[2]) ==")
    summary, cpu_of = {}, {}
    for s, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        ph = {p: statistics.median(r["phases"].get(p, 0.0) for r in rs) for p in rs[0]["phases"]}
        peak = max(r["peak"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        summary[s] = sec
        cpu_of[s] = cpu
        last = rs[-1]
        print(f"{s:11s} {sec:8.1f}s  {n / sec:9.0f} docs/s  peak {peak / 2**30:.2f} GiB  runs {[round(r['seconds'], 1) for r in rs]}"
              f"\n            CPU {cpu:.0f}s (all processes of the run; includes JVM start and, for corpusmill, the "
              f"Delta commits of 3 tables)"
              f"\n            phases: " + ", ".join(f"{p} {v:.1f}s" for p, v in ph.items()))
        if s.startswith("corpusmill"):
            acc = (last["docs_table"] == last["rows_in"] == last["rows_out"] + last["rows_rejected"]
                   and last["deduped_table"] == last["rows_out"] and last["rejected_table"] == last["rows_rejected"])
            print(f"            accounted: {last['docs_table']:,} in = {last['rows_out']:,} deduped + "
                  f"{last['rows_rejected']:,} rejected ({'ok' if acc else 'MISMATCH'})")
        else:
            ok = last["rows_out"] + len(last["removed"]) == n
            print(f"            accounted: {n:,} in = {last['rows_out']:,} kept + {len(last['removed']):,} removed "
                  f"({'ok' if ok else 'MISMATCH'})")
        f = family_scores(planted, last["cluster_of"], corpus)
        print(f"            family precision {f['family_precision']:.4f} ({f['cluster_pairs']:,} same-cluster pairs), "
              f"planted recall at J>=0.7 {f['planted_recall']:.4f} ({f['planted_true']:,} of "
              f"{f['planted_sampled']:,} sampled planted pairs)")
    if "datatrove" in summary and "corpusmill" in summary:
        for s in (x for x in summary if x.startswith("corpusmill")):
            print(f"ratio {s}/datatrove docs/s: {summary['datatrove'] / summary[s]:.2f}x wall, "
                  f"{cpu_of['datatrove'] / cpu_of[s]:.2f}x per CPU second")
        a_set, b_set = set(runs["corpusmill"][-1]["cluster_of"]), set(runs["datatrove"][-1]["cluster_of"])
        print(f"agreement: {len(a_set & b_set):,} docs clustered by both, {len(a_set - b_set):,} only corpusmill, "
              f"{len(b_set - a_set):,} only datatrove")
    if args.accuracy:
        from corpusmill.udfs.dedup import evaluate as ev

        rows = []
        for fpath in sorted(corpus.glob("*.jsonl")):
            with open(fpath) as fh:
                rows += [json.loads(line) for line in fh]
        from corpusmill.jobs.registry import load_config

        norm = load_config(None, list(args.set)).dedup.minhash.spec().norm
        truths = {"stage's normalized shingles": ev.true_pairs(rows, norm=norm),
                  "raw text (whitespace words as written)": ev.true_pairs(rows, norm=ev.RAW)}
        for tname, truth in truths.items():
            print(f"\naccuracy vs brute force on the {tname} "
                  f"(exact J >= 0.7; {sum(j >= 0.7 for j in truth.values())} true pairs)")
            for s, rs in runs.items():
                co = {r["doc_id"]: rs[-1]["cluster_of"].get(r["doc_id"], r["doc_id"]) for r in rows}
                # datatrove keeps the first document of a cluster (no dump rule): removed-document P/R
                # against our keep rule would mislead, so it is scored on pairs only
                removed = set(rs[-1]["removed"]) if s.startswith("corpusmill") else set()
                sc = ev.score(rows, truth, co, removed)
                docs = (f"  removed docs P {sc.doc_precision:.4f} R {sc.doc_recall:.4f} (truth removes "
                        f"{len(ev.removed_by_keep_rule(rows, ev.components([r['doc_id'] for r in rows], [p for p, j in truth.items() if j >= 0.7])))})"
                        if removed else "")
                print(f"{s:11s} pairs P {sc.pair_precision:.4f} R {sc.pair_recall:.4f} (direct R {sc.direct_recall:.4f}){docs}")
                print("            recall by true-Jaccard bucket: " +
                      ", ".join(f"{k} {v[0]:.3f} (n={v[1]})" for k, v in sc.recall_by_bucket.items()))
                if removed and tname.startswith("raw"):
                    causes = ev.removal_causes(rows, removed, co, truth)
                    print(f"            removed with no raw-text neighbour at 0.7: {sum(causes.values())}, "
                          f"explained by normalization: " + ", ".join(f"{k} {v}" for k, v in sorted(causes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
