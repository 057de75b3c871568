"""`dedup`: the evidence and decision of the `dedup` stage, one row per input document."""
from pyspark.sql.types import BooleanType, IntegerType, LongType, StringType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "dedup",
    "One row per input document of the `dedup` stage: its exact hash, its near-duplicate cluster and "
    "whether it was kept. Removed documents point at the document kept in their place.",
    C("doc_id", StringType(), "document id (from the input table)", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("tokenizer", StringType(), "shingling used: words, chars (zh/ja by default) or code"),
    C("num_shingles", IntegerType(), "shingles of the normalized text (0 = no token: exact dedup only)"),
    C("exact_hash", StringType(), "128-bit hash of the normalized token sequence; equal = exact duplicate"),
    C("exact_size", LongType(), "documents sharing exact_hash"),
    C("exact_kept_doc_id", StringType(), "document kept among the exact copies (the near-dedup representative)"),
    C("cluster_id", StringType(), "smallest doc_id of the near-duplicate cluster (exact copies included)"),
    C("cluster_size", LongType(), "documents in the cluster (1 = unique)"),
    C("is_duplicate", BooleanType(), "true = removed (in `rejected`), false = kept (in `deduped`)"),
    C("duplicate_kind", StringType(), "exact (same normalized text as another) or near; null when kept"),
    C("kept_doc_id", StringType(), "the cluster's kept document: newest dump, then longest text, then smallest doc_id"),
    C("kept_dump", StringType(), "dump of the kept document"),
)
SCHEMA = TABLE.schema
