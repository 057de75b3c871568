"""`code_files`: one row per file read from a code repository, with its signals and decisions."""
from pyspark.sql.types import ArrayType, BooleanType, DoubleType, IntegerType, LongType, StringType

from corpusmill.schemas.decontam_signals import ITEM

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "code_files",
    "Output of the `code` stage, part 1: every ingested file with language, flags, dedup result and "
    "keep/reasons (rows with keep = false are also in `rejected`). Kept files are packed into `code_samples`.",
    C("file_id", StringType(), "sha1 of repo NUL path (32 hex chars)", False),
    C("repo", StringType(), "repository name (directory / archive / git name, or the table's repo column)", False),
    C("path", StringType(), "path inside the repository, '/'-separated ('' for an unreadable source)", False),
    C("language", StringType(), "language from file name then extension (python, cpp, markdown, ...; unknown)"),
    C("is_doc", BooleanType(), "documentation (markdown/rst/text, README/LICENSE-like names): rendered as prose"),
    C("bytes", LongType(), "file size in bytes"),
    C("lines", IntegerType(), "number of lines (0 for binary/oversized)"),
    C("max_line_length", IntegerType(), "longest line in characters"),
    C("mean_line_length", DoubleType(), "mean line length in characters"),
    C("content_hash", StringType(), "sha1 of the raw bytes (exact-dedup key)"),
    C("content", StringType(), "UTF-8 text; null for binary, oversized and unreadable files"),
    C("is_binary", BooleanType(), "NUL bytes or invalid UTF-8"),
    C("is_generated", BooleanType(), "generated-file name (_pb2.py, .pb.go, ...) or marker (@generated, DO NOT EDIT)"),
    C("is_vendored", BooleanType(), "under vendor/, third_party/, node_modules/, external/, ..."),
    C("is_minified", BooleanType(), ".min. in the name, or JS/CSS/JSON with very long lines"),
    C("is_lock", BooleanType(), "dependency lock file (package-lock.json, Cargo.lock, go.sum, ...)"),
    C("is_oversized", BooleanType(), "bytes > code.max_file_bytes (content not read)"),
    C("imports", ArrayType(StringType()), "raw import specifiers found by regex, kind-prefixed (py:, js:, jvm:, inc:, go:, rs:)"),
    C("summary", StringType(), "first sentence of the module docstring or leading comment"),
    C("definitions", ArrayType(StringType()), "top-level definitions (functions, classes, types), at most 12"),
    C("source", StringType(), "input the file came from (directory, archive, git repo or table path)"),
    C("source_kind", StringType(), "dir, git, tar, zip or table"),
    C("read_error", StringType(), "why the source could not be read (corrupt archive, bad git ref); null when read"),
    C("pii_finds", IntegerType(), "personal data found and replaced in content (code.pii); null when off"),
    C("benchmark", StringType(), "code.decontam: the benchmark whose n-grams the file holds (at least "
      "decontam.min_ngrams of them), else null"),
    C("benchmark_ngrams", IntegerType(), "distinct benchmark n-grams found in the file (when benchmark is set)"),
    C("benchmark_items", ArrayType(ITEM), "matched benchmark items with their n-grams, most first"),
    C("duplicate_of", StringType(), "file_id of the kept copy when this file is an exact or near duplicate"),
    C("duplicate_kind", StringType(), "exact or near when duplicate_of is set"),
    C("keep", BooleanType(), "true when the file is packed into code_samples", False),
    C("reasons", ArrayType(StringType()), "why not kept: binary, generated, vendored, minified, lock, oversized, "
      "unknown_language, empty, unreadable, contamination:<benchmark>, duplicate_path, exact_duplicate, near_duplicate"),
)
SCHEMA = TABLE.schema
