"""`safety_signals`: the safety stage's evidence per document, then its keep / reasons decision."""
from pyspark.sql.types import ArrayType, BooleanType, DoubleType, IntegerType, StringType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "safety_signals",
    "One row per document the safety stage read: blocklist and classifier signals, then keep/reasons "
    "from the thresholds in config (re-tune with SQL over these columns without recomputing them).",
    C("doc_id", StringType(), "document id (joins documents / safe / rejected)", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("language", StringType(), "document language (selects the word list and the thresholds)"),
    C("block_kind", StringType(), "'domain' (host or a parent domain listed), 'url' (URL prefix listed) or null"),
    C("block_category", StringType(), "category of the matched blocklist entry (UT1 category or list name), or null"),
    C("block_match", StringType(), "the matched entry (domain or URL prefix), or null"),
    C("word_hits", IntegerType(), "occurrences of the language's blocked words (whole words; substrings for zh/ja/th/ko)"),
    C("word_distinct", IntegerType(), "distinct blocked words among them"),
    C("word_per_1k", DoubleType(), "word_hits per 1,000 words (per 1,000 non-space characters for zh/ja/th/ko)"),
    C("word_terms", ArrayType(StringType()), "the distinct blocked words found (at most 20, sorted)"),
    C("p_toxicity", DoubleType(), "toxicity classifier: probability of its positive label (the deciding model's)"),
    C("p_toxicity_cheap", DoubleType(), "toxicity classifier: the first-pass n-gram model's probability (null without a cascade)"),
    C("p_toxicity_bert", DoubleType(), "toxicity classifier: the encoder's probability (null where the encoder did not run)"),
    C("toxicity_decided_by", StringType(), "which model decided toxicity: cheap (outside the band) or bert"),
    C("p_pornography", DoubleType(), "pornography classifier: probability of its positive label (the deciding model's)"),
    C("p_pornography_cheap", DoubleType(), "pornography classifier: the first-pass n-gram model's probability (null without a cascade)"),
    C("p_pornography_bert", DoubleType(), "pornography classifier: the encoder's probability (null where the encoder did not run)"),
    C("pornography_decided_by", StringType(), "which model decided pornography: cheap (outside the band) or bert"),
    C("keep", BooleanType(), "true when no threshold fired (the document goes to `safe`)", False),
    C("reasons", ArrayType(StringType()), "what fired: domain_blocklist:<category>, url_blocklist:<category>, "
      "word_blocklist, toxicity, pornography"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
