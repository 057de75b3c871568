"""`documents`: one row per extracted text document (web page, book, paper, patent)."""
from pyspark.sql.types import BooleanType, FloatType, LongType, StringType, TimestampType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "documents",
    "Output of the `format` stage: main text of every accepted input record.",
    C("doc_id", StringType(), "deterministic id: sha1 of source type, dump, url and record id (32 hex chars)", False),
    C("dump", StringType(), "crawl dump id (e.g. CC-MAIN-2024-10) from config, warcinfo or path; 'unknown' when none"),
    C("source_type", StringType(), "web, book, paper, patent, code, ..."),
    C("url", StringType(), "target URI of the record (web) or the source's url field"),
    C("host", StringType(), "lower-cased host name of url"),
    C("domain", StringType(), "registered domain of host (public-suffix aware, offline list)"),
    C("fetch_date", TimestampType(), "WARC-Date of the capture, or the source's date field"),
    C("title", StringType(), "HTML <title> or the source's title field"),
    C("text", StringType(), "extracted main text (UTF-8, control characters removed)"),
    C("text_bytes", LongType(), "UTF-8 byte length of text"),
    C("language", StringType(), "pycld2 top language code (e.g. en, zh, un for unknown)"),
    C("language_pct", FloatType(), "share of the text in the top language, 0..100"),
    C("language_reliable", BooleanType(), "pycld2's reliability flag"),
    C("source_file", StringType(), "input file the record came from"),
    C("source_record", StringType(), "record pointer inside source_file: WARC byte offset or line/row number"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
