"""Evaluation: ROC AUC of the causal-LM coherence signal, coherent vs shuffled real Wikipedia text.

    python bench/eval_coherence.py [--steps N] [--model DIR_OR_HUB_ID] [--set K=V]

Split as tests/test_longctx_eval.py does: wikitext-2 valid articles shuffled with seed 0, the first 30
train the small causal LM (unless --model is given), the other 30 are the coherent documents, and
their paragraphs shuffled across articles (same paragraph counts) are the incoherent ones. Scores
go through udfs.longctx.causal_lm with the default longctx.coherence geometry (4,096/1,024/1,024, stride
1,024; scaled to the model's max positions). Prints AUC of coh_ppl_diff, coh_ppl_ratio, coh_acc_diff.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def wikitext_articles(path: Path) -> list[list[str]]:
    arts: list[list[str]] = []
    for line in path.read_text().splitlines():
        if re.match(r"^ = [^=].* = $", line):
            arts.append([])
        elif line.strip() and not line.strip().startswith("=") and arts:
            arts[-1].append(line.strip())
    return arts


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a random positive scores above a random negative), ties count half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def split(arts: list[list[str]]):
    rng = random.Random(0)
    order = list(range(len(arts)))
    rng.shuffle(order)
    train = [p for i in order[:30] for p in arts[i]]
    test = [arts[i] for i in order[30:]]
    coherent = ["\n".join(a) for a in test]
    pool = [p for a in test for p in a]
    rng.shuffle(pool)
    shuffled, k = [], 0
    for a in test:
        shuffled.append("\n".join(pool[k:k + len(a)]))
        k += len(a)
    return train, coherent, shuffled


def coherence_aucs(scorer, coherent: list[str], shuffled: list[str]) -> dict:
    coh = [r.aggregate() for r in scorer.score_texts(coherent)]
    shuf = [r.aggregate() for r in scorer.score_texts(shuffled)]
    out = {}
    for name, sign in (("coh_ppl_diff", 1), ("coh_ppl_ratio", -1), ("coh_acc_diff", 1)):
        a = [sign * d[name] for d in coh if d[name] is not None]
        b = [sign * d[name] for d in shuf if d[name] is not None]
        out[name] = auc(a, b) if a and b else None
    out["docs_scored"] = (sum(1 for d in coh if d["coh_n_chunks"]), sum(1 for d in shuf if d["coh_n_chunks"]))
    out["keep_rates"] = {t: (sum(1 for d in coh if d["coh_n_chunks"] and d["coh_ppl_ratio"] <= t) / max(1, out["docs_scored"][0]),
                             sum(1 for d in shuf if d["coh_n_chunks"] and d["coh_ppl_ratio"] <= t) / max(1, out["docs_scored"][1]))
                         for t in (1.0, 1.005, 1.01, 1.015, 1.02)}
    out["mean_ratio"] = (sum(d["coh_ppl_ratio"] for d in coh if d["coh_n_chunks"]) / max(1, out["docs_scored"][0]),
                         sum(d["coh_ppl_ratio"] for d in shuf if d["coh_n_chunks"]) / max(1, out["docs_scored"][1]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, help="training steps (default longctx.causal_lm.steps)")
    ap.add_argument("--model", help="score with this causal LM (directory or cached hub id) instead of training")
    ap.add_argument("--out", help="where to save the trained model (default: a temp dir)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    args = ap.parse_args()

    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.stages.longctx import causal_spec
    from corpusmill.jobs.training.train_causal_lm import train_causal_lm
    from corpusmill.udfs.longctx.causal_lm import CausalCoherence

    config = load_config(None, [f"storage.root={tempfile.mkdtemp(prefix='eval-coh-')}", *args.set])
    train, coherent, shuffled = split(wikitext_articles(DATA / "wikitext-2-valid" / "valid.txt"))
    model = args.model
    if not model:
        t = config.longctx.causal_lm
        t = replace(t, steps=args.steps or t.steps)
        model = args.out or tempfile.mkdtemp(prefix="eval-coh-lm-")
        meta = train_causal_lm(train, model, t, source="wikitext-2 valid, 30 train articles")
        print(f"trained {model}: {meta['parameters']:,} params, {meta['tokens']:,} tokens, {t.steps} steps, "
              f"loss {meta['final_loss']}, {meta['seconds']}s")
    spec = replace(causal_spec(config), model=os.path.abspath(model) if os.path.exists(model) else model)
    scorer = CausalCoherence(spec)
    t0 = time.perf_counter()
    res = coherence_aucs(scorer, coherent, shuffled)
    print(f"window chunk={scorer.chunk} target={scorer.target} short={scorer.short} stride={scorer.stride} "
          f"({time.perf_counter() - t0:.1f}s to score)")
    print(f"wikitext-2 valid: {len(coherent)} coherent vs {len(shuffled)} shuffled (docs scored {res['docs_scored']}); "
          f"mean coh_ppl_ratio {res['mean_ratio'][0]:.3f} vs {res['mean_ratio'][1]:.3f}")
    for t, (kc, ks) in res["keep_rates"].items():
        print(f"  max_coh_ppl_ratio {t}: keeps {kc:.0%} of coherent, {ks:.0%} of shuffled")
    print("  " + ", ".join(f"AUC {k}={res[k]:.3f}" for k in ("coh_ppl_diff", "coh_ppl_ratio", "coh_acc_diff")
                          if res[k] is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
