"""The batch adapters `corpusmill export` runs with `mapInPandas`: each Spark task streams its rows
(already in export order, grouped by the partition folder) into its own files under a shared output
folder, named by the task's partition index, and returns one small record per file set written."""
from __future__ import annotations

import itertools
from typing import Iterator
from urllib.parse import quote

import pandas as pd

from corpusmill.udfs.export import mds, megatron

RESULT_COLUMNS = ["folder", "name", "rows", "tokens", "bytes", "shards"]
RESULT_DDL = "folder string, name string, rows long, tokens long, bytes long, shards long"
NULL_FOLDER_VALUE = "__HIVE_DEFAULT_PARTITION__"     # what Spark's partitionBy names a null value


def folder_name(column: str, value) -> str:
    """Hive-style `column=value` folder, as Spark's partitionBy writes it."""
    if value is None or (isinstance(value, float) and value != value):
        return f"{column}={NULL_FOLDER_VALUE}"
    return f"{column}={quote(str(value), safe='')}"


def by_folder(batches: Iterator[pd.DataFrame], column: str | None) -> Iterator[tuple[str, Iterator[pd.DataFrame]]]:
    """Runs of consecutive rows with one folder value (rows come sorted by it); each run must be
    consumed before the next is taken."""
    def pieces():
        for b in batches:
            if b.empty:
                continue
            if not column:
                yield "", b
                continue
            names = [folder_name(column, v) for v in b[column].tolist()]
            start = 0
            for i in range(1, len(names) + 1):
                if i == len(names) or names[i] != names[start]:
                    yield names[start], b.iloc[start:i]
                    start = i
    for folder, run in itertools.groupby(pieces(), key=lambda p: p[0]):
        yield folder, (chunk for _, chunk in run)


def _task_index() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return ctx.partitionId() if ctx is not None else 0


def _frame(records: list[dict]) -> pd.DataFrame:
    rows = [{c: r.get(c, 0) for c in RESULT_COLUMNS} for r in records]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS).astype({c: "int64" for c in RESULT_COLUMNS[2:]})


def megatron_task(batches: Iterator[pd.DataFrame], *, out_dir: str, tokenizer_json, eod_token: str,
                  shard_rows: int, text_column: str, folder_column: str | None) -> Iterator[pd.DataFrame]:
    """mapInPandas: this task's documents tokenized into `part-TTTTT-NNN.bin/.idx` (tokenizer_json: the
    JSON string or a Spark broadcast of it)."""
    spec = getattr(tokenizer_json, "value", tokenizer_json)
    groups = ((f, (c[text_column].tolist() for c in chunks)) for f, chunks in by_folder(batches, folder_column))
    yield _frame(list(megatron.write_shards(groups, out_dir=out_dir, task=_task_index(), tokenizer_json=spec,
                                            eod_token=eod_token, shard_rows=shard_rows)))


def mds_task(batches: Iterator[pd.DataFrame], *, out_dir: str, columns: dict[str, str], shard_rows: int,
             folder_column: str | None) -> Iterator[pd.DataFrame]:
    """mapInPandas: this task's rows as MDS shards in `part-TTTTT/` (with its own index.json)."""
    names = list(columns)
    groups = ((f, (c[names].to_dict("records") for c in chunks)) for f, chunks in by_folder(batches, folder_column))
    yield _frame(list(mds.write_shards(groups, out_dir=out_dir, task=_task_index(), columns=columns,
                                       shard_rows=shard_rows)))
