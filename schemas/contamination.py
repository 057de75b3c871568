"""`contamination`: which benchmark items leaked into which documents or code files."""
from pyspark.sql.types import IntegerType, StringType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "contamination",
    "One row per (benchmark item, document) pair the decontam stage (web text, books, papers) or the code stage "
    "(code files) found contaminated; rewritten per stage (partition `stage`) on each run.",
    C("stage", StringType(), "decontam (documents) or code (code files)", False),
    C("benchmark", StringType(), "benchmark name from decontam.benchmarks", False),
    C("item_id", StringType(), "the item's id (its id field, else its row number)", False),
    C("doc_id", StringType(), "the document's doc_id, or the code file's file_id", False),
    C("matched_ngrams", IntegerType(), "the item's n-grams found in the document"),
    C("doc_matched_ngrams", IntegerType(), "all benchmark n-grams found in the document"),
    C("action", StringType(), "what became of the document: dropped or cut"),
    C("url", StringType(), "the document's url, or repo:path of a code file"),
    partition_by=("stage",),
)
SCHEMA = TABLE.schema
