"""The format stage's plain functions (no Spark): URLs, language, decoding, extraction, WARC reading."""
from __future__ import annotations

import gzip
import io
import random
import threading

import pytest

from corpusmill.udfs.format import extract as X
from corpusmill.udfs.format import langid as L
from corpusmill.udfs.format import urls as U
from corpusmill.udfs.format import warc as W

EN = ("<html><head><title>A  &amp; B</title></head><body><nav><a href='/'>Home</a> | <a href='/x'>About</a></nav>"
      "<article><h1>Rivers</h1>" + "<p>The quick brown fox jumps over the lazy dog near the river bank. "
      "Rivers carry water from the mountains to the sea, shaping valleys over thousands of years.</p>" * 8
      + "</article><footer>Copyright 2024 Example Ltd. All rights reserved.</footer></body></html>")


def write_warc(path, records, warcinfo=None, gz=True):
    """records: (type, url, payload bytes, content type, http status or None)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        if warcinfo is not None:
            w.write_record(w.create_warcinfo_record("f.warc", warcinfo))
        for rtype, url, payload, ctype, status in records:
            if rtype == "response":
                hh = StatusAndHeaders(f"{status} X", [("Content-Type", ctype)], protocol="HTTP/1.1")
                rec = w.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=hh)
            else:
                rec = w.create_warc_record(url, rtype, payload=io.BytesIO(payload), warc_content_type=ctype)
            w.write_record(rec)


# ---- urls ----------------------------------------------------------------------------------------
def test_host_and_registered_domain():
    assert U.host_of("HTTP://News.BBC.co.uk:8080/a?b") == "news.bbc.co.uk"
    assert U.host_of("not a url") is None and U.host_of(None) is None and U.host_of("http://[bad") is None
    assert U.registered_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert U.registered_domain("a.b.example.com.cn") == "example.com.cn"
    assert U.registered_domain("127.0.0.1") == "127.0.0.1"
    assert U.registered_domain("localhost") == "localhost"
    assert U.registered_domain(None) is None


def test_tldextract_never_fetches(monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("network access")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(U, "_EXTRACTOR", None)
    assert U.registered_domain("www.example.org.uk") == "example.org.uk"


def test_doc_id_deterministic_and_distinct():
    a = U.doc_id("web", "CC-MAIN-2024-10", "http://a/", "<urn:uuid:1>")
    assert a == U.doc_id("web", "CC-MAIN-2024-10", "http://a/", "<urn:uuid:1>")
    assert len(a) == 32 and int(a, 16) >= 0
    assert len({a, U.doc_id("web", "CC-MAIN-2024-18", "http://a/", "<urn:uuid:1>"),
                U.doc_id("book", "CC-MAIN-2024-10", "http://a/", "<urn:uuid:1>"),
                U.doc_id("web", "CC-MAIN-2024-10", "http://b/", "<urn:uuid:1>")}) == 4


# ---- text and language ------------------------------------------------------------------------------
def test_clean_text_drops_controls_keeps_layout():
    s = "a\x00b\x07c\r\nd\te\x85f\ud800g\ufeffh\x9bi"
    assert L.clean_text(s) == "abc\nd\te\nfghi"
    assert L.bad_char_ratio("ab\x00\ufffd") == 0.5
    assert L.bad_char_ratio("") == 0.0


@pytest.mark.parametrize("text,code", [
    ("The committee approved the new budget after a long debate about schools and roads in the city.", "en"),
    ("Der Ausschuss hat den neuen Haushalt nach einer langen Debatte über Schulen und Straßen beschlossen.", "de"),
    ("委员会在就城市学校和道路问题进行了长时间辩论后批准了新的预算方案。这项预算将用于改善公共交通。", "zh"),
])
def test_detect_language(text, code):
    lang, pct, reliable = L.detect_language(text)
    assert lang == code and pct > 50 and reliable


def test_detect_language_never_raises_on_bad_input():
    assert L.detect_language("") == ("un", 0.0, False)
    for bad in ("\ud800\udfff lone surrogates " * 5, "\x80\x81\x9f" * 20, "\x00\x01" * 50):
        lang, pct, reliable = L.detect_language(bad)
        assert isinstance(lang, str) and 0 <= pct <= 100 and isinstance(reliable, bool)


# ---- decoding, title, extraction --------------------------------------------------------------------
def test_decode_html_charsets():
    latin = "<html><head><meta charset='iso-8859-1'></head><body>Größe</body></html>".encode("latin-1")
    text, enc = X.decode_html(latin)
    assert "Größe" in text and enc == "cp1252"
    assert "Größe" in X.decode_html("Größe".encode("cp1252"), "windows-1252")[0]
    assert X.decode_html(b"\xef\xbb\xbf<p>\xc3\xa9</p>")[0] == "<p>é</p>"
    gb = "<meta http-equiv='Content-Type' content='text/html; charset=gb2312'><p>中文网页</p>".encode("gb18030")
    assert "中文网页" in X.decode_html(gb)[0]
    assert "é" in X.decode_html("<p>é</p>".encode(), "no-such-charset")[0]   # bad label -> utf-8


def test_html_title():
    assert X.html_title(EN) == "A & B"
    assert X.html_title("<html><body>none</body></html>") is None
    assert X.html_title("<TITLE>\n  x\x00 y </TITLE>") == "x y"


def test_html_to_document_accepts_a_page():
    res = X.html_to_document(EN.encode(), "http://example.com/", "utf-8", X.ExtractOptions())
    assert res.reason is None and "quick brown fox" in res.text and res.title == "A & B"
    assert "Copyright 2024" not in res.text


def test_html_to_document_rejections():
    opts = X.ExtractOptions(html_max_bytes=10_000)
    assert X.html_to_document(b"x" * 10_001, None, None, opts).reason == "html_too_large"
    assert X.html_to_document(b"<html><body></body></html>", None, None, opts).reason == "empty_extraction"
    garbage = random.Random(1).randbytes(8000)
    res = X.html_to_document(b"<html><body>" + garbage + b"</body></html>", None, None, opts)
    assert res.reason == "undecodable"
    short = X.ExtractOptions(min_text_chars=10_000)
    assert X.html_to_document(EN.encode(), None, None, short).reason == "too_short"


def test_small_binary_garbage_is_stripped():
    junk = random.Random(2).randbytes(60)
    page = EN.replace("<h1>Rivers</h1>", "<h1>Rivers</h1><p>junk</p>").encode().replace(b"junk", junk)
    res = X.html_to_document(page, None, None, X.ExtractOptions())
    assert res.reason is None and "quick brown fox" in res.text
    assert L.clean_text(res.text) == res.text


def test_extraction_time_limit_in_main_thread():
    opts = X.ExtractOptions(extract_timeout_s=1e-6)
    res = X.html_to_document((EN * 20).encode(), None, None, opts)
    assert res.reason == "extraction_timeout"
    # the timer is cleared afterwards: a later extraction without a limit completes
    assert X.html_to_document(EN.encode(), None, None, X.ExtractOptions(extract_timeout_s=0)).reason is None


def test_time_limit_is_a_no_op_off_the_main_thread():
    out = {}

    def work():
        with X.time_limit(1e-6):
            out["x"] = sum(range(200_000))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert out["x"] == sum(range(200_000))


def test_is_html_type_sniffs_untyped():
    assert X.is_html_type("text/html; charset=utf-8", b"")
    assert X.is_html_type("application/xhtml+xml", b"")
    assert not X.is_html_type("image/png", b"<html>")
    assert X.is_html_type("", b"  <!DOCTYPE html><html>")
    assert not X.is_html_type(None, b"%PDF-1.4")


# ---- WARC reading -------------------------------------------------------------------------------------
def test_dechunk_decode_body_and_http_head():
    assert W.dechunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n") == b"Wikipedia"
    assert W.dechunk(b"<html>not chunked") is None
    body = gzip.compress(b"<p>hello</p>")
    assert W.decode_body(body, None, "gzip", 100) == (b"<p>hello</p>", False)
    assert W.decode_body(b"<p>stored decoded</p>", None, "gzip", 100)[0] == b"<p>stored decoded</p>"
    bomb = gzip.compress(b"a" * 1_000_000)
    out, big = W.decode_body(bomb, None, "gzip", 1000)
    assert big and len(out) <= 1001
    status, headers, n = W.parse_http_head(b"HTTP/1.1 404 Not Found\nContent-Type: text/html\n\n<p>x")
    assert status == 404 and headers["content-type"] == "text/html" and n == 48


@pytest.mark.parametrize("library", ["fastwarc", "warcio"])
def test_iter_warc_generated(tmp_path, library):
    p = tmp_path / "a.warc.gz"
    write_warc(p, [("response", "http://a.com/", EN.encode(), "text/html; charset=utf-8", 200),
                   ("response", "http://a.com/404", b"<p>gone</p>", "text/html", 404),
                   ("resource", "http://a.com/r.txt", b"plain", "text/plain", None),
                   ("metadata", "http://a.com/", b"fetchTimeMs: 12", "application/warc-fields", None)],
               warcinfo={"isPartOf": "CC-MAIN-2024-10"})
    items = list(W.iter_warc(lambda: open(p, "rb"), library, 1 << 20))
    assert [i.rec_type for i in items] == ["warcinfo", "response", "response", "resource", "metadata"]
    assert items[0].fields["isPartOf"] == "CC-MAIN-2024-10" and items[0].offset == 0
    assert items[1].body == EN.encode() and items[1].http_status == 200 and items[1].charset == "utf-8"
    assert items[1].url == "http://a.com/" and items[1].record_id.startswith("<urn:uuid:")
    assert items[2].http_status == 404 and items[3].content_type == "text/plain" and items[3].body == b"plain"
    offsets = [i.offset for i in items]
    assert offsets == sorted(set(offsets))
    # every offset is where a gzip member holding that record starts
    raw = p.read_bytes()
    for off in offsets:
        assert gzip.decompress(raw[off:])[:5] == b"WARC/"


def test_iter_warc_size_cap(tmp_path):
    p = tmp_path / "big.warc.gz"
    write_warc(p, [("response", "http://a.com/big", b"<p>" + b"a" * 3_000_000 + b"</p>", "text/html", 200),
                   ("response", "http://a.com/small", b"<p>small</p>", "text/html", 200)])
    items = list(W.iter_warc(lambda: open(p, "rb"), "fastwarc", 100_000))
    assert items[0].too_large and len(items[0].body) <= 100_001 and not items[1].too_large
    assert items[1].body == b"<p>small</p>"


def test_iter_warc_not_a_warc_and_truncated(tmp_path):
    bad = tmp_path / "x.warc.gz"
    bad.write_bytes(b"this is not a WARC file\n" * 10)
    with pytest.raises(W.WarcReadError) as e:
        list(W.iter_warc(lambda: open(bad, "rb"), "fastwarc"))
    assert e.value.offset is None and "not a readable" in str(e.value)
    p = tmp_path / "t.warc.gz"
    write_warc(p, [("response", f"http://a.com/{i}", EN.encode(), "text/html", 200) for i in range(4)])
    cut = tmp_path / "cut.warc.gz"
    data = p.read_bytes()
    cut.write_bytes(data[: len(data) - 300])
    got = []
    with pytest.raises(W.WarcReadError) as e:
        for item in W.iter_warc(lambda: open(cut, "rb"), "fastwarc"):
            got.append(item.url)
    assert got[:3] == ["http://a.com/0", "http://a.com/1", "http://a.com/2"]
    assert e.value.offset is not None and "cut off" in str(e.value)


def test_split_helpers(tmp_path):
    p = tmp_path / "m.warc.gz"
    write_warc(p, [("response", f"http://a.com/{i}", EN.encode(), "text/html", 200) for i in range(6)])
    offsets = [i.offset for i in W.iter_warc(lambda: open(p, "rb"))]
    with open(p, "rb") as f:
        assert W.is_multimember_gzip(f)
        assert W.next_record_start(f, 1, p.stat().st_size) == offsets[1]
        assert W.next_record_start(f, offsets[2] + 1, offsets[4]) == offsets[3]
        assert W.next_record_start(f, offsets[5] + 1, p.stat().st_size) is None
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())))   # one gzip member for the whole file
    with open(whole, "rb") as f:
        assert not W.is_multimember_gzip(f)


def test_dump_from_path():
    assert W.dump_from_path("s3a://commoncrawl/crawl-data/CC-MAIN-2024-10/segments/x.warc.gz") == "CC-MAIN-2024-10"
    assert W.dump_from_path("/data/x.warc.gz") is None


def test_shared_broken_warcs_keep_good_records(shared_data):
    d = shared_data / "warcio-test-warcs"
    # a truncated file: the records before the cut are read, then the failure is reported
    got, err = [], None
    try:
        for item in W.iter_warc(lambda: open(d / "example-trunc.warc", "rb")):
            got.append(item.rec_type)
    except W.WarcReadError as e:
        err = e
    assert got[:3] == ["warcinfo", "warcinfo", "response"] and err is not None and err.offset == 2566
    # ARC files are read through the warcio fallback
    arc = [i for i in W.iter_warc(lambda: open(d / "example.arc.gz", "rb"))]
    assert [i.rec_type for i in arc] == ["warcinfo", "response"] and b"Example Domain" in arc[1].body
    # a clipped record is flagged truncated and the file reported damaged
    clipped = []
    with pytest.raises(W.WarcReadError, match="cut off"):
        for item in W.iter_warc(lambda: open(shared_data / "resiliparse-test-warcs" / "clipped.warc.gz", "rb")):
            clipped.append(item)
    assert len(clipped) == 1 and clipped[0].truncated and clipped[0].url.startswith("http://www.houstonpress.com/")


def test_detect_language_makes_the_printable_copy_only_for_refused_text(monkeypatch):
    def refuse(text):
        raise AssertionError("the printable-only copy was made for text pycld2 accepts")

    monkeypatch.setattr(L, "_printable", refuse)
    assert L.detect_language("The quick brown fox jumps over the lazy dog near the river bank.")[0] == "en"
