"""A new user's first run: an empty folder, the default config, a real WARC file. Nothing in the
defaults points at files only the demo makes; what the run still needs is said before Spark starts,
in one message, each item with its ways out."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT


def _corpusmill(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORPUSMILL_SET")}
    return subprocess.run([sys.executable, "-m", "corpusmill", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_the_defaults_name_nothing_only_the_demo_makes():
    import yaml

    text = (ROOT / "conf" / "default.yaml").read_text()
    for demo_path in ("samples/", "blocklists/", "benchmarks/"):
        assert demo_path not in "\n".join(ln.split("#")[0] for ln in text.splitlines()), demo_path
    demo = yaml.safe_load((ROOT / "conf" / "demo.yaml").read_text())
    assert demo["format"]["inputs"] and demo["safety"]["domain_lists"] and demo["decontam"]["benchmarks"]


def test_a_first_run_on_a_real_warc_stops_before_spark_with_everything_it_needs(tmp_path, shared_data):
    warc = sorted((shared_data / "dolma-warcs").rglob("*.warc.gz"))[0]
    p = _corpusmill(tmp_path, "run", "--input", str(warc))
    assert p.returncode == 2, p.stdout[-2000:] + p.stderr[-3000:]
    err = p.stderr
    assert "Spark UI" not in err and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    head = [ln for ln in lines if ln.startswith("corpusmill:")]
    assert len(head) == 1 and "things to settle before the run can start" in head[0], err[-3000:]
    items = [ln.strip()[2:] for ln in lines if ln.strip().startswith("- ")]
    models = tmp_path / "corpusmill-data" / "models"
    assert any(i.startswith(f"safety.toxicity.model: model directory {models / 'classifiers'} not found") for i in items)
    assert any(i.startswith("quality.advertisement.model: model directory") for i in items)
    assert any(i.startswith("longctx.languages: no KenLM model for en, zh") for i in items)
    for i in items:                                     # every item says how to get past it
        assert " or " in i and "`" in i, i
    assert not (tmp_path / "corpusmill-data" / "warehouse").exists()         # nothing written


@pytest.mark.slow
def test_the_ways_out_take_a_first_run_to_its_end(tmp_path, shared_data):
    """With the models it names turned off and the long-context stage left out, the same first run
    completes on the real WARC, the packaged word lists in place of the demo's."""
    warc = sorted((shared_data / "dolma-warcs").rglob("*.warc.gz"))[0]
    p = _corpusmill(tmp_path, "run", "--input", str(warc), "--stages", "format,rules,dedup,safety,quality",
                    "--set", "classifiers.inference.model=none", "--set", "spark.master=local[2]",
                    "--set", "spark.shuffle_partitions=4", "--set", "storage.catalog=none")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    for stage in ("format", "rules", "dedup", "safety", "quality"):
        assert f"{stage}: success" in p.stderr + p.stdout
