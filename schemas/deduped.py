"""`deduped`: the documents kept by the `dedup` stage (exactly the `documents` columns)."""
from corpusmill.schemas import documents
from corpusmill.schemas.base import table

TABLE = table(
    "deduped",
    "Output of the `dedup` stage: one document per exact/near-duplicate cluster (the newest dump's copy).",
    *documents.TABLE.columns,
    partition_by=documents.TABLE.partition_by,
)
SCHEMA = TABLE.schema
