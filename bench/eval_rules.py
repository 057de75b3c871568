"""Evaluation: what the `rules` stage keeps of real clean prose and drops of generated junk, per language.

    .venv/bin/python bench/eval_rules.py                    # keep / drop per language, before and after
    .venv/bin/python bench/eval_rules.py --units            # every combination of word units, dev and test
    .venv/bin/python bench/eval_rules.py --calibrated       # + zh from `calibrate-rules`; zh, ja beside FineWeb-2

Clean prose, from ../shared/data:
  en, de  trafilatura-eval pages whose extracted text (Trafilatura, as the format stage runs it) holds
          every ground-truth main-text snippet and no boilerplate snippet; English also gets the
          wikitext-2 validation articles cut at their section headings and detokenized;
  zh      the CMRC 2018 passages (Chinese Wikipedia) and the Chinese trafilatura-eval pages verified
          as above.
Junk, generated from each language's own clean words and sentences (deterministic): menus, repeated
lines, symbol soup, mojibake, bullet lists, lorem ipsum, code dumps, keyword spam.

Every item goes to `dev` or `test` by a hash of its id: choices (the word unit of each rule family)
are made on dev and reported on test. Each configuration is one run of the real stage (Spark +
Delta, local[2]) over all items; keep / reasons are read back from `rule_signals`. `before` is the
`datatrove` profile (conf/datatrove.yaml: datatrove's word units and thresholds, which the defaults
were) with the earlier Chinese settings (`BEFORE_ZH`); `after` is conf/default.yaml.
`--calibrated` adds Chinese thresholds from `corpusmill calibrate-rules` (cross-fitted) and FineWeb-2's,
and calibrates zh and ja from all their reference text, beside FineWeb-2's published limits.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path.home() / ".cache" / "corpusmill" / "bench"
JUNK_KINDS = ("menu", "repeated_lines", "symbol_soup", "mojibake", "bullet_list", "lorem_ipsum", "code_dump",
              "keyword_spam")
UNIT_FAMILIES = ("gopher_quality_words", "gopher_repetition_words", "fineweb_words")
# `before`: conf/datatrove.yaml (the English side: what the defaults were) and the Chinese settings the
# defaults had: the pure-Python jieba and the C4 document rules on
BEFORE_ZH = ["rules.signals.zh.words=jieba", "rules.thresholds.zh.c4.min_sentences=5",
             "rules.thresholds.zh.c4.drop_lorem_ipsum=true", "rules.thresholds.zh.c4.drop_curly_bracket=true"]
# FineWeb-2's published limits (huggingface/fineweb-2 configs/cmn_Hani.yml, jpn_Jpan.yml) for the rules
# that measure the same quantity here; FineWeb-2 counts words with its own tokenizer per language
FINEWEB2 = {
    "zh": {"gopher_repetition.max_dup_line_frac": 0.287, "gopher_repetition.max_top2_char_frac": 0.256,
           "gopher_repetition.max_top3_char_frac": 0.201, "gopher_repetition.max_top4_char_frac": 0.171,
           "gopher_repetition.max_dup5_char_frac": 0.198, "gopher_repetition.max_dup6_char_frac": 0.182,
           "gopher_repetition.max_dup7_char_frac": 0.167, "gopher_repetition.max_dup8_char_frac": 0.154,
           "gopher_repetition.max_dup9_char_frac": 0.14, "gopher_repetition.max_dup10_char_frac": 0.127,
           "gopher_quality.min_mean_word_len": 1, "gopher_quality.max_mean_word_len": 5,
           "gopher_quality.min_alpha_words_frac": 0.735, "fineweb.min_line_punct_frac": 0.106,
           "fineweb.max_newline_word_ratio": 0.178},
    "ja": {"gopher_repetition.max_dup_line_frac": 0.375, "gopher_repetition.max_top2_char_frac": 0.121,
           "gopher_repetition.max_top3_char_frac": 0.129, "gopher_repetition.max_top4_char_frac": 0.145,
           "gopher_repetition.max_dup5_char_frac": 0.307, "gopher_repetition.max_dup6_char_frac": 0.283,
           "gopher_repetition.max_dup7_char_frac": 0.264, "gopher_repetition.max_dup8_char_frac": 0.248,
           "gopher_repetition.max_dup9_char_frac": 0.234, "gopher_repetition.max_dup10_char_frac": 0.223,
           "gopher_quality.min_mean_word_len": 1, "gopher_quality.max_mean_word_len": 5,
           "gopher_quality.min_alpha_words_frac": 0.759, "fineweb.min_line_punct_frac": 0.167,
           "fineweb.max_newline_word_ratio": 0.162},
}


# ---- clean prose ----------------------------------------------------------------------------------
def _split(item_id: str) -> str:
    return "dev" if int(hashlib.sha1(item_id.encode()).hexdigest()[:8], 16) % 2 == 0 else "test"


def verified_pages(verified_only: bool = True) -> list[tuple[str, str, str]]:
    """(url, language, text) of the trafilatura-eval pages whose extraction matches the ground truth."""
    import pycld2

    from bench_rules import extracted_texts   # the extraction cache the other rule benches share

    manifest = DATA / "trafilatura-eval" / "manifest.jsonl"
    texts = dict(extracted_texts(CACHE))
    pages = []
    for line in manifest.read_text().splitlines():
        m = json.loads(line)
        text = texts.get(m["url"], "")
        flat = " ".join(text.split())
        if not flat or verified_only and (not all(" ".join(w.split()) in flat for w in m["with"])
                                          or any(" ".join(w.split()) in flat for w in m["without"])):
            continue
        try:
            lang = pycld2.detect(text)[2][0][1]
        except pycld2.error:
            continue
        pages.append((m["url"], lang, text))
    return pages


_DETOK = [(" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" , ", ", "), (" . ", ". "), (" ; ", "; "),
          (" : ", ": "), (" 's ", "'s "), (" n't ", "n't "), ("( ", "("), (" )", ")"), (" ' ", "' ")]


def detokenize(line: str) -> str:
    """wikitext's tokenized text back to ordinary prose (spaces around punctuation, @-@ joins); the
    <unk> placeholders of rare words are left out (a stand-in word would repeat like boilerplate)."""
    s = " " + line.strip().replace("<unk>", "") + " "
    for a, b in _DETOK:
        s = s.replace(a, b)
    s = re.sub(r'" (.*?) "', r'"\1"', s)
    s = re.sub(r"\(\W*\)", "", s)
    s = re.sub(r" +([.,;:!?%])", r"\1", s)
    return " ".join(s.split())


def wikitext_sections() -> list[tuple[str, str]]:
    """(id, text) of each wikitext-2 validation section: its heading line, then its paragraphs."""
    out, title, head, paras = [], "", "", []

    def flush():
        if paras:
            out.append((f"wiki/{len(out)}/{title}/{head}", "\n".join(([head] if head != title else []) + paras)))

    for line in (DATA / "wikitext-2-valid" / "valid.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^ (=(?: =)*) (.*?) =(?: =)* $", line)     # " = Title = ", " = = Section = = ", ...
        if m:
            flush()
            paras = []
            head = detokenize(m.group(2))
            if m.group(1) == "=":
                title = head
        elif line.strip():
            paras.append(detokenize(line))
    flush()
    return out


def clean_items() -> list[dict]:
    items = []
    for url, lang, text in verified_pages():
        if lang in ("en", "de", "zh"):
            items.append(dict(id=f"web/{url}", lang=lang, kind="clean:web", text=text))
    for i, text in wikitext_sections():
        items.append(dict(id=i, lang="en", kind="clean:wikipedia", text=text))
    for line in (DATA / "cmrc2018-zh-wikipedia" / "contexts.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        items.append(dict(id=f"cmrc/{r['id']}", lang="zh", kind="clean:wikipedia", text=rendered(r["text"])))
    return items


_CONVERSION = re.compile(r"-\{(?:[^{}]*?zh-hans:([^;{}]*)[^{}]*|([^{}:;]*))\}-")


def rendered(wikitext: str) -> str:
    """A CMRC passage as the page shows it: MediaWiki language conversion `-{zh-hans:A;zh-hk:B}-` -> A."""
    return _CONVERSION.sub(lambda m: m.group(1) or m.group(2) or "", wikitext)


# ---- junk ------------------------------------------------------------------------------------------
_LOREM = ["Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
          "dolore magna aliqua.", "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
          "ex ea commodo consequat.", "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
          "fugiat nulla pariatur.", "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia "
          "deserunt mollit anim id est laborum.", "Curabitur pretium tincidunt lacus, nulla gravida orci a odio.",
          "Nullam varius, turpis et commodo pharetra, est eros bibendum elit, nec luctus magna felis sollicitudin "
          "mauris.", "Integer in mauris eu nibh euismod gravida.", "Praesent blandit odio eu enim pellentesque sed "
          "dignissim libero luctus."]
_SYMBOLS = list("|/\\*#@~^=+<>[]{}()_-:;.,!?$%&»«•◆■□▶★☆→←↑↓©®™§¶")
_CODE = ["def {a}({b}, {c}=None):", "    if {b} is None:", "        return {c}", "    {a}_{b} = [{b}.{c}(x) for x in {c}]",
         "    return {{'{a}': {b}, '{c}': len({a}_{b})}}", "function {a}({b}) {{", "  var {c} = document.getElementById('{b}');",
         "  {c}.style.display = '{a}';", "}}", ".{a} {{ margin: 0 auto; color: #{n:06x}; }}", "import {a}.{b} as {c}",
         "for (let i = 0; i < {b}.length; i++) {{ {a}[i] = {c}(i); }}", "SELECT {a}, {b} FROM {c} WHERE id = {n};"]


def _sentences(text: str, lang: str) -> list[str]:
    parts = re.split(r"(?<=[。！？])" if lang == "zh" else r"(?<=[.!?])\s+", text.replace("\n", " "))
    return [p.strip() for p in parts if len(p.strip()) > (8 if lang == "zh" else 30)]


def _vocab(texts: list[str], lang: str) -> list[str]:
    if lang == "zh":
        from corpusmill.udfs.rules.text_units import words_jieba

        words = Counter(w for t in texts for w in words_jieba(t) if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", w))
    else:
        words = Counter(w for t in texts for w in re.findall(r"[^\W\d_]{3,}", t))
    return [w for w, _c in words.most_common(3000)]


def _typographic(text: str) -> str:
    text = re.sub(r"(\w)'(\w)", "\\1\u2019\\2", text)
    text = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", text)
    return text.replace(" - ", " \u2013 ")


def make_junk(kind: str, lang: str, rng: random.Random, vocab: list[str], sents: list[str], texts: list[str]) -> str:
    """One junk document of `kind` in `lang`, from that language's words / sentences / clean texts."""
    sep = "" if lang == "zh" else " "

    def phrase(lo: int, hi: int) -> str:
        return sep.join(rng.choice(vocab) for _ in range(rng.randint(lo, hi)))

    if kind == "menu":
        return "\n".join(phrase(1, 3).title() if lang != "zh" else phrase(1, 2) for _ in range(rng.randint(15, 60)))
    if kind == "repeated_lines":
        lines = rng.sample(sents, rng.randint(1, 4))
        return "\n".join(rng.choice(lines) for _ in range(rng.randint(12, 40)))
    if kind == "symbol_soup":
        return "\n".join("".join(rng.choice(_SYMBOLS) if rng.random() < 0.7 else rng.choice(vocab)[:3]
                                 for _ in range(rng.randint(20, 80))) for _ in range(rng.randint(3, 15)))
    if kind == "mojibake":       # a page decoded with the wrong charset: at least 1 character in 200 garbled
        for _ in range(100):
            src = _typographic(rng.choice([t for t in texts if len(t) > 600] or texts))
            if sum(not c.isascii() for c in src) >= len(src) / 200:
                break
        return src.encode("utf-8").decode("cp1252", errors="replace")
    if kind == "bullet_list":
        mark = rng.choice(["•", "-", "- ", "• "])
        return "\n".join(mark + phrase(2, 7) for _ in range(rng.randint(10, 40)))
    if kind == "lorem_ipsum":    # placeholder text, the classic opening first, sometimes beside a real sentence
        paras = [" ".join([_LOREM[0]] * (k == 0) + [rng.choice(_LOREM) for _ in range(rng.randint(3, 8))])
                 for k in range(rng.randint(2, 6))]
        if rng.random() < 0.5:
            paras.insert(rng.randrange(len(paras) + 1), rng.choice(sents))
        return "\n\n".join(paras)
    if kind == "code_dump":
        ident = [re.sub(r"\W", "", w.lower())[:12] or "x" for w in rng.sample(vocab, 20)] if lang != "zh" \
            else ["data", "item", "value", "node", "user", "list", "page", "conf", "view", "row"]
        lines = [rng.choice(_CODE).format(a=rng.choice(ident), b=rng.choice(ident), c=rng.choice(ident),
                                          n=rng.randrange(1 << 24)) for _ in range(rng.randint(20, 80))]
        if lang == "zh":
            lines = [ln + ("  # " + phrase(2, 4) if rng.random() < 0.3 else "") for ln in lines]
        return "\n".join(lines)
    if kind == "keyword_spam":
        keys = [phrase(1, 3) for _ in range(rng.randint(5, 15))]
        joiner = rng.choice(["，", " ", "、", "|"] if lang == "zh" else [", ", " ", " | ", " - "])
        return "\n".join(joiner.join(rng.choice(keys) for _ in range(rng.randint(20, 60)))
                         for _ in range(rng.randint(1, 5)))
    raise ValueError(kind)


