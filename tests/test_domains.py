"""Domain / URL blocklists: UT1 and plain formats, parent-domain and URL-prefix matching, index == join."""
from __future__ import annotations

import pytest

from corpusmill.udfs.safety.domains import (DomainIndex, build_index, domain_candidates, entries_frame, host_of, list_files,
                                  match_join, normalize_url_entry, url_candidates)


@pytest.fixture
def ut1(tmp_path):
    root = tmp_path / "ut1"
    for cat, doms, urls, usage in [
        ("adult", ["example-porn.com", "www.xxx.net", "*.wild.org"],
         ["mixed.com/adult", "Mixed.com/Other/", "q.com/?v=1", "whole.com/#x"], "black\nadult\n"),
        ("gambling", ["casino.biz", "example-porn.com"], [], "black\n"),
        ("sexual_education", ["sexedu.org"], [], "white\n"),
    ]:
        d = root / cat
        d.mkdir(parents=True)
        (d / "domains").write_text("".join(x + "\n" for x in doms))
        if urls:
            (d / "urls").write_text("".join(x + "\n" for x in urls))
        (d / "usage").write_text(usage)
    plain = tmp_path / "scam.list"
    plain.write_text("# scam hosts\n0.0.0.0 phish.cn\nbad.example\n\n")
    return root, plain


def test_candidates():
    assert domain_candidates("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com", "com"]
    assert url_candidates("https://m.com/a/b/?q=1#f", "m.com") == ["m.com/a/b?q=1", "m.com/a/b", "m.com/a", "m.com"]
    assert url_candidates("https://m.com/?q=1", "m.com") == ["m.com/?q=1", "m.com"]
    assert url_candidates("https://m.com", "m.com") == ["m.com"]
    assert host_of("HTTPS://user:pw@WWW.Example.COM.:8080/x") == "example.com"
    assert host_of("https://x.org/", "WWW.Given.org") == "given.org"
    assert host_of(None) == "" and host_of("not a url") == ""
    assert normalize_url_entry("https://www.Mixed.com/Other/") == "mixed.com/other"
    assert normalize_url_entry("site.es/?v=AB#frag") == "site.es/?v=ab"
    assert normalize_url_entry("danskporn.dk/#p2") == "danskporn.dk"


def test_list_files_formats(ut1):
    root, plain = ut1
    cats = sorted({lf.category for lf in list_files(str(root))})
    assert cats == ["adult", "gambling"]                       # the "white" category is skipped
    assert {lf.category for lf in list_files(str(root), categories=["sexual_education"])} == {"sexual_education"}
    assert [lf.category for lf in list_files(str(root / "gambling"))] == ["gambling"]
    assert [lf.category for lf in list_files(str(plain))] == ["scam"]
    assert [lf.category for lf in list_files(str(plain), "scam_hosts")] == ["scam_hosts"]
    with pytest.raises(FileNotFoundError):
        list_files(str(root / "nope"))
    (root.parent / "empty").mkdir()
    with pytest.raises(ValueError, match="UT1"):
        list_files(str(root.parent / "empty"))


URLS = [
    "https://www.example-porn.com/video/1",   # listed domain (adult first, gambling also lists it)
    "http://deep.sub.casino.biz/",            # parent domain
    "https://notcasino.biz/",                 # suffix of a label is not a parent domain
    "https://mixed.com/adult/page?x=1",       # url prefix
    "https://mixed.com/adultery",             # not at a path boundary
    "https://mixed.com/other/x",              # url entry was upper-case with trailing slash
    "https://mixed.com/",                     # host alone is not listed
    "http://xxx.net",                         # www. stripped from the entry
    "http://a.wild.org/",                     # *. stripped from the entry
    "http://sexedu.org/",                     # white category not loaded
    "http://phish.cn/login",                  # hosts-file line of the plain list
    "https://q.com/?v=1#top",                 # url entry with a query
    "https://q.com/?v=2",                     # other query
    "https://whole.com/any/page",             # bare-host url entry: a prefix of every URL of that host
    None, "", "garbage",
]
WANT = [
    ("domain", "adult", "example-porn.com"), ("domain", "gambling", "casino.biz"), (None, None, None),
    ("url", "adult", "mixed.com/adult"), (None, None, None), ("url", "adult", "mixed.com/other"),
    (None, None, None), ("domain", "adult", "xxx.net"), ("domain", "adult", "wild.org"), (None, None, None),
    ("domain", "scam", "phish.cn"), ("url", "adult", "q.com/?v=1"), (None, None, None),
    ("url", "adult", "whole.com"), (None, None, None), (None, None, None), (None, None, None),
]


