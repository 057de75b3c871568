"""MosaicML Streaming MDS shards (`streaming/base/format/mds/writer.py`, index format version 2),
written without the `streaming` package (its pins conflict with this project's numpy).

A shard file `shard.NNNNN.mds`:
    sample count u32 | sample offsets u32[count + 1] (from the file start) | config JSON | samples
and each sample: u32 size of every variable-size column, then every column's bytes, columns sorted
by name. `index.json` beside the shards: {"version": 2, "shards": [{"column_names", "column_encodings",
"column_sizes", "compression": null, "format": "mds", "hashes": [], "raw_data": {"basename", "bytes",
"hashes"}, "samples", "size_limit", "version": 2, "zip_data": null}, ...]}; a shard's basename may
name a subfolder, as streaming's own `merge_index` writes it. `StreamingDataset(local=DIR)` reads it.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

import numpy as np

MAX_SHARD_BYTES = (1 << 32) - 1          # sample offsets are u32
# encoding -> (fixed size in bytes or None, encoder)
ENCODINGS = {
    "str": (None, lambda v: v.encode("utf-8")),
    "bytes": (None, lambda v: bytes(v)),
    "int": (8, lambda v: np.int64(v).tobytes()),
    "int64": (8, lambda v: np.int64(v).tobytes()),
    "int32": (4, lambda v: np.int32(v).tobytes()),
    "float64": (8, lambda v: np.float64(v).tobytes()),
    "float32": (4, lambda v: np.float32(v).tobytes()),
    "json": (None, lambda v: json.dumps(v).encode("utf-8")),
}


class ShardSetWriter:
    """Writes `shard.NNNNN.mds` files and their `index.json` into one folder; a new shard starts at
    max_rows samples (0 = no row cap) or before the file would pass max_bytes."""

    def __init__(self, folder: str, columns: dict[str, str], *, max_rows: int = 0, max_bytes: int = 1 << 31):
        for name, enc in columns.items():
            if enc not in ENCODINGS:
                raise ValueError(f"MDS column {name!r}: encoding {enc!r} is not one of {sorted(ENCODINGS)}")
        self.folder, self.max_rows = folder, max_rows
        self.max_bytes = min(max_bytes, MAX_SHARD_BYTES)
        self.names = sorted(columns)
        self.encodings = [columns[n] for n in self.names]
        self.sizes = [ENCODINGS[e][0] for e in self.encodings]
        self._encoders = [ENCODINGS[e][1] for e in self.encodings]
        self.config = {"column_encodings": self.encodings, "column_names": self.names, "column_sizes": self.sizes,
                       "compression": None, "format": "mds", "hashes": [], "size_limit": self.max_bytes,
                       "version": 2}
        self._config_bytes = json.dumps(self.config, sort_keys=True).encode("utf-8")
        self.shards: list[dict] = []
        self._samples: list[bytes] = []
        self._bytes = 0
        os.makedirs(folder, exist_ok=True)

    def encode(self, sample: dict[str, Any]) -> bytes:
        head, body = [], []
        for name, size, enc in zip(self.names, self.sizes, self._encoders):
            datum = enc(sample[name])
            if size is None:
                head.append(len(datum))
            body.append(datum)
        return np.asarray(head, dtype=np.uint32).tobytes() + b"".join(body)

    def _shard_bytes(self, extra: int, n: int) -> int:
        return 4 + 4 * (n + 1) + len(self._config_bytes) + self._bytes + extra

    def write(self, sample: dict[str, Any]) -> None:
        data = self.encode(sample)
        if self._samples and ((self.max_rows and len(self._samples) >= self.max_rows)
                              or self._shard_bytes(len(data), len(self._samples) + 1) > self.max_bytes):
            self.flush()
        if self._shard_bytes(len(data), 1) > MAX_SHARD_BYTES:
            raise ValueError(f"an MDS sample of {len(data):,} bytes does not fit a shard (u32 offsets)")
        self._samples.append(data)
        self._bytes += len(data)

    def flush(self) -> None:
        if not self._samples:
            return
        n = len(self._samples)
        sizes = np.fromiter((len(s) for s in self._samples), dtype=np.int64, count=n)
        offsets = np.concatenate([[0], np.cumsum(sizes)]) + 4 + 4 * (n + 1) + len(self._config_bytes)
        basename = f"shard.{len(self.shards):05d}.mds"
        with open(os.path.join(self.folder, basename), "wb") as f:
            f.write(np.uint32(n).tobytes())
            f.write(offsets.astype(np.uint32).tobytes())
            f.write(self._config_bytes)
            for s in self._samples:
                f.write(s)
            total = f.tell()
        self.shards.append({**self.config, "samples": n, "zip_data": None,
                            "raw_data": {"basename": basename, "bytes": total, "hashes": {}}})
        self._samples, self._bytes = [], 0

    def close(self) -> list[dict]:
        """Flush the last shard and write index.json; returns the shard entries."""
        self.flush()
        write_index(self.folder, self.shards)
        return self.shards


def write_index(folder: str, shards: list[dict]) -> None:
    with open(os.path.join(folder, "index.json"), "w") as f:
        json.dump({"version": 2, "shards": shards}, f, sort_keys=True)


def merge_index(root: str, subfolders: Iterable[str]) -> int:
    """One index.json at root over the index.json of each subfolder (relative to root), in the order
    given, each shard basename prefixed with its subfolder (streaming's `merge_index` layout);
    returns the number of samples indexed."""
    shards = []
    for sub in subfolders:
        with open(os.path.join(root, sub, "index.json")) as f:
            for s in json.load(f)["shards"]:
                s = dict(s, raw_data=dict(s["raw_data"], basename=f"{sub}/{s['raw_data']['basename']}"))
                shards.append(s)
    write_index(root, shards)
    return sum(s["samples"] for s in shards)


def to_mds_value(value: Any, encoding: str) -> Any:
    """A pandas/Arrow cell as the encoder takes it (numpy arrays and scalars to plain Python)."""
    if encoding == "json":
        return _plain(value)
    if encoding in ("int", "int64", "int32"):
        return int(value)
    if encoding in ("float64", "float32"):
        return float(value)
    return value


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def write_shards(groups: Iterable[tuple[str, Iterable[list[dict]]]], *, out_dir: str, task: int,
                 columns: dict[str, str], shard_rows: int, shard_bytes: int = 1 << 31) -> Iterator[dict]:
    """Write every (folder, batches of samples) group into `folder/part-TTTTT/` (shards + index.json);
    yields one record per shard set written (folder, name, rows, bytes)."""
    for folder, batches in groups:
        name = f"part-{task:05d}"
        w = ShardSetWriter(os.path.join(out_dir, folder, name) if folder else os.path.join(out_dir, name), columns,
                           max_rows=shard_rows, max_bytes=shard_bytes)
        rows = 0
        for samples in batches:
            for s in samples:
                w.write({k: to_mds_value(s[k], columns[k]) for k in columns})
                rows += 1
        shards = w.close()
        yield {"folder": folder, "name": name, "rows": rows, "shards": len(shards),
               "bytes": sum(s["raw_data"]["bytes"] for s in shards)}