def junk_items(clean: list[dict], per_kind: int, seed: int) -> list[dict]:
    out = []
    for lang in sorted({c["lang"] for c in clean}):
        texts = [c["text"] for c in clean if c["lang"] == lang]
        vocab = _vocab(texts, lang)
        sents = [s for t in texts for s in _sentences(t, lang)]
        for kind in JUNK_KINDS:
            for k in range(per_kind):
                rng = random.Random(f"{seed}/{lang}/{kind}/{k}")
                out.append(dict(id=f"junk/{lang}/{kind}/{k}", lang=lang, kind=f"junk:{kind}",
                                text=make_junk(kind, lang, rng, vocab, sents, texts)))
    return out


def items(per_kind: int, seed: int) -> list[dict]:
    out = clean_items()
    out += junk_items(out, per_kind, seed)
    for it in out:
        it["split"] = _split(it["id"])
        it["doc_id"] = hashlib.sha1(it["id"].encode()).hexdigest()[:32]
    dup = [i for i, n in Counter(it["id"] for it in out).items() if n > 1]
    assert not dup, f"item ids must be unique (doc_id is their hash): {dup[:3]}"
    return out


# ---- runs ------------------------------------------------------------------------------------------
class Runner:
    """One Spark session; each config's rules run over the same `documents` table in its own store."""

    def __init__(self, rows: list[dict], cores: int):
        self.rows, self.cores = rows, cores
        self.base = Path(tempfile.mkdtemp(prefix="eval-rules-"))
        self.spark = None
        self.n = 0

    def run(self, conf_file: str | None, overrides: list[str]) -> dict[str, dict]:
        """doc_id -> rule_signals row (signals, keep, reasons) under this config."""
        import datetime as dt

        from corpusmill.jobs.core import tableio
        from corpusmill.jobs.core.session import get_spark
        from corpusmill.jobs.registry import load_config
        from corpusmill.jobs.stages import rules
        from corpusmill.schemas import documents

        self.n += 1
        cfg = load_config(conf_file, [f"storage.root={self.base / str(self.n)}", f"spark.master=local[{self.cores}]",
                                      "spark.driver_memory=2g", f"spark.shuffle_partitions={self.cores * 2}",
                                      *overrides])
        if self.spark is None:
            self.spark = get_spark(cfg)
        docs = [dict(doc_id=r["doc_id"], dump="CC-MAIN-2024-10", source_type="web", url=f"https://eval/{r['doc_id']}",
                     host="eval", domain="eval", fetch_date=dt.datetime(2024, 3, 1), title=None, text=r["text"],
                     text_bytes=len(r["text"].encode()), language=r["lang"], language_pct=99.0,
                     language_reliable=True, source_file="eval", source_record=r["id"]) for r in self.rows]
        tableio.write_table(self.spark, cfg, documents.TABLE,
                            self.spark.createDataFrame(docs, documents.SCHEMA).repartition(self.cores * 4))
        res = rules.run(self.spark, cfg, force=True)
        assert res.rows_in == len(docs) == res.rows_out + res.rows_rejected, res
        return {r["doc_id"]: r.asDict() for r in tableio.read_table(self.spark, cfg, "rule_signals").collect()}


