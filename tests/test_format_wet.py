"""The `format` stage on Common Crawl WET and WAT files, written here with warcio as CC writes them.

WET `conversion` records become documents as they are (pycld2 language, no extraction) with the
doc_id the WARC response of the same page gets; WAT `metadata` records are counted and skipped.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest

from corpusmill.jobs.core import tableio

DUMP = "CC-MAIN-2024-10"


# ---- writing WET / WAT / WARC files the way Common Crawl does (one gzip member per record) ----------
def _writer(fh):
    from warcio.warcwriter import WARCWriter

    w = WARCWriter(fh, gzip=True)
    w.NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "conversion", "metadata")   # CC writes block digests only
    return w


def _digest(payload: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode()


def _record(w, rec_type: str, headers: list[tuple[str, str]], payload: bytes, content_type: str) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    hdrs = [("WARC-Type", rec_type), *headers, ("WARC-Block-Digest", _digest(payload)),
            ("Content-Type", content_type), ("Content-Length", str(len(payload)))]
    uri = dict(headers).get("WARC-Target-URI")
    rec = w.create_warc_record(uri, rec_type, payload=io.BytesIO(payload), length=len(payload),
                               warc_headers=StatusAndHeaders("", hdrs, protocol="WARC/1.0"),
                               warc_content_type=content_type)
    w.write_record(rec)


def _warcinfo(w, name: str, dump: str, what: str) -> None:
    fields = ("Software-Info: ia-web-commons.1.1.10-SNAPSHOT-20240215\r\n"
              "Extracted-Date: Tue, 05 Mar 2024 10:00:00 GMT\r\n"
              f"robots: checked via crawler-commons 1.5-SNAPSHOT\r\nisPartOf: {dump}\r\n"
              f"operator: Common Crawl Admin (info@commoncrawl.org)\r\ndescription: {what}\r\n"
              "publisher: Common Crawl\r\n\r\n").encode()
    _record(w, "warcinfo", [("WARC-Date", "2024-03-05T10:00:00Z"), ("WARC-Filename", name),
                            ("WARC-Record-ID", _uuid(name))], fields, "application/warc-fields")


def _uuid(seed: str) -> str:
    h = hashlib.md5(seed.encode()).hexdigest()
    return f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}>"


def write_wet(path: Path, dump: str, pages: list[dict]) -> None:
    """pages: url, date, refers_to (the response's WARC-Record-ID), text (str)."""
    with open(path, "wb") as fh:
        w = _writer(fh)
        _warcinfo(w, path.name, dump, "Wide crawl of the web (WET: extracted text)")
        for p in pages:
            _record(w, "conversion", [("WARC-Target-URI", p["url"]), ("WARC-Date", p["date"]),
                                      ("WARC-Record-ID", _uuid("wet" + p["url"])), ("WARC-Refers-To", p["refers_to"])],
                    p["text"].encode("utf-8"), "text/plain")


def write_wat(path: Path, dump: str, pages: list[dict]) -> None:
    """One metadata record (application/json, the CC WAT envelope) per page."""
    with open(path, "wb") as fh:
        w = _writer(fh)
        _warcinfo(w, path.name, dump, "Wide crawl of the web (WAT: metadata)")
        for p in pages:
            envelope = {"Envelope": {"Format": "WARC", "WARC-Header-Metadata": {
                "WARC-Type": "response", "WARC-Target-URI": p["url"], "WARC-Record-ID": p["refers_to"]},
                "Payload-Metadata": {"HTTP-Response-Metadata": {"Response-Message": {"Status": "200"}}}}}
            _record(w, "metadata", [("WARC-Target-URI", p["url"]), ("WARC-Date", p["date"]),
                                    ("WARC-Record-ID", _uuid("wat" + p["url"])), ("WARC-Refers-To", p["refers_to"])],
                    json.dumps(envelope).encode(), "application/json")


def write_warc_response(path: Path, dump: str, url: str, date: str, html: bytes) -> str:
    """A WARC with a warcinfo and one HTML response; returns the response's WARC-Record-ID."""
    from warcio.statusandheaders import StatusAndHeaders

    with open(path, "wb") as fh:
        w = _writer(fh)
        _warcinfo(w, path.name, dump, "Wide crawl of the web")
        rid = _uuid("warc" + url)
        hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        rec = w.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=hh,
                                   warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": rid})
        w.write_record(rec)
    return rid


# ---- running the stage and checking every record ----------------------------------------------------
def run_format(spark, config, inputs):
    import corpusmill.jobs.stages.format as fmt

    result = fmt.run(spark, config, inputs=[str(p) for p in inputs])
    assert result.status == "success"
    docs = tableio.read_table(spark, config, "documents").collect()
    rej = tableio.read_table(spark, config, "rejected").where("stage = 'format'").collect()
    assert result.rows_in == result.rows_out + result.rows_rejected       # nothing lost silently
    assert (result.rows_out, result.rows_rejected) == (len(docs), len(rej))
    return result, docs, rej


def check_wet_and_warc(spark, config_factory, dump: str, wet: Path, wat: Path, warc: Path, pages: list[dict],
                       warc_urls: set[str], want: dict, n_warc_records: int) -> None:
    """pages: the WET's records (url, date, refers_to, text); want: url -> (language, host, domain) of a
    document, or a reject reason for a page whose text cannot be one."""
    from corpusmill.udfs.format.urls import doc_id

    # WET + WAT: one document per usable conversion record, the text as written
    res, docs, rej = run_format(spark, config_factory("format.text_sources=[]", "storage.warehouse=wet"), [wet, wat])
    assert res.rows_in == (1 + len(pages)) + (1 + len(pages))             # warcinfo + records, per file
    by_url = {d.url: d for d in docs}
    assert len(by_url) == len(docs) == sum(isinstance(v, tuple) for v in want.values())
    for p in pages:
        w = want[p["url"]]
        if not isinstance(w, tuple):
            assert [r.reason for r in rej if r.url == p["url"] and r.source_file.endswith(wet.name)] == [w], p["url"]
            continue
        d = by_url[p["url"]]
        assert d.text == p["text"] and d.text_bytes == len(p["text"].encode())
        assert (d.language, d.host, d.domain) == w, p["url"]
        assert d.language_reliable and d.language_pct > 50
        assert d.dump == dump and d.source_type == "web" and d.title is None
        fetched = dt.datetime.fromisoformat(p["date"].replace("Z", "+00:00")).timestamp()
        assert d.fetch_date == dt.datetime.fromtimestamp(fetched)       # (collect() gives local time)
        assert d.source_file.endswith(wet.name) and int(d.source_record) > 0
        assert d.doc_id == doc_id("web", dump, p["url"], p["refers_to"])
    # WAT records and both warcinfos: counted and skipped, never documents
    skipped = sorted((Path(r.source_file).name, r.detail) for r in rej if r.reason == "not_response")
    assert skipped == sorted([(wat.name, "metadata (WAT)")] * len(pages)
                             + [(wat.name, "warcinfo"), (wet.name, "warcinfo")])
    assert not any(d.source_file.endswith(wat.name) for d in docs)
    assert len(rej) == len(skipped) + sum(not isinstance(v, tuple) for v in want.values())

    # WARC + WET + WAT in one run: the response gets the WET's doc_id; documents keep one row per id
    res2, docs2, rej2 = run_format(spark, config_factory("format.text_sources=[]", "format.extract_timeout_s=0",
                                                         "storage.warehouse=both"), [warc, wet, wat])
    assert res2.rows_in == res.rows_in + n_warc_records
    ids = [d.doc_id for d in docs2]
    assert len(ids) == len(set(ids)) and res2.rows_out == len(docs)
    by_url2 = {d.url: d for d in docs2}
    for url in warc_urls:
        kept = by_url2[url]
        assert kept.source_file.endswith(warc.name) and kept.title is not None    # the response's own extraction
        assert kept.doc_id == by_url[url].doc_id and kept.dump == dump
        (dup,) = [r for r in rej2 if r.url == url and r.reason != "not_response"]
        assert dup.reason == "duplicate_record" and dup.doc_id == kept.doc_id
        assert dup.source_file.endswith(wet.name) and f"{kept.source_file} @ {kept.source_record}" in dup.detail
    for url in set(by_url) - warc_urls:
        assert by_url2[url].source_file.endswith(wet.name) and by_url2[url].doc_id == by_url[url].doc_id


# ---- hand-written multilingual texts (always runs) --------------------------------------------------
TEXTS = {   # url -> (WET text, (language, host, domain) of its document, or its reject reason)
    "https://www.example.com/rivers": (
        "The quick brown fox jumps over the lazy dog near the river bank. Rivers carry water from the mountains "
        "to the sea, shaping valleys over thousands of years.\nMost large rivers end in a delta or an estuary.",
        ("en", "www.example.com", "example.com")),
    "http://news.example.com.cn/budget": (
        "委员会在就城市学校和道路问题进行了长时间辩论后批准了新的预算方案。\n这项预算将用于改善公共交通和修建新的公园。",
        ("zh", "news.example.com.cn", "example.com.cn")),
    "https://stadt.example.de/haushalt": (
        "Der Ausschuss hat den neuen Haushalt nach einer langen Debatte über Schulen, Straßen und Brücken "
        "beschlossen. Die Bürger begrüßen die Entscheidung des Rates.",
        ("de", "stadt.example.de", "example.de")),
    "http://gorod.example.ru/byudzhet": (
        "Комитет утвердил новый бюджет после долгих дебатов о школах, дорогах и мостах. "
        "Жители города приветствуют это решение совета.",
        ("ru", "gorod.example.ru", "example.ru")),
    "http://blank.example.org/": (" \n\t\n", "empty_text"),
}


@pytest.mark.slow
def test_format_wet_handwritten(spark, config_factory, tmp_path):
    en_url = "https://www.example.com/rivers"
    date = "2024-02-20T22:47:11Z"
    html = ("<html><head><title>Rivers</title></head><body><article><p>" + TEXTS[en_url][0]
            + "</p></article></body></html>").encode()
    warc = tmp_path / "CC-MAIN-20240220211055-20240221001055-00000.warc.gz"
    rid = write_warc_response(warc, DUMP, en_url, date, html)
    pages = [dict(url=url, date=date, text=text, refers_to=rid if url == en_url else _uuid("response" + url))
             for url, (text, _) in TEXTS.items()]
    wet = tmp_path / "CC-MAIN-20240220211055-20240221001055-00000.warc.wet.gz"
    wat = tmp_path / "CC-MAIN-20240220211055-20240221001055-00000.warc.wat.gz"
    write_wet(wet, DUMP, pages)
    write_wat(wat, DUMP, pages)
    check_wet_and_warc(spark, config_factory, DUMP, wet, wat, warc, pages, {en_url},
                       {url: w for url, (_, w) in TEXTS.items()}, n_warc_records=2)


# ---- a real Common Crawl WARC slice and the WET cut from its extracted text --------------------------
REAL_PAGES = {   # url in the CC-MAIN-2020-34 slice -> (pycld2 language of its text, host, domain)
    "http://003338.cn/l41/481397.html": ("zh", "003338.cn", "003338.cn"),
    "http://01spb.ru/company/": ("ru", "01spb.ru", "01spb.ru"),
    "http://037426.cn/": ("en", "037426.cn", "037426.cn"),
    "http://06.live-radsport.ch/tippspiel/stats_140_petzi.html": ("de", "06.live-radsport.ch", "live-radsport.ch"),
    "http://0900-hovenier.nl/gelderland/oosterbeek/": ("nl", "0900-hovenier.nl", "0900-hovenier.nl"),
}


@pytest.mark.slow
def test_format_wet_from_real_warc(spark, config_factory, tmp_path, shared_data):
    """WET text extracted from real CC responses; the WARC holds the responses of two of the pages."""
    from warcio.archiveiterator import ArchiveIterator

    from corpusmill.udfs.format.extract import ExtractOptions, html_to_document

    src = shared_data / "resiliparse-test-warcs" / "warcfile.warc.gz"
    raw = src.read_bytes()
    pages, keep = [], []          # keep: byte ranges of the warcinfo and the responses copied into the WARC
    with open(src, "rb") as f:
        it = ArchiveIterator(f)
        for r in it:
            url = r.rec_headers.get_header("WARC-Target-URI")
            if r.rec_type == "warcinfo":
                dump = dict(line.split(": ", 1) for line in r.content_stream().read().decode().splitlines()
                            if ": " in line)["isPartOf"]
                it.read_to_end()
                keep.append((it.get_record_offset(), it.get_record_length()))
            elif r.rec_type == "response" and url in REAL_PAGES:
                res = html_to_document(r.content_stream().read(), url, None, ExtractOptions(extract_timeout_s=0))
                pages.append(dict(url=url, date=r.rec_headers.get_header("WARC-Date"), text=res.text,
                                  refers_to=r.rec_headers.get_header("WARC-Record-ID")))
                it.read_to_end()
                if len(keep) < 3:
                    keep.append((it.get_record_offset(), it.get_record_length()))
    assert len(pages) == len(REAL_PAGES) and all(p["text"] for p in pages) and len(keep) == 3
    name = "CC-MAIN-20200808165417-20200808195417-00395"
    warc = tmp_path / f"{name}.warc.gz"
    warc.write_bytes(b"".join(raw[o:o + n] for o, n in keep))     # the original gzip members, unchanged
    wet, wat = tmp_path / f"{name}.warc.wet.gz", tmp_path / f"{name}.warc.wat.gz"
    write_wet(wet, dump, pages)
    write_wat(wat, dump, pages)
    assert dump == "CC-MAIN-2020-34"
    check_wet_and_warc(spark, config_factory, dump, wet, wat, warc, pages, {p["url"] for p in pages[:2]},
                       REAL_PAGES, n_warc_records=3)


def test_wet_records_without_spark(tmp_path):
    """Both readers: limits of WET texts, a conversion without WARC-Refers-To, cleaned text, WAT by name."""
    from dataclasses import asdict

    import corpusmill.jobs.stages.format as fmt
    from corpusmill.udfs.format.extract import ExtractOptions
    from corpusmill.udfs.format.urls import doc_id

    date = "2024-02-20T22:47:11Z"
    en = TEXTS["https://www.example.com/rivers"][0]
    pages = [dict(url="http://a.example.org/", date=date, refers_to=_uuid("ra"), text=en),
             dict(url="http://big.example.org/", date=date, refers_to=_uuid("rb"), text=en * 20),
             dict(url="http://bin.example.org/", date=date, refers_to=_uuid("rc"), text="\x01\x02\x03 abc " * 20),
             dict(url="http://crlf.example.org/", date=date, refers_to=_uuid("rd"),
                  text="line one\r\nline\x00 two\r\n")]
    wet = tmp_path / "x.wet"
    write_wet(tmp_path / "x.wet.gz", DUMP, pages)
    import gzip

    wet.write_bytes(gzip.decompress((tmp_path / "x.wet.gz").read_bytes()))       # plain (uncompressed) WET
    noref = tmp_path / "noref.warc.wet.gz"
    with open(noref, "wb") as fh:
        _record(_writer(fh), "conversion", [("WARC-Target-URI", "http://n.example.org/"), ("WARC-Date", date),
                                            ("WARC-Record-ID", _uuid("own"))], en.encode(), "text/plain")
    wat = tmp_path / "y.wat.gz"            # a WAT by its name, whatever its records' content type
    with open(wat, "wb") as fh:
        _record(_writer(fh), "metadata", [("WARC-Target-URI", "http://m.example.org/"), ("WARC-Date", date),
                                          ("WARC-Record-ID", _uuid("m"))],
                b"fetchTimeMs: 1\r\n", "application/warc-fields")
    for lib in ("fastwarc", "warcio"):
        opts = fmt.WorkerOptions(dump_id="", warc_library=lib, min_text_chars=1, text_sources=[],
                                 extract=asdict(ExtractOptions(html_max_bytes=1000, extract_timeout_s=0)))
        rows = {r["url"]: r for p in (wet, noref, wat) for r in fmt.warc_rows(str(p), None, 0, -1, opts)}
        assert rows["http://a.example.org/"]["text"] == en and rows["http://a.example.org/"]["language"] == "en"
        assert rows["http://a.example.org/"]["doc_id"] == doc_id("web", DUMP, "http://a.example.org/", _uuid("ra"))
        assert rows["http://big.example.org/"]["reason"] == "text_too_large", lib
        assert rows["http://bin.example.org/"]["reason"] == "undecodable", lib
        assert rows["http://crlf.example.org/"]["text"] == "line one\nline two"
        own = doc_id("web", "unknown", "http://n.example.org/", _uuid("own"))      # no WARC-Refers-To: its own id
        assert rows["http://n.example.org/"]["doc_id"] == own
        assert (rows["http://a.example.org/"]["dump"], rows["http://n.example.org/"]["reason"]) == (DUMP, None)
        assert rows[None]["detail"] == "warcinfo" and rows["http://a.example.org/"]["record_type"] == "conversion"
        meta = [r for r in fmt.warc_rows(str(wat), None, 0, -1, opts)]
        assert [(r["reason"], r["detail"]) for r in meta] == [("not_response", "metadata (WAT)")]
