"""Benchmark of the `code` stage: files/s and MB/s on Spark, budget fill, packing tokens/s vs the tokenizer.

Inputs are real code: installed Python packages from this interpreter's site-packages (default:
pandas and yaml; each becomes one repository, read as a directory). Prints:
  - stage throughput (files/s, MB/s of input bytes) over --repeats runs (median), local[2];
  - budget fill of the samples cut from large repositories (share with 90-100% of max_tokens),
    with split_to_fill on and off;
  - packing tokens/s (order + render + count + split, in-process) beside the tokenizer's own
    encode_batch over the same rendered text (the ceiling), median of --repeats, and their ratio.

    python bench/bench_code.py [--repos pandas,yaml] [--repeats 3] [--max-tokens 32768]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path



def site_packages() -> Path:
    import yaml

    return Path(yaml.__file__).resolve().parent.parent


def fill_stats(samples: list) -> tuple[int, float, float]:
    cut = [s for s in samples if s["kind"] == "cut" and s["sample_index"] < s["num_samples"] - 1]
    if not cut:
        return 0, float("nan"), float("nan")
    share = sum(0.9 <= s["fill"] <= 1.0 for s in cut) / len(cut)
    return len(cut), share, statistics.median(s["fill"] for s in cut)


def pack_bench(repo_dir: Path, repeats: int, max_tokens: int, vocab: int) -> None:
    """In-process: order + render + count + pack one repository vs encode_batch of the same rendered text."""
    from corpusmill.udfs.code import imports as ci
    from corpusmill.udfs.code import ingest as ing
    from corpusmill.udfs.code import markdown as md
    from corpusmill.udfs.code import order as co
    from corpusmill.udfs.code import pack as pk

    files = []
    for rel, data, size, _ in ing.iter_source_files(ing.Source(repo_dir.name, str(repo_dir), "dir"), 1 << 20):
        if data is None:
            continue
        info = ing.analyze_file(rel, data, size)
        if info["content"] and info["content"].strip() and not (info["is_binary"] or info["language"] == "unknown"):
            files.append((rel, info))
    train = [i["content"] for _, i in files[:4000]]
    t = time.perf_counter()
    spec = pk.train_bpe(train, tempfile.mkdtemp(prefix="bench-tok-"), vocab_size=vocab)
    print(f"tokenizer: byte-level BPE, vocab {vocab}, trained on {sum(map(len, train)) / 1e6:.1f} MB in "
          f"{time.perf_counter() - t:.1f}s")
    tok = pk.get_tokenizer(spec)
    paths = [p for p, _ in files]
    by = dict(files)
    docs = {p for p in paths if by[p]["is_doc"]}
    fin = {p: pk.FileIn(p, by[p]["language"], p in docs, by[p]["content"],
                        md.summarize(by[p]["language"], by[p]["content"]),
                        md.definitions(by[p]["language"], by[p]["content"])) for p in paths}
    imports = {p: ci.extract_imports(by[p]["language"], by[p]["content"]) for p in paths}
    opt = pk.PackOptions(max_tokens=max_tokens)
    pack_t, enc_t = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        idx = ci.RepoIndex(paths)
        resolved = {p: ci.resolve_imports(idx, p, imports[p]) for p in paths if p not in docs}
        order, breaks = co.order_files(paths, resolved, docs, "dependency")
        samples = pk.pack_files(repo_dir.name, "", [fin[p] for p in order], tok, opt)
        pack_t.append(time.perf_counter() - t)
        rendered = [md.render_file(f.path, f.language, f.doc, f.content, f.summary, f.definitions)
                    for f in (fin[p] for p in order)]
        t = time.perf_counter()
        n_tok = sum(len(e.ids) for e in tok._tok.encode_batch(rendered, add_special_tokens=False))
        enc_t.append(time.perf_counter() - t)
    total = sum(s.tokens for s in samples)
    pm, em = statistics.median(pack_t), statistics.median(enc_t)
    rows = [dict(kind="cut" if len(samples) > 1 else "whole", sample_index=i, num_samples=len(samples),
                 fill=s.tokens / max_tokens) for i, s in enumerate(samples)]
    n, share, medfill = fill_stats(rows)
    print(f"packing {repo_dir.name}: {len(files)} files, {total:,} tokens, {len(samples)} samples, "
          f"{breaks} cycle breaks; {n} cut non-final samples: {share:.1%} hold 90-100% (median fill {medfill:.3f})")
    print(f"pack (order+render+count+split) {total / pm:,.0f} tokens/s vs tokenizer encode_batch of the same "
          f"text {n_tok / em:,.0f} tokens/s: ratio {(total / pm) / (n_tok / em):.2f} (medians of {repeats})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", default="pandas,yaml")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=32768)
    ap.add_argument("--vocab", type=int, default=16384)
    ap.add_argument("--no-spark", action="store_true", help="only the in-process packing comparison")
    ap.add_argument("--no-split-run", action="store_true", help="skip the split_to_fill=false stage run")
    args = ap.parse_args()

    sp = site_packages()
    repos = [str(sp / r) for r in args.repos.split(",")]
    pack_bench(Path(repos[0]), args.repeats, args.max_tokens, args.vocab)
    if args.no_spark:
        return 0

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.stages import code_repos

    work = Path(tempfile.mkdtemp(prefix="bench-code-"))
    base = [f"storage.root={work}", "spark.master=local[2]", "spark.driver_memory=2g", "spark.shuffle_partitions=4",
            f"code.inputs={repos!r}".replace("'", '"'), f"code.max_tokens={args.max_tokens}"]
    cfg = load_config(None, base)
    spark = get_spark(cfg)
    n_bytes = sum(os.path.getsize(os.path.join(d, f)) for r in repos for d, _, fs in os.walk(r) for f in fs
                  if not os.path.islink(os.path.join(d, f)))
    times, result = [], None
    for i in range(args.repeats):
        t = time.perf_counter()
        result = code_repos.run(spark, cfg, force=True)
        times.append(time.perf_counter() - t)
        print(f"  run {i + 1}: {times[-1]:.1f}s", flush=True)
    med = statistics.median(times)
    print(f"stage on local[2]: {result.rows_in:,} files, {n_bytes / 1e6:.1f} MB, median {med:.1f}s over "
          f"{args.repeats} -> {result.rows_in / med:.1f} files/s, {n_bytes / 1e6 / med:.2f} MB/s "
          f"(kept {result.rows_out:,}, rejected {result.rows_rejected:,})")
    cols = ("kind", "sample_index", "num_samples", "fill", "token_count")
    rows = [r.asDict() for r in tableio.read_table(spark, cfg, "code_samples").select(*cols).collect()]
    n, share, medfill = fill_stats(rows)
    print(f"fill (split_to_fill=true): {len(rows)} samples, {n} cut non-final: {share:.1%} hold 90-100% of "
          f"{args.max_tokens} (median fill {medfill:.3f})")
    if not args.no_split_run:
        cfg2 = load_config(None, base + ["code.split_to_fill=false"])
        code_repos.run(spark, cfg2, force=True)
        rows2 = [r.asDict() for r in tableio.read_table(spark, cfg2, "code_samples").select(*cols).collect()]
        n2, share2, med2 = fill_stats(rows2)
        print(f"fill (split_to_fill=false, file boundaries only): {len(rows2)} samples, {n2} cut non-final: "
              f"{share2:.1%} hold 90-100% (median fill {med2:.3f})")
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
