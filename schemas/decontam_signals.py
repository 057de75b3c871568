"""`decontam_signals`: the decontam stage's benchmark matches per document, then keep / reasons."""
from pyspark.sql.types import (ArrayType, BooleanType, DoubleType, IntegerType, StringType, StructField,
                               StructType)

from corpusmill.schemas.base import Column as C, table

ITEM = StructType([StructField("benchmark", StringType()), StructField("item_id", StringType()),
                   StructField("ngrams", IntegerType())])

TABLE = table(
    "decontam_signals",
    "One row per document the decontam stage read: the benchmark n-grams found in it, then keep/reasons "
    "from decontam.min_ngrams and decontam.action.",
    C("doc_id", StringType(), "document id (joins redacted / decontaminated / rejected / contamination)", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("language", StringType(), "document language"),
    C("benchmark", StringType(), "the benchmark with the most matched n-grams, or null"),
    C("benchmarks", ArrayType(StringType()), "every benchmark with a matched n-gram, most matched first"),
    C("items", ArrayType(ITEM), "matched benchmark items with their matched n-grams, most first (at most 100)"),
    C("matched_ngrams", IntegerType(), "distinct benchmark n-grams found in the document"),
    C("doc_ngrams", IntegerType(), "n-grams in the document (word n-grams plus CJK-character n-grams)"),
    C("coverage", DoubleType(), "share of the document's tokens (words + CJK characters) inside matched n-grams"),
    C("cut_lines", ArrayType(IntegerType()), "0-based lines (text split at line breaks) holding matched n-grams, "
      "when contaminated"),
    C("kept_chars", IntegerType(), "non-space characters left once cut_lines are removed"),
    C("action", StringType(), "none, drop or cut"),
    C("keep", BooleanType(), "false when dropped (drop mode, or nothing left after the cut)", False),
    C("reasons", ArrayType(StringType()), "what fired: contamination:<benchmark>"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
