"""Benchmark: KenLM (CCNet) scoring throughput through Spark vs a plain Python loop over kenlm.Model
(the ceiling), the full long-context signal UDF, and coherence tokens/s (KenLM + cache, and the
causal LM through Spark beside a plain loop).

    python bench/bench_longctx.py [--docs 40] [--repeats 3] [--cores 2]
        [--models DIR] [--causal-model DIR_OR_HUB_ID] [--device auto|cpu|cuda] [--skip-kenlm]

--causal-model: default a demo-size model trained here (longctx.causal_lm demo sizes). Causal-LM
tokens/s counts the tokens that go through the model: per chunk, the whole chunk ("with") plus the
short context and target ("without").

Text: the project's generated long documents (samplegen.kinds.long_story, en), about 45 kB each.
Models: built with jobs.training.train_lm from samplegen.crawl reference text unless --models is given.
Prints medians over --repeats; MB/s per core = MB / seconds / cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time



def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--models", help="dir with en.sp.model + en.arpa.bin (default: build demo-size models)")
    ap.add_argument("--causal-model", help="causal LM for the coherence benchmark (default: train a demo-size one)")
    ap.add_argument("--device", default="auto", help="causal LM device: auto | cpu | cuda")
    ap.add_argument("--batch-size", type=int, default=8, help="causal LM sequences per forward pass")
    ap.add_argument("--skip-kenlm", action="store_true", help="only the causal-LM coherence benchmark")
    args = ap.parse_args()
    if args.skip_kenlm:
        return bench_causal(args)

    from corpusmill.samplegen import kinds as K
    from corpusmill.samplegen.grammar import rng_for
    from corpusmill.udfs.longctx import coherence, perplexity
    from corpusmill.udfs.longctx.stats import SignalParams, document_signals, signals_mapper

    tmp = tempfile.mkdtemp(prefix="bench-longctx-")
    models = args.models
    if not models:
        from corpusmill.jobs.tools.demo_assets import build_kenlm_models

        models = os.path.join(tmp, "models")
        build_kenlm_models(models, ["en"], n_sentences=5000, vocab_size=2000)
    texts = ["\n".join(K.long_story(rng_for("bench", i), "en")["paragraphs"]) for i in range(args.docs)]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{args.docs} generated en long documents, {mb:.2f} MB; models {models}")

    # 1. the ceiling: plain loop over kenlm.Model (normalize + SentencePiece + KenLM), one core
    model = perplexity.load_model(models, "en")
    t_plain = median_time(lambda: [perplexity.score_document(model, t, 0) for t in texts], args.repeats)
    n_tok = sum(perplexity.score_document(model, t, 0).n_lm_tokens for t in texts)

    # 2. coherence alone (tokens/s of the n-gram + cache scorer, plain Python, one core)
    def coh_only():
        for t in texts:
            sc = coherence.CoherenceScorer(model, 4096, 1024, 1024, 0.2, 32, 1024)
            perplexity.score_document(model, t, 0, on_tokens=sc.feed)
            sc.finish()
    t_coh_total = median_time(coh_only, args.repeats)
    p = SignalParams(models, ("en",), stride_tokens=1024)
    t_all_plain = median_time(lambda: [document_signals(t, "en", p) for t in texts], args.repeats)

    # 3. through Spark: CCNet scoring alone, and the full signal UDF (stats + perplexity + coherence)
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config

    config = load_config(None, [f"storage.root={tmp}", f"spark.master=local[{args.cores}]", "spark.driver_memory=2g",
                                "spark.conf={spark.sql.execution.arrow.maxRecordsPerBatch: '8'}"])
    spark = get_spark(config, app_name="bench-longctx")
    spark.sparkContext.setLogLevel("ERROR")
    from corpusmill.schemas.longctx_signals import POINTERS, UDF_SCHEMA

    rows = [(f"d{i:04d}", "CC", "web", "en", "example.org", f"https://example.org/{i}", "f", str(i),
             len(t.encode()), t) for i, t in enumerate(texts)]
    cols = [c.name for c in POINTERS] + ["text"]
    df = spark.createDataFrame(rows, cols).repartition(args.cores * 2).cache()
    df.count()
    ppl_fn = perplexity.perplexity_mapper(models, ("en",))
    t_spark = median_time(lambda: df.select("doc_id", "language", "text").mapInArrow(
        ppl_fn, perplexity.PERPLEXITY_MAPPER_SCHEMA).write.format("noop").mode("overwrite").save(), args.repeats)
    passthrough = [c.name for c in POINTERS]
    t_spark_all = median_time(lambda: df.mapInArrow(signals_mapper(p, passthrough, UDF_SCHEMA), UDF_SCHEMA)
                              .write.format("noop").mode("overwrite").save(), args.repeats)
    spark.stop()

    print(f"\nmedians over {args.repeats} repeats ({args.cores} Spark cores, load average {os.getloadavg()[0]:.1f}):")
    print(f"  plain loop, CCNet perplexity, 1 core:        {mb / t_plain:6.2f} MB/s/core  ({n_tok / t_plain:,.0f} tokens/s)")
    print(f"  Spark mapInArrow, CCNet perplexity:          {mb / t_spark / args.cores:6.2f} MB/s/core  "
          f"(ratio to plain loop {mb / t_spark / args.cores / (mb / t_plain):.2f})")
    print(f"  plain loop, perplexity + coherence, 1 core:  {n_tok / t_coh_total:,.0f} tokens/s "
          f"(coherence alone ~{n_tok / max(t_coh_total - t_plain, 1e-9):,.0f} tokens/s)")
    print(f"  plain loop, all signals, 1 core:             {mb / t_all_plain:6.2f} MB/s/core")
    print(f"  Spark mapInArrow, all signals:               {mb / t_spark_all / args.cores:6.2f} MB/s/core  "
          f"(ratio to plain all-signals loop {mb / t_spark_all / args.cores / (mb / t_all_plain):.2f})")
    return bench_causal(args)


def bench_causal(args) -> int:
    """Causal-LM coherence: a plain loop over CausalCoherence (one process) vs mapInArrow on --cores."""
    from dataclasses import replace

    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.samplegen import kinds as K
    from corpusmill.samplegen.grammar import rng_for
    from corpusmill.udfs.longctx import causal_lm

    tmp = tempfile.mkdtemp(prefix="bench-causal-")
    config = load_config(None, [f"storage.root={tmp}", f"spark.master=local[{args.cores}]", "spark.driver_memory=2g",
                                "spark.conf={spark.sql.execution.arrow.maxRecordsPerBatch: '8'}"])
    model = args.causal_model
    if not model:
        from corpusmill.jobs.tools.demo_assets import build_causal_lm, demo_causal_lm

        model = os.path.join(tmp, "causal-lm")
        build_causal_lm(model, ["en"], demo_causal_lm(config), config.demo.causal_lm.docs)
    from corpusmill.jobs.stages.longctx import causal_spec

    spec = replace(causal_spec(config), model=os.path.abspath(model) if os.path.exists(model) else model,
                   device=args.device, batch_size=args.batch_size, threads=1)
    texts = ["\n".join(K.long_story(rng_for("bench", i), "en")["paragraphs"]) for i in range(args.docs)]
    sc = causal_lm.CausalCoherence(spec)
    sc.score_texts(texts[:2])                           # warm up
    per_chunk = sc.chunk + sc.target + sc.short
    n_chunks = sum(r.n_chunks for r in sc.score_texts(texts))
    n_tok = n_chunks * per_chunk
    t_plain = median_time(lambda: sc.score_texts(texts), args.repeats)

    spark = get_spark(config, app_name="bench-causal")
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.createDataFrame([(f"d{i:04d}", t) for i, t in enumerate(texts)], "doc_id string, text string")
    df = df.repartition(args.cores * 2).cache()
    df.count()

    def mapper(batches):
        import pyarrow as pa

        from corpusmill.udfs.longctx.causal_lm import get_scorer

        for b in batches:
            cols = b.to_pydict()
            rs = get_scorer(spec).score_texts(cols["text"])
            yield pa.RecordBatch.from_pydict({"doc_id": cols["doc_id"], "n": [r.n_chunks for r in rs]})
    run = lambda: df.mapInArrow(mapper, "doc_id string, n long").write.format("noop").mode("overwrite").save()  # noqa: E731
    run()                                               # warm up: workers load torch and the model
    t_spark = median_time(run, args.repeats)
    spark.stop()
    print(f"\ncausal-LM coherence, {model} on {sc.device} ({sc.dtype}); chunk {sc.chunk}, target {sc.target}, "
          f"short {sc.short}, stride {sc.stride}, max_chunks {spec.max_chunks}, batch {spec.batch_size}; "
          f"{args.docs} docs, {n_chunks} chunks, {n_tok:,} model tokens; medians over {args.repeats}, "
          f"load average {os.getloadavg()[0]:.1f}:")
    print(f"  plain loop, 1 process (1 torch thread):   {n_tok / t_plain:10,.0f} tokens/s  ({n_chunks / t_plain:.1f} chunks/s)")
    print(f"  Spark mapInArrow, {args.cores} cores:               {n_tok / t_spark:10,.0f} tokens/s  "
          f"({n_tok / t_spark / args.cores:,.0f} per core; ratio to the plain loop per core "
          f"{n_tok / t_spark / args.cores / (n_tok / t_plain):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
