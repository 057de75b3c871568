"""jobs/core/class_archive.py: local sessions map the JVM class archive scripts/setup.sh builds, and an
archive that does not fit is ignored without a word."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpusmill.jobs.core import class_archive
from corpusmill.jobs.core.config import cache_dir

pytestmark = pytest.mark.slow        # JVMs of their own

# a local session in a new process: did the JVM map the archive (UseSharedSpaces), and does Delta work
PROBE = r"""
import sys
from corpusmill.jobs.registry import load_config
from corpusmill.jobs.core.session import get_spark
config = load_config(None, [f"storage.root={sys.argv[1]}", "spark.master=local[1]", "storage.catalog=none"])
spark = get_spark(config)
jvm = spark._jvm
bean = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
    jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
spark.range(10).write.format("delta").save(config.table_path("t"))
assert spark.read.format("delta").load(config.table_path("t")).count() == 10
print("shared", bean.getVMOption("UseSharedSpaces").getValue())
"""


JARS_DIR = Path(os.environ.get("CORPUSMILL_JARS") or cache_dir() / "jars")    # the machine's, before any test moves the cache


def _jars() -> list[str]:
    return sorted(str(p) for p in JARS_DIR.glob("*.jar"))


def _probe(tmp_path: Path, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, CORPUSMILL_CACHE=str(cache), CORPUSMILL_JARS=str(JARS_DIR))
    return subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "store")], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The machine's archive (setup.sh builds it), else one built here."""
    found = class_archive.archive_path(_jars())
    if found is None:
        pytest.skip("no java")
    if not found.is_file():
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CORPUSMILL_CACHE", str(tmp_path_factory.mktemp("cache")))
            found = class_archive.build(_jars())
        if found is None:
            pytest.skip("this JDK writes no class archive")
    return found


def test_a_local_session_maps_the_archive(archive, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "jvm").mkdir(parents=True)
    (cache / "jvm" / archive.name).symlink_to(archive)
    monkeypatch.setenv("CORPUSMILL_CACHE", str(cache))
    assert class_archive.java_options(_jars())[0] == f"-XX:SharedArchiveFile={cache / 'jvm' / archive.name}"
    p = _probe(tmp_path, cache)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "shared true" in p.stdout


def test_an_archive_that_does_not_fit_is_ignored_silently(archive, tmp_path):
    cache = tmp_path / "cache"
    (cache / "jvm").mkdir(parents=True)
    (cache / "jvm" / archive.name).write_bytes(b"not a class archive" * 1000)
    p = _probe(tmp_path, cache)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "shared false" in p.stdout
    assert "cds" not in p.stderr.lower() and "shared archive" not in p.stderr.lower(), p.stderr[-3000:]


def test_no_archive_no_options(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUSMILL_CACHE", str(tmp_path))
    assert class_archive.java_options(_jars()) == []
    monkeypatch.setattr(class_archive, "java_binary", lambda: None)
    assert class_archive.archive_path(_jars()) is None and class_archive.java_options(_jars()) == []


def test_the_key_follows_the_jars(tmp_path):
    jar = tmp_path / "extra.jar"
    jar.write_bytes(b"x")
    a = class_archive.archive_path(_jars())
    b = class_archive.archive_path(_jars() + [str(jar)])
    jar.write_bytes(b"xy")
    c = class_archive.archive_path(_jars() + [str(jar)])
    assert len({a, b, c}) == 3 and shutil.which("java")
