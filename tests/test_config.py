"""Config: defaults load, overrides apply, and every mistake is one line naming the key (exit 2)."""
import subprocess
import sys

import pytest

from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.registry import load_config


def test_defaults_load_and_type():
    cfg = load_config()
    assert cfg.storage.table_format == "delta"
    assert isinstance(cfg.spark.shuffle_partitions, int)
    assert cfg.demo.pages_per_dump > 0


def test_set_overrides_with_yaml_typing(tmp_path):
    cfg = load_config(None, [f"storage.root={tmp_path}", "spark.shuffle_partitions=3", "spark.conf={a.b: c}"])
    assert cfg.spark.shuffle_partitions == 3
    assert cfg.spark.conf == {"a.b": "c"}
    assert cfg.table_path("documents") == f"{tmp_path}/warehouse/documents"


def test_user_file_merges_over_defaults(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("spark:\n  app_name: mine\n")
    cfg = load_config(str(f))
    assert cfg.spark.app_name == "mine" and cfg.spark.master == "local[*]"


@pytest.mark.parametrize("override,needle", [
    ("spark.bogus=1", "spark.bogus: unknown key"),
    ("spark.shuffle_partitions=many", "spark.shuffle_partitions: expected an integer"),
    ("storage.table_format=orc", "storage.table_format"),
    ("nosuchsection.x=1", "nosuchsection"),
    ("spark.master", "expected section.key=value"),
])
def test_errors_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.").replace("[", r"\[")):
        load_config(None, [override])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(str(bad))


def test_section_hash_changes_with_content():
    a = load_config(None, ["spark.shuffle_partitions=3"])
    b = load_config(None, ["spark.shuffle_partitions=4"])
    assert a.section_hash("spark") != b.section_hash("spark")
    assert a.section_hash("storage") == b.section_hash("storage")


def test_cli_config_error_exits_2_with_one_line():
    p = subprocess.run([sys.executable, "-m", "corpusmill", "tables", "--set", "spark.bogus=1"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == ["corpusmill: config error: spark.bogus: unknown key (known: app_name, conf, driver_memory, "
                     "jars_dir, master, shuffle_partitions)"]


def test_a_key_missing_from_the_yaml_is_an_error_naming_it():
    with pytest.raises(ConfigError, match=r"^dedup\.minhash\.ngram: missing \(add it to your config; see conf/default"):
        load_config(None, ["dedup.minhash={num_perm: 128}"])       # --set replaces the whole mapping


@pytest.mark.parametrize("override, line", [
    ("dedup.minhash.num_perm=0", "dedup.minhash.num_perm: expected 1..1024, got 0"),
    ("code.minhash.bands=3", "code.minhash.bands/rows: set both (> 0) or both 0 (optimal), got 3 x 0"),
    ("safety.toxicity.strategy=middle",
     "safety.toxicity: strategy 'middle' unknown (one of head, head_tail, chunk_mean, chunk_max)"),
    ("format.text_sources=[{path: x, format: csv, source_type: b}]",
     "format.text_sources[0].format: expected jsonl or parquet, got 'csv'"),
    ("storage.catalog=hive", "storage.metastore_uri: required when storage.catalog is hive"),
])
def test_value_errors_name_the_full_key(override, line):
    """A section shared by several keys (MinHashParams, ClassifierSpec) names keys relative to itself;
    the loader puts its message under the key it was read from."""
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert str(e.value) == line


# Fields that may keep a default: list entries (a user's list replaces the default one, so the YAML
# cannot fill in an entry) and per-language overrides (unset = the `default` language's value).
DEFAULTS_ALLOWED = {
    ("TextSourceConfig", "dump"), ("TextSourceConfig", "fields"),
    ("DomainListSpec", "category"), ("DomainListSpec", "categories"),
    *(("SafetyThresholds", n) for n in ("word_min_distinct", "word_per_1k", "toxicity", "pornography")),
    ("QualityThresholds", "advertisement"), ("QualityThresholds", "disfluent"),
}


def test_config_dataclasses_keep_no_defaults_of_their_own():
    """conf/default.yaml is the one place a default lives: section fields have none in code."""
    import dataclasses
    import typing

    from corpusmill.jobs.core.config import SparkConfig, StorageConfig
    from corpusmill.jobs.registry import section_types

    found, seen = set(), set()

    def walk(cls):
        if cls in seen:
            return
        seen.add(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                found.add((cls.__name__, f.name))
            todo = [hints[f.name]]
            while todo:
                tp = todo.pop()
                if dataclasses.is_dataclass(tp):
                    walk(tp)
                todo += typing.get_args(tp)

    for cls in [StorageConfig, SparkConfig, *section_types().values()]:
        walk(cls)
    assert found <= DEFAULTS_ALLOWED, sorted(found - DEFAULTS_ALLOWED)


@pytest.mark.parametrize("name", ["cluster.example.yaml", "gpu.example.yaml"])
def test_example_configs_validate(name):
    from corpusmill.jobs.core.config import DEFAULT_CONF

    load_config(str(DEFAULT_CONF.parent / name))


def test_readme_table_reference_matches_the_schemas():
    """docs/tables.md (the table reference the README links to) is what the schema modules say."""
    from pathlib import Path

    from corpusmill.schemas.__main__ import END, START, reference

    page = (Path(__file__).resolve().parent.parent / "docs" / "tables.md").read_text()
    assert START in page and END in page, "docs/tables.md lost its markers: " + START
    assert page.split(START, 1)[1].split(END, 1)[0].strip() == reference().strip(), \
        "docs/tables.md is stale: run python -m schemas --update docs/tables.md"
