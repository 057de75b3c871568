"""`rule_signals`: the rules stage's evidence per document, and the decision taken from it.

The signals are measured once per signal configuration; keep / reasons are recomputed from them
(with Spark built-ins only) whenever just the thresholds change, so re-tuning is cheap and can also
be tried in SQL: e.g. `SELECT count(*) FROM rule_signals WHERE gr_dup_line_frac > 0.25`.
"""
from pyspark.sql.types import ArrayType, BooleanType, DoubleType, LongType, StringType

from corpusmill.schemas.base import Column as C, table
from corpusmill.udfs.rules.signals import SIGNALS

_TYPES = {"long": LongType(), "double": DoubleType(), "bool": BooleanType()}

TABLE = table(
    "rule_signals",
    "One row per `documents` row: rule signals (null = not measurable, e.g. a ratio over zero words), "
    "the keep decision and every failed rule.",
    C("doc_id", StringType(), "documents.doc_id", False),
    C("dump", StringType(), "documents.dump (partition column, for pruning by dump)"),
    C("language", StringType(), "documents.language"),
    C("signal_profile", StringType(), "signal profile used to measure (rules.signals key: a language or default)"),
    C("threshold_profile", StringType(), "threshold profile used to decide (rules.thresholds key: a language or default)"),
    *[C(name, _TYPES[kind], doc) for name, kind, doc in SIGNALS],
    C("keep", BooleanType(), "true when no rule failed", False),
    C("reasons", ArrayType(StringType()), "every failed rule as family.rule (empty when kept)"),
    C("signals_key", StringType(), "hash of the signal config and input version the signals were measured with"),
    C("signals_run_id", StringType(), "run that measured the signals (unchanged when only thresholds change)"),
    C("decision_run_id", StringType(), "run that last decided keep / reasons"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
