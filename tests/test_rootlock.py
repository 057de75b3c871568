"""One writer per storage root (jobs/core/rootlock.py), and readers that keep working while it writes.

The unit tests hold the lock in a child process. The end-to-end test runs the real CLI on a derby
root: a writer held inside its run by CORPUSMILL_FAULT keeps the lock, a second writer is refused
before any JVM starts, a reader queries the tables meanwhile, and once the writer is SIGKILLed the
next run takes the lock and boots the metastore at once.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from corpusmill.jobs.core import rootlock
from corpusmill.samplegen import crawl as samplegen

HOLDER = textwrap.dedent("""
    import sys, time
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.core import rootlock
    rootlock.claim(load_config(None, ["storage.root=" + sys.argv[1]]), "lock test holder")
    print("held", flush=True)
    time.sleep(600)
""")


def test_lock_names_its_holder_and_dies_with_it(config):
    from corpusmill.jobs.core.errors import describe, is_known

    child = subprocess.Popen([sys.executable, "-c", HOLDER, config.storage.root], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held", "the holder did not take the lock"
        with pytest.raises(rootlock.RootBusy) as busy:
            rootlock.acquire(config, "second writer")
        msg = str(busy.value)
        assert "\n" not in msg
        assert f" is being written by pid {child.pid} on host {socket.gethostname()} (lock test holder, started 20" \
            in msg
        assert msg.startswith(config.path("").rstrip("/") + " ") and msg.endswith("use another storage.root")
        assert describe(busy.value) == ("storage root busy", msg) and is_known(busy.value)   # the CLI: exit 2
        assert not rootlock.held_here(config)
    finally:
        child.kill()
        child.wait(timeout=30)
    with rootlock.hold(config, "after the kill"):              # free at once: no stale lock, no waiting
        with rootlock.hold(config, "nested"):                  # re-entrant in one process
            assert rootlock.held_here(config)
        assert rootlock.held_here(config)
        record = json.loads((rootlock.lock_file(config)).read_text())
        assert record["pid"] == os.getpid() and record["what"] == "after the kill"
    assert not rootlock.held_here(config)


def test_non_local_root_locks_a_local_file_keyed_by_its_uri(config_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUSMILL_CACHE", str(tmp_path / "cache"))
    a, b = config_factory("storage.root=s3a://bucket/a"), config_factory("storage.root=s3a://bucket/b")
    assert rootlock.lock_file(a).parent == tmp_path / "cache" / "locks"
    assert rootlock.lock_file(a) != rootlock.lock_file(b)
    with rootlock.hold(a, "s3 writer"):
        assert rootlock.held_here(a) and not rootlock.held_here(b)


def test_reader_session_sees_tables_by_bare_and_database_name(spark, config_factory):
    from corpusmill.jobs.core.session import read_only_catalog
    from corpusmill.jobs.core.tableio import register_views

    cfg = config_factory("storage.catalog=derby")
    assert read_only_catalog(cfg)                             # not the writer: leave Derby alone
    with rootlock.hold(cfg, "writer"):
        assert not read_only_catalog(cfg)
    spark.range(7).write.format("delta").save(cfg.table_path("lockdocs"))
    try:
        assert "lockdocs" in register_views(spark, cfg)
        assert spark.sql("SELECT count(*) FROM lockdocs").first()[0] == 7
        assert spark.sql(f"SELECT count(*) FROM {cfg.storage.database}.lockdocs").first()[0] == 7
    finally:
        spark.sql("USE default")
        spark.sql(f"DROP VIEW IF EXISTS {cfg.storage.database}.lockdocs")
        spark.catalog.dropTempView("lockdocs")


def _cli(conf, *args: str, env=None) -> list[str]:
    return [sys.executable, "-m", "corpusmill", args[0], "--conf", str(conf), *args[1:]]


def _ok(cmd, env=None) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    return p.stdout + p.stderr


@pytest.mark.slow
def test_second_writer_refused_before_spark_while_readers_query(tmp_path):
    from deltalake import DeltaTable

    crawl = tmp_path / "crawl"
    samplegen.generate_crawl(str(crawl), seed=3, pages_per_dump=25)
    root = tmp_path / "store"
    conf = tmp_path / "c.yaml"
    conf.write_text(f"storage:\n  root: {root}\n  catalog: derby\nspark:\n  master: local[2]\n  driver_memory: 2g\n"
                    f"  shuffle_partitions: 4\nformat:\n  text_sources: []\n")
    run = ("run", "--stages", "format", "--input", f"{crawl}/*/*.warc.gz")

    assert "format: success" in _ok(_cli(conf, *run))                            # the tables the reader needs
    docs = DeltaTable(str(root / "warehouse" / "documents")).to_pyarrow_table().num_rows
    assert docs > 0

    env = dict(os.environ, CORPUSMILL_FAULT="pause:format:documents")             # a writer held inside its run
    log_path = tmp_path / "writer.log"
    with open(log_path, "w") as log:
        writer = subprocess.Popen(_cli(conf, *run, "--force"), stdout=log, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
        try:
            deadline = time.time() + 1200
            while "CORPUSMILL_FAULT: paused" not in log_path.read_text():
                assert writer.poll() is None, log_path.read_text()[-4000:]
                assert time.time() < deadline, "the writer never reached the fault point"
                time.sleep(1)

            t0 = time.monotonic()                                                 # a second writer: refused at once
            second = subprocess.run(_cli(conf, *run), capture_output=True, text=True, timeout=300)
            took = time.monotonic() - t0
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-4000:]
            assert len(lines) == 1, second.stderr
            assert lines[0].startswith(f"corpusmill: storage root busy: {root.resolve()} is being written by pid "
                                       f"{writer.pid} on host {socket.gethostname()} (corpusmill run, started "), \
                lines[0]
            assert second.stdout == ""
            assert took < 60, f"the refusal took {took:.0f}s: it must come before Spark starts"

            query = "SELECT (SELECT count(*) FROM documents) AS bare, (SELECT count(*) FROM corpusmill.documents) AS db"
            reader = subprocess.run(_cli(conf, "sql", "--json", query), capture_output=True, text=True, timeout=600)
            assert reader.returncode == 0, reader.stderr[-4000:]
            assert json.loads(reader.stdout.strip().splitlines()[-1]) == {"bare": docs, "db": docs}
            assert "XSDB6" not in reader.stderr and "being written" not in reader.stderr
            assert writer.poll() is None                                          # the writer still holds the root
        finally:
            os.killpg(writer.pid, signal.SIGKILL)
            writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL

    out = _ok(_cli(conf, *run))                       # the killed writer left no lock, the reader no Derby boot
    assert "format: skipped" in out or "format: success" in out
    assert "XSDB6" not in out and "storage root busy" not in out