def keep_rates(rows: list[dict], keep_of, split: str | None = None) -> dict[tuple[str, str], tuple[float, int]]:
    """(lang, clean|junk) -> (share kept, n)."""
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if split and r["split"] != split:
            continue
        k = acc[(r["lang"], r["kind"].split(":")[0])]
        k[0] += bool(keep_of(r))
        k[1] += 1
    return {k: (v[0] / v[1], v[1]) for k, v in sorted(acc.items())}


def decide(signals: dict, thresholds) -> bool:
    from corpusmill.udfs.rules.signals import failed_rules

    return not failed_rules(signals, thresholds)


def combo_signals(runs: dict[str, dict[str, dict]], combo: dict[str, str], doc_id: str) -> dict:
    """A document's signals with each family's taken from the run that measured it in the combo's unit."""
    from corpusmill.udfs.rules import fineweb, gopher

    out = dict(runs["tokens"][doc_id])
    fam_signals = {"gopher_quality_words": [s for s in gopher.SIGNALS if s[0].startswith("gq_")],
                   "gopher_repetition_words": [s for s in gopher.SIGNALS if s[0].startswith("gr_")],
                   "fineweb_words": fineweb.SIGNALS}
    for fam, unit in combo.items():
        for name, *_ in fam_signals[fam]:
            out[name] = runs[unit][doc_id][name]
    return out


