"""Config: defaults load, overrides apply, and every mistake is one line naming the key (exit 2)."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpusmill.jobs.core.config import DEFAULT_CONF, ConfigError
from corpusmill.jobs.registry import load_config
from corpusmill.udfs.classifiers.classify import ClassifierSpec

SPEC_KEYS = ", ".join(sorted(f.name for f in dataclasses.fields(ClassifierSpec)))


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


@pytest.mark.parametrize("override, line", [
    ("spark.bogus=1", "spark.bogus: unknown key (known: app_name, conf, driver_memory, jars_dir, master, "
                      "shuffle_partitions)"),
    ("classifiers.inference.bogus=1", f"classifiers.inference.bogus: unknown key (known: {SPEC_KEYS})"),
])
def test_cli_config_error_exits_2_with_one_line(override, line):
    p = subprocess.run([sys.executable, "-m", "corpusmill", "tables", "--set", override],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == [f"corpusmill: config error: {line}"]


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
    *(("BenchmarkSpec", n) for n in ("answer", "id", "format", "targets")),
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
    load_config(str(DEFAULT_CONF.parent / name))


# ---- the stages' classifiers: one block of defaults (classifiers.inference), each lists what differs ----
CLASSIFIERS = ("safety.toxicity", "safety.pornography", "quality.advertisement", "quality.fluency")
RESOLVED = Path(__file__).resolve().parent / "data" / "resolved_config.json"
CONF_FILES = ("default.yaml", "cluster.example.yaml", "gpu.example.yaml")


def spec(cfg, key: str) -> ClassifierSpec:
    section, name = key.split(".")
    return getattr(cfg.sections[section], name)


def resolved_configs() -> dict:
    """conf file -> every section as loaded (dataclasses as dicts): conf/default.yaml whole, each example
    config only where it differs from that. Without classifiers.inference: that block is only where the
    four classifiers' values come from, and those are here."""
    out = {}
    for name in CONF_FILES:
        cfg = load_config(None if name == "default.yaml" else str(DEFAULT_CONF.parent / name))
        sections = {"storage": cfg.storage, "spark": cfg.spark, **cfg.sections}
        data = json.loads(json.dumps({k: dataclasses.asdict(v) for k, v in sections.items()}))
        del data["classifiers"]["inference"]
        out[name] = data if name == "default.yaml" else \
            {k: v for k, v in data.items() if v != out["default.yaml"][k]}
    return out


def write_resolved() -> None:
    """A resolved value changed on purpose: `cd tests && ../.venv/bin/python -c "import test_config as t;
    t.write_resolved()"`, then review the diff of tests/data/resolved_config.json."""
    RESOLVED.write_text(json.dumps(resolved_configs(), indent=1, sort_keys=True) + "\n")


def test_resolved_config_is_unchanged():
    """Every resolved value of conf/default.yaml and the example configs equals tests/data/resolved_config.json,
    which was written (by the loader of the time) from the YAML that still spelled out all 13 inference
    keys for each of the four classifiers: one block of defaults plus per-classifier differences loads
    the same config."""
    assert resolved_configs() == json.loads(RESOLVED.read_text())


def test_a_classifier_key_set_changes_only_that_classifier():
    base, cfg = load_config(), load_config(None, ["safety.toxicity.batch_size=64"])
    assert spec(cfg, "safety.toxicity") == dataclasses.replace(spec(base, "safety.toxicity"), batch_size=64)
    assert all(spec(cfg, k) == spec(base, k) for k in CLASSIFIERS[1:])


@pytest.mark.parametrize("order", [1, -1])
def test_a_block_key_reaches_all_four_unless_one_sets_its_own(order):
    base = load_config()
    assert base.quality.fluency.strategy != base.classifiers.inference.strategy   # quality's two set their own
    sets = ["classifiers.inference.batch_size=7", "classifiers.inference.strategy=chunk_max",
            "quality.fluency.batch_size=5"]
    cfg = load_config(None, sets[::order])                    # where the --set stands in the list plays no part
    assert {k: spec(cfg, k).batch_size for k in CLASSIFIERS} == {
        "safety.toxicity": 7, "safety.pornography": 7, "quality.advertisement": 7, "quality.fluency": 5}
    assert {k: spec(cfg, k).strategy for k in CLASSIFIERS} == {
        "safety.toxicity": "chunk_max", "safety.pornography": "chunk_max",
        "quality.advertisement": base.quality.advertisement.strategy, "quality.fluency": base.quality.fluency.strategy}
    assert cfg.classifiers.inference.batch_size == 7


