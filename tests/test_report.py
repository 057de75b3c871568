"""The report renders in a real browser (headless Chromium) with every plot image loaded."""
import re
import shutil
import subprocess

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.stage import Counts, run_stage
from corpusmill.jobs.tools import report
from corpusmill.schemas import clean, documents
from corpusmill.schemas.base import Column, table

SIGNALS = table("toy_signals", "test signals", Column("doc_id", StringType(), "id"),
                Column("score", DoubleType(), "a score"), Column("words", LongType(), "a count"))


def _build_tables(spark, config):
    rows = [dict(doc_id=f"{i:032x}", dump="CC-MAIN-2024-10", source_type="web", url=f"https://d{i % 3}.com/{i}",
                 host=f"d{i % 3}.com", domain=f"d{i % 3}.com", fetch_date=None, title=None, text="x" * i,
                 text_bytes=i, language=["en", "zh"][i % 2], language_pct=90.0, language_reliable=True,
                 source_file="f", source_record=str(i)) for i in range(40)]
    docs = spark.createDataFrame(rows, documents.SCHEMA)

    def body(ctx):
        v = ctx.write_output(documents.TABLE, docs.where("text_bytes >= 10"))
        n = ctx.write_rejected(docs.where("text_bytes < 10").select("doc_id", "url", F.lit("too_short").alias("reason")))
        return Counts(40, ctx.rows_written("documents"), n, v)

    run_stage(spark, config, "format", inputs=["x"], input_fingerprint="x", body=body, config_section="demo")
    tableio.write_table(spark, config, SIGNALS, docs.select("doc_id", (F.col("text_bytes") / 40).alias("score"),
                                                            F.col("text_bytes").alias("words")))


def test_report_collects_real_figures(spark, config):
    _build_tables(spark, config)
    data = report.collect(spark, config)
    (fmt,) = data["stages"]
    assert (fmt["stage"], fmt["rows_in"], fmt["rows_out"], fmt["rows_rejected"]) == ("format", 40, 30, 10)
    assert fmt["bytes_out"] == sum(range(10, 40))
    assert data["reasons"]["format"] == [("too_short", 10)]
    assert dict(data["dists"]["documents.language"]) == {"en": 15, "zh": 15}
    assert {(s["table"], s["column"]) for s in data["signals"]} == {("toy_signals", "score"), ("toy_signals", "words")}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (scripts/setup.sh installs it)")
def test_report_renders_in_headless_chromium(spark, config, tmp_path):
    _build_tables(spark, config)
    html_path, md_path = report.write_report(spark, config)
    page = html_path.read_text()
    n_img = len(re.findall(r"<img ", page))
    assert n_img >= 6 and "src='data:image/png;base64," in page
    assert "| format | 40 | 30 | 10 |" in md_path.read_text()
    p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        f"--user-data-dir={tmp_path / 'chrome'}", "--virtual-time-budget=10000", "--dump-dom",
                        html_path.as_uri()], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    m = re.search(r'data-images="(\d+)/(\d+)"', p.stdout)
    assert m, p.stdout[:500]
    assert int(m.group(2)) == n_img and m.group(1) == m.group(2)     # every plot decoded and loaded


def test_threshold_lines_come_from_the_stage_configs(config_factory):
    th = report._thresholds(config_factory("rules.thresholds.default.gopher_quality.min_words=77",
                                           "quality.thresholds.default.advertisement=0.65"))
    words = th["rule_signals"]["gq_nonsymbol_words"]            # a lower and an upper limit on one signal
    assert [v for v, _ in words] == [77.0, 100000.0]
    assert words[0][1].startswith("gopher_quality.min_words min 77 (default")
    assert th["quality_signals"]["p_advertisement"] == [(0.65, "advertisement drop at 0.65 (default)")]
    assert th["safety_signals"]["p_toxicity"][0][0] == 0.8
    assert th["safety_signals"]["word_per_1k"] == [(3.0, "word_per_1k drop at 3 (default; ja: 2; ko: 2; th: 2; zh: 2)")]
    assert th["code_samples"]["token_count"][0][0] == 32768.0
    # rules switched off in default draw no line; boolean rules (c4.drop_lorem_ipsum) never do
    off = report._thresholds(config_factory("rules.thresholds.default.gopher_quality.max_words=null"))
    assert [v for v, _ in off["rule_signals"]["gq_nonsymbol_words"]] == [50.0]
    assert "c4_lorem_ipsum" not in off["rule_signals"]


