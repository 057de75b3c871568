"""`clean`: the documents the rules stage keeps (exactly the `documents` columns)."""
from corpusmill.schemas import documents
from corpusmill.schemas.base import table

TABLE = table(
    "clean",
    "Output of the `rules` stage: every `documents` row whose rule signals pass the configured thresholds.",
    *documents.TABLE.columns,
    partition_by=documents.TABLE.partition_by,
)
SCHEMA = TABLE.schema
