"""Reading benchmark items from JSON lines (plain or gzip), Parquet and CSV files.

A benchmark names the field of its item id, of its prompt and of its gold answer. Field names may be
dotted to reach into nested records (`answers.text`); a list value (several gold answers) becomes its
items joined by line breaks. Delta tables are read through Spark by the stage (`jobs/stages/
benchmark_index.py`); `delta_fields` only checks them before Spark starts. Every problem is a
`ConfigError` naming the config key: a missing or empty file, a field no record has.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
from typing import Any, Iterable

from corpusmill.udfs.decontam.index import Item
from corpusmill.udfs.errors import ConfigError

FORMATS = ("auto", "jsonl", "parquet", "csv", "delta")


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if os.path.isdir(os.path.join(path, "_delta_log")):
        return "delta"
    low = path.lower()
    if low.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")):
        return "jsonl"
    if low.endswith((".parquet", ".pq")) or os.path.isdir(path):
        return "parquet"
    if low.endswith((".csv", ".csv.gz")):
        return "csv"
    raise ConfigError(f"cannot tell the format of {path} from its name (set format: jsonl, parquet, csv or delta)")


def get_field(row: dict, name: str) -> Any:
    """row[name], following dots into nested mappings (and into every element of a list)."""
    value: Any = row
    for part in name.split("."):
        if isinstance(value, list):
            value = [v.get(part) if isinstance(v, dict) else None for v in value]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def has_field(row: dict, name: str) -> bool:
    value: Any = row
    for part in name.split("."):
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, dict)), None)
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(as_text(v) for v in value if v is not None)
    return str(value)


def _open_text(path: str):
    raw = open(path, "rb")
    if path.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8")
    return io.TextIOWrapper(raw, encoding="utf-8")


def _jsonl_rows(path: str, key: str) -> Iterable[dict]:
    with _open_text(path) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{key}: {path} line {i} is not JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ConfigError(f"{key}: {path} line {i} is not a JSON object")
            yield row


def _csv_rows(path: str) -> Iterable[dict]:
    with _open_text(path) as f:
        yield from csv.DictReader(f)


def _parquet_rows(path: str) -> Iterable[dict]:
    import pyarrow.dataset as ds

    yield from ds.dataset(path, format="parquet").to_table().to_pylist()


def read_rows(path: str, fmt: str, key: str) -> list[dict]:
    """Every record of a benchmark file (not Delta), as dicts."""
    if not os.path.exists(path):
        raise ConfigError(f"{key}: {path} not found (a JSONL, Parquet or CSV file, or a Delta table)")
    fmt = detect_format(path, fmt)
    try:
        if fmt == "jsonl":
            return list(_jsonl_rows(path, key))
        if fmt == "csv":
            return list(_csv_rows(path))
        if fmt == "parquet":
            return list(_parquet_rows(path))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{key}: cannot read {path} as {fmt} ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    raise ConfigError(f"{key}: format {fmt!r} is read through Spark")


def items_from_rows(rows: list[dict], name: str, id_field: str, prompt: str, answer: str, path: str,
                    key: str) -> list[Item]:
    """Items of one benchmark; its fields must exist (a non-empty file is required)."""
    if not rows:
        raise ConfigError(f"{key}: {path} holds no records")
    first = rows[0]
    for what, f in (("id", id_field), ("prompt", prompt), ("answer", answer)):
        if f and not any(has_field(r, f) for r in rows[:100]):
            known = ", ".join(sorted(first)) if isinstance(first, dict) else ""
            raise ConfigError(f"{key}: {path} has no field {f!r} (the benchmark's {what}; fields: {known})")
    out = []
    for i, r in enumerate(rows):
        item_id = as_text(get_field(r, id_field)) if id_field else str(i)
        text = "\n".join(t for t in (as_text(get_field(r, prompt)) if prompt else "",
                                     as_text(get_field(r, answer)) if answer else "") if t)
        out.append(Item(name, item_id or str(i), text))
    return out


def delta_fields(path: str, key: str) -> list[str]:
    """Top-level column names of a Delta table from its log (the newest metaData action), without Spark."""
    log_dir = os.path.join(path, "_delta_log")
    commits = sorted(f for f in os.listdir(log_dir) if f.endswith(".json") and f[:20].isdigit())
    for name in reversed(commits):
        with open(os.path.join(log_dir, name), encoding="utf-8") as f:
            for line in f:
                action = json.loads(line) if line.strip() else {}
                if "metaData" in action:
                    schema = json.loads(action["metaData"]["schemaString"])
                    return [c["name"] for c in schema.get("fields", [])]
    if not commits:
        raise ConfigError(f"{key}: {path} is not a Delta table with a committed version")
    return []        # schema only in a checkpoint: the fields are checked when Spark reads the table
