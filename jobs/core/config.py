"""Typed configuration: YAML defaults (conf/default.yaml) + a user file + `--set a.b=c` overrides.

Defaults live in conf/default.yaml only; the dataclasses here (and each stage's section class,
declared in the stage's own job module) only give the types. Any unknown key, wrong type or
missing path is a `ConfigError` whose message names the key; the CLI turns it into exit code 2.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONF = Path(__file__).resolve().parents[2] / "conf" / "default.yaml"


class ConfigError(ValueError):
    """A config problem, one line naming the key."""


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


@dataclass
class SparkConfig:
    master: str               # used only when not under spark-submit
    app_name: str
    driver_memory: str        # local mode only
    shuffle_partitions: int
    jars_dir: str             # local jar cache filled by scripts/setup.sh (mvn); "" = $CORPUSMILL_JARS or <cache_dir>/jars
    conf: dict[str, str] = field(default_factory=dict)  # extra spark confs, never override spark-submit's


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


# Stage sections are declared by the stage modules (keeps each stage's knobs beside its code).
SECTION_TYPES: dict[str, str] = {
    "format": "jobs.stages.format:FormatConfig",
    "rules": "jobs.stages.rules:RulesConfig",
    "dedup": "jobs.stages.dedup:DedupConfig",
    "safety": "jobs.stages.safety:SafetyConfig",
    "quality": "jobs.stages.quality:QualityConfig",
    "classifiers": "jobs.training.train_classifier:ClassifiersConfig",
    "longctx": "jobs.stages.longctx:LongCtxConfig",
    "code": "jobs.stages.code:CodeConfig",
    "demo": "jobs.tools.demo:DemoConfig",
    "report": "jobs.tools.report:ReportConfig",
}


def _section_type(name: str) -> type | None:
    mod, _, cls = SECTION_TYPES[name].partition(":")
    try:
        module = importlib.import_module(mod)
    except ModuleNotFoundError as e:
        if e.name == mod:
            return None           # stage not part of this build
        raise
    return getattr(module, cls)


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


def _build(cls: type, data: dict, prefix: str) -> Any:
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
    return cls(**kwargs)


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


def _default_yaml() -> dict:
    """conf/default.yaml, also when the code runs from a zip (spark-submit --py-files)."""
    from importlib import resources

    return yaml.safe_load(resources.files("conf").joinpath("default.yaml").read_text(encoding="utf-8")) or {}


def load_config(path: str | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the user's file, then --set overrides; validated into typed sections."""
    data = _default_yaml()
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
    known = {"storage", "spark", *SECTION_TYPES}
    for k in data:
        if k not in known:
            raise ConfigError(f"{k}: unknown section (known: {', '.join(sorted(known))})")
    storage = _check(data.get("storage"), StorageConfig, "storage")
    spark = _check(data.get("spark"), SparkConfig, "spark")
    if storage.catalog not in ("none", "derby", "hive"):
        raise ConfigError(f"storage.catalog: expected none, derby or hive, got {storage.catalog!r}")
    if storage.catalog == "hive" and not storage.metastore_uri:
        raise ConfigError("storage.metastore_uri: required when storage.catalog is hive")
    if storage.table_format not in ("delta", "parquet"):
        raise ConfigError(f"storage.table_format: expected delta or parquet, got {storage.table_format!r}")
    sections: dict[str, Any] = {}
    for name in SECTION_TYPES:
        if name not in data:
            continue
        cls = _section_type(name)
        if cls is None:
            continue
        sections[name] = _check(data[name], cls, name)
    return Config(storage=storage, spark=spark, sections=sections, source=str(path or DEFAULT_CONF))


def require_path(value: str, key: str) -> str:
    """For stage code: a configured local input path that must exist (URIs are checked by Spark)."""
    if value and "://" not in value and not any(ch in value for ch in "*?[") and not os.path.exists(value):
        raise ConfigError(f"{key}: path {value} does not exist")
    return value
