"""The code's shape: dependencies point down, no import cycles, and a stage is one module.

Layers, bottom to top: udfs, schemas, jobs.core, jobs.training, jobs.stages, jobs.pipeline,
jobs.tools, jobs.registry, jobs.cli. A module may import its own layer's modules and those below;
stages never import each other (shared stage code sits in jobs/stages/classifier_stage.py and
jobs/stages/blocklists.py).
The sample generator (samplegen) imports nothing of the product, and only the demo imports it.
Every `corpusmill.*` import resolves from the files alone (basedpyright, as an IDE would).
"""
from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from pyspark.sql import functions as F

LAYERS = ["udfs", "schemas", "jobs.core", "jobs.training", "jobs.stages", "jobs.pipeline", "jobs.tools",
          "jobs.registry", "jobs.cli"]
PROJECT = ("jobs", "udfs", "schemas", "samplegen")
NAMESPACE = "corpusmill"      # the one import name: jobs/ is imported as corpusmill.jobs, and so on
SHARED_STAGE_MODULES = {"jobs.stages.classifier_stage", "jobs.stages.blocklists", "jobs.stages.benchmark_index"}
DEMO_MODULES = {"jobs.tools.demo_assets"}    # the only product module that imports the sample generator


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PROJECT:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _imports(path: Path, known: set[str]) -> set[str]:
    """Project modules path imports, at top level or in functions; a `__main__` block is an entry
    point (it runs only as a script), not a dependency of the module."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node) -> None:
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.If) and isinstance(child.test, ast.Compare)
                    and getattr(child.test.left, "id", "") == "__name__"):
                continue
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [f"{child.module}.{a.name}" for a in child.names] + [child.module]
            else:
                visit(child)
                continue
            for n in names:
                if n.startswith(NAMESPACE + "."):
                    m = resolve(n[len(NAMESPACE) + 1:])
                    if m:
                        found.add(m)
    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        deps = _imports(path, known)
        # importing a package's submodule imports the package itself: not an edge worth checking
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


def _layer(module: str) -> int | None:
    best = None
    for i, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(LAYERS[best]) < len(prefix):
                best = i
    return best


def test_dependencies_point_down():
    upward = []
    for mod, deps in _graph().items():
        if mod.startswith("samplegen"):
            upward += [f"{mod} -> {d}" for d in deps if not d.startswith("samplegen")]
            continue
        for d in deps:
            if d.startswith("samplegen"):
                if mod not in DEMO_MODULES:
                    upward.append(f"{mod} -> {d} (only the demo, {', '.join(sorted(DEMO_MODULES))}, uses the "
                                  f"sample generator)")
                continue
            lm, ld = _layer(mod), _layer(d)
            if lm is None or ld is None or ld > lm:
                upward.append(f"{mod} -> {d}")
            elif (lm == ld == LAYERS.index("jobs.stages") and mod != "jobs.stages"
                  and d not in SHARED_STAGE_MODULES and d != "jobs.stages"):
                upward.append(f"{mod} -> {d} (a stage importing another stage)")
    assert not upward, "imports against the layering:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def dfs(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                dfs(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            dfs(n)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from corpusmill.jobs.core.config import ConfigError\n\ndef f():\n    from corpusmill.jobs.cli import main\n")
    found = _imports(bad, set(_modules()))
    assert found == {"jobs.core.config", "jobs.cli"}
    assert _layer("udfs.format.extract") < _layer("jobs.core.config") < _layer("jobs.cli")


@pytest.mark.slow
def test_imports_resolve_from_the_files_alone():
    """basedpyright over jobs/, udfs/, schemas/ and samplegen/ with pyproject.toml's [tool.pyright]
    settings: no unresolved import (corpusmill/jobs -> ../jobs and the other symlinks), nothing else
    it is set to report."""
    import json
    import subprocess

    p = subprocess.run([sys.executable, "-m", "basedpyright", "--outputjson", "--pythonpath", sys.executable],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    report = json.loads(p.stdout)
    problems = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d.get('rule')}: {d['message']}"
                for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert not problems and p.returncode == 0, "\n".join(problems) or p.stderr[-2000:]
    assert report["summary"]["filesAnalyzed"] >= len(_modules())


def test_every_stage_output_has_a_schema_module():
    from corpusmill.jobs.stages import all_stages

    stages = all_stages()
    assert [s.name for s in stages] == ["format", "rules", "dedup", "safety", "pii", "decontam", "quality", "longctx",
                                           "code"]
    for s in stages:
        for table in s.outputs:
            assert (ROOT / "schemas" / f"{table}.py").is_file(), (s.name, table)


def test_stage_scripts_do_not_shadow_the_standard_library():
    """`spark-submit jobs/stages/<stage>.py` puts jobs/stages first on sys.path."""
    names = {f.stem for f in (ROOT / "jobs" / "stages").glob("*.py")}
    assert not names & set(sys.stdlib_module_names)


EXAMPLE_STAGE = '''
"""`wordcount`: an example stage; keeps documents with at least `min_words` words."""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.core.stage import Counts, Stage, fingerprint_tables, run_stage
from corpusmill.schemas.base import Column, table

TABLE = table("wordcounts", "documents with enough words", Column("doc_id", StringType(), "document id"),
              Column("words", LongType(), "words in the text"))


@dataclass
class WordcountConfig:
    input_table: str
    min_words: int

    def __post_init__(self):
        if self.min_words < 0:
            raise ConfigError(f"wordcount.min_words: must be >= 0, got {self.min_words}")


def run(spark, config, *, force=False, inputs=None, run_id=None):
    cfg = config.wordcount

    def body(ctx):
        docs = tableio.read_table(spark, config, cfg.input_table)
        counted = docs.withColumn("words", F.size(F.split(F.trim("text"), r"\\s+")).cast("long"))
        version = ctx.write_output(TABLE, counted.where(F.col("words") >= cfg.min_words).select("doc_id", "words"))
        n_rej = ctx.write_rejected(counted.where(F.col("words") < cfg.min_words)
                                   .select("doc_id", F.lit("too_few_words").alias("reason")))
        return Counts(docs.count(), ctx.rows_written("wordcounts"), n_rej, version)

    return run_stage(spark, config, "wordcount", inputs=[cfg.input_table],
                     input_fingerprint=fingerprint_tables(spark, config, [cfg.input_table]), body=body,
                     force=force, run_id=run_id)


STAGE = Stage(name="wordcount", order=25, summary="count words", section=WordcountConfig, run=run,
              inputs=("documents",), outputs=("wordcounts",))
'''


@pytest.fixture
def extra_stage(tmp_path):
    """The example stage as one module in a folder the stage package also searches."""
    import corpusmill.jobs.stages

    folder = tmp_path / "more_stages"
    folder.mkdir()
    (folder / "wordcount.py").write_text(textwrap.dedent(EXAMPLE_STAGE))
    corpusmill.jobs.stages.__path__.append(str(folder))
    yield
    corpusmill.jobs.stages.__path__.remove(str(folder))
    sys.modules.pop("corpusmill.jobs.stages.wordcount", None)


def test_a_new_stage_is_one_module_and_one_yaml_section(spark, tmp_path, extra_stage):
    from corpusmill.jobs.cli import build_parser
    from corpusmill.jobs.core import tableio
    from corpusmill.jobs.core.config import ConfigError
    from corpusmill.jobs.pipeline import run_pipeline, stages_by_name
    from corpusmill.jobs.registry import load_config
    from corpusmill.schemas import documents

    conf = tmp_path / "conf.yaml"
    conf.write_text(f"storage: {{root: {tmp_path / 'store'}, catalog: none}}\n"
                    "spark: {master: 'local[2]', shuffle_partitions: 4}\n"
                    "wordcount: {input_table: documents, min_words: 3}\n")
    config = load_config(str(conf))
    assert config.wordcount.min_words == 3
    with pytest.raises(ConfigError, match="wordcount.min_words"):
        load_config(str(conf), ["wordcount.min_words=-1"])
    with pytest.raises(ConfigError, match="wordcount.bogus: unknown key"):
        load_config(str(conf), ["wordcount.bogus=1"])
    assert [s.name for s in stages_by_name()][:4] == ["format", "rules", "wordcount", "dedup"]
    run_help = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]
    assert "wordcount" in run_help.format_help()

    texts = {"a": "one two three four", "b": "too short", "c": "five words are in here"}
    rows = [{c: None for c in documents.TABLE.column_names} | {"doc_id": k, "text": v, "source_type": "web",
                                                                 "language": "en"}
            for k, v in texts.items()]
    tableio.write_table(spark, config, documents.TABLE,
                        spark.createDataFrame(rows, schema=documents.TABLE.schema))
    (result,) = run_pipeline(spark, config, ["wordcount"])
    assert (result.status, result.rows_in, result.rows_out, result.rows_rejected) == ("success", 3, 2, 1)
    kept = {r.doc_id: r.words for r in tableio.read_table(spark, config, "wordcounts").collect()}
    assert kept == {"a": 4, "c": 5}
    rejected = tableio.read_table(spark, config, "rejected").where(F.col("stage") == "wordcount").collect()
    assert [(r.doc_id, r.reason) for r in rejected] == [("b", "too_few_words")]
    runs = tableio.read_table(spark, config, "runs").where(F.col("stage") == "wordcount").collect()
    assert [r.status for r in runs] == ["success"]
    (again,) = run_pipeline(spark, config, ["wordcount"])
    assert again.status == "skipped"