def test_index_matches(ut1):
    root, plain = ut1
    idx = build_index([(str(root), "", []), (str(plain), "", [])])
    kinds, cats, matched = idx.match_batch(URLS, [None] * len(URLS))
    assert list(zip(kinds, cats, matched)) == WANT
    # the host column wins over the URL when given
    assert idx.match_batch(["https://elsewhere.org/"], ["casino.biz"])[1] == ["gambling"]


def test_index_empty_and_first_list_wins():
    idx = DomainIndex.from_entries([])
    assert idx.match_batch(["http://a.com/"], [None]) == ([None], [None], [None])
    idx = DomainIndex.from_entries([("d", "a.com", "first"), ("d", "a.com", "second"), ("d", "b.com", "second")])
    assert len(idx) == 2
    assert idx.match_batch(["http://x.a.com/", "http://b.com"], [None, None])[1] == ["first", "second"]


def test_join_gives_the_same_answers(spark, ut1):
    root, plain = ut1
    specs = [(str(root), "", []), (str(plain), "", [])]
    df = spark.createDataFrame([(str(i), u, None) for i, u in enumerate(URLS)], "doc_id string, url string, host string")
    got = {r.doc_id: (r.block_kind, r.block_category, r.block_match)
           for r in match_join(df, entries_frame(spark, specs)).collect()}
    assert [got[str(i)] for i in range(len(URLS))] == WANT


def test_real_ut1_lists_index_equals_join(spark, shared_data):
    specs = [(str(shared_data / "ut1-blacklists-partial"), "", []),
             (str(shared_data / "ut1-adult-top1m-chadmayfield" / "pi_blocklist_porn_top1m.list"), "adult", []),
             (str(shared_data / "zh-sensitive-lexicon" / "illegal_urls_feifa_wangzhi.txt"), "illegal", [])]
    idx = build_index(specs)
    assert set(idx.categories) == {"adult", "gambling", "mixed_adult", "illegal"}   # sexual_education is "white"
    assert len(idx) > 50_000
    sample = [l.strip() for l in (shared_data / "ut1-blacklists-partial" / "adult" / "urls").read_text().splitlines()][:200]
    top = (shared_data / "ut1-adult-top1m-chadmayfield" / "pi_blocklist_porn_top1m.list").read_text().split()[:200]
    urls = ([f"https://{u}" for u in sample] + [f"https://www.{d}/index.html" for d in top]
            + [f"https://{d.replace('.', '-')}.example.org/" for d in top])       # never listed
    kinds, cats, _ = idx.match_batch(urls, [None] * len(urls))
    assert all(k == "url" for k in kinds[:200])
    assert all(k == "domain" for k in kinds[200:400])               # (gambling / mixed_adult may list them first)
    assert cats[200:400].count("adult") > 150
    assert all(k is None for k in kinds[400:])
    df = spark.createDataFrame([(str(i), u, None) for i, u in enumerate(urls)], "doc_id string, url string, host string")
    got = {r.doc_id: (r.block_kind, r.block_category, r.block_match)
           for r in match_join(df, entries_frame(spark, specs)).collect()}
    assert [got[str(i)] for i in range(len(urls))] == list(zip(*idx.match_batch(urls, [None] * len(urls))))
