"""The package: one import name (`corpusmill`) in site-packages, the same code from a checkout, a
wheel, and the spark-submit zip; the Python API the notebooks use."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

SOURCE_FOLDERS = ("jobs", "udfs", "schemas", "conf", "samplegen")


def _env_without_checkout(home: Path, *first: Path) -> dict:
    """For `python -S`: no site-packages .pth files, so the checkout (on the project venv's path) is
    not importable; the dependencies' folder (from the venv's .pth) and `first` are."""
    venv_site = Path(sysconfig.get_paths()["purelib"])
    deps = [line.strip() for pth in venv_site.glob("01-corpusmill-deps.pth")
            for line in pth.read_text().splitlines() if line.strip()]
    return {"PYTHONPATH": ":".join([*map(str, first), *deps, str(venv_site)]), "PATH": "/usr/bin:/bin",
            "HOME": str(home)}


def _checkout_packages() -> set[str]:
    out = {"corpusmill"}
    for folder in SOURCE_FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                out.add("corpusmill." + ".".join(init.parent.relative_to(ROOT).parts))
    return out


def test_pyproject_lists_every_package_of_the_checkout():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(tool["packages"]) == _checkout_packages()
    assert "package-dir" not in tool         # the symlinks below are the mapping, for the build as for Python


def test_the_package_links_each_top_level_folder():
    """corpusmill/<folder> -> ../<folder>, committed: imports resolve from the files alone."""
    for folder in SOURCE_FOLDERS:
        link = ROOT / "corpusmill" / folder
        assert link.is_symlink() and str(link.readlink()) == f"../{folder}", folder
    tracked = subprocess.run(["git", "ls-files", "-s", "corpusmill"], capture_output=True, text=True, cwd=ROOT)
    if tracked.returncode == 0 and tracked.stdout:      # a git checkout: the links are committed as links
        modes = {line.split("\t")[1]: line.split()[0] for line in tracked.stdout.splitlines()}
        assert all(modes.get(f"corpusmill/{f}") == "120000" for f in SOURCE_FOLDERS), modes


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    (whl,) = out.glob("corpusmill-*.whl")
    return whl


def test_the_wheel_installs_only_the_corpusmill_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"corpusmill", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, top
    for must in ("corpusmill/conf/default.yaml", "corpusmill/jobs/cli.py", "corpusmill/udfs/rules/data/"
                 "spacy_en_tokenizer_exceptions.txt", "corpusmill/jobs/stages/format.py"):
        assert must in names, must


def test_the_installed_wheel_runs_without_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert sorted(x.name for x in target.iterdir() if x.name != "bin") == ["corpusmill", "corpusmill-0.1.0.dist-info"]
    env = _env_without_checkout(tmp_path, target)
    code = ("import corpusmill, corpusmill.jobs.cli as cli; "
            "print(corpusmill.__path__[0]); print(len(corpusmill.__path__)); print(cli.__file__); "
            "c = corpusmill.load_config(None, ['spark.master=local[1]']); print(c.spark.master); "
            "print(','.join(corpusmill.stages()))")
    p = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    path, n_paths, cli_file, master, stages = p.stdout.split()
    assert path == str(target / "corpusmill") and n_paths == "1" and cli_file.startswith(str(target))
    assert master == "local[1]"
    assert stages == "format,rules,dedup,safety,pii,decontam,quality,longctx,code"
    p = subprocess.run([sys.executable, "-S", "-m", "corpusmill", "--version"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "corpusmill 0.1.0", p.stdout + p.stderr


def test_the_checkout_maps_its_folders_into_corpusmill():
    import corpusmill
    import corpusmill.jobs.core.config as config_mod

    assert list(corpusmill.__path__) == [str(ROOT / "corpusmill")]
    assert Path(config_mod.__file__) == ROOT / "corpusmill" / "jobs" / "core" / "config.py"
    assert Path(config_mod.__file__).resolve() == ROOT / "jobs" / "core" / "config.py"


def test_the_spark_submit_zip_holds_the_package(tmp_path):
    from corpusmill.jobs.cli import build_archive

    z = build_archive(tmp_path / "corpusmill.zip")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import corpusmill, corpusmill.jobs.cli as c; "
            "print(c.__file__); print(len(corpusmill.__path__)); "
            "print(corpusmill.load_config().spark.master)")
    p = subprocess.run([sys.executable, "-S", "-c", code, str(z)], capture_output=True, text=True, cwd=tmp_path,
                       env=_env_without_checkout(tmp_path), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    cli_file, n_paths, _ = p.stdout.split()
    assert cli_file.startswith(str(z)) and n_paths == "1"
    names = set(zipfile.ZipFile(z).namelist())
    assert {"corpusmill/__init__.py", "corpusmill/conf/default.yaml", "corpusmill/conf/log4j2.properties",
            "corpusmill/udfs/rules/data/spacy_en_tokenizer_exceptions.txt"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_python_api_runs_a_stage_and_reads_its_table(spark, tmp_path):
    import corpusmill
    from corpusmill.samplegen import crawl as samplegen

    samplegen.generate_crawl(str(tmp_path / "crawl"), seed=2, pages_per_dump=8)
    config = corpusmill.load_config(None, [f"storage.root={tmp_path / 'store'}", "storage.catalog=none",
                                           "format.text_sources=[]"])
    (res,) = corpusmill.run(config, ["format"], inputs=[f"{tmp_path}/crawl/*/*.warc.gz"], spark=spark)
    assert res.stage == "format" and res.status == "success" and res.rows_out > 0
    assert corpusmill.read_table(config, "documents", spark=spark).count() == res.rows_out
    n = corpusmill.sql(config, "SELECT count(*) AS n FROM documents", spark=spark).collect()[0]["n"]
    assert n == res.rows_out
