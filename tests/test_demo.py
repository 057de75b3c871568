"""End to end: `corpusmill demo` on a small generated crawl, then the CLI, the persistent catalog
and the notebooks against the tables it wrote."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETS = ["storage.root={root}", "demo.pages_per_dump=40", "spark.master=local[2]", "spark.driver_memory=3g",
        "spark.shuffle_partitions=4"]


def _cli(root: Path, *args: str, timeout=600) -> subprocess.CompletedProcess:
    sets = [x for s in SETS for x in ("--set", s.format(root=root))]
    return subprocess.run([sys.executable, "-m", "jobs.cli", args[0], *sets, *args[1:]], capture_output=True,
                          text=True, timeout=timeout, cwd=str(root.parent))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "store"
    p = _cli(root, "demo", timeout=3000)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
    return root, p.stdout


def test_demo_runs_every_stage_and_writes_the_report(demo):
    from jobs.pipeline import STAGES

    root, out = demo
    for stage in STAGES:
        assert f"] {stage}: success" in out, out[-3000:]
    report = next(ln for ln in out.splitlines() if ln.startswith("report: "))[8:]
    assert Path(report).exists() and "<img" in Path(report).read_text()


def test_runs_add_up_and_every_document_is_accounted_for(demo):
    root, _ = demo
    from deltalake import DeltaTable

    wh = root / "warehouse"
    runs = [r for r in DeltaTable(str(wh / "runs")).to_pyarrow_table().to_pylist() if r["status"] == "success"]
    for r in runs:
        if r["stage"] in ("format", "rules", "dedup", "safety", "quality"):
            assert r["rows_in"] == r["rows_out"] + r["rows_rejected"], r
    by = {r["stage"]: r for r in runs}
    chain = ["format", "rules", "dedup", "safety", "quality"]
    for up, down in zip(chain, chain[1:]):
        assert by[down]["rows_in"] == by[up]["rows_out"], (up, down)
    assert by["quality"]["rows_out"] == DeltaTable(str(wh / "pretrain")).to_pyarrow_table().num_rows > 0


def test_sql_and_tables_use_the_persistent_catalog(demo):
    root, _ = demo
    p = _cli(root, "sql", "--json", "SELECT stage, count(*) AS n FROM rejected GROUP BY stage ORDER BY stage")
    assert p.returncode == 0, p.stderr[-3000:]
    rows = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    assert {r["stage"] for r in rows} >= {"format", "rules", "dedup"}
    p = _cli(root, "sql", "SHOW TABLES IN corpusmill")
    assert p.returncode == 0 and "pretrain" in p.stdout and "documents" in p.stdout
    p = _cli(root, "tables")
    assert p.returncode == 0 and "pretrain" in p.stdout


@pytest.mark.parametrize("name", ["explore_tables.ipynb", "inspect_longctx_and_code.ipynb"])
def test_notebooks_execute_against_the_demo_tables(demo, name, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    root, _ = demo
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    monkeypatch.setenv("CORPUSMILL_SET", ";".join(s.format(root=root) for s in SETS))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
