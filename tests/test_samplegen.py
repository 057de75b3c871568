"""The sample data generator: deterministic bytes, valid WARCs that match the manifest, text quality that
the rule stages can tell apart, near-duplicates MinHash can find, long documents, classifier data."""
from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import re
from collections import Counter

import pytest

from corpusmill.samplegen import crawl as sg

CATEGORIES = {"good", "near_duplicate", "exact_duplicate", "spam", "low_quality", "toxic", "porn",
              "advertisement", "disfluent", "blocked_domain", "blocked_words_low", "blocked_words_high",
              "long_coherent", "long_incoherent", "non_html", "redirect", "benchmark_quote", "pii", "pii_heavy"}
STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("crawl")
    manifest = sg.generate_crawl(str(out), seed=0)
    return out, manifest


@pytest.fixture(scope="module")
def pages():
    return {p.url: p for p in sg.plan_crawl(0, 200)}


def _files(root) -> dict[str, bytes]:
    return {os.path.relpath(f, root): open(f, "rb").read()
            for f in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)) if os.path.isfile(f)}


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]", text)


def _dup_ngram_char_frac(words: list[str], n: int, text_len: int) -> float:
    """Gopher's duplicated n-gram character fraction (greedy, skips a repeated n-gram), as datatrove computes it."""
    seen, repeated, i = set(), 0, 0
    while i < len(words) - n + 1:
        g = "".join(words[i:i + n])
        if g in seen:
            repeated += len(g)
            i += n
        else:
            seen.add(g)
            i += 1
    return repeated / max(1, text_len)


def _gopher_ok(text: str) -> bool:
    words = _words(text)
    alpha = [w for w in words if re.search(r"[^\W\d_]", w)]
    if len(alpha) < 50:
        return False
    mean_len = sum(len(w) for w in alpha) / len(alpha)
    if not 3 <= mean_len <= 10:
        return False
    if len(alpha) / len(words) < 0.8:
        return False
    if sum(1 for w in alpha if w.lower() in STOP) < 2:
        return False
    if "lorem ipsum" in text.lower():
        return False
    bigrams = Counter(zip(alpha, alpha[1:]))
    if bigrams and bigrams.most_common(1)[0][1] * sum(map(len, bigrams.most_common(1)[0][0])) / sum(map(len, alpha)) > 0.2:
        return False
    return _dup_ngram_char_frac(words, 5, len(text)) <= 0.15


def _shingles(text: str, lang: str) -> set:
    toks = [c for c in text if not c.isspace()] if lang == "zh" else re.findall(r"\w+", text.lower())
    return {tuple(toks[i:i + 5]) for i in range(max(1, len(toks) - 4))}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


# ------------------------------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_bytes(tmp_path, crawl):
    out, _ = crawl
    sg.generate_crawl(str(tmp_path / "again"), seed=0)
    first, second = _files(out), _files(tmp_path / "again")
    assert len(first) == 6  # 3 + 2 WARC files and the manifest
    assert first == second
    sg.generate_crawl(str(tmp_path / "other"), seed=1)
    other = _files(tmp_path / "other")
    assert other.keys() == first.keys()
    assert all(other[k] != first[k] for k in first)


def test_text_sources_are_deterministic_and_well_formed(tmp_path):
    m1 = sg.generate_text_sources(str(tmp_path / "a"), seed=0)
    sg.generate_text_sources(str(tmp_path / "b"), seed=0)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert set(m1["files"]) == {"books.jsonl", "papers.jsonl", "patents.jsonl"}
    records = []
    for name in m1["files"]:
        with open(tmp_path / "a" / name, encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh]
    assert len(records) == sum(m1["files"].values()) == len(m1["records"])
    assert all({"id", "title", "text"} <= r.keys() and r["text"] for r in records)
    assert len({r["id"] for r in records}) == len(records)
    long = [r for r in records if len(r["text"].encode("utf-8")) >= 40000]
    assert len(long) >= 2 and any(CJK.search(r["text"]) for r in long) and any(not CJK.search(r["text"]) for r in long)
    assert any("language" not in r for r in records) and any("url" not in r for r in records)
    assert any("date" in r for r in records)


