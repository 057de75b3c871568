"""CCNet normalization, KenLM perplexity and the coherence signal as plain Python, with real models."""
from __future__ import annotations

import math

import pytest
from test_longctx import coherent_doc, lc_models, link_list, number_table, shuffled_doc  # noqa: F401

from corpusmill.udfs.longctx import coherence, perplexity
from corpusmill.udfs.longctx.stats import text_stats


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a random positive scores above a random negative), ties count half."""
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg) / (len(pos) * len(neg))


def test_ccnet_normalization():
    assert perplexity.normalize_line("  Héllo, Wörld 2024 “quoted”，fin。 ") == 'hello, world 0000 "quoted",fin.'
    assert perplexity.normalize_line("Tab\tand\x07bell\u0085") == "tabandbell"
    assert perplexity.normalize_line("   ") == ""
    assert perplexity.normalize_line("《书名》：１２３") == '"书名":０００'.replace("０", "0")


def test_paragraphs_cut_huge_lines_and_skip_blank_ones():
    text = "\n\n  a b c  \n" + "word " * 10_000 + "\n" + "x" * 45_000
    pars = list(perplexity.paragraphs(text, max_chars=20_000))
    assert pars[0] == "a b c"
    assert all(len(p) <= 20_000 for p in pars) and sum(len(p) for p in pars[-3:]) == 45_000
    assert all(p.strip() == p and p for p in pars)


def test_ppl_formula_against_the_kenlm_test_model(shared_data):
    import kenlm

    model = kenlm.Model(str(shared_data / "kenlm-test-arpa" / "test.arpa"))
    line = "looking on a little"
    s = model.score(line, bos=True, eos=True)
    assert perplexity.ppl(s, 4 + 1) == round(10 ** (-s / 5), 1)
    assert perplexity.ppl(s, 5) == pytest.approx(model.perplexity(line), abs=0.06)
    assert perplexity.ppl(0.0, 0) is None


def test_models_load_once_and_score_in_domain_text_lower(lc_models):
    m1 = perplexity.load_model(lc_models, "en")
    n = perplexity.loaded_model_count()
    assert perplexity.load_model(lc_models, "en") is m1 and perplexity.loaded_model_count() == n
    prose = perplexity.score_document(m1, coherent_doc("en", 3, min_bytes=5000))
    junk = perplexity.score_document(m1, number_table(3, rows=100))
    assert prose.doc_perplexity * 10 < junk.doc_perplexity
    assert prose.n_paragraphs == len(prose.para_perplexity) and prose.n_lm_tokens > 500
    with pytest.raises(perplexity.ModelMissing, match="train-lm --lang xx"):
        perplexity.load_model(lc_models, "xx")


def test_document_perplexity_is_token_weighted_mean_of_paragraphs(lc_models):
    m = perplexity.load_model(lc_models, "en")
    pars = ["the gardener planted a row of beans.", "a telescope on the hill.", "0000 | 0000 | xyz"]
    doc = perplexity.score_document(m, "\n".join(pars))
    logs, lens = [], []
    for p in pars:
        pieces = m.tokenize(perplexity.normalize_line(p))
        logs.append(m.score_line(pieces))
        lens.append(len(pieces) + 1)
    assert doc.doc_perplexity == round(10 ** (-sum(logs) / sum(lens)), 1)
    assert doc.para_perplexity == [round(10 ** (-l / n), 1) for l, n in zip(logs, lens)]


def test_stats_separate_prose_from_tables_and_link_lists():
    prose = text_stats(coherent_doc("en", 4, min_bytes=20_000), "en")
    table = text_stats(number_table(4), "en")
    links = text_stats(link_list(4), "en")
    assert prose.connectives_per_kw > 5 and table.connectives_per_kw == 0 == links.connectives_per_kw
    assert table.digit_rate > 0.5 > 0.05 > prose.digit_rate and table.pipe_rate > 0.05 > prose.pipe_rate
    assert prose.pronouns_per_kw > 10 and prose.line_len_mean > 3 * links.line_len_mean
    assert links.type_token_ratio < 0.2 < prose.type_token_ratio
    zh = text_stats(coherent_doc("zh", 4, min_bytes=20_000), "zh")
    assert zh.connectives_per_kw > 1 and zh.pronouns_per_kw > 1 and 1.0 <= zh.chars_per_word < 1.1
    assert text_stats("", "en").line_len_mean is None and text_stats("hallo welt", "de").connectives_per_kw is None


def test_coherence_ranks_coherent_documents_above_shuffled_fragments(lc_models):
    """Generated long documents: one topic throughout vs paragraphs of many topics shuffled.
    The long-context gain (ppl_without - ppl_with) must rank coherent above shuffled."""
    model = perplexity.load_model(lc_models, "en")

    def score(text):
        sc = coherence.CoherenceScorer(model, chunk_tokens=2048, target_tokens=512, short_context_tokens=512,
                                       stride_tokens=512, cache_weight=0.2)
        perplexity.score_document(model, text, on_tokens=sc.feed)
        return sc.finish().aggregate()

    coh = [score(coherent_doc("en", s)) for s in range(6)]
    shuf = [score(shuffled_doc("en", s)) for s in range(6)]
    a_diff = auc([c["coh_ppl_diff"] for c in coh], [c["coh_ppl_diff"] for c in shuf])
    a_ratio = auc([-c["coh_ppl_ratio"] for c in coh], [-c["coh_ppl_ratio"] for c in shuf])
    print(f"generated en, 6 vs 6: AUC diff={a_diff:.3f} ratio={a_ratio:.3f}")
    assert a_diff >= 0.9 and a_ratio >= 0.9
    assert all(c["coh_n_chunks"] >= 4 for c in coh + shuf)


def test_coherence_is_exactly_neutral_without_extra_context(lc_models):
    """When the long context equals the short one, with and without are the same number."""
    model = perplexity.load_model(lc_models, "en")
    sc = coherence.CoherenceScorer(model, chunk_tokens=600, target_tokens=256, short_context_tokens=256)
    toks = model.tokenize(perplexity.normalize_line(coherent_doc("en", 5, min_bytes=3000)))
    chunk = toks[:512]                     # only 256 context tokens: long == short
    c = sc._score_chunk(chunk)
    assert math.isclose(c.ppl_with, c.ppl_without) and c.hit_with == c.hit_without
    with pytest.raises(ValueError):
        coherence.CoherenceScorer(model, chunk_tokens=500, target_tokens=256, short_context_tokens=256)


def test_a_failing_document_is_recorded_not_raised(tmp_path):
    """A scoring failure inside one document (here: its model vanished after the driver checked it)
    comes back as lm_status 'error: ...' so the rest of the batch survives; the stage rejects it as
    signal_error."""
    from corpusmill.udfs.longctx.stats import SignalParams, document_signals

    sig = document_signals("some text\nmore text", "en", SignalParams(str(tmp_path), ("en",)))
    assert sig["lm_status"].startswith("error: ModelMissing:") and "en.sp.model" in sig["lm_status"]
    assert sig["n_lines"] == 2 and sig.get("doc_perplexity") is None
