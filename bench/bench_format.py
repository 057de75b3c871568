"""Benchmark of the `format` stage (a script, not a test).

  python bench/bench_format.py [--repeats 3] [--copies 11] [--modes] [--compare-options] [--warc]

1. Throughput: the 990 real pages of ../shared/data/trafilatura-eval, --copies times over (10,890
   pages by default), written into WARC files and run through the whole format stage on local[2]
   (extraction, language, ids, the `documents` / `rejected` / `runs` writes). Beside it, in the same
   process and interleaved with the job's repeats, the plain loop on one core: warcio over the WARC
   files of one copy -> `trafilatura.extract` (same options) -> pycld2 on the text; and the same loop in
   two processes at once (each on half the files), which shows what two busy cores give on this
   machine. Prints pages/s and MB/s of HTML (medians over repeats), the per-core ratio stage / plain
   loop (the stage's pages/s over 2) and the ratio stage / two plain processes.
2. Quality from the snippet ground truth: share of `with` snippets found in the extracted text and
   share of `without` (boilerplate) snippets wrongly kept, for the job's output and for plain
   extraction; --compare-options adds other Trafilatura option sets.
   --modes: the extraction modes side by side, Trafilatura's default (with its readability / jusText
   fallback) and `fast: true` (without), each with the project's other options: snippet quality and
   pages per CPU-second of the stage's own per-page path (udfs.format.extract.html_to_document:
   decoding, Trafilatura, clean-up), one process, the modes alternating over --repeats.
3. --warc: FastWARC vs warcio, speed (MB/s of WARC, median of repeats) and robustness (records read
   and errors on the deliberately broken files of warcio-test-warcs / resiliparse-test-warcs).

The machine may be shared: compare the ratios printed, which come from the same run.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))

OPTION_SETS = {
    "trafilatura defaults": {},
    "favor_precision": {"favor_precision": True},
    "favor_precision, no comments": {"favor_precision": True, "include_comments": False},
    "fast (no fallback), no comments": {"fast": True, "include_comments": False},
    "favor_recall, no comments": {"favor_recall": True, "include_comments": False},
}


def load_pages() -> list[dict]:
    d = DATA / "trafilatura-eval"
    if not d.is_dir():
        sys.exit(f"bench_format: {d} not found (set CORPUSMILL_SHARED_DATA)")
    pages = [json.loads(line) for line in (d / "manifest.jsonl").read_text().splitlines() if line.strip()]
    for p in pages:
        p["html"] = gzip.decompress((d / p["path"]).read_bytes())
    return pages


def write_warcs(pages: list[dict], out: Path, files: int) -> list[Path]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(files):
        p = out / f"eval-{k:02d}.warc.gz"
        with open(p, "wb") as fh:
            w = WARCWriter(fh, gzip=True)
            w.write_record(w.create_warcinfo_record(p.name, {"isPartOf": "CC-MAIN-2024-10"}))
            for page in pages[k::files]:
                hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
                w.write_record(w.create_warc_record(page["url"], "response", payload=io.BytesIO(page["html"]),
                                                    http_headers=hh))
        paths.append(p)
    return paths


def quality(pages: list[dict], texts: dict[str, str]) -> tuple[float, float]:
    found = kept = n_with = n_without = 0
    for p in pages:
        t = texts.get(p["url"]) or ""
        found += sum(s in t for s in p["with"])
        kept += sum(s in t for s in p["without"])
        n_with += len(p["with"])
        n_without += len(p["without"])
    return found / n_with, kept / n_without


def plain_extract(pages: list[dict], options: dict) -> tuple[float, dict]:
    import trafilatura

    t0 = time.perf_counter()
    texts = {p["url"]: trafilatura.extract(p["html"], url=p["url"], **options) or "" for p in pages}
    return time.perf_counter() - t0, texts


def plain_loop(warcs: list[Path], options: dict) -> tuple[float, int, dict]:
    """The baseline: warcio -> trafilatura.extract -> pycld2, one process. (seconds, pages, texts)"""
    import pycld2
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    t0 = time.perf_counter()
    texts = {}
    for path in warcs:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type != "response":
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI")
                text = trafilatura.extract(rec.content_stream().read(), url=url, **options) or ""
                if text:
                    try:
                        pycld2.detect(text.encode("utf-8", "ignore"))
                    except pycld2.error:
                        pass
                texts[url] = text
    return time.perf_counter() - t0, len(texts), texts


def _plain_part(args) -> tuple[int, float]:
    warcs, options = args
    secs, n, _ = plain_loop(warcs, options)
    return n, secs


def plain_parallel(warcs: list[Path], options: dict, procs: int) -> float:
    """pages/s of `procs` plain loops at once, each on its share of the files: what the machine's
    cores give together (two busy processes on a shared machine each run slower than one alone)."""
    from multiprocessing import get_context

    shares = [warcs[k::procs] for k in range(procs)]
    with get_context("spawn").Pool(procs) as pool:
        pool.map(_plain_part, [(shares[0][:1], options)] * procs)          # imports, caches
        t0 = time.perf_counter()
        done = pool.map(_plain_part, [(s, options) for s in shares])
    return sum(n for n, _ in done) / (time.perf_counter() - t0)


def make_config(root: Path, *overrides: str):
    from corpusmill.jobs.registry import load_config

    return load_config(None, [f"storage.root={root}", "spark.master=local[2]", "spark.driver_memory=2g",
                              "spark.shuffle_partitions=4", "format.text_sources=[]", *overrides])


def run_throughput(pages: list[dict], repeats: int, files: int, copies: int, sets: tuple = ()) -> dict:
    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.stages.format import run

    tmp = Path(tempfile.mkdtemp(prefix="bench-format-"))
    one_copy = write_warcs(pages, tmp / "warc", files)
    warcs = list(one_copy)
    for c in range(1, copies):      # the same records again under other names (a crawl's later files)
        for w in one_copy:
            dst = w.with_name(f"{w.stem.removesuffix('.warc')}-c{c:02d}.warc.gz")
            dst.write_bytes(w.read_bytes())
            warcs.append(dst)
    n = len(pages) * copies
    mb = sum(len(p["html"]) for p in pages) * copies / 1e6
    config = make_config(tmp / "root", f"format.inputs=[{tmp}/warc/*.warc.gz]", *sets)
    options = {k: v for k, v in vars(config.format.trafilatura).items()}
    spark = get_spark(config)
    print(f"pages: {n:,} ({len(pages)} x {copies}), HTML: {mb:.1f} MB, in {len(warcs)} WARC files; "
          f"trafilatura options: {options}")
    # warm-up: start the Python workers and import trafilatura/pycld2 once (workers are reused)
    warm = make_config(tmp / "warm", f"format.inputs=[{one_copy[0]}]", *sets)
    t0 = time.perf_counter()
    run(spark, warm, force=True)
    print(f"warm-up run (worker start + imports, {len(pages) // files} pages): {time.perf_counter() - t0:.1f}s")
    job_s, plain_rate, par_rate = [], [], []
    texts_plain = {}
    for i in range(repeats):
        dt_plain, n_plain, texts_plain = plain_loop(one_copy, options)
        plain_rate.append(n_plain / dt_plain)
        par_rate.append(plain_parallel(one_copy, options, 2))
        t0 = time.perf_counter()
        res = run(spark, config, force=True)
        job_s.append(time.perf_counter() - t0)
        print(f"  repeat {i + 1}: plain loop {n_plain} pages in {dt_plain:.1f}s ({plain_rate[-1]:.1f} pages/s; "
              f"2 at once {par_rate[-1]:.1f} pages/s); "
              f"job {job_s[-1]:.1f}s ({res.rows_in:,} in, {res.rows_out:,} out, {res.rows_rejected:,} rejected; "
              f"{n / job_s[-1]:.1f} pages/s)", flush=True)
    docs = tableio.read_table(spark, config, "documents").select("url", "text").collect()
    rej = tableio.read_table(spark, config, "rejected").where("stage = 'format'").groupBy("reason").count().collect()
    texts_job = {r.url: r.text for r in docs}
    spark.stop()
    mj, mp, mpar = statistics.median(job_s), statistics.median(plain_rate), statistics.median(par_rate)
    out = {
        "pages": n, "job_pages_s": n / mj, "job_mb_s": mb / mj, "plain_pages_s": mp,
        "plain_mb_s": mp * mb / n, "per_core_ratio": (n / mj / 2) / mp, "plain_2proc_pages_s": mpar,
        "ratio_to_2proc": (n / mj) / mpar,
        "quality_job": quality(pages, texts_job), "quality_plain": quality(pages, texts_plain),
        "rejected": {r.reason: r["count"] for r in rej},
    }
    print(f"\nthroughput (median of {repeats}):")
    print(f"  format stage, local[2]      : {out['job_pages_s']:7.1f} pages/s  {out['job_mb_s']:6.2f} MB/s  "
          f"({out['job_pages_s'] / 2:.1f} pages/s per core; {n:,} pages)")
    print(f"  plain loop, one process     : {out['plain_pages_s']:7.1f} pages/s  {out['plain_mb_s']:6.2f} MB/s  "
          f"(warcio -> trafilatura.extract -> pycld2)")
    print(f"  plain loop, 2 processes     : {mpar:7.1f} pages/s  (two at once: {mpar / 2 / mp:.2f} of one alone, "
          f"per process)")
    print(f"  per-core ratio stage / plain: {out['per_core_ratio']:.2f}   (target >= 0.85)")
    print(f"  stage / 2 plain processes   : {out['ratio_to_2proc']:.2f}   (the same cores, both busy)")
    print(f"  rejected by the job: {out['rejected']}")
    print("\nquality (snippet ground truth; with = found, without = boilerplate wrongly kept):")
    print(f"  job output      : with {out['quality_job'][0]:.3f}  without {out['quality_job'][1]:.3f}")
    print(f"  plain loop      : with {out['quality_plain'][0]:.3f}  without {out['quality_plain'][1]:.3f}")
    return out


def compare_modes(pages: list[dict], repeats: int) -> dict:
    """Default vs fast extraction through the stage's per-page path: quality and pages per CPU-second."""
    from dataclasses import asdict

    from corpusmill.udfs.format.extract import ExtractOptions, html_to_document

    config = make_config(Path(tempfile.mkdtemp(prefix="bench-modes-")))
    base = asdict(config.format.trafilatura)
    modes = {"default (fallback)": dict(base, fast=False), "fast: true": dict(base, fast=True)}
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    texts: dict[str, dict] = {}
    for _ in range(repeats):
        for name, topts in modes.items():
            opts = ExtractOptions(html_max_bytes=config.format.html_max_bytes,
                                  extract_timeout_s=config.format.extract_timeout_s,
                                  min_text_chars=config.format.min_text_chars,
                                  max_bad_char_ratio=config.format.max_bad_char_ratio, trafilatura=topts)
            t0 = time.process_time()
            texts[name] = {p["url"]: html_to_document(p["html"], p["url"], None, opts).text or "" for p in pages}
            cpu[name].append(time.process_time() - t0)
    out = {}
    print(f"\nextraction modes (the stage's per-page path, {len(pages)} pages, one process, median of {repeats}, "
          f"modes alternating):")
    print("| mode | main-text snippets found | boilerplate snippets kept | pages per CPU-second | CPU s (runs) |")
    print("|---|---|---|---|---|")
    ref = statistics.median(cpu["default (fallback)"])
    for name in modes:
        w, wo = quality(pages, texts[name])
        med = statistics.median(cpu[name])
        out[name] = dict(found=w, kept=wo, pages_per_cpu_s=len(pages) / med, speed_vs_default=ref / med)
        print(f"| {name} | {w:.3f} | {wo:.3f} | {len(pages) / med:.1f} ({ref / med:.2f}x) | "
              f"{', '.join(f'{x:.1f}' for x in cpu[name])} |")
    d, f = out["default (fallback)"], out["fast: true"]
    print(f"fast - default: main text found {f['found'] - d['found']:+.4f}, boilerplate kept {f['kept'] - d['kept']:+.4f} "
          f"(a mode holds when it finds within 0.005 as much and keeps no more than 0.005 more)")
    return out