# ------------------------------------------------------------------------------------------ WARC vs manifest
def test_warcs_parse_with_warcio_and_match_the_manifest(crawl):
    from warcio.archiveiterator import ArchiveIterator

    out, manifest = crawl
    assert json.load(open(out / "manifest.json", encoding="utf-8")) == manifest
    seen: dict[str, dict] = {}
    requests = 0
    for rel in manifest["files"]:
        dump = rel.split("/")[0]
        with open(out / rel, "rb") as fh:
            records = list(ArchiveIterator(fh))
        with open(out / rel, "rb") as fh:
            it = ArchiveIterator(fh)
            for i, rec in enumerate(it):
                if i == 0:
                    assert rec.rec_type == "warcinfo"
                    fields = rec.content_stream().read().decode("utf-8")
                    assert f"isPartOf: {dump}" in fields
                    continue
                if rec.rec_type == "request":
                    requests += 1
                    continue
                if rec.rec_type != "response":
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI")
                payload = rec.content_stream().read()
                digest = "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode()
                assert rec.rec_headers.get_header("WARC-Payload-Digest") == digest
                seen[url] = {"dump": dump, "file": rel, "ctype": rec.http_headers.get_header("Content-Type"),
                             "status": rec.http_headers.get_statuscode(),
                             "id": rec.rec_headers.get_header("WARC-Record-ID"),
                             "date": rec.rec_headers.get_header("WARC-Date"), "offset": it.get_record_offset(),
                             "payload": payload}
        assert len(records) == 1 + 3 * sum(1 for v in manifest["pages"].values() if v["warc_file"] == rel)
    assert set(seen) == set(manifest["pages"])
    assert requests == len(seen)
    for url, entry in manifest["pages"].items():
        got = seen[url]
        assert (got["dump"], got["file"], got["id"], got["offset"], got["status"], got["date"]) == \
            (entry["dump"], entry["warc_file"], entry["record_id"], entry["offset"], entry["status"], entry["warc_date"])
        assert got["ctype"] == entry["content_type"]
    # every category and both main languages in each dump; non-HTML responses present
    for dump in sg.DUMPS:
        in_dump = [v for v in manifest["pages"].values() if v["dump"] == dump]
        assert {v["category"] for v in in_dump} == CATEGORIES
        langs = Counter(v["language"] for v in in_dump)
        assert 0.5 < langs["en"] / (langs["en"] + langs["zh"]) < 0.7
        assert {"fr", "de"} <= set(langs)
        assert {v["content_type"].split(";")[0] for v in in_dump} >= {"text/html", "image/jpeg", "application/pdf",
                                                                        "application/json"}
    assert manifest["summary"]["pages"] == 400
    # legacy-encoded pages really are GBK bytes
    gbk = [u for u, v in manifest["pages"].items() if v["encoding"] == "gb18030"]
    assert gbk and all(seen[u]["ctype"] in ("text/html; charset=gbk", "text/html") for u in gbk)
    assert all(b"charset=\"gbk\"" in seen[u]["payload"] for u in gbk)


def test_fastwarc_reads_the_same_responses(crawl):
    fastwarc = pytest.importorskip("fastwarc.warc")
    out, manifest = crawl
    urls = set()
    for rel in manifest["files"]:
        with open(out / rel, "rb") as fh:
            for rec in fastwarc.ArchiveIterator(fh, record_types=fastwarc.WarcRecordType.response):
                urls.add(rec.headers["WARC-Target-URI"])
    assert urls == set(manifest["pages"])


# ------------------------------------------------------------------------------------------ page content
def test_trafilatura_extracts_the_article_and_not_the_boilerplate(pages):
    import trafilatura

    good = [p for p in pages.values() if p.category == "good"]
    sample = [p for p in good if p.language == "en"][:6] + [p for p in good if p.language == "zh"][:4]
    sample += [p for p in good if p.encoding == "gb18030"][:2]
    for p in sample:
        html = p.payload.decode(p.encoding)
        assert 'id="cookie-consent"' in html and "<nav" in html and "<footer" in html
        banner = re.search(r'id="cookie-consent"[^>]*><p>([^<]+)</p>', html).group(1)
        text = trafilatura.extract(p.payload) or ""
        first_paragraph = p.text.split("\n")[1]
        assert first_paragraph in text, p.url
        assert banner not in text
        for boiler in ("All rights reserved", "版权所有", "Skip to main content", "跳到正文", "Log in | Register"):
            assert boiler not in text


def test_extracted_text_is_in_the_language_the_manifest_claims(pages):
    import pycld2
    import trafilatura

    sample = [p for p in pages.values() if p.category == "good" and p.language in ("fr", "de")]
    for lang in ("en", "zh"):
        sample += [p for p in pages.values() if p.language == lang and p.category in
                   ("good", "toxic", "advertisement", "disfluent", "long_coherent", "long_incoherent")][:25]
    for p in sample:
        text = trafilatura.extract(p.payload) or ""
        code = pycld2.detect(text)[2][0][1]
        assert {"zh-Hant": "zh"}.get(code, code) == p.language, (p.url, p.category, code)


