"""Rule signals as plain functions: word splitting, Gopher / C4 / FineWeb / InternLM2 signals, rule families."""
from __future__ import annotations

import random
import typing
from collections import Counter
from dataclasses import MISSING, dataclass, fields, replace

import numpy as np
import pytest

from corpusmill.jobs.registry import load_config
from corpusmill.udfs.rules import text_units as tu
from corpusmill.udfs.rules.base import Family, units
from corpusmill.udfs.rules.gopher import (GopherQualityThresholds, GopherRepetitionThresholds, dup_ngram_chars, ngram_hash_series,
                               top_ngram_chars)
from corpusmill.udfs.rules.signals import FAMILIES, SIGNAL_NAMES, compute_signals, failed_rules

PROFILES = load_config().rules.signals          # conf/default.yaml's signal profiles
EN = PROFILES["default"]


@pytest.mark.parametrize("text,tokens", [
    ("Hello, world!", ["Hello", ",", "world", "!"]),
    ("don't stop", ["do", "n't", "stop"]),
    ("it's U.S. policy, e.g. now.", ["it", "'s", "U.S.", "policy", ",", "e.g.", "now", "."]),
    ("(1) 5% 3.5 12:30 and/or", ["(", "1", ")", "5", "%", "3.5", "12:30", "and/or"]),
    ("e-mail COVID-19 2019-2020 Müller-Lüdenscheid", ["e", "-", "mail", "COVID-19", "2019", "-", "2020",
                                                     "Müller", "-", "Lüdenscheid"]),
    ("see www.x.de/a?b or example.com.", ["see", "www.x.de/a?b", "or", "example.com", "."]),
    ('"Hi," ok... #tag 120cm', ['"', "Hi", ",", '"', "ok", "...", "#", "tag", "120", "cm"]),
    ("word.Another z.B. etc.", ["word", ".", "Another", "z.", "B.", "etc", "."]),
])
def test_latin_words_follow_spacy_english_rules(text, tokens):
    assert tu.words_latin(text) == tokens


def test_chinese_and_japanese_word_units():
    zh = tu.words_jieba("我们在北京大学学习中文。")
    assert "北京大学" in zh and "。" in zh and "".join(zh) == "我们在北京大学学习中文。"
    assert tu.words_chars("日本語のテキストです。ABC 12") == ["日", "本", "語", "の", "テ", "キ", "ス", "ト",
                                                          "で", "す", "。", "ABC", "12"]


@pytest.mark.parametrize("text", [
    "我们在北京大学学习中文。",
    "繁体（zh-hk）与简体（zh-hans）的用字不同，formula_1 和 C++、C# 都是例子。",
    "这个赛季增长了3.5%，A-League 与 e-mail 地址 www.example.com 网站都提到了 abc_def-ghi。",
    "１２３全角字符和𠮷野家，今天\t天气 好\u3000啊！！很好。。。",
])
def test_rjieba_cuts_chinese_as_jieba_does(text):
    """The native segmenter's words are jieba's, also where jieba-rs alone keeps `zh-hk` or `formula_1` whole."""
    assert tu.words_rjieba(text) == tu.words_jieba(text)


def test_word_units_per_family():
    """tokens (datatrove) vs whitespace (Gopher paper) words, family by family, on punctuated news prose."""
    news = ('The mayor said on Monday (March 3) that the bridge - closed since 2019 - "will reopen, at last, in May." '
            'Officials, residents and traders agreed; some were cautious: "We have heard this before." ') * 4
    tokens = replace(EN, gopher_quality_words="tokens", gopher_repetition_words="tokens", fineweb_words="tokens")
    spaced = replace(EN, gopher_quality_words="whitespace", gopher_repetition_words="whitespace",
                     fineweb_words="whitespace")
    st, sw = compute_signals(news, tokens, "en"), compute_signals(news, spaced, "en")
    chunks = news.split()
    assert st["gq_alpha_words_frac"] < 0.8 <= sw["gq_alpha_words_frac"]
    assert sw["gq_alpha_words_frac"] == pytest.approx(sum(any(c.isalpha() for c in w) for w in chunks) / len(chunks))
    assert sw["fw_newline_word_ratio"] == 0 and st["words"] == sw["words"] == len(tu.words_latin(news))
    mixed = replace(tokens, gopher_quality_words="whitespace")      # each family reads its own unit
    sm = compute_signals(news, mixed, "en")
    assert sm["gq_alpha_words_frac"] == sw["gq_alpha_words_frac"]
    assert sm["gr_top2_char_frac"] == st["gr_top2_char_frac"] != sw["gr_top2_char_frac"]
    # a segmented language: punctuation attaches to the word before it, never across a line break
    zh = units("我们在北京。他说：“好！”\n！再见", PROFILES["zh"])
    assert zh.whitespace_words == ["我们", "在", "北京。", "他", "说：“", "好！”", "！", "再见"]
    assert zh.words_as("tokens") == zh.words


