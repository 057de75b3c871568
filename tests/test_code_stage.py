"""The `code` stage end to end on Spark + Delta: ingest, flags, dedup, ordering, markdown, packing."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, make_config
from pyspark.sql import functions as F

from corpusmill.jobs import cli
from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.stages import code_repos
from corpusmill.jobs.tools import export
from corpusmill.samplegen import code_repos as sg
from corpusmill.schemas import code_files as files_schema
from corpusmill.schemas import code_samples as samples_schema
from corpusmill.schemas.base import assert_matches
from corpusmill.udfs.code import order as co
from corpusmill.udfs.code import pack as pk


DEMO_REPOS = "code.inputs=[samples/code/repos/*]"   # where sg.generate_for_config writes (conf/demo.yaml's code.inputs)


def _tokenizer(cfg) -> pk.CodeTokenizer:
    spec, _ = code_repos.resolve_tokenizer(None, cfg, None)
    return pk.get_tokenizer(spec)


def _files(spark, cfg) -> pd.DataFrame:
    return tableio.read_table(spark, cfg, "code_files").drop("content").toPandas()


def _samples(spark, cfg) -> list:
    return tableio.read_table(spark, cfg, "code_samples").orderBy("repo", "subtree", "sample_index").collect()


def _sequence(samples, repo: str, subtree: str | None = None) -> list[str]:
    """Paths of a repository in sample order (a split file counted at its first part)."""
    seq: list[str] = []
    for s in samples:
        if subtree is not None and s.subtree != subtree:
            continue
        for f in s.files:
            if f.repo == repo and f.path not in seq:
                seq.append(f.path)
    return seq


# ---- run A: the demo repositories with every default (32K budget, dependency order, MinHash) ----
@pytest.fixture(scope="module")
def run_a(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("code-a")
    cfg = make_config(root, DEMO_REPOS)
    repos = sg.generate_for_config(cfg)
    result = code_repos.run(spark, cfg)
    return cfg, result, repos


@pytest.mark.slow
def test_demo_repositories_flags_dedup_and_counts(spark, run_a):
    cfg, result, _ = run_a
    assert result.status == "success"
    files = _files(spark, cfg)
    assert_matches(tableio.read_table(spark, cfg, "code_files").schema, files_schema.TABLE)
    assert_matches(tableio.read_table(spark, cfg, "code_samples").schema, samples_schema.TABLE)
    assert result.rows_in == len(files) == result.rows_out + result.rows_rejected
    assert result.rows_out == int(files.keep.sum())
    by = {(r.repo, r.path): r for r in files.itertuples()}
    assert ("gosvc", "scratch_uncommitted.go") not in by and ("gosvc", "main.go") in by
    expect = {
        ("pyapp", "assets/logo.png"): "binary", ("pyapp", "pkg/proto/msg_pb2.py"): "generated",
        ("pyapp", "vendor/six.py"): "vendored", ("webui", "node_modules/left-pad/index.js"): "vendored",
        ("webui", "dist/bundle.min.js"): "minified", ("webui", "package-lock.json"): "lock",
        ("pyapp", "poetry.lock"): "lock", ("gosvc", "go.sum"): "lock", ("pyapp", "pkg/proto/__init__.py"): "empty",
        ("pyapp", "LICENSE"): "exact_duplicate", ("webui", "LICENSE"): "exact_duplicate",
        ("pytools", "tools/textutil.py"): "near_duplicate",
    }
    for key, reason in expect.items():
        assert not by[key].keep and reason in list(by[key].reasons), (key, by[key].reasons)
    assert by[("gosvc", "LICENSE")].keep          # the smallest (repo, path) copy is kept
    assert by[("pyapp", "LICENSE")].duplicate_of == by[("gosvc", "LICENSE")].file_id
    assert by[("pytools", "tools/textutil.py")].duplicate_of == by[("pyapp", "pkg/util.py")].file_id
    assert by[("pytools", "tools/textutil.py")].duplicate_kind == "near"
    rejected = tableio.read_table(spark, cfg, "rejected").where("stage = 'code'").toPandas()
    assert len(rejected) == result.rows_rejected
    assert set(rejected.doc_id) == set(files.file_id[~files.keep])
    rej = rejected.set_index("source_record")
    assert rej.loc["pytools:tools/textutil.py", "reason"] == "near_duplicate"
    assert rej.loc["pyapp:assets/logo.png", "reason"] == "binary"
    runs = tableio.read_table(spark, cfg, "runs").where("stage = 'code'").collect()
    assert [(r.rows_in, r.rows_out, r.rows_rejected) for r in runs] == [(54, result.rows_out, result.rows_rejected)]


@pytest.mark.slow
def test_demo_samples_order_format_and_budget(spark, run_a):
    cfg, _, _ = run_a
    files = _files(spark, cfg)
    samples = _samples(spark, cfg)
    tok = _tokenizer(cfg)
    assert {s.repo for s in samples} == {"gosvc", "jvmkit", "pyapp", "pytools", "rustlib", "webui"}
    for s in samples:
        assert s.kind == "whole" and s.ordering == "dependency"
        assert s.token_count == tok.count([s.text])[0] <= 32768
        assert s.text.startswith(f"# Repository: {s.repo}\n\n")
    kept = {(r.repo, r.path) for r in files.itertuples() if r.keep}
    packed = [(f.repo, f.path) for s in samples for f in s.files]
    assert sorted(packed) == sorted(kept)         # every kept file exactly once, nothing else
    seq = {repo: _sequence(samples, repo) for repo in {s.repo for s in samples}}

    def before(repo, a, b):
        return seq[repo].index(a) < seq[repo].index(b)

    assert seq["pyapp"][0] == "README.md"
    assert before("pyapp", "pkg/util.py", "pkg/core.py") and before("pyapp", "pkg/models.py", "pkg/core.py")
    assert before("pyapp", "pkg/core.py", "pkg/cli.py") and before("pyapp", "pkg/core.py", "tests/test_core.py")
    assert before("pyapp", "pkg/a.py", "pkg/b.py")                 # cycle broken alphabetically
    assert next(s for s in samples if s.repo == "pyapp").cycle_breaks == 1
    w = seq["webui"]
    assert before("webui", "src/components/Button.tsx", "src/app.tsx") and before("webui", "src/app.tsx", "src/index.ts")
    assert before("webui", "src/utils/pad.js", "src/utils/format.js")
    assert w.index("src/components/README.md") == w.index("src/components/Button.tsx") - 1
    assert before("gosvc", "internal/store/store.go", "main.go") and before("gosvc", "csrc/hash.h", "csrc/hash.c")
    assert before("rustlib", "src/lexer.rs", "src/parser.rs") and before("rustlib", "src/parser.rs", "src/lib.rs")
    assert before("jvmkit", "src/main/java/com/acme/util/Strings.java", "src/main/java/com/acme/App.java")
    pyapp = next(s for s in samples if s.repo == "pyapp").text
    assert ("### pkg/core.py\n> Python file. Core logic: greets people using the helpers. Defines: Greeter.\n\n"
            "```python\n\"\"\"Core logic") in pyapp
    assert "### README.md\n\n# pyapp\n" in pyapp and "```markdown" not in pyapp


@pytest.mark.slow
def test_rerun_is_skipped_and_force_is_deterministic(spark, run_a):
    cfg, first, _ = run_a
    assert code_repos.run(spark, cfg).status == "skipped"
    before = {s.sample_id: s.text for s in _samples(spark, cfg)}
    assert code_repos.run(spark, cfg, force=True).status == "success"
    assert {s.sample_id: s.text for s in _samples(spark, cfg)} == before


# ---- run B: known import graphs, a monorepo, a bare git repo, a table, a corrupt archive, this project ----
@pytest.fixture(scope="module")
def run_b(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("code-b")
    src = root / "inputs"
    dag = sg.python_graph(40, 90, seed=1)
    cyc = sg.python_graph(25, 60, seed=2, cyclic=True)
    sg.write_python_graph_repo(src / "dag", dag, body_lines=12)
    sg.write_python_graph_repo(src / "cyc", cyc)
    mono = {f"svc{k}/mod{i:02d}.py": f'"""Service {k} module {i}."""\n' + "".join(
        f"\n\ndef f{i}_{j}(x):\n    return x + {j}\n" for j in range(6)) for k in range(4) for i in range(30)}
    mono["README.md"] = "# mono\n"
    sg._write_tree(src / "mono", mono)
    work = root / "work" / "lib"
    sg.git_commit_tree(work, {"lib/core.py": "from lib.util import h\n\n\ndef g():\n    return h()\n",
                              "lib/util.py": "def h():\n    return 1\n"})
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(src / "barelib.git")], check=True)
    pd.DataFrame({"repo": ["tbl1", "tbl1", "tbl2"], "path": ["a.py", "b.py", "main.c"],
                  "content": ["import b\n\n\ndef a():\n    return b.b()\n", "def b():\n    return 2\n",
                              "int main(void) { return 0; }\n"]}).to_parquet(src / "table.parquet")
    (src / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08 corrupt")
    inputs = [str(src / n) for n in ("dag", "cyc", "mono", "barelib.git", "table.parquet", "broken.tar.gz")]
    # this project's own repository: a bare clone, so commits landing during the test do not race it
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(src / "corpusmill.git")], check=True)
    inputs.append(str(src / "corpusmill.git"))
    cfg = make_config(root, "code.near_dedup=false", "code.max_tokens=1024", "code.max_group_files=60",
                      f"code.inputs={inputs!r}".replace("'", '"'), "code.min_fill_split_tokens=48")
    result = code_repos.run(spark, cfg)
    return cfg, result, dag, cyc


@pytest.mark.slow
def test_import_graph_order_on_spark(spark, run_b):
    cfg, result, dag, cyc = run_b
    assert result.status == "success"
    samples = _samples(spark, cfg)
    tok = _tokenizer(cfg)
    for s in samples:
        assert s.token_count == tok.count([s.text])[0] <= 1024
    seq = _sequence(samples, "dag")
    pos = {p.rsplit("/", 1)[-1][:-3]: i for i, p in enumerate(seq) if p.endswith(".py")}
    # every module's first part comes after the last part of each module it imports
    last = {}
    for i, (s, f) in enumerate((s, f) for s in samples if s.repo == "dag" for f in s.files):
        last[f.path.rsplit("/", 1)[-1][:-3]] = i
    first = {}
    for i, (s, f) in enumerate((s, f) for s in samples if s.repo == "dag" for f in s.files):
        first.setdefault(f.path.rsplit("/", 1)[-1][:-3], i)
    for mod, deps in dag.items():
        for d in deps:
            assert last[d] < first[mod], (d, mod)
    assert all(s.cycle_breaks == 0 for s in samples if s.repo == "dag")
    for k in range(3):
        assert seq.index(f"pkg/sub{k}/README.md") < min(i for i, p in enumerate(seq)
                                                        if p.startswith(f"pkg/sub{k}/m"))
    assert len(pos) == len(dag)
    # the cyclic graph: the same order as the pure function, cycles counted
    cyc_seq = _sequence(samples, "cyc")
    paths = [p for p in cyc_seq]
    where = {m: p for p in paths for m in [p.rsplit("/", 1)[-1][:-3]] if m in cyc}
    imports = {where[m]: [where[d] for d in deps] for m, deps in cyc.items()}
    docs = {p for p in paths if p.endswith(".md")}
    expect, breaks = co.dependency_order(sorted(paths), imports, docs)
    assert cyc_seq == expect and breaks > 0
    assert {s.cycle_breaks for s in samples if s.repo == "cyc"} == {breaks}


@pytest.mark.slow
def test_splits_fill_monorepo_table_bare_git_and_corrupt_input(spark, run_b):
    cfg, result, _, _ = run_b
    files = _files(spark, cfg)
    samples = _samples(spark, cfg)
    assert result.rows_in == result.rows_out + result.rows_rejected
    # huge repository split by top-level folder; each group under the cap
    mono = [s for s in samples if s.repo == "mono"]
    assert {s.subtree for s in mono} == {"", "svc0", "svc1", "svc2", "svc3"}    # "" = files at the root
    for s in mono:
        if s.subtree:
            assert s.text.startswith(f"# Repository: mono ({s.subtree}/, part {s.sample_index + 1})\n\n")
            assert all(f.path.startswith(s.subtree + "/") for f in s.files)
        else:
            assert s.text.startswith("# Repository: mono\n\n") and [f.path for f in s.files] == ["README.md"]
    # samples cut from large repositories fill the budget
    # (the generated repositories only: this project's own repository changes with every commit; at this
    # 1024-token budget its cut samples filled 90-100% in 345 of 373 cases on 2026-11-28)
    cut = [s for s in samples if s.kind == "cut" and s.sample_index < s.num_samples - 1
           and s.repo in ("dag", "cyc", "mono")]
    assert len(cut) > 20
    assert sum(0.9 <= s.fill <= 1.0 for s in cut) / len(cut) >= 0.95
    # table input and bare git repo
    assert _sequence(samples, "tbl1") == ["b.py", "a.py"] and _sequence(samples, "tbl2") == ["main.c"]
    assert _sequence(samples, "barelib") == ["lib/util.py", "lib/core.py"]
    broken = files[files.repo == "broken"]
    assert len(broken) == 1 and list(broken.reasons.iloc[0]) == ["unreadable"]
    # this project's own repository, read from its committed tree
    clone = Path(cfg.storage.root) / "inputs" / "corpusmill.git"
    tree = subprocess.run(["git", f"--git-dir={clone}", "ls-tree", "-r", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.splitlines()
    head = [ln.split("\t", 1)[1] for ln in tree if not ln.startswith("120000 ")]     # symlinks are no content
    own = files[files.repo == "corpusmill"]
    assert sorted(own.path) == sorted(head) and len(head) < len(tree)
    kept_py = set(own[own.keep & own.path.str.endswith(".py")].path)
    assert kept_py and kept_py <= set(_sequence(samples, "corpusmill"))


@pytest.mark.slow
def test_pack_small_depth_first_regex(spark, tmp_path):
    cfg = make_config(tmp_path, DEMO_REPOS, "code.near_dedup=false", "code.exact_dedup=false", "code.max_tokens=3000",
                      "code.pack_small=true", "code.ordering=depth_first", "code.tokenizer=regex")
    sg.generate_for_config(cfg)
    assert code_repos.run(spark, cfg).status == "success"
    samples = _samples(spark, cfg)
    tok = pk.get_tokenizer("regex")
    packed = [s for s in samples if s.kind == "packed"]
    assert packed and all(len(s.repos) > 1 for s in packed)
    for s in samples:
        assert s.token_count == tok.count([s.text])[0] <= 3000 and s.tokenizer.startswith("regex@")
    seq = _sequence(samples, "pyapp")
    assert seq == co.depth_first_order(seq, {p for p in seq if p.endswith(".md") or p == "LICENSE"})
    kept = tableio.read_table(spark, cfg, "code_files").where("keep").count()
    assert sum(s.num_files for s in samples) >= kept


def test_bad_config_and_inputs(spark, config_factory, tmp_path):
    with pytest.raises(ConfigError, match="code.inputs"):
        code_repos.run(spark, config_factory(f"code.inputs=[{tmp_path}/missing/*]"))
    with pytest.raises(ConfigError, match="code.reject"):
        code_repos.run(spark, config_factory("code.reject=[binary, shiny]"))
    with pytest.raises(ConfigError, match="code.ordering"):
        code_repos.run(spark, config_factory("code.ordering=random"))
    with pytest.raises(ConfigError, match="code.file_header"):
        code_repos.run(spark, config_factory("code.file_header={path}{oops}"))
    cfg = config_factory(f"code.inputs=[{tmp_path}/nothing]")
    (tmp_path / "r1").mkdir()
    srcs = code_repos.resolve_inputs(cfg, [f"code:{tmp_path}/r1", "some.warc.gz"])
    assert [(s.repo, s.kind) for s in srcs] == [("r1", "dir")]


@pytest.mark.slow
def test_export_shards(spark, run_a, tmp_path):
    import dataclasses
    import gzip
    import json

    cfg, _, _ = run_a
    out = tmp_path / "shards"
    assert cli.main(["export", "--out", str(out), "--shard-size", "2", "--set", f"storage.root={cfg.storage.root}"]) == 0
    files = sorted(out.glob("part-*.jsonl.gz"))
    rows = [json.loads(line) for f in files for line in gzip.open(f, "rt")]
    samples = _samples(spark, cfg)
    assert [r["sample_id"] for r in rows] == sorted(s.sample_id for s in samples)
    assert len(files) == -(-len(samples) // 2)
    r = next(r for r in rows if r["repo"] == "pyapp")
    assert r["text"].startswith("# Repository: pyapp") and r["files"][0] == "README.md" and r["token_count"] > 0
    res = export.export_table(spark, cfg, str(tmp_path / "pq"), dataclasses.replace(cfg.export, format="parquet"))
    assert (res.rows, res.files) == (len(samples), ["part-00000-000.parquet"])
    # megatron with the code stage's own tokenizer (export.tokenizer ""): its exact counts + one EOD per sample
    res = export.export_table(spark, cfg, str(tmp_path / "meg"), dataclasses.replace(cfg.export, format="megatron"))
    manifest = json.loads((tmp_path / "meg" / "_manifest.json").read_text())
    assert manifest["tokenizer"].endswith("code-bpe") and manifest["eod_token"] == "<|endoftext|>"
    assert manifest["tokens"] == sum(s.token_count for s in samples) + len(samples)
    with pytest.raises(ConfigError):
        dataclasses.replace(cfg.export, format="csv")


def test_git_fingerprint_follows_commits_not_the_work_tree(spark, config, tmp_path):
    repo = tmp_path / "g"
    sg.git_commit_tree(repo, {"a.py": "x = 1\n"})
    srcs = [code_repos.ingest.Source("g", str(repo), "git")]
    fp1 = code_repos.input_fingerprint(spark, config.code, srcs)
    (repo / "a.py").write_text("x = 2  # not committed\n")
    assert code_repos.input_fingerprint(spark, config.code, srcs) == fp1
    sg.git_commit_tree(repo, {"a.py": "x = 3\n"}, message="two")
    assert code_repos.input_fingerprint(spark, config.code, srcs) != fp1