def test_good_pages_pass_and_bad_pages_fail_gopher_style_rules(pages):
    by_cat: dict[str, list] = {}
    for p in pages.values():
        if p.language == "en":
            by_cat.setdefault(p.category + (f"/{p.subtype}" if p.category == "low_quality" else ""), []).append(p)
    assert all(_gopher_ok(p.text) for p in by_cat["good"])
    assert all(_gopher_ok(p.text) for p in by_cat["near_duplicate"] + by_cat["disfluent"] + by_cat["long_coherent"])
    assert not any(_gopher_ok(p.text) for p in by_cat["spam"])
    for kind in ("lorem_ipsum", "number_table", "too_short", "repeated_lines", "js_warning", "placeholder"):
        assert not any(_gopher_ok(p.text) for p in by_cat.get(f"low_quality/{kind}", [])), kind
    assert not any(_gopher_ok(p.text) for p in by_cat["long_incoherent"])


def test_near_duplicates_are_close_and_good_pages_are_not(pages, crawl):
    _, manifest = crawl
    copies = [p for p in pages.values() if p.dup_of]
    assert {p.category for p in copies} == {"near_duplicate", "exact_duplicate"}
    cross_dump = [p for p in copies if pages[p.dup_of].dump != p.dump]
    assert cross_dump and len(cross_dump) < len(copies)
    for p in copies:
        orig = pages[p.dup_of]
        j = _jaccard(_shingles(p.text, p.language), _shingles(orig.text, orig.language))
        assert j >= 0.75, (p.url, j)
        if p.category == "exact_duplicate":
            assert p.text == orig.text
        else:
            assert p.text != orig.text
        assert manifest["pages"][p.url]["dup_group"] == manifest["pages"][orig.url]["dup_group"]
    assert any(p.payload == pages[p.dup_of].payload for p in copies)  # byte-identical mirrors
    good = [p for p in pages.values() if p.category == "good" and p.language == "en"][:40]
    sh = [_shingles(p.text, "en") for p in good]
    assert max(_jaccard(sh[i], sh[j]) for i in range(len(sh)) for j in range(i + 1, len(sh))) < 0.3


def test_long_documents(pages):
    import trafilatura

    long = [p for p in pages.values() if p.category.startswith("long_")]
    assert Counter((p.category, p.language) for p in long) == Counter(
        {("long_coherent", "en"): 2, ("long_coherent", "zh"): 2, ("long_incoherent", "en"): 2, ("long_incoherent", "zh"): 2})
    for p in long:
        assert len(p.text.encode("utf-8")) >= 40000
        assert len((trafilatura.extract(p.payload) or "").encode("utf-8")) >= 40000, p.url
    for p in long:
        if p.category == "long_coherent" and p.language == "en":
            words = [w.lower() for w in _words(p.text)]
            counts = Counter(words)
            assert counts["she"] + counts["he"] + counts["her"] + counts["his"] > 100
            assert sum(counts[c] for c in ("however", "meanwhile", "because", "so", "then", "later")) > 30
            hero = Counter(re.findall(r"\b[A-Z][a-z]+\b", p.text)).most_common(3)
            assert hero[0][1] > 50  # the same characters throughout
            assert "Chapter 5" in p.text and "remember" in p.text.lower()
        if p.category == "long_coherent" and p.language == "zh":
            assert p.text.count("她") + p.text.count("他") > 50 and "第5章" in p.text and "还记得" in p.text
        if p.category == "long_incoherent":
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (INFO|WARN|DEBUG|ERROR)", p.text)
            assert re.search(r"\d+ \| \d+ \| \d+", p.text)