def test_a_user_file_gives_a_classifier_some_keys_and_the_block_others(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("safety:\n"
                 "  toxicity:\n"
                 "    model: /models/tox\n"
                 "    batch_size: 8\n"
                 "classifiers:\n"
                 "  inference:\n"
                 "    device: cpu\n"
                 "    runtime: int8\n")
    base, cfg = load_config(), load_config(str(f))
    assert spec(cfg, "safety.toxicity") == dataclasses.replace(spec(base, "safety.toxicity"), model="/models/tox",
                                                               batch_size=8, device="cpu", runtime="int8")
    for k in CLASSIFIERS[1:]:
        assert spec(cfg, k) == dataclasses.replace(spec(base, k), device="cpu", runtime="int8")


def test_a_classifier_given_whole_as_before_the_block_still_loads(tmp_path):
    """A user file written for the YAML that spelled every key out per classifier means the same now."""
    import yaml

    old = json.loads(RESOLVED.read_text())["gpu.example.yaml"]["quality"]["fluency"]
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({"quality": {"fluency": old}}))
    assert dataclasses.asdict(load_config(str(f)).quality.fluency) == old


@pytest.mark.parametrize("text, line", [
    ("classifiers:\n  inference:\n    batchsize: 64\n",
     f"classifiers.inference.batchsize: unknown key (known: {SPEC_KEYS})"),
    ("safety:\n  pornography:\n    batchsize: 64\n", f"safety.pornography.batchsize: unknown key (known: {SPEC_KEYS})"),
    ("quality:\n  fluency: {head: fluency, batchsize: 64}\n",
     f"quality.fluency.batchsize: unknown key (known: {SPEC_KEYS})"),
    ("classifiers:\n  inference:\n    device: tpu\n",
     "classifiers.inference: device 'tpu' unknown (one of auto, cpu, cuda)"),
    ("quality:\n  advertisement:\n    max_chunks: 0\n",
     "quality.advertisement: max_length must be >= 8, batch_size and max_chunks >= 1"),
    ("classifiers:\n  inference: 3\n", "classifiers.inference: expected a mapping, got int"),
])
def test_classifier_mistakes_in_a_user_file_name_their_key(tmp_path, text, line):
    """Checked where it was written: a mistake in the block names the block, not the first classifier."""
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(str(f))
    assert str(e.value) == line


@pytest.mark.parametrize("override, line", [
    ("safety.toxicity.batchsize=64", f"safety.toxicity.batchsize: unknown key (known: {SPEC_KEYS})"),
    ("classifiers.inference.batchsize=64", f"classifiers.inference.batchsize: unknown key (known: {SPEC_KEYS})"),
    ("classifiers.inference.strategy=middle",
     "classifiers.inference: strategy 'middle' unknown (one of head, head_tail, chunk_mean, chunk_max)"),
])
def test_classifier_mistakes_on_the_command_line_name_their_key(override, line):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert str(e.value) == line


def test_default_section_fills_the_classifiers_too():
    from corpusmill.jobs.core.config import default_section
    from corpusmill.jobs.stages.quality import QualityConfig

    assert default_section("quality", QualityConfig) == load_config().quality


def test_readme_table_reference_matches_the_schemas():
    """docs/tables.md (the table reference the README links to) is what the schema modules say."""
    from pathlib import Path

    from corpusmill.schemas.__main__ import END, START, reference

    page = (Path(__file__).resolve().parent.parent / "docs" / "tables.md").read_text()
    assert START in page and END in page, "docs/tables.md lost its markers: " + START
    assert page.split(START, 1)[1].split(END, 1)[0].strip() == reference().strip(), \
        "docs/tables.md is stale: run python -m schemas --update docs/tables.md"
