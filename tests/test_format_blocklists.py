"""The format stage checks the safety section's domain / URL blocklists before extraction."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ut1_adult
from test_format import EN, write_warc

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError

# URLs that do not parse, or parse oddly: never a crash, never blocked
ODD_URLS = ["http://[::1", "not a url", "", "http://exa mple.com/a b", "javascript:alert(1)",
            "http://例子.测试/页", "http://" + "a" * 5000 + ".com/", "mailto:x@hot-xxx.net"]


@pytest.fixture
def block_lists(tmp_path) -> tuple[Path, Path]:
    """A UT1 folder (adult: a domain and a URL prefix) and a plain one-domain-a-line list (gambling)."""
    ut1 = ut1_adult(tmp_path / "lists" / "ut1")
    plain = tmp_path / "lists" / "gambling"
    plain.write_text("# casinos\ncasino-royal.example\n")
    return ut1, plain


def crawl(tmp_path: Path) -> dict[str, str]:
    """One WARC; url -> the format reason each page should get with the lists first (None = a document)."""
    page = EN.encode()
    want = {
        "https://news.example.org/a": None,
        "https://www.hot-xxx.net/videos/1": "domain_blocklist:adult",
        "https://cdn.img.Hot-XXX.net:8443/x": "domain_blocklist:adult",            # a subdomain, case, port
        "https://mixed-site.com/adult/gallery?id=3": "url_blocklist:adult",
        "https://mixed-site.com/adulthood-essay": None,
        "http://casino-royal.example/slots": "domain_blocklist:gambling",
        "https://www.hot-xxx.net/empty": "domain_blocklist:adult",        # empty page: checked before extraction
        "https://www.hot-xxx.net/gone": "http_status",                     # not extracted anyway: keeps its reason
        "https://www.hot-xxx.net/logo.png": "non_html",
    }
    records = []
    for url in want:
        status = 404 if url.endswith("/gone") else 200
        ctype = "image/png" if url.endswith(".png") else "text/html"
        body = b"<html><body></body></html>" if url.endswith("/empty") else page
        records.append(("response", url, body, ctype, status))
    for url in ODD_URLS:
        records.append(("response", url, page, "text/html", 200))
    write_warc(tmp_path / "in" / "blk.warc.gz", records, warcinfo={"isPartOf": "CC-MAIN-2024-10"})
    return want


def test_block_reason_never_fails_on_odd_urls(block_lists):
    from corpusmill.jobs.stages.format import block_reason
    from corpusmill.udfs.format.urls import host_of
    from corpusmill.udfs.safety.domains import build_index

    ut1, plain = block_lists
    index = build_index([(str(ut1), "", []), (str(plain), "", [])])
    for url in [*ODD_URLS, None]:
        assert block_reason(index, url, host_of(url)) is None, url
    assert block_reason(index, "https://a.b.hot-xxx.net/", "a.b.hot-xxx.net") == ("domain_blocklist:adult",
                                                                                 "match=hot-xxx.net")
    assert block_reason(index, "https://mixed-site.com/adult/x", "mixed-site.com") == ("url_blocklist:adult",
                                                                                    "match=mixed-site.com/adult")


@pytest.mark.slow
def test_blocked_pages_are_rejected_before_extraction_as_safety_would(spark, config_factory, tmp_path, block_lists):
    """Lists first: each blocked page is rejected once, by format, under the reason the safety stage gives
    the same page when format does not check (model-free safety: blocklists only)."""
    import corpusmill.jobs.stages.format as fmt
    from corpusmill.jobs.stages import safety

    want = crawl(tmp_path)
    ut1, plain = block_lists
    common = [f"format.inputs=[{tmp_path}/in/*.warc.gz]", "format.text_sources=[]",
              f"safety.domain_lists=[{{path: {ut1}}}, {{path: {plain}}}]", "safety.word_lists=[]",
              "safety.toxicity.model=none", "safety.pornography.model=none", "safety.input_tables=[documents]"]
    first = config_factory(*common)
    late = config_factory(*common, "format.blocklists_first=false", "storage.warehouse=wh-late")

    res = fmt.run(spark, first)
    n_records = 1 + len(want) + len(ODD_URLS)                   # warcinfo + responses
    assert (res.rows_in, res.rows_out + res.rows_rejected) == (n_records, n_records)
    rej = {r.url: r for r in tableio.read_table(spark, first, "rejected").where("stage = 'format'").collect()}
    docs = {r.url for r in tableio.read_table(spark, first, "documents").select("url").collect()}
    for url, reason in want.items():
        if reason is None:
            assert url in docs and url not in rej, url
        else:
            assert rej[url].reason == reason and url not in docs, (url, rej.get(url))
    assert rej["https://cdn.img.Hot-XXX.net:8443/x"].detail == "match=hot-xxx.net"
    assert rej["https://mixed-site.com/adult/gallery?id=3"].detail == "match=mixed-site.com/adult"
    assert not any(r.reason.endswith(("_blocklist:adult", "_blocklist:gambling")) for u, r in rej.items()
                   if u in ODD_URLS), "a URL that does not parse is never blocked"
    assert fmt.run(spark, first).status == "skipped"

    # the same crawl with the lists left to safety: the same pages, under the same reasons
    blocked = {u: r for u, r in want.items() if r and "_blocklist:" in r and not u.endswith("/empty")}
    assert fmt.run(spark, late).rows_out == res.rows_out + len(blocked)
    late_rej = tableio.read_table(spark, late, "rejected").where("stage = 'format'")
    assert late_rej.where("url = 'https://www.hot-xxx.net/empty'").first().reason == "empty_extraction"
    safety.run(spark, late)
    later = {r.url: r.reason for r in tableio.read_table(spark, late, "rejected").where("stage = 'safety'").collect()}
    assert later == blocked

    # a list that exists but cannot be read fails before Spark; one that does not exist yet is safety's error
    bad = tmp_path / "lists" / "notut1"
    bad.mkdir()
    with pytest.raises(ConfigError, match=r"safety.domain_lists\[0\].path: .*UT1"):
        fmt.check(config_factory(*common, f"safety.domain_lists=[{{path: {bad}}}]"))
    assert fmt.check(config_factory(*common, f"safety.domain_lists=[{{path: {tmp_path}/nope}}]")) is None
    assert fmt.check(config_factory(*common, "safety.domain_lookup=join")) is None
