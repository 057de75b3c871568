"""`corpusmill calibrate-rules`: the cut (FineWeb-2's method), its guards, the tool through Spark, and a
reference too small to calibrate from."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from corpusmill.jobs import cli
from corpusmill.jobs.registry import load_config
from corpusmill.udfs.rules import calibrate as cal
from corpusmill.udfs.rules.base import Profile
from corpusmill.udfs.rules.signals import compute_signals

SENTENCES = [
    "这座城市位于长江下游，是重要的经济中心之一。", "过去几十年里，城市的人口和经济都有了很大的发展。",
    "政府不断改善公共交通，新建了多条地铁线路。", "老城区保留了许多传统建筑，游客可以品尝地道的小吃。",
    "每年春天，公园里的樱花盛开，吸引了很多市民。", "大学和研究机构聚集在这里，为科技创新提供人才。",
    "河边的步道修好以后，晚上散步的人越来越多。", "图书馆周末开放到晚上九点，借书的人排起了长队。",
    "这家工厂建于上世纪五十年代，如今改成了博物馆。", "农民在山坡上种茶，每年清明前后采摘新茶。",
    "气象台预报明天有小雨，气温会下降五度左右。", "学校组织学生参观科技馆，了解航天的历史。",
    "他在这里工作了二十年，见证了街道的变化。", "市场上的蔬菜价格比上个月便宜了一些。",
    "新的医院明年投入使用，可以缓解看病难的问题。", "志愿者每个周末都去社区帮助独居的老人。",
]


def reference_docs(n: int, seed: int = 0) -> list[str]:
    """Chinese documents of 3-7 lines of 1-3 sentences each (line rules have something to read)."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        lines = ["".join(rng.sample(SENTENCES, rng.randint(1, 3))) + ("" if rng.random() < 0.85 else f"（{rng.randint(1, 99)}）")
                 for _ in range(rng.randint(3, 7))]
        docs.append("\n".join(lines))
    return docs


def write_jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    return path


def _args(root: Path) -> list[str]:
    return ["--set", f"storage.root={root}", "--set", "storage.catalog=none", "--set", "spark.master=local[2]"]


def test_cut_drops_at_most_the_share_and_rounds_away_from_the_reference():
    rng = np.random.default_rng(0)
    for n in (1000, 1234, 5000):
        v = np.round(rng.gamma(2.0, 0.05, n), 4)
        for loss in (0.005, 0.01, 0.05):
            hi, lo = cal.cut(v, ">", loss), cal.cut(v, "<", loss)
            assert (v > hi).mean() <= loss and (v < lo).mean() <= loss
            assert hi == round(hi, 3) and lo == round(lo, 3)
            assert (v > hi - 0.002).mean() > loss * 0.5         # tight: not just any safe value
    assert cal.cut(np.arange(100.0), ">", 0.05) == 94.0          # 5 values (95..99) above 94
    assert cal.cut(np.arange(100.0), "<", 0.05) == 5.0           # 5 values (0..4) below 5


def test_rules_the_reference_cannot_speak_for_keep_their_limits():
    n = 1200
    single_line = {"fw_lines": np.ones(n), "fw_newline_word_ratio": np.zeros(n),
                   "gq_hash_ratio": np.where(np.arange(n) < 5, 0.01, 0.0),
                   "gq_alpha_words_frac": np.linspace(0.5, 1.0, n), "gq_stop_words": np.full(n, np.nan)}
    props = {p.rule: p for p in cal.propose(
        single_line, {"fineweb.max_newline_word_ratio": 0.3, "gopher_quality.max_hash_ratio": 0.1,
                      "gopher_quality.min_alpha_words_frac": 0.8, "gopher_quality.min_stop_words": 2.0},
        ["fineweb.max_newline_word_ratio", "gopher_quality.max_hash_ratio", "gopher_quality.min_alpha_words_frac",
         "gopher_quality.min_stop_words"], max_loss=0.01, min_documents=1000, min_lines=3)}
    assert "3+ lines" in props["fineweb.max_newline_word_ratio"].note          # one-line documents: no say on newlines
    assert "median" in props["gopher_quality.max_hash_ratio"].note             # 0 for almost all: no tail
    assert "have a value" in props["gopher_quality.min_stop_words"].note       # no stop-word list
    alpha = props["gopher_quality.min_alpha_words_frac"]
    assert alpha.calibrated and alpha.reference_loss <= 0.01 and 0.5 <= alpha.proposed < 0.51
    assert [p.rule for p in props.values() if p.calibrated] == ["gopher_quality.min_alpha_words_frac"]


