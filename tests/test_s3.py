"""Object stores: the pipeline on an S3-compatible server (moto, on loopback) through Hadoop's s3a.

One `corpusmill run --stages format,rules,longctx` reads WARC files from `s3a://corpus/in/`, writes
its tables under the storage root `s3a://corpus/store`, and scores with KenLM models the longctx
stage stages from `s3a://corpus/store/models/kenlm` (the default models_dir under that root); the
bucket is then listed with boto3 (each table's Delta commits) and the tables read back through s3a
with `corpusmill sql`. The JVM side is the jar cache of scripts/setup.sh (jars/pom.xml: hadoop-aws
and the AWS SDK v2 modules); credentials come from the environment through the SDK's default chain
for the run and from static keys in the config for the read, the two ways docs/cluster.md shows.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest

from conftest import ROOT, make_config

pytestmark = pytest.mark.slow      # processes of its own (a JVM, a venv, a server)

BUCKET = "corpus"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 (a free port) with one bucket; yields (endpoint, boto3 client)."""
    boto3 = pytest.importorskip("boto3", reason="needs boto3 (installed with moto)")
    server_mod = pytest.importorskip("moto.server", reason="needs moto's server (pip install 'moto[s3]' flask flask-cors)")
    ThreadedMotoServer = server_mod.ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        server.stop()


def test_hadoop_aws_matches_the_hadoop_inside_pyspark():
    """hadoop-aws must be built for the Hadoop it runs with: pyspark/jars' hadoop-client-api."""
    shipped = {m.group(1) for f in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar")
               if (m := re.fullmatch(r"hadoop-client-api-(.+)\.jar", f.name))}
    pom = (ROOT / "jars" / "pom.xml").read_text()
    aws = re.findall(r"<artifactId>hadoop-aws</artifactId><version>([^<]+)</version>", pom)
    assert len(shipped) == 1 and aws == sorted(shipped), (shipped, aws)
    example = (ROOT / "conf" / "cluster.example.yaml").read_text()
    assert f"org.apache.hadoop:hadoop-aws:{aws[0]}" in example


def _s3a_jars() -> None:
    from corpusmill.jobs.core.session import jars_dir

    d = jars_dir(make_config(Path("/nonexistent")))
    if not list(d.glob("hadoop-aws-*.jar")) or not list(d.glob("s3-2*.jar")):
        pytest.skip(f"no hadoop-aws / AWS SDK jars in {d}: run `bash scripts/setup.sh` (jars/pom.xml)")


def _upload_dir(client, local: Path, prefix: str) -> list[str]:
    keys = []
    for f in sorted(p for p in local.rglob("*") if p.is_file()):
        key = f"{prefix}/{f.relative_to(local).as_posix()}"
        client.upload_file(str(f), BUCKET, key)
        keys.append(key)
    return keys


def _keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _conf(tmp_path: Path, endpoint: str, *, static_keys: bool) -> Path:
    """The run authenticates through the SDK's default chain (AWS_* variables, as on a cluster with
    instance roles or env credentials); the reader with Hadoop's static keys (an on-prem store)."""
    if static_keys:
        creds = ("    spark.hadoop.fs.s3a.aws.credentials.provider: org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider\n"
                 f"    spark.hadoop.fs.s3a.access.key: {KEYS['AWS_ACCESS_KEY_ID']}\n"
                 f"    spark.hadoop.fs.s3a.secret.key: {KEYS['AWS_SECRET_ACCESS_KEY']}\n")
    else:
        creds = ("    spark.hadoop.fs.s3a.aws.credentials.provider: "
                 "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider\n")
    conf = tmp_path / ("read.yaml" if static_keys else "run.yaml")
    conf.write_text(
        f"storage:\n  root: s3a://{BUCKET}/store\n  catalog: none\n"
        "spark:\n  master: local[2]\n  driver_memory: 2g\n  shuffle_partitions: 2\n  conf:\n"
        f"    spark.hadoop.fs.s3a.endpoint: {endpoint}\n"
        "    spark.hadoop.fs.s3a.endpoint.region: us-east-1\n"
        "    spark.hadoop.fs.s3a.path.style.access: \"true\"\n"
        "    spark.hadoop.fs.s3a.connection.ssl.enabled: \"false\"\n"
        f"{creds}"
        "format:\n  text_sources: []\n"
        "longctx:\n  languages: [en]\n  min_length: {\"*\": 1}\n  coherence: {scorer: kenlm_cache}\n")
    return conf


