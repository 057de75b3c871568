"""Progress lines for long work: the rate / time-left arithmetic on a fake clock, and the Spark
stage hook seeing a real Spark job's tasks."""
from __future__ import annotations

import logging

from test_safety import tiny_model  # noqa: F401 (fixture)

from corpusmill.jobs.core.progress import Progress, SparkTasks, duration, spark_progress
from corpusmill.jobs.core.stage import Counts, run_stage


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_line_says_done_total_rate_and_time_left():
    clock, lines = FakeClock(), []
    p = Progress("rules", 1000, "rows", interval=10, clock=clock, emit=lines.append)
    clock.now += 5
    assert not p.update(100)                     # within the interval: nothing printed
    clock.now += 5
    assert p.update(250)                         # 10 s in: 250 rows, 25 rows/s, 750 left -> 30 s
    assert lines == ["[rules] 250/1,000 rows (25%), 25.0 rows/s, about 30s left"]
    clock.now += 3
    assert not p.update(300)
    clock.now += 187                             # 200 s in: 600 done, 3 rows/s, 400 left
    p.update(600, note="epoch 2/3")
    assert lines[-1] == "[rules] 600/1,000 rows (60%), 3.0 rows/s, about 2m13s left, epoch 2/3"
    clock.now += 200
    p.update(1000)
    assert lines[-1] == "[rules] 1,000/1,000 rows (100%), 2.5 rows/s, 6m40s so far"
    assert p.lines == 3


def test_progress_rate_in_another_unit_and_without_a_total():
    clock, lines = FakeClock(), []
    p = Progress("train-classifier", 400, "batches", rate_unit="examples", rate_scale=32, interval=0, clock=clock,
                 emit=lines.append)
    clock.now += 20
    p.update(100)                                # 5 batches/s = 160 examples/s; 300 batches left -> 60 s
    assert lines == ["[train-classifier] 100/400 batches (25%), 160 examples/s, about 1m00s left"]
    q = Progress("train-lm en: reading", None, "lines", interval=0, clock=clock, emit=lines.append)
    clock.now += 4
    q.update(10_000)
    assert lines[-1] == "[train-lm en: reading] 10,000 lines, 2,500 lines/s"
    assert [duration(x) for x in (0, 59.4, 61, 3599, 3600, 7500)] == ["0s", "59s", "1m01s", "59m59s", "1h00m",
                                                                      "2h05m"]


def test_progress_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CORPUSMILL_PROGRESS_SECONDS", "2.5")
    assert Progress("x").interval == 2.5
    monkeypatch.delenv("CORPUSMILL_PROGRESS_SECONDS")
    assert Progress("x").interval in (10.0, 60.0)       # a terminal or not


def test_stage_progress_reports_spark_tasks(spark, config, caplog, monkeypatch):
    """run_stage runs the body under the Spark progress hook: a real job's tasks show up in the log."""
    monkeypatch.setenv("CORPUSMILL_PROGRESS_SECONDS", "0")      # every poll may print: no timing in the test
    caplog.set_level(logging.INFO, logger="corpusmill")

    def body(ctx):
        ctx.describe("count")
        n = spark.range(0, 10_000, 1, 6).selectExpr("id % 7 AS k").groupBy("k").count().count()
        return Counts(n, n, 0)

    result = run_stage(spark, config, "demo", inputs=["x"], input_fingerprint="progress-test", body=body)
    assert result.status == "success" and result.rows_in == 7
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[demo] ")
             and " tasks (" in r.getMessage()]
    assert lines, [r.getMessage() for r in caplog.records]
    done, total = lines[-1].split(" ")[1].split("/")
    assert int(done.replace(",", "")) == int(total.replace(",", "")) >= 6      # the 6 map tasks at least, all done
    assert "tasks/s" in lines[-1]


def test_spark_tasks_count_only_the_blocks_own_jobs(spark):
    """Jobs of the group from before the block do not count; a skipped (reused) stage adds nothing."""
    sc = spark.sparkContext
    sc.setJobGroup("corpusmill:progress-test", "before")
    df = spark.range(0, 1000, 1, 4).selectExpr("id % 3 AS k").groupBy("k").count()
    df.collect()
    before = SparkTasks(spark, "corpusmill:progress-test")
    assert before.poll() == (0, 0)
    lines = []
    with spark_progress(spark, "probe", "corpusmill:progress-test", interval=0) as p:
        p.emit = lines.append
        spark.range(0, 100, 1, 3).count()
    sc.setJobGroup("corpusmill", "corpusmill")
    assert lines and lines[-1].startswith("[probe] ")
    done, total = lines[-1].split(" ")[1].split("/")
    assert done == total and 3 <= int(total) <= 4          # 3 range tasks (+1 for the final count), nothing older


def test_training_loops_report_progress(tmp_path, caplog, monkeypatch):
    """The causal LM's optimizer steps and KenLM's tokenizing pass print done / total and a rate."""
    from dataclasses import replace

    from test_causal_lm import TINY

    from corpusmill.jobs.training import train_lm
    from corpusmill.jobs.tools.demo_assets import causal_lm_text
    from corpusmill.jobs.training.train_causal_lm import train_causal_lm
    from corpusmill.samplegen import crawl as samplegen

    monkeypatch.setenv("CORPUSMILL_PROGRESS_SECONDS", "0")
    caplog.set_level(logging.INFO, logger="corpusmill")
    train_causal_lm(causal_lm_text(["en"], 4, 0), str(tmp_path / "clm"), replace(TINY, steps=3), source="test")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[train-causal-lm] ")]
    assert [ln.split(" ")[1] for ln in lines] == ["1/3", "2/3", "3/3"] and "tokens/s" in lines[-1]
    assert "loss " in lines[-1]
    lines_in = samplegen.reference_text("en", n_sentences=300, seed=1)
    meta = train_lm.train_language_model(lines_in, "en", str(tmp_path / "lm"), vocab_size=300)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[train-lm en: tokenizing] ")]
    assert lines[-1].startswith(f"[train-lm en: tokenizing] {meta['lines']:,}/{meta['lines']:,} lines (100%)")


def test_classify_reports_scoring_progress(spark, tmp_path, tiny_model, caplog, monkeypatch):
    """`corpusmill classify` scores under the Spark progress hook: its tasks show up in the log."""
    import csv

    from corpusmill.jobs import cli

    monkeypatch.setenv("CORPUSMILL_PROGRESS_SECONDS", "0")
    caplog.set_level(logging.INFO, logger="corpusmill")
    src = tmp_path / "in.csv"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows([(i, f"a river runs to the sea, number {i}") for i in range(20)])
    rc = cli.main(["classify", "--model", tiny_model, "--input", str(src), "--out", str(tmp_path / "out.csv"),
                   "--device", "cpu", "--set", f"storage.root={tmp_path}", "--set", "storage.catalog=none"])
    assert rc == 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[classify] ")]
    assert lines and " tasks (100%)" in lines[-1], [r.getMessage() for r in caplog.records][-20:]