def print_table(title: str, columns: dict[str, dict], langs: list[str]) -> None:
    print(f"\n{title}")
    print("| language | items (clean / junk) | " + " | ".join(f"{c}: clean kept / junk dropped" for c in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for lang in langs:
        any_col = next(iter(columns.values()))
        n_clean, n_junk = any_col.get((lang, "clean"), (0, 0))[1], any_col.get((lang, "junk"), (0, 0))[1]
        cells = [f"{col.get((lang, 'clean'), (float('nan'),))[0]:.3f} / {1 - col.get((lang, 'junk'), (float('nan'),))[0]:.3f}"
                 for col in columns.values()]
        print(f"| {lang} | {n_clean} / {n_junk} | " + " | ".join(cells) + " |")


def junk_breakdown(rows: list[dict], keeps: dict[str, dict[str, bool]]) -> None:
    print("\njunk kept, by kind (all items)")
    for lang in sorted({r["lang"] for r in rows}):
        for kind in JUNK_KINDS:
            sel = [r for r in rows if r["lang"] == lang and r["kind"] == f"junk:{kind}"]
            print(f"  {lang} {kind:15s} " + "  ".join(f"{name}: {sum(k[r['doc_id']] for r in sel)}/{len(sel)}"
                                                     for name, k in keeps.items()))


def calibrate(runner: "Runner", lang: str, texts: list[str], work: Path, sets: list[str]) -> tuple[int, str, Path]:
    """`corpusmill calibrate-rules` on these texts (its exit code, what it printed, the overlay it wrote)."""
    import contextlib
    import io

    from corpusmill.jobs import cli

    work.mkdir(parents=True, exist_ok=True)
    ref = work / "reference.jsonl"
    ref.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    out = work / f"{lang}.yaml"
    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        rc = cli.main(["calibrate-rules", "--language", lang, "--reference", str(ref), "--out", str(out),
                       "--set", f"storage.root={work / 'store'}", "--set", f"spark.master=local[{runner.cores}]",
                       *[x for s in sets for x in ("--set", s)]])
    return rc, buf.getvalue() + err.getvalue(), out


def compare_with_fineweb2(rows: list[dict], runner: "Runner") -> None:
    """Calibrate zh and ja from all the reference text there is, and set the limits beside FineWeb-2's."""
    import yaml

    from corpusmill.jobs.registry import load_config

    cfg = load_config()
    print("\ncalibrate-rules on the whole reference of each language (conf/default.yaml's calibrate_rules)")
    calibrated: dict[str, dict[str, float]] = {}
    japanese = [t for _u, lang, t in verified_pages(verified_only=False) if lang == "ja"]   # all there is
    for lang in ("zh", "ja"):
        texts = japanese if lang == "ja" else [r["text"] for r in rows if r["lang"] == lang and r["kind"].startswith("clean")]
        rc, out, path = calibrate(runner, lang, texts, runner.base / f"calibrate-{lang}", [])
        print(f"  {lang}: {len(texts)} clean texts -> exit {rc}")
        print("    " + "\n    ".join(out.strip().splitlines()[-24:]))
        if rc == 0:
            block = yaml.safe_load(path.read_text())["rules"]["thresholds"][lang]
            calibrated[lang] = {f"{f}.{k}": v for f, d in block.items() for k, v in d.items()}
    for lang in ("zh", "ja"):
        resolved = cfg.rules.resolved_thresholds()[lang]
        print(f"\n| rule ({lang}) | default | calibrated here | FineWeb-2 |")
        print("|---|---|---|---|")
        for rule in cfg.calibrate_rules.rules:
            fam, key = rule.split(".")
            cur = getattr(resolved[fam], key)
            cal_v = calibrated.get(lang, {}).get(rule)
            fw = FINEWEB2[lang].get(rule)
            print(f"| {rule} | {'off' if cur is None else format(cur, 'g')} | "
                  f"{'(kept)' if cal_v is None else format(cal_v, 'g')} | {'-' if fw is None else format(fw, 'g')} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=40, help="junk documents per kind and language")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--units", action="store_true", help="every combination of word units, on dev and test")
    ap.add_argument("--reasons", action="store_true", help="why clean items are dropped, per config")
    ap.add_argument("--calibrated", action="store_true",
                    help="zh: thresholds from calibrate-rules, cross-fitted (calibrated on the CMRC passages of "
                         "one split, judged on the other), and FineWeb-2's cmn_Hani limits; the calibration "
                         "beside FineWeb-2's values")
    args = ap.parse_args()
    from corpusmill.jobs.registry import load_config

    rows = items(args.per_kind, args.seed)
    print(f"{len(rows)} items: " + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in
                                             sorted(Counter((r['lang'], r['kind']) for r in rows).items())))
    runner = Runner(rows, args.cores)
    runs = {"before": runner.run(str(ROOT / "conf" / "datatrove.yaml"), BEFORE_ZH), "after": runner.run(None, [])}
    keeps = {name: {d: s["keep"] for d, s in run.items()} for name, run in runs.items()}
    if args.calibrated:
        fold = {}
        for split, other in (("dev", "test"), ("test", "dev")):
            ref = [r["text"] for r in rows if r["lang"] == "zh" and r["kind"] == "clean:wikipedia" and r["split"] == other]
            rc, out, path = calibrate(runner, "zh", ref, runner.base / f"fold-{split}",
                                      [f"calibrate_rules.min_documents={len(ref) - 1}"])
            assert rc == 0, out
            fold[split] = runner.run(str(path), [])
        keeps["after + zh calibrated"] = {r["doc_id"]: fold[r["split"]][r["doc_id"]]["keep"] for r in rows}
        fw2 = [f"rules.thresholds.zh.{k}={v}" for k, v in FINEWEB2["zh"].items()]
        keeps["after + zh FineWeb-2"] = {d: s["keep"] for d, s in runner.run(None, fw2).items()}
    langs = sorted({r["lang"] for r in rows})
    for split in ("dev", "test", None):
        cols = {name: keep_rates(rows, lambda r, k=k: k[r["doc_id"]], split) for name, k in keeps.items()}
        print_table(f"keep / drop, {split or 'all items'}", cols, langs)
    junk_breakdown(rows, keeps)
    if args.reasons:
        for name, run in runs.items():
            print(f"\nclean items dropped under {name}, by first reason and language")
            c = Counter((r["lang"], r["kind"], run[r["doc_id"]]["reasons"][0]) for r in rows
                        if r["kind"].startswith("clean") and not run[r["doc_id"]]["keep"])
            for (lang, kind, reason), n in c.most_common():
                print(f"  {lang} {kind:16s} {reason:45s} {n}")
    if args.units:
        units = {u: runner.run(None, [f"rules.signals.{p}.{f}={u}" for p in ("default", "zh", "ja")
                                      for f in UNIT_FAMILIES]) for u in ("tokens", "whitespace")}
        th = load_config().rules.resolved_thresholds()
        print("\nword units per family (the defaults' thresholds): clean kept / junk dropped")
        for combo_units in itertools.product(("tokens", "whitespace"), repeat=len(UNIT_FAMILIES)):
            combo = dict(zip(UNIT_FAMILIES, combo_units))
            line = []
            for split in ("dev", "test"):
                def keep(r, combo=combo):
                    prof = r["lang"] if r["lang"] in th else "default"
                    return decide(combo_signals(units, combo, r["doc_id"]), th[prof])
                rates = keep_rates(rows, keep, split)
                line.append(f"{split}: " + "  ".join(f"{lang} {rates[(lang, 'clean')][0]:.3f}/{1 - rates[(lang, 'junk')][0]:.3f}"
                                                    for lang in langs))
            print(f"  {' '.join(u[0] for u in combo_units)}  " + "   ".join(line))
        print("  (letters: gopher_quality, gopher_repetition, fineweb; t = tokens, w = whitespace)")
    if args.calibrated:
        compare_with_fineweb2(rows, runner)
    runner.spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
