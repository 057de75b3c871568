"""`longctx_signals`: every long-context candidate with all its signals and the keep decision."""
from pyspark.sql.types import (ArrayType, BooleanType, DoubleType, FloatType, IntegerType, LongType, StringType,
                               StructType)

from corpusmill.schemas.base import Column as C, table

POINTERS = (
    C("doc_id", StringType(), "document id (from the input table)", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("source_type", StringType(), "web, book, paper, patent, code, ... (selects thresholds)"),
    C("language", StringType(), "document language (selects thresholds and the language model)"),
    C("domain", StringType(), "registered domain of the url"),
    C("url", StringType(), "url of the document"),
    C("source_file", StringType(), "input file the record came from"),
    C("source_record", StringType(), "record pointer inside source_file"),
    C("text_bytes", LongType(), "UTF-8 byte length of the text (the length selection uses it)"),
)
STATS = (
    C("n_chars", LongType(), "characters in the text"),
    C("n_lines", LongType(), "non-empty lines"),
    C("n_words", LongType(), "words (letter/digit runs; each CJK character is one word)"),
    C("line_len_mean", DoubleType(), "mean non-empty line length in characters"),
    C("line_len_std", DoubleType(), "standard deviation of line length"),
    C("line_len_median", DoubleType(), "median line length"),
    C("line_len_min", LongType(), "shortest non-empty line"),
    C("line_len_max", LongType(), "longest line"),
    C("newline_rate", DoubleType(), "newlines per character"),
    C("comma_rate", DoubleType(), "commas (, ， 、) per character"),
    C("space_rate", DoubleType(), "spaces per character"),
    C("pipe_rate", DoubleType(), "`|` per character (tables)"),
    C("digit_rate", DoubleType(), "digits per character (number tables, logs)"),
    C("connectives_per_kw", DoubleType(), "discourse connectives per 1,000 words (null: no list for the language)"),
    C("pronouns_per_kw", DoubleType(), "pronouns per 1,000 words (null: no list for the language)"),
    C("type_token_ratio", DoubleType(), "mean type/token ratio over 1,000-word segments"),
    C("chars_per_word", DoubleType(), "mean word length in characters"),
)
LM = (
    C("lm_status", StringType(), "ok, no_model (no KenLM model for the language), empty, or error: <message>"),
    C("n_lm_tokens", LongType(), "SentencePiece tokens scored (after CCNet normalization)"),
    C("chars_per_lm_token", DoubleType(), "characters per SentencePiece token"),
    C("n_paragraphs", LongType(), "paragraphs (lines) scored"),
    C("para_perplexity", ArrayType(FloatType()), "KenLM perplexity of each paragraph (the first longctx.max_paragraph_scores)"),
    C("doc_perplexity", DoubleType(), "KenLM document perplexity 10^(-sum log10 p / sum(tokens+1))"),
    C("coh_scorer", StringType(), "what scored coherence: causal_lm (a causal LM) or kenlm_cache (n-gram + context cache)"),
    C("coh_n_chunks", IntegerType(), "chunks scored for coherence"),
    C("coh_chunk_ppl_with", ArrayType(FloatType()), "per chunk: perplexity of the last target tokens with the whole chunk as context"),
    C("coh_chunk_ppl_without", ArrayType(FloatType()), "per chunk: same tokens with only the preceding short context"),
    C("coh_chunk_acc_diff", ArrayType(FloatType()), "per chunk (causal_lm): next-token accuracy on the target with long minus with short context"),
    C("coh_ppl_with", DoubleType(), "document: geometric mean of chunk ppl with long context"),
    C("coh_ppl_without", DoubleType(), "document: geometric mean of chunk ppl with short context"),
    C("coh_ppl_diff", DoubleType(), "coh_ppl_without - coh_ppl_with (> 0: earlier text helps predict later text)"),
    C("coh_ppl_ratio", DoubleType(), "coh_ppl_with / coh_ppl_without (< 1: earlier text helps)"),
    C("coh_hit_diff", DoubleType(), "share of target tokens seen in the long context minus in the short one"),
    C("coh_acc_diff", DoubleType(), "causal_lm: mean over chunks of target token accuracy with long minus short context (> 0: earlier text helps)"),
)
DECISION = (
    C("ppl_bucket", StringType(), "head / middle / tail: doc_perplexity against this run's per-language percentiles"),
    C("keep", BooleanType(), "selected for the longctx table"),
    C("reasons", ArrayType(StringType()), "failed thresholds (min_x / max_x names, no_lm_model, signal_error); empty when kept"),
    C("reason_detail", StringType(), "each failed threshold with its value and limit and the selector that set it"),
)

TABLE = table(
    "longctx_signals",
    "Long-context candidates (documents at or over the length threshold) of the `longctx` stage, with every "
    "statistical, perplexity and coherence signal, and the keep decision. Re-tune thresholds with SQL here.",
    *POINTERS, *STATS, *LM, *DECISION,
)
SCHEMA = TABLE.schema
# what the scoring UDF returns (the decision columns are added with Spark expressions afterwards)
UDF_SCHEMA = StructType([f for f in SCHEMA.fields if f.name not in {c.name for c in DECISION}])
# numeric signals a threshold may name (min_<signal> / max_<signal>)
THRESHOLD_SIGNALS = tuple(c.name for c in (*STATS, *LM)
                          if c.type.simpleString() in ("double", "bigint", "int"))
