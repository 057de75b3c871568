"""Agreement with datatrove: each English rule family's keep/drop vs the matching datatrove filter.

Text: trafilatura's extraction of the trafilatura-eval pages (../shared/data), every page treated as
English. Our side runs through the rules stage (Spark + Delta) under the `datatrove` profile
(conf/datatrove.yaml: datatrove's word units and English thresholds); datatrove's GopherQuality /
GopherRepetition / C4Quality / FineWebQuality filters run in this process with their defaults.
datatrove (and spaCy, its English tokenizer) are bench/test extras; the test skips without them.
"""
from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from corpusmill.jobs.core import tableio
from corpusmill.jobs.stages import rules

FAMILIES = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]


def extracted_texts(shared_data, cache_dir) -> list[tuple[str, str]]:
    """(url, text) of every trafilatura-eval page, extracted once and cached."""
    manifest = shared_data / "trafilatura-eval" / "manifest.jsonl"
    key = hashlib.sha1(manifest.read_bytes()).hexdigest()[:12]
    cached = cache_dir / f"trafilatura-eval-{key}.jsonl"
    if cached.exists():
        return [tuple(json.loads(line)) for line in cached.read_text().splitlines()]
    import trafilatura

    out = []
    for line in manifest.read_text().splitlines():
        m = json.loads(line)
        html = gzip.open(shared_data / "trafilatura-eval" / m["path"]).read()
        out.append((m["url"], trafilatura.extract(html, url=m["url"]) or ""))
    cached.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in out))
    return out


def datatrove_keeps(texts: list[str]) -> dict[str, list[bool]]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    filters = {"gopher_quality": GopherQualityFilter(), "gopher_repetition": GopherRepetitionFilter(),
               "c4": C4QualityFilter(), "fineweb": FineWebQualityFilter()}
    out = {f: [] for f in filters}
    for i, text in enumerate(texts):
        for fam, flt in filters.items():   # one document through all filters, as a datatrove pipeline does
            out[fam].append(flt.filter(Document(text=text, id=str(i))) is True)
    return out


@pytest.mark.shared_data
def test_english_families_agree_with_datatrove(spark, tmp_path, shared_data, request):
    pytest.importorskip("datatrove")
    pytest.importorskip("spacy")
    from conftest import ROOT, make_config
    from test_rules import _doc, write_documents

    config = make_config(tmp_path, conf=str(ROOT / "conf" / "datatrove.yaml"))
    pages = extracted_texts(shared_data, request.config.cache.mkdir("corpusmill-rules"))
    pages = pages[::2]                   # 495 pages keep the test short; bench/bench_rules.py runs all 990
    rows = [dict(_doc(i, text, "en"), url=url) for i, (url, text) in enumerate(pages)]
    write_documents(spark, config, rows)
    res = rules.run(spark, config)
    assert res.status == "success" and res.rows_in == len(rows)
    sig = {r.doc_id: r.reasons for r in tableio.read_table(spark, config, "rule_signals").collect()}
    ours = {fam: [not any(x.startswith(fam + ".") for x in sig[r["doc_id"]]) for r in rows] for fam in FAMILIES}
    theirs = datatrove_keeps([r["text"] for r in rows])
    report = {}
    for fam in FAMILIES:
        agree = sum(a == b for a, b in zip(ours[fam], theirs[fam])) / len(rows)
        report[fam] = (round(agree, 4), sum(theirs[fam]), sum(ours[fam]))
    print("agreement (share, datatrove kept, we kept):", report)
    for fam, (agree, *_rest) in report.items():
        assert agree >= 0.99, (fam, report)
    # the families really drop documents here, so agreement is not just "everything kept"
    assert all(len(rows) - kept > len(rows) * 0.02 for _agree, kept, _ours in report.values())
