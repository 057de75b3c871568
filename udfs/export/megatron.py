"""Megatron-LM indexed datasets (`megatron/core/datasets/indexed_dataset.py`), written without torch.

A dataset is a pair PREFIX.bin (the token ids of every document, back to back, in one dtype) and
PREFIX.idx, little-endian:
    b"MMIDIDX\\x00\\x00" | version u64 = 1 | dtype code u8 | sequence count u64 | document count u64 |
    sequence lengths int32[sequences] | sequence byte offsets int64[sequences] | document indices int64[documents]
As Megatron's `tools/preprocess_data.py` writes text: one sequence per document, the document's ids
followed by the end-of-document token, and document indices [0, 1, ..., n] (a document ends after
each sequence). The dtype follows Megatron's `DType.optimal_dtype`: uint16 below 65,500 tokens of
vocabulary, else int32. `IndexedDataset(PREFIX)` of megatron-core reads the pair back.
"""
from __future__ import annotations

import os
import struct
from typing import Iterable, Iterator

import numpy as np

INDEX_HEADER = b"MMIDIDX\x00\x00"
DTYPE_CODES = {np.uint8: 1, np.int8: 2, np.int16: 3, np.int32: 4, np.int64: 5, np.float64: 6, np.float32: 7,
               np.uint16: 8}
EOD_CANDIDATES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eos|>", "[SEP]")
_TOKENIZERS: dict[int, object] = {}


def token_dtype(vocab_size: int) -> type:
    """Megatron's choice: 2-byte ids while they fit (its `DType.optimal_dtype`)."""
    return np.uint16 if vocab_size < 65500 else np.int32


def load_tokenizer(spec: str):
    """A `tokenizers.Tokenizer` from a tokenizer.json string, parsed once per worker process."""
    key = hash(spec)
    tok = _TOKENIZERS.get(key)
    if tok is None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(spec)
        tok.no_truncation()
        tok.no_padding()
        _TOKENIZERS[key] = tok
    return tok


def eod_id(tok, token: str = "") -> int:
    """Id of the end-of-document token: `token` when given, else the first of EOD_CANDIDATES it knows."""
    for cand in ([token] if token else EOD_CANDIDATES):
        i = tok.token_to_id(cand)
        if i is not None:
            return i
    if token:
        raise ValueError(f"end-of-document token {token!r} is not in the tokenizer's vocabulary")
    raise ValueError(f"the tokenizer has none of {', '.join(EOD_CANDIDATES)}: name its end-of-document token")


class IndexedDatasetWriter:
    """Writes PREFIX.bin while documents come in, PREFIX.idx on close (lengths and offsets in memory:
    12 bytes per document)."""

    def __init__(self, prefix: str, dtype: type):
        self.prefix, self.dtype = prefix, np.dtype(dtype).type
        self.itemsize = np.dtype(dtype).itemsize
        self._bin = open(prefix + ".bin", "wb")
        self.lengths: list[int] = []
        self.tokens = 0

    def add_document(self, ids) -> None:
        arr = np.asarray(ids, dtype=self.dtype)
        self._bin.write(arr.tobytes(order="C"))
        self.lengths.append(int(arr.size))
        self.tokens += int(arr.size)

    def close(self) -> None:
        self._bin.close()
        lengths = np.asarray(self.lengths, dtype=np.int32)
        pointers = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths):
            pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * self.itemsize
        doc_idx = np.arange(len(lengths) + 1, dtype=np.int64)
        with open(self.prefix + ".idx", "wb") as f:
            f.write(INDEX_HEADER)
            f.write(struct.pack("<Q", 1))
            f.write(struct.pack("<B", DTYPE_CODES[self.dtype]))
            f.write(struct.pack("<Q", len(lengths)))
            f.write(struct.pack("<Q", len(doc_idx)))
            f.write(lengths.tobytes(order="C"))
            f.write(pointers.tobytes(order="C"))
            f.write(doc_idx.tobytes(order="C"))

    def __enter__(self) -> "IndexedDatasetWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def encode_documents(tok, texts: list[str], eod: int) -> list[list[int]]:
    """Token ids of each text (no special tokens added by the tokenizer's template) + the EOD id."""
    return [e.ids + [eod] for e in tok.encode_batch(texts, add_special_tokens=False)]


def write_shards(groups: Iterable[tuple[str, Iterable[list[str]]]], *, out_dir: str, task: int, tokenizer_json: str,
                 eod_token: str, shard_rows: int) -> Iterator[dict]:
    """Write every (folder, batches of texts) group as PREFIXes `folder/part-TTTTT-NNN` of at most shard_rows
    documents each (0 = one per group); yields one record per dataset written (prefix, documents, tokens)."""
    tok = load_tokenizer(tokenizer_json)
    eod = eod_id(tok, eod_token)
    dtype = token_dtype(tok.get_vocab_size(with_added_tokens=True))
    for folder, batches in groups:
        target = os.path.join(out_dir, folder) if folder else out_dir
        os.makedirs(target, exist_ok=True)
        writer, n = None, 0
        for texts in batches:
            for ids in encode_documents(tok, texts, eod):
                if writer is not None and shard_rows and len(writer.lengths) >= shard_rows:
                    writer.close()
                    yield _record(folder, writer)
                    writer = None
                if writer is None:
                    writer = IndexedDatasetWriter(os.path.join(target, f"part-{task:05d}-{n:03d}"), dtype)
                    n += 1
                writer.add_document(ids)
        if writer is not None:
            writer.close()
            yield _record(folder, writer)


def _record(folder: str, w: IndexedDatasetWriter) -> dict:
    name = os.path.basename(w.prefix)
    return {"folder": folder, "name": name, "rows": len(w.lengths), "tokens": w.tokens,
            "bytes": w.tokens * w.itemsize}
