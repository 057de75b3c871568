"""The `format` stage end to end on Spark + Delta: generated WARCs, bad inputs, text sources, real WARCs."""
from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.schemas import documents as documents_schema
from corpusmill.schemas import rejected as rejected_schema
from corpusmill.schemas.base import assert_matches

PARA = ("<p>The quick brown fox jumps over the lazy dog near the river bank. Rivers carry water from the "
        "mountains to the sea, shaping valleys over thousands of years.</p>")
EN = ("<html><head><title>River facts</title></head><body><nav><a href='/'>Home</a> | <a href='/a'>About</a></nav>"
      f"<article><h1>Rivers</h1>{PARA * 8}</article><footer>Copyright 2024 Example Ltd.</footer></body></html>")
ZH = ("<html><head><meta charset='utf-8'><title>城市新闻</title></head><body><article>"
      + "<p>委员会在就城市学校和道路问题进行了长时间辩论后批准了新的预算方案。这项预算将用于改善公共交通和修建新的公园。</p>" * 6
      + "</article></body></html>")
DE = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'><title>Größe</title></head>"
      "<body><article>" + "<p>Der Ausschuss hat den neuen Haushalt nach einer langen Debatte über Schulen, Straßen "
      "und Brücken beschlossen. Die Bürger begrüßen die Entscheidung.</p>" * 6 + "</article></body></html>")