def _env(tmp_path: Path, *, keys: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # never the machine's AWS profile or instance metadata: only what the test gives
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    if keys:
        env.update(KEYS, AWS_REGION="us-east-1")
    return env


def _cli(env: dict, *args: str) -> str:
    p = subprocess.run([sys.executable, "-m", "corpusmill", *args], capture_output=True, text=True,
                       env=env, timeout=1500)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
    return p.stdout


def test_pipeline_reads_warc_writes_tables_and_stages_models_on_s3a(s3, tmp_path):
    from corpusmill.jobs.core.config import ConfigError
    from corpusmill.jobs.tools.demo_assets import build_kenlm_models
    from corpusmill.jobs.training.train_lm import kenlm_binaries
    from corpusmill.samplegen import crawl as samplegen

    _s3a_jars()
    try:
        kenlm_binaries("")
    except ConfigError as e:
        pytest.skip(str(e))
    endpoint, client = s3
    manifest = samplegen.generate_crawl(str(tmp_path / "crawl"), seed=3, pages_per_dump=6)
    uploaded = _upload_dir(client, tmp_path / "crawl", "in")
    assert sum(k.endswith(".warc.gz") for k in uploaded) == len(manifest["files"])
    build_kenlm_models(str(tmp_path / "kenlm"), ["en"], n_sentences=1500, seed=0, vocab_size=800)
    models = _upload_dir(client, tmp_path / "kenlm", "store/models/kenlm")
    assert {"store/models/kenlm/en.sp.model", "store/models/kenlm/en.arpa.bin"} <= set(models)

    _cli(_env(tmp_path, keys=True), "run", "--conf", str(_conf(tmp_path, endpoint, static_keys=False)),
         "--stages", "format,rules,longctx", "--input", f"s3a://{BUCKET}/in/*/*.warc.gz")

    # the tables are Delta tables in the bucket: each has its first commit under the storage root
    keys = _keys(client, "store/")
    commits = {k.split("/")[2] for k in keys if k.endswith("/_delta_log/00000000000000000000.json")}
    assert {"documents", "rule_signals", "clean", "longctx_signals", "longctx", "rejected", "runs"} <= commits, keys
    assert not [k for k in keys if k.startswith("store/warehouse/") and "/_temporary/" in k]

    # read back through s3a (a new session, static keys, no AWS_* variables)
    sql = ("SELECT 'documents' AS t, url, NULL AS status, NULL AS ppl, NULL AS n FROM documents "
           "UNION ALL SELECT 'clean', url, NULL, NULL, NULL FROM clean "
           "UNION ALL SELECT 'signals', url, lm_status, doc_perplexity, language FROM longctx_signals "
           "UNION ALL SELECT concat('runs:', stage), NULL, status, NULL, "
           "concat(rows_in, '/', rows_out, '/', rows_rejected) FROM runs")
    out = _cli(_env(tmp_path, keys=False), "sql", "--json", "--conf", str(_conf(tmp_path, endpoint, static_keys=True)), sql)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    by = lambda t: [r for r in rows if r["t"] == t]  # noqa: E731

    # documents: every generated page but the ones the sample makes for format to drop (non-HTML, redirects)
    expected = {u for u, p in manifest["pages"].items() if p["intended_filter"] != "format"}
    docs = [r["url"] for r in by("documents")]
    assert len(docs) == len(set(docs)) and set(docs) == expected
    clean = {r["url"] for r in by("clean")}
    assert clean and clean < set(docs)
    runs = {r["t"][5:]: (r["status"], [int(x) for x in r["n"].split("/")]) for r in rows if r["t"].startswith("runs:")}
    n_records = sum(1 for _ in _records(tmp_path / "crawl"))
    assert runs["format"] == ("success", [n_records, len(docs), n_records - len(docs)])
    assert runs["rules"][0] == "success" and runs["rules"][1][:2] == [len(docs), len(clean)]
    assert sum(runs["rules"][1][1:]) == len(docs)

    # longctx scored every clean English document with the model it staged from the bucket
    signals = by("signals")
    assert {r["url"] for r in signals} == clean
    english = [r for r in signals if r["n"] == "en"]
    assert english and all(r["status"] == "ok" and r["ppl"] > 1 for r in english), english
    assert runs["longctx"][0] == "success"


def _records(crawl: Path):
    """Every WARC record of the generated crawl (what format counts in)."""
    from warcio.archiveiterator import ArchiveIterator

    for f in sorted(crawl.rglob("*.warc.gz")):
        with open(f, "rb") as fh:
            yield from (1 for _ in ArchiveIterator(fh))
