"""End-to-end scale run: every stage on N generated documents, wall time and peak memory per stage.

The corpus is generated straight to JSONL.gz and ingested by the format stage's real text-source path
(`format.text_sources`, as books / papers / patents are), not through WARC + Trafilatura: extraction
costs ~10-30 ms per page on one core, so 1M pages would spend hours in Trafilatura alone and measure
nothing about the rest of the pipeline (bench/bench_format.py measures extraction on its own).
Everything after the JSONL parsing is the same code path as for web pages: pycld2 language id,
doc_id / host / domain, then rules, dedup, safety, quality, longctx, and the code stage.

The mix (per document, deterministic from --seed and its index; no corpus-sized state in the generator):
  good articles (en ~75%, zh ~25%)            ~66%
  exact duplicates of an earlier good article   4%   (dedup, exact)
  near duplicates (a few word edits)             6%   (dedup, MinHash)
  spam / keyword stuffing                        4%   (rules)
  low quality (link lists, number tables, ...)   6%   (rules)
  toxic forum threads                            3%   (safety classifier)
  pornography                                    2%   (safety classifier)
  blocked domains                                1%   (safety blocklist)
  advertisements                                 3%   (quality classifier)
  disfluent (garbled) articles                   3%   (quality classifier)
  long documents >= 32 KB (coherent/incoherent)  0.5% (longctx; 1-2% of CC pages are that long)
over two crawl dumps (two text sources), plus the demo's code repositories for the code stage.

The classifiers are trained first, like a deployment's, with `corpusmill train-classifier` on 2,000
generated examples per head (`--classifier-examples`; 0 = the demo's model, trained on 128), so the
cascade's first pass is as good as its training data allows and the encoder sees what it is unsure of.
`--example-paragraphs 3,8` joins 3 to 8 examples of one label into each training row, so the rows are
as long as the corpus's documents (a generated example is one or two sentences).

Per stage it records the wall time (from the `runs` table) and the peak resident memory, sampled every
0.2 s from /proc: the Python driver, the JVM (driver + local executors) and the Python workers
separately, and their sum. Results: bench/results/pipeline-<N>.json.

    .venv/bin/python bench/bench_pipeline.py --docs 10000 \\
        --models /path/to/models        # optional: reuse models (classifiers/, kenlm/, causal-lm/, code-bpe/)
    .venv/bin/python bench/bench_pipeline.py --project 1000000   # linear projection from the result files

--real-pages: the corpus is real web pages instead, read as WARC by the format stage (Trafilatura,
language, ids): the 990 trafilatura-eval pages and the real WARC files' responses (../shared/data),
repeated with distinct URLs to at least --docs pages (bench_e2e.py's crawl), stages format to
quality; the result file is pipeline-<N>-real.json and `--table` prints it apart, with the share of
the time each stage took.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import shutil
import sys
import time
from multiprocessing import Pool
from pathlib import Path

from proctree import Sampler, processes, tree  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DUMPS = ("CC-MAIN-2024-10", "CC-MAIN-2024-18")
SHARD_DOCS = 10_000
MIX = (("exact_duplicate", 0.04), ("near_duplicate", 0.06), ("spam", 0.04), ("low_quality", 0.06),
       ("toxic", 0.03), ("porn", 0.02), ("blocked_domain", 0.01), ("advertisement", 0.03),
       ("disfluent", 0.03), ("long", 0.005))           # the rest: good


# ---- generator ------------------------------------------------------------------------------------
def _category(seed: int, i: int) -> str:
    x = random.Random(f"cat/{seed}/{i}").random()
    acc = 0.0
    for name, share in MIX:
        acc += share
        if x < acc:
            return name
    return "good"


def _lang(rng: random.Random) -> str:
    return "zh" if rng.random() < 0.25 else "en"


def _good(seed: int, j: int) -> tuple[str, dict]:
    """The good article of index j (regenerated on demand: duplicates need no stored corpus)."""
    from corpusmill.samplegen import en, zh

    rng = random.Random(f"good/{seed}/{j}")
    lang = _lang(rng)
    return lang, (en.article(rng) if lang == "en" else zh.article(rng))


def _earlier_good(seed: int, i: int) -> int:
    rng = random.Random(f"dupof/{seed}/{i}")
    for _ in range(64):
        j = rng.randrange(max(i, 1))
        if _category(seed, j) == "good":
            return j
    return 0


def _join(paragraphs: list[str]) -> str:
    return "\n\n".join(p for p in paragraphs if p)


def make_doc(seed: int, i: int) -> dict:
    """One JSONL record {id, url, title, text, date} for document i."""
    from corpusmill.samplegen import crawl as samplegen
    from corpusmill.samplegen import en, zh
    from corpusmill.samplegen import html as H
    from corpusmill.samplegen import kinds as K

    cat = _category(seed, i)
    rng = random.Random(f"doc/{seed}/{i}")
    lang = _lang(rng)
    host = f"www.site{rng.randrange(20000)}.{'cn' if lang == 'zh' else rng.choice(('com', 'org', 'net', 'co.uk'))}"
    if cat == "good":
        lang, art = _good(seed, i)
        title, text = art["title"], _join(art["paragraphs"])
    elif cat in ("exact_duplicate", "near_duplicate"):
        lang, art = _good(seed, _earlier_good(seed, i))
        paras = art["paragraphs"] if cat == "exact_duplicate" else K.near_duplicate(rng, art["paragraphs"], lang)
        title, text = art["title"], _join(paras)
    elif cat == "spam":
        title, paras = K.spam_paragraphs(rng, lang)
        text = _join(paras)
    elif cat == "low_quality":
        kind = rng.choice(K.LOW_QUALITY_KINDS)
        title, main = K.low_quality_body(rng, kind, "en" if kind == "lorem_ipsum" else lang)
        text = H.text_of(main)
    elif cat == "toxic":
        topic = rng.choice(en.TOPIC_NAMES if lang == "en" else zh.TOPIC_NAMES)
        w = en.Writer(rng, topic) if lang == "en" else zh.Writer(rng, topic)
        title = w.title()
        text = _join([w.sentence("intro")] + K.comments(rng, lang, toxic_share=0.75, n=rng.randint(7, 12), topic=topic))
    elif cat == "porn":
        tmpl = K.PORN_EN if lang == "en" else K.PORN_ZH
        title = "Free XXX Videos - Hot Adult Cams" if lang == "en" else "福利视频_成人直播_在线观看"
        text = _join([K.paragraph_of(rng, lang, tmpl, rng.randint(2, 4)) for _ in range(rng.randint(3, 5))])
    elif cat == "blocked_domain":
        pairs = [(c, d) for c, ds in sorted(samplegen.DEMO_BLOCKED_DOMAINS.items()) for d in ds]
        _, domain = rng.choice(pairs)
        host = "www." + domain
        art = en.article(rng) if lang == "en" else zh.article(rng)
        title, text = art["title"], _join(art["paragraphs"])
    elif cat == "advertisement":
        promo, prose = (K.AD_EN, K.AD_PROSE_EN) if lang == "en" else (K.AD_ZH, K.AD_PROSE_ZH)
        title = rng.choice(K.PRODUCTS_EN).title() if lang == "en" else rng.choice(K.PRODUCTS_ZH)
        text = _join([K.paragraph_of(rng, lang, prose if k % 3 else promo, rng.randint(2, 4))
                      for k in range(rng.randint(3, 6))])
    elif cat == "disfluent":
        art = en.article(rng) if lang == "en" else zh.article(rng)
        title, text = art["title"], _join([K.garble(rng, p, lang) for p in art["paragraphs"]])
    else:  # long
        doc = (K.long_story if rng.random() < 0.8 else K.long_incoherent)(rng, lang, min_bytes=rng.randint(34000, 90000))
        title, text = doc["title"], _join(doc["paragraphs"])
    dump = DUMPS[i % 2]
    day = dt.date(2024, 2 if dump == DUMPS[0] else 4, 1) + dt.timedelta(days=i % 27)
    return {"id": f"{cat}-{i}", "url": f"https://{host}/p/{i}", "title": title, "text": text,
            "date": day.isoformat(), "_dump": dump}


def _write_shard(args) -> tuple[int, int]:
    seed, start, end, out_dir = args
    n_bytes = 0
    files = {d: gzip.open(Path(out_dir) / d / f"part-{start:08d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=1)
             for d in DUMPS}
    try:
        for i in range(start, end):
            rec = make_doc(seed, i)
            d = rec.pop("_dump")
            n_bytes += len(rec["text"].encode())
            files[d].write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        for f in files.values():
            f.close()
    return end - start, n_bytes


def generate_corpus(out_dir: Path, n: int, seed: int, procs: int) -> dict:
    """Shards of SHARD_DOCS documents, written by `procs` processes; skipped when already complete."""
    stamp = out_dir / "DONE.json"
    if stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("docs") == n and info.get("seed") == seed:
            return info
        shutil.rmtree(out_dir)
    for d in DUMPS:
        (out_dir / d).mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    jobs = [(seed, s, min(s + SHARD_DOCS, n), str(out_dir)) for s in range(0, n, SHARD_DOCS)]
    with Pool(procs) as pool:
        done = pool.map(_write_shard, jobs, chunksize=1)
    info = {"docs": n, "seed": seed, "text_bytes": sum(b for _, b in done), "seconds": time.monotonic() - t0}
    stamp.write_text(json.dumps(info))
    return info


# ---- memory sampling ------------------------------------------------------------------------------
class TreeRSS(Sampler):
    """Peak RSS of this process (Python driver), its JVM and the Python workers, sampled from /proc."""

    def __init__(self, every: float = 0.2):
        super().__init__(every)
        self.reset()

    def reset(self) -> None:
        self.peak = {"driver_py": 0, "jvm": 0, "workers": 0, "total": 0}

    @staticmethod
    def cpu_seconds() -> float:
        """Busy CPU seconds of the whole machine (/proc/stat): run the bench alone. A process-tree sum
        loses the Python workers that exit during a stage (their parent never reaps them)."""
        with open("/proc/stat", encoding="ascii") as fh:
            user, nice, system, _idle, _iowait, irq, softirq, *_ = (int(x) for x in fh.readline().split()[1:])
        return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        me, procs = os.getpid(), processes()
        snap = {"driver_py": procs[me].rss if me in procs else 0, "jvm": 0, "workers": 0}
        for p in tree(me, procs):
            if p != me:
                snap["jvm" if procs[p].name == "java" else "workers"] += procs[p].rss
        snap["total"] = sum(snap.values())
        for k, v in snap.items():
            self.peak[k] = max(self.peak[k], v)


# ---- the run --------------------------------------------------------------------------------------
def bench_config(root: Path, corpus: Path, driver_memory: str, partitions: int, overrides=(), warcs: str | None = None):
    """The bench's config file: the generated JSONL as text sources, or the WARC files `warcs` names,
    read over conf/demo.yaml (the blocklists, benchmarks and models that demo_assets.prepare writes)."""
    from corpusmill.jobs.registry import load_config

    sources = [{"path": str(corpus / d / "*.jsonl.gz"), "format": "jsonl", "source_type": "web", "dump": d,
                "fields": {"text": "text", "id": "id", "url": "url", "title": "title", "date": "date"}}
               for d in DUMPS]
    conf = {"storage": {"root": str(root)},
            "spark": {"master": "local[2]", "driver_memory": driver_memory, "shuffle_partitions": partitions},
            "format": {"inputs": [warcs], "text_sources": []} if warcs else {"inputs": [], "text_sources": sources},
            "code": {"inputs": [str(root / "samples" / "code" / "repos" / "*")]}}
    path = root / "bench.yaml"
    import yaml

    path.write_text(yaml.safe_dump(conf, allow_unicode=True))
    return load_config(str(path), list(overrides), layers=("demo.yaml",))


TRAIN_ARGS = ("--epochs", "2", "--max-length", "64", "--batch-size", "16", "--lr", "1e-4")


def document_rows(examples: list[tuple[str, str]], n: int, paragraphs: tuple[int, int], seed: int) -> list[tuple[str, str]]:
    """Up to n training rows as long as the corpus's documents: each joins lo..hi generated examples of
    one label and one script (Chinese or not) as paragraphs, each example used once. A first pass fitted on one-paragraph rows is
    confidently wrong on several-paragraph documents (bench/README.md, where the --caught leaks come from)."""
    lo, hi = paragraphs
    rng = random.Random(seed)
    pools: dict[tuple[str, bool], list[str]] = {}
    for text, label in examples:
        pools.setdefault((label, any("\u4e00" <= ch <= "\u9fff" for ch in text)), []).append(text)
    labels, out = sorted({label for _, label in examples}), []
    for i in range(n):
        label = labels[i % len(labels)]
        zh, other = pools.get((label, True), []), pools.get((label, False), [])
        if not zh and not other:
            break
        pool = zh if rng.random() < len(zh) / (len(zh) + len(other)) else other   # the examples' mix of scripts
        k = min(len(pool), rng.randint(lo, hi))
        out.append((_join([pool.pop() for _ in range(k)]), label))   # each example in one row only: no
                                                                      # paragraph is in training and validation
    rng.shuffle(out)
    return out


def train_classifiers(root: Path, conf_path: Path, n: int, seed: int, paragraphs: tuple[int, int] = (1, 1)) -> None:
    """The four-head classifier trained on n generated examples per head with `corpusmill train-classifier`.

    Why not the demo's model: the demo trains on 128 examples per head to finish in two minutes, and
    its first-pass fluency model is then barely better than chance (validation F1 0.5), so the cascade
    sends most documents to the encoder. A deployment trains on thousands of labelled examples; this
    trains like one, on the same generators as the demo (held apart from the corpus's texts)."""
    import subprocess

    from corpusmill.samplegen.crawl import CLASSIFIER_LABELS, classifier_examples

    out = root / "models" / "classifiers"
    if (out / "config.json").exists():
        return
    data = root / "classifier-examples"
    data.mkdir(parents=True, exist_ok=True)
    inputs = []
    for head in CLASSIFIER_LABELS:            # one head per generator task, named after it
        path = data / f"{head}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            rows = (classifier_examples(head, seed, n) if paragraphs == (1, 1) else
                    document_rows(classifier_examples(head, seed, n * sum(paragraphs) // 2), n, paragraphs, seed))
            for text, label in rows:
                fh.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
        inputs += ["--input", f"{head}={path}"]
    t0 = time.monotonic()
    print(f"[bench] training the classifiers on {n:,} generated examples per head ...", flush=True)
    subprocess.run([sys.executable, "-m", "corpusmill", "train-classifier", "--conf", str(conf_path), *inputs,
                    "--out", "classifiers", "--seed", str(seed), "--no-table", *TRAIN_ARGS], check=True, cwd=ROOT)
    print(f"[bench] classifiers trained in {time.monotonic() - t0:.0f}s", flush=True)


def classifier_summary(path: Path) -> dict:
    """Per head: validation macro F1, the cascade's band and its share of the validation texts."""
    heads = path / "heads.json"
    if not heads.exists():
        return {}
    meta = json.loads(heads.read_text())["heads"]
    return {h: {"band": m.get("band"), "band_share": (m.get("cascade") or {}).get("share"),
                "validation_macro_f1": m.get("validation_macro_f1")} for h, m in meta.items()}


def run_bench(args) -> dict:
    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark
    from corpusmill.jobs.pipeline import run_pipeline, stages_by_name
    from corpusmill.jobs.tools import demo_assets
    from corpusmill.samplegen import code_repos as samplegen_code

    n = args.docs
    real = "-real" if args.real_pages else ""
    work = Path(args.work or Path.home() / ".cache" / "corpusmill" / "bench" / f"pipeline-{n}{real}").resolve()
    root = work / "store"
    out = RESULTS / f"pipeline-{n}{real}{args.tag}.json"
    done: dict[str, dict] = {}
    if args.resume and out.exists():     # a run split over sittings: its finished stages stay as measured
        rerun = set(args.rerun.split(",")) if args.rerun else set()
        done = {r["stage"]: r for r in json.loads(out.read_text())["stages"]
                if r["status"] == "success" and r["stage"] not in rerun}
    elif root.exists() and not args.keep_tables:
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    if real:
        from bench_e2e import write_crawl

        print(f"[bench] writing {n:,} real pages as WARC under {work / 'crawl'} ...", flush=True)
        t0 = time.monotonic()
        crawl = write_crawl(work / "crawl", n)
        gen = {"docs": crawl["pages"], "text_bytes": int(crawl["html_mb"] * 1e6), "seconds": time.monotonic() - t0}
        print(f"[bench] crawl: {crawl['pages']:,} pages ({crawl['base_pages']:,} distinct x {crawl['copies']}), "
              f"{crawl['html_mb']:,} MB of HTML in {crawl['files']} files", flush=True)
    else:
        print(f"[bench] generating {n:,} documents under {work / 'corpus'} ...", flush=True)
        gen = generate_corpus(work / "corpus", n, args.seed, args.procs)
        print(f"[bench] corpus: {gen['docs']:,} docs, {gen['text_bytes'] / 1e6:,.1f} MB text, "
              f"generated in {gen['seconds']:.0f}s", flush=True)
    if args.models:
        shutil.copytree(args.models, root / "models", dirs_exist_ok=True)
    config = bench_config(root, work / "corpus", args.driver_memory, args.partitions, args.set,
                          warcs=f"{work / 'crawl'}/*.warc.gz" if real else None)
    if args.classifier_examples:
        train_classifiers(root, root / "bench.yaml", args.classifier_examples, args.seed,
                          tuple(int(x) for x in args.example_paragraphs.split(",")))
    spark = get_spark(config)
    default = "format,rules,dedup,safety,quality" if real else None
    selected = stages_by_name((args.stages or default).split(",") if (args.stages or default) else None)
    stages = [s.name for s in selected]
    # the demo's blocklists and models (each skipped when --models gave it) and code repositories
    demo_assets.prepare(config, lambda msg: print(f"[bench] {msg}", flush=True))
    samplegen_code.generate_for_config(config)
    per_stage = []
    sittings = (json.loads(out.read_text()).get("sittings", 1) + 1) if done else 1

    def save() -> dict:
        rows = [r for r in per_stage if r["status"] == "success"]
        secs = sum(r["stage_seconds"] or r["wall_seconds"] for r in rows)
        docs_in = next((r["rows_in"] for r in per_stage if r["stage"] == "format"), n)
        result = dict(docs=n, seed=args.seed, overrides=list(args.set), text_mb=round(gen["text_bytes"] / 1e6, 1),
                      corpus="real pages (WARC)" if real else "generated (JSONL)",
                      master="local[2]", driver_memory=args.driver_memory, shuffle_partitions=args.partitions,
                      cpus=os.cpu_count(), load_average_at_end=os.getloadavg(), sittings=sittings,
                      classifiers=classifier_summary(root / "models" / "classifiers"),
                      generated_seconds=round(gen["seconds"], 1), total_seconds=round(secs, 1),
                      total_cpu_seconds=round(sum(r["cpu_seconds"] for r in rows), 1),
                      docs_per_second=round(docs_in / secs, 1) if secs else None,
                      failed_stages=[r["stage"] for r in per_stage if r["status"] != "success"], stages=per_stage,
                      finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        RESULTS.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")   # after every stage: a killed run keeps the rest
        return result

    with TreeRSS() as mem:
        for name in stages:
            if name in done:
                print(f"[bench] {name}: measured in an earlier sitting, kept", flush=True)
                per_stage.append(done[name])
                continue
            mem.reset()
            t0, c0 = time.monotonic(), mem.cpu_seconds()
            try:
                (res,) = run_pipeline(spark, config, [name], force=True)
                error = None
            except Exception as e:  # noqa: BLE001 - a failed stage is a result; the independent ones still run
                from corpusmill.jobs.core.errors import summary
                from corpusmill.jobs.core.stage import StageResult

                error = summary(e, config)
                res = StageResult(name, "failed", error=error)
            wall, cpu = time.monotonic() - t0, mem.cpu_seconds() - c0
            peak = dict(mem.peak)
            row = dict(stage=name, status=res.status, rows_in=res.rows_in, rows_out=res.rows_out,
                       rows_rejected=res.rows_rejected, stage_seconds=None, wall_seconds=round(wall, 1),
                       cpu_seconds=round(cpu, 1), error=error,
                       peak_rss_mb={k: round(v / 2**20) for k, v in peak.items()}, run_id=res.run_id,
                       sitting=sittings)
            if res.run_id:
                r = (tableio.read_table(spark, config, "runs")
                     .where(f"run_id = '{res.run_id}' and stage = '{name}'").first())
                if r is not None:
                    row["stage_seconds"] = round((r["ended_at"] - r["started_at"]).total_seconds(), 1)
            per_stage.append(row)
            print(f"[bench] {name}: {res.rows_in:,} in, {res.rows_out:,} out, {res.rows_rejected:,} rejected, "
                  f"{wall:.1f}s wall, {cpu:.0f} CPU s, peak RSS {row['peak_rss_mb']}", flush=True)
            result = save()
    result = save()
    print(f"[bench] wrote {out}", flush=True)
    spark.stop()
    return result


def caught(n: int, work: str | None, seed: int) -> None:
    """What became of each generated category in the run of n documents: the stage and reason that
    dropped its documents, and how many reached `pretrain` (markdown). The speed figures mean little
    without it: a classifier that lets everything through is fast."""
    import collections

    from pyspark.sql import functions as F

    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.session import get_spark

    base = Path(work or Path.home() / ".cache" / "corpusmill" / "bench" / f"pipeline-{n}").resolve()
    category = {}
    for path in sorted((base / "corpus").glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                category[(str(path), str(line_no))] = json.loads(line)["id"].rsplit("-", 1)[0]
    config = bench_config(base / "store", base / "corpus", "4g", 8)
    spark = get_spark(config)
    docs = tableio.read_table(spark, config, "documents").select("doc_id", "source_file", "source_record")
    fate = (tableio.read_table(spark, config, "rejected")
            .where(F.col("doc_id").isNotNull() & ~F.col("stage").isin("longctx", "code"))
            .select("doc_id", F.concat_ws(":", "stage", "reason").alias("fate"))
            .unionByName(tableio.read_table(spark, config, "pretrain").select("doc_id", F.lit("pretrain").alias("fate"))))
    rows = (docs.join(fate, "doc_id", "left").groupBy("source_file", "source_record", "fate").count()
            .toPandas())
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in rows.itertuples():
        src = r.source_file.removeprefix("file:")
        table[category[(src, r.source_record)]][r.fate or "(not in pretrain, not rejected)"] += r.count
    print("| category | documents | kept in `pretrain` | dropped by (stage:reason, documents) |\n|---|---|---|---|")
    for cat in sorted(table, key=lambda c: -sum(table[c].values())):
        c = table[cat]
        drops = ", ".join(f"{k} {v:,}" for k, v in c.most_common() if k != "pretrain")
        print(f"| {cat} | {sum(c.values()):,} | {c['pretrain']:,} | {drops} |")


def scaling_table() -> None:
    """The measured runs side by side (markdown): per stage and size, wall seconds, input documents/s,
    peak RSS of driver / JVM / workers, and how the time per input document grows from size to size."""
    runs = {}
    for f in sorted(RESULTS.glob("pipeline-*.json")):
        r = json.loads(f.read_text())
        if not r.get("overrides") and f.stem == f"pipeline-{r['docs']}":     # default-config generated runs
            runs[r["docs"]] = r
    if not runs:
        if not list(RESULTS.glob("pipeline-*-real.json")):
            raise SystemExit("no measured runs (bench/results/pipeline-*.json)")
        real_table()
        return
    sizes = sorted(runs)
    names = [s["stage"] for s in runs[sizes[-1]]["stages"]]
    cols = [f"{n:,} docs: s, docs/s, peak RSS MB driver/JVM/workers" for n in sizes]
    cols += [f"time per doc {a:,} -> {b:,}" for a, b in zip(sizes, sizes[1:])]
    print("| stage | " + " | ".join(cols) + " |")
    print("|---" * (1 + len(cols)) + "|")

    def cell(st: dict | None) -> str:
        if not st or st["status"] != "success":
            return "not run" if not st else st["status"]
        secs = st["stage_seconds"] or st["wall_seconds"]
        m = st["peak_rss_mb"]
        rate = st["rows_in"] / secs
        return (f"{secs:,.0f} s, {rate:,.0f}/s, " if rate >= 10 else f"{secs:,.0f} s, {rate:.2f}/s, ") + \
            f"{m['driver_py']:,}/{m['jvm']:,}/{m['workers']:,}"

    def per_doc(st: dict | None) -> float | None:
        if not st or st["status"] != "success" or not st["rows_in"]:
            return None
        return (st["stage_seconds"] or st["wall_seconds"]) / st["rows_in"]

    for name in names:
        by = {n: next((s for s in runs[n]["stages"] if s["stage"] == name), None) for n in sizes}
        growth = []
        for a, b in zip(sizes, sizes[1:]):
            pa, pb = per_doc(by[a]), per_doc(by[b])
            growth.append(f"{pb / pa:.2f}x" if pa and pb else "-")
        print(f"| {name} | " + " | ".join([cell(by[n]) for n in sizes] + growth) + " |")
    tot = []
    for n in sizes:
        r = runs[n]
        tot.append(f"{r['total_seconds']:,.0f} s, {r['docs_per_second']:,.1f} docs/s end to end"
                   + (f" ({r['sittings']} sittings)" if r.get("sittings", 1) > 1 else ""))
    growth = []
    for a, b in zip(sizes, sizes[1:]):
        growth.append(f"{(runs[b]['total_seconds'] / b) / (runs[a]['total_seconds'] / a):.2f}x")
    print("| **all** | " + " | ".join(tot + growth) + " |")
    real_table()


def real_table() -> None:
    """The real-page runs (pipeline-<N>-real.json): per stage, seconds, documents/s of its input, peak
    RSS and its share of the run's time."""
    for f in sorted(RESULTS.glob("pipeline-*-real.json")):
        r = json.loads(f.read_text())
        total = r["total_seconds"]
        print(f"\n{r['docs']:,} real pages ({f.name}): {total:,.0f} s, {r['docs_per_second']:,.1f} pages/s end to end"
              + (f" ({r['sittings']} sittings)" if r.get("sittings", 1) > 1 else ""))
        print("| stage | rows in | rows out | s | docs/s | share of the time | peak RSS MB driver/JVM/workers |")
        print("|---|---|---|---|---|---|---|")
        for st in r["stages"]:
            if st["status"] != "success":
                print(f"| {st['stage']} | {st['status']} | | | | | |")
                continue
            secs = st["stage_seconds"] or st["wall_seconds"]
            m = st["peak_rss_mb"]
            print(f"| {st['stage']} | {st['rows_in']:,} | {st['rows_out']:,} | {secs:,.0f} | {st['rows_in'] / secs:,.1f} | "
                  f"{secs / total:.0%} | {m['driver_py']:,}/{m['jvm']:,}/{m['workers']:,} |")


def project(target: int) -> None:
    """Per stage: wall and CPU seconds extrapolated to `target` documents, from the result files.

    With two or more runs: a + b*N through the two largest (fixed costs separated from per-document
    costs); with one run: proportional to N (an upper bound for stages with fixed costs). Either way
    a projection, printed as such, never a measurement.
    """
    files = sorted(RESULTS.glob("pipeline-*.json"))
    runs = sorted((r for r in (json.loads(f.read_text()) for f in files)
                   if not r.get("overrides") and not r.get("corpus", "generated").startswith("real")),
                  key=lambda r: r["docs"])             # default-config generated runs only
    if not runs:
        raise SystemExit("no measured runs (bench/results/pipeline-*.json) to project from")
    hi = runs[-1]
    lo = runs[-2] if len(runs) > 1 else None
    how = (f"linear a + b*N through the measured {lo['docs']:,} and {hi['docs']:,} document runs" if lo
           else f"proportional to N from the measured {hi['docs']:,} document run")
    print(f"PROJECTION to {target:,} documents ({how}; not a measurement)")
    print(f"{'stage':9} {'wall s':>9} {'CPU s':>9} {'proj. wall s':>13} {'proj. CPU s':>12} "
          f"{'peak RSS MB':>12} {'driver py MB':>13}")
    los = {x["stage"]: x for x in (lo["stages"] if lo else [])}
    tot_w = tot_c = 0.0

    def extrapolate(key: str, s: dict) -> float | None:
        b = s.get(key)
        if b is None:
            return None
        if lo and s["stage"] in los and los[s["stage"]].get(key) is not None:
            a = los[s["stage"]][key]
            return b + (b - a) / (hi["docs"] - lo["docs"]) * (target - hi["docs"])
        return b * target / hi["docs"]

    for s in hi["stages"]:
        if s["status"] != "success":
            print(f"{s['stage']:9} failed in the measured run ({s.get('error')}): not projected")
            continue
        wall = s["stage_seconds"] or s["wall_seconds"]
        pw = extrapolate("stage_seconds", s) or 0.0
        pc = extrapolate("cpu_seconds", s)
        tot_w += pw
        tot_c += pc or 0.0
        print(f"{s['stage']:9} {wall:9.1f} {s.get('cpu_seconds') or float('nan'):9.1f} {pw:13.0f} "
              f"{pc if pc is not None else float('nan'):12.0f} {s['peak_rss_mb']['total']:12} "
              f"{s['peak_rss_mb']['driver_py']:13}")
    print(f"{'total':9} {'':9} {'':9} {tot_w:13.0f} {tot_c:12.0f}   -> {target / tot_w:.1f} docs/s end to end "
          f"at the measured wall times (projected)")
    if tot_c:
        print(f"CPU-bound estimate on 2 idle cores: {tot_c / 2:,.0f} s -> {target / (tot_c / 2):.1f} docs/s (projected)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--procs", type=int, default=2, help="generator processes")
    ap.add_argument("--work", help="work dir (default ~/.cache/corpusmill/bench/pipeline-N)")
    ap.add_argument("--models", help="copy this models dir (demo classifiers, kenlm, code-bpe) instead of training")
    ap.add_argument("--example-paragraphs", default="1,1", metavar="LO,HI",
                    help="each classifier training row joins LO..HI generated examples of one label as paragraphs "
                         "(1,1: one example a row)")
    ap.add_argument("--classifier-examples", type=int, default=2000, metavar="N",
                    help="train the classifiers on N generated examples per head (0: the demo's model, 128 per head); "
                         "skipped when --models holds classifiers/")
    ap.add_argument("--stages", help="comma-separated stages (default: all)")
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--keep-tables", action="store_true")
    ap.add_argument("--resume", action="store_true",
                    help="continue the run of this size: stages already in its result file are kept, the rest run")
    ap.add_argument("--rerun", metavar="STAGES",
                    help="with --resume: measure these stages again (comma-separated) over the kept tables")
    ap.add_argument("--caught", action="store_true",
                    help="after a run of --docs N: what each generated category became (pretrain or stage:reason)")
    ap.add_argument("--table", action="store_true", help="print the scaling table of the result files (markdown)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="config override, e.g. safety.toxicity.cascade=false (repeatable)")
    ap.add_argument("--tag", default="", help="suffix of the result file (pipeline-<N><tag>.json)")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--real-pages", action="store_true",
                    help="real web pages as WARC (the shared pages repeated to --docs), stages format to quality")
    ap.add_argument("--project", type=int, metavar="N", help="print a projection to N docs from the result files")
    args = ap.parse_args(argv)
    if args.project:
        project(args.project)
        return 0
    if args.table:
        scaling_table()
        return 0
    if args.caught:
        caught(args.docs, args.work, args.seed)
        return 0
    if args.generate_only:
        work = Path(args.work or Path.home() / ".cache" / "corpusmill" / "bench" / f"pipeline-{args.docs}")
        print(json.dumps(generate_corpus(work / "corpus", args.docs, args.seed, args.procs)))
        return 0
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = run_bench(args)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
