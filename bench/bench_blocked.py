"""What checking the blocklists before extraction saves (`format.blocklists_first`), on real pages.

    .venv/bin/python bench/bench_blocked.py --shares 0.012,0.10 --copies 2 --repeats 3

The crawl: the 990 trafilatura-eval pages (../shared/data), --copies times over, in WARC files; a share
of the pages (chosen by a hash of the URL) is moved to a real blocked site: its host becomes a domain
of ../shared/data/ut1-adult-top1m-chadmayfield, UT1's adult list intersected with a top-1M site list
(the page keeps its HTML and path). The lists: ut1-blacklists-partial (gambling, mixed_adult, adult
URLs), that adult list and zh-sensitive-lexicon's illegal domains, 52,654 entries.

Why 1.2% is the realistic share: 11,868 of the top million sites are on UT1's adult list (the list
above is exactly that intersection), and a crawl samples popular sites first. Crawls and lists differ
(InternLM2 blocks ~13M domains), so a second share shows how the saving grows.

For each share, in one Spark session on local[2] after a warm-up run: the format stage with
`format.blocklists_first` off and on, alternating, --repeats times; medians. Beside them, in the
same process, the per-page costs that predict the saving: the stage's extraction (html_to_document)
per page and the blocklist lookup (the worker's call) per page, CPU seconds.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench_format import DATA, load_pages, make_config, write_warcs  # bench/ is sys.path[0] as a script

LISTS = [DATA / "ut1-blacklists-partial", DATA / "ut1-adult-top1m-chadmayfield" / "pi_blocklist_porn_top1m.list",
         DATA / "zh-sensitive-lexicon" / "illegal_urls_feifa_wangzhi.txt"]


def rehome(pages: list[dict], share: float) -> tuple[list[dict], int]:
    """The pages with round(share x pages) of them, chosen by a hash of the URL, moved to blocked adult
    domains (the host changes, the path and HTML stay)."""
    blocked = [d.strip().removeprefix("www.") for d in LISTS[1].read_text().splitlines() if d.strip()]
    rank = sorted(range(len(pages)), key=lambda i: hashlib.sha1(pages[i]["url"].encode()).hexdigest())
    moved = set(rank[:round(share * len(pages))])
    out = []
    for i, p in enumerate(pages):
        if i in moved:
            parts = urlsplit(p["url"])
            p = dict(p, url=urlunsplit((parts.scheme, "www." + blocked[i * 7919 % len(blocked)], parts.path,
                                        parts.query, "")))
        out.append(p)
    return out, len(moved)


def per_page_costs(pages: list[dict], config) -> tuple[float, float]:
    """(extraction CPU s per page, blocklist lookup CPU s per page) of the stage's worker code."""
    from corpusmill.jobs.stages.blocklists import early_specs
    from corpusmill.jobs.stages.format import block_reason
    from corpusmill.udfs.format.extract import ExtractOptions, html_to_document
    from corpusmill.udfs.format.urls import host_of
    from corpusmill.udfs.safety.domains import build_index

    index = build_index(early_specs(config))
    f = config.format
    opts = ExtractOptions(html_max_bytes=f.html_max_bytes, extract_timeout_s=f.extract_timeout_s,
                          min_text_chars=f.min_text_chars, max_bad_char_ratio=f.max_bad_char_ratio,
                          trafilatura=asdict(f.trafilatura))
    t0 = time.process_time()
    for p in pages:
        html_to_document(p["html"], p["url"], None, opts)
    extract = (time.process_time() - t0) / len(pages)
    t0 = time.process_time()
    for _ in range(10):
        for p in pages:
            block_reason(index, p["url"], host_of(p["url"]))
    return extract, (time.process_time() - t0) / (10 * len(pages))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shares", default="0.012,0.10", help="shares of pages on blocked sites (comma-separated)")
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.stages.format import run

    base = load_pages()
    lists = "safety.domain_lists=" + json.dumps([{"path": str(p), "category": c}
                                                 for p, c in zip(LISTS, ("", "adult", "illegal"))])
    tmp = Path(tempfile.mkdtemp(prefix="bench-blocked-"))
    spark = None
    rows = []
    for share in (float(x) for x in args.shares.split(",")):
        pages, n_moved = rehome(base, share)
        one = write_warcs(pages, tmp / f"s{share}" / "c00", args.files)
        for c in range(1, args.copies):
            for w in one:
                (tmp / f"s{share}" / f"c{c:02d}").mkdir(parents=True, exist_ok=True)
                (tmp / f"s{share}" / f"c{c:02d}" / w.name).write_bytes(w.read_bytes())
        inputs = f"format.inputs=[{tmp}/s{share}/*/*.warc.gz]"
        on = make_config(tmp / f"on{share}", inputs, lists)
        off = make_config(tmp / f"off{share}", inputs, lists, "format.blocklists_first=false")
        if spark is None:
            spark = get_spark(on)
            run(spark, make_config(tmp / "warm", f"format.inputs=[{one[0]}]", lists), force=True)
        secs: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.repeats):
            for name, cfg in (("off", off), ("on", on)):
                t0 = time.perf_counter()
                res = run(spark, cfg, force=True)
                secs[name].append(time.perf_counter() - t0)
                if name == "on":
                    rej = spark.read.format("delta").load(cfg.table_path("rejected"))
                    n_blocked = rej.where("reason like '%_blocklist:%'").count()
            print(f"  share {share:.3f}: off {secs['off'][-1]:.1f}s, on {secs['on'][-1]:.1f}s "
                  f"({res.rows_in:,} records, {n_blocked:,} blocked)", flush=True)
        extract, lookup = per_page_costs(pages, on)
        n_pages = len(pages) * args.copies
        m_off, m_on = statistics.median(secs["off"]), statistics.median(secs["on"])
        rows.append((share, n_moved * args.copies, n_pages, n_blocked, m_off, m_on, extract, lookup, secs))
    spark.stop()
    print(f"\nformat stage, local[2], {len(base)} pages x {args.copies}, median of {args.repeats} (runs alternating):")
    print("| blocked share | pages on blocked sites | rejected as blocked | stage s, lists in safety | stage s, lists first "
          "| saved | predicted from per-page CPU |")
    print("|---|---|---|---|---|---|---|")
    for share, moved, n_pages, n_blocked, m_off, m_on, extract, lookup, secs in rows:
        predicted = (n_blocked * extract - n_pages * lookup) / 2          # 2 cores
        print(f"| {share:.1%} | {moved:,} of {n_pages:,} | {n_blocked:,} | {m_off:.1f} ({', '.join(f'{x:.1f}' for x in secs['off'])}) "
              f"| {m_on:.1f} ({', '.join(f'{x:.1f}' for x in secs['on'])}) | {m_off - m_on:+.1f} s ({(m_off - m_on) / m_off:+.1%}) "
              f"| {predicted:.1f} s ({predicted / m_off:.1%}) |")
    print("per-page CPU: extraction " + ", ".join(f"{r[6] * 1e3:.1f} ms" for r in rows) + "; lookup "
          + ", ".join(f"{r[7] * 1e6:.0f} us" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
