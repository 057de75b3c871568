"""Evaluation of the long-context signals (issue: ROC AUC of each signal).

Real text: consecutive paragraphs of the same Wikipedia article (coherent), the same paragraphs
shuffled across articles (incoherent), and junk (number tables, link lists, logs). Models are trained
on other articles than those evaluated. Generated text: the demo's long stories vs its incoherent dumps.
Run with -s to see the AUC tables.
"""
from __future__ import annotations

import random
import re

import pytest
from test_longctx import lc_models, link_list, log_lines, number_table  # noqa: F401
from test_perplexity import auc

from corpusmill.udfs.longctx import perplexity
from corpusmill.udfs.longctx.stats import SignalParams, document_signals

# signal -> +1 when a higher value means "coherent / clean", -1 when lower does
DIRECTION = {"coh_ppl_diff": +1, "coh_ppl_ratio": -1, "coh_hit_diff": +1, "doc_perplexity": -1,
             "connectives_per_kw": +1, "pronouns_per_kw": +1, "type_token_ratio": +1, "digit_rate": -1}


def signal_auc(pos: list[dict], neg: list[dict], signal: str) -> float | None:
    sign = DIRECTION[signal]
    a = [sign * d[signal] for d in pos if d.get(signal) is not None]
    b = [sign * d[signal] for d in neg if d.get(signal) is not None]
    return auc(a, b) if a and b else None


def wikitext_articles(shared_data) -> list[list[str]]:
    arts: list[list[str]] = []
    for line in (shared_data / "wikitext-2-valid" / "valid.txt").read_text().splitlines():
        if re.match(r"^ = [^=].* = $", line):
            arts.append([])
        elif line.strip() and not line.strip().startswith("=") and arts:
            arts[-1].append(line.strip())
    return arts


def test_auc_on_wikipedia_coherent_vs_shuffled_vs_junk(shared_data, tmp_path):
    from corpusmill.jobs.training.train_lm import train_language_model

    arts = wikitext_articles(shared_data)
    rng = random.Random(0)
    order = list(range(len(arts)))
    rng.shuffle(order)
    train = [p for i in order[:30] for p in arts[i]]
    test_arts = [arts[i] for i in order[30:]]
    train_language_model(train, "en", str(tmp_path), vocab_size=4000)
    coherent = ["\n".join(a) for a in test_arts]
    pool = [p for a in test_arts for p in a]
    rng.shuffle(pool)
    shuffled, k = [], 0
    for a in test_arts:                      # same paragraph counts as the coherent documents
        shuffled.append("\n".join(pool[k:k + len(a)]))
        k += len(a)
    junk = [f(s) for s in range(6) for f in (number_table, link_list, log_lines)]
    rows = []
    for chunk in (1024, 2048):
        p = SignalParams(str(tmp_path), ("en",), chunk_tokens=chunk, target_tokens=chunk // 4,
                         short_context_tokens=chunk // 4, stride_tokens=chunk // 4)
        coh = [document_signals(t, "en", p) for t in coherent]
        shuf = [document_signals(t, "en", p) for t in shuffled]
        rows.append((chunk, {s: signal_auc(coh, shuf, s) for s in ("coh_ppl_diff", "coh_ppl_ratio", "coh_hit_diff")},
                     sum(1 for d in coh if d["coh_n_chunks"])))
    clean = coh
    junk_sig = [document_signals(t, "en", p) for t in junk]
    clean_vs_junk = {s: signal_auc(clean, junk_sig, s) for s in
                     ("doc_perplexity", "connectives_per_kw", "pronouns_per_kw", "type_token_ratio", "digit_rate")}
    print(f"\nwikitext-2 valid: {len(coherent)} coherent articles vs {len(shuffled)} shuffled, {len(junk)} junk")
    for chunk, a, n in rows:
        print(f"  coherence chunk={chunk} target/short={chunk // 4} ({n} docs scored): "
              + ", ".join(f"AUC {k}={v:.3f}" for k, v in a.items()))
    print("  clean prose vs junk: " + ", ".join(f"AUC {k}={v:.3f}" for k, v in clean_vs_junk.items()))
    assert rows[0][1]["coh_ppl_diff"] >= 0.9 and rows[0][1]["coh_ppl_ratio"] >= 0.9
    assert rows[1][1]["coh_ppl_ratio"] >= 0.7
    assert clean_vs_junk["doc_perplexity"] >= 0.99 and clean_vs_junk["connectives_per_kw"] >= 0.99


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_auc_on_generated_stories_vs_incoherent_dumps(lang, lc_models):
    """The demo's own long documents (samplegen.kinds): stories vs glued fragments/logs/tables,
    with the default coherence settings (4,096-token chunks)."""
    from corpusmill.samplegen import kinds as K
    from corpusmill.samplegen.grammar import rng_for

    p = SignalParams(lc_models, ("en", "zh"), stride_tokens=1024)
    stories = [document_signals("\n".join(K.long_story(rng_for("ev", lang, i), lang)["paragraphs"]), lang, p)
               for i in range(4)]
    dumps = [document_signals("\n".join(K.long_incoherent(rng_for("ev", lang, i), lang)["paragraphs"]), lang, p)
             for i in range(4)]
    res = {s: signal_auc(stories, dumps, s) for s in DIRECTION}
    print(f"\ngenerated {lang}: 4 stories vs 4 dumps: " + ", ".join(
        f"{k}={v:.3f}" for k, v in res.items() if v is not None))
    assert res["doc_perplexity"] == 1.0 and res["connectives_per_kw"] == 1.0 and res["digit_rate"] == 1.0
