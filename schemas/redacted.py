"""`redacted`: documents that passed the pii stage, personal data replaced by placeholders."""
from corpusmill.schemas import documents
from corpusmill.schemas.base import table

TABLE = table(
    "redacted",
    "Output of the `pii` stage: the `documents` columns of every record it kept, with each e-mail address, IP "
    "address, phone, identity and card number in `text` replaced by its kind's placeholder (`text_bytes` "
    "recomputed).",
    *documents.TABLE.columns,
    partition_by=documents.TABLE.partition_by,
)
SCHEMA = TABLE.schema
