"""The Arrow batch adapter (`mapInArrow`) that checks documents against the broadcast index.

The index arrives as a broadcast of `BenchmarkIndex.to_parts()` and is rebuilt once per Python worker
(kept across tasks and batches, keyed by its digest). Texts are read one batch at a time (batches are
capped in bytes by the stage), so a worker holds one batch of documents plus one document's token and
n-gram arrays (a 10 MB document: about 140 MB at its peak).
"""
from __future__ import annotations

from corpusmill.udfs.decontam.index import BenchmarkIndex

MAX_ITEMS = 100                 # matched items stored per document (the most matched first)
_INDEXES: dict[str, BenchmarkIndex] = {}


def cached_index(digest: str, load) -> BenchmarkIndex:
    idx = _INDEXES.get(digest)
    if idx is None:
        _INDEXES.clear()
        idx = _INDEXES[digest] = BenchmarkIndex.from_parts(load())
    return idx


def signals_type(pass_cols: tuple[str, ...] = ()):
    """The adapter's output: `id`, the string columns passed through, then the signals."""
    import pyarrow as pa

    item = pa.struct([("benchmark", pa.string()), ("item_id", pa.string()), ("ngrams", pa.int32())])
    return pa.schema([("id", pa.string()), *[(c, pa.string()) for c in pass_cols], ("benchmark", pa.string()), ("benchmarks", pa.list_(pa.string())),
                      ("items", pa.list_(item)), ("matched_ngrams", pa.int32()), ("doc_ngrams", pa.int32()),
                      ("coverage", pa.float64()), ("cut_lines", pa.list_(pa.int32())), ("kept_chars", pa.int32())])


def check_arrow(batches, digest: str, load, min_ngrams: int, id_col: str = "doc_id", text_col: str = "text",
                pass_cols: tuple[str, ...] = ()):
    """Batches with id_col, text_col and pass_cols -> one signals row per document (`signals_type`)."""
    import pyarrow as pa

    schema = signals_type(pass_cols)
    idx = None
    for b in batches:
        if idx is None:
            idx = cached_index(digest, load)
        rows: dict[str, list] = {name: [] for name in schema.names}
        for c in pass_cols:
            rows[c] = b.column(c).to_pylist()
        for doc_id, text in zip(b.column(id_col).to_pylist(), b.column(text_col).to_pylist()):
            _append(rows, doc_id, text or "", idx.check(text or "", min_ngrams, with_lines=True))
        yield pa.RecordBatch.from_pydict(rows, schema=schema)


def _append(rows: dict[str, list], doc_id, text: str, m) -> None:
    rows["id"].append(doc_id)
    rows["benchmark"].append(m.benchmark)
    rows["benchmarks"].append(m.benchmarks)
    rows["items"].append([{"benchmark": bn, "item_id": i, "ngrams": n} for bn, i, n in m.items[:MAX_ITEMS]])
    rows["matched_ngrams"].append(m.ngrams)
    rows["doc_ngrams"].append(m.doc_ngrams)
    rows["coverage"].append(m.coverage)
    rows["cut_lines"].append(m.lines)
    rows["kept_chars"].append(_kept_chars(text, m.lines))


def hashes_arrow(batches, n_words: int, n_chars: int, id_col: str, text_col: str):
    """Join path, step 1: id and the document's distinct n-gram hashes (as signed 64-bit integers)."""
    import numpy as np
    import pyarrow as pa

    idx = BenchmarkIndex(n_words, n_chars, np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, np.int32),
                         np.zeros(0, np.int32), [], [])
    for b in batches:
        hs = [idx.doc_hashes(t or "")[1].view(np.int64) for t in b.column(text_col).to_pylist()]
        yield pa.RecordBatch.from_pydict({"id": b.column(id_col), "hashes": pa.array(hs, pa.list_(pa.int64()))})


def check_pairs_arrow(batches, digest: str, load, min_ngrams: int, id_col: str = "doc_id", text_col: str = "text",
                      pass_cols: tuple[str, ...] = ()):
    """Join path, step 2: batches with id_col, text_col, pass_cols and `pairs` (the (h, item) pairs the
    document matched, or null) -> the same rows as check_arrow. load() gives the index's item tables only."""
    import numpy as np
    import pyarrow as pa

    schema = signals_type(pass_cols)
    like = None
    for b in batches:
        if like is None:
            like = cached_index(digest, load)
        rows: dict[str, list] = {name: [] for name in schema.names}
        for c in pass_cols:
            rows[c] = b.column(c).to_pylist()
        for doc_id, text, pairs in zip(b.column(id_col).to_pylist(), b.column(text_col).to_pylist(),
                                       b.column("pairs").to_pylist()):
            pairs = pairs or []
            idx = BenchmarkIndex.from_pairs(np.array([p["h"] for p in pairs], dtype=np.int64).view(np.uint64),
                                            np.array([p["item"] for p in pairs], dtype=np.int32), like)
            _append(rows, doc_id, text or "", idx.check(text or "", min_ngrams, with_lines=True))
        yield pa.RecordBatch.from_pydict(rows, schema=schema)


def _kept_chars(text: str, lines: list[int]) -> int:
    if not lines:
        return len(text) - sum(text.count(c) for c in " \t\r\n")
    drop = set(lines)
    return sum(len("".join(x.split())) for i, x in enumerate(text.split("\n")) if i not in drop)
