"""`longctx`: the documents selected for long-context training, with their main signals."""
from pyspark.sql.types import DoubleType, IntegerType, LongType, StringType

from corpusmill.schemas import documents
from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "longctx",
    "Output of the `longctx` stage: documents at or over the length threshold that passed the statistical, "
    "perplexity and coherence thresholds (all signals: `longctx_signals`).",
    *documents.TABLE.columns,
    C("n_lm_tokens", LongType(), "SentencePiece tokens of the document"),
    C("doc_perplexity", DoubleType(), "KenLM document perplexity"),
    C("ppl_bucket", StringType(), "head / middle / tail (per-language percentiles)"),
    C("coh_ppl_ratio", DoubleType(), "coherence: ppl with long context / ppl with short context"),
    C("coh_n_chunks", IntegerType(), "chunks scored for coherence"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
