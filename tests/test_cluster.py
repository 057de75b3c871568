"""spark-submit: the session builder respects spark-submit, and the format job runs on a real
standalone cluster (master + worker on loopback, from the pip pyspark) with the built archive."""
from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from corpusmill.jobs.cli import build_archive
from corpusmill.jobs.core.session import jars_dir

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent


def _spark_bin(tool: str) -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / tool)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable)
    env.pop("PYSPARK_GATEWAY_PORT", None)
    return env


def _delta_jars(config) -> str:
    return ",".join(sorted(glob.glob(str(jars_dir(config) / "*.jar"))))


def test_session_respects_spark_submit(tmp_path, config):
    p = subprocess.run(
        [_spark_bin("spark-submit"), "--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=7",
         "--name", "probe-app", "--jars", _delta_jars(config), str(ROOT / "tests/data/probe_session.py"),
         str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=dict(_env(), PYTHONPATH=str(ROOT)))
    assert p.returncode == 0, p.stderr[-3000:]
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("PROBE "))
    got = json.loads(line[6:])
    assert got["master"] == "local[1]"          # spark-submit's master, not the config's local[*]
    assert got["shuffle"] == "7"                # spark-submit's conf, not the config's 8
    assert got["app"] == "probe-app"
    assert "DeltaSparkSessionExtension" in got["extensions"]   # ours, added because it was unset
    assert got["arrow"] == "true"


@pytest.fixture
def cluster(tmp_path):
    """A standalone master and one worker on 127.0.0.1, stopped afterwards."""
    port, ui, wui = _free_port(), _free_port(), _free_port()
    env = _env()
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    master = subprocess.Popen(
        [_spark_bin("spark-class"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui)],
        stdout=open(logs / "master.log", "w"), stderr=subprocess.STDOUT, env=env)
    worker = subprocess.Popen(
        [_spark_bin("spark-class"), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
         "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port", str(wui),
         "--work-dir", str(tmp_path / "work")],
        stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 180
        state = {}
        while time.time() < deadline:
            try:
                state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5))
                if any(w.get("state") == "ALIVE" for w in state.get("workers", [])):
                    break
            except OSError:
                pass
            time.sleep(2)
        else:
            pytest.fail(f"worker never registered: {state}; {(logs / 'worker.log').read_text()[-2000:]}")
        yield {"url": f"spark://127.0.0.1:{port}", "ui": f"http://127.0.0.1:{ui}"}
    finally:
        for p in (worker, master):
            p.terminate()
        for p in (worker, master):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_format_job_on_standalone_cluster(tmp_path, cluster, config):
    from corpusmill.samplegen import crawl as samplegen

    crawl = tmp_path / "crawl"
    manifest = samplegen.generate_crawl(str(crawl), seed=1, pages_per_dump=20)
    archive = build_archive(tmp_path / "dist" / "corpusmill.zip")
    root = tmp_path / "store"
    conf = tmp_path / "cluster.yaml"
    conf.write_text(f"storage:\n  root: {root}\nformat:\n  inputs: ['{crawl}/*/*.warc.gz']\n  text_sources: []\n")
    env = dict(_env(), PYTHONPATH="")      # the job must find the code through --py-files alone
    p = subprocess.run(
        [_spark_bin("spark-submit"), "--master", cluster["url"], "--deploy-mode", "client",
         "--name", "corpusmill-format-cluster-test", "--py-files", str(archive),
         "--jars", _delta_jars(config), "--conf", "spark.executor.memory=1g",
         "--conf", f"spark.pyspark.python={sys.executable}",
         str(ROOT / "jobs" / "stages" / "format.py"), "--conf", str(conf)],
        capture_output=True, text=True, timeout=900, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    apps = json.load(urllib.request.urlopen(cluster["ui"] + "/json/", timeout=10))
    names = [a["name"] for a in apps.get("completedapps", []) + apps.get("activeapps", [])]
    assert "corpusmill-format-cluster-test" in names          # it really ran on the cluster

    from deltalake import DeltaTable

    docs = DeltaTable(str(root / "warehouse" / "documents")).to_pyarrow_table()
    rejected = DeltaTable(str(root / "warehouse" / "rejected")).to_pyarrow_table()
    runs = DeltaTable(str(root / "warehouse" / "runs")).to_pyarrow_table().to_pylist()
    assert docs.num_rows > 0
    assert set(docs.column("dump").to_pylist()) == {"CC-MAIN-2024-10", "CC-MAIN-2024-18"}
    ok = [r for r in runs if r["stage"] == "format" and r["status"] == "success"]
    assert len(ok) == 1
    assert ok[0]["rows_out"] == docs.num_rows
    assert ok[0]["rows_in"] == ok[0]["rows_out"] + ok[0]["rows_rejected"] == docs.num_rows + rejected.num_rows
    assert docs.num_rows <= len(manifest["pages"])
