"""Chinese words in the `rules` stage: jieba (pure Python) against rjieba (jieba-rs, native).

    .venv/bin/python bench/bench_rules_zh.py --docs 10000 --repeats 3

1. Word agreement on real text: the CMRC 2018 passages (../shared/data, skipped when absent) and the
   Chinese documents below, each segmented line by line by both (the way the stage segments): the
   share of jieba's words that rjieba also produces at the same position, and of documents whose
   word lists are identical.
2. The stage itself: the Chinese share of bench_pipeline.py's generated corpus (its generator, the same
   documents as the 1M scaling run; a document counts as Chinese when pycld2 says zh, as the format
   stage would), written once as `documents`; then the whole `rules` stage (signals, decision, the
   rule_signals / clean / rejected Delta writes) on local[2] with `rules.signals.zh.words` = jieba and
   = rjieba, alternating, `--repeats` times each, in one process. Prints the median documents/s of
   each and their ratio, and compares the two `rule_signals` tables document by document: documents
   with any signal changed, with the decision (keep) changed, and with the reasons changed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def chinese_documents(n: int, seed: int) -> list[dict]:
    """The first n documents of bench_pipeline's corpus (seed) that pycld2 reads as Chinese."""
    from bench_pipeline import make_doc  # bench/ is sys.path[0] when run as a script

    from corpusmill.udfs.format.langid import detect_language

    out, i = [], 0
    while len(out) < n:
        rec = make_doc(seed, i)
        lang = detect_language(rec["text"])[0]
        if lang.split("-")[0] == "zh":
            out.append(dict(rec, language=lang, index=i))
        i += 1
    return out


def word_agreement(texts: list[str]) -> tuple[float, float, int]:
    """(share of jieba's words rjieba produces at the same span, share of texts cut identically, words)."""
    from corpusmill.udfs.rules.text_units import words_jieba, words_rjieba

    def spans(words: list[str]) -> set[tuple[int, str]]:
        out, pos = set(), 0
        for w in words:
            out.add((pos, w))
            pos += len(w)
        return out

    same_words = total = same_docs = 0
    for t in texts:
        a = [w for line in t.splitlines() for w in words_jieba(line)]
        b = [w for line in t.splitlines() for w in words_rjieba(line)]
        sa = spans(a)
        total += len(sa)
        same_words += len(sa & spans(b))
        same_docs += a == b
    return same_words / max(total, 1), same_docs / max(len(texts), 1), total


def stage_runs(docs: list[dict], repeats: int, cores: int) -> tuple[dict[str, list[float]], dict[str, dict]]:
    """docs/s of each segmenter's rules runs, and each one's rule_signals rows by doc_id."""
    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.stages import rules
    from corpusmill.schemas import documents

    root = Path(tempfile.mkdtemp(prefix="bench-rules-zh-"))
    base = [f"storage.root={root}", f"spark.master=local[{cores}]", "spark.driver_memory=2g",
            f"spark.shuffle_partitions={cores * 2}"]
    cfg = load_config(None, base)
    spark = get_spark(cfg)
    rows = [dict(doc_id=f"{d['index']:012d}", dump="CC-MAIN-2024-10", source_type="web", url=d["url"], host="bench",
                 domain="bench", fetch_date=dt.datetime(2024, 3, 1), title=d["title"], text=d["text"],
                 text_bytes=len(d["text"].encode()), language=d["language"], language_pct=99.0, language_reliable=True,
                 source_file="bench", source_record=str(d["index"])) for d in docs]
    tableio.write_table(spark, cfg, documents.TABLE, spark.createDataFrame(rows, documents.SCHEMA).repartition(cores * 4))
    rates: dict[str, list[float]] = {"jieba": [], "rjieba": []}
    signals: dict[str, dict] = {}
    for k in range(repeats):
        for seg in ("jieba", "rjieba"):
            c = load_config(None, [*base, f"rules.signals.zh.words={seg}"])
            t0 = time.perf_counter()
            res = rules.run(spark, c, force=True)
            rates[seg].append(res.rows_in / (time.perf_counter() - t0))
            assert res.rows_in == len(rows) == res.rows_out + res.rows_rejected, res
            print(f"  run {k} {seg:6s} {rates[seg][-1]:8.1f} docs/s", flush=True)
            if k == 0:
                signals[seg] = {r["doc_id"]: r.asDict() for r in tableio.read_table(spark, c, "rule_signals").collect()}
    spark.stop()
    return rates, signals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10000, help="Chinese documents of the generated corpus")
    ap.add_argument("--seed", type=int, default=1, help="the corpus seed (bench_pipeline.py's default: 1)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    from corpusmill.udfs.rules.signals import SIGNAL_NAMES

    docs = chinese_documents(args.docs, args.seed)
    print(f"{len(docs):,} Chinese documents (indices up to {docs[-1]['index']:,} of the generated corpus), "
          f"{sum(len(d['text']) for d in docs) / len(docs):,.0f} characters on average")
    cmrc = DATA / "cmrc2018-zh-wikipedia" / "contexts.jsonl"
    if cmrc.exists():
        texts = [json.loads(line)["text"] for line in cmrc.read_text(encoding="utf-8").splitlines()]
        w, d, n = word_agreement(texts)
        print(f"word agreement, CMRC 2018 ({len(texts):,} passages, {n:,} jieba words): {w:.6f} of words, "
              f"{d:.4f} of passages cut identically")
    w, d, n = word_agreement([x["text"] for x in docs])
    print(f"word agreement, generated Chinese ({len(docs):,} documents, {n:,} jieba words): {w:.6f} of words, "
          f"{d:.4f} of documents cut identically")

    rates, sig = stage_runs(docs, args.repeats, args.cores)
    a, b = sig["jieba"], sig["rjieba"]
    changed = [d for d in a if any(a[d][s] != b[d][s] for s in SIGNAL_NAMES)]
    keep = [d for d in a if a[d]["keep"] != b[d]["keep"]]
    reasons = [d for d in a if a[d]["reasons"] != b[d]["reasons"]]
    mj, mr = statistics.median(rates["jieba"]), statistics.median(rates["rjieba"])
    print(f"\nrules stage, local[{args.cores}], {len(a):,} Chinese documents, median of {args.repeats}:")
    print(f"  jieba  {mj:8.1f} docs/s  (runs: {', '.join(f'{x:.0f}' for x in rates['jieba'])})")
    print(f"  rjieba {mr:8.1f} docs/s  (runs: {', '.join(f'{x:.0f}' for x in rates['rjieba'])})")
    print(f"  ratio  {mr / mj:.2f}x")
    print(f"  documents with a signal changed: {len(changed):,} ({len(changed) / len(a):.4%}); decision (keep) "
          f"changed: {len(keep):,} ({len(keep) / len(a):.4%}); reasons changed: {len(reasons):,} "
          f"({len(reasons) / len(a):.4%})")
    for d in changed[:5]:
        diff = {s: (a[d][s], b[d][s]) for s in SIGNAL_NAMES if a[d][s] != b[d][s]}
        print(f"    {d}: {diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
