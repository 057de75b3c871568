"""`safe`: documents that passed the safety stage (domain, URL and word blocklists, toxicity, pornography)."""
from corpusmill.schemas import documents
from corpusmill.schemas.base import table

TABLE = table(
    "safe",
    "Output of the `safety` stage: the `documents` columns of every record it kept.",
    *documents.TABLE.columns,
    partition_by=documents.TABLE.partition_by,
)
SCHEMA = TABLE.schema
