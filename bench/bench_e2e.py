"""The end-to-end race on real pages: datatrove's web pipeline against corpusmill's format -> rules -> dedup.

    .venv/bin/python bench/bench_e2e.py --records 10000 --repeats 3

Pages: the 990 trafilatura-eval pages (../shared/data, written as WARC response records) and every
response record of the real WARC files there (a Common Crawl slice, a ClueWeb09 slice, wget crawls,
warcio's examples; files warcio cannot read are skipped), repeated until there are at least --records
of them. Copy k > 0 of a page gets the URL `<url>?cmcopy=k` (or `&cmcopy=k`), so both systems see the
copies as different pages with the same text, which their deduplication must remove. The copies are
spread over WARC.gz files of about 60 records each (a crawl's files), one warcinfo record each.

The two systems, one after the other in fresh child processes (never overlapping), --repeats times
alternating, on the same files and the same 2 cores:
  datatrove   as its documentation shows a web pipeline, with LocalPipelineExecutor(tasks=2, workers=2):
              WarcReader -> Trafilatura (its defaults: favour_precision, 1 s time limit per page in a
              sandbox process) -> a pycld2 language filter (its LanguageFilter's fastText model is a hub
              download; this one labels every document with pycld2 and, like corpusmill, drops none
              unless --dt-languages names the ones to keep) -> GopherRepetition -> GopherQuality ->
              C4Quality -> FineWebQuality -> JsonlWriter; then its MinHash in four steps (signatures
              2 tasks, buckets one task per band, clusters 1 task, filter 2 tasks; 2 workers each) with
              the default MinhashConfig (14 bands x 8 hashes, 5-grams) hashed with sha1 at 64 bits
              (its xxhash default fails with xxhash 4.x).
  corpusmill  `run_pipeline(format, rules, dedup)` on local[2] with the default config (Delta tables,
              the Derby catalog), the WARC files given as inputs.
Each figure is the child's wall time from its start to its end (Python start, imports, JVM start,
every step and write): documents/s = input pages / seconds; both use 2 cores, so the per-core ratio
is the ratio of documents/s. Peak memory = the largest summed RSS of the child and its descendants
(JVM, Python workers, datatrove's pool and sandbox processes), sampled every 0.2 s.

Agreement: which pages each system keeps. Before dedup, by URL (a page kept by its filters); after
dedup, by page with the copy marker removed (each keeps one copy of a group of copies, not always the
same one). The filters differ on purpose in places (datatrove's Gopher stop words are English for
every language, corpusmill's are the document's language's), so a language breakdown is printed.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from proctree import PeakRSS  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
DUMP = "CC-MAIN-2024-10"
COPY_MARK = re.compile(r"[?&]cmcopy=\d+$")
REAL_WARCS = ("resiliparse-test-warcs/*.warc.gz", "dolma-warcs/warc/*.warc.gz", "warcio-test-warcs/*.warc*",
              "warcio-test-warcs/*.arc*")
DROP_HTTP_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}   # payloads are stored decoded


# ---- the crawl ------------------------------------------------------------------------------------
def base_pages() -> list[dict]:
    """Every page once: {url, payload, http (status line, headers), payload_type, source}."""
    d = DATA / "trafilatura-eval"
    if not d.is_dir():
        sys.exit(f"bench_e2e: {d} not found (set CORPUSMILL_SHARED_DATA)")
    pages = []
    for line in (d / "manifest.jsonl").read_text().splitlines():
        m = json.loads(line)
        pages.append(dict(url=m["url"], payload=gzip.decompress((d / m["path"]).read_bytes()),
                          http=("200 OK", [("Content-Type", "text/html")]), payload_type="text/html",
                          source="trafilatura-eval"))
    from warcio.archiveiterator import ArchiveIterator

    for pattern in REAL_WARCS:
        for path in sorted(DATA.glob(pattern)):
            found = []
            try:
                with open(path, "rb") as fh:
                    for rec in ArchiveIterator(fh, arc2warc=True):
                        if rec.rec_type != "response" or rec.http_headers is None:
                            continue
                        url = rec.rec_headers.get_header("WARC-Target-URI")
                        headers = [(k, v) for k, v in rec.http_headers.headers if k.lower() not in DROP_HTTP_HEADERS]
                        found.append(dict(url=url, payload=rec.content_stream().read(),
                                          http=(rec.http_headers.statusline, headers),
                                          payload_type=rec.rec_headers.get_header("WARC-Identified-Payload-Type"),
                                          source=f"{path.parent.name}/{path.name}"))
            except Exception as e:  # noqa: BLE001 - the deliberately broken files: skipped, said so
                print(f"[e2e] skipped {path.name}: {type(e).__name__}", file=sys.stderr)
                continue
            pages += [p for p in found if p["url"]]
    return pages


def copy_url(url: str, k: int) -> str:
    return url if k == 0 else f"{url}{'&' if '?' in url else '?'}cmcopy={k}"


def base_url(url: str) -> str:
    return COPY_MARK.sub("", url or "")


def write_crawl(out: Path, records: int, sample: int = 0, per_file: int = 60) -> dict:
    """WARC.gz files holding the base pages (every sample-th one of them with sample > 0, for a quick
    check) repeated to >= records pages; reused when already written."""
    stamp = out / "CRAWL.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("asked") == [records, sample]:
        return json.loads(stamp.read_text())
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = base_pages()[::sample or 1]
    copies = -(-records // len(pages))
    seq = [(k, p) for k in range(copies) for p in pages]
    n_files = -(-len(seq) // per_file)
    for f in range(n_files):
        path = out / f"crawl-{f:04d}.warc.gz"
        with open(path, "wb") as fh:
            w = WARCWriter(fh, gzip=True)
            w.write_record(w.create_warcinfo_record(path.name, {"isPartOf": DUMP}))
            for k, p in seq[f::n_files]:
                extra = [("WARC-Identified-Payload-Type", p["payload_type"])] if p["payload_type"] else []
                status, headers = p["http"]   # a record read without a status line or headers gets them (warcio
                hh = StatusAndHeaders(status or "200 OK", headers or [("Content-Type", p["payload_type"] or "text/html")],
                                      protocol="HTTP/1.1")     # would parse the payload as headers otherwise)
                rec = w.create_warc_record(copy_url(p["url"], k), "response", payload=io.BytesIO(p["payload"]),
                                           http_headers=hh, warc_headers_dict=dict(extra))
                w.write_record(rec)
    info = dict(asked=[records, sample], base_pages=len(pages), copies=copies, pages=len(seq), files=n_files,
                html_mb=round(sum(len(p["payload"]) for p in pages) * copies / 1e6, 1),
                sources=dict(Counter(p["source"] for p in pages)))
    stamp.write_text(json.dumps(info))
    return info


# ---- the children -----------------------------------------------------------------------------------
def pycld2_filter(languages: list[str] | None):
    """datatrove's LanguageFilter contract with pycld2 in place of its fastText model: the language and
    its share of the text go to the metadata; with languages, other languages are dropped."""
    from datatrove.pipeline.filters.base_filter import BaseFilter

    class PyCLD2LanguageFilter(BaseFilter):
        name = "🌍 Language ID (pycld2)"

        def __init__(self, keep: list[str] | None):
            super().__init__()
            self.keep = set(keep) if keep else None

        def filter(self, doc) -> bool:
            import pycld2

            try:
                reliable, _, details = pycld2.detect(doc.text.encode("utf-8", "ignore"))
                lang, pct = details[0][1], details[0][2]
            except pycld2.error:
                lang, pct = "un", 0
            doc.metadata["language"], doc.metadata["language_score"] = lang, pct / 100
            return self.keep is None or lang in self.keep

    return PyCLD2LanguageFilter(languages)


def child_datatrove(a) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)
    from datatrove.pipeline.readers import JsonlReader, WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    from loguru import logger
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    w = Path(a.work) / "dt-run"
    shutil.rmtree(w, ignore_errors=True)
    cfg = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="sha1"))
    langs = None if a.dt_languages == "all" else a.dt_languages.split(",")
    steps = [
        ("filters", LocalPipelineExecutor([
            WarcReader(a.crawl, glob_pattern="*.warc.gz", default_metadata={"dump": DUMP}),
            Trafilatura(favour_precision=True),
            pycld2_filter(langs),
            GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter(),
            JsonlWriter(str(w / "filtered")),
        ], tasks=2, workers=2, logging_dir=str(w / "logs1"))),
        ("minhash signatures", LocalPipelineExecutor([
            JsonlReader(str(w / "filtered")), MinhashDedupSignature(output_folder=str(w / "sigs"), config=cfg),
        ], tasks=2, workers=2, logging_dir=str(w / "logs2"))),
        ("minhash buckets", LocalPipelineExecutor([
            MinhashDedupBuckets(input_folder=str(w / "sigs"), output_folder=str(w / "buckets"), config=cfg),
        ], tasks=cfg.num_buckets, workers=2, logging_dir=str(w / "logs3"))),
        ("minhash clusters", LocalPipelineExecutor([
            MinhashDedupCluster(input_folder=str(w / "buckets"), output_folder=str(w / "remove"), config=cfg),
        ], tasks=1, workers=1, logging_dir=str(w / "logs4"))),
        ("minhash filter", LocalPipelineExecutor([
            JsonlReader(str(w / "filtered")),
            MinhashDedupFilter(input_folder=str(w / "remove")),
            JsonlWriter(str(w / "kept")),
        ], tasks=2, workers=2, logging_dir=str(w / "logs5"))),
    ]
    phases = {}
    for name, ex in steps:
        t = time.monotonic()
        ex.run()
        phases[name] = round(time.monotonic() - t, 1)

    def urls(sub: str) -> dict[str, str]:
        out = {}
        for f in sorted((w / sub).glob("*.jsonl*")):
            with (gzip.open if f.suffix == ".gz" else open)(f, "rt") as fh:
                for line in fh:
                    d = json.loads(line)
                    out[d["metadata"]["url"]] = d["metadata"].get("language", "")
        return out

    return dict(phases=phases, filtered=urls("filtered"), kept=urls("kept"))


def child_corpusmill(a) -> dict:
    from pyspark.sql import functions as F

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.pipeline import run_pipeline
    from corpusmill.jobs.registry import load_config

    root = Path(a.work) / "cm-run"
    shutil.rmtree(root, ignore_errors=True)
    cfg = load_config(None, [f"storage.root={root}", "spark.master=local[2]", f"spark.driver_memory={a.driver_memory}",
                             "format.text_sources=[]", *a.set])
    t = time.monotonic()
    spark = get_spark(cfg)
    phases = {"session": round(time.monotonic() - t, 1)}
    results = run_pipeline(spark, cfg, ["format", "rules", "dedup"], inputs=[f"{a.crawl}/*.warc.gz"], force=True)
    for r in results:
        phases[r.stage] = round(r.seconds, 1)
    lang = F.coalesce("language", F.lit(""))
    clean = {r.url: r.l for r in tableio.read_table(spark, cfg, "clean").select("url", lang.alias("l")).collect()}
    kept = {r.url: r.l for r in tableio.read_table(spark, cfg, "deduped").select("url", lang.alias("l")).collect()}
    counts = {r.stage: [r.rows_in, r.rows_out, r.rows_rejected] for r in results}
    spark.stop()
    return dict(phases=phases, filtered=clean, kept=kept, counts=counts)


# ---- the parent ---------------------------------------------------------------------------------------
def run_child(system: str, a, log_file: Path) -> dict:
    out_json = Path(a.work) / f"{system}.json"
    out_json.unlink(missing_ok=True)
    args = [sys.executable, str(Path(__file__).resolve()), "--child", system, "--work", a.work, "--crawl", a.crawl,
            "--out-json", str(out_json), "--driver-memory", a.driver_memory, "--dt-languages", a.dt_languages,
            *[x for s in a.set for x in ("--set", s)]]
    t0 = time.monotonic()
    with open(log_file, "w") as lf:
        p = subprocess.Popen(args, stdout=lf, stderr=subprocess.STDOUT)
        with PeakRSS(p.pid) as mem:
            rc = p.wait()
    secs = time.monotonic() - t0
    if rc != 0 or not out_json.exists():
        tail = log_file.read_text(errors="replace").splitlines()[-40:]
        raise RuntimeError(f"{system} exited {rc}; last lines of {log_file}:\n" + "\n".join(tail))
    res = json.loads(out_json.read_text())
    res.update(seconds=secs, peak=mem.peak, cpu=mem.cpu_seconds)
    return res


def agreement(a: dict[str, str], b: dict[str, str]) -> tuple[int, int, int]:
    """(kept by both, only by a, only by b)"""
    sa, sb = set(a), set(b)
    return len(sa & sb), len(sa - sb), len(sb - sa)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000, help="pages at least (the base pages repeated)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", default=str(Path.home() / ".cache" / "corpusmill" / "bench" / "e2e"))
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--dt-languages", default="all", help="languages datatrove keeps (comma-separated; all = every one)")
    ap.add_argument("--set", action="append", default=[], help="corpusmill config override (repeatable)")
    ap.add_argument("--sample", type=int, default=0, help="every N-th distinct page only (quick checks)")
    ap.add_argument("--only", choices=["datatrove", "corpusmill"], help="run one system only")
    ap.add_argument("--child", choices=["datatrove", "corpusmill"], help=argparse.SUPPRESS)
    ap.add_argument("--crawl", help=argparse.SUPPRESS)
    ap.add_argument("--out-json", help=argparse.SUPPRESS)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if a.child:
        res = {"datatrove": child_datatrove, "corpusmill": child_corpusmill}[a.child](a)
        Path(a.out_json).write_text(json.dumps(res))
        return 0

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    a.crawl = str(work / "crawl")
    info = write_crawl(Path(a.crawl), a.records, a.sample)
    n = info["pages"]
    print(f"crawl: {n:,} pages = {info['base_pages']:,} distinct pages x {info['copies']} copies "
          f"({info['html_mb']:,} MB of HTML) in {info['files']} WARC.gz files; distinct pages by source: "
          f"{info['sources']}", flush=True)
    systems = [a.only] if a.only else ["datatrove", "corpusmill"]
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for k in range(a.repeats):
        for s in systems:
            r = run_child(s, a, work / f"{s}-{k}.log")
            runs[s].append(r)
            print(f"{s} run {k + 1}: {r['seconds']:.1f}s, {n / r['seconds']:.1f} pages/s, peak "
                  f"{r['peak'] / 2**30:.2f} GiB, CPU {r['cpu']:.0f}s, kept {len(r['kept']):,}; {r['phases']}",
                  flush=True)

    print(f"\n{n:,} real pages, 2 cores, median of {a.repeats} (one child process per run, start to end):")
    print("| system | seconds | documents/s | per core | vs datatrove per core | peak RSS | CPU s | runs (s) |")
    print("|---|---|---|---|---|---|---|---|")
    med = {s: statistics.median(r["seconds"] for r in rs) for s, rs in runs.items()}
    for s, rs in runs.items():
        rate = n / med[s]
        vs = f"{med['datatrove'] / med[s]:.2f}x" if "datatrove" in med else "-"
        print(f"| {s} | {med[s]:.1f} | {rate:.1f} | {rate / 2:.1f} | {vs} | {max(r['peak'] for r in rs) / 2**30:.2f} GiB | "
              f"{statistics.median(r['cpu'] for r in rs):.0f} | {', '.join(format(r['seconds'], '.1f') for r in rs)} |")
    for s, rs in runs.items():
        ph = {p: statistics.median(r["phases"][p] for r in rs) for p in rs[0]["phases"]}
        print(f"  {s} phases (median s): " + ", ".join(f"{p} {v:.1f}" for p, v in ph.items()))
    if "corpusmill" in runs:
        print(f"  corpusmill rows in/out/rejected: {runs['corpusmill'][-1]['counts']}")
    if len(runs) == 2:
        dt, cm = runs["datatrove"][-1], runs["corpusmill"][-1]
        both, only_dt, only_cm = agreement(dt["filtered"], cm["filtered"])
        print(f"\nkept by the filters (by URL): datatrove {len(dt['filtered']):,}, corpusmill {len(cm['filtered']):,}; "
              f"both {both:,}, only datatrove {only_dt:,}, only corpusmill {only_cm:,} "
              f"(agreement {both / max(1, both + only_dt + only_cm):.3f} of the union)")
        bd = {base_url(u): lang for u, lang in dt["kept"].items()}
        bc = {base_url(u): lang for u, lang in cm["kept"].items()}
        both, only_dt, only_cm = agreement(bd, bc)
        print(f"kept after dedup (by page, copies folded): datatrove {len(bd):,} pages from {len(dt['kept']):,} "
              f"documents, corpusmill {len(bc):,} from {len(cm['kept']):,}; both {both:,}, only datatrove "
              f"{only_dt:,}, only corpusmill {only_cm:,} (agreement {both / max(1, both + only_dt + only_cm):.3f})")
        langs = Counter(cm["filtered"].values()) + Counter(dt["filtered"].values())
        print("by language (pages kept by the filters, datatrove / corpusmill): " + ", ".join(
            f"{lang or '?'} {sum(1 for v in dt['filtered'].values() if v == lang):,}/"
            f"{sum(1 for v in cm['filtered'].values() if v == lang):,}" for lang, _ in langs.most_common(8)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