def compare_options(pages: list[dict]) -> None:
    print("\nTrafilatura option sets (plain extract, 1 process, same pages):")
    for name, opts in OPTION_SETS.items():
        dt, texts = plain_extract(pages, opts)
        w, wo = quality(pages, texts)
        print(f"  {name:34s}: with {w:.3f}  without {wo:.3f}  {len(pages) / dt:6.1f} pages/s", flush=True)


def bench_warc(repeats: int) -> None:
    """FastWARC vs warcio: speed on real and generated WARCs, robustness on broken ones."""
    from fastwarc.warc import ArchiveIterator as FastIterator
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    def read_fast(path):
        n = 0
        with open(path, "rb") as f:
            for r in FastIterator(f, parse_http=False):
                r.reader.read()
                n += 1
        return n

    def read_warcio(path):
        n = 0
        with open(path, "rb") as f:
            for r in WarcioIterator(f, arc2warc=True):
                r.content_stream().read()
                n += 1
        return n

    pages = load_pages()
    tmp = Path(tempfile.mkdtemp(prefix="bench-warc-"))
    files = write_warcs(pages, tmp, 4) + sorted((DATA / "resiliparse-test-warcs").glob("warcfile.warc.gz")) \
        + sorted((DATA / "dolma-warcs" / "warc").glob("*.warc.gz"))
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"\nWARC reading speed ({len(files)} files, {mb:.1f} MB compressed, every record's content read):")
    times = {"fastwarc": [], "warcio": []}
    for _ in range(repeats):
        for name, fn in (("fastwarc", read_fast), ("warcio", read_warcio)):
            t0 = time.perf_counter()
            for f in files:
                fn(f)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"  {k:9s}: {mb / v:7.1f} MB/s compressed  ({v:.2f}s, median of {repeats})")
    print(f"  fastwarc / warcio speed: {med['warcio'] / med['fastwarc']:.1f}x")
    print("\nrobustness (records read; error) per file, each library alone:")
    broken = sorted((DATA / "warcio-test-warcs").glob("*")) + sorted((DATA / "resiliparse-test-warcs").glob("*.gz"))
    for f in broken:
        if f.suffix == ".md":
            continue
        row = []
        for name, fn in (("fastwarc", read_fast), ("warcio", read_warcio)):
            try:
                row.append(f"{name} {fn(f)}")
            except Exception as e:
                row.append(f"{name} ERR {type(e).__name__}")
        print(f"  {f.name:38s} " + " | ".join(row))
    print("\nrobustness of udfs.format.warc.iter_warc (FastWARC + warcio fallback + cut-off check):")
    from corpusmill.udfs.format.warc import WarcReadError, iter_warc

    for f in broken:
        if f.suffix == ".md":
            continue
        n, err = 0, ""
        try:
            for _ in iter_warc(lambda: open(f, "rb")):
                n += 1
        except WarcReadError as e:
            err = f"  failure recorded: {str(e)[:90]}"
        print(f"  {f.name:38s} {n} records{err}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--files", type=int, default=16, help="WARC files one copy of the 990 pages is spread over")
    ap.add_argument("--copies", type=int, default=11, help="copies of the pages the job reads (11: 10,890 pages)")
    ap.add_argument("--modes", action="store_true", help="also compare the default and fast extraction modes")
    ap.add_argument("--compare-options", action="store_true", help="also score other Trafilatura option sets")
    ap.add_argument("--warc", action="store_true", help="also compare FastWARC and warcio")
    ap.add_argument("--no-job", action="store_true", help="skip the Spark throughput run")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="config override for the stage (the plain loop takes the same Trafilatura options)")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    pages = load_pages()
    if not args.no_job:
        run_throughput(pages, args.repeats, args.files, args.copies, tuple(args.set))
    if args.modes:
        compare_modes(pages, args.repeats)
    if args.compare_options:
        compare_options(pages)
    if args.warc:
        bench_warc(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
