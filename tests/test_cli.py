"""The command line as users type it: several --input paths, text files given to --input, `sql`
output that is never silently cut, global flags in any position, models staged from another file
system, and hub ids with or without an organisation."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_format import EN, ZH, write_warc
from test_safety import tiny_model  # noqa: F401 (fixture)

from corpusmill.jobs import cli
from corpusmill.jobs.core import tableio

ROOT = Path(__file__).resolve().parent.parent


def _base(root: Path) -> list[str]:
    return ["--set", f"storage.root={root}", "--set", "storage.catalog=none", "--set", "spark.master=local[2]"]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYSPARK_GATEWAY_PORT"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpusmill", *args], cwd=cwd or ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _warc(path: Path, n: int, html: str = EN) -> None:
    write_warc(path, [("response", f"http://{path.stem}.example.com/{i}", html.encode(), "text/html", "200 OK")
                      for i in range(n)])


@pytest.mark.slow
def test_input_takes_several_paths_and_text_files(spark, tmp_path, capsys):
    """`--input a.warc.gz b.warc.gz c.jsonl.gz d.parquet` (a shell glob's expansion) in one run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = tmp_path / "in"
    _warc(d / "a.warc.gz", 2)
    _warc(d / "b.warc.gz", 3, ZH)
    text = "A long river runs to the sea, and the valley below it grows wide and green in the spring. " * 3
    with gzip.open(d / "books.jsonl.gz", "wt") as f:
        for i in range(4):
            f.write(json.dumps({"id": f"b{i}", "text": f"{text} Book {i}."}) + "\n")
    pq.write_table(pa.table({"id": ["p0", "p1"], "text": [f"{text} Paper {i}." for i in range(2)]}), d / "papers.parquet")
    store = tmp_path / "store"
    rc = cli.main(["run", *_base(store), "--set", "format.text_sources=[]", "--set", "format.input_text.source_type=misc",
                   "--stages", "format", "--input", str(d / "a.warc.gz"), str(d / "b.warc.gz"),
                   f"{d / 'books.jsonl.gz'},{d / 'papers.parquet'}"])
    assert rc == 0, capsys.readouterr().err[-2000:]
    config = cli.load_config(None, _base(store)[1::2] + ["format.text_sources=[]"])
    docs = tableio.read_table(spark, config, "documents").collect()
    by_file = {}
    for doc in docs:
        by_file.setdefault(Path(doc.source_file).name, []).append(doc)
    assert {k: len(v) for k, v in by_file.items()} == {"a.warc.gz": 2, "b.warc.gz": 3, "books.jsonl.gz": 4,
                                                        "papers.parquet": 2}
    assert {d.source_type for d in by_file["books.jsonl.gz"] + by_file["papers.parquet"]} == {"misc"}
    assert {d.language for d in by_file["b.warc.gz"]} == {"zh"}
    assert "format | success" in capsys.readouterr().out


def test_sql_json_streams_every_row_and_says_when_cut(spark, tmp_path, capsys):
    rc = cli.main(["sql", *_base(tmp_path), "--json", "SELECT id FROM range(2500)"])
    out = capsys.readouterr()
    assert rc == 0 and out.err == ""
    assert [json.loads(ln)["id"] for ln in out.out.splitlines()] == list(range(2500))   # past the old 1,000 cap
    rc = cli.main(["sql", *_base(tmp_path), "--json", "--limit", "7", "SELECT id FROM range(2500)"])
    out = capsys.readouterr()
    assert rc == 0 and len(out.out.splitlines()) == 7
    assert out.err.strip() == "corpusmill: result cut at --limit 7 rows"
    rc = cli.main(["sql", *_base(tmp_path), "SELECT id FROM range(1500)"])             # the text table
    out = capsys.readouterr()
    assert rc == 0 and "(1000 rows)" in out.out
    assert out.err.strip() == "corpusmill: showing the first 1,000 rows (--limit N for more, --json streams every row)"
    rc = cli.main(["sql", *_base(tmp_path), "SELECT id FROM range(3)"])
    out = capsys.readouterr()
    assert rc == 0 and out.err == "" and "(3 rows)" in out.out


def test_sql_error_is_one_line(spark, tmp_path, capsys):
    rc = cli.main(["sql", *_base(tmp_path), "SELECT * FROM no_such_table"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert err.startswith("corpusmill: sql error: ") and "no_such_table" in err


@pytest.mark.slow
def test_sql_in_a_new_folder_with_the_embedded_catalog(tmp_path):
    """No table yet and no database in the Derby catalog: a query that reads no table still answers."""
    p = _cli("sql", "--set", f"storage.root={tmp_path / 'new'}", "--set", "spark.master=local[1]", "--json",
             "SELECT 1 AS one", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert [json.loads(ln) for ln in p.stdout.splitlines()] == [{"one": 1}]


@pytest.mark.slow
def test_global_flags_in_any_position():
    for args in (["-v", "export", "--help"], ["export", "--help", "-v"], ["-v", "run", "--help"],
                 ["-q", "borderline", "--help"], ["borderline", "-q", "--help", "-v"]):
        p = _cli(*args)
        assert p.returncode == 0 and p.stdout.startswith(f"usage: corpusmill {args[1 if args[0][0] == '-' else 0]} "), \
            (args, p.stdout[:300], p.stderr[-2000:])
    assert cli.pop_global_flags(["-v", "sql", "-q", "SELECT 1"]) == (["sql", "SELECT 1"], True, False)
    assert cli.pop_global_flags(["-q", "tables"]) == (["tables"], False, True)
    assert cli.pop_global_flags(["sql", "--", "-v"]) == (["sql", "--", "-v"], False, False)   # after --: an argument


def test_version_is_the_projects():
    import tomllib

    want = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    p = _cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"corpusmill {want}", p.stdout


def _verbs() -> dict:
    import argparse

    ap = cli.build_parser()
    return next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_verb_and_option_has_help(capsys):
    """Walks the real parser (built-in verbs and every tool record's arguments): each verb has a
    description, each argument a help text, and `corpusmill VERB --help` exits 0 naming the verb."""
    import argparse

    verbs = _verbs()
    assert {"run", "sql", "tables", "build-archive", "demo", "report", "export", "borderline", "classify",
            "train-classifier", "train-lm", "train-causal-lm"} <= set(verbs)
    for parser in [cli.build_parser(), *verbs.values()]:
        assert parser.description, parser.prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (parser.prog, action.option_strings or action.dest)
    for name in verbs:
        assert verbs[name].prog == f"corpusmill {name}"
        with pytest.raises(SystemExit) as e:
            cli.main([name, "--help"])
        out = capsys.readouterr().out
        assert e.value.code == 0 and out.startswith(f"usage: corpusmill {name} ") and "--set SECTION.KEY=VALUE" in out
        assert "  -v, --verbose" in out and "  -q, --quiet" in out


def test_run_help_lists_the_stages_in_order():
    from corpusmill.jobs.pipeline import stages_by_name

    p = _cli("run", "--help")
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.split("stages, in order")[1].splitlines()[1:]
    listed = [ln.split()[0] for ln in lines if ln.startswith("  ") and ln.split()]
    stages = stages_by_name()
    assert listed == [s.name for s in stages] and len(listed) >= 7
    for st, ln in zip(stages, [ln for ln in lines if ln.startswith("  ")]):
        assert st.summary in ln and " -> " in ln     # one line each: inputs -> outputs: what it does


def test_hub_ids_with_and_without_an_organisation():
    from corpusmill.udfs.model_files import is_hub_id, is_remote

    for name in ("gpt2", "bert-base-uncased", "Qwen/Qwen2.5-0.5B", "org/name.v2"):
        assert is_hub_id(name), name
    for name in ("/abs/path", "./rel", "a/b/c", "s3a://bucket/model", "", "bad name", "x--"):
        assert not is_hub_id(name), name
    assert is_remote("s3a://b/m") and is_remote("hdfs://nn/m") and not is_remote("file:///m")
    assert not is_remote("/local/m")


def test_bare_hub_id_for_the_causal_lm_is_accepted(config_factory):
    """`gpt2` names a hub model: looked up in the Hugging Face cache, not refused as a path."""
    from corpusmill.jobs.stages.longctx import causal_spec
    from corpusmill.udfs.longctx.causal_lm import check_model

    spec = causal_spec(config_factory("longctx.coherence.model=gpt2"))
    assert spec.model == "gpt2"
    with pytest.raises(Exception, match=r"gpt2 is not a local directory and not in the local Hugging Face cache"):
        check_model(spec, "longctx.coherence.model")


@pytest.mark.slow
def test_model_on_another_file_system_is_staged_before_loading(spark, tmp_path, tiny_model):
    """A model directory given by a Hadoop URI (not a local path) is copied to every node, then loaded.

    `viewfs://` is Hadoop's mount-table file system, here mounted over a local folder: a URI that
    transformers cannot open, so only the staging makes it loadable."""
    import shutil

    from corpusmill.udfs.classifiers.classify import ClassifierSpec, score_column
    from corpusmill.udfs.model_files import local_path

    model_dir = tmp_path / "remote" / "staged-clf"
    shutil.copytree(tiny_model, model_dir)
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    hconf.set("fs.viewfs.mounttable.cmtest.link./models", f"file://{model_dir.parent}")
    uri = "viewfs://cmtest/models/staged-clf"
    df = spark.createDataFrame([("a river runs to the sea",), ("you are an idiot",), (None,)], "text string")
    spec = ClassifierSpec(model=uri, head="", strategy="head", max_length=256, batch_size=32, device="cpu",
                          precision="auto", sort_by_length=True, max_chunks=16, threads=0, runtime="auto",
                          cascade=True, band=[])
    got = score_column(df, "text", spec, "p").collect()
    assert [sorted(r.p) for r in got[:2]] == [["clean", "toxic"], ["clean", "toxic"]] and got[2].p is None
    staged = Path(local_path(uri))
    assert staged != model_dir and (staged / "config.json").is_file()
