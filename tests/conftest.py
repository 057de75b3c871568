"""One Spark session for the whole suite; each test gets its own storage root."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def make_config(root: Path, *overrides: str, conf: str | None = None):
    from corpusmill.jobs.registry import load_config

    return load_config(conf, [f"storage.root={root}", "spark.master=local[2]", "spark.driver_memory=2g",
                              "spark.shuffle_partitions=4", "storage.catalog=none",
                              *overrides])


def pytest_collection_modifyitems(config, items):
    """A test that reads the demo store (minutes to build, once per run) is slow."""
    for item in items:
        if "demo_store" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from corpusmill.jobs.core.session import get_spark

    cfg = make_config(tmp_path_factory.mktemp("spark-session"))
    session = get_spark(cfg)
    yield session
    session.stop()


@pytest.fixture
def config(tmp_path):
    """A fresh config whose tables live under this test's tmp dir."""
    return make_config(tmp_path)


@pytest.fixture
def config_factory(tmp_path):
    def make(*overrides: str):
        return make_config(tmp_path, *overrides)

    return make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $CORPUSMILL_SHARED_DATA); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def ut1_adult(folder: Path) -> Path:
    """A small UT1 blocklist folder: category adult with one domain (hot-xxx.net) and one URL prefix
    (mixed-site.com/adult), as the safety and format tests block them."""
    (folder / "adult").mkdir(parents=True)
    (folder / "adult" / "domains").write_text("hot-xxx.net\n")
    (folder / "adult" / "urls").write_text("mixed-site.com/adult\n")
    (folder / "adult" / "usage").write_text("black\n")
    return folder


# ---- the demo's store: one `corpusmill demo` per test run, read by every test that only reads it ------------
# smaller than `corpusmill demo`'s: 40 pages per dump; classifiers from 32 examples, one epoch (their
# quality is not what these tests read; the training path is test_train_classifier's and test_cascade's)
DEMO_SETS = ["storage.root={root}", "demo.pages_per_dump=40", "demo.classifier_examples=32", "demo.classifier_epochs=1",
             "spark.master=local[2]", "spark.driver_memory=3g", "spark.shuffle_partitions=4"]


def demo_sets(root: Path) -> list[str]:
    return [s.format(root=root) for s in DEMO_SETS]


def run_cli(root: Path, *args: str, timeout=600) -> subprocess.CompletedProcess:
    """`corpusmill ARGS --set ...` in a new process, with the demo store's settings, from root's parent."""
    sets = [x for s in demo_sets(root) for x in ("--set", s)]
    return subprocess.run([sys.executable, "-m", "corpusmill", args[0], *sets, *args[1:]], capture_output=True,
                          text=True, timeout=timeout, cwd=str(root.parent))


BATCH = r"""
import json, sys
from corpusmill.jobs import cli
for argv in json.loads(sys.argv[1]):
    try:
        rc = cli.main(argv)
    except SystemExit as e:                     # --help, --version and argparse errors
        rc = e.code if isinstance(e.code, int) else int(e.code is not None)
    for stream in (sys.stdout, sys.stderr):
        print("\n" + MARK + json.dumps(rc), file=stream, flush=True)
""".replace("MARK", repr("@@corpusmill-batch "))


def run_cli_batch(root: Path, commands: list[list[str]], timeout=1200) -> list[tuple[int, str, str]]:
    """Several `corpusmill` command lines (argv lists; each gets the demo store's settings) run one after
    the other in ONE new process through the CLI's own entry point (`cli.main`), from root's parent: one
    interpreter and JVM start instead of one each. Returns (exit code, stdout, stderr) per command."""
    sets = [x for s in demo_sets(root) for x in ("--set", s)]
    argvs = [[a[0], *sets, *a[1:]] for a in commands]
    p = subprocess.run([sys.executable, "-c", BATCH, json.dumps(argvs)], capture_output=True, text=True,
                       timeout=timeout, cwd=str(root.parent))
    outs, errs = (text.split("\n@@corpusmill-batch ") for text in (p.stdout, p.stderr))
    assert len(outs) == len(errs) == len(commands) + 1, \
        f"the batch ended after {len(outs) - 1} of {len(commands)} commands (exit {p.returncode}):\n" \
        f"{p.stdout[-2000:]}\n{p.stderr[-4000:]}"
    results = []
    for i in range(len(commands)):
        rc = int(outs[i + 1].split("\n", 1)[0])
        out, err = (parts[i] if i == 0 else parts[i].split("\n", 1)[1] for parts in (outs, errs))
        results.append((rc, out, err))
    return results


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> tuple[Path, str]:
    """(storage root, what it printed) of `corpusmill demo` on a small crawl (40 pages per dump): built once
    per test run, in its own process. Tests only read it."""
    root = tmp_path_factory.mktemp("demo") / "store"
    p = run_cli(root, "demo", timeout=3000)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
    return root, p.stdout + p.stderr


def _readers_dir() -> Path:
    """Where setup.sh records the reader venvs: <repo>/.venv/.readers, or this venv's own."""
    default = ROOT / ".venv"
    prefix = Path(sys.prefix)
    venv = default if prefix.resolve() == default.resolve() or not (prefix / ".readers").is_dir() else prefix
    return venv / ".readers"


@pytest.fixture(scope="session")
def reader_python():
    """reader_python(name) -> the python of the `name` reader venv ([tool.corpusmill.readers] in
    pyproject.toml): libraries the dependency venv cannot hold, to read exports back with."""
    def find(name: str) -> str:
        record = _readers_dir() / name
        python = record.read_text().strip() if record.is_file() else ""
        if not python or not os.access(python, os.X_OK):
            pytest.skip(f"no {name} reader venv: run bash scripts/setup.sh")
        return python

    return find
