"""`corpusmill show` on a store the real format and rules stages wrote from the sample crawl: the documents
it prints are the ones `rejected` (or the kept table) holds, with their signals and their text cut."""
from __future__ import annotations

import json

import pytest
from conftest import make_config
from pyspark.sql import functions as F

from corpusmill.jobs import cli
from corpusmill.jobs.core import tableio
from corpusmill.jobs.stages import format as format_stage
from corpusmill.jobs.stages import rules
from corpusmill.jobs.tools import show
from corpusmill.samplegen.crawl import generate_crawl
from corpusmill.schemas import documents

pytestmark = pytest.mark.slow      # the real format and rules stages on 80 pages, once for the module


@pytest.fixture(scope="module")
def store(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("show") / "store"
    generate_crawl(str(root / "samples" / "crawl"), seed=0, pages_per_dump=40)
    config = make_config(root, "format.inputs=[samples/crawl/*/*.warc.gz]")
    assert format_stage.run(spark, config).status == "success"
    assert rules.run(spark, config).status == "success"
    return root, config


def _show(store, capsys, *args: str) -> tuple[int, str, str]:
    root, _ = store
    rc = cli.main(["show", *args, "--set", f"storage.root={root}", "--set", "storage.catalog=none",
                   "--set", "spark.master=local[2]", "--set", "format.text_sources=[]"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _json(store, capsys, *args: str) -> list[dict]:
    rc, out, err = _show(store, capsys, *args, "--json")
    assert rc == 0, err[-2000:]
    return [json.loads(line) for line in out.splitlines()]


def _rejected(spark, config, where: str) -> dict[str, dict]:
    df = tableio.read_table(spark, config, "rejected").where(f"stage = 'rules' AND ({where})")
    return {r["doc_id"]: r.asDict() for r in df.collect()}


def _texts(spark, config) -> dict[str, str]:
    return {r["doc_id"]: r["text"] for r in tableio.read_table(spark, config, "documents").collect()}


def test_dropped_documents_for_a_reason_prefix(spark, store, capsys):
    _, config = store
    gopher = _rejected(spark, config, "reason LIKE 'gopher%'")
    assert len(gopher) >= 4 and {r["reason"] for r in gopher.values()} >= {"gopher_repetition"}
    docs = _json(store, capsys, "--stage", "rules", "--reason", "gopher", "-n", "4", "--chars", "120")
    assert len(docs) == 4 and len({d["doc_id"] for d in docs}) == 4
    texts = _texts(spark, config)
    for d in docs:
        row = gopher[d["doc_id"]]                       # dropped by rules, for a gopher_* reason
        assert d["reason"] == row["reason"] and d["reason"].startswith("gopher_") and not d["kept"]
        assert d["detail"] == row["detail"] and d["url"] == row["url"]
        full = texts[d["doc_id"]]
        assert d["text"] == full[:120] and d["text_chars"] == len(full) and d["truncated"] == (len(full) > 120)
        sig = d["signals"]                              # rule_signals of this very document
        assert sig["chars"] == len(full) and "gr_dup_line_frac" in sig and "c4_sentences" in sig
        assert "doc_id" not in sig and "text" not in sig
    # the sample: the matching rows ordered by xxhash64(doc_id, seed)
    want = [r["doc_id"] for r in tableio.read_table(spark, config, "rejected")
            .where("stage = 'rules' AND reason LIKE 'gopher%'")
            .orderBy(F.xxhash64(F.col("doc_id"), F.lit(0)), "doc_id").limit(4).collect()]
    assert [d["doc_id"] for d in docs] == want


def test_same_seed_same_sample_other_seed_other_order(store, capsys):
    a = [d["doc_id"] for d in _json(store, capsys, "--stage", "rules", "-n", "5", "--seed", "7")]
    b = [d["doc_id"] for d in _json(store, capsys, "--stage", "rules", "-n", "5", "--seed", "7")]
    c = [d["doc_id"] for d in _json(store, capsys, "--stage", "rules", "-n", "5", "--seed", "8")]
    assert a == b and len(a) == 5 and c != a


def test_text_output_is_readable(store, capsys):
    rc, out, err = _show(store, capsys, "--stage", "rules", "--reason", "gopher_repetition", "-n", "2",
                         "--chars", "40")
    assert rc == 0, err[-2000:]
    blocks = out.split("── ")[1:]
    assert len(blocks) == 2 and blocks[0].startswith("1/2  rules  ") and "[dropped: gopher_repetition]" in blocks[0]
    for b in blocks:
        assert "\nurl:      http" in b and "\ndetail:   gopher_repetition." in b and "\nsignals:  " in b
        text = b.split(" chars, the first 40 shown):\n", 1)[1]
        shown = "\n".join(ln[4:] for ln in text.rstrip("\n").splitlines())
        assert shown.endswith(" …") and len(shown) == 40 + 2


def test_kept_documents_are_in_the_output_table(spark, store, capsys):
    _, config = store
    clean = {r["doc_id"] for r in tableio.read_table(spark, config, "clean").select("doc_id").collect()}
    docs = _json(store, capsys, "--stage", "rules", "--kept", "-n", "3", "--chars", "50")
    assert len(docs) == 3
    for d in docs:
        assert d["doc_id"] in clean and d["kept"] and d["reason"] is None
        assert d["signals"]["words"] > 0 and len(d["text"]) <= 50
    assert not {d["doc_id"] for d in docs} & set(_rejected(spark, config, "true"))


def test_language_filter_and_rule_names_in_the_detail(spark, store, capsys):
    _, config = store
    langs = {r["language"]: r["n"] for r in tableio.read_table(spark, config, "rule_signals").where("NOT keep")
             .groupBy("language").agg(F.count("*").alias("n")).collect()}
    lang = max(langs, key=langs.get)
    docs = _json(store, capsys, "--stage", "rules", "--lang", lang, "-n", "50")
    assert len(docs) == langs[lang] and {d["language"] for d in docs} == {lang}
    # a rule with a dot matches the detail's list, also behind another first reason
    rows = _rejected(spark, config, "true").values()
    rule = max((item for r in rows for item in r["detail"].split(",")),
               key=lambda x: sum(x in r["detail"].split(",") for r in rows))
    want = {r["doc_id"] for r in rows if rule in r["detail"].split(",")}
    got = _json(store, capsys, "--stage", "rules", "--reason", rule, "-n", "500")
    assert {d["doc_id"] for d in got} == want


def test_unknown_reason_lists_the_stages_reasons(spark, store, capsys):
    _, config = store
    rc, out, err = _show(store, capsys, "--stage", "rules", "--reason", "nonesuch")
    assert rc == 2 and out == ""
    assert "no document dropped by rules has a reason matching 'nonesuch'; its reasons: " in err
    counts = {}
    for r in _rejected(spark, config, "true").values():
        counts[r["reason"]] = counts.get(r["reason"], 0) + 1
    for reason, n in counts.items():
        assert f"{reason} ({n:,})" in err
    rc, _, err = _show(store, capsys, "--stage", "nosuchstage")
    assert rc == 2 and "unknown stage 'nosuchstage'" in err
    rc, _, err = _show(store, capsys, "--stage", "rules", "--kept", "--reason", "c4")
    assert rc == 2 and "--reason selects dropped documents" in err


def test_format_drops_have_no_text_but_their_ids(spark, store, capsys):
    _, config = store
    ids = {r["doc_id"]: r["reason"] for r in tableio.read_table(spark, config, "rejected")
           .where("stage = 'format'").collect()}
    docs = _json(store, capsys, "--stage", "format", "-n", "3")
    assert docs and all(ids[d["doc_id"]] == d["reason"] and d["text"] is None and d["signals"] == {} for d in docs)


def test_text_comes_from_the_input_as_the_stage_read_it(spark, config):
    """The input is rewritten after the stage ran: the dropped document's text is the one it judged."""
    from test_rules import EN_GOOD, EN_REPEATED, _doc, write_documents

    write_documents(spark, config, [_doc(1, EN_GOOD), _doc(2, EN_REPEATED)])
    assert rules.run(spark, config).status == "success"
    dropped = _doc(2, EN_REPEATED)["doc_id"]
    changed = tableio.read_table(spark, config, "documents").withColumn("text", F.lit("rewritten later"))
    tableio.write_table(spark, config, documents.TABLE, changed.localCheckpoint())
    (d,) = show.sample(spark, config, "rules", n=5, chars=10_000)
    assert d["doc_id"] == dropped and d["text"] == EN_REPEATED and d["reason"] == "gopher_repetition"
    (k,) = show.sample(spark, config, "rules", kept=True, chars=10_000)
    assert k["text"] == EN_GOOD                    # kept: what `clean` holds
