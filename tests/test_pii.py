"""Personal data: the finders and validators (plain Python) and the `pii` stage through Spark and Delta
(counts and spans in pii_signals, placeholders in redacted, documents over max_finds rejected, bounded
work on huge documents)."""
from __future__ import annotations

import pytest

from corpusmill.jobs.core import tableio
from corpusmill.udfs.pii import detect
from corpusmill.udfs.pii.detect import find_all, luhn_ok, valid_card, valid_id_number
from corpusmill.udfs.pii.redact import counts, redact

PLACE = {"email": "<EMAIL>", "id_number": "<ID>", "card": "<CARD>", "ip": "<IP>", "phone": "<PHONE>"}


def _found(text: str, **kw) -> list[tuple[str, str]]:
    return [(text[f.start:f.end], f.kind) for f in find_all(text, **kw)]


@pytest.mark.parametrize("text,want", [
    ("write to jane.roe+news@mail.example.co.uk today", [("jane.roe+news@mail.example.co.uk", "email")]),
    ("联系邮箱：zhangwei@163.com。", [("zhangwei@163.com", "email")]),
    ("13912345678@qq.com is one address", [("13912345678@qq.com", "email")]),
    ("icon@2x.png and user@localhost and a@b.c", []),
    ("ping 8.8.8.8 or 2606:4700:4700::1111 now", [("8.8.8.8", "ip"), ("2606:4700:4700::1111", "ip")]),
    ("router 192.168.1.1, loopback 127.0.0.1, ::1, fe80::1", []),
    ("Call +44 20 7946 0958 or (212) 555-0199 or 212-555-0199", [("+44 20 7946 0958", "phone"),
                                                              ("(212) 555-0199", "phone"), ("212-555-0199", "phone")]),
    ("手机13812345678，或 138-1234-5678，座机010-62345678", [("13812345678", "phone"), ("138-1234-5678", "phone"),
                                                       ("010-62345678", "phone")]),
    ("身份证号11010519491231002X。", [("11010519491231002X", "id_number")]),
    ("card 4111 1111 1111 1111 or 378282246310005", [("4111 1111 1111 1111", "card"), ("378282246310005", "card")]),
])
def test_each_kind_is_found(text, want):
    assert _found(text) == want


@pytest.mark.parametrize("text", [
    "version 1.2.3.4", "v2.0.0.1 released", "numpy==1.21.4.2", 'AssemblyVersion("3.1.4.1")', "## 4.2.0.1\nfixes",
    "1.3.6.1.4.1.311 is an OID", "build 5.6.7.8-beta", "3.2.1.0 (2020-01-01)",                     # version numbers
    "4111111111111112", "1234 5678 9012 3456", "11010519491231002Y", "110105194902300023",          # bad checks / dates
    "12:30:45", "std::vector<int> a::b", "2024-01-15", "ISBN 978-3-16-148410-0", "order 20240115123456789",
    "1386543210987654321 is a long number",
])
def test_look_alikes_are_not_found(text):
    assert _found(text) == []


def test_validators():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert valid_card("5500-0000-0000-0004") and not valid_card("5500-0000 0000-0004")   # mixed separators
    assert valid_id_number("11010519491231002X") and not valid_id_number("11010519491231002x".replace("x", "1"))
    assert detect.id_check_char("11010519491231002") == "X"


def test_overlaps_resolved_and_redaction():
    text = "Mail 13812345678@139.com, call 13812345678, from 8.8.4.4."
    finds = find_all(text)
    assert [f.kind for f in finds] == ["email", "phone", "ip"]
    assert redact(text, finds, PLACE) == "Mail <EMAIL>, call <PHONE>, from <IP>."
    assert counts(finds) == {"email": 1, "id_number": 0, "card": 0, "ip": 1, "phone": 1}


def test_work_is_bounded_on_huge_and_crowded_documents():
    import tracemalloc

    crowded = " ".join(f"user{i}@example.com" for i in range(10_000))
    assert len(find_all(crowded, limit=1000)) == 1000
    huge = "The committee met again on Tuesday and agreed the budget. " * 180_000 + "Mail ann@example.org."
    assert len(huge) > 10_000_000
    tracemalloc.start()
    found = find_all(huge, limit=1000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f.kind for f in found] == ["email"] and peak < 1_000_000        # no copy of the 10 MB text
    near_misses = ("a" * 200 + "@" + "1" * 300 + ". ") * 2_000              # long runs no pattern may backtrack over
    assert find_all(near_misses, limit=1000) == []


@pytest.mark.slow
def test_stage_redacts_drops_and_accounts_for_every_document(spark, config_factory):
    import datetime as dt

    from corpusmill.jobs.stages import pii
    from corpusmill.schemas import documents as documents_schema

    config = config_factory("pii.max_finds=3")
    texts = {"plain": "Nothing personal here at all.",
             "one": "Write to ann@example.org or call +1 (415) 555-2671.",
             "zh": "联系人：王先生，手机13912345678，身份证11010519491231002X。",
             "many": " ".join(f"staff{i}@example.edu" for i in range(4))}
    base = {c: None for c in documents_schema.TABLE.column_names}
    rows = [dict(base, doc_id=k, dump="d", text=t, text_bytes=len(t.encode()), language="en", url=f"https://e.x/{k}",
                 fetch_date=dt.datetime(2024, 1, 1), source_file="s", source_record=k) for k, t in texts.items()]
    tableio.write_table(spark, config, documents_schema.TABLE, spark.createDataFrame(rows, documents_schema.SCHEMA))
    res = pii.run(spark, config)
    assert (res.rows_in, res.rows_out, res.rows_rejected) == (4, 3, 1)
    sig = {r.doc_id: r for r in tableio.read_table(spark, config, "pii_signals").collect()}
    assert (sig["one"].n_email, sig["one"].n_phone, sig["one"].n_total) == (1, 1, 2)
    assert (sig["zh"].n_phone, sig["zh"].n_id_number) == (1, 1) and sig["many"].n_email == 4 and not sig["many"].keep
    assert [(s.start, s.end, s.kind) for s in sig["one"].spans] == [(9, 24, "email"), (33, 50, "phone")]
    out = {r.doc_id: r for r in tableio.read_table(spark, config, "redacted").collect()}
    assert out["one"].text == "Write to <EMAIL> or call <PHONE>." and out["one"].text_bytes == len(out["one"].text)
    assert out["zh"].text == "联系人：王先生，手机<PHONE>，身份证<ID_NUMBER>。" and out["plain"].text == texts["plain"]
    rej = tableio.read_table(spark, config, "rejected").collect()
    assert [(r.doc_id, r.reason) for r in rej] == [("many", "pii")] and "email=4" in rej[0].detail
