"""`pretrain`: the final text corpus, documents that passed every stage up to `quality`."""
from corpusmill.schemas import documents
from corpusmill.schemas.base import table

TABLE = table(
    "pretrain",
    "Output of the `quality` stage: the `documents` columns of every record that passed every stage (text redacted by `pii`, cut by `decontam`).",
    *documents.TABLE.columns,
    partition_by=documents.TABLE.partition_by,
)
SCHEMA = TABLE.schema