def test_calibrate_rules_writes_the_block_spark_and_plain_python_agree(spark, tmp_path, capsys):
    texts = reference_docs(260)
    ref = write_jsonl(tmp_path / "zh.jsonl", texts + ["An English line that is not Chinese at all, and is skipped."])
    out = tmp_path / "conf" / "zh-calibrated.yaml"
    rc = cli.main(["calibrate-rules", *_args(tmp_path / "store"), "--set", "calibrate_rules.min_documents=200",
                   "--language", "zh", "--reference", str(ref), "--out", str(out)])
    printed = capsys.readouterr()
    assert rc == 0, printed.err[-2000:]
    assert "260 reference documents (of 261 read)" in printed.out
    block = yaml.safe_load(out.read_text())["rules"]["thresholds"]["zh"]
    cfg = load_config(str(out))                                  # the file is a working --conf overlay
    got = {f"{fam}.{k}": v for fam, rules in block.items() for k, v in rules.items()}
    assert got and all(getattr(cfg.rules.resolved_thresholds()["zh"][r.split(".")[0]], r.split(".")[1]) == v
                       for r, v in got.items())

    # the same proposals from the plain signal functions: the Spark path measured what they measure
    base = load_config()
    prof = Profile(**base.rules.signal_profiles()["zh"])
    sigs = [compute_signals(t, prof, "zh") for t in texts]
    names = {cal.numeric_rules()[r][0] for r in base.calibrate_rules.rules} | {cal.LINES_SIGNAL}
    cols = {n: np.array([np.nan if s[n] is None else float(s[n]) for s in sigs]) for n in names}
    cur = {r: None for r in cal.numeric_rules()}
    resolved = base.rules.resolved_thresholds()["zh"]
    for r in cur:
        v = getattr(resolved[r.split(".")[0]], r.split(".")[1])
        cur[r] = None if v is None else float(v)
    want = {p.rule: p.proposed for p in cal.propose(cols, cur, base.calibrate_rules.rules, max_loss=0.01,
                                                     min_documents=200, min_lines=3) if p.calibrated}
    assert got == want
    for rule, limit in got.items():                              # each drops at most 1% of the reference
        signal, op = cal.numeric_rules()[rule]
        assert cal.fails(cols[signal][~np.isnan(cols[signal])], op, limit).mean() <= 0.01


def test_a_reference_too_small_stops_with_one_line_and_writes_nothing(spark, tmp_path, capsys):
    ref = write_jsonl(tmp_path / "zh.jsonl", reference_docs(999, seed=1))
    out = tmp_path / "zh.yaml"
    out.write_text("# an earlier calibration, kept\n")
    for lang, n in (("zh", "999 reference documents"), ("ja", "0 reference documents")):   # ja: no text in it
        rc = cli.main(["calibrate-rules", *_args(tmp_path / "store"), "--language", lang, "--reference", str(ref),
                       "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and err == [f"corpusmill: reference too small: {n} in {lang} (of 999 read); calibrating "
                                   f"needs at least 1,000 (calibrate_rules.min_documents): give more {lang} text"]
        assert out.read_text() == "# an earlier calibration, kept\n"        # docs/errors.md's row, word for word
    rc = cli.main(["calibrate-rules", *_args(tmp_path / "store"), "--language", "zh", "--reference",
                   str(tmp_path / "missing.jsonl"), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "missing.jsonl" in err[0]


def test_bad_calibration_settings_name_the_key():
    from corpusmill.jobs.core.config import ConfigError

    with pytest.raises(ConfigError, match="calibrate_rules.rules: 'c4.drop_lorem_ipsum'"):
        load_config(None, ["calibrate_rules.rules=[c4.drop_lorem_ipsum]"])
    with pytest.raises(ConfigError, match="calibrate_rules.max_loss"):
        load_config(None, ["calibrate_rules.max_loss=0.7"])
