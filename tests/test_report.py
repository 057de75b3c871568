"""The report renders in a real browser (headless Chromium) with every plot image loaded."""
import re
import shutil
import subprocess

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType

from jobs import report, tableio
from jobs.stage import Counts, run_stage
from schemas import documents
from schemas.base import Column, table

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