def test_default_profiles_count_gopher_quality_words_by_whitespace():
    assert EN.gopher_quality_words == "whitespace" and EN.gopher_repetition_words == EN.fineweb_words == "tokens"


def _gopher_dup_reference(words: list[str], n: int) -> int:
    """Gopher's greedy duplicate n-gram scan, written out with strings (the reference behaviour)."""
    unique, chars, idx = set(), 0, 0
    while idx < len(words) - n + 1:
        g = "".join(words[idx:idx + n])
        if g in unique:
            chars += len(g)
            idx += n
        else:
            unique.add(g)
            idx += 1
    return chars


def _top_reference(words: list[str], n: int) -> int:
    grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    g, c = Counter(grams).most_common(1)[0]
    return len(g) * c


def test_ngram_repetition_matches_the_string_reference():
    rng = random.Random(7)
    vocab = ["a", "bb", "ccc", "dddd", "the", "of", "x"]
    for trial in range(200):
        words = [rng.choice(vocab[: 2 + trial % 6]) for _ in range(rng.randint(0, 60))]
        ids_map: dict[str, int] = {}
        ids = np.array([ids_map.setdefault(w, len(ids_map)) for w in words], dtype=np.int64)
        lens_cum = np.concatenate(([0], np.cumsum([len(w) for w in words]))).astype(np.int64)
        grams = ngram_hash_series(ids, 10)
        for n in range(5, 11):
            assert dup_ngram_chars(grams.get(n), lens_cum, n) == _gopher_dup_reference(words, n), (words, n)
        for n in (2, 3, 4):
            assert top_ngram_chars(grams.get(n), lens_cum, n) == _top_reference(words, n), (words, n)


def test_top_ngram_tie_goes_to_the_first_seen():
    # "bbbb cc" and "a b" both occur twice; the first seen ("a b", 3 chars) is Counter's pick
    words = ["a", "b", "bbbb", "cc", "a", "b", "bbbb", "cc"]
    ids = np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.int64)
    lens_cum = np.concatenate(([0], np.cumsum([len(w) for w in words])))
    assert top_ngram_chars(ngram_hash_series(ids, 2)[2], lens_cum, 2) == _top_reference(words, 2) == 6


def test_gopher_quality_signals():
    """In datatrove's unit (tokens); test_word_units_per_family covers the whitespace unit."""
    text = "# Title\nThe cat and the dog...\n- item one of two\n- item two\n" + "Plain words here. " * 10
    s = compute_signals(text, replace(EN, gopher_quality_words="tokens"), "en")
    words = tu.words_latin(text)
    assert s["words"] == len(words)
    assert s["gq_hash_ratio"] == pytest.approx(1 / len(words))
    assert s["gq_ellipsis_ratio"] == pytest.approx(1 / len(words))
    assert s["gq_bullet_lines_frac"] == pytest.approx(2 / 5)
    assert s["gq_ellipsis_lines_frac"] == pytest.approx(1 / 5)
    assert s["gq_stop_words"] == 3              # the, and, of (case-sensitive: "The" does not count)
    nonsym = [w for w in words if not tu.is_symbol_token(w)]
    assert s["gq_nonsymbol_words"] == len(nonsym)
    assert s["gq_mean_word_len"] == pytest.approx(sum(map(len, nonsym)) / len(nonsym))
    assert compute_signals(text, EN, "xx")["gq_stop_words"] is None     # no list: rule not applied
    spaced = compute_signals(text, EN, "en")                            # the default: whitespace words
    assert spaced["gq_hash_ratio"] == pytest.approx(1 / len(text.split()))


