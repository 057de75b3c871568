"""`minhash_signatures`: stored MinHash signatures, reused by later (incremental) dedup runs."""
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "minhash_signatures",
    "MinHash signature and LSH band hashes per document, appended by each dedup run for the documents "
    "it had not seen; reused while doc_id, text_hash and params_key match.",
    C("doc_id", StringType(), "document id", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("params_key", StringType(), "hash of everything the signature depends on (num_perm, ngram, seed, bands, normalization)"),
    C("text_hash", LongType(), "xxhash64 of the raw text: a changed text under the same doc_id is recomputed"),
    C("tokenizer", StringType(), "words, chars or code"),
    C("exact_hash", StringType(), "128-bit hash of the normalized token sequence"),
    C("num_shingles", IntegerType(), "shingles of the normalized text (0 = no signature)"),
    C("signature", ArrayType(IntegerType()), "num_perm minimums (uint32 bits stored as int); null when no shingle"),
    C("bands", ArrayType(LongType()), "one 64-bit hash per LSH band; null when no shingle"),
    partition_by=("params_key",),
)
SCHEMA = TABLE.schema
