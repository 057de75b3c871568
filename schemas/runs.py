"""`runs`: one row per stage run, appended; the audit trail and the skip-if-done key."""
from pyspark.sql.types import ArrayType, LongType, StringType, TimestampType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "runs",
    "One row per stage run (appended). rows_in = rows_out + rows_rejected for every successful run.",
    C("run_id", StringType(), "id of the pipeline invocation (shared by the stages it ran)", False),
    C("stage", StringType(), "stage name", False),
    C("config_hash", StringType(), "sha1 of the stage's config section"),
    C("input_fingerprint", StringType(), "sha1 of the inputs: file paths+sizes+mtimes, or upstream table versions"),
    C("inputs", ArrayType(StringType()), "input paths or upstream tables"),
    C("rows_in", LongType(), "records read"),
    C("rows_out", LongType(), "records written to the stage's output table"),
    C("rows_rejected", LongType(), "records written to `rejected` by this stage"),
    C("started_at", TimestampType(), "UTC start"),
    C("ended_at", TimestampType(), "UTC end"),
    C("status", StringType(), "success, failed or skipped"),
    C("error", StringType(), "first line of the error for failed runs"),
    C("output_version", LongType(), "Delta version of the output table written by this run"),
)
SCHEMA = TABLE.schema