def test_c4_line_filters_are_sequential():
    text = "\n".join([
        "This line has enough words and ends well.",          # kept, 1 sentence
        "No terminal punctuation here at all",                  # dropped: punctuation
        "Two words.",                                           # dropped: fewer than 3 words
        "Please enable JavaScript to view this page.",          # dropped: javascript
        "We use cookies to improve the site.",                  # dropped: policy
        "Lorem ipsum dolor sit amet. Second sentence here!",    # lorem flagged, kept, 2 sentences
        "A citation [1] is removed [edit] before checks.",      # kept
        "code {like this} at the end.",                         # curly flagged
        "x" * 1001 + " is too long.",                           # dropped: long word
    ])
    s = compute_signals(text, EN, "en")
    assert (s["c4_no_terminal_punct_lines"], s["c4_short_lines"], s["c4_javascript_lines"], s["c4_policy_lines"],
            s["c4_long_word_lines"], s["c4_citations"]) == (1, 1, 1, 1, 1, 2)
    assert s["c4_lorem_ipsum"] and s["c4_curly_bracket"]
    assert s["c4_kept_lines"] == 4 and s["c4_sentences"] == 5


def test_fineweb_signals():
    text = "A long enough line that ends with a full stop.\nshort\nshort\n\nAnother long line without a stop"
    s = compute_signals(text, EN, "en")
    assert s["fw_lines"] == 4
    assert s["fw_line_punct_frac"] == pytest.approx(1 / 4)
    assert s["fw_short_line_frac"] == pytest.approx(2 / 4)
    assert s["fw_dup_line_char_frac"] == pytest.approx(5 / (len(text) - text.count("\n")))
    assert s["fw_newline_word_ratio"] == pytest.approx(4 / s["words"])


def test_internlm_families():
    s = compute_signals("Title\n" + "=" * 40 + "\n\n\n\nBody text here!!!!!! ok \ufffd Ã© \ue000 😀", EN, "en")
    assert s["sep_max_run"] == 40 and s["max_newline_run"] == 4
    assert s["sep_lines_frac"] == pytest.approx(1 / 3)
    assert s["chr_replacement_frac"] > 0 and s["chr_mojibake_frac"] > 0 and s["chr_private_use_frac"] > 0
    assert s["pun_max_run"] == 40 and s["chr_symbol_frac"] > 0      # the "=" line is the longest run


def _only(cls, **on):
    """A thresholds dataclass with every rule off except `on`."""
    return cls(**{**{f.name: None for f in fields(cls)}, **on})


def test_failed_rules_names_every_failure_and_null_disables():
    s = compute_signals("Buy now.\n" * 20, EN, "en")     # 40 words
    th = {"gopher_repetition": _only(GopherRepetitionThresholds, max_dup_line_frac=0.3, max_dup_line_char_frac=0.2),
          "gopher_quality": _only(GopherQualityThresholds, min_words=50)}
    assert failed_rules(s, th) == ["gopher_repetition.max_dup_line_frac", "gopher_repetition.max_dup_line_char_frac",
                                   "gopher_quality.min_words"]
    th["gopher_quality"] = replace(th["gopher_quality"], min_words=None)
    assert "gopher_quality.min_words" not in failed_rules(s, th)


def test_each_family_pairs_its_thresholds_with_its_rules():
    signals = set(SIGNAL_NAMES)
    assert len(SIGNAL_NAMES) == len(signals)
    assert [f.name for f in FAMILIES] == ["gopher_repetition", "gopher_quality", "c4", "fineweb", "separators",
                                          "characters", "punctuation"]
    for fam in FAMILIES:
        hints = typing.get_type_hints(fam.thresholds)
        for key, signal, op in fam.rules:
            assert signal in signals, (fam.name, key)
            assert hints[key] == ((bool | None) if op in ("true", "zero") else (float | None)), (fam.name, key)
        assert all(f.default is f.default_factory is MISSING for f in fields(fam.thresholds))   # YAML has them

    @dataclass
    class Two:
        a: float | None
        b: float | None

    with pytest.raises(TypeError):
        Family("x", Two, (("b", "chars", ">"), ("a", "chars", ">")))       # rules out of the fields' order
    with pytest.raises(TypeError):
        Family("x", Two, (("a", "chars", ">"), ("b", "chars", ">=")))      # unknown op


def test_every_rule_reads_a_signal_and_bad_input_does_not_crash():
    signals = set(SIGNAL_NAMES)
    for text in ["", "   \n\t ", None, "😀" * 100, "Mixed текст 混合 テキスト", "\x00\x01\x02", "a\n" * 10000]:
        for prof in (EN, replace(EN, words="jieba", c4_line_words="tokens"), replace(EN, words="chars")):
            s = compute_signals(text, prof, "en")
            assert set(s) == signals
