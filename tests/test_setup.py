"""The set-up steps that fetch and build things, run against empty caches, as on a new machine.

CI runs on a machine whose caches are warm, so these steps would otherwise never run there: the
KenLM build uses the system python3 (which may lack `wheel`) with a fresh HOME and pip cache, and
the Maven step resolves the Delta jars into an empty local repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.setup, pytest.mark.slow]


def _fresh_env(tmp_path: Path) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CORPUSMILL_", "PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(HOME=str(home), CORPUSMILL_CACHE=str(tmp_path / "cache"), PIP_NO_CACHE_DIR="1",
               CORPUSMILL_SKIP_APT="1")    # the Debian build packages are the machine's, not a cache
    return env


def _system_python() -> str:
    """The `python3` a new user's shell finds (outside any venv), for the KenLM download step."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if ".venv" not in p and "/deps-" not in p)
    found = shutil.which("python3", path=path)
    if not found:
        pytest.skip("no system python3")
    return found


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("g++") is None, reason="needs cmake and g++")
def test_kenlm_builds_from_an_empty_cache_with_the_system_python(tmp_path):
    env = _fresh_env(tmp_path)
    env["PYTHON"] = _system_python()
    bin_dir = tmp_path / "cache" / "bin"
    p = subprocess.run(["bash", str(ROOT / "scripts" / "build_kenlm.sh"), str(bin_dir)], env=env,
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for tool in ("lmplz", "build_binary"):
        run = subprocess.run([str(bin_dir / tool), "--help"], capture_output=True, text=True, timeout=60)
        assert "usage" in (run.stdout + run.stderr).lower() or run.returncode in (0, 1), tool


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs Maven")
def test_delta_jars_resolve_into_an_empty_maven_repository(tmp_path):
    env = _fresh_env(tmp_path)
    env["MAVEN_REPO_LOCAL"] = str(tmp_path / "m2")
    jars = tmp_path / "cache" / "jars"
    p = subprocess.run(["bash", str(ROOT / "scripts" / "resolve_jars.sh"), str(jars)], env=env,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    names = sorted(f.name for f in jars.glob("*.jar"))
    assert any(n.startswith("delta-spark_4.2_2.13-") for n in names), names
    assert any(n.startswith("delta-storage-") for n in names), names
    assert any(n.startswith("hadoop-aws-") for n in names) and "s3-2.35.4.jar" in names, names   # s3a://
    assert (tmp_path / "m2").is_dir()          # resolved into the empty repository, not a warm one
