"""`corpusmill sql-server`: a real JDBC client (the beeline that pip's pyspark ships) queries the tables.

The end-to-end test writes `pretrain` on a derby store in a child process, starts the server on it,
queries `corpusmill.pretrain` through beeline, lets a writer append rows and create a new table while
the server runs (the server holds neither the writer lock nor the Derby metastore), sees both through
the server, then stops it with SIGTERM and checks it exits cleanly and frees its port.
"""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import make_config

from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.tools import sql_server

pytestmark = pytest.mark.slow      # processes of its own (a JVM, a venv, a server)

# A child process that writes `pretrain` rows [start, end) (and `documents` too when asked), as a run
# does: it takes the root's writer lock, so its session boots the Derby metastore and registers them.
WRITER = """
import sys
from pyspark.sql import functions as F
from corpusmill.jobs.core import rootlock, tableio
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.registry import load_config
from corpusmill.schemas import documents, pretrain

conf, start, end, with_documents = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
cfg = load_config(conf, [])
rootlock.claim(cfg, "test writer")
spark = get_spark(cfg)
rows = [(f"d{i:03d}", "CC-A" if i % 2 else "CC-B", "web", f"https://example.org/{i}", "en" if i % 3 else "zh",
         "x" * (i + 1)) for i in range(start, end)]
df = spark.createDataFrame(rows, "doc_id string, dump string, source_type string, url string, language string, text string")
df = df.withColumn("text_bytes", F.length("text").cast("long"))
for c in pretrain.TABLE.columns:
    if c.name not in df.columns:
        df = df.withColumn(c.name, F.lit(None).cast(c.type))
tableio.write_table(spark, cfg, pretrain.TABLE, df, mode="append")
if with_documents:
    tableio.write_table(spark, cfg, documents.TABLE, df)
assert spark.catalog.tableExists(f"{cfg.storage.database}.pretrain")     # the Derby catalog was booted here
print("written", spark.read.table(f"{cfg.storage.database}.pretrain").count())
"""

PROMPT = re.compile(r"^\d+: jdbc:hive2://\S*> ")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ok(cmd: list[str], timeout: int = 900) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-4000:]
    return p.stdout


def _beeline(url: str, *queries: str) -> dict[str, list[str]]:
    """Run the queries through beeline; each starts with a string label, rows come back keyed by it."""
    out = _ok([str(sql_server.beeline_path()), "-u", url, "-n", "tester", "--silent=true", "--showHeader=false",
               "--outputformat=csv2", "-e", "; ".join(queries)], timeout=600)
    rows: dict[str, list[str]] = {"output": [out[-3000:]]}
    for line in out.splitlines():
        label, _, rest = PROMPT.sub("", line).partition(",")     # the first row follows beeline's prompt
        if rest and label.isidentifier():
            rows[label] = rest.split(",")
    return rows


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_section_values_are_checked_when_the_config_loads(tmp_path):
    with pytest.raises(ConfigError, match="sql_server.port"):
        make_config(tmp_path, "sql_server.port=70000")
    with pytest.raises(ConfigError, match="sql_server.refresh_s"):
        make_config(tmp_path, "sql_server.refresh_s=-1")
    cfg = make_config(tmp_path, "storage.database=corpus")
    assert sql_server.jdbc_url(cfg, "127.0.0.1", 10001) == "jdbc:hive2://127.0.0.1:10001/corpus"


def test_a_taken_port_fails_before_spark_starts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "corpusmill", "sql-server", "--set", f"storage.root={tmp_path}",
                            "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in p.stderr
    assert not (tmp_path / "warehouse").exists()         # nothing started


def test_beeline_queries_the_tables_while_a_writer_runs_and_sigterm_stops_it(tmp_path):
    if not sql_server.beeline_path().is_file():
        pytest.skip(f"beeline not found at {sql_server.beeline_path()} (the pyspark distribution ships it)")
    root = tmp_path / "store"
    conf = tmp_path / "c.yaml"
    conf.write_text(f"storage:\n  root: {root}\n  catalog: derby\nspark:\n  master: local[1]\n  driver_memory: 1g\n"
                    f"  shuffle_partitions: 1\nsql_server:\n  refresh_s: 1\n")
    writer = [sys.executable, "-c", WRITER, str(conf)]
    assert "written 10" in _ok([*writer, "0", "10", "0"])

    port = _free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "corpusmill", "sql-server", "--conf", str(conf),
                                   "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.time() + 900
        while "jdbc:hive2://" not in log_path.read_text() or not _listening(port):
            assert server.poll() is None, log_path.read_text()[-4000:]
            assert time.time() < deadline, "the server never started listening"
            time.sleep(2)
        url = f"jdbc:hive2://127.0.0.1:{port}/corpusmill"
        assert f"corpusmill sql-server: {url}" in log_path.read_text()
        assert "tables: corpusmill.pretrain" in log_path.read_text()

        got = _beeline(url, "SELECT 'total', count(*) FROM corpusmill.pretrain",
                       "SELECT 'zh', count(*), min(doc_id), max(text_bytes) FROM pretrain WHERE language = 'zh'")
        assert got.get("total") == ["10"], got["output"]
        assert got["zh"] == ["4", "d000", "10"]                 # d000 d003 d006 d009; d009's text is 10 bytes

        # a writer while the server serves: it takes the lock and boots Derby, so the server holds neither
        assert "written 15" in _ok([*writer, "10", "15", "1"])
        got = {}
        while "docs" not in got:                                 # `documents` is published at the next refresh
            assert server.poll() is None, log_path.read_text()[-4000:]
            assert time.time() < deadline, "the new table never appeared: " + log_path.read_text()[-2000:]
            got = _beeline(url, "SELECT 'total', count(*) FROM corpusmill.pretrain",
                           "SELECT 'docs', count(*) FROM corpusmill.documents WHERE doc_id >= 'd010'")
        assert got["total"] == ["15"]                            # the newest Delta version at each query
        assert got["docs"] == ["5"]
        assert "new table corpusmill.documents" in log_path.read_text()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        rc = server.wait(timeout=300)
    text = log_path.read_text()
    assert rc == 0, text[-4000:]
    assert text.rstrip().endswith("corpusmill sql-server: stopped"), text[-2000:]
    assert not _listening(port)
    assert "Traceback" not in text and " ERROR " not in text, text[-4000:]
    assert not (tmp_path / "derby.log").exists()             # the server's Derby logs under storage.tmp
    assert (root / "tmp" / "derby-sql-server.log").is_file()
