"""`code_samples`: long-context training samples cut from code repositories."""
from pyspark.sql.types import (ArrayType, DoubleType, IntegerType, LongType, StringType, StructField,
                               StructType)

from corpusmill.schemas.base import Column as C, table

FILE_ENTRY = StructType([
    StructField("repo", StringType()), StructField("path", StringType()),
    StructField("part", IntegerType()), StructField("tokens", IntegerType()),
])

TABLE = table(
    "code_samples",
    "Output of the `code` stage, part 2: markdown samples of at most code.max_tokens tokens, files in the "
    "configured order, each file preceded by a header with its path and description.",
    C("sample_id", StringType(), "sha1 of repo, subtree and sample index (or of the merged samples' ids)", False),
    C("repo", StringType(), "repository (the first one for a sample that packs several small repositories)", False),
    C("repos", ArrayType(StringType()), "every repository in the sample, in order"),
    C("subtree", StringType(), "folder a huge repository was split by ('' = the whole repository)"),
    C("sample_index", IntegerType(), "0-based position of the sample within its repository/subtree"),
    C("num_samples", IntegerType(), "samples cut from the same repository/subtree"),
    C("kind", StringType(), "whole (one repository), cut (one of several of a large repository), packed (small ones merged)"),
    C("ordering", StringType(), "file ordering used: dependency or depth_first"),
    C("cycle_breaks", IntegerType(), "import cycles broken while ordering the repository/subtree"),
    C("token_count", IntegerType(), "exact token count of text with the configured tokenizer"),
    C("max_tokens", IntegerType(), "token budget of the run"),
    C("fill", DoubleType(), "token_count / max_tokens"),
    C("num_files", IntegerType(), "entries in files"),
    C("files", ArrayType(FILE_ENTRY), "files in order: repo, path, part (0 = whole file, i = i-th part of a split file), tokens"),
    C("tokenizer", StringType(), "tokenizer name and sha1 prefix of its tokenizer.json"),
    C("text", StringType(), "the sample: repository header, then each file's header and fenced code (docs as prose)"),
    C("text_bytes", LongType(), "UTF-8 bytes of text"),
)
SCHEMA = TABLE.schema
