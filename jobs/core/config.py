"""Typed configuration: YAML defaults (conf/default.yaml) + a user file + `--set a.b=c` overrides.

Defaults live in conf/default.yaml only; the dataclasses here (and each stage's or tool's section
class, declared in its own module) give the types and check the values in `__post_init__`, which
the loader runs, so a bad value fails at load time. Any unknown or missing key, wrong type, bad
value or missing path is a `ConfigError` whose message names the key; the CLI turns it into exit
code 2. A section field declared with `defaults_from(path)` takes the keys its mapping leaves out
from the block at `path` (the stages' classifiers from `classifiers.inference`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from corpusmill.udfs.errors import ConfigError

DEFAULT_CONF = Path(__file__).resolve().parents[2] / "conf" / "default.yaml"


def cache_dir() -> Path:
    """Where scripts/setup.sh put the jars and KenLM binaries: $CORPUSMILL_CACHE or ~/.cache/corpusmill."""
    return Path(os.environ.get("CORPUSMILL_CACHE") or "~/.cache/corpusmill").expanduser()


@dataclass
class StorageConfig:
    root: str                 # everything lives under here unless a path below is absolute / a URI
    warehouse: str            # Delta tables, relative to root
    table_format: str         # delta | parquet
    tmp: str                  # scratch (checkpoints, spill), relative to root
    models: str               # trained models (classifiers, KenLM), relative to root
    catalog: str              # none | derby (embedded metastore under root) | hive (metastore_uri below)
    metastore_uri: str        # thrift://host:9083 for catalog=hive; ignored otherwise
    database: str             # catalog database the tables are registered in

    def __post_init__(self) -> None:
        if self.catalog not in ("none", "derby", "hive"):
            raise ConfigError(f"storage.catalog: expected none, derby or hive, got {self.catalog!r}")
        if self.catalog == "hive" and not self.metastore_uri:
            raise ConfigError("storage.metastore_uri: required when storage.catalog is hive")
        if self.table_format not in ("delta", "parquet"):
            raise ConfigError(f"storage.table_format: expected delta or parquet, got {self.table_format!r}")


@dataclass
class SparkConfig:
    master: str               # used only when not under spark-submit
    app_name: str
    driver_memory: str        # local mode only
    shuffle_partitions: int
    jars_dir: str             # local jar cache filled by scripts/setup.sh (mvn); "" = $CORPUSMILL_JARS or <cache_dir>/jars
    conf: dict[str, str]      # extra spark confs, never override spark-submit's


@dataclass
class Config:
    storage: StorageConfig
    spark: SparkConfig
    sections: dict[str, Any]  # stage sections: name -> that stage's typed section object
    source: str = "<default>"

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    # ---- paths -------------------------------------------------------------------------------
    def path(self, p: str) -> str:
        """Resolve a path relative to storage.root (URIs and absolute paths stay as they are)."""
        if "://" in p or os.path.isabs(p):
            return p
        root = self.storage.root
        if "://" in root:
            return root.rstrip("/") + "/" + p
        return str(Path(root).expanduser().resolve() / p)

    def table_path(self, name: str) -> str:
        return self.path(self.storage.warehouse).rstrip("/") + "/" + name

    def section_hash(self, name: str) -> str:
        """Stable hash of one section (what a stage's output depends on), for the skip-if-done key."""
        obj = self.sections[name] if name in self.sections else getattr(self, name)
        blob = json.dumps(dataclasses.asdict(obj), sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _check(value: Any, tp: Any, key: str) -> Any:
    """Validate (and lightly coerce) value against a type annotation."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, key)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check(value, a, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__} {value!r}")
        (a,) = typing.get_args(tp) or (Any,)
        return [_check(v, a, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__} {value!r}")
        ka, va = typing.get_args(tp) or (Any, Any)
        return {str(k): _check(v, va, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    return value


# "num_perm: ..." / "bands/rows: ..." / "fields.text: ...": a message that starts with a relative key
_RELATIVE_KEY = re.compile(r"[\w\[\]*/]+(\.[\w\[\]*/]+)*: ")


def _build(cls: type, data: dict, prefix: str) -> Any:
    """The dataclass cls from a mapping, its checks (`__post_init__`) run, every error under `prefix`.

    A key the YAML lacks is an error, unless the dataclass gives that field a default (list items and
    per-language overrides, whose entries a user writes without the YAML's defaults beneath them).
    A nested section used under several keys (MinHashParams under dedup.minhash and code.minhash,
    ClassifierSpec under safety.toxicity and others) cannot know its own key: its messages name keys
    relative to itself ("num_perm: ...") or none ("device 'tpu' unknown"), and are put under `prefix`
    here; a message that already starts with it stays as it is.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in data:
        if k not in fields:
            raise ConfigError(f"{prefix}.{k}: unknown key (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}"
        if name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise ConfigError(f"{key}: missing (add it to your config; see conf/default.yaml)")
        kwargs[name] = _check(data[name], hints[name], key)
    try:
        return cls(**kwargs)
    except ConfigError as e:
        msg = str(e)
        if msg.startswith(prefix):
            raise
        raise ConfigError(f"{prefix}.{msg}" if _RELATIVE_KEY.match(msg) else f"{prefix}: {msg}") from None


def defaults_from(path: str) -> Any:
    """A section field whose mapping is laid over the block at `path` (dotted, from the top of the
    config) when the config loads: the keys it leaves out come from that block, so settings shared by
    several fields are written once (`toxicity: ClassifierSpec = defaults_from("classifiers.inference")`).
    The block is a complete value of the field's type itself, checked under its own key."""
    return dataclasses.field(metadata={"defaults_from": path})


def _fill_defaults(cls: type, section: Any, data: dict) -> None:
    """The section's fields declared with defaults_from(path): each becomes the block at `path` in data
    with the field's own keys over it (in place, before typing). The block is checked first, so a
    mistake in it names its own key rather than the first field that reads it."""
    if not (dataclasses.is_dataclass(cls) and isinstance(section, dict)):
        return
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f.metadata.get("defaults_from")
        own = section.get(f.name, {})
        if path is None or not isinstance(own, dict):
            continue
        block = _at(data, path)
        _check(block, hints[f.name], path)
        section[f.name] = _merge(block, own)


def _at(data: Any, path: str) -> Any:
    """The raw YAML value at a dotted path (None when it is not there)."""
    for k in path.split("."):
        data = data.get(k) if isinstance(data, dict) else None
    return data


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected section.key=value")
    key, _, raw = item.partition("=")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def _read_yaml(path: str | Path) -> dict:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {path}: not found")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path}: invalid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping")
    return data


def _default_yaml(name: str = "default.yaml") -> dict:
    """A YAML file of conf/ (default.yaml), also when the code runs from a zip (spark-submit --py-files)."""
    from importlib import resources

    return yaml.safe_load(resources.files("corpusmill.conf").joinpath(name).read_text(encoding="utf-8")) or {}


def load(path: str | None, overrides: list[str] | None, section_types: dict[str, type],
         layers: tuple[str, ...] = ()) -> Config:
    """Defaults, then `layers` (YAML files of conf/, e.g. the demo's demo.yaml), then the user's file,
    then --set overrides; validated into typed sections.

    section_types: YAML section name -> its dataclass, from the stage and tool records
    (jobs/registry.py load_config gathers them)."""
    data = _default_yaml()
    for layer in layers:
        data = _merge(data, _default_yaml(layer))
    if path:
        data = _merge(data, _read_yaml(path))
    for item in overrides or []:
        keys, value = _parse_override(item)
        node = data
        for k in keys[:-1]:
            if not isinstance(node.get(k), dict):
                raise ConfigError(f"--set {item}: {k} is not a section")
            node = node[k]
        if keys[-1] not in node and len(keys) > 1 and not isinstance(node, dict):
            raise ConfigError(f"--set {item}: unknown key")
        node[keys[-1]] = value
    known = {"storage", "spark", *section_types}
    for k in data:
        if k not in known:
            raise ConfigError(f"{k}: unknown section (known: {', '.join(sorted(known))})")
    storage = _check(data.get("storage"), StorageConfig, "storage")
    spark = _check(data.get("spark"), SparkConfig, "spark")
    sections: dict[str, Any] = {}
    for name, cls in section_types.items():
        if name in data:
            _fill_defaults(cls, data[name], data)
            sections[name] = _check(data[name], cls, name)
    return Config(storage=storage, spark=spark, sections=sections, source=str(path or DEFAULT_CONF))


def default_section(path: str, cls: type) -> Any:
    """One section of conf/default.yaml alone (`path` may be dotted: dedup.minhash), typed and checked.

    For code that runs without a loaded Config (library helpers, tests, benches), so that it keeps no
    copy of the defaults of its own."""
    data = _default_yaml()
    node = _at(data, path)
    _fill_defaults(cls, node, data)
    return _check(node, cls, path)


def require_path(value: str, key: str) -> str:
    """For stage code: a configured local input path that must exist (URIs are checked by Spark)."""
    if value and "://" not in value and not any(ch in value for ch in "*?[") and not os.path.exists(value):
        raise ConfigError(f"{key}: path {value} does not exist")
    return value
