"""The rows of docs/errors.md ("Errors you may meet"): the exact line users see and the exit code.

Errors raised before Spark starts run the real `corpusmill` command as a subprocess; the ones that need
a SparkSession call the same entry point (jobs.cli.main) in this process, on the suite's session, so
the test does not pay a JVM start per row. The disk-full row runs the real command against a tiny
tmpfs (skipped where mounting is not allowed).
"""
from __future__ import annotations

import errno
import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from corpusmill.jobs import cli
from corpusmill.jobs.core import errors, tableio

ROOT = Path(__file__).resolve().parent.parent
CORPUSMILL = [sys.executable, "-m", "corpusmill"]


def _cli(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_GATEWAY_PORT", "CORPUSMILL_JARS")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([*CORPUSMILL, *args], cwd=cwd or ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def _base(root: Path) -> list[str]:
    return ["--set", f"storage.root={root}", "--set", "storage.catalog=none", "--set", "spark.master=local[2]"]


def _main(capsys, *args: str) -> tuple[int, str]:
    """jobs.cli.main in-process (the suite's SparkSession is active, so get_spark returns it)."""
    rc = cli.main(list(args))
    return rc, _last_line(capsys.readouterr().err) if rc else ""


# ---- config errors: before any JVM starts -----------------------------------------------------------
def test_unknown_config_key(tmp_path):
    p = _cli("run", "--set", "spark.bogus=1")
    assert p.returncode == 2
    assert p.stderr.strip() == ("corpusmill: config error: spark.bogus: unknown key (known: app_name, conf, "
                                "driver_memory, jars_dir, master, shuffle_partitions)")


def test_wrong_type():
    p = _cli("run", "--set", "spark.shuffle_partitions=many")
    assert p.returncode == 2
    assert p.stderr.strip() == "corpusmill: config error: spark.shuffle_partitions: expected an integer, got 'many'"


def test_config_file_missing(tmp_path):
    p = _cli("run", "--conf", "x.yaml", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == "corpusmill: config error: config file x.yaml: not found"


def test_missing_delta_jars(tmp_path):
    empty = tmp_path / "jars"
    empty.mkdir()
    expected = (f"corpusmill: missing jars: Delta jars not found in {empty}: run `bash scripts/setup.sh` (resolves "
                f"them with mvn from jars/pom.xml), set CORPUSMILL_JARS, or use spark-submit --packages "
                f"io.delta:delta-spark_4.2_2.13:4.4.0,io.delta:delta-storage:4.4.0")
    jars = ["--set", f"spark.jars_dir={empty}"]
    # every verb that starts Spark says it in the same one line, the tool verbs included
    for verb in (["sql", "SELECT 1"], ["tables"], ["report"], ["export", "--out", str(tmp_path / "out")]):
        p = _cli(verb[0], *_base(tmp_path / "store"), *jars, *verb[1:])
        assert (p.returncode, p.stderr.strip()) == (2, expected), verb
        assert "Traceback" not in p.stderr


def test_s3a_root_without_the_hadoop_aws_jar(tmp_path):
    from corpusmill.jobs.core.session import jars_dir
    from corpusmill.jobs.registry import load_config

    delta_only = tmp_path / "jars"
    delta_only.mkdir()
    for jar in jars_dir(load_config()).glob("delta-*.jar"):
        (delta_only / jar.name).symlink_to(jar)
    p = _cli("tables", "--set", "storage.root=s3a://bucket/store", "--set", f"spark.jars_dir={delta_only}")
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stderr.strip().splitlines()[-1] == (f"corpusmill: missing jars: storage.root is on s3a:// but no hadoop-aws jar is in "
                                f"{delta_only}: run `bash scripts/setup.sh` again (it resolves hadoop-aws and the AWS "
                                f"SDK v2 modules from jars/pom.xml), or set CORPUSMILL_JARS")


def test_unknown_stage_fails_before_spark(tmp_path):
    root = tmp_path / "store"
    p = _cli("run", *_base(root), "--stages", "format,bogus")
    assert p.returncode == 2
    assert p.stderr.strip() == ("corpusmill: config error: --stages: unknown stage 'bogus' (stages, in order: "
                                "format, rules, dedup, safety, pii, decontam, quality, longctx, code)")
    assert not root.exists()                       # no session was built (it creates the storage root)


@pytest.mark.parametrize("override, line", [
    ("dedup.minhash.threshold=1.5", "dedup.minhash.threshold: expected a number in (0, 1], got 1.5"),
    ("code.max_tokens=10", "code.max_tokens: must be at least 256, got 10"),
    ("longctx.length_unit=lines", "longctx.length_unit: expected bytes or tokens, got 'lines'"),
    ("safety.domain_lookup=hash", "safety.domain_lookup: expected broadcast or join, got 'hash'"),
    ("quality.fluency.device=tpu", "quality.fluency: device 'tpu' unknown (one of auto, cpu, cuda)"),
])
def test_value_out_of_range_fails_at_load_time(tmp_path, override, line):
    """A bad value of a late stage fails the run at once, not after the earlier stages ran."""
    root = tmp_path / "store"
    p = _cli("run", *_base(root), "--set", override)
    assert (p.returncode, p.stderr.strip()) == (2, f"corpusmill: config error: {line}")
    assert not root.exists()


# ---- errors found by a stage before its first Spark job ---------------------------------------------
def test_input_path_missing(spark, tmp_path, capsys):
    missing = tmp_path / "nope" / "crawl.warc.gz"
    rc, line = _main(capsys, "run", *_base(tmp_path), "--stages", "format", "--input", str(missing))
    assert (rc, line) == (2, f"corpusmill: config error: --input[0]: path {missing} does not exist")


def test_input_glob_matches_nothing(spark, tmp_path, capsys):
    pattern = tmp_path / "nope" / "*.warc.gz"
    rc, line = _main(capsys, "run", *_base(tmp_path), "--set", "format.text_sources=[]",
                     "--stages", "format", "--input", str(pattern))
    assert (rc, line) == (2, f"corpusmill: config error: --input: no input files match {pattern}")


def test_upstream_table_missing(spark, tmp_path, capsys):
    rc, line = _main(capsys, "run", *_base(tmp_path), "--stages", "rules")
    assert (rc, line) == (2, f"corpusmill: missing input: none of the input tables ['documents'] exist under "
                             f"{tmp_path}/warehouse: run the earlier stages first (corpusmill run)")


@pytest.mark.parametrize("stage,key,model", [("safety", "safety.toxicity.model", "classifiers"),
                                             ("quality", "quality.advertisement.model", "classifiers")])
def test_classifier_model_missing(spark, tmp_path, capsys, stage, key, model):
    no_lists = ["--set", "safety.domain_lists=[]", "--set", "safety.word_lists=[]"]
    rc, line = _main(capsys, "run", *_base(tmp_path), *no_lists, "--stages", stage)
    assert (rc, line) == (2, f"corpusmill: config error: {key}: model directory {tmp_path}/models/{model} not found: "
                             f"train one (`corpusmill train-classifier --input HEAD=labeled.csv --out DIR`), give a "
                             f"model directory or hub id, or turn it off with `{key}: none` "
                             f"(`classifiers.inference.model: none` turns off all four)")
    assert not tableio.table_exists(spark, cli.load_config(None, _base(tmp_path)[1::2]), "runs")  # nothing ran


def test_kenlm_model_missing(spark, tmp_path, capsys):
    rc, line = _main(capsys, "run", *_base(tmp_path), "--stages", "longctx")
    assert (rc, line) == (2, f"corpusmill: config error: longctx.languages: no KenLM model for en, zh in "
                             f"{tmp_path}/models/kenlm: build each with `corpusmill train-lm --lang en --text FILE`, "
                             f"set longctx.models_dir, or leave longctx out of --stages; and longctx.coherence.model: "
                             f"model directory {tmp_path}/models/causal-lm not found; build one with `corpusmill "
                             f"train-causal-lm --text FILE` (or set longctx.coherence.model); or "
                             f"`longctx.coherence.scorer: kenlm_cache` (no causal LM)")


def test_benchmark_file_missing(spark, tmp_path, capsys):
    """A benchmark file that is not there stops the run before Spark, naming the key and the ways out."""
    rc, line = _main(capsys, "run", *_base(tmp_path), "--stages", "decontam", "--set",
                     'decontam.benchmarks=[{name: mmlu, path: evals/mmlu.jsonl, prompt: question}]')
    assert (rc, line) == (2, f"corpusmill: config error: decontam.benchmarks[0].path: {tmp_path}/evals/mmlu.jsonl "
                             f"not found (a JSONL, Parquet or CSV file, or a Delta table): give the benchmark's file, "
                             f"or leave it out of decontam.benchmarks (`decontam.benchmarks: []` checks nothing)")


# ---- corrupt input: not an error (tests/test_format.py covers every kind of damage) -------------------
def _warc(records: list[tuple[str, str]]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    for url, body in records:
        payload = f"<html><head><title>{url}</title></head><body><article><p>{body}</p></article></body></html>".encode()
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=http))
    return buf.getvalue()


def test_corrupt_input_is_a_rejection(spark, tmp_path, capsys):
    text = ("The river rose slowly through the night, and by morning the old mill stood in a wide brown lake. "
            "Neighbours came with boats and ropes, and the miller's family watched the water from the hill. ") * 3
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    good = _warc([(f"http://ok.example.com/{i}", text) for i in range(3)])
    (crawl / "good.warc.gz").write_bytes(good)
    (crawl / "cut.warc.gz").write_bytes(good[: len(good) - 200])                 # truncated mid-record
    (crawl / "junk.warc.gz").write_bytes(b"not a WARC file at all\n" * 50)       # not a WARC
    rc = cli.main(["run", *_base(tmp_path), "--set", "format.text_sources=[]", "--stages", "format",
                   "--input", str(crawl / "*.warc.gz")])
    out = capsys.readouterr()
    assert rc == 0, out.err[-2000:]
    config = cli.load_config(None, _base(tmp_path)[1::2] + ["format.text_sources=[]"])
    rej = {(Path(r.source_file).name, r.reason) for r in tableio.read_table(spark, config, "rejected").collect()}
    assert ("junk.warc.gz", "read_error") in rej and ("cut.warc.gz", "read_error") in rej
    docs = tableio.read_table(spark, config, "documents").collect()
    assert sum(Path(d.source_file).name == "good.warc.gz" for d in docs) == 3
    assert sum(Path(d.source_file).name == "cut.warc.gz" for d in docs) == 2   # the records before the cut are kept
    assert "format | success" in out.out


# ---- disk full ----------------------------------------------------------------------------------------
DISK_FULL_TAIL = (": free space there or point storage.root / storage.tmp / spark.local.dir at a larger disk, then "
                  "run again (the stage's tables keep their previous version)")


def test_disk_full_is_recognised_in_python_and_java_errors(config):
    with pytest.raises(OSError) as exc:
        with open("/dev/full", "wb") as f:
            f.write(b"x" * 65536)
            f.flush()
    assert exc.value.errno == errno.ENOSPC
    kind, msg = errors.describe(exc.value, config)
    assert kind == "disk full"
    assert msg.startswith(f"no space left on device (storage.root {config.path('')}: ") and msg.endswith(DISK_FULL_TAIL)
    java_like = RuntimeError("An error occurred while calling o103.parquet.\n: org.apache.spark.SparkException: "
                             "Job aborted\nCaused by: java.io.IOException: No space left on device\n\tat x.y(Z.java:1)")
    assert errors.is_disk_full(java_like) and errors.summary(java_like, config).startswith("DiskFull: no space left")
    assert not errors.is_disk_full(RuntimeError("boom")) and errors.describe(RuntimeError("boom")) == ("RuntimeError", "boom")


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip()})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.slow
def test_disk_full_is_one_line_and_recorded(spark, tmp_path, tiny_disk):
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(7)) for _ in range(20000)]
    src = tmp_path / "text" / "big.jsonl"
    src.parent.mkdir()
    with open(src, "w") as f:                      # ~3 MB of hard-to-compress text for a 512 KB disk
        for i in range(600):
            f.write(json.dumps({"id": str(i), "text": " ".join(rng.choice(words) for _ in range(700)) + "."}) + "\n")
    root = tiny_disk / "store"
    p = _cli("run", *_base(root), "--set", "format.inputs=[]", "--stages", "format", "--set",
             f"format.text_sources=[{{path: {src}, format: jsonl, source_type: book}}]", timeout=600)
    assert p.returncode == 2, p.stderr[-3000:]
    line = _last_line(p.stderr)
    assert line.startswith(f"corpusmill: disk full: no space left on device (storage.root {root}: "), line
    assert line.endswith(DISK_FULL_TAIL), line
    assert "\tat org.apache" not in p.stderr and len(p.stderr.splitlines()) < 60, p.stderr[-3000:]
    config = cli.load_config(None, _base(root)[1::2])
    (run,) = tableio.read_table(spark, config, "runs").collect()
    assert (run.stage, run.status) == ("format", "failed")
    assert run.error.startswith(f"DiskFull: no space left on device (storage.root {root}: ")
    assert not tableio.table_exists(spark, config, "documents")       # nothing half-written became a table
