"""`rejected`: every record a stage dropped, with why and where it came from."""
from pyspark.sql.types import StringType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "rejected",
    "Every dropped record of every stage; rewritten per stage (partition `stage`) on each stage run.",
    C("stage", StringType(), "stage that dropped the record (format, rules, dedup, ...)", False),
    C("doc_id", StringType(), "doc_id when the record got one, else null"),
    C("reason", StringType(), "main reason, a short snake_case code (non_html, empty_extraction, gopher_quality, ...)", False),
    C("detail", StringType(), "more detail: every failed rule, an error message, the duplicate's kept doc_id, ..."),
    C("source_file", StringType(), "input file or upstream table the record came from"),
    C("source_record", StringType(), "pointer inside source_file (WARC offset, line number) or null"),
    C("url", StringType(), "url of the record when known"),
    C("dump", StringType(), "dump of the record when known"),
    partition_by=("stage",),
)
SCHEMA = TABLE.schema