def test_category_pages_carry_their_signal(crawl, pages):
    _, manifest = crawl
    entries = manifest["pages"]
    blocked_hosts = {d for ds in sg.DEMO_BLOCKED_DOMAINS.values() for d in ds}
    for url, e in entries.items():
        host = e["host"]
        on_blocked = any(host == d or host.endswith("." + d) for d in blocked_hosts)
        assert on_blocked == (e["category"] == "blocked_domain"), url
        if e["category"] == "blocked_words_high":
            assert e["blocked_word_hits"] >= 10
        if e["category"] == "blocked_words_low":
            assert 1 <= e["blocked_word_hits"] <= 2
        if e["category"] == "good":
            assert e["blocked_word_hits"] == 0
    assert {e["blocked_domain_category"] for e in entries.values() if e["category"] == "blocked_domain"} == \
        set(sg.DEMO_BLOCKED_DOMAINS)
    assert any(e.get("subtype") == "innocent_text" for e in entries.values())
    low = {e["subtype"] for e in entries.values() if e["category"] == "low_quality"}
    assert low == set(sg.K.LOW_QUALITY_KINDS)
    moji = [p for p in pages.values() if p.subtype == "mojibake"]
    assert moji and all("\ufffd" in p.text for p in moji)
    zh_good = [p for p in pages.values() if p.category == "good" and p.language == "zh"]
    zh_text = "".join(p.text for p in zh_good)
    assert zh_text.count("。") > 500 and zh_text.count("，") > 500 and ". " not in zh_text
    for p in zh_good:  # C4/FineWeb-style: body lines end in full-width terminal punctuation, none repeated
        body = [line for line in p.text.split("\n")[1:] if len(line) > 30]
        assert body and all(line[-1] in "。！？”" for line in body) and len(set(body)) == len(body)
    toxic_en = " ".join(p.text for p in pages.values() if p.category == "toxic" and p.language == "en").lower()
    assert any(w in toxic_en for w in ("idiot", "moron", "loser"))
    assert all(p.status.startswith("301") for p in pages.values() if p.category == "redirect")


# ------------------------------------------------------------------------------------------ classifier / reference
@pytest.mark.parametrize("task", sorted(sg.CLASSIFIER_LABELS))
def test_classifier_examples_are_labelled_balanced_and_not_crawl_text(task, pages):
    ex = sg.classifier_examples(task, seed=0, n=200)
    assert len(ex) == 200 and ex == sg.classifier_examples(task, seed=0, n=200)
    assert ex != sg.classifier_examples(task, seed=1, n=200)
    labels = Counter(label for _, label in ex)
    assert set(labels) == set(sg.CLASSIFIER_LABELS[task])
    assert abs(labels[sg.CLASSIFIER_LABELS[task][0]] - labels[sg.CLASSIFIER_LABELS[task][1]]) <= 2
    zh_share = sum(1 for t, _ in ex if CJK.search(t)) / len(ex)
    assert 0.3 <= zh_share <= 0.5
    assert len({t for t, _ in ex}) == len(ex)
    crawl_text = "\n".join(p.text for p in pages.values())
    assert not any(t in crawl_text for t, _ in ex)


def test_classifier_examples_differ_by_label():
    ex = sg.classifier_examples("toxicity", n=100)
    toxic = " ".join(t for t, lab in ex if lab == "toxic").lower()
    clean = " ".join(t for t, lab in ex if lab == "clean").lower()
    insults = ("idiot", "moron", "loser", "pathetic", "废物", "白痴", "蠢货", "脑残")
    assert sum(toxic.count(w) for w in insults) > 20 and sum(clean.count(w) for w in insults) == 0
    with pytest.raises(ValueError):
        sg.classifier_examples("spam")


def test_reference_text():
    en_ref, zh_ref = sg.reference_text("en", 500), sg.reference_text("zh", 500)
    assert len(en_ref) == len(zh_ref) == 500
    assert en_ref == sg.reference_text("en", 500)
    assert len(set(en_ref)) > 450 and len(set(zh_ref)) > 450
    assert all(s[-1] in ".!?\"" for s in en_ref) and all(s[-1] in "。！？”" for s in zh_ref)
    assert all(CJK.search(s) for s in zh_ref) and not any(CJK.search(s) for s in en_ref)
    with pytest.raises(ValueError):
        sg.reference_text("fr")


def test_cli_writes_crawl_and_sources(tmp_path, capsys):
    assert sg.main([str(tmp_path), "--pages-per-dump", "60"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["crawl"]["pages"] == 120
    assert set(summary["crawl"]["by_category"]) == CATEGORIES
    assert (tmp_path / "crawl" / "manifest.json").is_file() and (tmp_path / "sources" / "books.jsonl").is_file()


def test_tiny_crawl_still_has_every_category(tmp_path):
    m = sg.generate_crawl(str(tmp_path), seed=1, pages_per_dump=20)
    for dump in sg.DUMPS:
        cats = {v["category"] for v in m["pages"].values() if v["dump"] == dump}
        assert cats == CATEGORIES
        assert 20 <= m["summary"]["by_dump"][dump] <= 30
