"""`pii_signals`: the pii stage's finds per document, then its keep / reasons decision."""
from pyspark.sql.types import ArrayType, BooleanType, IntegerType, StringType, StructField, StructType

from corpusmill.schemas.base import Column as C, table

SPAN = StructType([StructField("start", IntegerType()), StructField("end", IntegerType()),
                   StructField("kind", StringType())])

TABLE = table(
    "pii_signals",
    "One row per document the pii stage read: personal data found per kind and where (character offsets "
    "only, never the data), then keep/reasons from pii.max_finds.",
    C("doc_id", StringType(), "document id (joins safe / redacted / rejected)", False),
    C("dump", StringType(), "crawl dump of the document"),
    C("language", StringType(), "document language"),
    C("n_email", IntegerType(), "e-mail addresses found (each kind counts at most pii.scan_limit)"),
    C("n_id_number", IntegerType(), "Chinese resident identity numbers (valid date and MOD 11-2 check character)"),
    C("n_card", IntegerType(), "payment card numbers (issuer prefix and Luhn check)"),
    C("n_ip", IntegerType(), "IPv4/IPv6 addresses (globally routable only unless pii.ip_global_only is false; "
      "version numbers excluded)"),
    C("n_phone", IntegerType(), "phone numbers (+country code, North American, Chinese mobile and landline)"),
    C("n_total", IntegerType(), "all finds"),
    C("spans", ArrayType(SPAN), "each find: start/end character offsets in the input text and its kind"),
    C("keep", BooleanType(), "true when n_total <= pii.max_finds (the document goes to `redacted`)", False),
    C("reasons", ArrayType(StringType()), "what fired: pii (more finds than pii.max_finds)"),
    partition_by=("dump",),
)
SCHEMA = TABLE.schema
