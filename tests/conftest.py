"""One Spark session for the whole suite; each test gets its own storage root."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def make_config(root: Path, *overrides: str):
    from corpusmill.jobs.registry import load_config

    return load_config(None, [f"storage.root={root}", "spark.master=local[2]", "spark.driver_memory=2g",
                              "spark.shuffle_partitions=4", "storage.catalog=none", *overrides])


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
