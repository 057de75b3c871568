"""`quality_signals`: the quality stage's classifier scores per document, then keep / reasons."""
from pyspark.sql.types import ArrayType, BooleanType, DoubleType, StringType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "quality_signals",
    "One row per document the quality stage read: advertisement and fluency scores, then keep/reasons "
    "from the per-language thresholds in config.",
    C("doc_id", StringType(), "document id (joins safe / pretrain / rejected)", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("language", StringType(), "document language (selects the thresholds)"),
    C("p_advertisement", DoubleType(), "advertisement classifier: probability of its positive label (the deciding model's)"),
    C("p_advertisement_cheap", DoubleType(), "advertisement classifier: the first-pass n-gram model's probability (null without a cascade)"),
    C("p_advertisement_bert", DoubleType(), "advertisement classifier: the encoder's probability (null where the encoder did not run)"),
    C("advertisement_decided_by", StringType(), "which model decided advertisement: cheap (outside the band) or bert"),
    C("p_disfluent", DoubleType(), "fluency classifier (disfluent label): probability of its positive label (the deciding model's)"),
    C("p_disfluent_cheap", DoubleType(), "fluency classifier (disfluent label): the first-pass n-gram model's probability (null without a cascade)"),
    C("p_disfluent_bert", DoubleType(), "fluency classifier (disfluent label): the encoder's probability (null where the encoder did not run)"),
    C("fluency_decided_by", StringType(), "which model decided fluency: cheap (outside the band) or bert"),
    C("keep", BooleanType(), "true when no threshold fired (the document goes to `pretrain`)", False),
    C("reasons", ArrayType(StringType()), "what fired: advertisement, disfluent"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
