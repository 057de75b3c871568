"""Crash safety: SIGKILL the driver in the middle of a stage, run again, and check the books.

Run A processes dump 1. Run B adds dump 2: `format` re-runs and completes, then the driver is
killed inside `rules`, right before it commits `clean` (CORPUSMILL_FAULT pauses it there, so the
kill lands mid-stage on every machine, however fast). While B is stuck, an independent reader
(the `deltalake` package) still sees A's `clean`. Run C repeats B's command: `format` is skipped,
`rules` is redone, no table holds duplicate rows and `runs` adds up.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from jobs import samplegen


def _cmd(conf, inputs):
    return [sys.executable, "-m", "jobs.cli", "run", "--conf", str(conf), "--stages", "format,rules", "--input", inputs]


def _run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    return p.stdout + p.stderr


def test_sigkill_mid_stage_then_resume(tmp_path):
    from deltalake import DeltaTable

    crawl = tmp_path / "crawl"
    samplegen.generate_crawl(str(crawl), seed=3, pages_per_dump=25)
    root = tmp_path / "store"
    conf = tmp_path / "c.yaml"
    conf.write_text(f"storage:\n  root: {root}\nspark:\n  master: local[2]\n  driver_memory: 2g\n"
                    f"  shuffle_partitions: 4\nformat:\n  text_sources: []\n")
    dump1 = f"{crawl}/CC-MAIN-2024-10/*.warc.gz"
    both = f"{crawl}/*/*.warc.gz"
    wh = root / "warehouse"

    _run(_cmd(conf, dump1))                                                   # run A
    clean_a = DeltaTable(str(wh / "clean"))
    version_a, rows_a = clean_a.version(), clean_a.to_pyarrow_table().num_rows

    env = dict(os.environ, CORPUSMILL_FAULT="pause:rules:clean")             # run B, killed mid-rules
    log_path = tmp_path / "b.log"
    with open(log_path, "w") as log:
        b = subprocess.Popen(_cmd(conf, both), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            deadline = time.time() + 1200
            while "CORPUSMILL_FAULT: paused" not in log_path.read_text():
                assert b.poll() is None, log_path.read_text()[-4000:]
                assert time.time() < deadline, "run B never reached the fault point"
                time.sleep(1)
            reader = DeltaTable(str(wh / "clean"))                           # reader during the interrupted write
            assert reader.version() == version_a
            assert reader.to_pyarrow_table().num_rows == rows_a
        finally:
            os.killpg(b.pid, signal.SIGKILL)
            b.wait(timeout=60)
    assert b.returncode == -signal.SIGKILL

    out = _run(_cmd(conf, both))                                              # run C
    assert "format: skipped" in out
    assert "rules: success" in out
    docs = DeltaTable(str(wh / "documents")).to_pyarrow_table()
    clean = DeltaTable(str(wh / "clean")).to_pyarrow_table()
    rejected = DeltaTable(str(wh / "rejected")).to_pyarrow_table().to_pylist()
    for name, ids in (("documents", docs.column("doc_id").to_pylist()), ("clean", clean.column("doc_id").to_pylist())):
        assert len(ids) == len(set(ids)), f"duplicate rows in {name}"
    assert len(set(docs.column("dump").to_pylist())) == 2
    rules_rejected = [r["doc_id"] for r in rejected if r["stage"] == "rules"]
    assert len(rules_rejected) == len(set(rules_rejected))
    assert len(rules_rejected) + clean.num_rows == docs.num_rows             # every document accounted for
    runs = DeltaTable(str(wh / "runs")).to_pyarrow_table().to_pylist()
    ok = [r for r in runs if r["status"] == "success"]
    assert [r["stage"] for r in sorted(ok, key=lambda r: r["ended_at"])] == ["format", "rules", "format", "rules"]
    for r in ok:
        assert r["rows_in"] == r["rows_out"] + r["rows_rejected"], r
    last_rules = max((r for r in ok if r["stage"] == "rules"), key=lambda r: r["ended_at"])
    assert (last_rules["rows_in"], last_rules["rows_out"]) == (docs.num_rows, clean.num_rows)
    fmt_rejected = sum(1 for r in rejected if r["stage"] == "format")
    last_fmt = max((r for r in ok if r["stage"] == "format"), key=lambda r: r["ended_at"])
    assert last_fmt["rows_out"] == docs.num_rows and last_fmt["rows_rejected"] == fmt_rejected