def test_report_marks_thresholds_on_the_histograms(spark, config):
    from corpusmill.schemas import quality_signals

    rows = [dict(doc_id=f"{i:032x}", dump="d", language="en", p_advertisement=i / 40, p_disfluent=0.1, keep=i < 36,
                 reasons=[] if i < 36 else ["advertisement"]) for i in range(40)]
    tableio.write_table(spark, config, quality_signals.TABLE, spark.createDataFrame(rows, quality_signals.SCHEMA))
    data = report.collect(spark, config)
    sig = {(s["table"], s["column"]): s for s in data["signals"]}
    assert sig[("quality_signals", "p_advertisement")]["thresholds"] == [(0.9, "advertisement drop at 0.9 (default)")]
    assert sig[("quality_signals", "p_disfluent")]["thresholds"][0][0] == 0.9
    _, md = report.render(data, config)
    assert "- `quality_signals.p_advertisement`: advertisement drop at 0.9 (default)" in md
    with_line = report._hist([0.1, 0.5, 0.95], "x", [(0.9, "t")])
    assert with_line != report._hist([0.1, 0.5, 0.95], "x", [])       # the line is drawn


@pytest.mark.slow
def test_report_shows_example_documents_under_the_top_reasons(spark, config):
    """Each stage's top reasons (5 at most) get 2 of the documents dropped for them: id, url, the start of
    the text (from the stage's input), escaped in the HTML and on one line in the Markdown."""
    reasons = ["c4", "gopher_quality", "gopher_repetition", "fineweb", "characters", "separators"]
    rows = [dict(doc_id=f"{i:032x}", dump="CC-MAIN-2024-10", source_type="web", url=f"https://d.com/{i}", host="d.com",
                 domain="d.com", fetch_date=None, title=None, text=f"<b>doc {i}</b> " + "words " * 80,
                 text_bytes=500, language="en", language_pct=90.0, language_reliable=True, source_file="f",
                 source_record=str(i)) for i in range(30)]
    docs = spark.createDataFrame(rows, documents.SCHEMA)
    tableio.write_table(spark, config, documents.TABLE, docs)
    # reason k drops 6 - k documents (c4 the most, separators one), the other 9 are kept
    counts = {r: 6 - k for k, r in enumerate(reasons)}
    reason_of = [r for r in reasons for _ in range(counts[r])]
    dropped = spark.createDataFrame([(rows[i]["doc_id"], rows[i]["url"], r) for i, r in enumerate(reason_of)],
                                    "doc_id string, url string, reason string")

    def body(ctx):
        ids = dropped.select("doc_id")
        v = ctx.write_output(clean.TABLE, docs.join(ids, "doc_id", "left_anti"))
        n = ctx.write_rejected(dropped.select("doc_id", "url", "reason",
                                              F.concat(F.col("reason"), F.lit(".rule")).alias("detail")))
        return Counts(30, ctx.rows_written("clean"), n, v)

    run_stage(spark, config, "rules", inputs=["documents"], input_fingerprint="x", body=body)
    data = report.collect(spark, config)
    assert data["reasons"]["rules"] == [(r, counts[r]) for r in reasons]
    ex = data["examples"]["rules"]
    assert list(ex) == reasons[:5]                        # the top 5 reasons, not the sixth
    texts = {r["doc_id"]: r["text"] for r in rows}
    for reason, docs_ in ex.items():
        assert len(docs_) == 2 and all(d["reason"] == reason for d in docs_)
        for d in docs_:
            assert d["text"] == texts[d["doc_id"]][:200] and d["truncated"] and d["url"].startswith("https://d.com/")
    page, md = report.render(data, config)
    first = ex["c4"][0]
    assert f"<code>{first['doc_id']}</code>" in page and f"<a href='{first['url']}'>" in page
    assert f"&lt;b&gt;doc {int(first['doc_id'], 16)}&lt;/b&gt;" in page and "<b>doc" not in page
    assert "<h4><code>c4</code> (6 documents)</h4>" in page and "<code>separators</code>" not in page
    line = next(ln for ln in md.splitlines() if first["doc_id"] in ln)
    assert line.startswith(f"  - `c4`: `{first['doc_id']}` <{first['url']}> — &lt;b&gt;doc ")
