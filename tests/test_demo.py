"""End to end: `corpusmill demo` on a small generated crawl (conftest's `demo_store`, built once per test run),
then the CLI, the persistent catalog, the notebooks and the README's and docs/' commands against the tables
it wrote."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import demo_sets, run_cli_batch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(demo_store):
    return demo_store


def test_demo_runs_every_stage_and_writes_the_report(demo):
    from corpusmill.jobs.stages import stage_names

    root, out = demo
    for stage in stage_names():
        assert f"] {stage}: success" in out, out[-3000:]
    report = next(ln for ln in out.splitlines() if ln.startswith("report: "))[8:]
    assert Path(report).exists() and "<img" in Path(report).read_text()


def test_demo_log_is_quiet(demo):
    """Progress and the user's warnings only: Spark's catalog and start-up chatter is filtered, the UI
    address is printed once, and no Java stack trace reaches the console."""
    _, out = demo
    lines = out.splitlines()
    assert sum("Spark UI: http" in ln for ln in lines) == 1
    for noise in ("CreateNamespaceExec", "Hive SerDe", "NativeCodeLoader", "HiveConf", "RetryingHMSHandler",
                  "resolves to a loopback address", "\tat org.apache"):
        assert not any(noise in ln for ln in lines), noise
    warns = [ln for ln in lines if " WARN " in ln]
    assert len(warns) <= 5, warns


def test_runs_add_up_and_every_document_is_accounted_for(demo):
    root, _ = demo
    from deltalake import DeltaTable

    wh = root / "warehouse"
    runs = [r for r in DeltaTable(str(wh / "runs")).to_pyarrow_table().to_pylist() if r["status"] == "success"]
    for r in runs:
        if r["stage"] in ("format", "rules", "dedup", "safety", "pii", "decontam", "quality"):
            assert r["rows_in"] == r["rows_out"] + r["rows_rejected"], r
    by = {r["stage"]: r for r in runs}
    chain = ["format", "rules", "dedup", "safety", "pii", "decontam", "quality"]
    for up, down in zip(chain, chain[1:]):
        assert by[down]["rows_in"] == by[up]["rows_out"], (up, down)
    assert by["quality"]["rows_out"] == DeltaTable(str(wh / "pretrain")).to_pyarrow_table().num_rows > 0


def test_sql_and_tables_use_the_persistent_catalog(demo):
    root, _ = demo
    (rc1, rows, err1), (rc2, shown, err2), (rc3, tables, err3) = run_cli_batch(root, [
        ["sql", "--json", "SELECT stage, count(*) AS n FROM rejected GROUP BY stage ORDER BY stage"],
        ["sql", "SHOW TABLES IN corpusmill"],
        ["tables"]])
    assert rc1 == 0, err1[-3000:]
    rows = [json.loads(ln) for ln in rows.splitlines() if ln.startswith("{")]
    assert {r["stage"] for r in rows} >= {"format", "rules", "dedup"}
    assert rc2 == 0 and "pretrain" in shown and "documents" in shown, err2[-3000:]
    assert rc3 == 0 and "pretrain" in tables, err3[-3000:]


@pytest.mark.parametrize("name", ["explore_tables.ipynb", "inspect_longctx_and_code.ipynb"])
def test_notebooks_execute_against_the_demo_tables(demo, name, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    root, _ = demo
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    monkeypatch.setenv("CORPUSMILL_SET", ";".join(demo_sets(root)))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


# ---- README and docs/ examples: every `corpusmill` line of a fenced block runs against the demo's tables ---
ILLUSTRATIVE = "<!-- illustrative"   # a block marked so needs the user's own data: its lines are only parsed


def doc_pages() -> list[Path]:
    """README.md, then every docs/*.md page: the files whose examples run against the demo."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def readme_commands() -> list[tuple[str, str, bool]]:
    """(page, command line, illustrative) for each `corpusmill ...` line in the fenced blocks of README.md
    and docs/*.md, in that order; page is the path from the checkout (docs/sql.md)."""
    out = []
    for page in doc_pages():
        name, in_block, marked, prev = page.relative_to(ROOT).as_posix(), False, False, ""
        for line in page.read_text().splitlines():
            if line.startswith("```"):
                in_block = not in_block
                marked = in_block and prev.startswith(ILLUSTRATIVE)
            elif in_block and line.startswith("corpusmill "):
                out.append((name, line.split(" #", 1)[0].strip(), marked))
            if line.strip():
                prev = line.strip()
        assert not in_block, f"{name}: a code fence is not closed"
    return out


def test_readme_lists_commands_both_ways():
    """The README has lines that run and lines that are only parsed; the docs/ pages' lines are read too."""
    cmds = readme_commands()
    readme = [ill for page, _, ill in cmds if page == "README.md"]
    assert any(not ill for ill in readme) and any(readme), cmds
    docs = {page for page, _, _ in cmds if page != "README.md"}
    assert docs and all(page.startswith("docs/") for page in docs), docs


def _readme_conf(root: Path) -> Path:
    conf = root.parent / "my.yaml"
    conf.write_text(f"storage:\n  root: {root}\nspark:\n  master: local[2]\n  driver_memory: 3g\n"
                    f"  shuffle_partitions: 4\ndemo:\n  pages_per_dump: 40\n")
    return conf


def test_readme_illustrative_lines_parse(tmp_path):
    """Lines that need the user's own data go through the real parser and config loader (unknown keys
    and bad values fail here)."""
    import shlex

    from corpusmill.jobs import cli
    from corpusmill.jobs.registry import load_config

    conf = _readme_conf(tmp_path / "store")
    for page, line, illustrative in readme_commands():
        if illustrative:
            args = cli.build_parser().parse_args([a.replace("my.yaml", str(conf)) for a in shlex.split(line)[1:]])
            load_config(args.conf, args.set)


def test_readme_examples_run(demo):
    """Runnable lines run for real against the demo's tables, each through the CLI's entry point with
    exit code 0 (all in one process: conftest.run_cli_batch)."""
    import shlex

    root, _ = demo
    runnable = [(page, line) for page, line, illustrative in readme_commands() if not illustrative]
    results = run_cli_batch(root, [shlex.split(line)[1:] for _, line in runnable])
    for (page, line), (rc, out, err) in zip(runnable, results):
        assert rc == 0, (page, line, out[-2000:], err[-3000:])
