"""`decontaminated`: documents that passed the decontam stage (benchmark text dropped or cut)."""
from corpusmill.schemas import documents
from corpusmill.schemas.base import table

TABLE = table(
    "decontaminated",
    "Output of the `decontam` stage: the `documents` columns of every record it kept; with decontam.action = "
    "cut, the lines holding benchmark n-grams are gone from `text` (`text_bytes` recomputed).",
    *documents.TABLE.columns,
    partition_by=documents.TABLE.partition_by,
)
SCHEMA = TABLE.schema
