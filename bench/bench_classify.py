"""Classifier scoring throughput through Spark: length-sorted batching on vs off.

    bench/bench_classify.py [--docs 240] [--repeats 3] [--max-length 512] [--batch-size 32] [--model DIR]
                            [--master local[2]] [--device auto]

Scores the same generated documents (token lengths log-uniform between 16 and 2x max_length, so
some are cut to max_length and many are short, like web text) with udfs.classifiers.classify.score_column on
local[2], alternating sorted / unsorted runs after one warm-up run per mode (which loads the model
in each Python worker). Prints documents/s per run, the medians, and the sorted/unsorted ratio.
Sorting only helps when a partition holds several model batches: keep docs / partitions at
4 x batch_size or more (e.g. --docs 64 --batch-size 8). The script also prints the token positions
each mode computes (batch size x longest input, per batch), the contention-free measure of the work
sorting saves. Default model: the offline MiniLM-L6 backbone with a fresh 2-label head (same compute as a
fine-tuned classifier). With --device cuda on a GPU machine it measures the CUDA path and samples GPU
utilization with nvidia-smi while scoring.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace


WORDS = ("data pipeline spark model token river mountain city market energy policy science music garden "
         "history language network system value quality report season market engine window coffee paper "
         "student teacher museum harbor planet signal").split()


def make_docs(n: int, max_length: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        words = int(math.exp(rng.uniform(math.log(16), math.log(2 * max_length))))
        docs.append(" ".join(rng.choice(WORDS) for _ in range(words)))
    return docs


class GpuSampler:
    """Mean GPU utilization (%) from nvidia-smi every 0.5 s while running; None without a GPU."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._t = None

    def __enter__(self):
        def loop():
            while not self._stop.is_set():
                try:
                    out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                         capture_output=True, text=True, timeout=5).stdout
                    self.samples += [float(x) for x in out.split() if x.strip()]
                except Exception:  # noqa: BLE001 - no nvidia-smi: no samples
                    return
                self._stop.wait(0.5)

        self._t = threading.Thread(target=loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=6)

    @property
    def mean(self):
        return statistics.mean(self.samples) if self.samples else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=240)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--model", default="", help="model directory (default: MiniLM-L6 backbone, fresh head)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from pyspark.sql import functions as F

    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.training.train_classifier import default_backbone
    from corpusmill.udfs.classifiers.classify import ClassifierSpec, get_scorer, score_column

    model = args.model or default_backbone()
    root = tempfile.mkdtemp(prefix="bench-classify-")
    cfg = load_config(None, [f"storage.root={root}", f"spark.master={args.master}", "spark.driver_memory=2g",
                             f"spark.shuffle_partitions={args.partitions}"])
    spark = get_spark(cfg, app_name="bench-classify")
    docs = make_docs(args.docs, args.max_length)
    spec_on = ClassifierSpec(model, head="", strategy="head", max_length=args.max_length, batch_size=args.batch_size,
                             device=args.device, precision=args.precision, sort_by_length=True, max_chunks=16,
                             threads=0, runtime="auto", cascade=True, band=[])
    spec_off = replace(spec_on, sort_by_length=False)
    tok = get_scorer(replace(spec_on, device="cpu", precision="auto", batch_size=32)).tokenizer
    n_tok = [min(len(x), args.max_length) for x in tok(docs, add_special_tokens=True)["input_ids"]]
    df = spark.createDataFrame([(i, d) for i, d in enumerate(docs)], "id int, text string") \
        .repartition(args.partitions, "id").cache()
    df.count()

    def run(spec) -> tuple[float, float | None]:
        out = score_column(df, "text", spec, "p")
        t0 = time.perf_counter()
        with GpuSampler() as g:
            out.select(F.map_values("p")).write.format("noop").mode("overwrite").save()
        return args.docs / (time.perf_counter() - t0), g.mean

    print(f"{args.docs} docs, {args.partitions} partitions, master {args.master}, device {args.device}, "
          f"max_length {args.max_length}, batch {args.batch_size}; tokens/doc after cut: mean "
          f"{statistics.mean(n_tok):.0f}, median {statistics.median(n_tok):.0f}, "
          f"{sum(1 for n in n_tok if n >= args.max_length)} docs at {args.max_length}", flush=True)
    # the work each mode does, independent of CPU contention: token positions run through the model
    # (batch size x longest input of the batch), per partition in row order, as udfs.classifiers.classify batches them
    lens = dict(zip(range(len(docs)), n_tok))
    parts: dict[int, list[int]] = {}
    for r in df.select("id", F.spark_partition_id().alias("p")).collect():
        parts.setdefault(r["p"], []).append(r["id"])
    padded = {"sorted": 0, "unsorted": 0}
    for ids in parts.values():
        ls = [lens[i] for i in ids]
        for name, seq in (("sorted", sorted(ls)), ("unsorted", ls)):
            padded[name] += sum(max(seq[k:k + args.batch_size]) * len(seq[k:k + args.batch_size])
                                for k in range(0, len(seq), args.batch_size))
    print(f"token positions computed: sorted {padded['sorted']:,}, unsorted {padded['unsorted']:,} "
          f"(real tokens {sum(n_tok):,}); unsorted/sorted work ratio {padded['unsorted'] / padded['sorted']:.2f}x",
          flush=True)
    run(spec_on), run(spec_off)                       # warm-up: model load in every Python worker
    res: dict[str, list[float]] = {"sorted": [], "unsorted": []}
    gpu: dict[str, list[float]] = {"sorted": [], "unsorted": []}
    for r in range(args.repeats):
        for name, spec in (("sorted", spec_on), ("unsorted", spec_off)):
            dps, util = run(spec)
            res[name].append(dps)
            if util is not None:
                gpu[name].append(util)
            print(f"  repeat {r + 1} {name:8}: {dps:7.2f} docs/s" + (f", GPU util {util:.0f}%" if util is not None
                                                                      else ""), flush=True)
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"median docs/s: length-sorted {med['sorted']:.2f}, unsorted {med['unsorted']:.2f}, "
          f"ratio sorted/unsorted {med['sorted'] / med['unsorted']:.2f}x")
    if gpu["sorted"]:
        print(f"mean GPU utilization: sorted {statistics.mean(gpu['sorted']):.0f}%, "
              f"unsorted {statistics.mean(gpu['unsorted']):.0f}%")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
