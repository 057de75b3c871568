"""The rules stage through Spark + Delta: signals, decisions, re-deciding, SQL re-tuning, bad input."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from pyspark.sql import functions as F

from corpusmill.jobs.core import tableio
from corpusmill.jobs.registry import load_config
from corpusmill.jobs.stages import rules
from corpusmill.schemas import clean as clean_schema
from corpusmill.schemas import documents
from corpusmill.schemas import rule_signals as signals_schema
from corpusmill.schemas.base import assert_matches
from corpusmill.udfs.rules.base import Profile
from corpusmill.udfs.rules.gopher import GopherQualityThresholds
from corpusmill.udfs.rules.signals import compute_signals, failed_rules, profile_name

EN_GOOD = """The old mill stood beside the river for nearly two hundred years before the town council decided to restore it.
Local volunteers spent three summers repairing the wooden wheel, replacing rotten beams and clearing silt from the channel.
When the first flour was ground again, children from the village school watched the stones turn with quiet fascination.
Historians believe the building once supplied bread to farms across the whole valley, and that traders travelled from distant markets to buy it.
Today the mill is a small museum that opens on weekends, where visitors can learn how grain becomes flour.
A café in the former storehouse serves cakes baked with that flour, and the profits help pay for maintenance.
The council hopes that the project will encourage other communities to protect their industrial heritage.
Plans for next year include a walking trail along the water and an exhibition about the families who worked there."""
EN_REPEATED = "\n".join(["Buy cheap watches online now and save big today."] * 40)
EN_SHORT = "Too short to be a document."
ZH_GOOD = """这座城市位于长江下游，是中国重要的经济中心之一。
在过去的几十年里，城市的人口和经济都有了很大的发展，许多人从全国各地来到这里工作和生活。
政府不断改善公共交通，新建了多条地铁线路，让居民出行变得更加方便。
老城区保留了许多传统建筑，游客可以在狭窄的街道上品尝地道的小吃。
每年春天，公园里的樱花盛开，吸引了成千上万的市民前来散步和拍照。
大学和研究机构也在这里聚集，为城市的科技创新提供了源源不断的人才。
"""
JA_GOOD = """この町は大きな川のそばにあり、昔から多くの人々が暮らしてきました。
毎朝、市場には新鮮な魚や野菜が並び、店の人たちが元気な声でお客さんを呼んでいます。
子どもたちは近くの小学校に通い、放課後は川原で友だちと遊ぶのが大好きです。
秋になると山の木々が赤や黄色に色づき、遠くから写真を撮りに来る人もいます。
町の図書館では、週末になるとお年寄りが昔の話を聞かせてくれる会が開かれています。
最近は新しい駅ができたので、都会へ働きに行く若者も増えてきました。
"""


def _doc(i: int, text: str, language: str = "en", dump: str = "CC-MAIN-2024-10") -> dict:
    url = f"https://example.org/{i}"
    return dict(
        doc_id=hashlib.sha1(f"web|{dump}|{url}|{i}".encode()).hexdigest()[:32], dump=dump, source_type="web",
        url=url, host="example.org", domain="example.org", fetch_date=dt.datetime(2024, 3, 1), title=f"t{i}",
        text=text, text_bytes=len(text.encode()) if text is not None else None, language=language,
        language_pct=99.0, language_reliable=True, source_file="test.warc.gz", source_record=str(i * 100),
    )


def write_documents(spark, config, rows: list[dict]) -> None:
    df = spark.createDataFrame(rows, documents.SCHEMA)
    tableio.write_table(spark, config, documents.TABLE, df)


def _signals(spark, config) -> dict[str, dict]:
    return {r["doc_id"]: r.asDict() for r in tableio.read_table(spark, config, "rule_signals").collect()}


BASIC = [
    _doc(1, EN_GOOD), _doc(2, EN_REPEATED), _doc(3, EN_SHORT), _doc(4, ZH_GOOD, "zh"), _doc(5, JA_GOOD, "ja"),
    _doc(6, EN_GOOD.replace("river", "river {curly}"), dump="CC-MAIN-2023-50"),
    _doc(7, ZH_GOOD, "zh-Hant"),        # pycld2's code for traditional Chinese: the zh profiles apply
]


@pytest.mark.slow
def test_rules_stage_writes_signals_clean_and_rejected(spark, config):
    write_documents(spark, config, BASIC)
    res = rules.run(spark, config)
    assert res.status == "success"
    assert (res.rows_in, res.rows_out + res.rows_rejected) == (7, 7)

    sig_df = tableio.read_table(spark, config, "rule_signals")
    assert_matches(sig_df.schema, signals_schema.TABLE)
    clean_df = tableio.read_table(spark, config, "clean")
    assert_matches(clean_df.schema, clean_schema.TABLE)
    sig = _signals(spark, config)
    by_i = {int(r["url"].rsplit("/", 1)[1]): r["doc_id"] for r in BASIC}

    # the decision stored in the table is the reference decision over the stored signals
    resolved = config.rules.resolved_thresholds()
    for row in sig.values():
        want = failed_rules(row, resolved[row["threshold_profile"]])
        assert row["reasons"] == want, row["doc_id"]
        assert row["keep"] == (not want)

    good, rep, short, zh, ja, curly, hant = (sig[by_i[i]] for i in range(1, 8))
    assert good["keep"], good["reasons"]
    assert zh["keep"] and zh["signal_profile"] == "zh" and zh["threshold_profile"] == "zh", zh["reasons"]
    assert ja["keep"] and ja["signal_profile"] == "ja", ja["reasons"]
    assert hant["keep"] and hant["signal_profile"] == hant["threshold_profile"] == "zh", hant["reasons"]
    assert good["signal_profile"] == "default" and good["threshold_profile"] == "en"
    assert "gopher_repetition.max_dup_line_frac" in rep["reasons"] and not rep["keep"]
    assert "gopher_quality.min_words" in short["reasons"]
    assert curly["c4_curly_bracket"] and "c4.drop_curly_bracket" in curly["reasons"]
    # Chinese words come from jieba (fewer words than characters), Japanese from character units
    assert zh["words"] < zh["chars"] * 0.8
    assert ja["gq_mean_word_len"] < 1.5

    kept_ids = {r.doc_id for r in clean_df.select("doc_id").collect()}
    assert kept_ids == {d for d, r in sig.items() if r["keep"]}
    rej = {r.doc_id: r for r in tableio.read_table(spark, config, "rejected").where("stage = 'rules'").collect()}
    assert set(rej) == {d for d, r in sig.items() if not r["keep"]}
    assert rej[rep["doc_id"]].reason == "gopher_repetition"
    assert rej[rep["doc_id"]].detail.split(",") == rep["reasons"]
    assert rej[short["doc_id"]].source_record == "300" and rej[short["doc_id"]].url.endswith("/3")

    runs = tableio.read_table(spark, config, "runs").where("stage = 'rules' AND status = 'success'").collect()
    assert len(runs) == 1 and runs[0].rows_in == runs[0].rows_out + runs[0].rows_rejected
    # same inputs, same config: skipped
    assert rules.run(spark, config).status == "skipped"


@pytest.mark.slow
def test_threshold_change_redecides_without_remeasuring(spark, config_factory):
    cfg = config_factory()
    write_documents(spark, cfg, BASIC)
    first = rules.run(spark, cfg)
    before = _signals(spark, cfg)
    assert len({r["signals_run_id"] for r in before.values()}) == 1

    # only a threshold changes: short documents are now fine for Gopher quality
    cfg2 = config_factory("rules.thresholds.en.gopher_quality.min_words=1",
                          "rules.thresholds.en.c4.min_sentences=1", "rules.thresholds.en.fineweb.max_short_line_frac=1")
    second = rules.run(spark, cfg2)
    assert second.status == "success" and second.run_id != first.run_id
    after = _signals(spark, cfg2)
    assert set(after) == set(before)
    for doc_id, row in after.items():
        assert row["signals_run_id"] == first.run_id            # signals kept, not measured again
        assert row["decision_run_id"] == second.run_id          # decision redone
        assert {k: row[k] for k in rules.rs.SIGNAL_NAMES} == {k: before[doc_id][k] for k in rules.rs.SIGNAL_NAMES}
    short = next(r for r in after.values() if r["chars"] == len(EN_SHORT))
    assert "gopher_quality.min_words" in before[short["doc_id"]]["reasons"]
    assert "gopher_quality.min_words" not in short["reasons"]
    assert second.rows_in == second.rows_out + second.rows_rejected

    # a signal setting changes: everything is measured again
    cfg3 = config_factory("rules.signals.default.short_line_chars=10")
    third = rules.run(spark, cfg3)
    assert {r["signals_run_id"] for r in _signals(spark, cfg3).values()} == {third.run_id}


@pytest.mark.slow
def test_sql_retuning_matches_a_real_rerun(spark, config_factory, capsys):
    """'How many documents would be dropped at a duplicate-line threshold of 0.25 instead of 0.30?'"""
    from corpusmill.jobs.cli import main as cli_main

    # documents whose only problem is a repeated short line, at duplicate-line shares around 0.25-0.30
    base = EN_GOOD.replace(", ", ",\n").split("\n")
    rows = []
    for k, dups in enumerate([0, 4, 5, 6, 7, 8]):
        rows.append(_doc(100 + k, "\n".join(base + ["Ok."] * (dups + 1))))
    off = "rules.thresholds.en.fineweb.max_dup_line_char_frac=null"   # any repeated line fails FineWeb's 0.01
    cfg = config_factory(off)
    write_documents(spark, cfg, rows + BASIC)
    rules.run(spark, cfg)
    root = cfg.storage.root
    query = ("SELECT count(*) AS n FROM rule_signals WHERE "
             "size(filter(reasons, r -> r != 'gopher_repetition.max_dup_line_frac')) > 0 "
             "OR (threshold_profile = 'en' AND gr_dup_line_frac > 0.25)")
    assert cli_main(["sql", "--set", f"storage.root={root}", "--json", query]) == 0
    predicted = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n"]

    cfg2 = config_factory(off, "rules.thresholds.en.gopher_repetition.max_dup_line_frac=0.25")
    res = rules.run(spark, cfg2)
    assert res.rows_rejected == predicted
    dropped_now = tableio.read_table(spark, cfg2, "rule_signals").where(~F.col("keep")).count()
    assert dropped_now == predicted
    # and the threshold mattered: more documents are dropped than at 0.30
    dropped_before = sum(1 for r in rows + BASIC
                         if failed_rules(compute_signals(r["text"], _profile(r["language"]), r["language"]),
                                         cfg.rules.resolved_thresholds()[_tprof(r["language"])]))
    assert predicted > dropped_before


def _profile(lang: str) -> Profile:
    profs = load_config().rules.signals
    return profs[profile_name(profs, lang)]


def _tprof(lang: str) -> str:
    return profile_name(("en", "zh", "ja"), lang)


@pytest.mark.slow
def test_bad_input_is_measured_and_recorded(spark, config):
    rows = [
        _doc(1, ""), _doc(2, "   \n\t \n  "), _doc(3, None),
        _doc(4, "😀🎉🔥" * 300), _doc(5, "Mixed текст 混合 テキスト and words " * 40, "un"),
        _doc(6, ("lorem " * 1_700_000).strip()),            # one ~10 MB line
        _doc(7, "ab\n" * 1_000_000),                         # a million short lines
        _doc(8, "\ufffd\ufffd broken \x01 text " * 50 + "Ã© Ã¤ â€™ " * 30),
        _doc(9, EN_GOOD),
    ]
    write_documents(spark, config, rows)
    res = rules.run(spark, config)
    assert res.status == "success" and res.rows_in == 9 and res.rows_out + res.rows_rejected == 9
    sig = {int(r.url.rsplit("/", 1)[1]): r for r in
           tableio.read_table(spark, config, "rule_signals").join(
               tableio.read_table(spark, config, "documents").select("doc_id", "url"), "doc_id").collect()}
    assert sig[1].chars == 0 and sig[1].words == 0 and "gopher_repetition.drop_empty" in sig[1].reasons
    assert sig[2].words == 0 and "fineweb.drop_empty" in sig[2].reasons
    assert sig[3].chars == 0 and not sig[3].keep
    assert sig[4].chr_symbol_frac > 0.9 and "characters.max_symbol_frac" in sig[4].reasons
    assert sig[5].words > 0 and sig[5].signal_profile == "default"
    assert sig[6].max_line_chars > 9_000_000 and "separators.max_line_chars" in sig[6].reasons
    assert sig[7].c4_lines == 1_000_000 and "gopher_repetition.max_dup_line_frac" in sig[7].reasons
    assert sig[8].chr_replacement_frac > 0.001 and sig[8].chr_mojibake_frac > 0.002
    assert {"characters.max_replacement_frac", "characters.max_mojibake_frac",
            "characters.max_control_frac"} <= set(sig[8].reasons)
    assert sig[9].keep
    rej = tableio.read_table(spark, config, "rejected").where("stage = 'rules'")
    assert rej.count() == 8 and rej.where("reason IS NULL OR detail IS NULL").count() == 0


def test_bad_config_names_the_key(config_factory):
    from corpusmill.jobs.core.config import ConfigError

    with pytest.raises(ConfigError, match="rules.thresholds.zh.gopher_quality.min_wordz"):
        config_factory("rules.thresholds.zh.gopher_quality.min_wordz=3")
    with pytest.raises(ConfigError, match="rules.signals.zh.words"):
        config_factory("rules.signals.zh.words=mecab")
    with pytest.raises(ConfigError, match="rules.thresholds.default.c4.min_sentences"):
        config_factory("rules.thresholds.default.c4.min_sentences=lots")


def test_language_thresholds_inherit_default_and_null_switches_off(config_factory):
    cfg = config_factory("rules.thresholds.zh.gopher_quality.max_words=null")
    th = cfg.rules.resolved_thresholds()
    zh, default = th["zh"]["gopher_quality"], th["default"]["gopher_quality"]
    assert isinstance(zh, GopherQualityThresholds)
    assert zh.min_words == default.min_words == 50.0          # not set for zh: default's value
    assert zh.min_mean_word_len == 1.3 and zh.max_words is None and default.max_words == 100000.0
    assert cfg.rules.thresholds["zh"]["gopher_quality"]["min_words"] == rules.INHERIT


NEWS = """The city council voted 7-2 on Tuesday to approve the $4.5 million budget for the new library, ending a debate that had lasted nearly two years.
"This is a good day for our residents," said Mayor Ana Ortiz, who had pushed for the project since 2021.
Opponents, including council member Tom Reed, argued that the money - about 3% of the annual budget - should go to road repairs.
Construction will begin in March; the building, designed by a local firm, is expected to open in the autumn of 2026.
The library will offer 40,000 books, a children's room, study spaces and free Wi-Fi (open 9 a.m. to 9 p.m., seven days a week).
Residents can comment on the plans at two public meetings, on January 14 and January 28, at City Hall."""


def test_default_word_units_keep_punctuated_news_that_datatrove_drops(spark, config_factory, tmp_path):
    """Gopher quality counts whitespace words by default: a news body full of numbers and punctuation keeps
    its 'words with a letter' share above 0.8; the datatrove profile (tokens) drops it on exactly that rule."""
    from conftest import ROOT, make_config

    rows = [_doc(1, NEWS)]
    results = {}
    for name, cfg in (("default", config_factory(f"storage.root={tmp_path / 'default'}")),
                      ("datatrove", make_config(tmp_path / "datatrove", conf=str(ROOT / "conf" / "datatrove.yaml")))):
        write_documents(spark, cfg, rows)
        assert rules.run(spark, cfg).rows_in == 1
        results[name] = next(iter(_signals(spark, cfg).values()))
    assert results["default"]["keep"], results["default"]["reasons"]
    assert results["datatrove"]["reasons"] == ["gopher_quality.min_alpha_words_frac"]
    assert results["datatrove"]["gq_alpha_words_frac"] < 0.8 <= results["default"]["gq_alpha_words_frac"]


def test_a_missing_word_splitter_stops_before_spark(config_factory, monkeypatch, tmp_path, capsys):
    """docs/errors.md's row, word for word: the run stops at its checks, before Spark starts."""
    import importlib.util

    from corpusmill.jobs import cli
    from corpusmill.jobs.pipeline import preflight

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rjieba" else real(name, *a))
    monkeypatch.setattr(cli, "get_spark", lambda *a, **k: pytest.fail("Spark started"))
    rc = cli.main(["run", "--stages", "rules", "--set", f"storage.root={tmp_path}", "--set", "storage.catalog=none"])
    assert rc == 2 and capsys.readouterr().err.strip() == (
        "corpusmill: config error: rules.signals.zh.words: rjieba needs the Python package 'rjieba', which is not "
        "installed (pip install rjieba, or set words: jieba)")
    preflight(config_factory("rules.signals.zh.words=jieba"), ["rules"])      # the reference segmenter is there