def write_warc(path: Path, records, warcinfo=None, gz=True) -> None:
    """records: (type, url, payload bytes, content type, http status)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        if warcinfo is not None:
            w.write_record(w.create_warcinfo_record(path.name, warcinfo))
        for rtype, url, payload, ctype, status in records:
            if rtype == "response":
                hh = StatusAndHeaders(f"{status} X", [("Content-Type", ctype)], protocol="HTTP/1.1")
                rec = w.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=hh)
            else:
                rec = w.create_warc_record(url, rtype, payload=io.BytesIO(payload), warc_content_type=ctype)
            w.write_record(rec)


def make_inputs(root: Path) -> dict:
    """Generated WARCs covering every path through the stage; returns the expected outcome per url."""
    crawl = root / "in"
    garbage_page = b"<html><body>" + random.Random(1).randbytes(20_000) + b"</body></html>"
    junk = random.Random(2).randbytes(40).replace(b"<", b"").replace(b">", b"")
    dirty_page = EN.replace("<h1>Rivers</h1>", "<h1>Rivers</h1><p>JUNK</p>").encode().replace(b"JUNK", junk)
    big_page = b"<html><body>" + b"<p>" + b"big page text " * 1_600_000 + b"</p></body></html>"   # ~21 MB
    write_warc(crawl / "a.warc.gz", [
        ("request", "http://www.example.co.uk/en", b"GET /en HTTP/1.1\r\nHost: www.example.co.uk\r\n\r\n",
         "application/http; msgtype=request", None),
        ("response", "http://www.example.co.uk/en", EN.encode(), "text/html; charset=utf-8", 200),
        ("response", "https://news.example.cn/zh", ZH.encode(), "text/html", 200),
        ("response", "http://de.example.org/de", DE.encode("latin-1"), "text/html; charset=iso-8859-1", 200),
        ("response", "http://img.example.org/logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png", 200),
        ("response", "http://www.example.co.uk/missing", b"<html><body>not here</body></html>", "text/html", 404),
        ("response", "http://big.example.org/huge", big_page, "text/html", 200),
        ("response", "http://bin.example.org/garbage", garbage_page, "text/html", 200),
        ("response", "http://bin.example.org/dirty", dirty_page, "text/html", 200),
        ("response", "http://empty.example.org/", b"<html><head></head><body></body></html>", "text/html", 200),
        ("metadata", "http://www.example.co.uk/en", b"fetchTimeMs: 120\r\n", "application/warc-fields", None),
    ], warcinfo={"isPartOf": "CC-MAIN-2024-10", "software": "test"})
    # no warcinfo: the dump comes from the path
    write_warc(crawl / "CC-MAIN-2023-50" / "b.warc.gz",
               [("response", "http://b.example.com/page", EN.replace("Rivers", "Lakes").encode(), "text/html", 200)])
    # uncompressed, no dump anywhere
    write_warc(crawl / "c.warc", [("response", "http://c.example.com/", EN.replace("Rivers", "Seas").encode(),
                                   "text/html", 200)], gz=False)
    (crawl / "empty.warc.gz").write_bytes(b"")
    (crawl / "notwarc.warc.gz").write_bytes(b"just some text, not a WARC file at all\n" * 20)
    # truncated: three good records, then the last one cut in the middle
    write_warc(root / "tmpd.warc.gz", [("response", f"http://t.example.com/{i}", EN.encode(), "text/html", 200)
                                       for i in range(4)])
    data = (root / "tmpd.warc.gz").read_bytes()
    (crawl / "trunc.warc.gz").write_bytes(data[: len(data) - 300])
    expect = {
        "http://www.example.co.uk/en": "ok", "https://news.example.cn/zh": "ok", "http://de.example.org/de": "ok",
        "http://img.example.org/logo.png": "non_html", "http://www.example.co.uk/missing": "http_status",
        "http://big.example.org/huge": "html_too_large", "http://bin.example.org/garbage": "undecodable",
        "http://bin.example.org/dirty": "ok", "http://empty.example.org/": "empty_extraction",
        "http://b.example.com/page": "ok", "http://c.example.com/": "ok",
        "http://t.example.com/0": "ok", "http://t.example.com/1": "ok", "http://t.example.com/2": "ok",
        "http://t.example.com/3": "truncated_record",
    }
    # records: a = warcinfo + 11, b = 1, c = 1, trunc = 4; file rows: empty, notwarc, trunc
    return {"expect": expect, "records": 12 + 1 + 1 + 4, "file_rows": 3, "glob": str(crawl / "**")}


def write_text_sources(root: Path) -> None:
    books = root / "text" / "books.jsonl"
    books.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"book_id": "b1", "body": "Call me Ishmael. Some years ago, never mind how long precisely, having "
                    "little or no money in my purse, I thought I would sail about a little.", "name": "Moby\x00 Dick",
                    "published": "1851-10-18", "link": "https://www.gutenberg.org/ebooks/2701"}),
        "{not json",
        "",
        json.dumps({"book_id": "b2", "body": "   ", "name": "Empty"}),
        json.dumps({"book_id": "b3", "body": "天下大势，分久必合，合久必分。周末七国分争，并入于秦。及秦灭之后，楚、汉分争，又并入于汉。",
                    "name": "三国演义", "published": 1500}),
    ]
    books.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"pid": ["p1", "p2"], "content": ["We prove that every bounded monotone sequence of "
                                                                 "real numbers converges to its supremum.", None],
                             "lang": ["en", "en"]}), root / "text" / "papers.parquet")


def text_source_overrides(root: Path) -> str:
    srcs = [
        {"path": str(root / "text" / "*.jsonl"), "format": "jsonl", "source_type": "book", "dump": "books-v1",
         "fields": {"text": "body", "id": "book_id", "title": "name", "date": "published", "url": "link"}},
        {"path": str(root / "text" / "*.parquet"), "format": "parquet", "source_type": "paper",
         "fields": {"text": "content", "id": "pid", "language": "lang"}},
    ]
    return "format.text_sources=" + json.dumps(srcs)


def outcome(spark, config):
    """(documents keyed by url, or by doc_id when there is no url; this stage's rejected rows)."""
    docs = {r.url or r.doc_id: r for r in tableio.read_table(spark, config, "documents").collect()}
    rej = tableio.read_table(spark, config, "rejected").where("stage = 'format'").collect()
    return docs, rej


@pytest.fixture
def generated(tmp_path):
    info = make_inputs(tmp_path)
    write_text_sources(tmp_path)
    return info


@pytest.mark.slow
def test_format_generated_inputs(spark, config_factory, tmp_path, generated):
    import corpusmill.jobs.stages.format as fmt

    info = generated
    config = config_factory(f"format.inputs=[{tmp_path}/in/*.warc*, {tmp_path}/in/*/*.warc.gz]",
                            text_source_overrides(tmp_path))
    result = fmt.run(spark, config)
    assert result.status == "success"
    docs, rej = outcome(spark, config)

    # every record is accounted for, exactly once
    text_rows = 4 + 2          # books.jsonl: 4 non-blank lines; papers.parquet: 2 rows
    assert result.rows_in == info["records"] + info["file_rows"] + text_rows
    assert result.rows_in == result.rows_out + result.rows_rejected
    assert result.rows_out == len(docs) and result.rows_rejected == len(rej)

    reasons = {}
    for r in rej:
        reasons.setdefault(r.reason, []).append(r)
    for url, want in info["expect"].items():
        if want == "ok":
            assert url in docs, (url, [(r.reason, r.detail) for r in rej if r.url == url])
        else:
            assert [r.reason for r in rej if r.url == url] == [want], url
    assert sorted(r.detail for r in reasons["not_response"]) == ["metadata", "request", "warcinfo"]
    files = {Path(r.source_file).name: r for r in rej if r.reason in ("read_error", "empty_file")}
    assert files["empty.warc.gz"].reason == "empty_file"
    assert files["notwarc.warc.gz"].reason == "read_error" and "not a readable" in files["notwarc.warc.gz"].detail
    assert files["trunc.warc.gz"].reason == "read_error" and "cut off" in files["trunc.warc.gz"].detail

    en = docs["http://www.example.co.uk/en"]
    assert en.language == "en" and en.language_reliable and en.language_pct > 90
    assert en.host == "www.example.co.uk" and en.domain == "example.co.uk" and en.dump == "CC-MAIN-2024-10"
    assert en.title == "River facts" and "quick brown fox" in en.text and "Copyright 2024" not in en.text
    assert en.source_type == "web" and en.fetch_date is not None and en.text_bytes == len(en.text.encode())
    assert en.source_file.endswith("a.warc.gz") and int(en.source_record) > 0
    assert docs["https://news.example.cn/zh"].language == "zh" and "委员会" in docs["https://news.example.cn/zh"].text
    assert "Größe" == docs["http://de.example.org/de"].title and "Bürger" in docs["http://de.example.org/de"].text
    assert docs["http://b.example.com/page"].dump == "CC-MAIN-2023-50"
    assert docs["http://c.example.com/"].dump == "unknown"
    dirty = docs["http://bin.example.org/dirty"].text
    assert "quick brown fox" in dirty and not any(ord(c) < 32 and c not in "\n\t" for c in dirty)

    # text sources: field mapping, bad lines, declared language
    moby = docs["https://www.gutenberg.org/ebooks/2701"]
    assert moby.source_type == "book" and moby.dump == "books-v1" and moby.title == "Moby Dick"
    assert moby.language == "en" and str(moby.fetch_date).startswith("1851-10-18") and moby.domain == "gutenberg.org"
    book_rej = {r.source_record: r.reason for r in rej if r.source_file.endswith("books.jsonl")}
    assert book_rej == {"2": "parse_error", "4": "empty_text"}
    by_type = {}
    for d in docs.values():
        by_type.setdefault(d.source_type, []).append(d)
    assert len(by_type["book"]) == 2 and any(d.language == "zh" for d in by_type["book"])
    (paper,) = by_type["paper"]
    assert paper.language == "en" and paper.dump == "paper" and paper.url is None
    assert [r.reason for r in rej if r.source_file.endswith("papers.parquet")] == ["empty_text"]

    # ids: deterministic, unique
    ids = [d.doc_id for d in docs.values()]
    assert len(set(ids)) == len(ids) and all(len(i) == 32 for i in ids)

    # schemas, and an independent reader sees valid Delta tables with the same rows
    assert_matches(tableio.read_table(spark, config, "documents").schema, documents_schema.TABLE)
    assert_matches(tableio.read_table(spark, config, "rejected").schema, rejected_schema.TABLE)
    from deltalake import DeltaTable

    dt = DeltaTable(config.table_path("documents"))
    got = dt.to_pyarrow_table(columns=["doc_id", "dump", "text"])
    assert sorted(got.column("doc_id").to_pylist()) == sorted(ids)
    assert dt.metadata().partition_columns == ["dump"]
    rt = DeltaTable(config.table_path("rejected")).to_pyarrow_table()
    assert rt.num_rows == len(rej)

    # idempotent: a forced re-run gives the same content, no duplicates; an unforced one is skipped
    before = sorted((d.doc_id, d.text) for d in docs.values())
    again = fmt.run(spark, config, force=True)
    assert again.status == "success" and (again.rows_in, again.rows_out, again.rows_rejected) == \
        (result.rows_in, result.rows_out, result.rows_rejected)
    docs2, rej2 = outcome(spark, config)
    assert sorted((d.doc_id, d.text) for d in docs2.values()) == before and len(rej2) == len(rej)
    assert tableio.read_table(spark, config, "documents").count() == len(before)
    skipped = fmt.run(spark, config)
    assert skipped.status == "skipped" and skipped.rows_out == result.rows_out
    runs = tableio.read_table(spark, config, "runs").where("stage = 'format'").collect()
    assert sorted(r.status for r in runs) == ["success", "success"]
    assert all(r.rows_in == r.rows_out + r.rows_rejected for r in runs)


def test_format_split_big_file_and_binaryfile_route(spark, config_factory, tmp_path):
    """Byte-range tasks give the same documents as one task per file; Spark-read files work the same."""
    import corpusmill.jobs.stages.format as fmt

    pages = [("response", f"http://s.example.com/{i}", EN.replace("Rivers", f"River {i}").encode(), "text/html", 200)
             for i in range(30)]
    write_warc(tmp_path / "in" / "s.warc.gz", pages, warcinfo={"isPartOf": "CC-MAIN-2022-05"})
    (tmp_path / "in" / "empty.warc.gz").write_bytes(b"")
    size = (tmp_path / "in" / "s.warc.gz").stat().st_size
    split = config_factory(f"format.inputs=[{tmp_path}/in/*.warc.gz]", "format.text_sources=[]",
                           f"format.split_bytes={size // 7}", "storage.warehouse=wh2")
    viaspark = config_factory(f"format.inputs=[{tmp_path}/in/*.warc.gz]", "format.text_sources=[]",
                              "format.spark_reads_files=true", "format.extract_timeout_s=0.000001",
                              "storage.warehouse=wh3")
    tasks, _, _ = fmt.plan_tasks(spark, split, None)
    assert len([t for t in tasks if t["path"].endswith("s.warc.gz")]) >= 7
    r2 = fmt.run(spark, split)
    assert (r2.rows_in, r2.rows_out, r2.rows_rejected) == (32, 30, 2)
    # exactly the records a single reader sees, each once, with the warcinfo's dump
    from corpusmill.udfs.format.warc import iter_warc

    offsets = {str(i.offset): i.url for i in iter_warc(lambda: open(tmp_path / "in" / "s.warc.gz", "rb"))
               if i.rec_type == "response"}
    docs = tableio.read_table(spark, split, "documents").collect()
    assert sorted(d.source_record for d in docs) == sorted(offsets)
    for d in docs:
        assert d.url == offsets[d.source_record] and d.dump == "CC-MAIN-2022-05"
        assert f"River {d.url.rsplit('/', 1)[1]}" in d.text

    # through spark.read.format("binaryFile"), with a time limit no page can meet: every page times out
    r3 = fmt.run(spark, viaspark)
    assert (r3.rows_in, r3.rows_out, r3.rows_rejected) == (32, 0, 32)
    rej = tableio.read_table(spark, viaspark, "rejected").groupBy("reason").count().collect()
    assert {r.reason: r["count"] for r in rej} == {"extraction_timeout": 30, "not_response": 1, "empty_file": 1}


@pytest.mark.slow
def test_format_shared_warcs(spark, config_factory, shared_data):
    """Real WARCs, including deliberately broken ones: no crash, good records kept, failures recorded."""
    import corpusmill.jobs.stages.format as fmt

    pats = [str(shared_data / "warcio-test-warcs" / "*"), str(shared_data / "resiliparse-test-warcs" / "*.warc.gz"),
            str(shared_data / "dolma-warcs" / "warc" / "*.warc.gz")]
    config = config_factory("format.text_sources=[]")
    result = fmt.run(spark, config, inputs=pats)
    assert result.status == "success" and result.rows_in == result.rows_out + result.rows_rejected
    docs, rej = outcome(spark, config)
    all_docs = tableio.read_table(spark, config, "documents").collect()   # (urls repeat in real crawls)
    by_file: dict = {}
    for r in rej + all_docs:
        by_file.setdefault(Path(r.source_file).name, []).append(r)
    # SOURCE.md is no WARC; the clipped record is truncated and its file recorded as damaged
    assert [r.reason for r in by_file["SOURCE.md"]] == ["read_error"]
    assert sorted(r.reason for r in by_file["clipped.warc.gz"]) == ["read_error", "truncated_record"]
    assert any(r.reason == "read_error" for r in by_file["example-trunc.warc"])
    # the CC slice: dump from warcinfo, Chinese pages found; the broken/ARC examples still give documents
    cc = [d for d in docs.values() if Path(d.source_file).name == "warcfile.warc.gz"]
    assert len(cc) >= 10 and {d.dump for d in cc} == {"CC-MAIN-2020-34"} and any(d.language == "zh" for d in cc)
    assert any(d.url == "http://example.com/" for d in docs.values() if "arc" in Path(d.source_file).name)
    dolma = [d for d in docs.values() if Path(d.source_file).name.startswith("sample-")]
    assert len(dolma) >= 20
    # every record of the dolma WARCs is accounted for (48 + 34 records, see their SOURCE.md)
    assert len(by_file["sample-0000.warc.gz"]) == 48 and len(by_file["sample-0001.warc.gz"]) == 34


def test_format_config_errors(spark, config_factory, tmp_path):
    import corpusmill.jobs.stages.format as fmt

    with pytest.raises(ConfigError, match=r"format.warc_library"):
        config_factory("format.warc_library=pywarc")      # rejected when the config is loaded
    with pytest.raises(ConfigError, match=r"--input\[0\]: path .* does not exist"):
        fmt.run(spark, config_factory("format.text_sources=[]"), inputs=[str(tmp_path / "nope.warc.gz")])
    with pytest.raises(ConfigError, match=r"format.inputs: no input files match"):
        fmt.run(spark, config_factory(f"format.inputs=[{tmp_path}/none/*.warc.gz]", "format.text_sources=[]"))
    bad_src = 'format.text_sources=[{"path": "x/*.jsonl", "format": "jsonl", "source_type": "book", "fields": {"body": "t"}}]'
    with pytest.raises(ConfigError, match=r"format.text_sources\[0\].fields.body"):
        config_factory(bad_src)


def test_split_size_gives_every_core_several_tasks():
    from corpusmill.jobs.stages.format import split_size

    mb = 1 << 20
    assert split_size(256 * mb, 10_000 * mb, 8) == 256 * mb       # a crawl: the configured size
    assert split_size(256 * mb, 3 * 1024 * mb, 8) == 96 * mb      # 3 files of 1 GB on 8 cores: 32 ranges
    assert split_size(256 * mb, 40 * mb, 8) == 8 * mb             # never cut below 8 MB on its own ...
    assert split_size(1 * mb, 40 * mb, 8) == 1 * mb               # ... unless the config says so
    assert split_size(0, 3 * 1024 * mb, 8) == 0                   # 0: one task per file
